//! Which release of the ranking answers: two can run side by side behind one Service (a
//! canary, `k8s/overlays/canary`), and every answer says which one it came from.

use std::fmt;
use std::str::FromStr;

/// The ranking a replica uses for shoppers it knows nothing specific about.
///
/// Both versions learn the same things from the same events (they share the schema and
/// the consumer group); only how the general tier ranks differs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Version {
    /// Popular: every order counts, fading with the half-life.
    #[default]
    V1,
    /// Trending: orders of the last [`TrendingWindow`] first, then v1's popular list.
    V2,
}

impl Version {
    /// The wire name: the `X-Recommendations-Version` header and the `version` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("must be v1 or v2")]
pub struct UnknownVersion;

impl FromStr for Version {
    type Err = UnknownVersion;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "v1" => Ok(Self::V1),
            "v2" => Ok(Self::V2),
            _ => Err(UnknownVersion),
        }
    }
}

/// How far back "trending" looks, in whole hours: 1 to [`TrendingWindow::MAX_HOURS`].
///
/// Orders are counted in hourly buckets (`recommendations.hourly_orders`), so the window
/// is the current hour and the `hours - 1` before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendingWindow {
    hours: u8,
}

impl TrendingWindow {
    pub const DEFAULT: Self = Self { hours: 24 };
    /// Buckets older than this are deleted as new orders arrive: the longest window there
    /// is data for.
    pub const MAX_HOURS: u8 = 7 * 24;

    pub fn from_hours(hours: u32) -> Option<Self> {
        let hours = u8::try_from(hours).ok()?;
        (1..=Self::MAX_HOURS)
            .contains(&hours)
            .then_some(Self { hours })
    }

    pub fn hours(self) -> u8 {
        self.hours
    }
}

impl Default for TrendingWindow {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_round_trip_through_their_names() {
        for version in [Version::V1, Version::V2] {
            assert_eq!(version.as_str().parse::<Version>().ok(), Some(version));
        }
        assert!("v3".parse::<Version>().is_err());
        assert!("V1".parse::<Version>().is_err(), "names are lower case");
        assert_eq!(Version::default(), Version::V1);
    }

    #[test]
    fn a_trending_window_is_one_hour_to_a_week() {
        assert_eq!(
            TrendingWindow::from_hours(24),
            Some(TrendingWindow::DEFAULT)
        );
        assert_eq!(
            TrendingWindow::from_hours(1).map(TrendingWindow::hours),
            Some(1)
        );
        assert_eq!(
            TrendingWindow::from_hours(168).map(TrendingWindow::hours),
            Some(168)
        );
        assert_eq!(TrendingWindow::from_hours(0), None);
        assert_eq!(TrendingWindow::from_hours(169), None);
        assert_eq!(TrendingWindow::from_hours(256 + 24), None, "not wrapped");
    }
}
