//! Webhook fault injection through the real binary: faults set, cleared and
//! refused through the CLI and the admin API, and no fault controls on a
//! production server. What each fault does to a delivery is tested in
//! process (`tests/engine/sandbox_faults.rs`).

use serde_json::{Value, json};

use crate::sandbox::clock;
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

#[test]
fn faults_are_set_cleared_refused_when_malformed_and_absent_from_production() {
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
    // Accepted, then cleared, as the CLI prints them (what the faults do is
    // tested in process: `tests/engine/sandbox_faults.rs`).
    let set = fault(&gateway, &merchant, &["drop=1", "--count", "2"]);
    assert_eq!(
        set,
        json!({"app_id": merchant.app_id, "faults": ["drop=1"], "count": 2, "seed": 0})
    );
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
        true
    );
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
