//! Withdrawals through the real binary: chain and Cwallet destinations, the
//! fee paid by either side, failure and void, idempotent retries, bad input,
//! a race over one balance, and a kill -9 in the middle.

use serde_json::Value;

use crate::support::{Gateway, HttpStub, Merchant, USDT_ERC20, eventually, pay_confirmed};

const USDT_TRC20: &str = "0912e09a-d8e2-41d7-a0bc-a25530892988";
const PAYEE_EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const PAYEE_TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

fn fund(gateway: &Gateway, merchant: &Merchant, amount: &str) {
    gateway.adjust(merchant, "USDT", amount, &[]);
}

fn withdraw(gateway: &Gateway, merchant: &Merchant, body: &str) -> Value {
    let response = gateway.post_signed(merchant, "/ccpayment/v1/withdraw", body.as_bytes(), None);
    response.assert_signed_by(merchant);
    response.json()
}

/// (available, reserved) of USDT, from the operator's view.
fn usdt(gateway: &Gateway, merchant: &Merchant) -> (String, String) {
    let balances: Value = serde_json::from_str(&gateway.cli_ok(&[
        "ledger",
        "balances",
        "--app-id",
        &merchant.app_id,
        "--json",
    ]))
    .unwrap();
    let row = balances
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["crypto"] == "USDT")
        .cloned()
        .unwrap_or_default();
    (
        row["value"].as_str().unwrap_or("0").to_owned(),
        row["reserved"].as_str().unwrap_or("0").to_owned(),
    )
}

fn detail(gateway: &Gateway, merchant: &Merchant, id: &str) -> Value {
    let body = format!(r#"{{"merchant_order_ids":["{id}"]}}"#);
    gateway
        .post_signed(merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None)
        .json()["data"][0]["withdraw_detail"]
        .clone()
}

fn wait_for_status(gateway: &Gateway, merchant: &Merchant, id: &str, status: &str) -> Value {
    eventually(20, &format!("{id} never became {status}"), || {
        let found = detail(gateway, merchant, id);
        if found["status"] == status {
            Ok(found)
        } else {
            Err(found.to_string())
        }
    })
}

#[test]
fn chain_withdrawals_reserve_then_post_with_the_fee_on_either_side() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    fund(&gateway, &merchant, "100");

    let payee_pays = withdraw(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_EVM}","value":"10","merchant_order_id":"w-1","merchant_pays_fee":false}}"#
        ),
    );
    assert_eq!(payee_pays["code"], 10000, "{payee_pays}");
    let data = &payee_pays["data"];
    assert_eq!(
        (
            data["network_fee"].as_str(),
            data["net_receivable"].as_str()
        ),
        (Some("3.5"), Some("6.5"))
    );
    assert_eq!(
        (
            data["network_fee_crypto"].as_str(),
            data["network_coin_id"].as_str()
        ),
        (Some("USDT"), Some("8e5741cf-6e51-4892-9d04-3d40e1dd0128"))
    );
    assert_eq!(data["network_fee_value"], "3.5");
    assert_eq!(
        (
            data["order_id"].as_str().unwrap().len(),
            data["record_id"].as_str().unwrap().len()
        ),
        (33, 33)
    );
    assert_eq!(
        usdt(&gateway, &merchant),
        ("90".to_owned(), "10".to_owned()),
        "reserved in the same step"
    );

    let merchant_pays = withdraw(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_EVM}","value":"10","merchant_order_id":"w-2","merchant_pays_fee":true}}"#
        ),
    );
    assert_eq!(merchant_pays["data"]["net_receivable"], "10");
    assert_eq!(
        usdt(&gateway, &merchant),
        ("76.5".to_owned(), "23.5".to_owned())
    );

    wait_for_status(&gateway, &merchant, "w-1", "Processing");
    wait_for_status(&gateway, &merchant, "w-2", "Processing");
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    let posted = wait_for_status(&gateway, &merchant, "w-1", "Successful");
    assert!(posted["txid"].as_str().unwrap().starts_with("0x"));
    assert_eq!(
        (posted["value"].as_str(), posted["to_address"].as_str()),
        (Some("10"), Some(PAYEE_EVM))
    );
    wait_for_status(&gateway, &merchant, "w-2", "Successful");
    assert_eq!(
        usdt(&gateway, &merchant),
        ("76.5".to_owned(), "0".to_owned())
    );

    let hooks = receiver.wait_for_requests(2);
    let bodies: Vec<Value> = hooks
        .iter()
        .map(|h| serde_json::from_slice(&h.body).unwrap())
        .collect();
    let first = bodies
        .iter()
        .find(|b| b["merchant_order_id"] == "w-1")
        .unwrap();
    let expected = format!(
        r#"{{"pay_status":"success","order_type":"API Withdrawal","order_id":"{}","record_id":"{}","withdraw_amount":"10","net_receivable":"6.5","network_fee":"3.5","network_fee_crypto":"USDT","network_coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","network_fee_value":"3.5","chain":"ETH","contract":"0xdAC17F958D2ee523a2206206994597C13D831ec7","crypto":"USDT","to_address":"{PAYEE_EVM}","memo":"","txid":"{}","merchant_order_id":"w-1","merchant_pays_fee":false}}"#,
        data["order_id"].as_str().unwrap(),
        data["record_id"].as_str().unwrap(),
        posted["txid"].as_str().unwrap()
    );
    let raw = hooks
        .iter()
        .find(|h| String::from_utf8_lossy(&h.body).contains("\"w-1\""))
        .unwrap();
    assert_eq!(String::from_utf8(raw.body.clone()).unwrap(), expected);
    assert_eq!(first["pay_status"], "success");
    // On the books: the nets (6.5 + 10) left custody, the fees (3.5 + 3.5)
    // are the operator's; the devnet charges no gas.
    let books: Value =
        serde_json::from_str(&gateway.cli_ok(&["ledger", "accounts", "--json"])).unwrap();
    let row = |account: &str| {
        books
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["account"] == account && row["crypto"] == "USDT")
            .cloned()
            .unwrap_or_else(|| panic!("no {account} in {books}"))
    };
    assert_eq!(row("custody:ETH")["credits"], "16.5", "{books}");
    assert_eq!(row("operator:fees")["credits"], "7", "{books}");
    assert!(
        !books.to_string().contains("network_costs"),
        "no gas on the devnet: {books}"
    );
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));

    // Deposit and withdrawal ids are not mixed in one bill/info call.
    let created = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/bill/create",
        format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"1","merchant_order_id":"d-1"}}"#)
            .as_bytes(),
        None,
    );
    assert_eq!(created.json()["code"], 10000);
    let mixed = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/bill/info",
        br#"{"merchant_order_ids":["d-1","w-1"]}"#,
        None,
    );
    assert_eq!(mixed.json()["code"], 220006);
}

#[test]
fn cwallet_withdrawals_are_instant_and_free() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    fund(&gateway, &merchant, "20");
    let c_id: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "alvin",
        "--json",
    ]))
    .unwrap();
    let c_id = c_id["c_id"].as_str().unwrap();
    // Any token id of the coin works for a Cwallet, even the multi-network coin's id.
    let sent = withdraw(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","address":"{c_id}","value":"12.5","merchant_order_id":"cw-1"}}"#
        ),
    );
    assert_eq!(
        (
            sent["data"]["network_fee"].as_str(),
            sent["data"]["net_receivable"].as_str()
        ),
        (Some("0"), Some("12.5"))
    );
    assert_eq!(
        usdt(&gateway, &merchant),
        ("7.5".to_owned(), "0".to_owned())
    );
    let found = detail(&gateway, &merchant, "cw-1");
    assert_eq!(
        (found["status"].as_str(), found["txid"].as_str()),
        (Some("Successful"), Some("internal transfer"))
    );
    let hooks = receiver.wait_for_requests(1);
    let hook: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(
        (hook["txid"].as_str(), hook["to_address"].as_str()),
        (Some("internal transfer"), Some(c_id))
    );
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

/// USDT's minimum withdrawal (`min` in `coin/all`) holds for a chain
/// address and for a Cwallet id alike: at the minimum accepted, below it
/// refused with 222003, the message naming the minimum.
#[test]
fn withdrawals_below_the_minimum_are_refused_also_to_a_cwallet() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    fund(&gateway, &merchant, "10");
    let coins = gateway
        .post_signed(&merchant, "/ccpayment/v1/coin/all", b"{}", None)
        .json();
    let listed_min = coins["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|coin| coin["symbol"] == "USDT")
        .unwrap()["min"]
        .clone();
    assert_eq!(listed_min, "1");
    let c_id: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "dust",
        "--json",
    ]))
    .unwrap();
    let c_id = c_id["c_id"].as_str().unwrap();
    let to_chain = |value: &str, id: &str| {
        format!(
            r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE_TRON}","value":"{value}","merchant_order_id":"{id}","merchant_pays_fee":true}}"#
        )
    };
    let to_cwallet = |value: &str, id: &str| {
        format!(
            r#"{{"token_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","address":"{c_id}","value":"{value}","merchant_order_id":"{id}"}}"#
        )
    };
    for body in [
        to_chain("0.999999", "chain-below"),
        to_cwallet("0.999999999999999999", "cwallet-below"),
        to_cwallet("0.000000000000000001", "cwallet-dust"),
    ] {
        let refused = withdraw(&gateway, &merchant, &body);
        assert_eq!(refused["code"], 222003, "{body}: {refused}");
        assert!(
            refused["msg"].as_str().unwrap().contains("at least 1 USDT"),
            "{refused}"
        );
    }
    assert_eq!(usdt(&gateway, &merchant), ("10".to_owned(), "0".to_owned()));
    for body in [to_chain("1", "chain-min"), to_cwallet("1", "cwallet-min")] {
        let accepted = withdraw(&gateway, &merchant, &body);
        assert_eq!(accepted["code"], 10000, "{body}: {accepted}");
    }
    // 1 to the chain plus its 1 USDT fee, 1 to the Cwallet.
    assert_eq!(usdt(&gateway, &merchant), ("7".to_owned(), "2".to_owned()));
}

#[test]
fn a_failed_send_is_voided_and_retries_are_idempotent() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    fund(&gateway, &merchant, "30");
    gateway.cli_ok(&["devnet", "fail-next-withdrawal", "--chain", "TRX"]);
    let body = format!(
        r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE_TRON}","value":"5","merchant_order_id":"f-1"}}"#
    );
    let first = withdraw(&gateway, &merchant, &body);
    assert_eq!(first["code"], 10000);
    // The same request again: the same withdrawal, nothing more reserved.
    let again = withdraw(&gateway, &merchant, &body);
    assert_eq!(again["data"]["order_id"], first["data"]["order_id"]);
    assert_eq!(
        withdraw(
            &gateway,
            &merchant,
            &body.replace(r#""value":"5""#, r#""value":"6""#)
        )["code"],
        222001
    );

    let failed = wait_for_status(&gateway, &merchant, "f-1", "Failed");
    assert_eq!(failed["txid"], "");
    assert_eq!(
        usdt(&gateway, &merchant),
        ("30".to_owned(), "0".to_owned()),
        "the reservation came back"
    );
    let hooks = receiver.wait_for_requests(1);
    let hook: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(hook["pay_status"], "failed");
    // A retry after the failure is still the same (failed) withdrawal.
    assert_eq!(
        withdraw(&gateway, &merchant, &body)["data"]["order_id"],
        first["data"]["order_id"]
    );
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

#[test]
fn bad_withdrawals_get_their_code_and_reserve_nothing() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    fund(&gateway, &merchant, "10");
    let cases = [
        (
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_EVM}","value":"10","merchant_order_id":"b1","merchant_pays_fee":true}}"#
            ),
            223001,
        ),
        (
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed","value":"5","merchant_order_id":"b2"}}"#
            ),
            223002,
        ),
        (
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_TRON}","value":"5","merchant_order_id":"b3"}}"#
            ),
            223002,
        ),
        (
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_EVM}","value":"0","merchant_order_id":"b4"}}"#
            ),
            222003,
        ),
        (
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_EVM}","value":"-1","merchant_order_id":"b5"}}"#
            ),
            222003,
        ),
        (
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_EVM}","value":"5.0000001","merchant_order_id":"b6"}}"#
            ),
            222003,
        ),
        (
            format!(
                r#"{{"token_id":"{USDT_ERC20}","address":"{PAYEE_EVM}","value":"3","merchant_order_id":"b7"}}"#
            ),
            222003,
        ),
        (
            format!(
                r#"{{"token_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","address":"{PAYEE_EVM}","value":"5","merchant_order_id":"b8"}}"#
            ),
            221001,
        ),
        (
            format!(
                r#"{{"token_id":"nope","address":"{PAYEE_EVM}","value":"5","merchant_order_id":"b9"}}"#
            ),
            221001,
        ),
        (
            format!(r#"{{"token_id":"{USDT_ERC20}","value":"5","merchant_order_id":"b10"}}"#),
            220006,
        ),
    ];
    for (body, code) in &cases {
        let answer = withdraw(&gateway, &merchant, body);
        assert_eq!(answer["code"], *code, "{body}: {answer}");
    }
    assert_eq!(usdt(&gateway, &merchant), ("10".to_owned(), "0".to_owned()));
    assert!(
        gateway
            .cli_ok(&["ledger", "verify"])
            .contains("1 journal entries")
    );
}

/// 1,000 concurrent withdrawals over a balance that covers exactly 100, sent
/// through two server processes on one SQLite file (the PostgreSQL version is
/// in `postgres.rs`).
#[test]
fn concurrent_withdrawals_never_overdraw() {
    let gateway = Gateway::start(&["--no-rate-limit"]);
    let second = gateway.another(&["--no-rate-limit"]);
    let merchant = gateway.demo.clone().unwrap();
    fund(&gateway, &merchant, "200");
    let results: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|thread| {
                let gateway = if thread % 2 == 0 { &gateway } else { &second };
                let merchant = &merchant;
                scope.spawn(move || {
                    (0..20)
                        .map(|i| {
                            let body = format!(r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE_TRON}","value":"2","merchant_order_id":"race-{thread}-{i}"}}"#);
                            gateway.post_signed(merchant, "/ccpayment/v1/withdraw", body.as_bytes(), None).json()["code"].as_u64().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(results.len(), 1_000);
    let accepted = results.iter().filter(|c| **c == 10000).count();
    let refused = results.iter().filter(|c| **c == 223001).count();
    assert_eq!(
        (accepted, refused),
        (100, 900),
        "every answer is one of the two"
    );
    assert_eq!(usdt(&gateway, &merchant).0, "0");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

/// Withdrawals in flight when the server is killed are resolved exactly once
/// after the restart.
#[test]
fn a_kill_9_during_withdrawals_resolves_each_exactly_once() {
    let receiver = HttpStub::start(200, "success");
    let mut gateway = Gateway::start(&["--no-rate-limit"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    fund(&gateway, &merchant, "100");
    for i in 0..20 {
        let body = format!(
            r#"{{"token_id":"{USDT_TRC20}","address":"{PAYEE_TRON}","value":"3","merchant_order_id":"k-{i}"}}"#
        );
        assert_eq!(withdraw(&gateway, &merchant, &body)["code"], 10000);
        if i == 10 {
            gateway.cli_ok(&["devnet", "mine", "--chain", "TRX", "--blocks", "25"]);
        }
    }
    gateway.kill_hard();
    let restarted = gateway.restart(&["--no-rate-limit"]);
    restarted.cli_ok(&["devnet", "mine", "--chain", "TRX", "--blocks", "25"]);
    eventually(30, "the withdrawals never all succeeded", || {
        let statuses: Vec<String> = (0..20)
            .map(|i| {
                detail(&restarted, &merchant, &format!("k-{i}"))["status"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        if statuses.iter().all(|s| s == "Successful") {
            return Ok(());
        }
        if statuses.iter().any(|s| s == "Processing") {
            restarted.cli_ok(&["devnet", "mine", "--chain", "TRX", "--blocks", "25"]);
        }
        Err(format!("{statuses:?}"))
    });
    assert_eq!(
        usdt(&restarted, &merchant),
        ("40".to_owned(), "0".to_owned())
    );
    // Exactly one webhook per withdrawal in the outbox, each delivered. A
    // delivery cut by the kill may reach the receiver twice: webhooks are at
    // least once, so the receiver is only asked for each id.
    let webhooks: Vec<Value> = eventually(30, "the webhooks were never all delivered", || {
        let listed: Value =
            serde_json::from_str(&restarted.cli_ok(&["webhooks", "list", "--json"])).unwrap();
        let rows = listed.as_array().unwrap().clone();
        if rows.len() == 20 && rows.iter().all(|row| row["status"] == "delivered") {
            Ok(rows)
        } else {
            Err(listed.to_string())
        }
    });
    let mut outboxed: Vec<String> = webhooks
        .iter()
        .map(|row| row["record_id"].as_str().unwrap().to_owned())
        .collect();
    outboxed.sort();
    outboxed.dedup();
    assert_eq!(
        outboxed.len(),
        20,
        "one webhook per withdrawal: {webhooks:?}"
    );
    let mut received: Vec<String> = receiver
        .received()
        .iter()
        .map(|h| {
            serde_json::from_slice::<Value>(&h.body).unwrap()["merchant_order_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    received.sort();
    received.dedup();
    assert_eq!(received.len(), 20, "every withdrawal's webhook arrived");
    assert!(
        restarted
            .cli_ok(&["ledger", "verify"])
            .contains("all equal")
    );
}

#[test]
fn refunds_go_back_to_the_payer_like_withdrawals() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let created = gateway.post_signed(&merchant, "/ccpayment/v1/bill/create", format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"r-1","denominated_currency":"token"}}"#).as_bytes(), None);
    let address = created.json()["data"]["pay_address"]
        .as_str()
        .unwrap()
        .to_owned();
    pay_confirmed(&gateway, &address, "10");
    receiver.wait_for_requests(1);

    let refund: Value = serde_json::from_str(&gateway.cli_ok(&[
        "order",
        "refund",
        "--app-id",
        &merchant.app_id,
        "--merchant-order-id",
        "r-1",
        "--address",
        PAYEE_EVM,
        "--amount",
        "4",
        "--json",
    ]))
    .unwrap();
    assert_eq!(refund["status"], "pending");
    let too_much = gateway.cli(&[
        "order",
        "refund",
        "--app-id",
        &merchant.app_id,
        "--merchant-order-id",
        "r-1",
        "--address",
        PAYEE_EVM,
        "--amount",
        "7",
    ]);
    assert!(!too_much.status.success());
    assert!(String::from_utf8_lossy(&too_much.stderr).contains("may not exceed"));
    // Issue #15 §3: an amount too large to hold is a bad amount, said so.
    let huge = gateway.admin_post(
        "/admin/orders/refund",
        &format!(
            r#"{{"app_id":"{}","merchant_order_id":"r-1","address":"{PAYEE_EVM}","amount":"1000000000000000000000000000"}}"#,
            merchant.app_id
        ),
    );
    assert_eq!(huge.status, 400, "{}", huge.text());
    assert!(
        huge.text().contains("amount is too large"),
        "{}",
        huge.text()
    );
    let by_admin = gateway.admin_post(
        "/admin/orders/refund",
        &format!(
            r#"{{"app_id":"{}","merchant_order_id":"r-1","address":"{PAYEE_EVM}","amount":"5"}}"#,
            merchant.app_id
        ),
    );
    assert_eq!(by_admin.status, 200, "{}", by_admin.text());
    assert_eq!(
        usdt(&gateway, &merchant),
        ("0.997".to_owned(), "9".to_owned())
    );

    let refunds = eventually(20, "the refunds never succeeded", || {
        gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
        let info = gateway
            .post_signed(
                &merchant,
                "/ccpayment/v1/bill/info",
                br#"{"merchant_order_ids":["r-1"]}"#,
                None,
            )
            .json();
        let list = info["data"][0]["refund_list"].as_array().unwrap().clone();
        if list.len() == 2 && list.iter().all(|r| r["status"] == "Successful") {
            Ok(list)
        } else {
            Err(info.to_string())
        }
    });
    assert_eq!(
        (
            refunds[0]["refund_amount"].as_str(),
            refunds[0]["network_fee"].as_str(),
            refunds[0]["actual_received_amount"].as_str()
        ),
        (Some("4"), Some("3.5"), Some("0.5"))
    );
    assert_eq!(refunds[0]["address"], PAYEE_EVM);
    assert_eq!(
        usdt(&gateway, &merchant),
        ("0.997".to_owned(), "0".to_owned())
    );
    let hooks = receiver.wait_for_requests(3);
    let mut refund_hooks: Vec<Value> = hooks
        .iter()
        .map(|h| serde_json::from_slice::<Value>(&h.body).unwrap())
        .filter(|b| b["order_type"] == "Refund")
        .collect();
    refund_hooks.sort_by_key(|b| b["amount"].as_str().unwrap().to_owned());
    let seen: Vec<(&str, &str, &str)> = refund_hooks
        .iter()
        .map(|b| {
            (
                b["amount"].as_str().unwrap(),
                b["network_crypto"].as_str().unwrap(),
                b["merchant_order_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("4", "USDT", "r-1"), ("5", "USDT", "r-1")]);
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

/// Refunds of one order racing each other still stay within what it received,
/// even when the merchant's balance would cover them all.
#[test]
fn racing_refunds_never_exceed_what_the_order_received() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    for (order, price) in [("race-1", "10"), ("funds-1", "100")] {
        let created = gateway.post_signed(
            &merchant,
            "/ccpayment/v1/bill/create",
            format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"{price}","merchant_order_id":"{order}","denominated_currency":"token"}}"#).as_bytes(),
            None,
        );
        let address = created.json()["data"]["pay_address"]
            .as_str()
            .unwrap()
            .to_owned();
        gateway.cli_ok(&[
            "devnet",
            "pay",
            "--to",
            &address,
            "--token-id",
            USDT_ERC20,
            "--amount",
            price,
        ]);
    }
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    eventually(20, "never credited", || match usdt(&gateway, &merchant) {
        (available, _) if available == "109.967" => Ok(()),
        other => Err(format!("{other:?}")),
    });

    let body = format!(
        r#"{{"app_id":"{}","merchant_order_id":"race-1","address":"{PAYEE_EVM}","amount":"6"}}"#,
        merchant.app_id
    );
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| gateway.admin_post("/admin/orders/refund", &body)))
            .collect();
        racers
            .into_iter()
            .map(|racer| {
                let answer = racer.join().unwrap();
                if answer.status != 200 {
                    assert!(
                        answer.text().contains("may not exceed"),
                        "{}",
                        answer.text()
                    );
                }
                answer.status
            })
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        usdt(&gateway, &merchant),
        ("103.967".to_owned(), "6".to_owned())
    );
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

/// A configuration adding a coin on a memo chain (MEMO), one in maintenance
/// (PAUSED, status 2) and one being delisted (LEAVING, status 3).
pub(crate) const STATUS_COINS: &str = r#"
[[coins]]
id = "7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a11"
symbol = "MEMO"
name = "Memo coin"
precision = 6
price = "1"
  [[coins.tokens]]
  id = "7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a12"
  chain = "ETH"
  network = "ERC20"
  contract = "0x0000000000000000000000000000000000000001"
  precision = 6
  memo = true
  fee = "0.1"

[[coins]]
id = "7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a21"
symbol = "PAUSED"
name = "Paused coin"
precision = 6
status = 2
price = "1"
  [[coins.tokens]]
  id = "7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a22"
  chain = "ETH"
  network = "ERC20"
  contract = "0x0000000000000000000000000000000000000002"
  precision = 6
  fee = "0.1"

[[coins]]
id = "7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a31"
symbol = "LEAVING"
name = "Delisting coin"
precision = 6
status = 3
price = "1"
  [[coins.tokens]]
  id = "7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a32"
  chain = "ETH"
  network = "ERC20"
  contract = "0x0000000000000000000000000000000000000003"
  precision = 6
  fee = "0.1"
"#;

/// Memo rules and coin status come from the registry configuration.
#[test]
fn memos_and_suspended_coins_follow_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("memo.toml");
    std::fs::write(&config, STATUS_COINS).unwrap();
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config]);
    let merchant = gateway.demo.clone().unwrap();
    for coin in ["MEMO", "PAUSED", "LEAVING"] {
        gateway.cli_ok(&[
            "ledger",
            "adjust",
            "--app-id",
            &merchant.app_id,
            "--coin",
            coin,
            "--amount",
            "10",
            "--reason",
            "float",
            "--config",
            config,
        ]);
    }
    let body = |token: &str, id: &str, memo: &str| {
        format!(
            r#"{{"token_id":"{token}","address":"{PAYEE_EVM}","value":"1","merchant_order_id":"{id}","memo":"{memo}"}}"#
        )
    };
    assert_eq!(
        withdraw(
            &gateway,
            &merchant,
            &body("7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a12", "m1", "")
        )["code"],
        223003
    );
    assert_eq!(
        withdraw(
            &gateway,
            &merchant,
            &body("7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a12", "m2", "42")
        )["code"],
        10000
    );
    assert_eq!(
        withdraw(
            &gateway,
            &merchant,
            &body("7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a22", "p1", "")
        )["code"],
        221002
    );
    assert_eq!(
        withdraw(
            &gateway,
            &merchant,
            &body("7d1b1c1e-0d3a-4a55-9a5e-3c1f5d9b0a32", "l1", "")
        )["code"],
        10000,
        "delisting coins may still be withdrawn"
    );
    assert_eq!(detail(&gateway, &merchant, "m2")["memo"], "42");
}
