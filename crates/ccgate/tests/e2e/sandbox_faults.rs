//! Webhook fault injection through the real binary: each fault as the
//! merchant's receiver sees it and as `ccgate webhooks show` records it, the
//! count that limits a fault set, and no fault controls on a production
//! server.

use serde_json::{Value, json};

use crate::sandbox::{clock, pay, permanent_address};
use crate::support::{Gateway, HttpStub, Merchant};

/// A frozen sandbox whose demo merchant's webhooks go to `receiver`.
fn frozen_sandbox(receiver: &HttpStub) -> (Gateway, Merchant) {
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    clock(&gateway, &["freeze"]);
    (gateway, merchant)
}

fn fault(gateway: &Gateway, merchant: &Merchant, args: &[&str]) -> Value {
    let mut command = vec![
        "sandbox",
        "webhooks",
        "fault",
        "--app-id",
        &merchant.app_id,
        "--json",
    ];
    command.extend_from_slice(args);
    serde_json::from_str(&gateway.cli_ok(&command)).unwrap()
}

/// Every webhook of the outbox, newest first.
fn outbox(gateway: &Gateway) -> Vec<Value> {
    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["webhooks", "list", "--json"])).unwrap();
    listed.as_array().unwrap().clone()
}

/// The outcome of each attempt of one webhook, in order.
fn outcomes(gateway: &Gateway, id: &Value) -> Vec<String> {
    let shown: Value =
        serde_json::from_str(&gateway.cli_ok(&["webhooks", "show", &id.to_string(), "--json"]))
            .unwrap();
    shown["attempts_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["outcome"].as_str().unwrap().to_owned())
        .collect()
}

fn signature_verifies(merchant: &Merchant, request: &crate::support::ReceivedRequest) -> bool {
    ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        request.header("timestamp").unwrap(),
        &request.body,
        request.header("sign").unwrap(),
    )
}

#[test]
fn dropped_deliveries_are_failed_attempts_and_the_ladder_recovers() {
    let receiver = HttpStub::start(200, "success");
    let (gateway, merchant) = frozen_sandbox(&receiver);
    let set = fault(&gateway, &merchant, &["drop=1", "--count", "2"]);
    assert_eq!(
        set,
        json!({"app_id": merchant.app_id, "faults": ["drop=1"], "count": 2, "seed": 0})
    );
    let to = permanent_address(&gateway, &merchant, "user-drop");
    pay(&gateway, &to, "5");

    // Confirmed after ~2.6 min; dropped at once and 30 s later; sent at 90 s.
    clock(&gateway, &["advance", "10m"]);
    assert_eq!(receiver.received().len(), 1, "two attempts were dropped");
    let webhook = &outbox(&gateway)[0];
    assert_eq!(webhook["status"], "delivered");
    assert_eq!(
        outcomes(&gateway, &webhook["id"]),
        [
            "injected: dropped (not sent)",
            "injected: dropped (not sent)",
            "delivered"
        ]
    );
    // The count is used up: nothing left to clear.
    let cleared = gateway.cli_ok(&[
        "sandbox",
        "webhooks",
        "clear",
        "--app-id",
        &merchant.app_id,
        "--json",
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&cleared).unwrap()["cleared"],
        false
    );
}

#[test]
fn duplicates_bad_signatures_and_a_pretended_500_reach_the_receiver() {
    let receiver = HttpStub::start(200, "success");
    let (gateway, merchant) = frozen_sandbox(&receiver);
    fault(
        &gateway,
        &merchant,
        &["duplicate=1", "bad-signature", "--count", "1"],
    );
    let to = permanent_address(&gateway, &merchant, "user-dup");
    pay(&gateway, &to, "5");
    clock(&gateway, &["advance", "4m"]);

    let received = receiver.received();
    assert_eq!(received.len(), 2, "sent twice");
    assert_eq!(received[0].body, received[1].body);
    assert!(received.iter().all(|r| !signature_verifies(&merchant, r)));
    let webhook = &outbox(&gateway)[0];
    assert_eq!(
        outcomes(&gateway, &webhook["id"]),
        ["injected: bad signature, sent twice; delivered"]
    );

    // The receiver acknowledges, the gateway pretends it answered 500: the
    // same webhook comes again on the ladder's next rung.
    fault(&gateway, &merchant, &["status=500", "--count", "1"]);
    pay(&gateway, &to, "6");
    clock(&gateway, &["advance", "4m"]);
    let received = receiver.received();
    assert_eq!(received.len(), 4, "acknowledged, then sent again");
    assert_eq!(received[2].body, received[3].body);
    assert!(signature_verifies(&merchant, &received[3]));
    let webhook = &outbox(&gateway)[0];
    assert_eq!(webhook["status"], "delivered");
    assert_eq!(
        outcomes(&gateway, &webhook["id"]),
        [
            "injected: treated as HTTP 500; the receiver answered: delivered",
            "delivered"
        ]
    );
}

#[test]
fn a_reordered_batch_arrives_newest_first_and_a_delay_is_recorded() {
    let receiver = HttpStub::start(200, "success");
    let (gateway, merchant) = frozen_sandbox(&receiver);
    fault(&gateway, &merchant, &["reorder", "delay=50ms"]);
    // Three payments in one block: their webhooks fall due together.
    for user in ["user-a", "user-b", "user-c"] {
        let to = permanent_address(&gateway, &merchant, user);
        pay(&gateway, &to, "1");
    }
    clock(&gateway, &["advance", "4m"]);

    let newest_first: Vec<Value> = outbox(&gateway)
        .iter()
        .map(|webhook| webhook["record_id"].clone())
        .collect();
    assert_eq!(newest_first.len(), 3);
    let arrived: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["record_id"].clone())
        .collect();
    assert_eq!(arrived, newest_first, "the batch went out newest first");
    let webhook = &outbox(&gateway)[0];
    assert_eq!(
        outcomes(&gateway, &webhook["id"]),
        ["injected: reordered (batch sent newest first), delayed 50ms; delivered"]
    );

    // Cleared: the next webhook goes out untouched.
    gateway.cli_ok(&["sandbox", "webhooks", "clear", "--app-id", &merchant.app_id]);
    let to = permanent_address(&gateway, &merchant, "user-d");
    pay(&gateway, &to, "1");
    clock(&gateway, &["advance", "4m"]);
    let webhook = &outbox(&gateway)[0];
    assert_eq!(outcomes(&gateway, &webhook["id"]), ["delivered"]);
}

#[test]
fn faults_are_refused_when_malformed_and_absent_from_production() {
    let receiver = HttpStub::start(200, "success");
    let (gateway, merchant) = frozen_sandbox(&receiver);
    for (args, says) in [
        (vec!["drop=2"], "probability"),
        (vec!["explode"], "unknown fault"),
        (vec!["drop=1", "--count", "0"], "--count"),
    ] {
        let mut command = vec!["sandbox", "webhooks", "fault", "--app-id", &merchant.app_id];
        command.extend_from_slice(&args);
        let refused = gateway.cli(&command);
        assert!(!refused.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let unknown = gateway.admin_post(
        "/admin/sandbox/webhooks/fault",
        r#"{"app_id":"404","faults":["drop=1"]}"#,
    );
    assert_eq!(unknown.status, 400);
    assert!(unknown.json()["error"].as_str().unwrap().contains("404"));

    let production = Gateway::start(&[]);
    let body = format!(r#"{{"app_id":"{}","faults":["drop=1"]}}"#, merchant.app_id);
    assert_eq!(
        production
            .admin_post("/admin/sandbox/webhooks/fault", &body)
            .status,
        404
    );
    assert_eq!(
        production
            .admin_post("/admin/sandbox/webhooks/clear", &body)
            .status,
        404
    );
}
