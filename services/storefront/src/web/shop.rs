//! Browsing: the home page, search and category listings, a product's page.

use crate::app::AppState;
use crate::domain::home::{Recommendations, Source};
use crate::routes::home as home_data;
use crate::web::catalog::{self, Category, Listing, Page, Product};
use crate::web::layout::{add_to_cart, image_url, money, page, product_card, urlencode};
use crate::web::{PageError, Visitor};
use axum::Extension;
use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use std::time::Instant;
use uuid::Uuid;

/// How many products "bought together" shows.
const BOUGHT_TOGETHER: usize = 4;

pub async fn home(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
) -> Result<Markup, PageError> {
    let home = home_data::load(&state).await?;
    let listed: Page<Product> = serde_json::from_value(home.products)
        .map_err(|error| PageError::BadUpstreamAnswer(error.to_string()))?;
    let ids: Vec<Uuid> = home
        .recommendations
        .items
        .iter()
        .map(|item| item.product_id)
        .collect();
    // Recommended products the catalog no longer has are left out; a catalog that fails
    // here leaves the section out rather than the page.
    let recommended = catalog::products_by_id(&state.catalog, &ids)
        .await
        .unwrap_or_default();
    let categories = catalog::categories(&state.catalog)
        .await
        .unwrap_or_default();
    let session = &visitor.session;
    Ok(page(
        "Home",
        visitor.chrome(),
        html! {
            (category_nav(&categories, None))
            @if !recommended.is_empty() {
                section aria-labelledby="recommended" {
                    h2 #recommended {
                        "Recommended for you "
                        (source_badge(home.recommendations.source))
                    }
                    ul.grid data-source=(home.recommendations.source.as_str()) {
                        @for product in &recommended { (product_card(product, session)) }
                    }
                }
            }
            section aria-labelledby="new" {
                h2 #new { "In the shop" }
                ul.grid {
                    @for product in &listed.items { (product_card(product, session)) }
                }
                p { a href="/search" { "See all " (listed.total) " products" } }
            }
        },
    ))
}

/// Where the recommendations come from, said plainly: a fallback looks different.
fn source_badge(source: Source) -> Markup {
    let (label, fallback) = match source {
        Source::Personalized => ("personalized", false),
        Source::CoPurchase => ("bought together", false),
        Source::Trending => ("trending today", false),
        Source::Popular => ("popular", false),
        Source::Static => ("our picks", false),
        Source::FallbackCache => ("fallback: recently popular", true),
        Source::FallbackCatalog => ("fallback: newest products", true),
    };
    html! {
        span.source.fallback[fallback] title={ "source: " (source.as_str()) } {
            "source: " (label)
        }
    }
}

fn category_nav(categories: &[Category], current: Option<&str>) -> Markup {
    html! {
        @if !categories.is_empty() {
            nav aria-label="Categories" {
                ul.categories {
                    @for category in categories {
                        li {
                            a href={ "/categories/" (urlencode(&category.slug)) }
                                aria-current=[(current == Some(category.slug.as_str())).then_some("page")] {
                                (category.name)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /search?q=…&page=…`: the products matching a search (all of them without one).
pub async fn search(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Query(listing): Query<Listing>,
) -> Result<Markup, PageError> {
    let heading = match listing.q.as_deref().map(str::trim) {
        Some(q) if !q.is_empty() => format!("Results for “{q}”"),
        _ => "All products".to_owned(),
    };
    listing_page(&state, &visitor, listing, heading, "/search").await
}

/// `GET /categories/{slug}`: one category's products.
pub async fn category(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(slug): Path<String>,
    Query(mut listing): Query<Listing>,
) -> Result<Markup, PageError> {
    let categories = catalog::categories(&state.catalog).await?;
    let category = categories
        .iter()
        .find(|c| c.slug == slug)
        .ok_or(PageError::NotFound)?;
    listing.category = Some(slug.clone());
    let path = format!("/categories/{}", urlencode(&slug));
    listing_page(&state, &visitor, listing, category.name.clone(), &path).await
}

async fn listing_page(
    state: &AppState,
    visitor: &Visitor,
    listing: Listing,
    heading: String,
    path: &str,
) -> Result<Markup, PageError> {
    let (products, categories) = tokio::join!(
        catalog::products(&state.catalog, &listing),
        catalog::categories(&state.catalog),
    );
    let products = products.map_err(|error| match error.status() {
        // The catalog refuses a search it cannot take (too long, say): show nothing found.
        Some(status) if status.is_client_error() => PageError::BadForm(error.to_string()),
        _ => PageError::Upstream(error),
    })?;
    let categories = categories.unwrap_or_default();
    let page_link = |number: u32| {
        let q = listing.q.as_deref().map(|q| format!("q={}&", urlencode(q)));
        format!("{path}?{}page={number}", q.unwrap_or_default())
    };
    Ok(page(
        &heading,
        visitor.chrome(),
        html! {
            (category_nav(&categories, listing.category.as_deref()))
            h1 { (heading) }
            @if products.items.is_empty() {
                p { "Nothing found. Try another word, or " a href="/search" { "browse everything" } "." }
            } @else {
                p { (products.total) " products" }
                ul.grid {
                    @for product in &products.items { (product_card(product, &visitor.session)) }
                }
                nav.pager aria-label="Pages" {
                    @if products.page > 1 {
                        a href=(page_link(products.page - 1)) rel="prev" { "← Previous" }
                    }
                    span { "Page " (products.page) " of " (products.last_page()) }
                    @if products.page < products.last_page() {
                        a href=(page_link(products.page + 1)) rel="next" { "Next →" }
                    }
                }
            }
        },
    ))
}

/// `GET /products/{id}`: a product, and what is bought with it.
pub async fn product(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id: Uuid = id.parse().map_err(|_| PageError::NotFound)?;
    let (product, together) = tokio::join!(
        catalog::product(&state.catalog, &state.known_products, id),
        bought_together(&state, id),
    );
    let product = product?.ok_or(PageError::NotFound)?;
    let session = &visitor.session;
    Ok(page(
        &product.name,
        visitor.chrome(),
        html! {
            article.product {
                img src=(image_url(&product)) alt=(product.name) width="400" height="300";
                div {
                    p { a href={ "/categories/" (urlencode(&product.category.slug)) } { (product.category.name) } }
                    h1 { (product.name) }
                    p.price { (money(&product.price)) }
                    p { (product.description) }
                    p { @if product.stock > 0 { (product.stock) " in stock" } }
                    (add_to_cart(&product, session))
                }
            }
            @if let Some((source, products)) = together.filter(|(_, p)| !p.is_empty()) {
                section aria-labelledby="together" {
                    h2 #together { "Bought together " (source_badge(source)) }
                    ul.grid {
                        @for product in &products { (product_card(product, session)) }
                    }
                }
            }
        },
    ))
}

/// What customers bought with product `id`, if recommendations answers within its budget:
/// a garnish that never fails the page.
async fn bought_together(state: &AppState, id: Uuid) -> Option<(Source, Vec<Product>)> {
    let path = format!("/v1/recommendations?product_id={id}&limit={BOUGHT_TOGETHER}");
    let answer: Recommendations = shop_http::deadline::scope(
        Instant::now() + state.recommendations_budget,
        state.recommendations.get_json(&path),
    )
    .await
    .inspect_err(|error| tracing::info!(%error, "no bought-together recommendations"))
    .ok()?;
    let ids: Vec<Uuid> = answer.items.iter().map(|item| item.product_id).collect();
    let products = catalog::products_by_id(&state.catalog, &ids).await.ok()?;
    Some((answer.source, products))
}
