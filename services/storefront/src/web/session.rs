//! What the shop remembers of a visitor between pages, in two cookies: the session (CSRF
//! token, and once signed in the access token and who it is) and the cart.
//!
//! Each cookie is sealed by the `cookie` crate's private jar: AES-256-GCM under a key
//! derived from `SESSION_SECRET` (HKDF), with the cookie's name as associated data. The
//! browser can neither read it (the access token inside stays the server's) nor change it,
//! nor move one cookie's value into another. Inside the seal is its expiry: `Max-Age` only
//! asks the browser to forget it, while a copy kept elsewhere is refused once the time
//! has passed. It is `HttpOnly` (no script reads it), `SameSite=Lax` (no cross-site form
//! post carries it) and, outside plain-HTTP development, `Secure`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, Key, SameSite};
use http::HeaderMap;
use http::header::COOKIE;
use rand_core::{OsRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "shop_session";
pub const CART_COOKIE: &str = "shop_cart";

/// The shortest `SESSION_SECRET`: the key derivation needs 256 bits of secret.
pub const MIN_SECRET_BYTES: usize = 32;

/// `SESSION_SECRET` is set but shorter than [`MIN_SECRET_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error("SESSION_SECRET has {0} bytes; at least {MIN_SECRET_BYTES} are needed")]
pub struct SecretTooShort(pub usize);

/// Seals and opens cookies, and writes their `Set-Cookie` headers.
#[derive(Clone)]
pub struct CookieJar {
    key: Key,
    secure: bool,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieJar")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

/// What is sealed in a cookie: the value and when it stops being accepted.
#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    /// Seconds since the Unix epoch.
    expires_at: i64,
    value: T,
}

impl CookieJar {
    /// `secret` keys the cookies; empty means a random key for this process.
    pub fn new(secret: &str, secure: bool) -> Result<Self, SecretTooShort> {
        let key = if secret.is_empty() {
            tracing::warn!("SESSION_SECRET is not set: sessions end when the storefront restarts");
            Key::generate()
        } else if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretTooShort(secret.len()));
        } else {
            Key::derive_from(secret.as_bytes())
        };
        Ok(Self { key, secure })
    }

    /// The cookie `name` of the request, if present, sealed by us and not expired.
    pub fn read<T: DeserializeOwned>(&self, headers: &HeaderMap, name: &str) -> Option<T> {
        let value = cookie_value(headers, name)?;
        let mut jar = cookie::CookieJar::new();
        jar.add_original(Cookie::new(name.to_owned(), value.to_owned()));
        let opened = jar.private(&self.key).get(name)?;
        let sealed: Sealed<T> = serde_json::from_str(opened.value()).ok()?;
        (sealed.expires_at > OffsetDateTime::now_utc().unix_timestamp()).then_some(sealed.value)
    }

    /// A `Set-Cookie` value storing `value` under `name` for `max_age_seconds`.
    pub fn write<T: Serialize>(&self, name: &str, value: &T, max_age_seconds: u64) -> String {
        let max_age = i64::try_from(max_age_seconds).unwrap_or(i64::MAX);
        let sealed = Sealed {
            expires_at: OffsetDateTime::now_utc()
                .unix_timestamp()
                .saturating_add(max_age),
            value,
        };
        // Our own types: serialising them cannot fail.
        let json = serde_json::to_string(&sealed).unwrap_or_default();
        let mut jar = cookie::CookieJar::new();
        jar.private_mut(&self.key)
            .add(self.cookie(name, json, max_age));
        jar.get(name)
            .map(|sealed| sealed.to_string())
            .unwrap_or_default()
    }

    /// A `Set-Cookie` value that removes the cookie `name`.
    pub fn remove(&self, name: &str) -> String {
        self.cookie(name, String::new(), 0).to_string()
    }

    fn cookie(&self, name: &str, value: String, max_age_seconds: i64) -> Cookie<'static> {
        Cookie::build((name.to_owned(), value))
            .path("/")
            .max_age(time::Duration::seconds(max_age_seconds))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build()
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A signed-in customer, as the users service described them at sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    /// The bearer token for the services behind the storefront.
    pub access_token: String,
    /// When the token expires, in seconds since the Unix epoch: the session with it.
    pub expires_at: i64,
    /// When the users service last said the token stands (not signed out), likewise.
    pub checked_at: i64,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// Seconds the session has left: until its token expires.
    pub fn seconds_left(&self) -> u64 {
        let left = self.expires_at - OffsetDateTime::now_utc().unix_timestamp();
        u64::try_from(left).unwrap_or(0)
    }

    /// Whether `interval` has passed since the users service last confirmed the token.
    pub fn due_for_check(&self, interval: std::time::Duration) -> bool {
        let since = OffsetDateTime::now_utc().unix_timestamp() - self.checked_at;
        u64::try_from(since).map_or(true, |since| since >= interval.as_secs())
    }
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A visitor's session: every visitor has one, signed in or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The synchronizer token every form of this session carries (see `web::form`).
    pub csrf: String,
    pub account: Option<Account>,
}

impl Session {
    /// A session for a new visitor.
    pub fn anonymous() -> Self {
        Self {
            csrf: URL_SAFE_NO_PAD.encode(random_bytes::<32>()),
            account: None,
        }
    }

    /// A new session for `account`: a new CSRF token too, so none seen before signing in
    /// is any good after it.
    pub fn signed_in(account: Account) -> Self {
        Self {
            account: Some(account),
            ..Self::anonymous()
        }
    }

    /// Whether `token`, from a submitted form, is this session's.
    pub fn accepts(&self, token: &str) -> bool {
        !token.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// One line of the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: Uuid,
    pub quantity: u32,
}

/// The cart: products and quantities, and the idempotency key its checkout will use.
///
/// The key changes with the cart's content, so submitting the same cart twice (a double
/// click, a reload) places one order, and a changed cart is a new one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    pub checkout_key: Uuid,
}

/// The most of one product a cart holds, and the most lines.
pub const MAX_QUANTITY: u32 = 99;
pub const MAX_LINES: usize = 30;

impl Default for Cart {
    fn default() -> Self {
        Self {
            lines: Vec::new(),
            checkout_key: Uuid::new_v4(),
        }
    }
}

impl Cart {
    /// Adds `quantity` of a product (capped at [`MAX_QUANTITY`]).
    pub fn add(&mut self, product_id: Uuid, quantity: u32) {
        let room = self.lines.len() < MAX_LINES;
        match self.lines.iter_mut().find(|l| l.product_id == product_id) {
            Some(line) => line.quantity = (line.quantity + quantity).min(MAX_QUANTITY),
            None if room => self.lines.push(CartLine {
                product_id,
                quantity: quantity.min(MAX_QUANTITY),
            }),
            None => return,
        }
        self.checkout_key = Uuid::new_v4();
    }

    /// Sets a product's quantity; 0 removes it.
    pub fn set(&mut self, product_id: Uuid, quantity: u32) {
        if quantity == 0 {
            self.lines.retain(|l| l.product_id != product_id);
        } else if let Some(line) = self.lines.iter_mut().find(|l| l.product_id == product_id) {
            line.quantity = quantity.min(MAX_QUANTITY);
        }
        self.checkout_key = Uuid::new_v4();
    }

    pub fn count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request_with(set_cookie: &str) -> HeaderMap {
        let pair = set_cookie.split(';').next().unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(pair).expect("header"));
        headers
    }

    const SECRET: &str = "a test secret that is long enough!";

    #[test]
    fn a_sealed_cookie_reads_back_and_a_changed_or_moved_one_does_not() {
        let jar = CookieJar::new(SECRET, true).expect("long enough");
        let session = Session::anonymous();
        let set = jar.write(SESSION_COOKIE, &session, 60);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
        assert!(set.contains("Max-Age=60"), "{set}");
        let read: Session = jar
            .read(&request_with(&set), SESSION_COOKIE)
            .expect("reads back");
        assert_eq!(read.csrf, session.csrf);

        // Sealed, not just signed: the CSRF token is nowhere in what the browser holds.
        assert!(!set.contains(&session.csrf), "{set}");
        let value = set.split(';').next().unwrap().split_once('=').unwrap().1;
        let mut tampered = value.as_bytes().to_vec();
        tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{SESSION_COOKIE}={}", String::from_utf8(tampered).unwrap());
        assert!(
            jar.read::<Session>(&request_with(&tampered), SESSION_COOKIE)
                .is_none()
        );
        let moved = set.replacen(SESSION_COOKIE, CART_COOKIE, 1);
        assert!(
            jar.read::<Session>(&request_with(&moved), CART_COOKIE)
                .is_none()
        );
        let other_key = CookieJar::new("another secret, just as long!!!!!", true).expect("ok");
        assert!(
            other_key
                .read::<Session>(&request_with(&set), SESSION_COOKIE)
                .is_none()
        );
    }

    #[test]
    fn an_expired_cookie_is_refused_even_if_the_browser_kept_it() {
        let jar = CookieJar::new(SECRET, true).expect("long enough");
        let set = jar.write(SESSION_COOKIE, &Session::anonymous(), 0);
        assert!(
            jar.read::<Session>(&request_with(&set), SESSION_COOKIE)
                .is_none()
        );
    }

    #[test]
    fn a_short_secret_is_refused() {
        let error = CookieJar::new("too short", true).expect_err("9 bytes");
        assert_eq!(
            error.to_string(),
            "SESSION_SECRET has 9 bytes; at least 32 are needed"
        );
        assert!(CookieJar::new("", true).is_ok(), "unset: a random key");
    }

    #[test]
    fn only_the_sessions_own_token_is_accepted() {
        let session = Session::anonymous();
        assert!(session.accepts(&session.csrf.clone()));
        assert!(!session.accepts(""));
        assert!(!session.accepts(&Session::anonymous().csrf));
    }

    #[test]
    fn a_changed_cart_gets_a_new_checkout_key() {
        let mut cart = Cart::default();
        let first = cart.checkout_key;
        cart.add(Uuid::from_u128(1), 2);
        cart.add(Uuid::from_u128(1), 200);
        assert_ne!(cart.checkout_key, first);
        assert_eq!(cart.count(), MAX_QUANTITY);
        cart.set(Uuid::from_u128(1), 0);
        assert!(cart.lines.is_empty());
    }
}
