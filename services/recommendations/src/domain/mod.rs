//! The recommendations service's rules, free of HTTP and SQL.
//!
//! A request names who is asking and what they look at ([`RecommendationRequest`]); the
//! tiers able to answer it are tried in order, and the first with anything to say answers
//! ([`Recommendations`], with the [`Source`] that answered). Purchases feed the tiers
//! ([`Basket`]), and popularity fades with a [`HalfLife`]. Which [`Version`] of the ranking
//! a replica runs decides whether recent orders (a [`TrendingWindow`]) come first.

mod popularity;
mod purchase;
mod recommendation;
mod request;
mod version;

pub use popularity::HalfLife;
pub use purchase::{Basket, OrderLine};
pub use recommendation::{Recommendation, Recommendations, Source};
pub use request::{Limit, RecommendationRequest, Tier};
pub use version::{TrendingWindow, UnknownVersion, Version};
