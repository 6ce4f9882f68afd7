//! What orders asks of catalog over HTTP: prices, and stock reservations.

use crate::domain::placing::{CatalogProduct, PricedLine};
use reqwest::Method;
use serde::Serialize;
use shop_api::Page;
use shop_http::{CallError, ServiceClient};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Catalog {
    client: ServiceClient,
}

/// The outcome of asking catalog to reserve an order's stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// Not enough stock for at least one line; catalog's explanation.
    OutOfStock(String),
}

#[derive(Serialize)]
struct ReservationRequest {
    order_id: Uuid,
    items: Vec<ReservationLine>,
}

#[derive(Serialize)]
struct ReservationLine {
    product_id: Uuid,
    quantity: i32,
}

impl Catalog {
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        Self {
            client: ServiceClient::new("catalog", base_url, timeout),
        }
    }

    /// The current name and price of each product that exists, by id.
    pub async fn products(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, CatalogProduct>, CallError> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let path = format!("/v1/products?per_page=100&ids={}", ids.join(","));
        let page: Page<CatalogProduct> = self.client.get_json(&path).await?;
        Ok(page
            .items
            .into_iter()
            .map(|product| (product.id, product))
            .collect())
    }

    /// Reserves the stock of every line, all or nothing. Idempotent per order.
    pub async fn reserve(
        &self,
        bearer: &str,
        order_id: Uuid,
        lines: &[PricedLine],
    ) -> Result<Reservation, CallError> {
        let body = ReservationRequest {
            order_id,
            items: lines
                .iter()
                .map(|line| ReservationLine {
                    product_id: line.product_id,
                    quantity: line.quantity,
                })
                .collect(),
        };
        let request = self
            .client
            .request(Method::POST, "/internal/v1/stock/reservations")
            .bearer_auth(bearer)
            .json(&body);
        match self.client.send(request).await {
            Ok(_) => Ok(Reservation::Reserved),
            Err(CallError::Status { status, body, .. }) if status == http::StatusCode::CONFLICT => {
                let detail = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|problem| problem["detail"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "out of stock".to_owned());
                Ok(Reservation::OutOfStock(detail))
            }
            Err(error) => Err(error),
        }
    }

    /// Returns a reserved order's stock. Idempotent.
    pub async fn release(&self, bearer: &str, order_id: Uuid) -> Result<(), CallError> {
        let request = self
            .client
            .request(
                Method::DELETE,
                &format!("/internal/v1/stock/reservations/{order_id}"),
            )
            .bearer_auth(bearer);
        self.client.send(request).await.map(|_| ())
    }
}
