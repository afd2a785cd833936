//! Sandbox snapshots through the real binary: a restore, while the server
//! runs, brings back balances, the journal, orders, the outbox, merchants and
//! the clock exactly as saved, after changes in between; then the sandbox
//! carries on from there.

use serde_json::Value;

use crate::sandbox::{clock, usdt_available};
use crate::support::{Gateway, HttpStub, Merchant, USDT_ERC20};
use crate::support::{pay, permanent_address};

fn snapshot(gateway: &Gateway, args: &[&str]) -> Value {
    let mut command = vec!["sandbox", "snapshot"];
    command.extend_from_slice(args);
    command.push("--json");
    serde_json::from_str(&gateway.cli_ok(&command)).unwrap()
}

fn order_info(gateway: &Gateway, merchant: &Merchant, merchant_order_id: &str) -> Value {
    let body = format!(r#"{{"merchant_order_ids":["{merchant_order_id}"]}}"#);
    gateway
        .post_signed(merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None)
        .json()
}

/// Everything a test fixture cares about, as the CLI and the API show it.
#[derive(Debug, PartialEq)]
struct State {
    verify: String,
    balances: String,
    webhooks: String,
    merchants: String,
    order: Value,
    available: String,
    now_ms: Value,
}

fn state(gateway: &Gateway, merchant: &Merchant) -> State {
    let app_id = merchant.app_id.as_str();
    State {
        verify: gateway.cli_ok(&["ledger", "verify"]),
        balances: gateway.cli_ok(&["ledger", "balances", "--app-id", app_id, "--json"]),
        webhooks: gateway.cli_ok(&["webhooks", "list", "--json"]),
        merchants: gateway.cli_ok(&["merchant", "list", "--json"]),
        order: order_info(gateway, merchant, "fixture-1"),
        available: usdt_available(gateway, merchant),
        now_ms: clock(gateway, &["show"])["now_ms"].clone(),
    }
}

#[test]
fn a_restore_brings_back_the_saved_state_exactly_and_the_sandbox_carries_on() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    clock(&gateway, &["freeze"]);

    // A credited deposit, an underpaid order and an adjustment.
    let to = permanent_address(&gateway, &merchant, "user-fixture");
    pay(&gateway, &to, "10");
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"fixture-1"}}"#
    );
    let created = gateway
        .post_signed(
            &merchant,
            "/ccpayment/v1/bill/create",
            body.as_bytes(),
            None,
        )
        .json();
    let order_address = created["data"]["pay_address"].as_str().unwrap().to_owned();
    pay(&gateway, &order_address, "4");
    clock(&gateway, &["advance", "4m"]);
    gateway.adjust(&merchant, "USDT", "5", &[]);
    let saved_state = state(&gateway, &merchant);
    assert_eq!(saved_state.available, "18.9958", "{saved_state:?}");
    assert_eq!(
        saved_state.order["data"][0]["order_detail"]["paid_amount"],
        "4"
    );

    let saved = snapshot(&gateway, &["save", "paid-once"]);
    assert_eq!(saved["name"], "paid-once");
    assert!(saved["bytes"].as_u64().unwrap() > 0);
    assert!(gateway.data_dir().join("snapshots/paid-once.db").exists());

    // Changes after the save: the order paid in full, a merchant, time.
    pay(&gateway, &order_address, "6");
    clock(&gateway, &["advance", "1h"]);
    gateway.create_merchant("after the snapshot");
    gateway.adjust(&merchant, "USDT", "-1", &[]);
    let changed = state(&gateway, &merchant);
    assert_ne!(changed.order, saved_state.order);
    assert_ne!(changed.merchants, saved_state.merchants);
    assert_ne!(changed.webhooks, saved_state.webhooks);

    let restored = snapshot(&gateway, &["restore", "paid-once"]);
    assert_eq!(restored["clock"]["now_ms"], saved_state.now_ms);
    assert_eq!(restored["clock"]["frozen"], true);
    // At once: the server's read cache was dropped with the old state.
    assert_eq!(state(&gateway, &merchant), saved_state);

    // The sandbox carries on from the restored state.
    pay(&gateway, &order_address, "6");
    clock(&gateway, &["advance", "4m"]);
    let paid = order_info(&gateway, &merchant, "fixture-1");
    assert_eq!(paid["data"][0]["order_detail"]["paid_amount"], "10");
    assert_eq!(paid["data"][0]["order_detail"]["status"], "Successful");
    assert!(gateway.cli(&["ledger", "verify"]).status.success());

    let listed = snapshot(&gateway, &["list"]);
    assert_eq!(listed["snapshots"][0]["name"], "paid-once");
    snapshot(&gateway, &["delete", "paid-once"]);
    assert_eq!(
        snapshot(&gateway, &["list"])["snapshots"],
        Value::Array(vec![])
    );
}

#[test]
fn snapshots_refuse_unknown_names_and_exist_only_in_a_sandbox() {
    let gateway = Gateway::start(&["--sandbox"]);
    for (args, says) in [
        (["restore", "never-saved"], "no snapshot"),
        (["delete", "never-saved"], "no snapshot"),
        (["save", "../escape"], "snapshot name"),
        (["save", ".hidden"], "snapshot name"),
    ] {
        let mut command = vec!["sandbox", "snapshot"];
        command.extend_from_slice(&args);
        let refused = gateway.cli(&command);
        assert!(!refused.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // Saving again under a name replaces the snapshot.
    snapshot(&gateway, &["save", "twice"]);
    snapshot(&gateway, &["save", "twice"]);
    assert_eq!(
        snapshot(&gateway, &["list"])["snapshots"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let production = Gateway::start(&[]);
    assert_eq!(production.admin_get("/admin/sandbox/snapshots").status, 404);
    assert_eq!(
        production
            .admin_post("/admin/sandbox/snapshot/restore", r#"{"name":"twice"}"#)
            .status,
        404
    );
}

/// A sandbox follows no real node: `--sandbox` beside `[evm.ETH]` is live
/// money under a virtual clock, refused at start (docs/decisions.md §1).
#[test]
fn a_sandbox_refuses_to_follow_a_real_node() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ccgate.toml");
    std::fs::write(
        &config,
        "[evm.ETH]\nrpc_url = \"http://127.0.0.1:9\"\nchain_id = 1\n",
    )
    .unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_ccgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--sandbox", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .env("CCGATE_LOG", "error")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--sandbox refused") && stderr.contains("real money"),
        "{stderr}"
    );
}
