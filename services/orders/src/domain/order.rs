//! What an order is, and how its status may move.

use serde::{Deserialize, Serialize};
use shop_api::Money;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// `pending` → `confirmed` | `rejected` (out of stock); `pending` | `confirmed` → `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Rejected,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Confirmed,
            Self::Rejected,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    /// The owner may cancel an order until it is final; a confirmed order's stock is
    /// returned to the catalog.
    pub fn can_cancel(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: OrderStatus,
    /// Why the order was rejected, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub items: Vec<OrderLine>,
    pub total: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One product of an order, at the price it had when the order was placed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OrderLine {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: Money,
    #[schema(minimum = 1)]
    pub quantity: u32,
    pub line_total: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_live_orders_cancel() {
        for status in [
            OrderStatus::Pending,
            OrderStatus::Confirmed,
            OrderStatus::Rejected,
            OrderStatus::Cancelled,
        ] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert!(OrderStatus::Pending.can_cancel());
        assert!(OrderStatus::Confirmed.can_cancel());
        assert!(!OrderStatus::Rejected.can_cancel());
        assert!(!OrderStatus::Cancelled.can_cancel());
        assert_eq!(OrderStatus::parse("shipped"), None);
    }
}
