//! The page every view shares, and the pieces several draw: product cards, prices.
//!
//! maud escapes every `(value)` it writes, so what a customer or an admin typed is shown
//! as text, never run as markup; nothing here uses `PreEscaped` on data.

use crate::web::catalog::{Money, Product};
use crate::web::session::Session;
use maud::{DOCTYPE, Markup, html};

/// What the layout needs to know of the visitor.
#[derive(Debug, Clone, Copy)]
pub struct Chrome<'a> {
    pub session: &'a Session,
    pub cart_count: u32,
}

/// A complete page: header with search, account and cart, then `content`.
pub fn page(title: &str, chrome: Chrome<'_>, content: Markup) -> Markup {
    page_with_head(title, chrome, html! {}, content)
}

/// [`page`] with extra elements in `<head>` (a refresh, for one).
pub fn page_with_head(title: &str, chrome: Chrome<'_>, head: Markup, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Harbor Shop" }
                link rel="stylesheet" href="/assets/shop.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                (head)
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { span aria-hidden="true" { "⚓" } " Harbor Shop" }
                    form.search role="search" method="get" action="/search" {
                        label.visually-hidden for="q" { "Search products" }
                        input #q type="search" name="q" placeholder="Search products";
                        button type="submit" { "Search" }
                    }
                    nav aria-label="Account" {
                        @if let Some(account) = &chrome.session.account {
                            span.who { "Hello, " (account.name) }
                            a href="/orders" { "Orders" }
                            @if account.is_admin() { a href="/ops" { "Ops" } }
                            form.inline method="post" action="/logout" {
                                (csrf_field(chrome.session))
                                button.link type="submit" { "Log out" }
                            }
                        } @else {
                            a href="/login" { "Log in" }
                            a href="/register" { "Register" }
                        }
                        a.cart-link href="/cart" {
                            "Cart "
                            span.badge aria-label={ (chrome.cart_count) " items" } { (chrome.cart_count) }
                        }
                    }
                }
                main #main { (content) }
                footer { "Harbor Shop — a teaching shop. Nothing here is for sale." }
            }
        }
    }
}

/// The hidden field that proves a form came from one of our pages (see `web::form`).
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A product's picture, drawn by the storefront itself.
pub fn image_url(product: &Product) -> String {
    format!("/images/products/{}.svg", urlencode(&product.sku))
}

/// A product in a grid: picture, name, price, and a button that puts one in the cart.
pub fn product_card(product: &Product, session: &Session) -> Markup {
    html! {
        li.card {
            a href={ "/products/" (product.id) } {
                img src=(image_url(product)) alt=(product.name) width="240" height="180";
                h3 { (product.name) }
            }
            p.price { (money(&product.price)) }
            (add_to_cart(product, session))
        }
    }
}

pub fn add_to_cart(product: &Product, session: &Session) -> Markup {
    html! {
        @if product.stock > 0 {
            form method="post" action="/cart/add" {
                (csrf_field(session))
                input type="hidden" name="product_id" value=(product.id);
                button type="submit" aria-label={ "Add " (product.name) " to the cart" } { "Add to cart" }
            }
        } @else {
            p.sold-out { "Sold out" }
        }
    }
}

/// A price as a shopper reads it: `€12.50`, or `12.50 CHF` for a currency without a sign.
pub fn money(money: &Money) -> String {
    let units = money.amount_minor / 100;
    let cents = (money.amount_minor % 100).abs();
    let sign = if money.amount_minor < 0 { "-" } else { "" };
    let units = units.abs();
    match money.currency.as_str() {
        "EUR" => format!("{sign}€{units}.{cents:02}"),
        "USD" => format!("{sign}${units}.{cents:02}"),
        "GBP" => format!("{sign}£{units}.{cents:02}"),
        other => format!("{sign}{units}.{cents:02} {other}"),
    }
}

/// Percent-encodes a path segment or query value.
pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_like_prices() {
        let eur = |amount_minor| Money {
            amount_minor,
            currency: "EUR".into(),
        };
        assert_eq!(money(&eur(1250)), "€12.50");
        assert_eq!(money(&eur(5)), "€0.05");
        assert_eq!(money(&eur(-105)), "-€1.05");
        let chf = Money {
            amount_minor: 100,
            currency: "CHF".into(),
        };
        assert_eq!(money(&chf), "1.00 CHF");
    }
}
