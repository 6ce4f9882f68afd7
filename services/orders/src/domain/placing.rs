//! Placing an order: validating what the customer asked for and pricing it with the
//! catalog's prices (never the client's).

use serde::{Deserialize, Serialize};
use shop_api::Money;
use shop_server::FieldError;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

pub const MAX_LINES: usize = 50;
pub const MAX_QUANTITY: u32 = 100;

/// `POST /v1/orders` body.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// 1 to 50 lines, each product at most once.
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub product_id: Uuid,
    /// 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    #[serde(deserialize_with = "shop_api::whole_number")]
    pub quantity: u32,
}

impl PlaceOrder {
    /// Every problem with the request, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.items.is_empty() {
            errors.push(field("items", "must contain at least one item"));
        }
        if self.items.len() > MAX_LINES {
            errors.push(field("items", "must contain at most 50 items"));
        }
        let mut seen = HashSet::new();
        for (i, item) in self.items.iter().enumerate() {
            if !(1..=MAX_QUANTITY).contains(&item.quantity) {
                errors.push(field(
                    &format!("items[{i}].quantity"),
                    "must be between 1 and 100",
                ));
            }
            if !seen.insert(item.product_id) {
                errors.push(field(
                    &format!("items[{i}].product_id"),
                    "is listed twice: put the whole quantity on one line",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The request in a canonical form (lines sorted by product): a repeated
    /// `Idempotency-Key` must come with the same fingerprint.
    pub fn fingerprint(&self) -> String {
        let mut lines: Vec<(Uuid, u32)> = self
            .items
            .iter()
            .map(|item| (item.product_id, item.quantity))
            .collect();
        lines.sort();
        lines
            .iter()
            .map(|(id, quantity)| format!("{id}x{quantity}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// What catalog says about a product, as far as placing an order needs.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogProduct {
    pub id: Uuid,
    pub name: String,
    pub price: Money,
}

/// A line with its price fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub product_id: Uuid,
    pub product_name: String,
    pub unit_price_minor: i64,
    pub quantity: u32,
}

/// Prices every line from the catalog; unknown products and mixed currencies are refused.
pub fn price(
    order: &PlaceOrder,
    catalog: &HashMap<Uuid, CatalogProduct>,
) -> Result<(Vec<PricedLine>, Money), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut lines = Vec::with_capacity(order.items.len());
    let mut currency: Option<&str> = None;
    let mut total: i64 = 0;
    for (i, item) in order.items.iter().enumerate() {
        let Some(product) = catalog.get(&item.product_id) else {
            errors.push(field(
                &format!("items[{i}].product_id"),
                "no such product in the catalog",
            ));
            continue;
        };
        match currency {
            None => currency = Some(&product.price.currency),
            Some(c) if c != product.price.currency => {
                errors.push(field(
                    &format!("items[{i}].product_id"),
                    "is priced in another currency than the rest of the order",
                ));
                continue;
            }
            Some(_) => {}
        }
        let quantity = item.quantity;
        total = total.saturating_add(
            product
                .price
                .amount_minor
                .saturating_mul(i64::from(quantity)),
        );
        lines.push(PricedLine {
            product_id: product.id,
            product_name: product.name.clone(),
            unit_price_minor: product.price.amount_minor,
            quantity,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(currency) = currency else {
        return Err(vec![field("items", "must contain at least one item")]);
    };
    Ok((lines, Money::new(total, currency)))
}

fn field(name: &str, message: &str) -> FieldError {
    FieldError::new(name, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(product_id: Uuid, quantity: u32) -> OrderItem {
        OrderItem {
            product_id,
            quantity,
        }
    }

    fn product(id: Uuid, amount_minor: i64, currency: &str) -> (Uuid, CatalogProduct) {
        (
            id,
            CatalogProduct {
                id,
                name: format!("product {amount_minor}"),
                price: Money::new(amount_minor, currency),
            },
        )
    }

    #[test]
    fn validation_names_every_bad_field() {
        let id = Uuid::new_v4();
        let order = PlaceOrder {
            items: vec![item(id, 0), item(id, 101)],
        };
        let errors = order.validate().expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "items[0].quantity",
                "items[1].quantity",
                "items[1].product_id"
            ]
        );
        assert!(PlaceOrder { items: vec![] }.validate().is_err());
    }

    #[test]
    fn prices_come_from_the_catalog() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let catalog = HashMap::from([product(a, 250, "EUR"), product(b, 1000, "EUR")]);
        let order = PlaceOrder {
            items: vec![item(a, 2), item(b, 1)],
        };
        let (lines, total) = price(&order, &catalog).expect("priced");
        assert_eq!(total, Money::new(1500, "EUR"));
        assert_eq!(lines[0].unit_price_minor, 250);
    }

    #[test]
    fn unknown_products_and_mixed_currencies_are_refused() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let catalog = HashMap::from([product(a, 1, "EUR"), product(b, 1, "USD")]);
        let unknown = PlaceOrder {
            items: vec![item(Uuid::new_v4(), 1)],
        };
        assert_eq!(
            price(&unknown, &catalog).expect_err("unknown")[0].field,
            "items[0].product_id"
        );
        let mixed = PlaceOrder {
            items: vec![item(a, 1), item(b, 1)],
        };
        assert_eq!(
            price(&mixed, &catalog).expect_err("mixed")[0].field,
            "items[1].product_id"
        );
    }

    #[test]
    fn the_fingerprint_ignores_line_order() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let one = PlaceOrder {
            items: vec![item(a, 1), item(b, 2)],
        };
        let other = PlaceOrder {
            items: vec![item(b, 2), item(a, 1)],
        };
        assert_eq!(one.fingerprint(), other.fingerprint());
        let more = PlaceOrder {
            items: vec![item(a, 2), item(b, 2)],
        };
        assert_ne!(one.fingerprint(), more.fingerprint());
    }
}
