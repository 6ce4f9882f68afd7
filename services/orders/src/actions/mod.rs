//! The orders service's state changes, one file each: the one home of every business flow.
//!
//! An action makes one change from start to finish. It opens the transaction, asks
//! `domain` what to do (pure rules), reads and writes through `db` (queries only), enqueues
//! the event that announces the change (`shop_events::outbox`), and commits: the change and
//! its event together or neither. Whoever starts an action only translates: `routes` from
//! HTTP, `events` from catalog's events, `saga` from the clock.
//!
//! - [`place`]: a customer's order, priced from catalog, stored `pending` with `OrderPlaced`.
//! - [`cancel`]: the customer's cancellation or the expiry's, with `OrderCancelled`.
//! - [`settle`]: catalog's answers: `confirm` (`OrderConfirmed`), `reject`
//!   (`OrderRejected`), `record_release` (a cancelled order holds no stock any more).

pub mod cancel;
pub mod place;
pub mod settle;
