//! What the service answers.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Which tier answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Bought together with what this user bought, minus what they already have.
    Personalized,
    /// Bought together with the product being looked at.
    CoPurchase,
    /// Ordered most in the last hours (the trending window; version 2 only).
    Trending,
    /// Ordered most lately, by a time-decayed count of orders.
    Popular,
    /// The configured fallback list, for when nothing else has anything to say.
    Static,
}

impl Source {
    /// The wire name, also the value of the `source` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personalized => "personalized",
            Self::CoPurchase => "co-purchase",
            Self::Trending => "trending",
            Self::Popular => "popular",
            Self::Static => "static",
        }
    }
}

/// One recommended product.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Recommendation {
    pub product_id: Uuid,
    /// Higher first. Its unit depends on the source: orders shared with the user's or the
    /// viewed products (personalized, co-purchase), orders in the window (trending), decayed
    /// orders (popular), 0 (static).
    #[schema(example = 3.0)]
    pub score: f64,
}

/// The answer: products, best first, and the tier they come from.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Recommendations {
    pub source: Source,
    pub items: Vec<Recommendation>,
}

impl Recommendations {
    /// The static list, in its configured order.
    pub fn fixed(product_ids: impl IntoIterator<Item = Uuid>) -> Self {
        Self {
            source: Source::Static,
            items: product_ids
                .into_iter()
                .map(|product_id| Recommendation {
                    product_id,
                    score: 0.0,
                })
                .collect(),
        }
    }
}
