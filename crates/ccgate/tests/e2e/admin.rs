//! Who may use the admin API, through the real binary (decisions §2): its
//! token on every route, `/metrics` included; requests addressed to another
//! `Host` (DNS rebinding) or sent by a web page (`Origin`) refused before the
//! token is looked at; the token file private; the CLI finding the token by
//! itself.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Gateway, HttpResponse};

const BINARY: &str = env!("CARGO_BIN_EXE_ccgate");
const OPERATOR_TOKEN: &str = "operator-chosen-token-0123456789abcdef";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn assert_refused(answer: &HttpResponse, status: u16, says: &str) {
    assert_eq!(answer.status, status, "{}", answer.text());
    let error = answer.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.contains(says), "{says:?} not in {error:?}");
}

/// A CLI command on the gateway's data directory with exactly this
/// environment for the token (`None`: no `CCGATE_ADMIN_TOKEN`).
fn cli_with_token(gateway: &Gateway, args: &[&str], token: Option<&str>) -> Output {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .arg("--data-dir")
        .arg(gateway.data_dir())
        .env("CCGATE_LOG", "error")
        .env_remove("CCGATE_MASTER_KEY")
        .env_remove("CCGATE_ADMIN_TOKEN");
    if let Some(token) = token {
        command.env("CCGATE_ADMIN_TOKEN", token);
    }
    command.output().unwrap()
}

#[test]
fn admin_routes_want_the_token_metrics_and_unknown_routes_too() {
    let gateway = Gateway::start(&["--sandbox"]);
    let app_id = gateway.demo.clone().unwrap().app_id;
    let stream = format!("/admin/webhooks/stream?app_id={app_id}");
    let routes = [
        ("GET", "/metrics"),
        ("GET", "/admin/sandbox/clock"),
        ("POST", "/admin/sandbox/clock/freeze"),
        ("POST", "/admin/devnet/mine"),
        ("POST", "/admin/orders/refund"),
        ("GET", stream.as_str()),
        ("GET", "/admin/no-such-route"),
    ];
    let wrong = bearer(&"0".repeat(64));
    for (method, path) in routes {
        let body: &[u8] = if method == "POST" { b"{}" } else { b"" };
        let without = gateway.admin_request(method, path, &[], body);
        assert_refused(&without, 401, "admin.token");
        assert_eq!(without.header("www-authenticate"), Some("Bearer"));
        let with_wrong = gateway.admin_request(method, path, &[("Authorization", &wrong)], body);
        assert_refused(&with_wrong, 401, "the admin token is wrong");
        assert_eq!(with_wrong.header("www-authenticate"), Some("Bearer"));
        let basic = format!("Basic {}", gateway.admin_token());
        let not_bearer = gateway.admin_request(method, path, &[("Authorization", &basic)], body);
        assert_eq!(not_bearer.status, 401, "{}", not_bearer.text());
    }
    // Nothing refused above ran: the clock was never frozen.
    let clock = gateway.admin_get("/admin/sandbox/clock");
    assert_eq!(clock.status, 200, "{}", clock.text());
    assert_eq!(clock.json()["frozen"], false);
    let metrics = gateway.admin_get("/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.text());
    assert!(metrics.text().contains("ccgate_journal_entries"));
    let lowercase = gateway.admin_request(
        "GET",
        "/metrics",
        &[(
            "Authorization",
            &format!("bearer {}", gateway.admin_token()),
        )],
        b"",
    );
    assert_eq!(lowercase.status, 200, "{}", lowercase.text());
}

#[test]
fn admin_requests_for_another_host_or_from_a_web_page_are_refused_before_the_token() {
    let gateway = Gateway::start(&[]);
    let port = gateway.admin.unwrap().port();
    let token = bearer(gateway.admin_token());
    let rebound = format!("evil.example:{port}");
    let other_port = format!("127.0.0.1:{}", port.wrapping_add(1));
    for host in [rebound.as_str(), other_port.as_str(), "127.0.0.1"] {
        let with_token = gateway.admin_request(
            "GET",
            "/metrics",
            &[("Host", host), ("Authorization", &token)],
            b"",
        );
        assert_refused(&with_token, 403, "answers only requests addressed to it");
        assert_refused(
            &gateway.admin_request("GET", "/metrics", &[("Host", host)], b""),
            403,
            host,
        );
    }
    // The target may name the host too (absolute form): it must be ours as well.
    let absolute = gateway.admin_request(
        "GET",
        &format!("http://{rebound}/metrics"),
        &[("Authorization", &token)],
        b"",
    );
    assert_eq!(absolute.status, 403, "{}", absolute.text());
    let own = gateway.admin.unwrap().to_string();
    let twice = gateway.admin_request(
        "GET",
        "/metrics",
        &[
            ("Host", &own),
            ("Host", &rebound),
            ("Authorization", &token),
        ],
        b"",
    );
    assert_ne!(twice.status, 200, "{}", twice.text());
    let localhost = format!("LocalHost:{port}");
    let by_name = gateway.admin_request(
        "GET",
        "/metrics",
        &[("Host", &localhost), ("Authorization", &token)],
        b"",
    );
    assert_eq!(by_name.status, 200, "{}", by_name.text());

    // What a page on the operator's own machine sends: the right Host (as
    // after DNS rebinding, or a page served from localhost) and its Origin.
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://127.0.0.1:{port}"),
    ] {
        let from_page = gateway.admin_request(
            "POST",
            "/admin/devnet/mine",
            &[
                ("Origin", origin),
                ("Authorization", &token),
                ("Content-Type", "application/json"),
            ],
            br#"{"chain":"ETH"}"#,
        );
        assert_refused(&from_page, 403, "Origin");
        let without_token = gateway.admin_request("GET", "/metrics", &[("Origin", origin)], b"");
        assert_refused(&without_token, 403, "Origin");
    }
}

#[test]
fn the_token_file_is_private_kept_across_restarts_and_checked_by_doctor() {
    let mut gateway = Gateway::start(&["--sandbox"]);
    let token_file = gateway.data_dir().join("admin.token");
    let url_file = gateway.data_dir().join("admin.url");
    assert_eq!(mode(&token_file), 0o600);
    assert_eq!(mode(&url_file), 0o600);
    let token = gateway.admin_token().to_owned();
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    let doctor = String::from_utf8(gateway.cli(&["doctor"]).stdout).unwrap();
    assert!(doctor.contains("ok      admin token"), "{doctor}");

    // The CLI finds the token by itself.
    let shown = gateway.cli_ok(&["sandbox", "clock", "show", "--json"]);
    assert!(shown.contains("\"frozen\""), "{shown}");

    // A server started again keeps its token; a stale admin.url left readable
    // by others (an older version's, or a crash's) is replaced by a private one.
    gateway.kill_hard();
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let gateway = gateway.restart(&["--sandbox"]);
    assert_eq!(gateway.admin_token(), token);
    assert_eq!(mode(&url_file), 0o600);
    assert_eq!(gateway.admin_get("/metrics").status, 200);

    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let doctor = gateway.cli(&["doctor"]);
    let report = String::from_utf8(doctor.stdout).unwrap();
    assert!(!doctor.status.success(), "{report}");
    assert!(
        report.contains("PROBLEM admin token") && report.contains("mode 644"),
        "{report}"
    );

    // A token that is not the server's: the CLI says so.
    std::fs::write(&token_file, "f".repeat(64)).unwrap();
    let refused = gateway.cli(&["sandbox", "clock", "show"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("the admin token is wrong"), "{stderr}");
}

#[test]
fn ccgate_admin_token_and_admin_hosts_are_honoured_by_server_and_cli() {
    let gateway = Gateway::start_with_env(
        &["--sandbox"],
        &[
            ("CCGATE_ADMIN_TOKEN", OPERATOR_TOKEN),
            ("CCGATE_ADMIN_HOSTS", "tunnel.internal, proxy.internal:9000"),
        ],
    );
    assert!(!gateway.data_dir().join("admin.token").exists());
    let port = gateway.admin.unwrap().port();
    let token = bearer(OPERATOR_TOKEN);
    let tunnel = format!("tunnel.internal:{port}");
    for host in [tunnel.as_str(), "proxy.internal:9000"] {
        let answer = gateway.admin_request(
            "GET",
            "/metrics",
            &[("Host", host), ("Authorization", &token)],
            b"",
        );
        assert_eq!(answer.status, 200, "{host}: {}", answer.text());
    }
    let other = gateway.admin_request(
        "GET",
        "/metrics",
        &[("Host", "proxy.internal:9001"), ("Authorization", &token)],
        b"",
    );
    assert_eq!(other.status, 403, "{}", other.text());

    let with_env = cli_with_token(
        &gateway,
        &["sandbox", "clock", "show", "--json"],
        Some(OPERATOR_TOKEN),
    );
    assert!(
        with_env.status.success(),
        "{}",
        String::from_utf8_lossy(&with_env.stderr)
    );
    let without = cli_with_token(&gateway, &["sandbox", "clock", "show"], None);
    assert!(!without.status.success());
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(
        stderr.contains("admin.token") && stderr.contains("CCGATE_ADMIN_TOKEN"),
        "{stderr}"
    );

    // A token anyone could guess is refused at start.
    let elsewhere = tempfile::tempdir().unwrap();
    let weak = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(elsewhere.path())
        .env("CCGATE_ADMIN_TOKEN", "secret")
        .output()
        .unwrap();
    assert!(!weak.status.success());
    let stderr = String::from_utf8_lossy(&weak.stderr);
    assert!(stderr.contains("at least 32 characters"), "{stderr}");
}
