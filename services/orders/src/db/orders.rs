//! Orders and their lines: storing, finding and listing them.

use crate::domain::order::{Order, OrderLine, OrderStatus};
use crate::domain::placing::PricedLine;
use shop_api::{Money, PageQuery};
use shop_db::query_span;
use sqlx::PgConnection;
use std::collections::HashMap;
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

/// A new order, priced and ready to store.
#[derive(Debug)]
pub struct NewOrder<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub idempotency_key: &'a str,
    pub request_fingerprint: &'a str,
    pub lines: &'a [PricedLine],
    pub total: &'a Money,
}

/// Stores the order and its lines, `pending`, in the caller's transaction. `None` when
/// this user's idempotency key is taken: a concurrent twin won the race on the unique
/// constraint, and the caller answers with its order.
pub async fn insert_order(
    conn: &mut PgConnection,
    new: &NewOrder<'_>,
) -> Result<Option<Order>, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO orders.orders
               (id, user_id, status, total_amount_minor, currency, idempotency_key, request_fingerprint)
           VALUES ($1, $2, 'pending', $3, $4, $5, $6)
           ON CONFLICT ON CONSTRAINT orders_idempotency_key_per_user DO NOTHING
           RETURNING id"#,
        new.id,
        new.user_id,
        new.total.amount_minor,
        new.total.currency,
        new.idempotency_key,
        new.request_fingerprint,
    )
    .fetch_optional(&mut *conn)
    .instrument(query_span("INSERT", "orders"))
    .await?;
    if inserted.is_none() {
        return Ok(None);
    }
    for (line_no, line) in new.lines.iter().enumerate() {
        sqlx::query!(
            r#"INSERT INTO orders.order_lines
                   (order_id, line_no, product_id, product_name, unit_price_minor, quantity)
               VALUES ($1, $2, $3, $4, $5, $6)"#,
            new.id,
            to_column(line_no)?,
            line.product_id,
            line.product_name,
            line.unit_price_minor,
            to_column(line.quantity)?,
        )
        .execute(&mut *conn)
        .instrument(query_span("INSERT", "order_lines"))
        .await?;
    }
    get_order(conn, new.id).await
}

/// The order this user placed with this idempotency key, and its request fingerprint.
pub async fn find_by_idempotency_key(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
) -> Result<Option<(Order, String)>, sqlx::Error> {
    let found = sqlx::query!(
        "SELECT id, request_fingerprint FROM orders.orders
         WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        key
    )
    .fetch_optional(&mut *conn)
    .instrument(query_span("SELECT", "orders"))
    .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    Ok(get_order(conn, found.id)
        .await?
        .map(|order| (order, found.request_fingerprint)))
}

struct OrderRow {
    id: Uuid,
    user_id: Uuid,
    status: String,
    status_reason: Option<String>,
    total_amount_minor: i64,
    currency: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

pub async fn get_order(conn: &mut PgConnection, id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    let row = sqlx::query_as!(
        OrderRow,
        r#"SELECT id, user_id, status, status_reason, total_amount_minor,
                  currency AS "currency!: String", created_at, updated_at
           FROM orders.orders WHERE id = $1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .instrument(query_span("SELECT", "orders"))
    .await?;
    match row {
        Some(row) => Ok(with_lines(conn, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// One page of a user's orders, newest first, and how many they have in all.
pub async fn list_orders(
    conn: &mut PgConnection,
    user_id: Uuid,
    page: PageQuery,
) -> Result<(Vec<Order>, i64), sqlx::Error> {
    let rows = sqlx::query_as!(
        OrderRow,
        r#"SELECT id, user_id, status, status_reason, total_amount_minor,
                  currency AS "currency!: String", created_at, updated_at
           FROM orders.orders WHERE user_id = $1
           ORDER BY created_at DESC, id DESC
           LIMIT $2 OFFSET $3"#,
        user_id,
        page.limit(),
        page.offset()
    )
    .fetch_all(&mut *conn)
    .instrument(query_span("SELECT", "orders"))
    .await?;
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orders.orders WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .instrument(query_span("SELECT", "orders"))
    .await?;
    Ok((with_lines(conn, rows).await?, total))
}

/// Loads the lines of `rows` in one query and assembles the orders.
async fn with_lines(
    conn: &mut PgConnection,
    rows: Vec<OrderRow>,
) -> Result<Vec<Order>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let lines = sqlx::query!(
        "SELECT order_id, product_id, product_name, unit_price_minor, quantity
         FROM orders.order_lines WHERE order_id = ANY($1)
         ORDER BY order_id, line_no",
        &ids
    )
    .fetch_all(&mut *conn)
    .instrument(query_span("SELECT", "order_lines"))
    .await?;
    let mut by_order: HashMap<Uuid, Vec<OrderLine>> = HashMap::new();
    for line in lines {
        let currency = rows
            .iter()
            .find(|row| row.id == line.order_id)
            .map_or("EUR", |row| row.currency.as_str());
        // The schema allows 1 and up only; anything else is a broken row, not a zero.
        let quantity = u32::try_from(line.quantity).map_err(|error| {
            sqlx::Error::Decode(
                format!(
                    "order {}: line quantity {}: {error}",
                    line.order_id, line.quantity
                )
                .into(),
            )
        })?;
        by_order.entry(line.order_id).or_default().push(OrderLine {
            product_id: line.product_id,
            name: line.product_name,
            unit_price: Money::new(line.unit_price_minor, currency),
            quantity,
            line_total: Money::new(
                line.unit_price_minor.saturating_mul(i64::from(quantity)),
                currency,
            ),
        });
    }
    rows.into_iter()
        .map(|row| {
            Ok(Order {
                items: by_order.remove(&row.id).unwrap_or_default(),
                total: Money::new(row.total_amount_minor, &row.currency),
                status: parse_status(row.id, &row.status)?,
                id: row.id,
                user_id: row.user_id,
                status_reason: row.status_reason,
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
        })
        .collect()
}

/// A stored status, or an error naming the order: the schema's CHECK allows no other, so
/// another is a broken row, never silently some status.
pub(super) fn parse_status(order_id: Uuid, status: &str) -> Result<OrderStatus, sqlx::Error> {
    OrderStatus::parse(status).ok_or_else(|| {
        sqlx::Error::Decode(format!("order {order_id}: unknown status {status:?}").into())
    })
}

/// A count for an `integer` column; validated values always fit, so failing is a bug.
fn to_column<T>(value: T) -> Result<i32, sqlx::Error>
where
    i32: TryFrom<T>,
    <i32 as TryFrom<T>>::Error: std::error::Error + Send + Sync + 'static,
{
    i32::try_from(value).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}
