//! The web shop's pages, driven as a browser without JavaScript would: follow links, post
//! forms with their hidden CSRF token, keep cookies.

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, closed_url, serve, spawn_full_shop, spawn_storefront,
};
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A browser without JavaScript: a cookie jar, no automatic redirects.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// What a page answered.
struct Answer {
    status: u16,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Browser {
    fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            base,
            http,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("request");
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().expect("ascii");
            let pair = set.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Answer {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().expect("ascii").to_owned()),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Posts `fields` as a form, as given (no token added).
    async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// Posts a form found on `page` with its CSRF token, and follows the redirect, if any.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Answer {
        let form = self.get(page).await;
        let token = csrf_token(&form.body);
        let mut fields = fields.to_vec();
        fields.push(("csrf", &token));
        let answer = self.post_raw(action, &fields).await;
        match (answer.status, &answer.location) {
            (303, Some(location)) => {
                let location = location.clone();
                self.get(&location).await
            }
            _ => answer,
        }
    }
}

/// The CSRF token in a page's forms.
fn csrf_token(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    let end = html[start..].find('"').expect("end of the token");
    html[start..start + end].to_owned()
}

/// The product ids a page links to, in order, once each.
fn product_links(html: &str) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for part in html.split(r#"href="/products/"#).skip(1) {
        if let Some(id) = part.get(..36).and_then(|id| id.parse().ok())
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

async fn register(browser: &mut Browser, name: &str) -> Answer {
    let email = format!("{}@example.com", Uuid::new_v4().simple());
    browser
        .submit(
            "/register",
            "/register",
            &[
                ("name", name),
                ("email", &email),
                ("password", "correct horse battery"),
            ],
        )
        .await
}

#[tokio::test]
async fn a_customer_registers_searches_fills_the_cart_checks_out_and_sees_the_order_confirmed() {
    let shop = spawn_full_shop().await;
    let mut alice = Browser::new(shop.storefront.base_url());

    let home = register(&mut alice, "Alice").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains("Hello, Alice"),
        "signed in on the home page"
    );

    let results = alice.get("/search?q=tea").await;
    assert_eq!(results.status, 200);
    let found = product_links(&results.body);
    assert!(found.len() >= 2, "a search for tea finds teas: {found:?}");
    for id in &found[..2] {
        let added = alice
            .submit(
                &format!("/products/{id}"),
                "/cart/add",
                &[("product_id", &id.to_string())],
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
    }
    let cart = alice.get("/cart").await;
    assert_eq!(
        product_links(&cart.body)[..2],
        found[..2],
        "both products in the cart"
    );

    let token = csrf_token(&cart.body);
    let placed = alice.post_raw("/checkout", &[("csrf", &token)]).await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let order_path = placed.location.expect("the order's page");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut order = alice.get(&order_path).await;
    while order.body.contains(r#"class="status pending""#) && Instant::now() < deadline {
        assert!(
            order.body.contains(r#"http-equiv="refresh""#),
            "a pending order reloads"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        order = alice.get(&order_path).await;
    }
    assert!(
        order.body.contains(r#"class="status confirmed""#),
        "the order is confirmed: {}",
        order.body
    );
    assert!(
        !order.body.contains(r#"http-equiv="refresh""#),
        "and stops reloading"
    );
    assert!(alice.get("/cart").await.body.contains("Your cart is empty"));
    assert!(alice.get("/orders").await.body.contains(&order_path));

    // Another customer cannot see it.
    let mut bob = Browser::new(shop.storefront.base_url());
    register(&mut bob, "Bob").await;
    assert_eq!(bob.get(&order_path).await.status, 404);
    // Nor can a visitor who is not signed in: off to the login page.
    let mut stranger = Browser::new(shop.storefront.base_url());
    let answer = stranger.get(&order_path).await;
    assert_eq!(
        (answer.status, answer.location.as_deref()),
        (303, Some("/login"))
    );

    // Logging out forgets the account.
    let out = alice.submit("/", "/logout", &[]).await;
    assert!(out.body.contains("Log in") && !out.body.contains("Hello, Alice"));
}

#[tokio::test]
async fn a_form_post_without_the_sessions_csrf_token_is_refused() {
    let storefront = spawn_storefront(vec![("CATALOG_URL", closed_url().await)]).await;
    let mut browser = Browser::new(storefront.base_url());
    let product = Uuid::new_v4().to_string();

    let missing = browser
        .post_raw("/cart/add", &[("product_id", &product)])
        .await;
    assert_eq!(missing.status, 403);
    let page = browser.get("/login").await;
    let token = csrf_token(&page.body);
    let other = Browser::new(storefront.base_url()).get("/login").await;
    let wrong = browser
        .post_raw(
            "/cart/add",
            &[("product_id", &product), ("csrf", &csrf_token(&other.body))],
        )
        .await;
    assert_eq!(wrong.status, 403, "another session's token");
    let login = browser
        .post_raw("/login", &[("email", "a@b.c"), ("password", "x")])
        .await;
    assert_eq!(login.status, 403);

    // With the token the post gets through, to the (unreachable) catalog.
    let right = browser
        .post_raw("/cart/add", &[("product_id", &product), ("csrf", &token)])
        .await;
    assert_eq!(right.status, 503);
}

fn product(id: Uuid, name: &str) -> Value {
    json!({
        "id": id, "sku": "XSS-1", "name": name, "description": "<b>bold</b> claims",
        "category": {"id": Uuid::nil(), "slug": "misc", "name": "Misc"},
        "price": {"amount_minor": 1250, "currency": "EUR"}, "stock": 3,
        "image_url": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
    })
}

#[tokio::test]
async fn a_product_name_with_markup_is_shown_as_text_under_a_strict_policy() {
    let id = Uuid::new_v4();
    let name = "<script>alert('x')</script> Mug";
    let listed = json!({"items": [product(id, name)], "page": 1, "per_page": 12, "total": 1});
    let one = product(id, name);
    let catalog = serve(
        Router::new()
            .route(
                "/v1/products",
                get(move || async move { axum::Json(listed) }),
            )
            .route(
                "/v1/products/{id}",
                get(move || async move { axum::Json(one) }),
            ),
    )
    .await;
    let storefront = spawn_storefront(vec![
        ("CATALOG_URL", catalog),
        ("RECOMMENDATIONS_URL", closed_url().await),
    ])
    .await;
    let mut browser = Browser::new(storefront.base_url());

    for path in [
        format!("/products/{id}"),
        "/".to_owned(),
        "/search".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(!page.body.contains("<script"), "{path} runs no script");
        assert!(
            page.body
                .contains("&lt;script&gt;alert('x')&lt;/script&gt; Mug"),
            "{path}"
        );
        let policy = page.headers["content-security-policy"]
            .to_str()
            .expect("ascii");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert_eq!(page.headers["referrer-policy"], "same-origin");
        assert_eq!(page.headers["cache-control"], "no-store");
    }
    let missing = browser.get("/products/not-an-id").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let product_page = browser.get(&format!("/products/{id}")).await;
    assert!(product_page.body.contains("&lt;b&gt;bold&lt;/b&gt; claims"));

    // The session cookie a new visitor gets is out of scripts' and other sites' reach.
    let fresh = Browser::new(storefront.base_url()).get("/").await;
    let cookie = fresh.headers["set-cookie"].to_str().expect("ascii");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} has {flag}");
    }
    let image = browser.get("/images/products/XSS-1.svg").await;
    assert_eq!(image.headers["content-type"], "image/svg+xml");
    assert!(image.body.contains("XSS-1"));
}

#[tokio::test]
async fn the_home_page_renders_with_a_fallback_when_recommendations_is_down() {
    let id = Uuid::new_v4();
    let listed =
        json!({"items": [product(id, "Harbour Mug")], "page": 1, "per_page": 12, "total": 1});
    let catalog = serve(Router::new().route(
        "/v1/products",
        get(move || async move { axum::Json(listed) }),
    ))
    .await;
    let storefront = spawn_storefront(vec![
        ("CATALOG_URL", catalog),
        ("RECOMMENDATIONS_URL", closed_url().await),
    ])
    .await;
    let home = Browser::new(storefront.base_url()).get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains(r#"data-source="fallback-catalog""#),
        "{}",
        home.body
    );
    assert!(home.body.contains("fallback: newest products"));
    assert!(home.body.contains("Harbour Mug"));
}

#[tokio::test]
async fn the_ops_panel_is_for_admins_only_and_shows_every_service() {
    let shop = spawn_full_shop().await;
    let mut stranger = Browser::new(shop.storefront.base_url());
    let answer = stranger.get("/ops").await;
    assert_eq!(
        (answer.status, answer.location.as_deref()),
        (303, Some("/login"))
    );
    let mut customer = Browser::new(shop.storefront.base_url());
    register(&mut customer, "Carol").await;
    assert_eq!(customer.get("/ops").await.status, 404);
    // Every other ops page and form too, for a customer (404) and a stranger (to log in).
    for (browser, form_page, expected) in
        [(&mut customer, "/", 404), (&mut stranger, "/login", 303)]
    {
        let token = csrf_token(&browser.get(form_page).await.body);
        let fault = [
            ("route_pattern", "/v1/products"),
            ("error_rate", "1"),
            ("csrf", &token),
        ];
        for action in ["/ops/faults/catalog", "/ops/faults/storefront"] {
            let injected = browser.post_raw(action, &fault).await;
            assert_eq!(injected.status, expected, "{action}: {}", injected.body);
        }
        let cleared = browser
            .post_raw("/ops/faults/catalog/clear", &[("csrf", &token)])
            .await;
        assert_eq!(cleared.status, expected, "clear: {}", cleared.body);
        let trace = browser.get("/ops/trace?request_id=abc").await;
        assert_eq!(trace.status, expected, "trace");
    }

    let mut admin = Browser::new(shop.storefront.base_url());
    let home = admin
        .submit(
            "/login",
            "/login",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert!(
        home.body.contains(r#"href="/ops""#),
        "an admin sees the way in"
    );
    let panel = admin.get("/ops").await;
    assert_eq!(panel.status, 200, "{}", panel.body);
    for service in ["users", "catalog", "orders", "recommendations"] {
        assert!(
            panel
                .body
                .contains(&format!("<th scope=\"row\">{service}</th>")),
            "{service}"
        );
    }
    assert!(!panel.body.contains("unreachable"), "every service answers");
    // The home page just served shows up among the sources.
    assert!(
        panel
            .body
            .contains("Recommendations served in the last minute")
    );
    assert!(!panel.body.contains("None in the last"), "{}", panel.body);
    // ... and which version of the ranking served it (a canary's split shows here).
    assert!(
        panel
            .body
            .contains("Recommendations by ranking version in the last minute"),
    );
    assert!(
        panel.body.contains("<tr><td>v1</td>"),
        "the home page's answer came from v1: {}",
        panel.body
    );

    // Fault injection, on and off again.
    let panel = admin
        .submit(
            "/ops",
            "/ops/faults/catalog",
            &[
                ("route_pattern", "/v1/categories"),
                ("latency_ms", ""),
                ("error_rate", "1"),
            ],
        )
        .await;
    assert_eq!(panel.status, 200, "{}", panel.body);
    assert!(
        panel
            .body
            .contains("&quot;route_pattern&quot;:&quot;/v1/categories&quot;"),
        "{}",
        panel.body
    );
    let panel = admin.submit("/ops", "/ops/faults/catalog/clear", &[]).await;
    assert!(
        !panel.body.contains("&quot;route_pattern&quot;"),
        "{}",
        panel.body
    );

    // The storefront's own faults, from the same panel.
    assert!(panel.body.contains("<h3>storefront</h3>"), "{}", panel.body);
    let panel = admin
        .submit(
            "/ops",
            "/ops/faults/storefront",
            &[("route_pattern", "/api/products"), ("error_rate", "1")],
        )
        .await;
    assert!(
        panel
            .body
            .contains("&quot;route_pattern&quot;:&quot;/api/products&quot;"),
        "{}",
        panel.body
    );
    assert_eq!(shop.storefront.get("/api/products").await.status(), 503);
    admin
        .submit("/ops", "/ops/faults/storefront/clear", &[])
        .await;
    assert_eq!(shop.storefront.get("/api/products").await.status(), 200);

    let trace = admin.get("/ops/trace?request_id=abc").await;
    assert_eq!(trace.status, 303);
    assert!(
        trace
            .location
            .expect("to Jaeger")
            .contains("/search?service=storefront&tags=")
    );
}

#[tokio::test]
async fn with_users_down_the_shop_still_shows_the_catalog_logged_out() {
    let mut shop = spawn_full_shop().await;
    // A customer who signed in before the outage keeps the session in the cookie.
    let mut alice = Browser::new(shop.storefront.base_url());
    register(&mut alice, "Alice").await;
    drop(shop.users.take());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut visitor = Browser::new(shop.storefront.base_url());
    let home = visitor.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Log in"), "the logged-out view");
    let products = product_links(&home.body);
    assert!(!products.is_empty(), "the catalog is listed: {}", home.body);
    let product = visitor.get(&format!("/products/{}", products[0])).await;
    assert_eq!(product.status, 200, "{}", product.body);
    assert_eq!(visitor.get("/search?q=tea").await.status, 200);
    let added = visitor
        .submit(
            &format!("/products/{}", products[0]),
            "/cart/add",
            &[("product_id", &products[0].to_string())],
        )
        .await;
    assert_eq!(added.status, 200, "the cart needs no users service");
    assert_eq!(shop.storefront.get("/api/home").await.status(), 200);
    assert_eq!(shop.storefront.get("/api/products").await.status(), 200);

    // Signing in needs the users service: a page that says so, not an error 500.
    let login = visitor
        .submit(
            "/login",
            "/login",
            &[
                ("email", "alice@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(login.status, 503, "{}", login.body);
    assert!(
        login
            .body
            .contains("The users service cannot answer right now"),
        "{}",
        login.body
    );
    // The customer signed in before still browses.
    let home = alice.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Hello, Alice"));
}

#[tokio::test]
async fn an_unknown_page_is_the_html_not_found_page_and_an_unknown_api_path_a_problem() {
    let storefront = spawn_storefront(vec![]).await;
    let get = |path: &'static str, accept: &'static str| {
        storefront
            .http
            .get(storefront.url(path))
            .header("accept", accept)
            .send()
    };
    let browser = "text/html,application/xhtml+xml,*/*;q=0.8";

    let page = get("/no-such-page", browser).await.unwrap();
    assert_eq!(page.status(), 404);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        page.headers().contains_key("content-security-policy"),
        "the headers of every page"
    );
    assert!(page.text().await.unwrap().contains("Not found"));

    for (path, accept) in [
        ("/api/no-such-thing", browser),
        ("/no-such-page", "application/json"),
    ] {
        let answer = get(path, accept).await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
        assert_eq!(
            answer.headers()["content-type"],
            "application/problem+json",
            "{path} ({accept})"
        );
    }
}

#[tokio::test]
async fn a_copy_of_a_signed_out_session_is_signed_out_too() {
    let shop = spawn_full_shop().await;
    let base = shop.storefront.base_url();
    let mut browser = Browser::new(base.clone());
    let home = register(&mut browser, "Grace").await;
    assert!(home.body.contains("Hello, Grace"), "{}", home.body);
    // Someone copies the session cookie (a shared computer, a stolen backup).
    let copied = browser.cookies.clone();

    let left = browser.submit("/", "/logout", &[]).await;
    assert!(!left.body.contains("Hello, Grace"));

    let mut copy = Browser::new(base);
    copy.cookies = copied;
    let page = copy.get("/").await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("Hello, Grace"),
        "the copy of the session still signs in"
    );
    let orders = copy.get("/orders").await;
    assert_eq!(
        orders.location.as_deref(),
        Some("/login"),
        "{}",
        orders.status
    );
}
