//! Where the gateway's requests to merchants' URLs may go, through the real
//! binary: URLs that are not http(s) are refused when given (220006 naming
//! the field), and webhooks to the gateway's own listeners or to link-local
//! addresses are refused at delivery, each refusal a failed attempt in the log.

use serde_json::Value;

use crate::support::{Gateway, USDT_ERC20, eventually, pay};

const BAD_URLS: [&str; 3] = ["ftp://x", "javascript:alert(1)", "not a url"];

#[test]
fn merchant_urls_must_be_http_with_a_host() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let endpoints = [
        (
            "bill/create",
            format!(r#""token_id":"{USDT_ERC20}","product_price":"1","merchant_order_id":"o-1""#),
            "notify_url",
        ),
        (
            "payment/address/get",
            r#""user_id":"user-1","chain":"ETH""#.to_owned(),
            "notify_url",
        ),
        (
            "concise/url/get",
            r#""product_price":"1","merchant_order_id":"c-1","product_name":"tea""#.to_owned(),
            "notify_url",
        ),
        (
            "concise/url/get",
            r#""product_price":"1","merchant_order_id":"c-2","product_name":"tea""#.to_owned(),
            "return_url",
        ),
    ];
    for (endpoint, fields, field) in &endpoints {
        for url in BAD_URLS {
            let body = format!(r#"{{{fields},"{field}":{url:?}}}"#);
            let path = format!("/ccpayment/v1/{endpoint}");
            let answer = gateway
                .post_signed(&merchant, &path, body.as_bytes(), None)
                .json();
            assert_eq!(answer["code"], 220006, "{endpoint} {field}={url}: {answer}");
            let msg = answer["msg"].as_str().unwrap();
            assert!(msg.contains(field), "{endpoint} {field}={url}: {msg}");
        }
        // The same request with an http URL is accepted.
        let body = format!(r#"{{{fields},"{field}":"https://shop.example/hook"}}"#);
        let path = format!("/ccpayment/v1/{endpoint}");
        let answer = gateway
            .post_signed(&merchant, &path, body.as_bytes(), None)
            .json();
        assert_eq!(answer["code"], 10000, "{endpoint}: {answer}");
    }

    for url in BAD_URLS {
        let refused = gateway.cli(&[
            "merchant",
            "set-webhook",
            "--app-id",
            &merchant.app_id,
            "--url",
            url,
        ]);
        assert!(!refused.status.success(), "{url}");
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(
            said.contains("--url must be an http:// or https:// URL with a host"),
            "{url}: {said}"
        );
    }
}

/// The outcomes of every attempt of the webhook to `notify_url`, once it has
/// been tried `attempts` times.
fn outcomes_once_tried(gateway: &Gateway, notify_url: &str, attempts: i64) -> Vec<String> {
    let id = eventually(20, "the webhook was never tried often enough", || {
        let listed: Value =
            serde_json::from_str(&gateway.cli_ok(&["webhooks", "list", "--json"])).unwrap();
        for webhook in listed.as_array().unwrap() {
            let id = webhook["id"].to_string();
            let shown: Value =
                serde_json::from_str(&gateway.cli_ok(&["webhooks", "show", &id, "--json"]))
                    .unwrap();
            if shown.to_string().contains(notify_url)
                && webhook["attempts"].as_i64() >= Some(attempts)
            {
                return Ok(id);
            }
        }
        Err(listed.to_string())
    });
    let shown: Value =
        serde_json::from_str(&gateway.cli_ok(&["webhooks", "show", &id, "--json"])).unwrap();
    shown["attempts_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn webhooks_to_the_gateway_itself_or_link_local_are_refused_and_logged() {
    let gateway = Gateway::start(&["--webhook-retry-ms", "50,100,150,200"]);
    let merchant = gateway.demo.clone().unwrap();
    let port = gateway.address().port();
    let admin = gateway.admin.unwrap();
    let targets = [
        (
            format!("http://127.0.0.1:{port}/ccpayment/v1/withdraw"),
            format!("refused: 127.0.0.1:{port} is this gateway's own listener"),
        ),
        (
            format!("http://localhost:{}/admin/devnet/pay", admin.port()),
            "is this gateway's own listener".to_owned(),
        ),
        (
            "http://169.254.169.254/latest".to_owned(),
            "refused: 169.254.169.254:80 is link-local, where cloud metadata services answer"
                .to_owned(),
        ),
    ];
    for (n, (notify_url, _)) in targets.iter().enumerate() {
        let body =
            format!(r#"{{"user_id":"user-{n}x","chain":"ETH","notify_url":"{notify_url}"}}"#);
        let answer = gateway
            .post_signed(
                &merchant,
                "/ccpayment/v1/payment/address/get",
                body.as_bytes(),
                None,
            )
            .json();
        assert_eq!(answer["code"], 10000, "{answer}");
        let to = answer["data"]["address"].as_str().unwrap();
        pay(&gateway, to, "10");
    }
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    for (notify_url, refusal) in &targets {
        // Refused like any failure: the ladder runs on.
        let outcomes = outcomes_once_tried(&gateway, notify_url, 2);
        assert!(outcomes.len() >= 2, "{notify_url}: {outcomes:?}");
        for outcome in &outcomes {
            assert!(
                outcome.contains(refusal.as_str()),
                "{notify_url}: {outcome}"
            );
        }
    }
}

#[test]
fn doctor_reports_private_webhooks_allowed_with_live_money() {
    let gateway = Gateway::start(&[]);
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = gateway.data_dir().join("live.toml");
    let node = format!("[evm.ETH]\nrpc_url = \"http://127.0.0.1:{closed_port}\"\nchain_id = 1\n");
    std::fs::write(&config, format!("allow_private_webhooks = true\n{node}")).unwrap();
    let doctor = gateway.cli(&["doctor", "--config", config.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!doctor.status.success(), "{report}");
    assert!(
        report.contains("PROBLEM webhook targets: allow_private_webhooks is on with live money"),
        "{report}"
    );
    std::fs::write(&config, &node).unwrap();
    let doctor = gateway.cli(&["doctor", "--config", config.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains("ok      webhook targets: public addresses only"),
        "{report}"
    );
}
