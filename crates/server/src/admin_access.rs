//! Who may use the admin API (decisions §2): a request must be addressed to
//! the listener itself (its `Host`, so a web page cannot reach it through DNS
//! rebinding), come from no web page (no `Origin`), and carry the admin token.
//! Checked in that order, before any route, the unknown ones included.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;

/// The admin token and the names the listener answers to.
#[derive(Debug, Clone)]
pub struct AdminAccess(Arc<Access>);

#[derive(Debug)]
struct Access {
    token: SecretString,
    /// Every `Host` value accepted, lowercase (`127.0.0.1:8081`, …).
    hosts: Vec<String>,
}

impl AdminAccess {
    /// `listener` is the admin listener's own address; `operator_hosts` the
    /// names the operator reaches it by (`--admin-host`): `NAME` on the
    /// listener's port, `NAME:PORT` as written.
    pub fn new(token: SecretString, listener: SocketAddr, operator_hosts: &[String]) -> Self {
        let port = listener.port();
        let own = match listener {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        };
        let mut hosts = vec![format!("{own}:{port}"), format!("localhost:{port}")];
        for name in operator_hosts
            .iter()
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
        {
            // A name may carry the port it is reached by (a proxy's, say).
            let has_port = !name.ends_with(']')
                && name
                    .rsplit_once(':')
                    .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
            hosts.push(if has_port {
                name
            } else {
                format!("{name}:{port}")
            });
        }
        // A client leaves the port out of `Host` when it is HTTP's own.
        let bare: Vec<String> = hosts
            .iter()
            .filter_map(|host| host.strip_suffix(":80").map(str::to_owned))
            .collect();
        hosts.extend(bare);
        AdminAccess(Arc::new(Access { token, hosts }))
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.0.hosts.contains(&host)
    }

    fn holds_token(&self, presented: &str) -> bool {
        let expected = self.0.token.expose_secret().as_bytes();
        bool::from(expected.ct_eq(presented.as_bytes()))
    }
}

/// The middleware in front of every admin route.
pub async fn guard(State(access): State<AdminAccess>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if !headers.contains_key(HOST) {
        return forbidden("the request has no Host header; the admin API needs one");
    }
    // Every Host header, and the target's host in absolute form, must be ours.
    let named = headers
        .get_all(HOST)
        .iter()
        .map(|value| value.to_str().unwrap_or("(not readable text)"))
        .chain(
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str()),
        );
    for name in named {
        if !access.allows_host(name) {
            return forbidden(&format!(
                "the admin API answers only requests addressed to it ({}), not to {name:?}; \
                 add a name it is reached by with --admin-host (CCGATE_ADMIN_HOSTS)",
                access.0.hosts.join(", ")
            ));
        }
    }
    if headers.contains_key(ORIGIN) {
        return forbidden(
            "the admin API refuses requests sent by web pages (this one has an Origin header); \
             use the ccgate CLI, curl or a script",
        );
    }
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        None => unauthorized(
            "the admin API needs its token: send `Authorization: Bearer TOKEN`, the token being \
             in admin.token in the server's data directory (or CCGATE_ADMIN_TOKEN)",
        ),
        Some(token) if !access.holds_token(token) => unauthorized(
            "the admin token is wrong: it is in admin.token in the server's data directory \
             (or CCGATE_ADMIN_TOKEN, if the server was started with it)",
        ),
        Some(_) => next.run(request).await,
    }
}

fn forbidden(message: &str) -> Response {
    (StatusCode::FORBIDDEN, Json(json!({ "error": message }))).into_response()
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(WWW_AUTHENTICATE, "Bearer")],
        Json(json!({ "error": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn access(listener: SocketAddr, operator_hosts: &[&str]) -> AdminAccess {
        let names: Vec<String> = operator_hosts.iter().map(|&name| name.to_owned()).collect();
        AdminAccess::new(
            SecretString::from("0123456789abcdef0123456789abcdef"),
            listener,
            &names,
        )
    }

    fn loopback(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    #[test]
    fn the_listener_answers_to_its_own_address_and_localhost_only() {
        let v4 = access(loopback(8081), &[]);
        assert!(v4.allows_host("127.0.0.1:8081"));
        assert!(v4.allows_host("LOCALHOST:8081"));
        assert!(!v4.allows_host("127.0.0.1"));
        assert!(!v4.allows_host("127.0.0.1:8082"));
        assert!(!v4.allows_host("evil.example:8081"));
        let v6 = access(SocketAddr::from((Ipv6Addr::LOCALHOST, 8081)), &[]);
        assert!(v6.allows_host("[::1]:8081"));
        assert!(!v6.allows_host("127.0.0.1:8081"));
        let http_port = access(loopback(80), &[]);
        assert!(http_port.allows_host("localhost"));
    }

    #[test]
    fn operator_names_are_accepted_with_the_listener_port_or_their_own() {
        let access = access(loopback(8081), &["Admin.Internal", " proxy:9000 ", ""]);
        assert!(access.allows_host("admin.internal:8081"));
        assert!(access.allows_host("proxy:9000"));
        assert!(!access.allows_host("admin.internal"));
        assert!(!access.allows_host(":8081"));
    }

    #[test]
    fn the_token_must_match_exactly() {
        let access = access(loopback(8081), &[]);
        assert!(access.holds_token("0123456789abcdef0123456789abcdef"));
        assert!(!access.holds_token("0123456789abcdef0123456789abcdeF"));
        assert!(!access.holds_token("0123456789abcdef"));
        assert!(!access.holds_token(""));
    }
}
