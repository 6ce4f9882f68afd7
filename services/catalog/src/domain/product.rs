//! Products, their categories, and what makes a product valid.

use serde::{Deserialize, Serialize};
use shop_api::Money;
use shop_server::FieldError;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A group of products, such as `coffee-tea`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: Uuid,
    /// Stable and URL-safe: what `?category=` filters on.
    #[schema(example = "coffee-tea")]
    pub slug: String,
    #[schema(example = "Coffee & Tea")]
    pub name: String,
}

/// A product as every API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: Uuid,
    #[schema(example = "CT-ESP-001")]
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Money,
    /// Units available to order.
    pub stock: i32,
    /// Always present; `null` when the product has no image.
    #[schema(required = true, example = "/images/products/CT-ESP-001.svg")]
    pub image_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last change, stock included.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Grows with every change (`catalog.product_versions`): carried by the product's events,
    /// not shown by the API (the `ETag` is the API's version).
    #[serde(skip)]
    pub version: i64,
}

/// Everything an admin sets on a product: the body of a create or a full replace.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDraft {
    /// Upper-case letters, digits and single hyphens, 3 to 40 characters.
    #[schema(
        example = "CT-ESP-001",
        min_length = 3,
        max_length = 40,
        pattern = "^[A-Z0-9]+(-[A-Z0-9]+)*$"
    )]
    pub sku: String,
    /// 1 to 200 characters, not all of them spaces.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*\S[^\u0000]*$"
    )]
    pub name: String,
    /// At most 5000 characters.
    #[schema(max_length = 5000)]
    pub description: String,
    /// The slug of an existing category.
    #[schema(example = "coffee-tea", pattern = r"^[^\u0000]*\S[^\u0000]*$")]
    pub category_slug: String,
    pub price: Money,
    #[schema(minimum = 0)]
    pub stock: i32,
    /// A path on the storefront (`/images/…`) or an `http(s)://` URL, without spaces, at
    /// most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^(/|https?://)[^\s\u0000]*$")]
    pub image_url: Option<String>,
}

const SKU_LENGTH: std::ops::RangeInclusive<usize> = 3..=40;
const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 5000;
const MAX_IMAGE_URL_CHARS: usize = 2000;

impl ProductDraft {
    /// Every rule the draft breaks, all at once. Whether `category_slug` names an existing
    /// category is for the database to say.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let rules = [
            (
                is_valid_sku(&self.sku),
                "sku",
                "must be 3 to 40 upper-case letters, digits and single hyphens, such as CT-ESP-001",
            ),
            (
                !self.name.trim().is_empty() && self.name.chars().count() <= MAX_NAME_CHARS,
                "name",
                "must be 1 to 200 characters",
            ),
            (
                self.description.chars().count() <= MAX_DESCRIPTION_CHARS,
                "description",
                "must be at most 5000 characters",
            ),
            (
                !self.category_slug.trim().is_empty(),
                "category_slug",
                "must name a category",
            ),
            (
                self.price.amount_minor >= 0,
                "price.amount_minor",
                "must not be negative",
            ),
            (
                self.price.has_valid_currency(),
                "price.currency",
                "must be an ISO 4217 code such as EUR",
            ),
            (self.stock >= 0, "stock", "must not be negative"),
            (
                self.image_url.as_deref().is_none_or(is_valid_image_url),
                "image_url",
                "must be a path starting with / or an http(s) URL, at most 2000 characters",
            ),
        ];
        let invalid: Vec<_> = rules
            .into_iter()
            .filter(|(ok, _, _)| !ok)
            .map(|(_, field, message)| FieldError::new(field, message))
            .collect();
        if invalid.is_empty() {
            Ok(())
        } else {
            Err(invalid)
        }
    }
}

/// `CT-ESP-001`: groups of upper-case letters and digits joined by single hyphens.
fn is_valid_sku(sku: &str) -> bool {
    SKU_LENGTH.contains(&sku.len())
        && sku.split('-').all(|group| {
            !group.is_empty()
                && group
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

fn is_valid_image_url(url: &str) -> bool {
    let allowed_start =
        url.starts_with('/') || url.starts_with("https://") || url.starts_with("http://");
    allowed_start
        && url.chars().count() <= MAX_IMAGE_URL_CHARS
        && !url.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ProductDraft {
        ProductDraft {
            sku: "CT-ESP-001".into(),
            name: "Espresso beans".into(),
            description: "Dark and oily.".into(),
            category_slug: "coffee-tea".into(),
            price: Money::new(1299, "EUR"),
            stock: 10,
            image_url: Some("/images/products/CT-ESP-001.svg".into()),
        }
    }

    fn invalid_fields(draft: &ProductDraft) -> Vec<String> {
        draft
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|invalid| invalid.field)
            .collect()
    }

    #[test]
    fn a_complete_draft_is_valid() {
        assert_eq!(draft().validate(), Ok(()));
        let without_image = ProductDraft {
            image_url: None,
            ..draft()
        };
        assert_eq!(without_image.validate(), Ok(()));
    }

    #[test]
    fn skus_are_hyphenated_upper_case_groups() {
        for good in ["ABC", "CT-ESP-001", "X1-Y2", &"A".repeat(40)] {
            assert!(is_valid_sku(good), "{good}");
        }
        for bad in [
            "",
            "AB",
            "ct-esp-001",
            "-ABC",
            "ABC-",
            "AB--C",
            "AB C",
            "ÄBC",
            &"A".repeat(41),
        ] {
            assert!(!is_valid_sku(bad), "{bad}");
        }
    }

    #[test]
    fn names_every_broken_rule() {
        let bad = ProductDraft {
            sku: "nope".into(),
            name: "  ".into(),
            description: "x".repeat(5001),
            category_slug: String::new(),
            price: Money::new(-1, "eur"),
            stock: -1,
            image_url: Some("javascript:alert(1)".into()),
        };
        assert_eq!(
            invalid_fields(&bad),
            [
                "sku",
                "name",
                "description",
                "category_slug",
                "price.amount_minor",
                "price.currency",
                "stock",
                "image_url"
            ]
        );
    }

    #[test]
    fn names_are_at_most_200_characters() {
        let long = ProductDraft {
            name: "é".repeat(200),
            ..draft()
        };
        assert_eq!(long.validate(), Ok(()));
        let too_long = ProductDraft {
            name: "é".repeat(201),
            ..draft()
        };
        assert_eq!(invalid_fields(&too_long), ["name"]);
    }
}
