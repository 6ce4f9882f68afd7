//! The shop in a real browser: Debian's headless Chromium, driven through chromedriver by
//! fantoccini. Screenshots of the pages land in `target/screenshots/` (the README shows
//! them).

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, closed_url, spawn_full_shop, spawn_storefront};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// chromedriver on a free port, ended with the test.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs (Debian: apt-get install chromium chromium-driver)");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    driver
}

async fn open_browser(driver: &Driver) -> Client {
    open_browser_with(driver, &[]).await
}

async fn open_browser_with(driver: &Driver, extra_args: &[&str]) -> Client {
    let mut args = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ];
    args.extend_from_slice(extra_args);
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": args,
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

async fn screenshot(browser: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot saved");
}

/// Fills the field labelled by `id` with `value`.
async fn fill(browser: &Client, id: &str, value: &str) {
    browser
        .find(Locator::Id(id))
        .await
        .expect(id)
        .send_keys(value)
        .await
        .expect("typed");
}

async fn press(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("clicked");
}

/// The page's text; empty while a new page is loading.
async fn text(browser: &Client) -> String {
    match browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the page shows `needle`: a click that submits a form does not wait for
/// the next page.
async fn wait_for(browser: &Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if text(browser).await.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_customer_shops_in_a_real_browser() {
    let mut shop = spawn_full_shop().await;
    let base = shop.storefront.base_url();
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let email = format!("{}@example.com", Uuid::new_v4().simple());

    // Register, log out, log in.
    browser
        .goto(&format!("{base}/register"))
        .await
        .expect("goto");
    fill(&browser, "name", "Grace").await;
    fill(&browser, "email", &email).await;
    fill(&browser, "password", "correct horse battery").await;
    press(&browser, "main form button[type=submit]").await;
    wait_for(&browser, "Hello, Grace").await;
    press(&browser, "form[action='/logout'] button").await;
    wait_for(&browser, "Register").await;
    browser.goto(&format!("{base}/login")).await.expect("goto");
    fill(&browser, "email", &email).await;
    fill(&browser, "password", "correct horse battery").await;
    press(&browser, "main form button[type=submit]").await;
    wait_for(&browser, "Hello, Grace").await;

    // Search, and put two products in the cart.
    fill(&browser, "q", "tea").await;
    press(&browser, "form.search button").await;
    wait_for(&browser, "Results for").await;
    let links = browser
        .find_all(Locator::Css("ul.grid li.card:has(form) > a"))
        .await
        .expect("results");
    let mut products = Vec::new();
    for link in links.iter().take(2) {
        products.push(link.attr("href").await.expect("href").expect("a link"));
    }
    assert_eq!(
        products.len(),
        2,
        "a search for tea finds two teas in stock"
    );
    for (n, product) in products.iter().enumerate() {
        browser
            .goto(&format!("{base}{product}"))
            .await
            .expect("goto");
        if n == 0 {
            screenshot(&browser, "product").await;
        }
        press(&browser, "article.product form button").await;
        wait_for(&browser, "Your cart").await;
    }
    assert_eq!(
        browser
            .find_all(Locator::Css("tbody tr"))
            .await
            .expect("rows")
            .len(),
        2
    );
    screenshot(&browser, "cart").await;

    // Check out: the order page reloads itself until the order is confirmed.
    press(&browser, "form[action='/checkout'] button").await;
    wait_for(&browser, "Status:").await;
    let order_url = browser.current_url().await.expect("the order's page");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The page reloads itself: mid-reload the status may be missing, or found and then
        // gone before it is read. Either way, look again (within the deadline).
        let status = match browser.find(Locator::Css("span.status")).await {
            Ok(element) => element.text().await,
            Err(error) => Err(error),
        };
        let status = match status {
            Ok(text) => text,
            Err(error) if error.is_stale_element_reference() || error.is_no_such_element() => {
                assert!(Instant::now() < deadline, "the order's status: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(error) => panic!("the order's status: {error}"),
        };
        if status == "confirmed" {
            break;
        }
        assert!(Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    screenshot(&browser, "order").await;

    // The home page, with recommendations and where they come from.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        browser.goto(&base).await.expect("goto");
        if text(&browser).await.contains("Recommended for you") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recommendations on the home page"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    screenshot(&browser, "home").await;

    // The ops panel, as the admin.
    press(&browser, "form[action='/logout'] button").await;
    wait_for(&browser, "Register").await;
    browser.goto(&format!("{base}/login")).await.expect("goto");
    fill(&browser, "email", ADMIN_EMAIL).await;
    fill(&browser, "password", ADMIN_PASSWORD).await;
    press(&browser, "main form button[type=submit]").await;
    wait_for(&browser, "Ops").await;
    browser.goto(&format!("{base}/ops")).await.expect("goto");
    wait_for(&browser, "Circuit breaker").await;
    screenshot(&browser, "ops").await;

    // Another customer cannot open Grace's order.
    press(&browser, "form[action='/logout'] button").await;
    wait_for(&browser, "Register").await;
    browser
        .goto(&format!("{base}/register"))
        .await
        .expect("goto");
    fill(&browser, "name", "Bob").await;
    fill(
        &browser,
        "email",
        &format!("{}@example.com", Uuid::new_v4().simple()),
    )
    .await;
    fill(&browser, "password", "correct horse battery").await;
    press(&browser, "main form button[type=submit]").await;
    wait_for(&browser, "Hello, Bob").await;
    browser.goto(order_url.as_str()).await.expect("goto");
    wait_for(&browser, "Not found").await;

    // With recommendations stopped, the home page still renders, with a fallback.
    drop(shop.recommendations.take());
    browser.goto(&base).await.expect("goto");
    wait_for(&browser, "source: fallback").await;
    assert!(text(&browser).await.contains("In the shop"));
    screenshot(&browser, "home-fallback").await;
    browser.close().await.expect("closed");
}

/// `/docs` renders the contract's operations from the binary alone: the browser's only
/// way out is a proxy that does not exist, and every resource the page loaded came from
/// the service itself.
#[tokio::test]
async fn the_docs_page_renders_every_operation_offline() {
    let storefront = spawn_storefront(vec![("USERS_URL", closed_url().await)]).await;
    let base = storefront.base_url();
    let driver = start_driver().await;
    // Loopback bypasses the proxy; anything else would go to a closed port and fail.
    let browser = open_browser_with(&driver, &["--proxy-server=http://127.0.0.1:9"]).await;

    browser.goto(&format!("{base}/docs")).await.expect("goto");
    wait_for(&browser, "/api/orders/{id}").await;
    screenshot(&browser, "docs").await;

    let operations = browser
        .find_all(Locator::Css(".opblock"))
        .await
        .expect("operations");
    let contract: serde_json::Value = storefront
        .http
        .get(storefront.url("/openapi.json"))
        .send()
        .await
        .expect("contract")
        .json()
        .await
        .expect("json");
    let documented: usize = contract["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|path| path.as_object().map_or(0, |ops| ops.len()))
        .sum();
    assert_eq!(operations.len(), documented, "one block per operation");

    let loaded = browser
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .expect("resource timings");
    let loaded: Vec<String> = serde_json::from_value(loaded).expect("names");
    assert!(!loaded.is_empty(), "the page loaded its script and styles");
    let outside: Vec<&String> = loaded
        .iter()
        .filter(|url| !url.starts_with(&base))
        .collect();
    assert!(
        outside.is_empty(),
        "requests outside the service: {outside:?}"
    );
    browser.close().await.expect("closed");
}
