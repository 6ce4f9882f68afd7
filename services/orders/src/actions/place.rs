//! Placing an order: validated, priced from catalog's prices (never the client's), stored
//! `pending` with its `OrderPlaced`, once per `Idempotency-Key`.

use crate::catalog::Catalog;
use crate::db::{self, NewOrder};
use crate::domain::order::Order;
use crate::domain::placing::{self, CatalogProduct, PlaceOrder};
use crate::error::OrdersError;
use crate::events;
use shop_events::outbox;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

/// What placing did.
#[derive(Debug)]
pub enum Placed {
    /// A new order, pending until catalog decides on its stock.
    New(Order),
    /// The order an earlier request with the same key and the same items placed.
    Replayed(Order),
}

/// Places `request` for `user_id` under the client's idempotency `key`.
///
/// A repeated key with the same items returns the first order and creates nothing; with
/// other items it is refused. No database connection is held while catalog is asked.
pub async fn place(
    db: &PgPool,
    catalog: &Catalog,
    user_id: Uuid,
    key: &str,
    request: &PlaceOrder,
) -> Result<Placed, OrdersError> {
    request.validate().map_err(OrdersError::Invalid)?;
    let fingerprint = request.fingerprint();

    // A retry: answer with what the first request created, without pricing it again.
    let mut conn = db.acquire().await?;
    if let Some((order, original)) = db::find_by_idempotency_key(&mut conn, user_id, key).await? {
        return replay(order, &original, &fingerprint);
    }
    let known = replicated_prices(&mut conn, request).await?;
    drop(conn);
    let products = with_catalog_prices(catalog, known, request).await?;
    let (lines, total) = placing::price(request, &products).map_err(OrdersError::Invalid)?;

    let new = NewOrder {
        id: Uuid::now_v7(),
        user_id,
        idempotency_key: key,
        request_fingerprint: &fingerprint,
        lines: &lines,
        total: &total,
    };
    let mut tx = db.begin().await?;
    let Some(order) = db::insert_order(&mut tx, &new).await? else {
        // A concurrent twin won the race on the key: answer with its order.
        tx.rollback().await?;
        let mut conn = db.acquire().await?;
        let (order, original) = db::find_by_idempotency_key(&mut conn, user_id, key)
            .await?
            .ok_or(OrdersError::Database(sqlx::Error::RowNotFound))?;
        return replay(order, &original, &fingerprint);
    };
    outbox::enqueue(&mut tx, &events::placed(&order)).await?;
    tx.commit().await?;
    tracing::info!(order_id = %order.id, total = %order.total, "order placed");
    Ok(Placed::New(order))
}

fn replay(order: Order, original: &str, fingerprint: &str) -> Result<Placed, OrdersError> {
    if original != fingerprint {
        return Err(OrdersError::IdempotencyKeyReused);
    }
    Ok(Placed::Replayed(order))
}

/// The prices the replica of catalog's events knows for the products of `request`.
async fn replicated_prices(
    conn: &mut PgConnection,
    request: &PlaceOrder,
) -> Result<HashMap<Uuid, CatalogProduct>, OrdersError> {
    let ids: Vec<Uuid> = request.items.iter().map(|item| item.product_id).collect();
    Ok(db::replicated_products(conn, &ids)
        .await?
        .into_iter()
        .map(|product| (product.product_id, product.into()))
        .collect())
}

/// `known` completed by catalog itself for products the replica has not heard of yet.
/// While catalog is down, orders for known products are still taken.
async fn with_catalog_prices(
    catalog: &Catalog,
    mut known: HashMap<Uuid, CatalogProduct>,
    request: &PlaceOrder,
) -> Result<HashMap<Uuid, CatalogProduct>, OrdersError> {
    let unknown: Vec<Uuid> = request
        .items
        .iter()
        .map(|item| item.product_id)
        .filter(|id| !known.contains_key(id))
        .collect();
    if !unknown.is_empty() {
        let asked = catalog
            .products(&unknown)
            .await
            .map_err(OrdersError::CatalogUnavailable)?;
        known.extend(asked);
    }
    Ok(known)
}
