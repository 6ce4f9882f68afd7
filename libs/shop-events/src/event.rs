//! Every event Harbor Shop services tell each other: this module is the whole contract.
//!
//! Producers and consumers deploy independently, so a consumer may read an event written by
//! a newer producer. The types are therefore *tolerant readers*: none of them denies unknown
//! fields (unlike the HTTP API's request bodies), so adding a field is a compatible change.
//! Removing, renaming or retyping a field is not: it needs a new `schema_version` for that
//! event type (see `docs/events/README.md`). The JSON Schemas in `docs/events/` are generated
//! from these types, and a test fails when they drift.

use crate::topics;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One event: its `type` and its `data`, as they appear inside an
/// [`Envelope`](crate::Envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    UserRegistered(UserRegistered),
    ProductUpserted(ProductUpserted),
    ProductDeleted(ProductDeleted),
    StockReserved(StockReserved),
    StockRejected(StockRejected),
    StockReleased(StockReleased),
    OrderPlaced(OrderPlaced),
    OrderConfirmed(OrderConfirmed),
    OrderRejected(OrderRejected),
    OrderCancelled(OrderCancelled),
}

impl Event {
    /// Every event type, as written in the envelope's `type`.
    pub const TYPES: [&'static str; 10] = [
        "UserRegistered",
        "ProductUpserted",
        "ProductDeleted",
        "StockReserved",
        "StockRejected",
        "StockReleased",
        "OrderPlaced",
        "OrderConfirmed",
        "OrderRejected",
        "OrderCancelled",
    ];

    /// The envelope's `type`: the variant's name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::UserRegistered(_) => "UserRegistered",
            Self::ProductUpserted(_) => "ProductUpserted",
            Self::ProductDeleted(_) => "ProductDeleted",
            Self::StockReserved(_) => "StockReserved",
            Self::StockRejected(_) => "StockRejected",
            Self::StockReleased(_) => "StockReleased",
            Self::OrderPlaced(_) => "OrderPlaced",
            Self::OrderConfirmed(_) => "OrderConfirmed",
            Self::OrderRejected(_) => "OrderRejected",
            Self::OrderCancelled(_) => "OrderCancelled",
        }
    }

    /// The topic of the service that owns the aggregate. Stock decisions are the catalog's,
    /// even though they are about an order.
    pub fn topic(&self) -> &'static str {
        match self {
            Self::UserRegistered(_) => topics::USERS,
            Self::ProductUpserted(_)
            | Self::ProductDeleted(_)
            | Self::StockReserved(_)
            | Self::StockRejected(_)
            | Self::StockReleased(_) => topics::CATALOG,
            Self::OrderPlaced(_)
            | Self::OrderConfirmed(_)
            | Self::OrderRejected(_)
            | Self::OrderCancelled(_) => topics::ORDERS,
        }
    }

    /// The id of the aggregate the event is about: the Kafka message key, so that one
    /// aggregate's events land on one partition and are read in the order they were written.
    /// Stock decisions are keyed by order: they are steps of that order's saga.
    pub fn key(&self) -> Uuid {
        match self {
            Self::UserRegistered(e) => e.user_id,
            Self::ProductUpserted(e) => e.product_id,
            Self::ProductDeleted(e) => e.product_id,
            Self::StockReserved(e) => e.order_id,
            Self::StockRejected(e) => e.order_id,
            Self::StockReleased(e) => e.order_id,
            Self::OrderPlaced(e) => e.order_id,
            Self::OrderConfirmed(e) => e.order_id,
            Self::OrderRejected(e) => e.order_id,
            Self::OrderCancelled(e) => e.order_id,
        }
    }

    /// The version of this type's `data` schema, raised only by a breaking change.
    pub fn schema_version(&self) -> u32 {
        // Every type is at its first version; a type that breaks gets an arm of its own.
        1
    }

    /// True for a `type` this build knows; consumers skip the others instead of failing.
    pub fn is_known_type(type_name: &str) -> bool {
        Self::TYPES.contains(&type_name)
    }
}

/// An amount of money in events: integer minor units and an ISO 4217 code (the shape of
/// the HTTP API's `Money`, without its strictness about unknown fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    /// In the currency's minor unit (cents for EUR).
    pub amount_minor: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

impl From<shop_api::Money> for Money {
    fn from(money: shop_api::Money) -> Self {
        Self {
            amount_minor: money.amount_minor,
            currency: money.currency,
        }
    }
}

impl From<Money> for shop_api::Money {
    fn from(money: Money) -> Self {
        Self {
            amount_minor: money.amount_minor,
            currency: money.currency,
        }
    }
}

/// A quantity of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    pub product_id: Uuid,
    pub quantity: u32,
}

/// A quantity of one product at the price it was ordered at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PricedItem {
    pub product_id: Uuid,
    pub quantity: u32,
    /// Price of one unit, in the minor unit of the order's currency.
    pub unit_price_minor: i64,
}

/// `users.events`: an account was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
}

/// `catalog.events`: a product was created or changed; carries its whole current state, so
/// a consumer's copy is right after reading only the latest one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductUpserted {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category_slug: String,
    pub price: Money,
    /// Units in stock now.
    pub stock: u32,
    /// The product's version: it grows with every change, deletions included, so a copy
    /// kept from these events takes an event only when it is newer than what it has (one
    /// that arrives late, or again, changes nothing). 0 in events from before versions.
    #[serde(default)]
    pub version: u64,
}

/// `catalog.events`: a product was removed from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductDeleted {
    pub product_id: Uuid,
    /// Above every version the product had (see `ProductUpserted.version`).
    #[serde(default)]
    pub version: u64,
}

/// `catalog.events`: stock for every item of an order was set aside (saga step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockReserved {
    pub order_id: Uuid,
    pub items: Vec<Item>,
}

/// `catalog.events`: an order could not be served; nothing was reserved (saga step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockRejected {
    pub order_id: Uuid,
    /// Why, for people: e.g. "insufficient stock".
    pub reason: String,
    /// The products that were short or unknown.
    pub product_ids: Vec<Uuid>,
}

/// `catalog.events`: the catalog holds no stock for a cancelled order any more (saga step):
/// its answer to every `OrderCancelled`, repeated ones included, so that orders knows the
/// cancellation arrived. `product_ids` are the products whose stock went back; empty when
/// nothing was held (the order was rejected, released before, or cancelled before it was
/// placed: then it can never reserve).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockReleased {
    pub order_id: Uuid,
    pub product_ids: Vec<Uuid>,
}

/// `orders.events`: a customer placed an order; it waits for the catalog's stock decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub items: Vec<PricedItem>,
    pub total: Money,
}

/// `orders.events`: the stock was reserved and the order is confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderConfirmed {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub items: Vec<Item>,
}

/// `orders.events`: the order failed (stock was short); nothing was reserved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRejected {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub reason: String,
}

/// `orders.events`: the customer cancelled. The catalog releases what it reserved for the
/// order, if anything: a pending order's reservation may have raced the cancellation, so
/// `was_confirmed` informs but the catalog's own reservation record decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCancelled {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub items: Vec<Item>,
    pub was_confirmed: bool,
}

macro_rules! into_event {
    ($($variant:ident),* $(,)?) => {
        $(impl From<$variant> for Event {
            fn from(payload: $variant) -> Self {
                Self::$variant(payload)
            }
        })*
    };
}

into_event!(
    UserRegistered,
    ProductUpserted,
    ProductDeleted,
    StockReserved,
    StockRejected,
    StockReleased,
    OrderPlaced,
    OrderConfirmed,
    OrderRejected,
    OrderCancelled,
);
