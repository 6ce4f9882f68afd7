//! What one confirmed order teaches us.

use std::collections::BTreeMap;
use uuid::Uuid;

/// One line of a confirmed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: Uuid,
    pub quantity: u32,
}

/// The distinct products of an order with their total quantities, in ascending id order.
///
/// The fixed order matters: two orders recorded at once then lock the same rows in the
/// same order, so they wait for each other instead of deadlocking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Basket {
    quantities: BTreeMap<Uuid, i64>,
}

impl Basket {
    /// Merges lines for the same product and drops lines for nothing (quantity 0).
    pub fn new(lines: &[OrderLine]) -> Self {
        let mut quantities = BTreeMap::new();
        for line in lines.iter().filter(|line| line.quantity > 0) {
            *quantities.entry(line.product_id).or_insert(0) += i64::from(line.quantity);
        }
        Self { quantities }
    }

    pub fn is_empty(&self) -> bool {
        self.quantities.is_empty()
    }

    pub fn product_ids(&self) -> Vec<Uuid> {
        self.quantities.keys().copied().collect()
    }

    /// Aligned with [`product_ids`](Self::product_ids).
    pub fn quantities(&self) -> Vec<i64> {
        self.quantities.values().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_lines_per_product_in_id_order_and_drops_empty_ones() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let line = |product_id, quantity| OrderLine {
            product_id,
            quantity,
        };
        let basket = Basket::new(&[line(b, 2), line(a, 1), line(b, 3), line(c, 0)]);
        assert_eq!(basket.product_ids(), [a, b]);
        assert_eq!(basket.quantities(), [1, 5]);
        assert!(Basket::new(&[line(c, 0)]).is_empty());
    }
}
