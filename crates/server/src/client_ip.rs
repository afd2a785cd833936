//! Which client a request comes from, behind reverse proxies (decisions §5):
//! the socket peer, unless that peer is a trusted proxy — then the rightmost
//! address of the forwarding chain that is not itself a trusted proxy.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::FORWARDED;
pub use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose forwarding headers are believed. Empty by default: then
/// no header can change whom a request is counted against.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> TrustedProxies {
        TrustedProxies(nets.into())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }
}

/// A trusted proxy as given on the command line: a CIDR range, or one
/// address. A range of prefix length 0 is refused: it would believe any
/// client's word about who it is.
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => text
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("`{text}` is neither a CIDR range (10.0.0.0/8) nor an address"))?,
    };
    if net.prefix_len() == 0 {
        return Err(format!(
            "`{text}` trusts every address on the internet: any client could then pick \
             the address it is rate limited as; list your proxies' addresses"
        ));
    }
    Ok(net.trunc())
}

/// The client behind `peer`. From an untrusted peer, forwarding headers are
/// ignored. From a trusted one, `X-Forwarded-For` is read (or, without it,
/// `Forwarded: for=`) from the right: each proxy appends the address it saw,
/// so the rightmost entry not belonging to a trusted proxy is the first one
/// no trusted party can vouch beyond. An entry that is not an address ends the
/// walk at the last address that was one, so garbage never earns its own bucket.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    if headers.contains_key(X_FORWARDED_FOR) {
        let hops = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .rev()
            .flat_map(|value| value.to_str().unwrap_or("").rsplit(','))
            .map(parse_node);
        rightmost_untrusted(peer, hops, trusted)
    } else {
        let hops = headers
            .get_all(FORWARDED)
            .iter()
            .rev()
            .flat_map(|value| value.to_str().unwrap_or("").rsplit(','))
            .map(|element| {
                element
                    .split(';')
                    .find_map(forwarded_for)
                    .and_then(parse_node)
            });
        rightmost_untrusted(peer, hops, trusted)
    }
}

/// `hops` from the right (`None`: not an address), after the trusted `peer`.
fn rightmost_untrusted(
    peer: IpAddr,
    hops: impl Iterator<Item = Option<IpAddr>>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut client = peer;
    for hop in hops {
        match hop {
            Some(ip) if trusted.contains(ip) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

/// The value of a `for=` pair of a `Forwarded` element (RFC 7239), unquoted.
fn forwarded_for(pair: &str) -> Option<&str> {
    let (name, value) = pair.split_once('=')?;
    name.trim()
        .eq_ignore_ascii_case("for")
        .then(|| value.trim().trim_matches('"'))
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`
/// or `[2001:db8::1]:4711`. `unknown` and obfuscated names are not addresses.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            nets.iter()
                .map(|net| parse_trusted_proxy(net).unwrap())
                .collect(),
        )
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let sent = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        assert_eq!(
            client_ip(ip("198.51.100.7"), &sent, &proxies),
            ip("198.51.100.7")
        );
        let nobody = TrustedProxies::default();
        assert_eq!(client_ip(ip("10.0.0.1"), &sent, &nobody), ip("10.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1"]);
        // The client forged the first entry; the proxy appended what it saw.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &chain, &proxies),
            ip("203.0.113.9")
        );
        // Several header lines are one list, in order.
        let lines = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9:5000"),
        ]);
        assert_eq!(
            client_ip(ip("10.9.9.9"), &lines, &proxies),
            ip("203.0.113.9")
        );
        // Nothing forwarded: the proxy itself.
        assert_eq!(
            client_ip(ip("10.9.9.9"), &HeaderMap::new(), &proxies),
            ip("10.9.9.9")
        );
        // Only proxies in the chain: the leftmost of them.
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(
            client_ip(ip("10.0.0.7"), &all_trusted, &proxies),
            ip("10.0.0.5")
        );
        // IPv4 seen through an IPv6 socket is still the IPv4 proxy.
        let one = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &one, &proxies),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_in_the_chain_stops_at_the_last_trusted_hop() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let chain = headers(&[("x-forwarded-for", "203.0.113.9, not-an-ip, 10.0.0.2")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &chain, &proxies), ip("10.0.0.2"));
        let empty = headers(&[("x-forwarded-for", "")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &empty, &proxies), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let forwarded = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711";by=10.0.0.1, for=10.0.0.3"#,
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &forwarded, &proxies),
            ip("2001:db8:cafe::17")
        );
        let hidden = headers(&[("forwarded", "for=_hidden, for=10.0.0.3")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &hidden, &proxies), ip("10.0.0.3"));
        let both = headers(&[
            ("forwarded", "for=192.0.2.60"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &both, &proxies),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxies_parse_as_ranges_or_addresses_but_never_everyone() {
        assert_eq!(
            parse_trusted_proxy("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_trusted_proxy(" 127.0.0.1 ").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_trusted_proxy("::1").unwrap().to_string(), "::1/128");
        assert!(parse_trusted_proxy("0.0.0.0/0").is_err());
        assert!(parse_trusted_proxy("::/0").is_err());
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("proxy.internal").is_err());
    }
}
