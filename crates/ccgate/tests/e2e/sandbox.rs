//! The sandbox through the real binary: sandbox mode said out loud, the
//! virtual clock (show, freeze, resume, advance) from the CLI and the admin
//! API, triggers and reorgs. What an advance settles on the way
//! (confirmations, credits, webhooks, the whole retry ladder) is tested in
//! process (`tests/engine/sandbox.rs`).

use serde_json::Value;

use ccgate_client::{V2Webhook, WebhookHeaders, verify_v2_webhook};

use crate::support::{
    Gateway, HttpStub, Merchant, ReceivedRequest, USDT_ERC20, now, pay, permanent_address,
};

pub(crate) fn clock(gateway: &Gateway, args: &[&str]) -> Value {
    let mut command = vec!["sandbox", "clock"];
    command.extend_from_slice(args);
    command.push("--json");
    serde_json::from_str(&gateway.cli_ok(&command)).unwrap()
}

pub(crate) fn usdt_available(gateway: &Gateway, merchant: &Merchant) -> String {
    let body = br#"{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#;
    let answer = gateway
        .post_signed(merchant, "/ccpayment/v1/assets", body, None)
        .json();
    answer["data"]["list"][0]["value"]
        .as_str()
        .unwrap_or("0")
        .to_owned()
}

#[test]
fn a_sandbox_says_so_and_only_a_sandbox_has_clock_controls() {
    let sandbox = Gateway::start(&["--sandbox"]);
    assert_eq!(
        sandbox.raw_request("GET", "/healthz", &[], b"").json(),
        serde_json::json!({"status": "ok", "mode": "simulated", "sandbox": true})
    );
    let shown = clock(&sandbox, &["show"]);
    let real_now = crate::support::now();
    assert!(
        (shown["now"].as_i64().unwrap() - real_now).abs() <= 5,
        "{shown}"
    );
    assert_eq!(shown["frozen"], false);

    let production = Gateway::start(&[]);
    assert_eq!(
        production.raw_request("GET", "/healthz", &[], b"").json(),
        serde_json::json!({"status": "ok", "mode": "simulated"})
    );
    assert_eq!(production.admin_get("/admin/sandbox/clock").status, 404);
    let refused = production.cli(&["sandbox", "clock", "show"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--sandbox"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn the_config_file_can_make_a_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ccgate.toml");
    std::fs::write(&config, "sandbox = true\n").unwrap();
    let gateway = Gateway::start(&["--config", config.to_str().unwrap()]);
    assert_eq!(
        gateway.raw_request("GET", "/healthz", &[], b"").json()["sandbox"],
        true
    );
    assert_eq!(gateway.admin_get("/admin/sandbox/clock").status, 200);
}

#[test]
fn a_frozen_clock_stands_still_and_advances_exactly() {
    let gateway = Gateway::start(&["--sandbox"]);
    let frozen = clock(&gateway, &["freeze"]);
    assert_eq!(frozen["frozen"], true);
    // A second CLI process later (milliseconds at least), the same
    // millisecond: a running clock would have moved. No sleep needed.
    assert_eq!(clock(&gateway, &["show"])["now_ms"], frozen["now_ms"]);

    let advanced = clock(&gateway, &["advance", "31m30s"]);
    assert_eq!(
        advanced["now_ms"].as_i64().unwrap() - frozen["now_ms"].as_i64().unwrap(),
        1_890_000
    );
    assert_eq!(
        advanced["frozen"], true,
        "an advance keeps a frozen clock frozen"
    );

    let resumed = clock(&gateway, &["resume"]);
    assert_eq!(resumed["frozen"], false);
    assert!(resumed["now_ms"].as_i64().unwrap() >= advanced["now_ms"].as_i64().unwrap());
    assert!(resumed["offset_ms"].as_i64().unwrap() > 1_800_000);

    // The clock is the database's: a restart keeps it, and a production
    // server refuses the data rather than jump back to the real clock.
    let mut gateway = gateway;
    assert!(gateway.terminate().success());
    let again = gateway.restart(&["--sandbox"]);
    assert!(clock(&again, &["show"])["offset_ms"].as_i64().unwrap() > 1_800_000);
    let mut again = again;
    assert!(again.terminate().success());
    let refused = again.cli(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--sandbox"));

    let bad = gateway.restart(&["--sandbox"]);
    let answer = bad.admin_post("/admin/sandbox/clock/advance", r#"{"by":"soon"}"#);
    assert_eq!(answer.status, 400);
    assert!(answer.json()["error"].as_str().unwrap().contains("31m30s"));
    let too_far = bad.admin_post("/admin/sandbox/clock/advance", r#"{"by":"100000d"}"#);
    assert_eq!(too_far.status, 400);
    assert!(
        too_far.json()["error"]
            .as_str()
            .unwrap()
            .contains("3650 days")
    );
}

fn trigger(gateway: &Gateway, merchant: &Merchant, name: &str) -> Value {
    serde_json::from_str(&gateway.cli_ok(&[
        "trigger",
        name,
        "--app-id",
        &merchant.app_id,
        "--json",
    ]))
    .unwrap()
}

/// (type, pay_status or status) of each webhook a trigger reports, all delivered.
fn delivered_webhooks(report: &Value) -> Vec<(String, String)> {
    report["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|webhook| {
            assert_eq!(webhook["status"], "delivered", "{webhook}");
            let payload = &webhook["payload"];
            let state = payload["pay_status"]
                .as_str()
                .or_else(|| payload["status"].as_str())
                .unwrap();
            (
                webhook["type"].as_str().unwrap().to_owned(),
                state.to_owned(),
            )
        })
        .collect()
}

fn pair(kind: &str, state: &str) -> (String, String) {
    (kind.to_owned(), state.to_owned())
}

#[test]
fn every_trigger_makes_its_event_happen_and_reports_its_webhooks() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);

    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["trigger", "--list", "--json"])).unwrap();
    let names: Vec<&str> = listed["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "order.paid",
            "order.underpaid",
            "order.overpaid",
            "order.paid_late",
            "order.expired",
            "deposit.direct",
            "withdrawal.succeeded",
            "withdrawal.failed",
            "swap.succeeded",
            "refund.succeeded",
            "batch_withdrawal.completed",
            "user.deposit",
            "user.transfer",
            "user.withdrawal.succeeded",
            "user.withdrawal.failed"
        ]
    );

    let paid = trigger(&gateway, &merchant, "order.paid");
    assert_eq!(paid["objects"]["order"]["status"], "Successful");
    assert_eq!(delivered_webhooks(&paid), [pair("API Deposit", "success")]);

    let under = trigger(&gateway, &merchant, "order.underpaid");
    assert_eq!(under["objects"]["order"]["status"], "Pending");
    assert_eq!(under["objects"]["order"]["underpaid"], true);
    assert_eq!(under["objects"]["order"]["paid"], "5");
    assert_eq!(delivered_webhooks(&under), [pair("API Deposit", "success")]);

    let over = trigger(&gateway, &merchant, "order.overpaid");
    assert_eq!(over["objects"]["order"]["status"], "Successful");
    assert_eq!(over["objects"]["order"]["overpaid"], true);
    assert_eq!(over["objects"]["order"]["paid"], "15");

    let late = trigger(&gateway, &merchant, "order.paid_late");
    assert_eq!(late["objects"]["order"]["status"], "Expired");
    assert_eq!(late["objects"]["order"]["paid"], "10");
    assert_eq!(delivered_webhooks(&late), [pair("API Deposit", "success")]);

    let expired = trigger(&gateway, &merchant, "order.expired");
    assert_eq!(expired["objects"]["order"]["status"], "Expired");
    assert!(delivered_webhooks(&expired).is_empty());

    let direct = trigger(&gateway, &merchant, "deposit.direct");
    assert_eq!(
        delivered_webhooks(&direct),
        [pair("Direct Deposit", "success")]
    );

    let sent = trigger(&gateway, &merchant, "withdrawal.succeeded");
    assert_eq!(sent["objects"]["withdrawal"]["status"], "successful");
    assert_eq!(
        delivered_webhooks(&sent),
        [
            pair("Direct Deposit", "success"),
            pair("API Withdrawal", "success")
        ]
    );

    let failed = trigger(&gateway, &merchant, "withdrawal.failed");
    assert_eq!(failed["objects"]["withdrawal"]["status"], "failed");
    assert_eq!(
        delivered_webhooks(&failed),
        [
            pair("Direct Deposit", "success"),
            pair("API Withdrawal", "failed")
        ]
    );

    // A swap sends no webhook: only the funding deposit's is reported.
    let swapped = trigger(&gateway, &merchant, "swap.succeeded");
    assert_eq!(swapped["objects"]["swap"]["status"], "Success");
    assert_eq!(swapped["objects"]["swap"]["amountIn"], "5");
    assert_eq!(
        delivered_webhooks(&swapped),
        [pair("Direct Deposit", "success")]
    );

    let refund = trigger(&gateway, &merchant, "refund.succeeded");
    assert_eq!(refund["objects"]["refunds"][0]["status"], "successful");
    assert_eq!(refund["objects"]["refunds"][0]["amount"], "5");
    assert_eq!(
        delivered_webhooks(&refund),
        [pair("API Deposit", "success"), pair("Refund", "success")]
    );

    // Every webhook reported reached the receiver, and the books balance.
    let reported: usize = [
        &paid, &under, &over, &late, &expired, &direct, &sent, &failed, &swapped, &refund,
    ]
    .iter()
    .map(|r| r["webhooks"].as_array().unwrap().len())
    .sum();
    assert_eq!(receiver.received().len(), reported);
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));

    let unknown = gateway.cli(&["trigger", "order.refunded", "--app-id", &merchant.app_id]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("refund.succeeded"));
}

fn trigger_v2(gateway: &Gateway, merchant: &Merchant, name: &str) -> Value {
    serde_json::from_str(&gateway.cli_ok(&[
        "trigger",
        name,
        "--app-id",
        &merchant.app_id,
        "--dialect",
        "v2",
        "--json",
    ]))
    .unwrap()
}

/// A webhook as a merchant's server receives it, checked as the SDK checks
/// it: HMAC over `Appid + Timestamp + body`, the Appid, the age.
pub(crate) fn verified_v2(merchant: &Merchant, request: &ReceivedRequest) -> V2Webhook {
    let headers = WebhookHeaders {
        app_id: request.header("appid").unwrap().to_owned(),
        timestamp: request.header("timestamp").unwrap().to_owned(),
        sign: request.header("sign").unwrap().to_owned(),
    };
    verify_v2_webhook(
        &merchant.app_id,
        &merchant.app_secret,
        &headers,
        &request.body,
        now(),
        300,
    )
    .unwrap()
}

/// (v2 type, msg.status) of each webhook a trigger reports, all delivered.
fn delivered_v2_webhooks(report: &Value) -> Vec<(String, String)> {
    report["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|webhook| {
            assert_eq!(webhook["status"], "delivered", "{webhook}");
            let payload = &webhook["payload"];
            (
                payload["type"].as_str().unwrap().to_owned(),
                payload["msg"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_trigger_runs_in_v2_with_v2_objects_and_webhooks_or_says_why_not() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);

    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["trigger", "--list", "--json"])).unwrap();
    for trigger in listed["triggers"].as_array().unwrap() {
        let only_v1 = trigger["name"] == "refund.succeeded";
        // The wallet system's (docs/decisions.md §24) and batch withdrawals (§26).
        let name = trigger["name"].as_str().unwrap();
        let only_v2 = name.starts_with("user.") || name == "batch_withdrawal.completed";
        let dialects = match (only_v1, only_v2) {
            (true, _) => serde_json::json!(["v1"]),
            (_, true) => serde_json::json!(["v2"]),
            _ => serde_json::json!(["v1", "v2"]),
        };
        assert_eq!(trigger["dialects"], dialects, "{trigger}");
        assert_eq!(trigger["no_v2_because"].is_string(), only_v1, "{trigger}");
        assert_eq!(trigger["no_v1_because"].is_string(), only_v2, "{trigger}");
    }
    let printed = gateway.cli_ok(&["trigger", "--list"]);
    assert!(
        printed.contains("order.paid             v1,v2  "),
        "{printed}"
    );
    assert!(
        printed.contains("refund.succeeded       v1     "),
        "{printed}"
    );

    let paid = trigger_v2(&gateway, &merchant, "order.paid");
    let order = &paid["objects"]["order"];
    assert_eq!(order["status"], "Successful");
    assert_eq!(order["coinId"], 1280);
    assert_eq!(order["amountToPay"], "10");
    assert!(
        order["orderId"]
            .as_str()
            .unwrap()
            .starts_with("trigger-order-paid-")
    );
    let record_id = order["paidList"][0]["recordId"].as_str().unwrap();
    assert_eq!(
        delivered_v2_webhooks(&paid),
        [pair("ApiDeposit", "Success")]
    );
    assert_eq!(paid["webhooks"][0]["record_id"], record_id);
    assert_eq!(
        paid["webhooks"][0]["payload"]["msg"]["orderId"],
        order["orderId"]
    );
    // The webhook the merchant got is v2's, HMAC-signed.
    match verified_v2(&merchant, &receiver.wait_for_requests(1)[0]) {
        V2Webhook::ApiDeposit(msg) => {
            assert_eq!(msg.record_id, record_id);
            assert_eq!(msg.order_id, order["orderId"].as_str().unwrap());
            assert_eq!(msg.status, "Success");
        }
        other => panic!("{other:?}"),
    }
    // And the order is v2's: getAppOrderInfo answers it.
    let info = gateway
        .post_v2(
            &merchant,
            "getAppOrderInfo",
            format!(r#"{{"orderId":"{}"}}"#, order["orderId"].as_str().unwrap()).as_bytes(),
        )
        .json();
    assert_eq!(info["data"]["paidList"][0]["recordId"], record_id, "{info}");

    let under = trigger_v2(&gateway, &merchant, "order.underpaid");
    assert_eq!(under["objects"]["order"]["status"], "Pending");
    assert_eq!(under["objects"]["order"]["paid"], "5");
    assert_eq!(
        delivered_v2_webhooks(&under),
        [pair("ApiDeposit", "Success")]
    );

    let over = trigger_v2(&gateway, &merchant, "order.overpaid");
    assert_eq!(over["objects"]["order"]["status"], "Successful");
    assert_eq!(over["objects"]["order"]["paid"], "15");
    assert_eq!(
        delivered_v2_webhooks(&over),
        [pair("ApiDeposit", "Success")]
    );

    let late = trigger_v2(&gateway, &merchant, "order.paid_late");
    assert_eq!(late["objects"]["order"]["status"], "Expired");
    assert_eq!(
        delivered_v2_webhooks(&late),
        [pair("ApiDeposit", "Success")]
    );

    let expired = trigger_v2(&gateway, &merchant, "order.expired");
    assert_eq!(expired["objects"]["order"]["status"], "Expired");
    assert!(delivered_v2_webhooks(&expired).is_empty());

    let direct = trigger_v2(&gateway, &merchant, "deposit.direct");
    let deposit = &direct["objects"]["deposit"];
    assert_eq!(deposit["referenceId"], "trigger-user-v2");
    assert_eq!(
        delivered_v2_webhooks(&direct),
        [pair("DirectDeposit", "Success")]
    );
    assert_eq!(
        direct["webhooks"][0]["payload"]["msg"]["recordId"],
        deposit["recordId"]
    );

    let sent = trigger_v2(&gateway, &merchant, "withdrawal.succeeded");
    let withdrawal = &sent["objects"]["withdrawal"];
    assert_eq!(withdrawal["status"], "Success");
    assert_eq!(
        delivered_v2_webhooks(&sent),
        [
            pair("DirectDeposit", "Success"),
            pair("ApiWithdrawal", "Success")
        ]
    );
    assert_eq!(
        sent["webhooks"][1]["payload"]["msg"]["recordId"],
        withdrawal["recordId"]
    );
    assert_eq!(
        sent["webhooks"][1]["payload"]["msg"]["orderId"],
        withdrawal["orderId"]
    );

    let failed = trigger_v2(&gateway, &merchant, "withdrawal.failed");
    assert_eq!(failed["objects"]["withdrawal"]["status"], "Failed");
    assert_eq!(
        delivered_v2_webhooks(&failed),
        [
            pair("DirectDeposit", "Success"),
            pair("ApiWithdrawal", "Failed")
        ]
    );

    let batch = trigger_v2(&gateway, &merchant, "batch_withdrawal.completed");
    let objects = &batch["objects"]["batch"];
    assert_eq!(objects["status"], "Completed", "{batch}");
    assert_eq!(
        (objects["succeeded"].as_u64(), objects["failed"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        delivered_v2_webhooks(&batch),
        [
            pair("DirectDeposit", "Success"),
            pair("ApiWithdrawal", "Success"),
            pair("ApiWithdrawal", "Success")
        ]
    );
    let batch_order_id = objects["batchOrderId"].as_str().unwrap();
    let task_order_ids: Vec<&str> = (1..=2)
        .map(|i| {
            batch["webhooks"][i]["payload"]["msg"]["orderId"]
                .as_str()
                .unwrap()
        })
        .collect();
    let mut task_order_ids = task_order_ids;
    task_order_ids.sort_unstable();
    assert_eq!(
        task_order_ids,
        [format!("{batch_order_id}-1"), format!("{batch_order_id}-2")]
    );
    // The batch is v2's: getBatchWithdrawOrder answers it.
    let order = gateway
        .post_v2(
            &merchant,
            "getBatchWithdrawOrder",
            format!(r#"{{"batchOrderId":"{batch_order_id}"}}"#).as_bytes(),
        )
        .json();
    assert_eq!(order["data"]["status"], "Completed", "{order}");
    // And it has no v1 form.
    let v1_batch = gateway.cli(&[
        "trigger",
        "batch_withdrawal.completed",
        "--app-id",
        &merchant.app_id,
    ]);
    assert!(!v1_batch.status.success());
    let said = String::from_utf8_lossy(&v1_batch.stderr);
    assert!(said.contains("runs in v2 only"), "{said}");

    // The swap is v2's: getSwapRecord answers it, and its coin was paid.
    let swapped = trigger_v2(&gateway, &merchant, "swap.succeeded");
    let swap = &swapped["objects"]["swap"];
    assert_eq!(
        delivered_v2_webhooks(&swapped),
        [pair("DirectDeposit", "Success")]
    );
    let record = gateway
        .post_v2(
            &merchant,
            "getSwapRecord",
            format!(r#"{{"recordId":"{}"}}"#, swap["recordId"].as_str().unwrap()).as_bytes(),
        )
        .json();
    assert_eq!(
        record["data"]["record"]["netAmountOut"], swap["netAmountOut"],
        "{record}"
    );
    assert_eq!(record["data"]["record"]["status"], "Success");

    // Every webhook that went out is v2's and verifies.
    let received = receiver.received();
    let reported: usize = [
        &paid, &under, &over, &late, &expired, &direct, &sent, &failed, &batch, &swapped,
    ]
    .iter()
    .map(|r| r["webhooks"].as_array().unwrap().len())
    .sum();
    assert_eq!(received.len(), reported);
    for request in &received {
        assert!(!matches!(
            verified_v2(&merchant, request),
            V2Webhook::Other { .. }
        ));
    }

    // What has no v2 form says so, and does nothing.
    let refund = gateway.cli(&[
        "trigger",
        "refund.succeeded",
        "--app-id",
        &merchant.app_id,
        "--dialect",
        "v2",
    ]);
    assert!(!refund.status.success());
    let said = String::from_utf8_lossy(&refund.stderr);
    assert!(
        said.contains("runs in v1 only") && said.contains("Refund"),
        "{said}"
    );

    // A v1 order named in a v2 run is refused, not silently notified in v1.
    let v1_paid = trigger(&gateway, &merchant, "order.paid");
    let v1_order = v1_paid["objects"]["order"]["merchant_order_id"]
        .as_str()
        .unwrap();
    let mixed = gateway.cli(&[
        "trigger",
        "order.paid",
        "--app-id",
        &merchant.app_id,
        "--merchant-order-id",
        v1_order,
        "--dialect",
        "v2",
    ]);
    assert!(!mixed.status.success());
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("made through v1"));
    assert_eq!(receiver.received().len(), reported + 1);

    // Through the admin API: `dialect` is v1 when absent, and only v1 or v2.
    let v1_by_default = gateway.admin_post(
        "/admin/sandbox/trigger",
        &format!(
            r#"{{"name":"deposit.direct","app_id":"{}"}}"#,
            merchant.app_id
        ),
    );
    assert_eq!(v1_by_default.status, 200, "{}", v1_by_default.text());
    assert_eq!(
        v1_by_default.json()["webhooks"][0]["payload"]["pay_status"],
        "success"
    );
    let v2_by_api = gateway.admin_post(
        "/admin/sandbox/trigger",
        &format!(
            r#"{{"name":"order.expired","app_id":"{}","dialect":"v2"}}"#,
            merchant.app_id
        ),
    );
    assert!(v2_by_api.json()["objects"]["order"]["orderId"].is_string());
    let unknown_dialect = gateway.admin_post(
        "/admin/sandbox/trigger",
        &format!(
            r#"{{"name":"order.paid","app_id":"{}","dialect":"v3"}}"#,
            merchant.app_id
        ),
    );
    assert!(unknown_dialect.status >= 400, "{}", unknown_dialect.text());

    // The printed summary names the v2 objects and webhooks.
    let printed = gateway.cli_ok(&[
        "trigger",
        "deposit.direct",
        "--app-id",
        &merchant.app_id,
        "--dialect",
        "v2",
    ]);
    assert!(printed.contains("\"recordId\""), "{printed}");
    assert!(printed.contains("DirectDeposit record "), "{printed}");
    assert!(printed.contains("(Success): delivered"), "{printed}");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

fn order_status(gateway: &Gateway, merchant: &Merchant, merchant_order_id: &str) -> Value {
    let body = format!(r#"{{"merchant_order_ids":["{merchant_order_id}"]}}"#);
    let answer = gateway
        .post_signed(merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None)
        .json();
    answer["data"][0]["order_detail"].clone()
}

/// (order_type, record_id, pay_status) of every webhook the receiver got, in order.
fn notices(receiver: &HttpStub) -> Vec<(String, String, String)> {
    receiver
        .received()
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let text = |key: &str| body[key].as_str().unwrap().to_owned();
            (text("order_type"), text("record_id"), text("pay_status"))
        })
        .collect()
}

#[test]
fn a_reorg_before_confirmation_drops_or_moves_payments_and_says_so() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.cli_ok(&[
        "merchant",
        "set-webhook",
        "--app-id",
        &merchant.app_id,
        "--url",
        &receiver.url,
        "--notify-pending",
    ]);
    clock(&gateway, &["freeze"]);
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"reorg-1"}}"#
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
    let doomed = pay(&gateway, &order_address, "10");
    let user_address = permanent_address(&gateway, &merchant, "user-7");
    pay(&gateway, &user_address, "4");

    // Two blocks on: both seen, both `processing`, the order Processing.
    clock(&gateway, &["advance", "30s"]);
    assert_eq!(
        order_status(&gateway, &merchant, "reorg-1")["status"],
        "Processing"
    );
    let seen = notices(&receiver);
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|(_, _, status)| status == "processing"));

    // The payment to the order is double-spent away.
    let reorg: Value = serde_json::from_str(&gateway.cli_ok(&[
        "devnet",
        "reorg",
        "--chain",
        "ETH",
        "--depth",
        "3",
        "--drop",
        doomed["txid"].as_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(reorg["dropped"], serde_json::json!([doomed["txid"]]));
    assert_eq!(reorg["vanished_notices"], 1);
    assert_eq!(reorg["incidents"], serde_json::json!([]));

    clock(&gateway, &["advance", "5m"]);
    let order = order_status(&gateway, &merchant, "reorg-1");
    assert_eq!(order["status"], "Pending", "{order}");
    assert_eq!(order["paid_amount"], "0");
    assert_eq!(usdt_available(&gateway, &merchant), "3.9988");
    // The order's payment: `processing`, then `failed` under the same
    // record; the other one confirmed as usual.
    let statuses = |order_type: &str| -> Vec<(String, String)> {
        notices(&receiver)
            .into_iter()
            .filter(|(kind, _, _)| kind == order_type)
            .map(|(_, record, status)| (record, status))
            .collect()
    };
    let order_notices = statuses("API Deposit");
    assert_eq!(
        order_notices
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>(),
        ["processing", "failed"]
    );
    assert_eq!(order_notices[0].0, order_notices[1].0, "one record");
    let direct_notices = statuses("Direct Deposit");
    assert_eq!(
        direct_notices
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>(),
        ["processing", "success"]
    );

    // A reorg that only re-mines: the payment confirms later, credited once.
    let moved_payment = pay(&gateway, &user_address, "2");
    clock(&gateway, &["advance", "24s"]);
    let moved: Value = serde_json::from_str(&gateway.cli_ok(&[
        "devnet", "reorg", "--chain", "ETH", "--depth", "2", "--json",
    ]))
    .unwrap();
    assert_eq!(moved["moved"][0]["txid"], moved_payment["txid"]);
    assert!(
        moved["moved"][0]["block_height"].as_u64().unwrap()
            > moved_payment["block_height"].as_u64().unwrap()
    );
    clock(&gateway, &["advance", "5m"]);
    assert_eq!(usdt_available(&gateway, &merchant), "5.9982");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

#[test]
fn a_reorg_past_the_confirmations_needs_force_and_flags_the_credit() {
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    clock(&gateway, &["freeze"]);
    let to = permanent_address(&gateway, &merchant, "user-8");
    let paid = pay(&gateway, &to, "10");
    clock(&gateway, &["advance", "5m"]);
    assert_eq!(usdt_available(&gateway, &merchant), "9.997");

    let refused = gateway.cli(&["devnet", "reorg", "--chain", "ETH", "--depth", "20"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));

    // The payment is in block 2 of 26: a reorg of 25 blocks reaches it.
    let forced: Value = serde_json::from_str(&gateway.cli_ok(&[
        "devnet",
        "reorg",
        "--chain",
        "ETH",
        "--depth",
        "25",
        "--replace",
        "--force",
        "--json",
    ]))
    .unwrap();
    assert_eq!(forced["dropped"], serde_json::json!([paid["txid"]]));
    assert_eq!(forced["incidents"][0]["txid"], paid["txid"]);
    assert!(
        forced["incidents"][0]["what"]
            .as_str()
            .unwrap()
            .contains("credit stands")
    );
    // Never silently reversed: the balance stays, the books balance, and the
    // operator is told.
    clock(&gateway, &["advance", "5m"]);
    assert_eq!(usdt_available(&gateway, &merchant), "9.997");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
    let doctor = gateway.cli(&["doctor"]);
    assert!(!doctor.status.success());
    assert!(String::from_utf8_lossy(&doctor.stdout).contains(paid["txid"].as_str().unwrap()));
}
