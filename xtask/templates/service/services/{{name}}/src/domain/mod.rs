//! The {{name}} service's rules, free of HTTP and SQL.
//!
//! A customer's list holds products ([`Item`]), each with a short [`Note`], and at most
//! [`MAX_ITEMS`] of them ([`has_room`]).

mod item;
mod list;

pub use item::{Item, MAX_NOTE_CHARS, Note, SaveItem};
pub use list::{MAX_ITEMS, has_room};
