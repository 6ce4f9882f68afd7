//! What the shop remembers of a visitor between pages, in two signed cookies: the session
//! (CSRF token, and once signed in the access token and who it is) and the cart.
//!
//! A cookie is `base64url(json).base64url(HMAC-SHA256(key, name + json))`: the browser can
//! read it but not change it, nor move one cookie's value into another. It is `HttpOnly`
//! (no script reads it), `SameSite=Lax` (no cross-site form post carries it) and, outside
//! plain-HTTP development, `Secure`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use http::header::COOKIE;
use rand_core::{OsRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "shop_session";
pub const CART_COOKIE: &str = "shop_cart";

/// Signs and checks cookies, and writes their `Set-Cookie` headers.
#[derive(Clone)]
pub struct CookieJar {
    key: Arc<[u8]>,
    secure: bool,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieJar")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl CookieJar {
    /// `secret` signs the cookies; empty means a random key for this process.
    pub fn new(secret: &str, secure: bool) -> Self {
        let key: Vec<u8> = if secret.is_empty() {
            tracing::warn!("SESSION_SECRET is not set: sessions end when the storefront restarts");
            random_bytes::<32>().to_vec()
        } else {
            secret.as_bytes().to_vec()
        };
        Self {
            key: key.into(),
            secure,
        }
    }

    fn mac(&self, name: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(name.as_bytes());
        mac.update(b"=");
        mac.update(payload);
        mac
    }

    /// The cookie `name` of the request, if present and signed by us.
    pub fn read<T: DeserializeOwned>(&self, headers: &HeaderMap, name: &str) -> Option<T> {
        let value = cookie_value(headers, name)?;
        let (payload, signature) = value.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(name, &payload).verify_slice(&signature).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// A `Set-Cookie` value storing `value` under `name` for `max_age_seconds`.
    pub fn write<T: Serialize>(&self, name: &str, value: &T, max_age_seconds: u64) -> String {
        let payload = serde_json::to_vec(value).unwrap_or_default();
        let signature = self.mac(name, &payload).finalize().into_bytes();
        let value = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        );
        self.set_cookie(name, &value, max_age_seconds)
    }

    /// A `Set-Cookie` value that removes the cookie `name`.
    pub fn remove(&self, name: &str) -> String {
        self.set_cookie(name, "", 0)
    }

    fn set_cookie(&self, name: &str, value: &str, max_age_seconds: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}")
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
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
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

    #[test]
    fn a_signed_cookie_reads_back_and_a_changed_or_moved_one_does_not() {
        let jar = CookieJar::new("a test secret that is long enough!", true);
        let session = Session::anonymous();
        let set = jar.write(SESSION_COOKIE, &session, 60);
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
        let read: Session = jar
            .read(&request_with(&set), SESSION_COOKIE)
            .expect("reads back");
        assert_eq!(read.csrf, session.csrf);

        let tampered = set.replacen("shop_session=e", "shop_session=f", 1);
        assert!(
            jar.read::<Session>(&request_with(&tampered), SESSION_COOKIE)
                .is_none()
        );
        let moved = set.replacen(SESSION_COOKIE, CART_COOKIE, 1);
        assert!(
            jar.read::<Session>(&request_with(&moved), CART_COOKIE)
                .is_none()
        );
        let other_key = CookieJar::new("another secret, just as long!!!!!", true);
        assert!(
            other_key
                .read::<Session>(&request_with(&set), SESSION_COOKIE)
                .is_none()
        );
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
