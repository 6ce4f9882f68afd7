//! Answering a request: the tiers in order, the static list when they have nothing, and
//! the static list too when the database is away. Recommendations degrade; they never fail.

use crate::config::TierSettings;
use crate::db;
use crate::domain::{RecommendationRequest, Recommendations, Tier, Version};
use sqlx::PgPool;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Recommender {
    db: PgPool,
    settings: TierSettings,
}

impl Recommender {
    pub fn new(db: PgPool, settings: TierSettings) -> Self {
        Self { db, settings }
    }

    /// The first tier with anything to say, and the static list otherwise.
    pub async fn recommend(&self, request: &RecommendationRequest) -> Recommendations {
        let answer = match self.first_tier_with_answer(request).await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, "cannot read recommendations, answering the static list");
                self.static_without_database(request)
            }
        };
        metrics::counter!(
            "recommendations_served_total",
            "source" => answer.source.as_str(),
            "version" => self.settings.version.as_str(),
        )
        .increment(1);
        answer
    }

    /// The ranking this replica answers with.
    pub fn version(&self) -> Version {
        self.settings.version
    }

    async fn first_tier_with_answer(
        &self,
        request: &RecommendationRequest,
    ) -> Result<Recommendations, sqlx::Error> {
        let (exclude, limit) = (request.product_id, request.limit);
        for tier in request.tiers(self.settings.version) {
            let items = match tier {
                Tier::Personalized { user_id } => {
                    db::personalized(&self.db, user_id, exclude, limit).await?
                }
                Tier::CoPurchase { product_id } => {
                    db::co_purchased(&self.db, product_id, limit).await?
                }
                Tier::Trending => {
                    let (now, window) = (OffsetDateTime::now_utc(), self.settings.trending_window);
                    db::trending(&self.db, now, window, exclude, limit).await?
                }
                Tier::Popular => {
                    let half_life = self.settings.popularity_half_life;
                    let now = OffsetDateTime::now_utc();
                    db::popular(&self.db, now, half_life, exclude, limit).await?
                }
            };
            if !items.is_empty() {
                return Ok(Recommendations {
                    source: tier.source(),
                    items,
                });
            }
        }
        let listed = &self.settings.static_products;
        let ids = db::static_list(&self.db, listed, exclude, limit).await?;
        Ok(Recommendations::fixed(ids))
    }

    /// The static list as configured: without the database, nothing is known deleted.
    fn static_without_database(&self, request: &RecommendationRequest) -> Recommendations {
        let ids = self.settings.static_products.iter().copied();
        Recommendations::fixed(
            ids.filter(|id| Some(*id) != request.product_id)
                .take(request.limit.get()),
        )
    }
}
