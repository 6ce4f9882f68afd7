//! What a shopper reads off the storefront's pages: a form's CSRF token, and the products
//! a page links to.
//!
//! The pages are parsed as a browser would (scraper, on html5ever), so the load test does
//! not depend on attribute order or quoting. Parsing is synchronous and keeps nothing
//! (`scraper::Html` is not `Send`): each function returns owned values.

use scraper::{ElementRef, Html};
use uuid::Uuid;

/// The CSRF token of the first form on `html` that posts to `action`: every form of the
/// shop carries the session's token in a hidden `csrf` field.
pub fn csrf_token(html: &str, action: &str) -> Option<String> {
    let page = Html::parse_document(html);
    forms(&page, action)
        .into_iter()
        .find_map(|form| field(form, "csrf"))
}

/// The CSRF token of the "Add to cart" form of product `product_id` on `html`; `None`
/// when the page has none (the product is sold out).
pub fn add_to_cart_token(html: &str, product_id: &str) -> Option<String> {
    let page = Html::parse_document(html);
    forms(&page, "/cart/add")
        .into_iter()
        .filter(|form| field(*form, "product_id").as_deref() == Some(product_id))
        .find_map(|form| field(form, "csrf"))
}

/// The product ids `html` links to (`/products/{id}`), in order, each once.
pub fn product_links(html: &str) -> Vec<String> {
    let page = Html::parse_document(html);
    let mut ids: Vec<String> = Vec::new();
    for link in elements(&page, "a") {
        let id = link
            .value()
            .attr("href")
            .and_then(|href| href.strip_prefix("/products/"))
            .and_then(|id| id.parse::<Uuid>().ok())
            .map(|id| id.to_string());
        if let Some(id) = id
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

/// Whether the page greets a signed-in customer (the header's "Hello, …").
pub fn signed_in(html: &str) -> bool {
    let page = Html::parse_document(html);
    elements(&page, "span")
        .into_iter()
        .any(|span| span.value().classes().any(|class| class == "who"))
}

/// Every element named `name`. Walking the tree by name keeps selector parsing (and its
/// error case) out of a load test whose selectors never change.
fn elements<'a>(page: &'a Html, name: &str) -> Vec<ElementRef<'a>> {
    page.root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|element| element.value().name() == name)
        .collect()
}

/// The forms of `page` that post to `action`.
fn forms<'a>(page: &'a Html, action: &str) -> Vec<ElementRef<'a>> {
    elements(page, "form")
        .into_iter()
        .filter(|form| {
            form.value()
                .attr("method")
                .is_some_and(|method| method.eq_ignore_ascii_case("post"))
                && form.value().attr("action") == Some(action)
        })
        .collect()
}

/// The value of the `input` named `name` inside `form`.
fn field(form: ElementRef<'_>, name: &str) -> Option<String> {
    form.descendants()
        .filter_map(ElementRef::wrap)
        .find(|input| input.value().name() == "input" && input.value().attr("name") == Some(name))
        .and_then(|input| input.value().attr("value"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0195f3c2-7a1b-7000-8000-000000000001";
    const B: &str = "0195f3c2-7a1b-7000-8000-000000000002";

    /// A page as the storefront draws it (maud): a signed-in header with the logout form,
    /// a product card that can be added, one that is sold out.
    fn product_page() -> String {
        format!(
            r#"<!DOCTYPE html><html lang="en"><head><title>Mug · Harbor Shop</title></head><body>
            <header class="top"><a class="brand" href="/">Harbor Shop</a>
            <form class="search" role="search" method="get" action="/search"><input type="search" name="q"></form>
            <nav><span class="who">Hello, Ann</span><a href="/orders">Orders</a>
            <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="tok-1"><button>Log out</button></form>
            <a class="cart-link" href="/cart">Cart <span class="badge">0</span></a></nav></header>
            <main id="main">
            <article class="product"><h1>Mug</h1>
            <form method="post" action="/cart/add"><input type="hidden" name="csrf" value="tok-1"><input type="hidden" name="product_id" value="{A}"><button>Add to cart</button></form>
            </article>
            <ul class="grid"><li class="card"><a href="/products/{B}"><h3>Pot</h3></a><p class="sold-out">Sold out</p></li>
            <li class="card"><a href="/products/{A}"><h3>Mug</h3></a></li>
            <li><a href="/products/not-a-product">odd</a></li></ul>
            </main></body></html>"#
        )
    }

    #[test]
    fn the_token_is_read_from_the_form_that_posts_to_the_action() {
        let page = product_page();
        assert_eq!(csrf_token(&page, "/logout").as_deref(), Some("tok-1"));
        assert_eq!(csrf_token(&page, "/cart/add").as_deref(), Some("tok-1"));
        assert_eq!(csrf_token(&page, "/checkout"), None, "no such form");
        assert_eq!(
            csrf_token(&page, "/search"),
            None,
            "a GET form has no token"
        );
    }

    #[test]
    fn a_product_can_be_added_only_through_its_own_form() {
        let page = product_page();
        assert_eq!(add_to_cart_token(&page, A).as_deref(), Some("tok-1"));
        assert_eq!(add_to_cart_token(&page, B), None, "sold out: no form");
    }

    #[test]
    fn product_links_are_ids_in_order_once_each() {
        assert_eq!(product_links(&product_page()), vec![B, A]);
        assert!(product_links("<p>nothing</p>").is_empty());
    }

    #[test]
    fn a_signed_in_page_greets_the_customer() {
        assert!(signed_in(&product_page()));
        let anonymous = r#"<nav><a href="/login">Log in</a><a href="/register">Register</a></nav>"#;
        assert!(!signed_in(anonymous));
    }
}
