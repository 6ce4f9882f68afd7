//! How fast popularity fades.

/// The time after which an order counts half as much towards a product's popularity.
///
/// The decay itself is `score * 0.5 ^ (hours elapsed / half-life)`; it runs in the
/// database (`recommendations.decayed`), where the scores are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfLife {
    hours: f64,
}

impl HalfLife {
    pub const DEFAULT: Self = Self { hours: 72.0 };

    /// `None` unless `hours` is a positive, finite number.
    pub fn from_hours(hours: f64) -> Option<Self> {
        (hours.is_finite() && hours > 0.0).then_some(Self { hours })
    }

    pub fn hours(self) -> f64 {
        self.hours
    }
}

impl Default for HalfLife {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_life_is_positive_and_finite() {
        assert_eq!(HalfLife::from_hours(72.0), Some(HalfLife::DEFAULT));
        assert_eq!(HalfLife::from_hours(0.5).map(HalfLife::hours), Some(0.5));
        for invalid in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(HalfLife::from_hours(invalid), None, "{invalid}");
        }
    }
}
