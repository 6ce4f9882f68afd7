//! Who is on the other end: the client's address, believing `X-Forwarded-For` only as far
//! as proxies we trust wrote it.
//!
//! Every proxy appends the address it was called from, so the header reads
//! `client, proxy1, proxy2` and the connection's peer is the last proxy. Anyone can send
//! the header, though: only the hops appended by proxies we run are true. So the client is
//! found from the right (MDN's "rightmost untrusted address"): starting from the peer,
//! while the address is a trusted proxy, step one hop left. With no trusted proxies (the
//! default) the header is ignored and the peer is the client.
//!
//! Written by hand, not taken from a crate: it is a dozen lines, and the lesson of
//! #14 (a throttle keyed on an address the client chose throttles nothing).

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;
use http::{Extensions, HeaderMap};
use ipnet::IpNet;
use shop_config::ConfigError;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The header each proxy appends its caller's address to.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks whose hosts are proxies of ours (an ingress, the storefront).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// `TRUSTED_PROXIES`' items: networks (`10.0.0.0/8`) or addresses (`127.0.0.1`).
    pub fn parse(items: &[String]) -> Result<Self, ConfigError> {
        let networks = items
            .iter()
            .map(|item| parse_network(item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(networks.into()))
    }

    /// These networks.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self(networks.into_iter().collect())
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|network| network.contains(&addr))
    }

    /// The client's address, given the connection's `peer` and the `X-Forwarded-For`
    /// headers that came with it (several are one list, in order).
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        let mut hops = forwarded_for
            .iter()
            .rev()
            .flat_map(|header| header.rsplit(','));
        while self.trusts(client) {
            let Some(hop) = hops.next() else { break };
            // Garbage was not written by a proxy of ours: the proxy that received it
            // (the address we stand on) is as far as the chain can be believed.
            let Ok(addr) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = addr.to_canonical();
        }
        client
    }
}

fn parse_network(item: &str) -> Result<IpNet, ConfigError> {
    item.parse::<IpNet>()
        .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError::Invalid {
            name: "TRUSTED_PROXIES".to_owned(),
            value: item.to_owned(),
            reason: "not a network (10.0.0.0/8) or an address (127.0.0.1)".to_owned(),
        })
}

/// The client's address, as [`TrustedProxies::client`] finds it. `None` only where the
/// server runs without connect info (a router called directly, as some tests do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The client of a request with these headers and extensions.
    pub fn of(headers: &HeaderMap, extensions: &Extensions) -> Self {
        let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Self(None);
        };
        // The builder puts the service's proxies on every request; without them, none.
        let trusted = extensions
            .get::<TrustedProxies>()
            .cloned()
            .unwrap_or_default();
        let forwarded_for: Vec<&str> = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        Self(Some(trusted.client(peer.ip(), &forwarded_for)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.headers, &parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(networks: &str) -> Vec<String> {
        networks
            .split(',')
            .map(|item| item.trim().to_owned())
            .collect()
    }

    fn trusting(networks: &str) -> TrustedProxies {
        TrustedProxies::parse(&list(networks)).expect("valid networks")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("198.51.100.9"), &["203.0.113.7"]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn a_peer_that_is_not_a_proxy_of_ours_cannot_choose_its_address() {
        let proxies = trusting("10.0.0.0/8");
        assert_eq!(
            proxies.client(ip("198.51.100.9"), &["203.0.113.7"]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn the_rightmost_address_no_proxy_of_ours_has_is_the_client() {
        let proxies = trusting("10.0.0.0/8, 127.0.0.1");
        // The client forged the first hop; the ingress (10.1.2.3) appended the real one.
        let chain = ["192.0.2.66, 203.0.113.7, 10.1.2.3"];
        assert_eq!(proxies.client(ip("127.0.0.1"), &chain), ip("203.0.113.7"));
        // Several headers are one list.
        let split = ["192.0.2.66", "203.0.113.7, 10.1.2.3"];
        assert_eq!(proxies.client(ip("127.0.0.1"), &split), ip("203.0.113.7"));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_proxy_that_received_it() {
        let proxies = trusting("10.0.0.0/8");
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["203.0.113.7, not-an-address"]),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn a_chain_of_proxies_only_ends_at_the_leftmost() {
        let proxies = trusting("10.0.0.0/8");
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["10.9.9.9, 10.0.0.1"]),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_are_their_ipv4_address() {
        let proxies = trusting("127.0.0.1");
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), &["203.0.113.7"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_bad_network_is_refused_by_name() {
        let error = TrustedProxies::parse(&list("10.0.0/8")).expect_err("invalid");
        assert!(error.to_string().starts_with("TRUSTED_PROXIES"), "{error}");
    }
}
