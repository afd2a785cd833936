//! Deposits through the real binary: a webhook that survives a crash or a
//! stop, the admin listener and stuck receivers. The addresses, the credit at
//! its confirmations, its signed webhook, the retry ladder and resend are
//! tested in process (`tests/engine/deposits.rs`).

use serde_json::Value;

use crate::sandbox::usdt_available;
use crate::support::{Gateway, HttpStub, Merchant, USDT_ERC20, eventually, pay_confirmed};

const ADDRESS_PATH: &str = "/ccpayment/v1/payment/address/get";

/// `ccgate webhooks list --json` once `done` holds for it (within 20 s).
fn webhooks_once(gateway: &Gateway, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(20, what, || {
        let listed: Value =
            serde_json::from_str(&gateway.cli_ok(&["webhooks", "list", "--json"])).unwrap();
        if done(&listed) {
            Ok(listed)
        } else {
            Err(listed.to_string())
        }
    })
}

fn address(gateway: &Gateway, merchant: &Merchant, user_id: &str, chain: &str) -> Value {
    let body = format!(r#"{{"user_id":"{user_id}","chain":"{chain}"}}"#);
    let response = gateway.post_signed(merchant, ADDRESS_PATH, body.as_bytes(), None);
    response.assert_signed_by(merchant);
    response.json()
}

#[test]
fn a_webhook_survives_a_kill_9_between_credit_and_delivery() {
    // The receiver is down (nothing listens on its port) when the credit happens.
    let receiver = HttpStub::start(200, "success");
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // The first retry is due 2 s after the first attempt: after the restart.
    let ladder = ["--webhook-retry-ms", "2000,4000"];
    let mut gateway = Gateway::start(&ladder);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &format!("http://127.0.0.1:{closed_port}/down"));
    let to = address(&gateway, &merchant, "user-9", "ETH")["data"]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    pay_confirmed(&gateway, &to, "3");
    webhooks_once(&gateway, "no failed first attempt", |listed| {
        listed[0]["attempts"] == 1
    });
    gateway.kill_hard();

    // The receiver comes up, and the webhook written before the crash goes out.
    gateway.set_webhook(&merchant, &receiver.url);
    let restarted = gateway.restart(&ladder);
    let hooks = receiver.wait_for_requests(1);
    let body: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(body["paid_amount"], "3");
    assert_eq!(usdt_available(&restarted, &merchant), "2.9991");
    assert!(
        restarted
            .cli_ok(&["ledger", "verify"])
            .contains("all equal")
    );
}

#[test]
fn stopping_hands_an_unfinished_delivery_back_at_once() {
    // A receiver that takes the request and never answers: the delivery is in
    // flight (under a 20 s claim, twice the 10 s timeout) when SIGTERM comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/hook", silent.local_addr().unwrap());
    let (accepted, connections) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in silent.incoming() {
            if accepted.send(stream).is_err() {
                return;
            }
        }
    });
    let mut gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &silent_url);
    let to = address(&gateway, &merchant, "user-3", "ETH")["data"]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    pay_confirmed(&gateway, &to, "2");
    let _held = connections
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the delivery reaches the receiver");
    assert!(gateway.terminate().success());

    // Handed back: no attempt counted, due now rather than when the claim
    // would have run out.
    let stopped_at_ms = crate::support::now() * 1000;
    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["webhooks", "list", "--json"])).unwrap();
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["attempts"], 0);
    let due_ms = listed[0]["next_attempt_at_ms"].as_i64().unwrap();
    assert!(
        due_ms <= stopped_at_ms + 1_000,
        "due at {due_ms}, stopped at {stopped_at_ms}: the claim was kept"
    );

    let receiver = HttpStub::start(200, "success");
    gateway.set_webhook(&merchant, &receiver.url);
    let _restarted = gateway.restart(&[]);
    let hooks = receiver.wait_for_requests(1);
    let body: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(body["paid_amount"], "2");
}

#[test]
fn the_admin_listener_drives_the_devnet_and_stays_on_loopback() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let to = address(&gateway, &merchant, "user-admin", "ETH")["data"]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let paid = gateway.admin_post(
        "/admin/devnet/pay",
        &format!(r#"{{"to":"{to}","token_id":"{USDT_ERC20}","amount":"2"}}"#),
    );
    assert_eq!(paid.status, 200, "{}", paid.text());
    assert_eq!(paid.json()["confirmations_required"], 12);
    let mined = gateway.admin_post("/admin/devnet/mine", r#"{"chain":"eth","blocks":12}"#);
    assert_eq!(mined.json()["chain"], "ETH");
    let hooks = receiver.wait_for_requests(1);
    let body: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(body["txid"], paid.json()["txid"]);

    let refused = gateway.admin_post(
        "/admin/devnet/pay",
        &format!(r#"{{"to":"not-an-address","token_id":"{USDT_ERC20}","amount":"2"}}"#),
    );
    assert_eq!(refused.status, 400);
    assert!(
        refused.json()["error"].as_str().unwrap().contains("EVM"),
        "{}",
        refused.text()
    );

    // Prometheus figures: requests by endpoint and code, the outbox, heights.
    let forged = gateway.raw_post(
        "/ccpayment/v1/assets",
        &[
            ("Appid", merchant.app_id.as_str()),
            ("Timestamp", &crate::support::now().to_string()),
            ("Sign", "0000"),
        ],
        b"{}",
    );
    assert_eq!(forged.json()["code"], 220003, "{}", forged.text());
    let metrics = eventually(10, "the delivery never counted", || {
        let scraped = gateway.admin_get("/metrics");
        assert_eq!(scraped.status, 200);
        let text = scraped.text().to_owned();
        if text.contains("ccgate_webhooks{status=\"delivered\"} 1") {
            Ok(text)
        } else {
            Err(text)
        }
    });
    for line in [
        "ccgate_v1_requests_total{endpoint=\"/ccpayment/v1/payment/address/get\",code=\"10000\"} 1",
        "ccgate_v1_requests_total{endpoint=\"/ccpayment/v1/assets\",code=\"220003\"} 1",
        "ccgate_v1_request_seconds_count{endpoint=\"/ccpayment/v1/assets\"} 1",
        "ccgate_webhooks{status=\"delivered\"} 1",
        "ccgate_webhooks{status=\"pending\"} 0",
        "ccgate_webhook_attempts{outcome=\"delivered\"} 1",
        "ccgate_webhook_attempts{outcome=\"failed\"} 0",
        "ccgate_journal_entries 1",
        "ccgate_chain_scan_lag_blocks{chain=\"ETH\"} ",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    let eth_height: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ccgate_chain_height{chain=\"ETH\"} "))
        .expect("ETH height")
        .parse()
        .unwrap();
    assert!(eth_height >= 12, "{metrics}");
    let refused = gateway.admin_post(
        "/admin/devnet/pay",
        &format!(r#"{{"to":"{to}","token_id":"{USDT_ERC20}","amount":"0.0000001"}}"#),
    );
    assert_eq!(refused.status, 400);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ccgate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "0.0.0.0:0",
            "--data-dir",
        ])
        .arg(gateway.data_dir())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a loopback address"));
}

/// A receiver that hangs or hangs up delays only its own webhooks; the
/// merchant's service fee setting decides the credit.
#[test]
fn stuck_receivers_never_block_other_deliveries() {
    use crate::support::{CLOSE, HANG};
    let hanging = HttpStub::start(HANG, "");
    let closing = HttpStub::start(CLOSE, "");
    let healthy = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[
        "--webhook-timeout-ms",
        "6000",
        "--webhook-retry-ms",
        "60000",
    ]);
    let mut paid = Vec::new();
    for (name, receiver) in [
        ("hangs", &hanging),
        ("closes", &closing),
        ("healthy", &healthy),
    ] {
        let merchant = gateway.create_merchant(name);
        gateway.set_webhook(&merchant, &receiver.url);
        if name == "healthy" {
            gateway.cli_ok(&[
                "merchant",
                "set-fee",
                "--app-id",
                &merchant.app_id,
                "--percent",
                "1.5",
            ]);
        }
        let to = address(&gateway, &merchant, "user-1", "ETH")["data"]["address"]
            .as_str()
            .unwrap()
            .to_owned();
        gateway.cli_ok(&[
            "devnet",
            "pay",
            "--to",
            &to,
            "--token-id",
            USDT_ERC20,
            "--amount",
            "100",
        ]);
        paid.push(merchant);
    }
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    let started = std::time::Instant::now();
    let hooks = healthy.wait_for_requests(1);
    // Delivered while the hanging receiver still holds its connection open
    // (its attempt only ends at the 6 s timeout).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "blocked for {:?}",
        started.elapsed()
    );
    let body: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(
        (body["service_fee"].as_str(), body["credit_amount"].as_str()),
        (Some("1.5"), Some("98.5"))
    );
    assert!(
        !gateway
            .cli(&[
                "merchant",
                "set-fee",
                "--app-id",
                &paid[2].app_id,
                "--percent",
                "101"
            ])
            .status
            .success()
    );

    let listed = webhooks_once(&gateway, "attempts never finished", |listed| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["attempts"] == 1)
            .count()
            == 3
    });
    let outcomes: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let shown: Value = serde_json::from_str(&gateway.cli_ok(&[
                "webhooks",
                "show",
                &w["id"].to_string(),
                "--json",
            ]))
            .unwrap();
            shown["attempts_log"][0]["outcome"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(outcomes.iter().any(|o| o == "timed out"), "{outcomes:?}");
    assert!(
        outcomes.iter().any(|o| o.starts_with("transport error")),
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(|o| o == "delivered"), "{outcomes:?}");
}
