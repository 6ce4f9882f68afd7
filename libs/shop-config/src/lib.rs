//! Configuration comes from environment variables (twelve-factor), read through [`Env`].
//!
//! Every variable a service reads is named as a string literal at one call of an `Env`
//! method, in its `config.rs`: the deploy drift test finds them there and checks that
//! docker-compose and the Kubernetes ConfigMap set exactly those.
//!
//! Tests build an [`Env`] from pairs instead of touching the process environment, so they
//! can run in parallel.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// A variable has a value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required but not set")]
    Missing { name: String },
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where configuration values come from.
pub struct Env {
    lookup: Lookup,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env")
    }
}

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// Fixed values, for tests.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let map: HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            lookup: Box::new(move |name| map.get(name).cloned()),
        }
    }

    /// The raw value; empty strings count as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Missing {
            name: name.to_owned(),
        })
    }

    pub fn parse<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        Ok(self.optional_parse(name)?.unwrap_or(default))
    }

    /// A value with no default: `None` when unset.
    pub fn optional_parse<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.get(name)
            .map(|value| {
                value
                    .trim()
                    .parse()
                    .map_err(|e: T::Err| ConfigError::Invalid {
                        name: name.to_owned(),
                        reason: e.to_string(),
                        value,
                    })
            })
            .transpose()
    }

    /// A duration given in milliseconds.
    pub fn millis(&self, name: &str, default: Duration) -> Result<Duration, ConfigError> {
        let default_ms = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        self.parse(name, default_ms).map(Duration::from_millis)
    }

    /// A comma-separated list.
    pub fn list(&self, name: &str, default: &[&str]) -> Vec<String> {
        match self.get(name) {
            Some(value) => value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
            None => default.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_and_reports_the_bad_one_by_name() {
        let env = Env::from_pairs([("PORT", "80"), ("BAD", "x"), ("EMPTY", " ")]);
        assert_eq!(env.parse("PORT", 1u16).ok(), Some(80));
        assert_eq!(env.parse("UNSET", 7u16).ok(), Some(7));
        assert_eq!(env.parse("EMPTY", 7u16).ok(), Some(7));
        let error = env.parse("BAD", 1u16).expect_err("BAD is not a number");
        assert!(
            error.to_string().starts_with("BAD=\"x\" is invalid"),
            "{error}"
        );
        assert!(env.required("UNSET").is_err());
    }

    #[test]
    fn lists_are_comma_separated() {
        let env = Env::from_pairs([("HOSTS", "a, b,,c")]);
        assert_eq!(env.list("HOSTS", &[]), ["a", "b", "c"]);
        assert_eq!(env.list("NONE", &["x"]), ["x"]);
    }
}
