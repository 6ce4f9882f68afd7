//! Reserving stock for an order and releasing it: the catalog's part of the checkout saga.
//!
//! Today orders calls these over HTTP; later they answer Kafka events. Either way the rules
//! are the same: a reservation takes every line or nothing, and each order is reserved at
//! most once, so a retried request (or a redelivered event) never takes stock twice.

use super::InvalidField;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;
use uuid::Uuid;

/// The most lines one reservation may hold.
pub const MAX_LINES: usize = 100;

/// Stock to hold for one order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationRequest {
    /// The order's id: reserving the same order again returns the recorded outcome.
    pub order_id: Uuid,
    /// 1 to 100 lines, each product at most once.
    pub items: Vec<ReservationLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationLine {
    pub product_id: Uuid,
    #[schema(minimum = 1)]
    pub quantity: i32,
}

impl ReservationRequest {
    /// Every rule the request breaks. Whether the products exist is for the database to say.
    pub fn validate(&self) -> Result<(), Vec<InvalidField>> {
        let mut invalid = Vec::new();
        if self.items.is_empty() || self.items.len() > MAX_LINES {
            invalid.push(InvalidField::new("items", "must hold 1 to 100 lines"));
        }
        let mut seen = HashSet::new();
        for (i, line) in self.items.iter().enumerate() {
            if !seen.insert(line.product_id) {
                invalid.push(InvalidField::new(
                    format!("items[{i}].product_id"),
                    "appears in an earlier line: give each product once",
                ));
            }
            if line.quantity < 1 {
                invalid.push(InvalidField::new(
                    format!("items[{i}].quantity"),
                    "must be at least 1",
                ));
            }
        }
        if invalid.is_empty() {
            Ok(())
        } else {
            Err(invalid)
        }
    }
}

/// What became of a reservation. Recorded per order, and returned again on a repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every line's stock is held for the order.
    Reserved,
    /// Some products were short of stock, so nothing was taken.
    Rejected { short_product_ids: Vec<Uuid> },
    /// The order released its reservation (or released before it ever reserved).
    Released,
}

/// How an outcome is stored (`catalog.stock_reservations.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Reserved,
    Rejected,
    Released,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Rejected => "rejected",
            Self::Released => "released",
        }
    }

    pub fn parse(status: &str) -> Option<Self> {
        match status {
            "reserved" => Some(Self::Reserved),
            "rejected" => Some(Self::Rejected),
            "released" => Some(Self::Released),
            _ => None,
        }
    }
}

/// What releasing an order's reservation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The held stock went back on the shelf.
    Returned,
    /// Nothing was held: the reservation was rejected, already released, or never made.
    NothingHeld,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(product_id: Uuid, quantity: i32) -> ReservationLine {
        ReservationLine {
            product_id,
            quantity,
        }
    }

    fn invalid_fields(items: Vec<ReservationLine>) -> Vec<String> {
        let request = ReservationRequest {
            order_id: Uuid::nil(),
            items,
        };
        request
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|invalid| invalid.field)
            .collect()
    }

    #[test]
    fn accepts_distinct_positive_lines() {
        let lines = vec![line(Uuid::from_u128(1), 1), line(Uuid::from_u128(2), 5)];
        assert!(invalid_fields(lines).is_empty());
    }

    #[test]
    fn names_the_bad_lines() {
        let a = Uuid::from_u128(1);
        let lines = vec![line(a, 1), line(Uuid::from_u128(2), 0), line(a, 2)];
        assert_eq!(
            invalid_fields(lines),
            ["items[1].quantity", "items[2].product_id"]
        );
    }

    #[test]
    fn holds_1_to_100_lines() {
        assert_eq!(invalid_fields(vec![]), ["items"]);
        let many = (0..=100).map(|i| line(Uuid::from_u128(i), 1)).collect();
        assert_eq!(invalid_fields(many), ["items"]);
    }

    #[test]
    fn statuses_round_trip() {
        for status in [Status::Reserved, Status::Rejected, Status::Released] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("pending"), None);
    }
}
