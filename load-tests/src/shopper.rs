//! The shopper: a customer of the web shop, as Online Boutique's load generator models one.
//!
//! Each goose user registers an account of its own on start (a unique email), then picks
//! its next step by weight: browse a product 10, view the cart 3, add to the cart 2, the
//! home page 1, check out 1 (Online Boutique's weights, without its currency switch),
//! plus order history 1 and signing out and in again 1. It works the pages as a browser
//! without JavaScript does: it follows redirects, keeps its cookies (goose gives every
//! user a cookie jar of its own), and posts each form with the CSRF token read from the
//! page the form is on. The product ids come from the links of the pages it reads.
//!
//! A step that lands on the wrong page (the login page instead of the order history, a
//! checkout that shows no order) is a failure, like any answer other than 2xx after its
//! redirects.

use crate::page;
use goose::goose::GooseResponse;
use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use rand::seq::IndexedRandom;
use std::time::Duration;
use uuid::Uuid;

/// The password of every shopper's account (each account has its own email).
const PASSWORD: &str = "load-test shopper password";
/// How many product ids a shopper remembers from the pages it read.
const KNOWN_PRODUCTS: usize = 200;
/// A shopper's pause between two steps: a person reads a page before the next click.
const THINK_TIME: (Duration, Duration) = (Duration::from_millis(100), Duration::from_millis(900));

/// What a shopper remembers between steps (its cookies are in its client).
#[derive(Debug, Clone)]
struct Shopper {
    email: String,
    products: Vec<String>,
}

impl Shopper {
    fn learn(&mut self, html: &str) {
        for id in page::product_links(html) {
            if self.products.len() < KNOWN_PRODUCTS && !self.products.contains(&id) {
                self.products.push(id);
            }
        }
    }

    fn pick_product(&self) -> Option<String> {
        self.products.choose(&mut rand::rng()).cloned()
    }
}

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("Shopper")
        .set_wait_time(THINK_TIME.0, THINK_TIME.1)?
        .register_transaction(transaction!(register).set_name("register").set_on_start())
        .register_transaction(
            transaction!(browse_product)
                .set_name("browse product")
                .set_weight(10)?,
        )
        .register_transaction(
            transaction!(view_cart)
                .set_name("view cart")
                .set_weight(3)?,
        )
        .register_transaction(
            transaction!(add_to_cart)
                .set_name("add to cart")
                .set_weight(2)?,
        )
        .register_transaction(transaction!(home).set_name("home").set_weight(1)?)
        .register_transaction(transaction!(checkout).set_name("checkout").set_weight(1)?)
        .register_transaction(
            transaction!(order_history)
                .set_name("order history")
                .set_weight(1)?,
        )
        .register_transaction(transaction!(sign_in).set_name("sign in").set_weight(1)?))
}

/// A page the shopper reached: the request's metric, where it ended after redirects, and
/// its HTML.
struct Visited {
    request: GooseRequestMetric,
    path: String,
    body: String,
}

/// `GET path`, named `name` in the metrics.
async fn visit(
    user: &mut GooseUser,
    path: &str,
    name: &str,
) -> Result<Visited, Box<TransactionError>> {
    let answer = user.get_named(path, name).await?;
    read(user, answer).await
}

/// Posts a form to `action`, following the redirect.
async fn submit(
    user: &mut GooseUser,
    action: &str,
    fields: &[(&str, &str)],
) -> Result<Visited, Box<TransactionError>> {
    let builder = user
        .get_request_builder(&GooseMethod::Post, action)?
        .form(fields);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(action)
        .set_request_builder(builder)
        .build();
    let answer = user.request(request).await?;
    read(user, answer).await
}

/// The page of an answer; a failed request (already counted) ends the step.
async fn read(
    user: &mut GooseUser,
    answer: GooseResponse,
) -> Result<Visited, Box<TransactionError>> {
    let GooseResponse {
        mut request,
        response,
    } = answer;
    let response = match response {
        Ok(response) if request.success => response,
        _ => {
            return Err(Box::new(TransactionError::RequestFailed {
                raw_request: Box::new(request),
            }));
        }
    };
    let path = response.url().path().to_owned();
    match response.text().await {
        Ok(body) => Ok(Visited {
            request,
            path,
            body,
        }),
        Err(error) => {
            let tag = format!("the page could not be read: {error}");
            fail(user, &mut request, &tag, None)
        }
    }
}

/// Marks `request` failed with `tag`, which ends the step.
fn fail<T>(
    user: &mut GooseUser,
    request: &mut GooseRequestMetric,
    tag: &str,
    body: Option<&str>,
) -> Result<T, Box<TransactionError>> {
    match user.set_failure(tag, request, None, body) {
        Err(error) => Err(error),
        // Goose always answers `Err`; were it not to, the step still fails.
        Ok(()) => Err(Box::new(TransactionError::Custom(tag.to_owned()))),
    }
}

/// Fails the step, naming `what` went wrong, unless `holds`.
fn expect(
    user: &mut GooseUser,
    visited: &mut Visited,
    holds: bool,
    what: &str,
) -> TransactionResult {
    if holds {
        Ok(())
    } else {
        let tag = format!("{what} (ended on {})", visited.path);
        fail(user, &mut visited.request, &tag, Some(&visited.body))
    }
}

/// The CSRF token of the form posting to `action` on `visited`, or the step fails.
fn token(
    user: &mut GooseUser,
    visited: &mut Visited,
    action: &str,
) -> Result<String, Box<TransactionError>> {
    match page::csrf_token(&visited.body, action) {
        Some(token) => Ok(token),
        None => {
            let tag = format!(
                "no form posting to {action} with a CSRF token on {}",
                visited.path
            );
            fail(user, &mut visited.request, &tag, Some(&visited.body))
        }
    }
}

fn shopper(user: &GooseUser) -> Result<&Shopper, Box<TransactionError>> {
    user.get_session_data::<Shopper>().ok_or_else(|| {
        Box::new(TransactionError::Custom(
            "the shopper has no account: registering failed".to_owned(),
        ))
    })
}

/// On start: a new account, then the home page and the first page of all products, for
/// product ids to browse.
async fn register(user: &mut GooseUser) -> TransactionResult {
    let mut form = visit(user, "/register", "/register").await?;
    let csrf = token(user, &mut form, "/register")?;
    let email = format!("shopper-{}@example.com", Uuid::new_v4().simple());
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "Load Shopper"),
        ("email", email.as_str()),
        ("password", PASSWORD),
    ];
    let mut home = submit(user, "/register", &fields).await?;
    let arrived = home.path == "/" && page::signed_in(&home.body);
    expect(
        user,
        &mut home,
        arrived,
        "registered, yet not signed in on the home page",
    )?;
    let mut shopper = Shopper {
        email,
        products: Vec::new(),
    };
    shopper.learn(&home.body);
    let mut everything = visit(user, "/search", "/search").await?;
    shopper.learn(&everything.body);
    let found = !shopper.products.is_empty();
    expect(
        user,
        &mut everything,
        found,
        "no product links on the home or search page",
    )?;
    user.set_session_data(shopper);
    Ok(())
}

async fn home(user: &mut GooseUser) -> TransactionResult {
    let mut home = visit(user, "/", "/").await?;
    let greeted = page::signed_in(&home.body);
    expect(
        user,
        &mut home,
        greeted,
        "the home page does not greet the shopper",
    )?;
    if let Some(shopper) = user.get_session_data_mut::<Shopper>() {
        shopper.learn(&home.body);
    }
    Ok(())
}

/// A product's page, and what it shows bought with it.
async fn browse_product(user: &mut GooseUser) -> TransactionResult {
    let Some(id) = shopper(user)?.pick_product() else {
        return Ok(());
    };
    let product = visit(user, &format!("/products/{id}"), "/products/{id}").await?;
    if let Some(shopper) = user.get_session_data_mut::<Shopper>() {
        shopper.learn(&product.body);
    }
    Ok(())
}

async fn view_cart(user: &mut GooseUser) -> TransactionResult {
    let mut cart = visit(user, "/cart", "/cart").await?;
    let shown = cart.path == "/cart";
    expect(user, &mut cart, shown, "the cart page did not show")
}

/// A product's page, then its "Add to cart" (one: stock lasts longer). A sold-out product
/// has no such form, and the shopper moves on.
async fn add_to_cart(user: &mut GooseUser) -> TransactionResult {
    let Some(id) = shopper(user)?.pick_product() else {
        return Ok(());
    };
    let mut product = visit(user, &format!("/products/{id}"), "/products/{id}").await?;
    let Some(csrf) = page::add_to_cart_token(&product.body, &id) else {
        let sold_out = product.body.contains("Sold out");
        return expect(
            user,
            &mut product,
            sold_out,
            "no Add to cart form, yet not sold out",
        );
    };
    let fields = [
        ("csrf", csrf.as_str()),
        ("product_id", id.as_str()),
        ("quantity", "1"),
    ];
    let mut cart = submit(user, "/cart/add", &fields).await?;
    let in_cart = cart.path == "/cart" && page::product_links(&cart.body).contains(&id);
    expect(user, &mut cart, in_cart, "the product is not in the cart")
}

/// As Online Boutique's checkout: add a product, then place the cart's order and land on
/// the order's page (confirmed asynchronously: it may still say pending).
async fn checkout(user: &mut GooseUser) -> TransactionResult {
    add_to_cart(user).await?;
    let mut cart = visit(user, "/cart", "/cart").await?;
    let Some(csrf) = page::csrf_token(&cart.body, "/checkout") else {
        // Everything it tried to add was sold out.
        let empty = cart.body.contains("Your cart is empty");
        return expect(
            user,
            &mut cart,
            empty,
            "a cart with products but no checkout form",
        );
    };
    let mut order = submit(user, "/checkout", &[("csrf", csrf.as_str())]).await?;
    let placed = order
        .path
        .strip_prefix("/orders/")
        .is_some_and(|id| id.parse::<Uuid>().is_ok());
    expect(
        user,
        &mut order,
        placed,
        "checking out did not show the order",
    )
}

async fn order_history(user: &mut GooseUser) -> TransactionResult {
    let mut orders = visit(user, "/orders", "/orders").await?;
    let shown = orders.path == "/orders";
    expect(user, &mut orders, shown, "the order history did not show")
}

/// Log out, then log in again with the shopper's account.
async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    let email = shopper(user)?.email.clone();
    let mut login = visit(user, "/login", "/login").await?;
    let csrf = token(user, &mut login, "/logout")?;
    let mut out = submit(user, "/logout", &[("csrf", csrf.as_str())]).await?;
    let signed_out = out.path == "/" && !page::signed_in(&out.body);
    expect(
        user,
        &mut out,
        signed_out,
        "still signed in after logging out",
    )?;
    let mut login = visit(user, "/login", "/login").await?;
    let csrf = token(user, &mut login, "/login")?;
    let fields = [
        ("csrf", csrf.as_str()),
        ("email", email.as_str()),
        ("password", PASSWORD),
    ];
    let mut home = submit(user, "/login", &fields).await?;
    let signed_in = home.path == "/" && page::signed_in(&home.body);
    expect(user, &mut home, signed_in, "not signed in after logging in")
}
