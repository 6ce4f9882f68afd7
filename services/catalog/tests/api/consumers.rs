//! Consumer contract tests: what the services that call catalog, or read its events, rely on
//! (their `contracts/catalog.json`) is still in catalog's contract and event schemas.

#[test]
fn every_consumer_finds_what_it_relies_on() {
    let checked = shop_testing::contracts::check_consumers_of("catalog", &catalog::app::openapi());
    assert!(checked > 0);
}

/// The lesson of the check: renaming a field that orders reads fails here, in catalog's
/// build, naming orders, the call and the field.
#[test]
fn renaming_a_field_orders_reads_fails_naming_orders() {
    let mut document = serde_json::to_value(catalog::app::openapi()).expect("JSON");
    // The field is renamed in the Rust struct: every copy of its schema changes, the
    // component and the ones utoipa inlines (a `Page<Product>`'s items).
    let product = document["components"]["schemas"]["Product"].clone();
    let renamed = rename_everywhere(&mut document, &product, "name", "title");
    assert!(
        renamed >= 2,
        "the component and the page's items: {renamed}"
    );
    let orders = shop_testing::contracts::consumers_of("catalog")
        .remove("orders")
        .expect("orders keeps contracts/catalog.json");
    let broken = shop_testing::contracts::check_operation(&document, &orders.operations[0]);
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert!(
        broken[0].contains("reads `items[].name` of the 200 answer")
            && broken[0].contains("no property `name` under `items[]`"),
        "{}",
        broken[0]
    );
    let panic = std::panic::catch_unwind(|| {
        shop_testing::contracts::check_consumers_of("catalog", &document)
    })
    .expect_err("a broken consumer fails the check");
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        message.contains("orders (services/orders/src/catalog.rs) calls `GET /v1/products`"),
        "{message}"
    );
}

/// Renames `from` to `to` in every schema of `document` equal to `schema`: how many.
fn rename_everywhere(
    document: &mut serde_json::Value,
    schema: &serde_json::Value,
    from: &str,
    to: &str,
) -> usize {
    use serde_json::Value;
    if document == schema {
        if let Some(properties) = document["properties"].as_object_mut()
            && let Some(property) = properties.remove(from)
        {
            properties.insert(to.to_owned(), property);
        }
        for required in document["required"].as_array_mut().into_iter().flatten() {
            if required == from {
                *required = to.into();
            }
        }
        return 1;
    }
    match document {
        Value::Object(map) => map
            .values_mut()
            .map(|value| rename_everywhere(value, schema, from, to))
            .sum(),
        Value::Array(items) => items
            .iter_mut()
            .map(|value| rename_everywhere(value, schema, from, to))
            .sum(),
        _ => 0,
    }
}
