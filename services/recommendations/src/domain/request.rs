//! Who asks, about what, and which tiers may answer.

use super::{Source, Version};
use crate::error::Error;
use shop_auth::Claims;
use uuid::Uuid;

/// How many products to recommend: 1 to [`Limit::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    pub const MAX: u32 = 50;
    pub const DEFAULT: Self = Self(10);

    pub fn new(limit: u32) -> Result<Self, Error> {
        if (1..=Self::MAX).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(Error::InvalidLimit { max: Self::MAX })
        }
    }

    pub fn get(self) -> usize {
        self.0 as usize
    }

    /// For SQL `LIMIT`.
    pub fn as_i64(self) -> i64 {
        i64::from(self.0)
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A request for recommendations, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecommendationRequest {
    /// Whose purchase history to use: see [`authorize`](Self::authorize).
    pub user_id: Option<Uuid>,
    /// The product being looked at: what is bought with it is relevant, it itself is not.
    pub product_id: Option<Uuid>,
    pub limit: Limit,
}

/// A tier that answers from what the service has learned, with what it needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Personalized {
        user_id: Uuid,
    },
    CoPurchase {
        product_id: Uuid,
    },
    /// Ordered most in the trending window (v2 only).
    Trending,
    Popular,
}

impl Tier {
    pub fn source(self) -> Source {
        match self {
            Self::Personalized { .. } => Source::Personalized,
            Self::CoPurchase { .. } => Source::CoPurchase,
            Self::Trending => Source::Trending,
            Self::Popular => Source::Popular,
        }
    }
}

impl RecommendationRequest {
    /// Personalized recommendations reveal what a user bought: only that user, or an
    /// admin, may ask for them.
    pub fn authorize(&self, caller: Option<&Claims>) -> Result<(), Error> {
        let Some(user_id) = self.user_id else {
            return Ok(());
        };
        match caller {
            None => Err(Error::AuthenticationRequired),
            Some(claims) if claims.sub == user_id || claims.is_admin() => Ok(()),
            Some(_) => Err(Error::NotThatUser { user_id }),
        }
    }

    /// The learned tiers able to answer, most specific first. The static list comes after
    /// all of them. `version` decides the general tiers: v2 tries what is trending before
    /// what is popular, so it degrades to v1's answer when nothing was ordered lately.
    pub fn tiers(&self, version: Version) -> Vec<Tier> {
        let personalized = self.user_id.map(|user_id| Tier::Personalized { user_id });
        let co_purchase = self
            .product_id
            .map(|product_id| Tier::CoPurchase { product_id });
        let trending = (version == Version::V2).then_some(Tier::Trending);
        personalized
            .into_iter()
            .chain(co_purchase)
            .chain(trending)
            .chain([Tier::Popular])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shop_auth::Role;

    #[test]
    fn limits_run_from_one_to_fifty() {
        assert_eq!(Limit::new(1).map(Limit::get).ok(), Some(1));
        assert_eq!(Limit::new(50).map(Limit::get).ok(), Some(50));
        assert!(Limit::new(0).is_err());
        assert!(Limit::new(51).is_err());
        assert_eq!(Limit::default().get(), 10);
    }

    #[test]
    fn only_the_user_or_an_admin_may_personalize() {
        let user_id = Uuid::from_u128(1);
        let claims = |sub, role| Claims::new(sub, role, std::time::Duration::from_secs(60));
        let request = |user_id| RecommendationRequest {
            user_id,
            product_id: None,
            limit: Limit::default(),
        };
        let for_user = request(Some(user_id));
        let someone_else = claims(Uuid::from_u128(2), Role::Customer);

        assert!(request(None).authorize(None).is_ok());
        assert!(request(None).authorize(Some(&someone_else)).is_ok());
        assert!(
            for_user
                .authorize(Some(&claims(user_id, Role::Customer)))
                .is_ok()
        );
        assert!(
            for_user
                .authorize(Some(&claims(Uuid::from_u128(3), Role::Admin)))
                .is_ok()
        );
        assert!(matches!(
            for_user.authorize(None),
            Err(Error::AuthenticationRequired)
        ));
        assert!(matches!(
            for_user.authorize(Some(&someone_else)),
            Err(Error::NotThatUser { .. })
        ));
    }

    #[test]
    fn tiers_go_from_the_most_specific_to_the_most_general() {
        let (user_id, product_id) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let request = |user_id, product_id| RecommendationRequest {
            user_id,
            product_id,
            limit: Limit::default(),
        };
        assert_eq!(
            request(Some(user_id), Some(product_id)).tiers(Version::V1),
            [
                Tier::Personalized { user_id },
                Tier::CoPurchase { product_id },
                Tier::Popular
            ]
        );
        assert_eq!(
            request(None, Some(product_id)).tiers(Version::V1),
            [Tier::CoPurchase { product_id }, Tier::Popular]
        );
        assert_eq!(
            request(Some(user_id), None).tiers(Version::V1),
            [Tier::Personalized { user_id }, Tier::Popular]
        );
        assert_eq!(request(None, None).tiers(Version::V1), [Tier::Popular]);
    }

    #[test]
    fn version_two_tries_what_is_trending_before_what_is_popular() {
        let product_id = Uuid::from_u128(2);
        let request = RecommendationRequest {
            user_id: None,
            product_id: Some(product_id),
            limit: Limit::default(),
        };
        assert_eq!(
            request.tiers(Version::V2),
            [
                Tier::CoPurchase { product_id },
                Tier::Trending,
                Tier::Popular
            ]
        );
    }
}
