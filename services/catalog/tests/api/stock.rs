//! Reserving and releasing stock (`db::stock`), as the consumer of orders' events does it:
//! each call in a transaction of its own, many at once.

use crate::helpers::{TestApp, spawn_app};
use catalog::db::stock;
use catalog::domain::stock::{Decision, Rejection, Release, Reservation, ReservationLine};
use catalog::error::Error;
use uuid::Uuid;

fn line(product_id: Uuid, quantity: i32) -> ReservationLine {
    ReservationLine {
        product_id,
        quantity,
    }
}

impl TestApp {
    /// Reserves in a transaction of its own, as the consumer does.
    async fn reserve(
        &self,
        order_id: Uuid,
        lines: &[ReservationLine],
    ) -> Result<Reservation, Error> {
        let mut tx = self.pool.begin().await?;
        let decision = stock::reserve(&mut tx, order_id, lines).await?;
        tx.commit().await?;
        Ok(decision)
    }

    /// Releases in a transaction of its own, as the consumer does.
    async fn release(&self, order_id: Uuid) -> Release {
        let mut tx = self.pool.begin().await.expect("a transaction");
        let release = stock::release(&mut tx, order_id).await.expect("released");
        tx.commit().await.expect("committed");
        release
    }
}

fn short(product_ids: Vec<Uuid>) -> Decision {
    Decision::Rejected(Rejection {
        short_product_ids: product_ids,
        unknown_product_ids: vec![],
    })
}

#[tokio::test]
async fn reserves_every_line_of_an_order() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 3).await;

    let decision = app
        .reserve(Uuid::now_v7(), &[line(mug, 4), line(lamp, 3)])
        .await
        .unwrap();

    assert_eq!(decision, Reservation::Decided(Decision::Reserved));
    assert_eq!((app.stock_of(mug).await, app.stock_of(lamp).await), (6, 0));
}

#[tokio::test]
async fn reserving_the_same_order_again_takes_nothing_more() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();

    let first = app.reserve(order_id, &[line(mug, 4)]).await.unwrap();
    let second = app.reserve(order_id, &[line(mug, 4)]).await.unwrap();

    assert_eq!(first, Reservation::Decided(Decision::Reserved));
    assert_eq!(
        second,
        Reservation::DecidedBefore(Decision::Reserved),
        "decided before: the recorded answer, and nothing taken"
    );
    assert_eq!(app.stock_of(mug).await, 6);
}

#[tokio::test]
async fn a_short_line_reserves_nothing_and_names_the_product() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 2).await;
    let order_id = Uuid::now_v7();
    let lines = [line(mug, 4), line(lamp, 3)];

    let decision = app.reserve(order_id, &lines).await.unwrap();

    assert_eq!(decision, Reservation::Decided(short(vec![lamp])));
    assert_eq!((app.stock_of(mug).await, app.stock_of(lamp).await), (10, 2));

    // The rejection is recorded: the same order again takes nothing, even after a restock.
    sqlx::query!("UPDATE catalog.products SET stock = 50 WHERE id = $1", lamp)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.reserve(order_id, &lines).await.unwrap(),
        Reservation::DecidedBefore(short(vec![lamp]))
    );
    assert_eq!(
        (app.stock_of(mug).await, app.stock_of(lamp).await),
        (10, 50)
    );
    let recorded = sqlx::query!(
        "SELECT status, short_product_ids FROM catalog.stock_reservations WHERE order_id = $1",
        order_id
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (recorded.status.as_str(), recorded.short_product_ids),
        ("rejected", vec![lamp])
    );
}

#[tokio::test]
async fn an_unknown_product_rejects_the_order_and_is_named() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 1).await;
    let gone = Uuid::now_v7();

    let decision = app
        .reserve(Uuid::now_v7(), &[line(mug, 2), line(gone, 1)])
        .await
        .unwrap();

    let expected = Rejection {
        short_product_ids: vec![mug],
        unknown_product_ids: vec![gone],
    };
    assert_eq!(expected.reason(), "insufficient stock and unknown products");
    assert_eq!(decision, Reservation::Decided(Decision::Rejected(expected)));
    assert_eq!(app.stock_of(mug).await, 1);
}

#[tokio::test]
async fn releasing_returns_the_stock_once() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();
    let reserved = app.reserve(order_id, &[line(mug, 4)]).await.unwrap();
    assert_eq!(reserved, Reservation::Decided(Decision::Reserved));

    assert_eq!(
        app.release(order_id).await,
        Release::Returned {
            product_ids: vec![mug]
        }
    );
    assert_eq!(app.stock_of(mug).await, 10);
    assert_eq!(app.release(order_id).await, Release::NothingHeld);
    assert_eq!(app.stock_of(mug).await, 10, "released once");

    // A released order cannot take the stock again.
    assert_eq!(
        app.reserve(order_id, &[line(mug, 4)]).await.unwrap(),
        Reservation::Released
    );
    assert_eq!(app.stock_of(mug).await, 10);
}

#[tokio::test]
async fn releasing_before_reserving_blocks_the_late_reservation() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();

    assert_eq!(app.release(order_id).await, Release::NothingHeld);
    let late = app.reserve(order_id, &[line(mug, 4)]).await.unwrap();

    assert_eq!(late, Reservation::Released);
    assert_eq!(app.stock_of(mug).await, 10);
}

#[tokio::test]
async fn releasing_a_rejected_reservation_returns_nothing() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 2).await;
    let order_id = Uuid::now_v7();
    let rejected = app.reserve(order_id, &[line(mug, 3)]).await.unwrap();
    assert_eq!(rejected, Reservation::Decided(short(vec![mug])));

    assert_eq!(app.release(order_id).await, Release::NothingHeld);

    assert_eq!(app.stock_of(mug).await, 2);
}

#[tokio::test]
async fn a_release_skips_products_deleted_meanwhile() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let lamp = app.product_with_stock("OD-LMP-100", 10).await;
    let order_id = Uuid::now_v7();
    app.reserve(order_id, &[line(mug, 1), line(lamp, 1)])
        .await
        .unwrap();
    sqlx::query!("DELETE FROM catalog.products WHERE id = $1", lamp)
        .execute(&app.pool)
        .await
        .unwrap();

    assert_eq!(
        app.release(order_id).await,
        Release::Returned {
            product_ids: vec![mug]
        }
    );
    assert_eq!(app.stock_of(mug).await, 10);
}

#[tokio::test]
async fn a_reservation_rolls_back_with_the_callers_transaction() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;
    let order_id = Uuid::now_v7();

    // As when the consumer's handler fails after reserving: nothing of it stays.
    let mut tx = app.pool.begin().await.unwrap();
    let decision = stock::reserve(&mut tx, order_id, &[line(mug, 4)])
        .await
        .unwrap();
    assert_eq!(decision, Reservation::Decided(Decision::Reserved));
    tx.rollback().await.unwrap();

    assert_eq!(app.stock_of(mug).await, 10);
    let retried = app.reserve(order_id, &[line(mug, 4)]).await.unwrap();
    assert_eq!(
        retried,
        Reservation::Decided(Decision::Reserved),
        "the retry decides afresh"
    );
    assert_eq!(app.stock_of(mug).await, 6);
}

#[tokio::test]
async fn concurrent_orders_never_oversell() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 10).await;

    let app = &app;
    let attempts =
        (0..50).map(|_| async move { app.reserve(Uuid::now_v7(), &[line(mug, 1)]).await });
    let decisions: Vec<Reservation> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let reserved = decisions
        .iter()
        .filter(|d| **d == Reservation::Decided(Decision::Reserved))
        .count();
    let rejected = decisions
        .iter()
        .filter(|d| **d == Reservation::Decided(short(vec![mug])))
        .count();
    assert_eq!((reserved, rejected), (10, 40), "{decisions:?}");
    assert_eq!(app.stock_of(mug).await, 0);
}

#[tokio::test]
async fn concurrent_orders_over_shared_products_do_not_deadlock() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 100).await;
    let lamp = app.product_with_stock("OD-LMP-100", 100).await;

    // Half list the products one way round, half the other.
    let app = &app;
    let attempts = (0..20).map(|i| async move {
        let (first, second) = if i % 2 == 0 { (mug, lamp) } else { (lamp, mug) };
        app.reserve(Uuid::now_v7(), &[line(first, 1), line(second, 2)])
            .await
    });
    let decisions = futures::future::join_all(attempts).await;

    assert!(
        decisions
            .iter()
            .all(|d| matches!(d, Ok(Reservation::Decided(Decision::Reserved)))),
        "{decisions:?}"
    );
    assert_eq!(app.stock_of(mug).await + app.stock_of(lamp).await, 200 - 60);
}

#[tokio::test]
async fn stock_can_never_be_negative() {
    let app = spawn_app().await;
    let mug = app.product_with_stock("OD-MUG-100", 1).await;

    let error = sqlx::query!("UPDATE catalog.products SET stock = -1 WHERE id = $1", mug)
        .execute(&app.pool)
        .await
        .expect_err("the CHECK constraint refuses it");

    let error = error.as_database_error().expect("a database error");
    assert_eq!(error.code().as_deref(), Some("23514"), "check_violation");
    assert_eq!(error.constraint(), Some("products_stock_check"));
    assert_eq!(app.stock_of(mug).await, 1);
}
