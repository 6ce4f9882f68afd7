//! What the pages read from the other services, typed: only the fields they show.

use http::{HeaderValue, Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use shop_http::{CallError, ServiceClient};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Money,
    pub stock: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn last_page(&self) -> u32 {
        let per_page = u64::from(self.per_page.max(1));
        u32::try_from(self.total.div_ceil(per_page)).unwrap_or(u32::MAX)
    }
}

/// Filters of a product listing, as the catalog takes them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Listing {
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
}

pub const PER_PAGE: u32 = 12;

pub async fn products(
    catalog: &ServiceClient,
    listing: &Listing,
) -> Result<Page<Product>, CallError> {
    catalog.get_json(&listing_path(listing)).await
}

/// `/v1/products` with the listing's filters.
fn listing_path(listing: &Listing) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("per_page", &PER_PAGE.to_string());
    query.append_pair("page", &listing.page.unwrap_or(1).max(1).to_string());
    if let Some(q) = listing.q.as_deref().filter(|q| !q.trim().is_empty()) {
        query.append_pair("q", q);
    }
    if let Some(category) = listing.category.as_deref().filter(|c| !c.is_empty()) {
        query.append_pair("category", category);
    }
    format!("/v1/products?{}", query.finish())
}

/// The products of `ids`, in the order of `ids` (the catalog does not promise one).
pub async fn products_by_id(
    catalog: &ServiceClient,
    ids: &[Uuid],
) -> Result<Vec<Product>, CallError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let path = format!("/v1/products?per_page=100&ids={}", listed.join(","));
    let page: Page<Product> = catalog.get_json(&path).await?;
    let mut products = page.items;
    products.sort_by_key(|p| ids.iter().position(|id| *id == p.id));
    Ok(products)
}

/// How many products the storefront remembers, with their `ETag`s (a few hundred bytes
/// each: well under a megabyte).
const KNOWN_PRODUCTS: usize = 1024;

/// The catalog's latest answers for the products pages asked for, with their `ETag`s. The
/// catalog is asked every time (its answer is `Cache-Control: no-cache`), but with
/// `If-None-Match`: an unchanged product is a `304` without a body, so the storefront adds
/// no staleness of its own and saves the transfer and the parsing.
#[derive(Debug, Clone)]
pub struct KnownProducts(Arc<quick_cache::sync::Cache<Uuid, Arc<Known>>>);

#[derive(Debug)]
struct Known {
    etag: HeaderValue,
    product: Product,
}

impl Default for KnownProducts {
    fn default() -> Self {
        Self(Arc::new(quick_cache::sync::Cache::new(KNOWN_PRODUCTS)))
    }
}

/// One product; `None` when the catalog has no such product.
pub async fn product(
    catalog: &ServiceClient,
    known: &KnownProducts,
    id: Uuid,
) -> Result<Option<Product>, CallError> {
    let remembered = known.0.get(&id);
    let mut request = catalog.request(Method::GET, &format!("/v1/products/{id}"));
    if let Some(remembered) = &remembered {
        request = request.header(header::IF_NONE_MATCH, remembered.etag.clone());
    }
    let revalidated = |outcome: &'static str| {
        if remembered.is_some() {
            metrics::counter!("storefront_catalog_revalidations_total", "outcome" => outcome)
                .increment(1);
        }
    };
    match catalog.send(request).await {
        Ok(response) => {
            revalidated("modified");
            let etag = response.headers().get(header::ETAG).cloned();
            let product: Product = response.json().await.map_err(|source| CallError::Decode {
                service: catalog.service(),
                source,
            })?;
            match etag {
                Some(etag) => known.0.insert(
                    id,
                    Arc::new(Known {
                        etag,
                        product: product.clone(),
                    }),
                ),
                None => {
                    known.0.remove(&id);
                }
            }
            Ok(Some(product))
        }
        Err(CallError::Status { status, .. }) if status == StatusCode::NOT_MODIFIED => {
            revalidated("not-modified");
            match remembered {
                Some(remembered) => Ok(Some(remembered.product.clone())),
                // A 304 to a request without `If-None-Match` is the catalog's bug.
                None => Err(CallError::Status {
                    service: catalog.service(),
                    status,
                    body: "304 Not Modified to an unconditional request".to_owned(),
                }),
            }
        }
        Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => {
            known.0.remove(&id);
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

pub async fn categories(catalog: &ServiceClient) -> Result<Vec<Category>, CallError> {
    let page: Page<Category> = catalog.get_json("/v1/categories?per_page=100").await?;
    Ok(page.items)
}
