//! `GET /v1/recommendations`

use crate::actions::recommend::Recommender;
use crate::domain::{Limit, RecommendationRequest, Recommendations};
use crate::error::Error;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use serde::Deserialize;
use shop_auth::{AuthError, OptionalAuth};
use shop_server::{Json, Problem, Query};
use utoipa::IntoParams;
use uuid::Uuid;

/// Who is asking and about what; every parameter is optional.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecommendationParams {
    /// Personalize for this user, from their purchases. Needs their bearer token (or an
    /// admin's).
    user_id: Option<Uuid>,
    /// The product being looked at: recommend what is bought with it, never itself.
    product_id: Option<Uuid>,
    /// How many products, at most.
    #[param(minimum = 1, maximum = 50, default = 10)]
    limit: Option<u32>,
}

impl RecommendationParams {
    fn validate(self) -> Result<RecommendationRequest, Error> {
        Ok(RecommendationRequest {
            user_id: self.user_id,
            product_id: self.product_id,
            limit: self.limit.map_or(Ok(Limit::DEFAULT), Limit::new)?,
        })
    }
}

/// Products to recommend, best first.
///
/// Tiers are tried in order: `personalized` (with `user_id`), `co-purchase` (with
/// `product_id`), `trending` (version 2 only: orders of the last hours), `popular`, then
/// the configured `static` list; the first with any product answers, and `source` names
/// it. Deleted products and `product_id` are never recommended. When the service cannot
/// reach its database it answers the static list rather than an error.
///
/// Every answer, problems included, names the ranking that served it in
/// `X-Recommendations-Version`: during a canary, v1 and v2 replicas share one Service.
#[utoipa::path(
    get,
    path = "/v1/recommendations",
    tag = "recommendations",
    params(RecommendationParams),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Recommendations from the first tier that has any", body = Recommendations,
            headers(("x-recommendations-version" = String, description = "The ranking that answered: `v1` (popular) or `v2` (trending first)"))),
        (status = 401, description = "`user_id` without a token, or an invalid token", body = Problem,
            content_type = "application/problem+json",
            headers(("x-recommendations-version" = String, description = "The ranking of the replica that answered"))),
        (status = 403, description = "The token belongs to another user and is not an admin's", body = Problem,
            content_type = "application/problem+json",
            headers(("x-recommendations-version" = String, description = "The ranking of the replica that answered"))),
        (status = 422, description = "An invalid parameter, named in `errors`", body = Problem,
            content_type = "application/problem+json",
            headers(("x-recommendations-version" = String, description = "The ranking of the replica that answered"))),
        (status = 503, description = "A token was sent, but the keys to check it cannot be fetched",
            body = Problem, content_type = "application/problem+json",
            headers(("x-recommendations-version" = String, description = "The ranking of the replica that answered"))),
    )
)]
pub async fn recommend(
    State(recommender): State<Recommender>,
    // Rejections are taken here rather than answered by axum, so that they carry the
    // version header too.
    caller: Result<OptionalAuth, AuthError>,
    params: Result<Query<RecommendationParams>, Problem>,
) -> Response {
    let answer = async {
        let OptionalAuth(caller) = caller.map_err(IntoResponse::into_response)?;
        let Query(params) = params.map_err(IntoResponse::into_response)?;
        let request = params.validate().map_err(IntoResponse::into_response)?;
        request
            .authorize(caller.as_ref())
            .map_err(IntoResponse::into_response)?;
        Ok::<_, Response>(Json(recommender.recommend(&request).await))
    };
    let mut response = answer.await.into_response();
    let version = HeaderValue::from_static(recommender.version().as_str());
    response.headers_mut().insert(VERSION_HEADER, version);
    response
}

/// The response header naming the ranking version.
pub const VERSION_HEADER: &str = "x-recommendations-version";
