//! `ccgate listen` through the real binary: the merchant's webhooks, as the
//! server sends them, forwarded to a local receiver with the same body and
//! the same valid signature, one printed line per delivery.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::sandbox::{clock, verified_v2};
use crate::support::{Gateway, HttpStub};
use crate::support::{pay, permanent_address};

/// The listener's stdout, line by line, read on a thread.
struct Listener {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Listener {
    fn start(gateway: &Gateway, app_id: &str, forward_to: &str) -> Listener {
        let mut child =
            gateway.cli_spawn(&["listen", "--app-id", app_id, "--forward-to", forward_to]);
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Listener { child, lines }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("ccgate listen printed a line")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn listen_forwards_each_webhook_with_its_signed_headers_and_prints_it() {
    let receiver = HttpStub::start(200, "success");
    let local = HttpStub::start(200, "ok");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    clock(&gateway, &["freeze"]);

    let listener = Listener::start(&gateway, &merchant.app_id, &local.url);
    assert!(
        listener
            .next_line()
            .starts_with("Ready: forwarding the webhooks of"),
        "the stream is open before anything is sent"
    );
    let to = permanent_address(&gateway, &merchant, "user-listen");
    let paid = pay(&gateway, &to, "2");
    clock(&gateway, &["advance", "4m"]);

    let forwarded = local.wait_for_requests(1);
    let sent = receiver.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        forwarded[0].body, sent[0].body,
        "the same body, byte for byte"
    );
    for header in ["appid", "timestamp", "sign"] {
        assert_eq!(
            forwarded[0].header(header),
            sent[0].header(header),
            "{header}"
        );
    }
    assert!(ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        forwarded[0].header("timestamp").unwrap(),
        &forwarded[0].body,
        forwarded[0].header("sign").unwrap(),
    ));
    let body: Value = serde_json::from_slice(&forwarded[0].body).unwrap();
    assert_eq!(body["txid"], paid["txid"]);

    let line = listener.next_line();
    let record_id = body["record_id"].as_str().unwrap();
    assert!(line.starts_with("Direct Deposit  "), "{line}");
    assert!(line.contains(record_id), "{line}");
    assert!(line.contains("HTTP 200"), "{line}");
    assert!(line.ends_with(" ms"), "{line}");

    // Only a merchant's own stream can be opened.
    let unknown = gateway.admin_get("/admin/webhooks/stream?app_id=404");
    assert_eq!(unknown.status, 400);
}

#[test]
fn listen_forwards_a_v2_triggers_webhook_with_its_v2_headers_and_it_verifies() {
    let receiver = HttpStub::start(200, "Success");
    let local = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);

    let listener = Listener::start(&gateway, &merchant.app_id, &local.url);
    assert!(listener.next_line().starts_with("Ready:"));
    let report: Value = serde_json::from_str(&gateway.cli_ok(&[
        "trigger",
        "deposit.direct",
        "--app-id",
        &merchant.app_id,
        "--dialect",
        "v2",
        "--json",
    ]))
    .unwrap();
    let record_id = report["objects"]["deposit"]["recordId"].as_str().unwrap();

    let forwarded = local.wait_for_requests(1);
    let sent = receiver.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        forwarded[0].body, sent[0].body,
        "the same body, byte for byte"
    );
    for header in ["appid", "timestamp", "sign"] {
        assert_eq!(
            forwarded[0].header(header),
            sent[0].header(header),
            "{header}"
        );
    }
    // v2's HMAC, not v1's SHA-256: the v1 check refuses it, the v2 SDK reads it.
    assert!(!ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        forwarded[0].header("timestamp").unwrap(),
        &forwarded[0].body,
        forwarded[0].header("sign").unwrap(),
    ));
    match verified_v2(&merchant, &forwarded[0]) {
        ccgate_client::V2Webhook::DirectDeposit(msg) => {
            assert_eq!(msg.record_id, record_id);
            assert_eq!(msg.reference_id, "trigger-user-v2");
            assert_eq!(msg.status, "Success");
        }
        other => panic!("{other:?}"),
    }

    let line = listener.next_line();
    assert!(line.starts_with("DirectDeposit  "), "{line}");
    assert!(line.contains(record_id), "{line}");
    assert!(line.contains("HTTP 200"), "{line}");
}

#[test]
fn listen_works_on_a_production_server_too() {
    let receiver = HttpStub::start(200, "success");
    let local = HttpStub::start(200, "ok");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let listener = Listener::start(&gateway, &merchant.app_id, &local.url);
    assert!(listener.next_line().starts_with("Ready:"));
    let to = permanent_address(&gateway, &merchant, "user-prod");
    pay(&gateway, &to, "1");
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "13"]);
    let forwarded = local.wait_for_requests(1);
    assert!(ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        forwarded[0].header("timestamp").unwrap(),
        &forwarded[0].body,
        forwarded[0].header("sign").unwrap(),
    ));
    assert!(listener.next_line().contains("HTTP 200"));
}
