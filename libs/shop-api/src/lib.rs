//! Shapes every Harbor Shop API shares, so that a client learns them once.
//!
//! - [`Money`]: integer minor units and an ISO 4217 currency code, never a float.
//! - [`PageQuery`] / [`Page`]: `?page=&per_page=` in, `{items, page, per_page, total}` out.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An amount of money: `{"amount_minor": 1299, "currency": "EUR"}` is €12.99.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// In the currency's minor unit (cents for EUR); the shop has no negative amounts.
    #[schema(example = 1299, minimum = 0)]
    pub amount_minor: i64,
    /// ISO 4217 code: three upper-case letters.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: &str) -> Self {
        Self {
            amount_minor,
            currency: currency.to_owned(),
        }
    }

    /// True for three upper-case ASCII letters, the shape of an ISO 4217 code.
    pub fn has_valid_currency(&self) -> bool {
        self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())
    }
}

impl std::fmt::Display for Money {
    /// `12.99 EUR` (two minor digits, which holds for the currencies the shop sells in).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency)
    }
}

/// `deserialize_with` for a `u32` the contract calls an `integer`: JSON Schema counts `87.0`
/// as one, so it is accepted as 87; `87.5` and anything out of range are refused.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number from 0 to 4294967295")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u32, E> {
            let whole = v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v);
            if whole {
                // Checked just above: whole and in range, so the cast is exact.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(v as u32)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    deserializer.deserialize_any(Whole)
}

/// The largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 100;

/// The last page number there can be: the largest `int32`, the format the contract gives.
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// `?page=1&per_page=20`: pages count from 1.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 2147483647, default = 1)]
    pub page: u32,
    /// Items per page, at most 100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub per_page: u32,
}

impl Default for PageQuery {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 20,
        }
    }
}

impl PageQuery {
    /// The name of the invalid parameter and why, if any.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.page == 0 || self.page > MAX_PAGE {
            return Err(("page", "must be between 1 and 2147483647"));
        }
        if self.per_page == 0 || self.per_page > MAX_PER_PAGE {
            return Err(("per_page", "must be between 1 and 100"));
        }
        Ok(())
    }

    /// SQL `LIMIT`.
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    /// SQL `OFFSET`.
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Items in the whole list, across all pages.
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, query: PageQuery, total: i64) -> Self {
        Self {
            items,
            page: query.page,
            per_page: query.per_page,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_displays_minor_units() {
        assert_eq!(Money::new(1299, "EUR").to_string(), "12.99 EUR");
        assert_eq!(Money::new(-5, "EUR").to_string(), "-0.05 EUR");
        assert!(Money::new(1, "EUR").has_valid_currency());
        assert!(!Money::new(1, "eur").has_valid_currency());
    }

    #[test]
    fn pages_are_bounded() {
        let page = |page, per_page| PageQuery { page, per_page };
        assert!(page(1, 100).validate().is_ok());
        assert_eq!(page(0, 10).validate().unwrap_err().0, "page");
        assert_eq!(page(MAX_PAGE + 1, 10).validate().unwrap_err().0, "page");
        assert!(page(MAX_PAGE, 10).validate().is_ok());
        assert_eq!(page(1, 101).validate().unwrap_err().0, "per_page");
        assert_eq!(page(3, 20).offset(), 40);
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        #[derive(Debug, Deserialize)]
        struct Line {
            #[serde(deserialize_with = "whole_number")]
            quantity: u32,
        }
        let parse = |json: &str| serde_json::from_str::<Line>(json).map(|l| l.quantity);
        assert_eq!(parse(r#"{"quantity":87}"#).ok(), Some(87));
        assert_eq!(parse(r#"{"quantity":87.0}"#).ok(), Some(87));
        assert!(parse(r#"{"quantity":87.5}"#).is_err());
        assert!(parse(r#"{"quantity":-1}"#).is_err());
        assert!(parse(r#"{"quantity":"1"}"#).is_err());
    }

    #[test]
    fn money_rejects_unknown_fields() {
        let parsed: Result<Money, _> =
            serde_json::from_str(r#"{"amount_minor":1,"currency":"EUR","float":1.0}"#);
        assert!(parsed.is_err());
    }
}
