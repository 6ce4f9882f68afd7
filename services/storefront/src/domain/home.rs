//! The home page's data: recommendations that never fail the page, and the first products.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where the home page's recommendations come from: a tier of the recommendations service,
/// or one of the storefront's own fallbacks when that service failed, was too slow or its
/// circuit breaker is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Personalized,
    CoPurchase,
    /// Version 2 of the recommendations service only: ordered most in the last hours.
    Trending,
    Popular,
    Static,
    /// The last popular (or trending) list the recommendations service gave, kept by the storefront.
    FallbackCache,
    /// The newest products of the catalog's first page.
    FallbackCatalog,
}

impl Source {
    /// The value of the `source` label of `storefront_recommendations_served_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personalized => "personalized",
            Self::CoPurchase => "co-purchase",
            Self::Trending => "trending",
            Self::Popular => "popular",
            Self::Static => "static",
            Self::FallbackCache => "fallback-cache",
            Self::FallbackCatalog => "fallback-catalog",
        }
    }
}

/// One recommended product, as the recommendations service describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommended {
    pub product_id: Uuid,
    /// 0 for the storefront's fallbacks.
    pub score: f64,
}

/// Recommendations and where they come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommendations {
    pub source: Source,
    pub items: Vec<Recommended>,
}

/// What `GET /api/home` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Home {
    pub recommendations: Recommendations,
    /// The catalog's first page of products, as the catalog gives it (`Page<Product>`).
    #[schema(value_type = Object)]
    pub products: serde_json::Value,
}

/// The part of a catalog product the catalog fallback needs.
#[derive(Debug, Deserialize)]
struct ListedProduct {
    id: Uuid,
    /// RFC 3339 in UTC: ordered as text.
    created_at: String,
}

/// The last good popular list, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct PopularCache {
    last: Arc<Mutex<Option<Vec<Recommended>>>>,
}

impl PopularCache {
    /// Keeps `answer` if it is a list for everyone (popular, or v2's trending) with
    /// something in it.
    pub fn remember(&self, answer: &Recommendations) {
        let for_everyone = matches!(answer.source, Source::Popular | Source::Trending);
        if for_everyone && !answer.items.is_empty() {
            *self.lock() = Some(answer.items.clone());
        }
    }

    /// What to show without the recommendations service: the cached popular list, else the
    /// newest products of the catalog `page` (a `Page<Product>`), at most `limit`.
    pub fn fallback(&self, page: &serde_json::Value, limit: usize) -> Recommendations {
        if let Some(cached) = self.cached(limit) {
            return cached;
        }
        let mut listed: Vec<ListedProduct> = page
            .get("items")
            .cloned()
            .and_then(|items| serde_json::from_value(items).ok())
            .unwrap_or_default();
        listed.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Recommendations {
            source: Source::FallbackCatalog,
            items: listed
                .into_iter()
                .take(limit)
                .map(|product| Recommended {
                    product_id: product.id,
                    score: 0.0,
                })
                .collect(),
        }
    }

    /// The cached popular list, at most `limit` of it, if there is one.
    pub fn cached(&self, limit: usize) -> Option<Recommendations> {
        let items = self.lock().clone()?;
        Some(Recommendations {
            source: Source::FallbackCache,
            items: items.into_iter().take(limit).collect(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<Recommended>>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Which ranking of the recommendations service answered, from its
/// `X-Recommendations-Version` header. Only the versions this storefront knows are named,
/// so a metric label cannot grow without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankingVersion {
    V1,
    V2,
    /// The service answered without a version this storefront knows.
    Unknown,
    /// The storefront's own fallback answered: no version of the service did.
    Fallback,
}

impl RankingVersion {
    /// The name of the response header that carries it.
    pub const HEADER: &str = "x-recommendations-version";

    /// The version named in a recommendations answer's headers.
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        match headers.get(Self::HEADER).map(http::HeaderValue::as_bytes) {
            Some(b"v1") => Self::V1,
            Some(b"v2") => Self::V2,
            _ => Self::Unknown,
        }
    }

    /// The value of the `version` label of `storefront_recommendations_served_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
            Self::Unknown => "unknown",
            Self::Fallback => "none (fallback)",
        }
    }
}

/// Where the recommendations served lately came from, and which version of the ranking
/// served them, for the ops panel (where a canary's split shows).
#[derive(Debug, Clone, Default)]
pub struct RecentSources {
    served: Arc<Mutex<VecDeque<Served>>>,
}

#[derive(Debug, Clone, Copy)]
struct Served {
    at: Instant,
    source: Source,
    version: RankingVersion,
}

impl RecentSources {
    /// How far back it remembers.
    pub const WINDOW: Duration = Duration::from_secs(60);
    /// The most it remembers, however busy the shop.
    const CAPACITY: usize = 10_000;

    pub fn record(&self, source: Source, version: RankingVersion) {
        let at = Instant::now();
        let mut served = self.lock();
        forget_older(&mut served, at);
        if served.len() == Self::CAPACITY {
            served.pop_front();
        }
        served.push_back(Served {
            at,
            source,
            version,
        });
    }

    /// How many times each source answered within the window, most first.
    pub fn last_window(&self) -> Vec<(Source, usize)> {
        self.count_by(|served| served.source)
    }

    /// How many answers each version gave within the window, most first.
    pub fn last_window_by_version(&self) -> Vec<(RankingVersion, usize)> {
        self.count_by(|served| served.version)
    }

    fn count_by<K: PartialEq>(&self, key: impl Fn(&Served) -> K) -> Vec<(K, usize)> {
        let mut served = self.lock();
        forget_older(&mut served, Instant::now());
        let mut counts: Vec<(K, usize)> = Vec::new();
        for entry in served.iter() {
            let key = key(entry);
            match counts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, count)) => *count += 1,
                None => counts.push((key, 1)),
            }
        }
        counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        counts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Served>> {
        self.served
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn forget_older(served: &mut VecDeque<Served>, now: Instant) {
    while served
        .front()
        .is_some_and(|served| now.duration_since(served.at) > RecentSources::WINDOW)
    {
        served.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_last_minute_by_source_and_by_version() {
        let recent = RecentSources::default();
        for _ in 0..9 {
            recent.record(Source::Popular, RankingVersion::V1);
        }
        recent.record(Source::Trending, RankingVersion::V2);
        recent.record(Source::FallbackCache, RankingVersion::Fallback);
        assert_eq!(
            recent.last_window(),
            [
                (Source::Popular, 9),
                (Source::Trending, 1),
                (Source::FallbackCache, 1)
            ]
        );
        assert_eq!(
            recent.last_window_by_version(),
            [
                (RankingVersion::V1, 9),
                (RankingVersion::V2, 1),
                (RankingVersion::Fallback, 1)
            ]
        );
    }

    #[test]
    fn only_known_versions_are_named() {
        let with = |value: &'static str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                RankingVersion::HEADER,
                http::HeaderValue::from_static(value),
            );
            RankingVersion::from_headers(&headers)
        };
        assert_eq!(with("v1"), RankingVersion::V1);
        assert_eq!(with("v2"), RankingVersion::V2);
        assert_eq!(with("v2-evil-label-explosion"), RankingVersion::Unknown);
        assert_eq!(
            RankingVersion::from_headers(&http::HeaderMap::new()),
            RankingVersion::Unknown
        );
    }
    use serde_json::json;

    fn item(n: u128) -> Recommended {
        Recommended {
            product_id: Uuid::from_u128(n),
            score: 1.0,
        }
    }

    #[test]
    fn falls_back_to_the_newest_catalog_products_then_to_the_cached_popular_list() {
        let cache = PopularCache::default();
        let page = json!({"items": [
            {"id": Uuid::from_u128(1), "created_at": "2026-01-01T00:00:00Z", "name": "old"},
            {"id": Uuid::from_u128(2), "created_at": "2026-03-01T00:00:00Z", "name": "new"},
        ], "total": 2});
        let answer = cache.fallback(&page, 10);
        assert_eq!(answer.source, Source::FallbackCatalog);
        let ids: Vec<_> = answer.items.iter().map(|i| i.product_id).collect();
        assert_eq!(ids, [Uuid::from_u128(2), Uuid::from_u128(1)]);

        // Only a non-empty popular list is worth keeping.
        let fixed = Recommendations {
            source: Source::Static,
            items: vec![item(7)],
        };
        cache.remember(&fixed);
        assert_eq!(cache.fallback(&page, 10).source, Source::FallbackCatalog);
        let popular = Recommendations {
            source: Source::Popular,
            items: vec![item(8), item(9)],
        };
        cache.remember(&popular);
        let answer = cache.fallback(&page, 1);
        assert_eq!(answer.source, Source::FallbackCache);
        assert_eq!(answer.items, [item(8)]);
    }
}
