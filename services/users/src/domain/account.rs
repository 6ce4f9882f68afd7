//! Accounts and the rules for registering one.

use super::password::Password;
use shop_auth::Role;
use shop_server::FieldError;
use time::OffsetDateTime;
use uuid::Uuid;

/// An account, as the service shows it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: OffsetDateTime,
}

/// An email address of a plausible shape. Whether it exists is not checked: no mail is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// RFC 5321's limit on a forward path.
    pub const MAX_CHARS: usize = 254;

    /// Trims surrounding space and checks for `local@domain.tld`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim();
        if email.chars().count() > Self::MAX_CHARS {
            return Err("must be at most 254 characters");
        }
        let plausible = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        }) && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if plausible {
            Ok(Self(email.to_owned()))
        } else {
            Err("must be an email address, such as ada@example.com")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whose sign-in attempts are counted together: addresses differing only in case are the
/// same account (the database's unique index says so too).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A display name: 1 to 100 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        match name.chars().count() {
            0 => Err("must not be empty"),
            n if n > Self::MAX_CHARS => Err("must be at most 100 characters"),
            _ if name.chars().any(char::is_control) => Err("must not contain control characters"),
            _ => Ok(Self(name.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A registration that follows every rule.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub name: UserName,
    pub password: Password,
}

impl NewAccount {
    /// Checks every field, reporting all the invalid ones at once.
    pub fn parse(email: &str, name: &str, password: String) -> Result<Self, Vec<FieldError>> {
        let email = Email::parse(email).map_err(|e| FieldError::new("email", e));
        let name = UserName::parse(name).map_err(|e| FieldError::new("name", e));
        let password = Password::parse(password).map_err(|e| FieldError::new("password", e));
        match (email, name, password) {
            (Ok(email), Ok(name), Ok(password)) => Ok(Self {
                email,
                name,
                password,
            }),
            (email, name, password) => Err([email.err(), name.err(), password.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plausible_email_addresses() {
        for ok in ["ada@example.com", "  Ada.Lovelace+shop@mail.example.org "] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Email::parse(" ada@example.com ").map(|e| e.0),
            Ok("ada@example.com".to_owned())
        );
    }

    #[test]
    fn rejects_what_is_not_an_email_address() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "ada@.example.com",
            "ada@example..com",
            "ada lovelace@example.com",
            &long,
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(UserName::parse("  Ada ").map(|n| n.0), Ok("Ada".to_owned()));
        assert!(UserName::parse("   ").is_err());
        assert!(UserName::parse(&"é".repeat(100)).is_ok());
        assert!(UserName::parse(&"é".repeat(101)).is_err());
        assert!(UserName::parse("Ada\u{0}").is_err());
    }

    #[test]
    fn reports_every_invalid_field() {
        let errors = NewAccount::parse("nope", "", "short".to_owned()).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "name", "password"]);
    }

    #[test]
    fn email_keys_ignore_case() {
        assert_eq!(email_key(" Ada@Example.COM"), "ada@example.com");
    }
}
