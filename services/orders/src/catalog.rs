//! What orders asks of catalog over HTTP: the price of a product its replica does not
//! know yet (see `events`). Stock is reserved through events, never over HTTP.

use crate::domain::placing::CatalogProduct;
use shop_api::Page;
use shop_http::{CallError, ServiceClient};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Catalog {
    client: ServiceClient,
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
}
