//! How much a list holds.

/// The most products one customer's list holds: a list is something to read, not a
/// second catalog.
pub const MAX_ITEMS: usize = 100;

/// Whether a list of `count` products may take one more.
pub fn has_room(count: usize) -> bool {
    count < MAX_ITEMS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_place_is_the_hundredth() {
        assert!(has_room(0));
        assert!(has_room(MAX_ITEMS - 1));
        assert!(!has_room(MAX_ITEMS));
    }
}
