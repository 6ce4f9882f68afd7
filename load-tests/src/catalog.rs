//! The catalog scenario: the catalog service's JSON API read directly, without the
//! storefront; for measuring the catalog alone (`--scenarios catalog --host
//! http://127.0.0.1:8082`).

use goose::prelude::*;

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("Catalog")
        .register_transaction(transaction!(list_categories).set_name("categories"))
        .register_transaction(transaction!(browse_products).set_name("products"))
        .register_transaction(transaction!(search_products).set_name("search")))
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
