//! Webhook delivery under load: one merchant's slow receiver and backlog
//! hold only its own delivery slots (issue #14 §4), however many of the
//! spare ones it was lent while alone (decisions §38).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Gateway, HANG, HttpStub, Merchant};

const USDT: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";

fn cwallet(gateway: &Gateway, nickname: &str) -> String {
    let created: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        nickname,
        "--json",
    ]))
    .unwrap();
    created["c_id"].as_str().unwrap().to_owned()
}

/// A Cwallet withdrawal: accepted, posted and its webhook queued at once.
fn pay_cwallet(gateway: &Gateway, merchant: &Merchant, c_id: &str, id: &str) {
    let body = format!(
        r#"{{"token_id":"{USDT}","address":"{c_id}","value":"1","merchant_order_id":"{id}"}}"#
    );
    let answer = gateway
        .post_signed(merchant, "/ccpayment/v1/withdraw", body.as_bytes(), None)
        .json();
    assert_eq!(answer["code"], 10000, "{answer}");
}

#[test]
fn a_merchant_with_a_black_hole_receiver_does_not_delay_another() {
    let gateway = Gateway::start(&["--no-rate-limit"]);
    let flooder = gateway.demo.clone().unwrap();
    let other = gateway.create_merchant("other shop");
    // Takes every request and never answers (for longer than the 10 s
    // delivery timeout): each of the flooder's deliveries holds its slot.
    let black_hole = HttpStub::start(HANG, "");
    let receiver = HttpStub::start(200, "success");
    gateway.set_webhook(&flooder, &black_hole.url);
    gateway.set_webhook(&other, &receiver.url);
    gateway.adjust(&flooder, "USDT", "300", &[]);
    gateway.adjust(&other, "USDT", "1", &[]);
    let c_id = cwallet(&gateway, "payee");

    for i in 0..300 {
        pay_cwallet(&gateway, &flooder, &c_id, &format!("flood-{i}"));
    }
    // The flooder's deliveries are under way and hanging: more than the
    // per-merchant cap of 4, as a merchant alone takes its part of the spare
    // slots (decisions §38), yet never so many that the other waits.
    black_hole.wait_for_requests(5);

    pay_cwallet(&gateway, &other, &c_id, "other-1");
    let credited = Instant::now();
    let deadline = credited + Duration::from_secs(2);
    while receiver.received().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let waited = credited.elapsed();
    let received = receiver.received();
    assert_eq!(
        received.len(),
        1,
        "the other merchant's webhook did not arrive within 2 s (waited {waited:?})"
    );
    let hook: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(hook["merchant_order_id"], "other-1");
}
