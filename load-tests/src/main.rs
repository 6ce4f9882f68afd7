//! Load test: shoppers browsing the catalog.
//!
//! `cargo xtask test` runs it for a few seconds with a few users against a local catalog
//! and fails on any error. Run it longer by hand, for example:
//!
//! ```text
//! cargo run --release -p load-tests -- --host http://127.0.0.1:8082 --users 50 \
//!     --increase-rate 10 --run-time 60s --report-file target/load-report.html
//! ```

use goose::prelude::*;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(metrics) => judge(&metrics),
        Err(error) => {
            eprintln!("load test could not run: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<GooseMetrics, GooseError> {
    GooseAttack::initialize()?
        .register_scenario(
            scenario!("BrowseCatalog")
                .register_transaction(transaction!(list_categories).set_name("categories"))
                .register_transaction(transaction!(browse_products).set_name("products"))
                .register_transaction(transaction!(search_products).set_name("search")),
        )
        .execute()
        .await
}

/// Fails the run on any failed request, or if nothing was requested at all.
fn judge(metrics: &GooseMetrics) -> ExitCode {
    let (mut total, mut failed) = (0usize, 0usize);
    for request in metrics.requests.values() {
        total += request.success_count + request.fail_count;
        failed += request.fail_count;
    }
    println!("load test: {total} requests, {failed} failed");
    if total == 0 || failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn list_categories(user: &mut GooseUser) -> TransactionResult {
    user.get("/v1/categories").await?;
    Ok(())
}

/// A page of products, then one product from it.
async fn browse_products(user: &mut GooseUser) -> TransactionResult {
    let mut goose = user.get("/v1/products?per_page=20").await?;
    let first_id = match goose.response {
        Ok(response) => response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|page| page["items"][0]["id"].as_str().map(str::to_owned)),
        Err(_) => None,
    };
    match first_id {
        Some(id) => {
            user.get_named(&format!("/v1/products/{id}"), "/v1/products/{id}")
                .await?;
        }
        None => {
            return user.set_failure(
                "the product list is empty or unreadable",
                &mut goose.request,
                None,
                None,
            );
        }
    }
    Ok(())
}

async fn search_products(user: &mut GooseUser) -> TransactionResult {
    user.get_named("/v1/products?q=coffee", "/v1/products?q=")
        .await?;
    Ok(())
}
