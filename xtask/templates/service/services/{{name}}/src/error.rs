//! The {{name}} service's errors, and their one mapping to HTTP problems.

use axum::response::{IntoResponse, Response};
use shop_server::{FieldError, Problem};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum {{Name}}Error {
    #[error("product {0} is not on the list")]
    NotListed(Uuid),
    #[error("the list holds {max} products already")]
    ListFull { max: usize },
    #[error("invalid request: {0:?}")]
    Invalid(Vec<FieldError>),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<{{Name}}Error> for Problem {
    fn from(error: {{Name}}Error) -> Self {
        match error {
            {{Name}}Error::NotListed(id) => Problem::not_found(format!("product {id} is not on your list")),
            {{Name}}Error::ListFull { max } => Problem::conflict(
                "list-full",
                format!("a list holds at most {max} products; remove one first"),
            ),
            {{Name}}Error::Invalid(fields) => Problem::validation(fields),
            // 503 with Retry-After while the database is away, 500 otherwise: one mapping
            // for every service (shop-db).
            {{Name}}Error::Database(cause) => shop_db::problem(&cause),
        }
    }
}

impl IntoResponse for {{Name}}Error {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
