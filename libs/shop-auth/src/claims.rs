//! What a token says about its bearer.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// The `iss` of every token: only the users service signs them.
pub const ISSUER: &str = "harbor-shop-users";

/// The `aud` of every token: the shop's services, which all accept the same tokens.
pub const AUDIENCE: &str = "harbor-shop";

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Shops for itself.
    Customer,
    /// Also manages the catalog and sees every order.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown role name.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Self::Customer),
            "admin" => Ok(Self::Admin),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// The claims of a Harbor Shop access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account's id.
    pub sub: Uuid,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: i64,
    /// This token's own id: what signing out revokes (the users service keeps the ids of
    /// revoked tokens until they expire).
    pub jti: Uuid,
}

impl Claims {
    /// Claims for `sub`, issued now by [`ISSUER`] for [`AUDIENCE`], valid for `ttl`.
    pub fn new(sub: Uuid, role: Role, ttl: Duration) -> Self {
        let iat = time::OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Self {
            sub,
            role,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: iat.saturating_add(ttl),
            iat,
            jti: Uuid::new_v4(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_lowercase_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&Role::Admin).ok().as_deref(),
            Some("\"admin\"")
        );
        assert_eq!("customer".parse::<Role>().ok(), Some(Role::Customer));
        assert!("Admin".parse::<Role>().is_err());
    }

    #[test]
    fn new_claims_expire_after_the_ttl() {
        let claims = Claims::new(Uuid::now_v7(), Role::Customer, Duration::from_secs(60));
        assert_eq!(claims.exp - claims.iat, 60);
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.aud, AUDIENCE);
    }
}
