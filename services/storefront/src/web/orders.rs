//! The cart (a signed cookie), checkout, an order's page, and the order history.

use crate::actions::checkout;
use crate::app::AppState;
use crate::web::account::with_cookie;
use crate::web::catalog::{self, Money, Page, Product};
use crate::web::error::signed_out_on_401;
use crate::web::form::Form;
use crate::web::layout::{csrf_field, image_url, money, page, page_with_head};
use crate::web::session::{Account, CART_COOKIE, Cart};
use crate::web::{PageError, SESSION_MAX_AGE_SECONDS, Visitor};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::Method;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

/// How often a pending order's page reloads itself, in seconds.
const REFRESH_SECONDS: u32 = 2;

#[derive(Debug, Deserialize)]
pub struct AddToCart {
    product_id: Uuid,
    #[serde(default = "one")]
    quantity: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
pub struct SetQuantity {
    product_id: Uuid,
    quantity: u32,
}

/// The cart cookie's new value, and a redirect to `to`.
fn cart_saved(state: &AppState, cart: &Cart, to: &str) -> Response {
    let cookie = state
        .cookies
        .write(CART_COOKIE, cart, SESSION_MAX_AGE_SECONDS);
    with_cookie(Redirect::to(to).into_response(), &cookie)
}

/// `POST /cart/add`: one more of a product (or `quantity` more).
pub async fn add(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Form(form): Form<AddToCart>,
) -> Result<Response, PageError> {
    // Only what the catalog has goes in the cart.
    catalog::product(&state.catalog, &state.known_products, form.product_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let mut cart = visitor.cart;
    cart.add(form.product_id, form.quantity.max(1));
    Ok(cart_saved(&state, &cart, "/cart"))
}

/// `POST /cart/update`: a line's new quantity (0 removes it).
pub async fn update(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Form(form): Form<SetQuantity>,
) -> Response {
    let mut cart = visitor.cart;
    cart.set(form.product_id, form.quantity);
    cart_saved(&state, &cart, "/cart")
}

/// `GET /cart`.
pub async fn cart(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
) -> Result<Markup, PageError> {
    let ids: Vec<Uuid> = visitor.cart.lines.iter().map(|l| l.product_id).collect();
    let products = catalog::products_by_id(&state.catalog, &ids).await?;
    let lines: Vec<(&Product, u32)> = visitor
        .cart
        .lines
        .iter()
        .filter_map(|line| {
            let product = products.iter().find(|p| p.id == line.product_id)?;
            Some((product, line.quantity))
        })
        .collect();
    let total = lines.first().map(|(first, _)| Money {
        amount_minor: lines
            .iter()
            .map(|(p, quantity)| p.price.amount_minor * i64::from(*quantity))
            .sum(),
        currency: first.price.currency.clone(),
    });
    let session = &visitor.session;
    Ok(page(
        "Cart",
        visitor.chrome(),
        html! {
            h1 { "Your cart" }
            @if lines.is_empty() {
                p { "Your cart is empty. " a href="/" { "Find something you like" } "." }
            } @else {
                table {
                    caption.visually-hidden { "Products in your cart" }
                    thead { tr {
                        th scope="col" { "Product" }
                        th.number scope="col" { "Price" }
                        th scope="col" { "Quantity" }
                        th.number scope="col" { "Subtotal" }
                    } }
                    tbody {
                        @for (product, quantity) in &lines {
                            tr {
                                td {
                                    img src=(image_url(product)) alt="" width="64" height="48";
                                    " "
                                    a href={ "/products/" (product.id) } { (product.name) }
                                }
                                td.number { (money(&product.price)) }
                                td {
                                    form method="post" action="/cart/update" {
                                        (csrf_field(session))
                                        input type="hidden" name="product_id" value=(product.id);
                                        label.visually-hidden for={ "qty-" (product.id) } { "Quantity of " (product.name) }
                                        input id={ "qty-" (product.id) } type="number" name="quantity"
                                            min="0" max="99" value=(quantity);
                                        " "
                                        button.secondary type="submit" { "Update" }
                                    }
                                }
                                td.number {
                                    (money(&Money {
                                        amount_minor: product.price.amount_minor * i64::from(*quantity),
                                        currency: product.price.currency.clone(),
                                    }))
                                }
                            }
                        }
                    }
                    @if let Some(total) = &total {
                        tfoot { tr {
                            th scope="row" colspan="3" { "Total" }
                            td.number { strong { (money(total)) } }
                        } }
                    }
                }
                @if session.account.is_some() {
                    form method="post" action="/checkout" {
                        (csrf_field(session))
                        p { button type="submit" { "Place order" } }
                    }
                } @else {
                    p { a href="/login" { "Log in" } " or " a href="/register" { "register" } " to check out." }
                }
            }
        },
    ))
}

fn signed_in(visitor: &Visitor) -> Result<&Account, PageError> {
    visitor.session.account.as_ref().ok_or(PageError::SignIn)
}

/// `POST /checkout`: places the cart's order under the cart's idempotency key, empties the
/// cart, and shows the order.
pub async fn checkout(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Result<Response, PageError> {
    let account = signed_in(&visitor)?;
    if visitor.cart.lines.is_empty() {
        return Ok(Redirect::to("/cart").into_response());
    }
    let order_id = checkout::place_order(&state, account, &visitor.cart).await?;
    let emptied = state.cookies.remove(CART_COOKIE);
    let to = format!("/orders/{order_id}");
    Ok(with_cookie(Redirect::to(&to).into_response(), &emptied))
}

#[derive(Debug, Deserialize)]
struct Order {
    id: Uuid,
    status: String,
    #[serde(default)]
    status_reason: Option<String>,
    items: Vec<OrderLine>,
    total: Money,
    created_at: String,
}

#[derive(Debug, Deserialize)]
struct OrderLine {
    product_id: Uuid,
    name: String,
    unit_price: Money,
    quantity: u32,
    line_total: Money,
}

fn status_badge(status: &str) -> Markup {
    html! { span class={ "status " (status) } { (status) } }
}

/// `GET /orders/{id}`: one of the customer's orders; while pending, the page reloads itself.
pub async fn order(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let account = signed_in(&visitor)?;
    let id: Uuid = id.parse().map_err(|_| PageError::NotFound)?;
    let response = state
        .orders
        .send(
            state
                .orders
                .request(Method::GET, &format!("/v1/orders/{id}"))
                .bearer_auth(&account.access_token),
        )
        .await
        .map_err(signed_out_on_401)?;
    let order: Order = response
        .json()
        .await
        .map_err(|error| PageError::BadUpstreamAnswer(error.to_string()))?;
    let pending = order.status == "pending";
    let head = html! {
        @if pending { meta http-equiv="refresh" content=(REFRESH_SECONDS); }
    };
    Ok(page_with_head(
        "Your order",
        visitor.chrome(),
        head,
        html! {
            h1 { "Order " code { (order.id.simple().to_string()[..8]) } }
            p role="status" aria-live="polite" {
                "Status: " (status_badge(&order.status))
                @if pending { " — we are checking the stock; this page updates itself." }
                @if let Some(reason) = &order.status_reason { " — " (reason) }
            }
            table {
                caption.visually-hidden { "What you ordered" }
                thead { tr {
                    th scope="col" { "Product" }
                    th.number scope="col" { "Price" }
                    th.number scope="col" { "Quantity" }
                    th.number scope="col" { "Subtotal" }
                } }
                tbody {
                    @for line in &order.items {
                        tr {
                            td { a href={ "/products/" (line.product_id) } { (line.name) } }
                            td.number { (money(&line.unit_price)) }
                            td.number { (line.quantity) }
                            td.number { (money(&line.line_total)) }
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" colspan="3" { "Total" }
                    td.number { strong { (money(&order.total)) } }
                } }
            }
            p { a href="/orders" { "All your orders" } }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    page: Option<u32>,
}

/// `GET /orders`: the customer's orders, newest first.
pub async fn history(
    State(state): State<AppState>,
    Extension(visitor): Extension<Visitor>,
    Query(query): Query<HistoryQuery>,
) -> Result<Markup, PageError> {
    let account = signed_in(&visitor)?;
    let number = query.page.unwrap_or(1).max(1);
    let path = format!("/v1/orders?page={number}&per_page=20");
    let orders: Page<Order> = state
        .orders
        .send(
            state
                .orders
                .request(Method::GET, &path)
                .bearer_auth(&account.access_token),
        )
        .await
        .map_err(signed_out_on_401)?
        .json()
        .await
        .map_err(|error| PageError::BadUpstreamAnswer(error.to_string()))?;
    Ok(page(
        "Your orders",
        visitor.chrome(),
        html! {
            h1 { "Your orders" }
            @if orders.items.is_empty() {
                p { "No orders yet." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Order" }
                        th scope="col" { "Placed" }
                        th scope="col" { "Status" }
                        th.number scope="col" { "Total" }
                    } }
                    tbody {
                        @for order in &orders.items {
                            tr {
                                td { a href={ "/orders/" (order.id) } { code { (order.id.simple().to_string()[..8]) } } }
                                td { (order.created_at.get(..16).unwrap_or(&order.created_at).replace('T', " ")) }
                                td { (status_badge(&order.status)) }
                                td.number { (money(&order.total)) }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages" {
                    @if orders.page > 1 { a href={ "/orders?page=" (orders.page - 1) } rel="prev" { "← Newer" } }
                    @if orders.page < orders.last_page() { a href={ "/orders?page=" (orders.page + 1) } rel="next" { "Older →" } }
                }
            }
        },
    ))
}
