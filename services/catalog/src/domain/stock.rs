//! Reserving stock for an order and releasing it: the catalog's part of the checkout saga.
//!
//! Orders asks through events (`OrderPlaced`, `OrderCancelled`: see `events::orders`), and
//! events may arrive more than once. So a reservation takes every line or nothing, and each
//! order is decided at most once: a repeated request never takes stock twice.

use shop_server::FieldError;
use std::collections::HashSet;
use uuid::Uuid;

/// The most lines one reservation may hold.
pub const MAX_LINES: usize = 100;

/// A quantity of one product to hold for an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationLine {
    pub product_id: Uuid,
    /// At least 1.
    pub quantity: i32,
}

/// The lines to reserve for what an order lists, as `(product_id, quantity)`: 1 to 100
/// lines, each product once, each quantity at least 1 (and small enough for a stock
/// column). Otherwise every broken rule, each naming its item (`items[1].quantity`).
/// Whether the products exist is for the database to say.
pub fn reservation_lines(
    items: impl IntoIterator<Item = (Uuid, u32)>,
) -> Result<Vec<ReservationLine>, Vec<FieldError>> {
    let items: Vec<(Uuid, u32)> = items.into_iter().collect();
    let mut lines = Vec::with_capacity(items.len());
    let mut invalid = Vec::new();
    if items.is_empty() || items.len() > MAX_LINES {
        invalid.push(FieldError::new("items", "must hold 1 to 100 lines"));
    }
    let mut seen = HashSet::new();
    for (i, (product_id, quantity)) in items.into_iter().enumerate() {
        if !seen.insert(product_id) {
            invalid.push(FieldError::new(
                format!("items[{i}].product_id"),
                "appears in an earlier line: give each product once",
            ));
        }
        match i32::try_from(quantity) {
            Ok(quantity) if quantity >= 1 => lines.push(ReservationLine {
                product_id,
                quantity,
            }),
            _ => invalid.push(FieldError::new(
                format!("items[{i}].quantity"),
                "must be 1 to 2147483647",
            )),
        }
    }
    if invalid.is_empty() {
        Ok(lines)
    } else {
        Err(invalid)
    }
}

/// What asking for an order's stock found. Orders asks again when it has not heard the
/// answer for a while (its reconciler), so a repeated request is answered, not ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Decided now.
    Decided(Decision),
    /// Decided by an earlier request for the same order, as recorded then; nothing changed.
    DecidedBefore(Decision),
    /// Cancelled before (perhaps before it was placed): it holds nothing and never will.
    Released,
}

/// The catalog's answer to an order, decided once and recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Every line's stock is now held for the order.
    Reserved,
    /// Nothing was taken.
    Rejected(Rejection),
}

/// Why an order could not be served: the products it could not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// In the catalog, but with less stock than the order asks for.
    pub short_product_ids: Vec<Uuid>,
    /// Not in the catalog (deleted after the order was priced, or never there).
    pub unknown_product_ids: Vec<Uuid>,
}

impl Rejection {
    /// For people: what kept the order from being served.
    pub fn reason(&self) -> &'static str {
        match (
            self.short_product_ids.is_empty(),
            self.unknown_product_ids.is_empty(),
        ) {
            (false, true) => "insufficient stock",
            (true, false) => "unknown products",
            _ => "insufficient stock and unknown products",
        }
    }

    /// Every product the order could not have: the unknown ones, then the short ones.
    pub fn product_ids(&self) -> Vec<Uuid> {
        [&self.unknown_product_ids[..], &self.short_product_ids[..]].concat()
    }
}

/// What releasing an order's reservation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// The held stock went back on these products' shelves (those that still exist).
    Returned { product_ids: Vec<Uuid> },
    /// Nothing was held: the reservation was rejected, already released, or never made.
    NothingHeld,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_fields(items: Vec<(Uuid, u32)>) -> Vec<String> {
        reservation_lines(items)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|invalid| invalid.field)
            .collect()
    }

    #[test]
    fn accepts_distinct_positive_lines() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(
            reservation_lines([(a, 1), (b, 5)]),
            Ok(vec![
                ReservationLine {
                    product_id: a,
                    quantity: 1
                },
                ReservationLine {
                    product_id: b,
                    quantity: 5
                },
            ])
        );
    }

    #[test]
    fn names_the_bad_lines() {
        let a = Uuid::from_u128(1);
        let items = vec![
            (a, 1),
            (Uuid::from_u128(2), 0),
            (a, 2),
            (Uuid::from_u128(3), u32::MAX),
        ];
        assert_eq!(
            invalid_fields(items),
            [
                "items[1].quantity",
                "items[2].product_id",
                "items[3].quantity"
            ]
        );
    }

    #[test]
    fn holds_1_to_100_lines() {
        assert_eq!(invalid_fields(vec![]), ["items"]);
        let many = (0..=100).map(|i| (Uuid::from_u128(i), 1)).collect();
        assert_eq!(invalid_fields(many), ["items"]);
        let most = (0..100).map(|i| (Uuid::from_u128(i), 1)).collect();
        assert_eq!(invalid_fields(most), Vec::<String>::new());
    }

    #[test]
    fn a_rejection_names_its_products_and_why() {
        let (short, unknown) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let rejection = |short_product_ids, unknown_product_ids| Rejection {
            short_product_ids,
            unknown_product_ids,
        };
        assert_eq!(
            rejection(vec![short], vec![]).reason(),
            "insufficient stock"
        );
        assert_eq!(
            rejection(vec![], vec![unknown]).reason(),
            "unknown products"
        );
        let both = rejection(vec![short], vec![unknown]);
        assert_eq!(both.reason(), "insufficient stock and unknown products");
        assert_eq!(both.product_ids(), [unknown, short]);
    }
}
