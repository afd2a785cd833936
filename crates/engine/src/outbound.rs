//! Where requests to merchants' URLs may go. A webhook's URL is the merchant's
//! to choose, so unchecked it could reach what only the gateway's host can:
//! its own listeners (the admin API; the v1 API, with a valid signature), the
//! cloud's metadata service, services on the private network.
//! [`OutboundPolicy`] says which addresses are refused; [`OutboundClient`]
//! resolves a name once, checks every address, and has reqwest connect only
//! to the addresses that passed: reqwest never looks the name up itself, so a
//! name cannot answer one address to the check and another to the connection
//! (DNS rebinding).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{RequestBuilder, Response, Url};

/// Which addresses requests to merchants' URLs may reach.
///
/// - The gateway's own listeners and link-local addresses (169.254.0.0/16,
///   fe80::/10: the cloud's metadata service and its credentials) are refused
///   in every mode.
/// - Addresses that are no unicast host on any network (multicast, broadcast,
///   documentation, reserved) are refused in every mode.
/// - Loopback and private addresses (RFC 1918, 100.64.0.0/10, fc00::/7) are
///   allowed with simulated money (integrators test with receivers on their
///   machine) and refused with live money unless the operator allows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    live: bool,
    allow_private: bool,
    own_listeners: Vec<SocketAddr>,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy::simulated()
    }
}

/// Why a request was not sent; its text names the address and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an address is, as far as reaching it from the gateway goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Public,
    /// This host: loopback, and the unspecified address, which a connection
    /// turns into this host.
    Loopback,
    Private,
    LinkLocal,
    /// Multicast, broadcast, documentation and reserved ranges.
    NoHost,
}

impl OutboundPolicy {
    /// `live`: real money moves (loopback and private refused unless
    /// `allow_private`); `own_listeners`: the addresses the gateway's
    /// listeners are bound to.
    pub fn new(live: bool, allow_private: bool, own_listeners: Vec<SocketAddr>) -> OutboundPolicy {
        OutboundPolicy {
            live,
            allow_private,
            own_listeners,
        }
    }

    /// Simulated money and no listener known (the sandbox's tools, benches).
    pub fn simulated() -> OutboundPolicy {
        OutboundPolicy::new(false, false, Vec::new())
    }

    /// Whether a request may connect to `target`.
    pub fn check(&self, target: SocketAddr) -> Result<(), Refusal> {
        let ip = unwrap_ipv4(target.ip());
        let target = SocketAddr::new(ip, target.port());
        if self.is_own(target) {
            return Err(Refusal(format!("{target} is this gateway's own listener")));
        }
        let private_allowed = !self.live || self.allow_private;
        let refused = match reach(ip) {
            Reach::Public => return Ok(()),
            Reach::Loopback | Reach::Private if private_allowed => return Ok(()),
            Reach::Loopback => "loopback (allowed with live money only by allow_private_webhooks)",
            Reach::Private => {
                "a private address (allowed with live money only by allow_private_webhooks)"
            }
            Reach::LinkLocal => "link-local, where cloud metadata services answer",
            Reach::NoHost => "not a unicast host address",
        };
        Err(Refusal(format!("{target} is {refused}")))
    }

    /// Of the addresses `host` resolved to, those a request may connect to;
    /// refused when none may.
    pub fn allowed(
        &self,
        host: &str,
        resolved: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        let mut allowed = Vec::new();
        let mut first_refused = None;
        for address in resolved {
            match self.check(address) {
                Ok(()) => allowed.push(address),
                Err(refusal) => {
                    first_refused.get_or_insert(refusal);
                }
            }
        }
        match first_refused {
            _ if !allowed.is_empty() => Ok(allowed),
            Some(refusal) => Err(Refusal(format!("{host} resolves to {refusal}"))),
            None => Err(Refusal(format!("{host} resolves to no address"))),
        }
    }

    /// A listener bound to one address is reached at it and, on its port, at
    /// any loopback or the unspecified address; one bound to the unspecified
    /// address at any address of this host.
    fn is_own(&self, target: SocketAddr) -> bool {
        let ip = target.ip();
        self.own_listeners.iter().any(|listener| {
            let bound = unwrap_ipv4(listener.ip());
            listener.port() == target.port()
                && (ip == bound
                    || ip.is_loopback()
                    || ip.is_unspecified()
                    || (bound.is_unspecified() && is_this_hosts(ip)))
        })
    }
}

/// Whether `ip` is one of this host's addresses: only those can be bound.
fn is_this_hosts(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`, NAT64's
/// `64:ff9b::127.0.0.1`) is checked as the IPv4 address it reaches.
fn unwrap_ipv4(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let [a, b, c, d, e, f, ..] = v6.segments();
            if [a, b, c, d, e, f] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [.., w, x, y, z] = v6.octets();
                return IpAddr::V4(Ipv4Addr::new(w, x, y, z));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || ip.is_loopback() {
        Reach::Loopback
    } else if ip.is_link_local() {
        Reach::LinkLocal
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // RFC 1918, and carrier-grade NAT's shared space (also VPN overlays').
        Reach::Private
    } else if a == 0
        || a >= 224
        || ip.is_documentation()
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
    {
        // "This network", multicast, reserved and broadcast, documentation,
        // protocol assignments, benchmarking.
        Reach::NoHost
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let segments = ip.segments();
    let first = segments[0];
    if ip.is_unspecified() || ip.is_loopback() {
        Reach::Loopback
    } else if first & 0xffc0 == 0xfe80 {
        Reach::LinkLocal
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        // Unique local, and the deprecated site-local.
        Reach::Private
    } else if ip.is_multicast()
        || (first == 0x2001 && segments[1] == 0x0db8)
        || segments[..6] == [0; 6]
    {
        // Multicast, documentation, IPv4-compatible (deprecated).
        Reach::NoHost
    } else {
        Reach::Public
    }
}

/// The addresses each name was resolved to and checked, for the requests in
/// flight to it: what reqwest connects to.
#[derive(Debug, Default)]
struct Pins(Mutex<HashMap<String, Pin>>);

#[derive(Debug)]
struct Pin {
    addresses: Vec<SocketAddr>,
    /// Requests in flight to the name; the pin goes with the last.
    requests: usize,
}

impl Pins {
    /// Requests to `host` connect to `addresses` until the returned guard is
    /// dropped. Two requests to one name at once share the later answer:
    /// either way every address reqwest gets passed the check.
    fn hold(self: &Arc<Self>, host: &str, addresses: Vec<SocketAddr>) -> Held {
        let mut pins = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let pin = pins.entry(host.to_owned()).or_insert(Pin {
            addresses: Vec::new(),
            requests: 0,
        });
        pin.addresses = addresses;
        pin.requests = pin.requests.saturating_add(1);
        Held {
            pins: Arc::clone(self),
            host: host.to_owned(),
        }
    }

    fn addresses(&self, host: &str) -> Option<Vec<SocketAddr>> {
        let pins = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        pins.get(host).map(|pin| pin.addresses.clone())
    }
}

/// Keeps one request's checked addresses pinned while it runs.
#[derive(Debug)]
struct Held {
    pins: Arc<Pins>,
    host: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut pins = self.pins.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pin) = pins.get_mut(&self.host) {
            pin.requests = pin.requests.saturating_sub(1);
            if pin.requests == 0 {
                pins.remove(&self.host);
            }
        }
    }
}

/// reqwest's resolver: answers from the pins only, never from DNS.
#[derive(Debug)]
struct PinnedResolver(Arc<Pins>);

impl Resolve for PinnedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let found = self.0.addresses(&host);
        Box::pin(async move {
            match found {
                Some(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                None => Err(format!("{host} was not resolved and checked first").into()),
            }
        })
    }
}

/// The HTTP client of requests to merchants' URLs: every request's address is
/// checked by the policy, redirects are never followed (a receiver could
/// otherwise send the request anywhere after the check), and no proxy is
/// used (a proxy would connect to a name the check never saw).
/// Who is calling, on every webhook: `ccgate/0.1.0`.
pub const USER_AGENT: &str = concat!("ccgate/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    pins: Arc<Pins>,
    policy: Arc<OutboundPolicy>,
    timeout: Duration,
}

impl OutboundClient {
    /// `timeout` bounds a request, its name's lookup included.
    pub fn new(timeout: Duration, policy: OutboundPolicy) -> Result<OutboundClient, String> {
        let pins = Arc::new(Pins::default());
        let client = reqwest::Client::builder()
            // `Appid`, not `appid`: merchants' code often reads header names
            // case-sensitively, as CCPayment writes them.
            .http1_title_case_headers()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PinnedResolver(Arc::clone(&pins))))
            .build()
            .map_err(|err| err.to_string())?;
        Ok(OutboundClient {
            client,
            pins,
            policy: Arc::new(policy),
            timeout,
        })
    }

    pub fn with_policy(mut self, policy: OutboundPolicy) -> OutboundClient {
        self.policy = Arc::new(policy);
        self
    }

    /// POSTs to `url` the request `build` makes, if the policy allows its
    /// address. `Err` says why nothing was answered, as a delivery log shows
    /// it: `refused: …`, `could not resolve …`, `timed out`, `could not connect`.
    pub async fn post(
        &self,
        url: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, String> {
        let started = Instant::now();
        let url = Url::parse(url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| "refused: the URL is not an http:// or https:// URL".to_owned())?;
        let port = url.port_or_known_default().unwrap_or(80);
        let _held = match url.host() {
            None => return Err("refused: the URL has no host".to_owned()),
            Some(url::Host::Ipv4(ip)) => {
                self.checked(SocketAddr::new(IpAddr::V4(ip), port))?;
                None
            }
            Some(url::Host::Ipv6(ip)) => {
                self.checked(SocketAddr::new(IpAddr::V6(ip), port))?;
                None
            }
            Some(url::Host::Domain(host)) => {
                let resolved =
                    tokio::time::timeout(self.timeout, tokio::net::lookup_host((host, port)))
                        .await
                        .map_err(|_| format!("could not resolve {host}: timed out"))?
                        .map_err(|err| format!("could not resolve {host}: {err}"))?;
                let allowed = self
                    .policy
                    .allowed(host, resolved)
                    .map_err(|refusal| format!("refused: {refusal}"))?;
                Some(self.pins.hold(host, allowed))
            }
        };
        let left = self.timeout.saturating_sub(started.elapsed());
        build(self.client.post(url.clone()).timeout(left))
            .send()
            .await
            .map_err(|err| describe(&err))
    }

    fn checked(&self, target: SocketAddr) -> Result<(), String> {
        self.policy
            .check(target)
            .map_err(|refusal| format!("refused: {refusal}"))
    }
}

/// A transport failure as a delivery log shows it; reqwest's own text for
/// anything but the common two.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        format!("transport error: {error}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn live(allow_private: bool) -> OutboundPolicy {
        OutboundPolicy::new(true, allow_private, Vec::new())
    }

    /// A receiver on a free loopback port giving every connection `answer`
    /// (a whole HTTP response); counts the connections it accepts.
    struct Receiver {
        address: SocketAddr,
        connections: Arc<AtomicUsize>,
    }

    impl Receiver {
        async fn start(answer: String) -> Receiver {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let connections = Arc::new(AtomicUsize::new(0));
            let counted = Arc::clone(&connections);
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let answer = answer.clone();
                    tokio::spawn(async move {
                        // The request's head and small body arrive in one read.
                        let mut request = [0u8; 4096];
                        let _ = stream.read(&mut request).await;
                        let _ = stream.write_all(answer.as_bytes()).await;
                    });
                }
            });
            Receiver {
                address,
                connections,
            }
        }

        async fn ok() -> Receiver {
            Receiver::start(
                "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nsuccess"
                    .to_owned(),
            )
            .await
        }

        fn connections(&self) -> usize {
            self.connections.load(Ordering::SeqCst)
        }
    }

    async fn post(policy: OutboundPolicy, url: &str) -> Result<u16, String> {
        let client = OutboundClient::new(TIMEOUT, policy).unwrap();
        client
            .post(url, |request| request.body("{}"))
            .await
            .map(|response| response.status().as_u16())
    }

    #[test]
    fn addresses_are_classified_with_ipv4_inside_ipv6_unwrapped() {
        let cases = [
            ("127.0.0.1", Reach::Loopback),
            ("127.8.9.1", Reach::Loopback),
            ("0.0.0.0", Reach::Loopback),
            ("::1", Reach::Loopback),
            ("::", Reach::Loopback),
            ("::ffff:127.0.0.1", Reach::Loopback),
            ("64:ff9b::7f00:1", Reach::Loopback),
            ("10.1.2.3", Reach::Private),
            ("172.16.0.1", Reach::Private),
            ("192.168.1.1", Reach::Private),
            ("100.64.0.1", Reach::Private),
            ("::ffff:10.0.0.1", Reach::Private),
            ("fd12::1", Reach::Private),
            ("169.254.169.254", Reach::LinkLocal),
            ("::ffff:169.254.169.254", Reach::LinkLocal),
            ("fe80::1", Reach::LinkLocal),
            ("224.0.0.1", Reach::NoHost),
            ("255.255.255.255", Reach::NoHost),
            ("192.0.2.1", Reach::NoHost),
            ("0.1.2.3", Reach::NoHost),
            ("ff02::1", Reach::NoHost),
            ("2001:db8::1", Reach::NoHost),
            ("::7f00:1", Reach::NoHost),
            ("93.184.216.34", Reach::Public),
            ("100.128.0.1", Reach::Public),
            ("2606:4700::1111", Reach::Public),
            ("::ffff:93.184.216.34", Reach::Public),
        ];
        for (ip, expected) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(reach(unwrap_ipv4(ip)), expected, "{ip}");
        }
    }

    #[test]
    fn loopback_and_private_are_refused_with_live_money_unless_allowed() {
        for target in [
            "127.0.0.1:9000",
            "[::1]:9000",
            "10.0.0.7:443",
            "[fd00::1]:80",
        ] {
            assert_eq!(OutboundPolicy::simulated().check(at(target)), Ok(()));
            assert_eq!(live(true).check(at(target)), Ok(()), "{target}");
            assert!(live(false).check(at(target)).is_err(), "{target}");
        }
        assert_eq!(
            live(false).check(at("127.0.0.1:9000")),
            Err(Refusal(
                "127.0.0.1:9000 is loopback (allowed with live money only by allow_private_webhooks)"
                    .to_owned()
            ))
        );
        assert_eq!(live(false).check(at("93.184.216.34:443")), Ok(()));
    }

    #[test]
    fn link_local_is_refused_in_every_mode() {
        for policy in [OutboundPolicy::simulated(), live(true), live(false)] {
            assert_eq!(
                policy.check(at("169.254.169.254:80")),
                Err(Refusal(
                    "169.254.169.254:80 is link-local, where cloud metadata services answer"
                        .to_owned()
                ))
            );
            assert!(policy.check(at("[fe80::1]:80")).is_err());
            assert!(policy.check(at("[::ffff:169.254.169.254]:80")).is_err());
        }
    }

    #[test]
    fn the_gateways_own_listeners_are_refused_in_every_mode() {
        let own = vec![at("127.0.0.1:8080"), at("127.0.0.1:41000")];
        for (live, allow_private) in [(false, false), (true, true)] {
            let policy = OutboundPolicy::new(live, allow_private, own.clone());
            for target in [
                "127.0.0.1:8080",
                "127.0.0.2:8080",
                "0.0.0.0:8080",
                "[::1]:8080",
                "[::ffff:127.0.0.1]:41000",
            ] {
                assert_eq!(
                    policy.check(at(target)),
                    Err(Refusal(format!(
                        "{} is this gateway's own listener",
                        SocketAddr::new(unwrap_ipv4(at(target).ip()), at(target).port())
                    ))),
                    "{target}"
                );
            }
            // Another port of this host is another program.
            assert_eq!(policy.check(at("127.0.0.1:9000")), Ok(()));
        }
        // Bound to every address: each address of this host on that port is its own.
        let everywhere = OutboundPolicy::new(false, false, vec![at("0.0.0.0:8080")]);
        assert!(everywhere.check(at("127.0.0.1:8080")).is_err());
        assert!(everywhere.check(at("[::]:8080")).is_err());
        assert_eq!(everywhere.check(at("93.184.216.34:8080")), Ok(()));
    }

    #[test]
    fn a_name_keeps_only_its_allowed_addresses() {
        let policy = live(false);
        let resolved = [
            at("127.0.0.1:443"),
            at("93.184.216.34:443"),
            at("10.0.0.1:443"),
        ];
        assert_eq!(
            policy.allowed("shop.example", resolved),
            Ok(vec![at("93.184.216.34:443")])
        );
        assert_eq!(
            policy.allowed("public-looking.example", [at("127.0.0.1:443")]),
            Err(Refusal(
                "public-looking.example resolves to 127.0.0.1:443 is loopback (allowed with live \
                 money only by allow_private_webhooks)"
                    .to_owned()
            ))
        );
        assert!(
            policy
                .allowed("metadata.example", [at("169.254.169.254:80")])
                .is_err()
        );
        assert!(policy.allowed("nothing.example", []).is_err());
    }

    #[tokio::test]
    async fn the_resolver_answers_only_pinned_addresses_and_forgets_them() {
        let pins = Arc::new(Pins::default());
        let resolver = PinnedResolver(Arc::clone(&pins));
        let name = |host: &str| host.parse::<Name>().unwrap();
        // Never a lookup of its own: localhost resolves, but not here.
        assert!(resolver.resolve(name("localhost")).await.is_err());
        let held = pins.hold("shop.example", vec![at("93.184.216.34:443")]);
        let again = pins.hold("shop.example", vec![at("93.184.216.35:443")]);
        let answer: Vec<SocketAddr> = resolver
            .resolve(name("shop.example"))
            .await
            .unwrap()
            .collect();
        assert_eq!(answer, [at("93.184.216.35:443")]);
        drop(held);
        assert!(resolver.resolve(name("shop.example")).await.is_ok());
        drop(again);
        assert!(resolver.resolve(name("shop.example")).await.is_err());
    }

    #[tokio::test]
    async fn a_loopback_receiver_is_refused_with_live_money_unless_allowed() {
        let receiver = Receiver::ok().await;
        let url = format!("http://{}/hook", receiver.address);
        let refused = post(live(false), &url).await.unwrap_err();
        assert!(refused.starts_with("refused: 127.0.0.1:"), "{refused}");
        assert_eq!(receiver.connections(), 0);
        assert_eq!(post(live(true), &url).await, Ok(200));
        assert_eq!(post(OutboundPolicy::simulated(), &url).await, Ok(200));
        assert_eq!(receiver.connections(), 2);
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_and_otherwise_reached_at_its_checked_address()
    {
        let receiver = Receiver::ok().await;
        let url = format!("http://localhost:{}/hook", receiver.address.port());
        let refused = post(live(false), &url).await.unwrap_err();
        assert!(
            refused.starts_with("refused: localhost resolves to ")
                && refused.contains("is loopback"),
            "{refused}"
        );
        assert_eq!(receiver.connections(), 0);
        // Allowed, the connection goes to the pinned address (the resolver has no other).
        assert_eq!(post(live(true), &url).await, Ok(200));
        assert_eq!(receiver.connections(), 1);
    }

    #[tokio::test]
    async fn the_gateways_own_listener_and_the_metadata_service_are_refused() {
        let gateway = Receiver::ok().await;
        let own = OutboundPolicy::new(false, false, vec![gateway.address]);
        let url = format!(
            "http://127.0.0.1:{}/ccpayment/v1/withdraw",
            gateway.address.port()
        );
        assert_eq!(
            post(own.clone(), &url).await,
            Err(format!(
                "refused: {} is this gateway's own listener",
                gateway.address
            ))
        );
        let by_name = format!("http://localhost:{}/admin", gateway.address.port());
        assert!(
            post(own, &by_name)
                .await
                .unwrap_err()
                .contains("own listener")
        );
        assert_eq!(gateway.connections(), 0);
        assert_eq!(
            post(OutboundPolicy::simulated(), "http://169.254.169.254/latest").await,
            Err(
                "refused: 169.254.169.254:80 is link-local, where cloud metadata services answer"
                    .to_owned()
            )
        );
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let elsewhere = Receiver::ok().await;
        let redirecting = Receiver::start(format!(
            "HTTP/1.1 302 Found\r\nLocation: http://{}/hook\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            elsewhere.address
        ))
        .await;
        let url = format!("http://{}/hook", redirecting.address);
        assert_eq!(post(OutboundPolicy::simulated(), &url).await, Ok(302));
        assert_eq!(redirecting.connections(), 1);
        assert_eq!(elsewhere.connections(), 0);
    }

    #[tokio::test]
    async fn urls_that_are_not_http_are_refused() {
        for url in ["ftp://x/", "javascript:alert(1)", "not a url"] {
            let refused = post(OutboundPolicy::simulated(), url).await.unwrap_err();
            assert!(refused.starts_with("refused: "), "{url}: {refused}");
        }
    }
}
