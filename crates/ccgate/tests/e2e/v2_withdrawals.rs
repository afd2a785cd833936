//! v2 merchant withdrawals through the real binary (v2 spec §2.1.8, §2.5,
//! §3.3.3): a quoted network withdrawal paid on the devnet and notified in
//! v2 at its notifyUrl, Cwallet withdrawals, records and their pages, the
//! same withdrawal read in both dialects, each refusal's code, and the
//! empty auto-withdrawal and risky-refund lists.

use serde_json::{Value, json};

use crate::support::{Gateway, HttpStub, Merchant, ReceivedRequest, assert_golden, eventually};

const USDT: u64 = 1280;
const PAYEE_EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn ok(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> Value {
    let response = gateway.post_v2(merchant, endpoint, body.as_bytes());
    assert_eq!(response.status, 200, "{endpoint}: {}", response.text());
    let answer = response.json();
    assert_eq!(answer["code"], 10000, "{endpoint} {body}: {answer}");
    answer["data"].clone()
}

/// The code of a refusal, which keeps v2's envelope.
fn code(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> u64 {
    let response = gateway.post_v2(merchant, endpoint, body.as_bytes());
    assert_eq!(response.status, 200, "{endpoint}: {}", response.text());
    let answer = response.json();
    assert!(answer["data"].is_object(), "{answer}");
    assert!(answer["reason"].is_string(), "{answer}");
    answer["code"].as_u64().unwrap()
}

fn record(gateway: &Gateway, merchant: &Merchant, body: Value) -> Value {
    ok(gateway, merchant, "getAppWithdrawRecord", &body.to_string())["record"].clone()
}

fn wait_for_v2_status(
    gateway: &Gateway,
    merchant: &Merchant,
    order_id: &str,
    status: &str,
) -> Value {
    eventually(20, &format!("{order_id} never became {status}"), || {
        let found = record(gateway, merchant, json!({ "orderId": order_id }));
        if found["status"] == status {
            Ok(found)
        } else {
            Err(found.to_string())
        }
    })
}

fn v1_detail(gateway: &Gateway, merchant: &Merchant, order_id: &str) -> Value {
    let body = json!({ "merchant_order_ids": [order_id] }).to_string();
    let answer = gateway
        .post_signed(merchant, "/ccpayment/v1/bill/info", body.as_bytes(), None)
        .json();
    assert_eq!(answer["code"], 10000, "{answer}");
    answer["data"][0]["withdraw_detail"].clone()
}

/// USDT as v1 `assets` and v2 `getAppCoinAssetList` show it: they must agree.
fn usdt_balance(gateway: &Gateway, merchant: &Merchant) -> String {
    let v1 = gateway
        .post_signed(merchant, "/ccpayment/v1/assets", b"", None)
        .json();
    let v1 = v1["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|asset| asset["crypto"] == "USDT")
        .map(|asset| asset["value"].as_str().unwrap().to_owned());
    let v2 = ok(gateway, merchant, "getAppCoinAssetList", "");
    let v2 = v2["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|asset| asset["coinId"] == USDT)
        .map(|asset| asset["available"].as_str().unwrap().to_owned());
    assert_eq!(v1, v2, "the dialects disagree on the USDT balance");
    v2.unwrap_or_else(|| "0".to_owned())
}

/// `text` with each `(value, name)` replaced by `<name>`: ids and txids differ
/// on every run, the rest of the bytes are pinned.
fn masked(text: &[u8], values: &[(&str, &str)]) -> Vec<u8> {
    let mut text = String::from_utf8(text.to_vec()).unwrap();
    for (value, name) in values {
        assert!(!value.is_empty(), "nothing to mask for {name}");
        text = text.replace(value, &format!("<{name}>"));
    }
    text.into_bytes()
}

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

/// The record ids the outbox holds webhooks for.
fn outbox_record_ids(gateway: &Gateway) -> Vec<String> {
    let listed: Value =
        serde_json::from_str(&gateway.cli_ok(&["webhooks", "list", "--json"])).unwrap();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["record_id"].as_str().unwrap().to_owned())
        .collect()
}

fn verify_v2_signature(hook: &ReceivedRequest, merchant: &Merchant) {
    assert_eq!(hook.header("appid"), Some(merchant.app_id.as_str()));
    assert!(
        ccgate_api::v2::sign::verify(
            &merchant.app_id,
            &merchant.app_secret,
            hook.header("timestamp").unwrap(),
            &hook.body,
            hook.header("sign").unwrap(),
        ),
        "the v2 webhook's Sign does not verify"
    );
}

#[test]
fn a_quoted_network_withdrawal_is_paid_notified_in_v2_and_read_in_both_dialects() {
    let notified = HttpStub::start(200, "Success");
    let merchant_url = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &merchant_url.url);
    gateway.adjust(&merchant, "USDT", "100", &[]);

    // The quote: the fee in the withdrawn coin, and an id to lock it.
    let quote = gateway.post_v2(
        &merchant,
        "getWithdrawFee",
        br#"{"coinId":1280,"chain":"ETH"}"#,
    );
    let inquiry_id = quote.json()["data"]["networkFeeInquiryID"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_golden(
        "v2_withdraw_fee.json",
        &masked(&quote.body, &[(&inquiry_id, "networkFeeInquiryID")]),
    );

    let notify_url = format!("{}?shop=7&lang=en", notified.url);
    let body = json!({
        "orderId": "v2-w-1",
        "coinId": USDT,
        "chain": "ETH",
        "address": PAYEE_EVM,
        "amount": "10",
        "networkFeeInquiryID": inquiry_id,
        "notifyUrl": notify_url,
    })
    .to_string();
    let accepted = gateway.post_v2(&merchant, "applyAppWithdrawToNetwork", body.as_bytes());
    let record_id = accepted.json()["data"]["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(record_id.len(), 33);
    assert_golden(
        "v2_withdraw_accepted.json",
        &masked(&accepted.body, &[(&record_id, "recordId")]),
    );
    // The same request again is the same withdrawal; other parameters under
    // the same orderId are refused.
    let again = ok(&gateway, &merchant, "applyAppWithdrawToNetwork", &body);
    assert_eq!(again["recordId"], record_id.as_str());
    let changed = body.replace(r#""amount":"10""#, r#""amount":"11""#);
    assert_ne!(changed, body);
    assert_eq!(
        code(&gateway, &merchant, "applyAppWithdrawToNetwork", &changed),
        11011
    );
    // Reserved at once: the payee pays the fee out of the 10.
    assert_eq!(usdt_balance(&gateway, &merchant), "90");
    let pending = record(&gateway, &merchant, json!({ "recordId": record_id }));
    assert_eq!(pending["status"], "Processing", "{pending}");
    // Not sent yet and sent-but-unconfirmed are both `Processing` in v2; the
    // txId says it is on the chain, where mining confirms it.
    eventually(20, "v2-w-1 never went on the chain", || {
        let found = record(&gateway, &merchant, json!({ "orderId": "v2-w-1" }));
        match found["txId"].as_str() {
            Some(tx_id) if !tx_id.is_empty() => Ok(()),
            _ => Err(found.to_string()),
        }
    });
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    let paid = wait_for_v2_status(&gateway, &merchant, "v2-w-1", "Success");
    let tx_id = paid["txId"].as_str().unwrap().to_owned();
    assert!(tx_id.starts_with("0x"), "{paid}");
    let by_both = record(
        &gateway,
        &merchant,
        json!({ "recordId": record_id, "orderId": "v2-w-1" }),
    );
    assert_eq!(by_both, paid);
    let answer = gateway.post_v2(
        &merchant,
        "getAppWithdrawRecord",
        json!({ "recordId": record_id }).to_string().as_bytes(),
    );
    assert_golden(
        "v2_withdraw_record_network.json",
        &masked(
            &answer.body,
            &[
                (&record_id, "recordId"),
                (&tx_id, "txId"),
                (&merchant.app_id, "appId"),
            ],
        ),
    );

    // The webhook: v2's thin body, at the notifyUrl with its query string,
    // signed with HMAC.
    let hooks = notified.wait_for_requests(1);
    let hook = &hooks[0];
    assert_eq!(hook.target, "/hook?shop=7&lang=en");
    assert_eq!(
        String::from_utf8(hook.body.clone()).unwrap(),
        format!(
            r#"{{"type":"ApiWithdrawal","msg":{{"recordId":"{record_id}","orderId":"v2-w-1","coinId":1280,"coinSymbol":"USDT","status":"Success"}}}}"#
        )
    );
    verify_v2_signature(hook, &merchant);

    // One object, two dialects: v1 `bill/info` reads the v2 withdrawal.
    let detail = v1_detail(&gateway, &merchant, "v2-w-1");
    assert_eq!(
        (
            detail["status"].as_str(),
            detail["value"].as_str(),
            detail["network_fee"].as_str(),
            detail["net_receivable"].as_str(),
            detail["txid"].as_str(),
            detail["to_address"].as_str(),
        ),
        (
            Some("Successful"),
            Some("10"),
            Some("3.5"),
            Some("6.5"),
            Some(tx_id.as_str()),
            Some(PAYEE_EVM)
        )
    );

    // A v1 withdrawal (the merchant paying the fee) is read in v2, and keeps
    // its v1 webhook, sent to the merchant's URL.
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/withdraw",
        format!(
            r#"{{"token_id":"2728e271-9f5d-4c05-8aa7-4a87b1afcc95","address":"{PAYEE_EVM}","value":"5","merchant_order_id":"v1-w-1","merchant_pays_fee":true}}"#
        )
        .as_bytes(),
        None,
    );
    assert_eq!(v1.json()["code"], 10000, "{}", v1.text());
    let v1_record_id = v1.json()["data"]["record_id"].as_str().unwrap().to_owned();
    // The same withdrawal asked again in v2 is that v1 withdrawal; one
    // namespace of order ids: a deposit order's id is taken.
    let same_in_v2 = json!({"orderId": "v1-w-1", "coinId": USDT, "chain": "ETH", "address": PAYEE_EVM, "amount": "5", "merchantPayNetworkFee": true});
    let repeated = ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &same_in_v2.to_string(),
    );
    assert_eq!(repeated["recordId"], v1_record_id.as_str());
    let order = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/bill/create",
        br#"{"token_id":"2728e271-9f5d-4c05-8aa7-4a87b1afcc95","product_price":"1","merchant_order_id":"d-1"}"#,
        None,
    );
    assert_eq!(order.json()["code"], 10000, "{}", order.text());
    let taken = json!({"orderId": "d-1", "coinId": USDT, "chain": "ETH", "address": PAYEE_EVM, "amount": "5"});
    assert_eq!(
        code(
            &gateway,
            &merchant,
            "applyAppWithdrawToNetwork",
            &taken.to_string()
        ),
        11011
    );
    eventually(20, "v1-w-1 never went on the chain", || {
        match v1_detail(&gateway, &merchant, "v1-w-1")["status"].as_str() {
            Some("Processing") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    let read_in_v2 = wait_for_v2_status(&gateway, &merchant, "v1-w-1", "Success");
    assert_eq!(
        (
            read_in_v2["recordId"].as_str(),
            read_in_v2["withdrawType"].as_str(),
            read_in_v2["chain"].as_str(),
            read_in_v2["amount"].as_str(),
            read_in_v2["toAddress"].as_str(),
        ),
        (
            Some(v1_record_id.as_str()),
            Some("Network"),
            Some("ETH"),
            Some("5"),
            Some(PAYEE_EVM)
        )
    );
    assert_eq!(
        read_in_v2["fee"],
        json!({"coinId": 1280, "coinSymbol": "USDT", "amount": "3.5"})
    );
    let v1_hooks = merchant_url.wait_for_requests(1);
    let v1_hook: Value = serde_json::from_slice(&v1_hooks[0].body).unwrap();
    assert_eq!(
        (
            v1_hook["order_type"].as_str(),
            v1_hook["merchant_order_id"].as_str(),
            v1_hook["pay_status"].as_str()
        ),
        (Some("API Withdrawal"), Some("v1-w-1"), Some("success")),
        "the merchant's URL got {v1_hook}"
    );
    // The v2 webhook went to its notifyUrl only.
    assert_eq!(merchant_url.received().len(), 1);

    // 100 − 10 − (5 + 3.5), in both dialects, and the books balance.
    assert_eq!(usdt_balance(&gateway, &merchant), "81.5");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

#[test]
fn cwallet_withdrawals_are_instant_free_and_send_no_webhook() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "20", &[]);
    let c_id = cwallet(&gateway, "alvin");

    let body = json!({"orderId": "cw-v2-1", "coinId": USDT, "cwalletUser": c_id, "amount": "12.5"})
        .to_string();
    let record_id = ok(&gateway, &merchant, "applyAppWithdrawToCwallet", &body)["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = ok(&gateway, &merchant, "applyAppWithdrawToCwallet", &body);
    assert_eq!(again["recordId"], record_id.as_str());
    assert_eq!(usdt_balance(&gateway, &merchant), "7.5");

    let answer = gateway.post_v2(
        &merchant,
        "getAppWithdrawRecord",
        json!({ "orderId": "cw-v2-1" }).to_string().as_bytes(),
    );
    assert_golden(
        "v2_withdraw_record_cwallet.json",
        &masked(
            &answer.body,
            &[
                (&record_id, "recordId"),
                (&merchant.app_id, "appId"),
                (&c_id, "cwalletUser"),
            ],
        ),
    );
    let detail = v1_detail(&gateway, &merchant, "cw-v2-1");
    assert_eq!(
        (detail["status"].as_str(), detail["txid"].as_str()),
        (Some("Successful"), Some("internal transfer"))
    );

    // A v1 Cwallet withdrawal writes its v1 webhook to the outbox in the
    // same DB transaction; the v2 one wrote none (v2 spec §3.3.8).
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/withdraw",
        format!(
            r#"{{"token_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","address":"{c_id}","value":"2","merchant_order_id":"cw-v1-1"}}"#
        )
        .as_bytes(),
        None,
    );
    assert_eq!(v1.json()["code"], 10000, "{}", v1.text());
    let v1_record_id = v1.json()["data"]["record_id"].as_str().unwrap().to_owned();
    let outbox = outbox_record_ids(&gateway);
    assert!(outbox.contains(&v1_record_id), "{outbox:?}");
    assert!(!outbox.contains(&record_id), "{outbox:?}");
    assert_eq!(usdt_balance(&gateway, &merchant), "5.5");

    // A Cwallet id that does not exist, and a chain address, are no Cwallet user.
    for user in ["1".to_owned(), PAYEE_EVM.to_owned()] {
        let body =
            json!({"orderId": "cw-v2-2", "coinId": USDT, "cwalletUser": user, "amount": "1"});
        assert_eq!(
            code(
                &gateway,
                &merchant,
                "applyAppWithdrawToCwallet",
                &body.to_string()
            ),
            11003,
            "{user}"
        );
    }
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

#[test]
fn records_page_newest_first_and_filter() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "100", &[]);
    let c_id = cwallet(&gateway, "pages");
    let mut made = Vec::new();
    for n in 0..22 {
        let order_id = format!("page-{n:02}");
        let body = json!({"orderId": order_id, "coinId": USDT, "cwalletUser": c_id, "amount": "1"});
        ok(
            &gateway,
            &merchant,
            "applyAppWithdrawToCwallet",
            &body.to_string(),
        );
        made.push(order_id);
    }
    let network = json!({"orderId": "page-net", "coinId": USDT, "chain": "ETH", "address": PAYEE_EVM, "amount": "5", "merchantPayNetworkFee": true});
    ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &network.to_string(),
    );
    made.push("page-net".to_owned());

    // Every page at most 20, newest first, `nextId` "" on the last one.
    let mut listed = Vec::new();
    let mut next_id = String::new();
    let mut pages = 0;
    loop {
        let page = ok(
            &gateway,
            &merchant,
            "getAppWithdrawRecordList",
            &json!({ "nextId": next_id }).to_string(),
        );
        pages += 1;
        let records = page["records"].as_array().unwrap();
        assert!(records.len() <= 20);
        listed.extend(
            records
                .iter()
                .map(|r| r["orderId"].as_str().unwrap().to_owned()),
        );
        next_id = page["nextId"].as_str().unwrap().to_owned();
        if next_id.is_empty() {
            break;
        }
        assert!(pages < 5, "the pages never end");
    }
    assert_eq!(pages, 2);
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);

    // Filters: the pseudo-chain of Cwallet, a chain, order ids, an address.
    let cwallet_only = ok(
        &gateway,
        &merchant,
        "getAppWithdrawRecordList",
        r#"{"chain":"Cwallet OS","orderIds":["page-00","page-net","nobody"]}"#,
    );
    assert_eq!(
        cwallet_only,
        ok(
            &gateway,
            &merchant,
            "getAppWithdrawRecordList",
            r#"{"orderIds":["page-00"]}"#
        )
    );
    assert_eq!(cwallet_only["records"][0]["orderId"], "page-00");
    assert_eq!(cwallet_only["records"].as_array().unwrap().len(), 1);
    for body in [
        json!({"chain": "ETH"}),
        json!({"toAddress": PAYEE_EVM, "coinId": USDT}),
    ] {
        let found = ok(
            &gateway,
            &merchant,
            "getAppWithdrawRecordList",
            &body.to_string(),
        );
        let ids: Vec<&str> = found["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["orderId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["page-net"], "{body}");
        assert_eq!(found["nextId"], "");
    }
    let none = ok(
        &gateway,
        &merchant,
        "getAppWithdrawRecordList",
        r#"{"chain":"TRX","endAt":1000000000}"#,
    );
    assert_eq!(none, json!({"records": [], "nextId": ""}));
    let far_future = ok(
        &gateway,
        &merchant,
        "getAppWithdrawRecordList",
        r#"{"startAt":4000000000}"#,
    );
    assert_eq!(far_future["records"], json!([]));

    // Another merchant sees none of them, and cannot page through them.
    let other = gateway.create_merchant("other");
    let theirs = ok(&gateway, &other, "getAppWithdrawRecordList", "[]");
    assert_eq!(theirs, json!({"records": [], "nextId": ""}));
    let first = ok(&gateway, &merchant, "getAppWithdrawRecordList", "{}");
    let foreign_cursor = json!({ "nextId": first["nextId"] }).to_string();
    assert_eq!(
        code(
            &gateway,
            &other,
            "getAppWithdrawRecordList",
            &foreign_cursor
        ),
        11000
    );
    let one = json!({ "recordId": first["records"][0]["recordId"] }).to_string();
    assert_eq!(code(&gateway, &other, "getAppWithdrawRecord", &one), 11003);

    // No auto-withdrawals, no risky refunds: empty lists, filters still read.
    for endpoint in ["getAutoWithdrawRecordList", "getRiskyRefundRecordList"] {
        for body in [
            "",
            r#"{"coinId":1280,"chain":"ETH","recordIds":["x"],"startAt":1}"#,
        ] {
            let answer = gateway.post_v2(&merchant, endpoint, body.as_bytes());
            assert_golden("v2_no_dashboard_records.json", &answer.body);
        }
        assert_eq!(
            code(&gateway, &merchant, endpoint, r#"{"coinId":999}"#),
            13000
        );
        assert_eq!(
            code(&gateway, &merchant, endpoint, r#"{"recordIds":"x"}"#),
            11000
        );
    }
}

#[test]
fn refusals_carry_their_v2_codes() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "50", &[]);
    let withdraw = |order_id: &str, fields: Value| -> u64 {
        let mut body = json!({"orderId": order_id, "coinId": USDT, "chain": "ETH", "address": PAYEE_EVM, "amount": "10"});
        for (key, value) in fields.as_object().unwrap() {
            body[key] = value.clone();
        }
        code(
            &gateway,
            &merchant,
            "applyAppWithdrawToNetwork",
            &body.to_string(),
        )
    };
    assert_eq!(withdraw("r-balance", json!({"amount": "1000"})), 14000);
    assert_eq!(withdraw("r-address", json!({"address": "0x1234"})), 14007);
    assert_eq!(withdraw("r-minimum", json!({"amount": "0.5"})), 14005);
    // ERC-20 USDT carries 6 decimal places.
    assert_eq!(
        withdraw("r-precision", json!({"amount": "1.0000001"})),
        14013
    );
    // Above the minimum, but the 3.5 fee would take it all.
    assert_eq!(withdraw("r-fee", json!({"amount": "3"})), 14019);
    assert_eq!(withdraw("ab", json!({})), 11000);
    assert_eq!(withdraw("r-amount", json!({"amount": "ten"})), 11000);
    assert_eq!(withdraw("r-coin", json!({"coinId": 999})), 13000);
    assert_eq!(withdraw("r-chain", json!({"chain": "BTC"})), 13001);
    assert_eq!(
        withdraw("r-url", json!({"notifyUrl": "ftp://shop.example/"})),
        11000
    );

    // Fee quotes: unknown, another merchant's, another network's.
    assert_eq!(
        withdraw("r-quote-1", json!({"networkFeeInquiryID": "2026"})),
        14001
    );
    let other = gateway.create_merchant("other");
    let foreign = ok(
        &gateway,
        &other,
        "getWithdrawFee",
        r#"{"coinId":1280,"chain":"ETH"}"#,
    );
    assert_eq!(
        withdraw(
            "r-quote-2",
            json!({"networkFeeInquiryID": foreign["networkFeeInquiryID"]})
        ),
        14001
    );
    let tron = ok(
        &gateway,
        &merchant,
        "getWithdrawFee",
        r#"{"coinId":1280,"chain":"TRX"}"#,
    );
    assert_eq!(
        withdraw(
            "r-quote-3",
            json!({"networkFeeInquiryID": tron["networkFeeInquiryID"]})
        ),
        14001
    );
    assert_eq!(
        code(
            &gateway,
            &merchant,
            "getWithdrawFee",
            r#"{"coinId":1280,"chain":"BTC"}"#
        ),
        13001
    );
    // None of them moved money.
    assert_eq!(usdt_balance(&gateway, &merchant), "50");

    // Records: some id is needed; an unknown one is not found.
    assert_eq!(
        code(&gateway, &merchant, "getAppWithdrawRecord", "{}"),
        11000
    );
    assert_eq!(
        code(
            &gateway,
            &merchant,
            "getAppWithdrawRecord",
            r#"{"orderId":"r-balance"}"#
        ),
        11003
    );
    let ids: Vec<String> = (0..21).map(|n| format!("o-{n}")).collect();
    assert_eq!(
        code(
            &gateway,
            &merchant,
            "getAppWithdrawRecordList",
            &json!({ "orderIds": ids }).to_string()
        ),
        11010
    );
    assert_eq!(
        code(
            &gateway,
            &merchant,
            "getAppWithdrawRecordList",
            r#"{"coinId":999}"#
        ),
        13000
    );
}

#[test]
fn a_payout_the_chain_refuses_is_voided_and_notified_as_failed() {
    let notified = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "30", &[]);
    gateway.cli_ok(&["devnet", "fail-next-withdrawal", "--chain", "TRX"]);
    let body = json!({
        "orderId": "v2-fail-1",
        "coinId": USDT,
        "chain": "TRX",
        "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "amount": "5",
        "notifyUrl": notified.url,
    });
    let record_id = ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &body.to_string(),
    )["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = wait_for_v2_status(&gateway, &merchant, "v2-fail-1", "Failed");
    assert_eq!(failed["txId"], "");
    assert!(!failed["reason"].as_str().unwrap().is_empty(), "{failed}");
    assert_eq!(
        usdt_balance(&gateway, &merchant),
        "30",
        "the reservation came back"
    );
    assert_eq!(
        v1_detail(&gateway, &merchant, "v2-fail-1")["status"],
        "Failed"
    );

    let hooks = notified.wait_for_requests(1);
    assert_eq!(
        String::from_utf8(hooks[0].body.clone()).unwrap(),
        format!(
            r#"{{"type":"ApiWithdrawal","msg":{{"recordId":"{record_id}","orderId":"v2-fail-1","coinId":1280,"coinSymbol":"USDT","status":"Failed"}}}}"#
        )
    );
    verify_v2_signature(&hooks[0], &merchant);
    // A retry after the failure is still that withdrawal.
    let again = ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &body.to_string(),
    );
    assert_eq!(again["recordId"], record_id.as_str());
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

/// A quote binds for ten minutes of the gateway's clock (the sandbox's
/// virtual one here), then is refused with 14001.
#[test]
fn a_fee_quote_holds_for_ten_minutes() {
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "50", &[]);
    let quote = |gateway: &Gateway| {
        ok(
            gateway,
            &merchant,
            "getWithdrawFee",
            r#"{"coinId":1280,"chain":"ETH"}"#,
        )["networkFeeInquiryID"]
            .clone()
    };
    let withdraw = |order_id: &str, inquiry_id: &Value| {
        json!({"orderId": order_id, "coinId": USDT, "chain": "ETH", "address": PAYEE_EVM, "amount": "10", "networkFeeInquiryID": inquiry_id})
            .to_string()
    };

    let fresh = quote(&gateway);
    crate::sandbox::clock(&gateway, &["advance", "9m"]);
    ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &withdraw("q-1", &fresh),
    );
    let charged = record(&gateway, &merchant, json!({ "orderId": "q-1" }));
    assert_eq!(charged["fee"]["amount"], "3.5");

    let stale = quote(&gateway);
    crate::sandbox::clock(&gateway, &["advance", "10m"]);
    assert_eq!(
        code(
            &gateway,
            &merchant,
            "applyAppWithdrawToNetwork",
            &withdraw("q-2", &stale)
        ),
        14001
    );
    assert_eq!(usdt_balance(&gateway, &merchant), "40");
}

/// The same v2 paths on PostgreSQL (the migrations, the list's filters and
/// cursor, the quote): this test needs the database and fails without it.
#[test]
fn v2_withdrawals_on_postgres() {
    let url = crate::postgres::database_url()
        .expect("this test needs PostgreSQL (CCGATE_TEST_DATABASE_URL or 127.0.0.1:5432)");
    let schema = crate::postgres::Schema::new();
    let notified = HttpStub::start(200, "Success");
    let database = [
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.0.as_str(),
    ];
    let gateway = Gateway::start(&database);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "60", &database);
    let mut create = vec!["cwallet", "create", "--nickname", "pg", "--json"];
    create.extend_from_slice(&database);
    let created: Value = serde_json::from_str(&gateway.cli_ok(&create)).unwrap();
    let c_id = created["c_id"].as_str().unwrap().to_owned();

    let quote = ok(
        &gateway,
        &merchant,
        "getWithdrawFee",
        r#"{"coinId":1280,"chain":"ETH"}"#,
    );
    let network = json!({
        "orderId": "pg-v2-net",
        "coinId": USDT,
        "chain": "ETH",
        "address": PAYEE_EVM,
        "amount": "10",
        "networkFeeInquiryID": quote["networkFeeInquiryID"],
        "notifyUrl": format!("{}?pg=1", notified.url),
    });
    let record_id = ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &network.to_string(),
    )["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..21 {
        let body = json!({"orderId": format!("pg-cw-{n:02}"), "coinId": USDT, "cwalletUser": c_id, "amount": "1"});
        ok(
            &gateway,
            &merchant,
            "applyAppWithdrawToCwallet",
            &body.to_string(),
        );
    }
    let first = ok(&gateway, &merchant, "getAppWithdrawRecordList", "");
    assert_eq!(first["records"].as_array().unwrap().len(), 20);
    assert_eq!(first["records"][0]["orderId"], "pg-cw-20");
    let second = ok(
        &gateway,
        &merchant,
        "getAppWithdrawRecordList",
        &json!({ "nextId": first["nextId"] }).to_string(),
    );
    let rest: Vec<&str> = second["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["pg-cw-00", "pg-v2-net"]);
    assert_eq!(second["nextId"], "");
    let on_eth = ok(
        &gateway,
        &merchant,
        "getAppWithdrawRecordList",
        r#"{"chain":"ETH","coinId":1280,"startAt":1000000000}"#,
    );
    assert_eq!(on_eth["records"][0]["recordId"], record_id.as_str());
    assert_eq!(on_eth["records"].as_array().unwrap().len(), 1);

    eventually(20, "pg-v2-net never went on the chain", || {
        let found = record(&gateway, &merchant, json!({ "orderId": "pg-v2-net" }));
        match found["txId"].as_str() {
            Some(tx_id) if !tx_id.is_empty() => Ok(()),
            _ => Err(found.to_string()),
        }
    });
    let mined = gateway.admin_post("/admin/devnet/mine", r#"{"chain":"ETH","blocks":12}"#);
    assert_eq!(mined.status, 200, "{}", mined.text());
    wait_for_v2_status(&gateway, &merchant, "pg-v2-net", "Success");
    let hooks = notified.wait_for_requests(1);
    assert_eq!(hooks[0].target, "/hook?pg=1");
    verify_v2_signature(&hooks[0], &merchant);
    let hook: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(hook["msg"]["status"], "Success");
    // 60 − 10 − 21 × 1
    assert_eq!(usdt_balance(&gateway, &merchant), "29");
}

/// A coin's settings from the registry hold in v2 too: a memo chain needs
/// `memo` (14003) and shows it as `toMemo`; a coin in maintenance is 13005;
/// a coin not on the chain asked for is 13001, named in the message.
#[test]
fn memos_and_suspended_coins_in_v2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("memo.toml");
    std::fs::write(&config, crate::withdrawals::STATUS_COINS).unwrap();
    let config = config.to_str().unwrap();
    let gateway = Gateway::start(&["--config", config]);
    let merchant = gateway.demo.clone().unwrap();
    let coins = ok(&gateway, &merchant, "getCoinList", "");
    let coin_id = |symbol: &str| {
        coins["coins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|coin| coin["symbol"] == symbol)
            .unwrap_or_else(|| panic!("no {symbol} in {coins}"))["coinId"]
            .as_u64()
            .unwrap()
    };
    for symbol in ["MEMO", "PAUSED"] {
        gateway.adjust(&merchant, symbol, "10", &["--config", config]);
    }
    let body = |order_id: &str, symbol: &str, memo: &str| {
        json!({"orderId": order_id, "coinId": coin_id(symbol), "chain": "ETH", "address": PAYEE_EVM, "amount": "1", "memo": memo})
            .to_string()
    };
    let endpoint = "applyAppWithdrawToNetwork";
    assert_eq!(
        code(&gateway, &merchant, endpoint, &body("m-1", "MEMO", "")),
        14003
    );
    ok(&gateway, &merchant, endpoint, &body("m-2", "MEMO", "42"));
    let withdrawn = record(&gateway, &merchant, json!({ "orderId": "m-2" }));
    assert_eq!(
        (
            withdrawn["toMemo"].as_str(),
            withdrawn["coinSymbol"].as_str(),
            withdrawn["fee"]["amount"].as_str(),
            withdrawn["fee"]["coinId"].as_u64(),
        ),
        (Some("42"), Some("MEMO"), Some("0.1"), Some(coin_id("MEMO")))
    );
    assert_eq!(
        code(&gateway, &merchant, endpoint, &body("p-1", "PAUSED", "")),
        13005
    );
    let elsewhere = gateway.post_v2(
        &merchant,
        endpoint,
        body("m-3", "MEMO", "1")
            .replace("\"ETH\"", "\"TRX\"")
            .as_bytes(),
    );
    let refused = elsewhere.json();
    assert_eq!(refused["code"], 13001, "{refused}");
    assert_eq!(refused["msg"], "MEMO is not on chain \"TRX\"");
}

/// The ApiWithdrawal webhooks `stub` received, as (orderId, status).
fn notices(stub: &HttpStub) -> Vec<(String, String)> {
    stub.received()
        .iter()
        .map(|hook| {
            let body: Value = serde_json::from_slice(&hook.body).unwrap();
            assert_eq!(body["type"], "ApiWithdrawal", "{body}");
            (
                body["msg"]["orderId"].as_str().unwrap().to_owned(),
                body["msg"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn wait_for_notice(stub: &HttpStub, order_id: &str, status: &str) {
    eventually(20, &format!("no {status} webhook for {order_id}"), || {
        let seen = notices(stub);
        if seen.iter().any(|(o, s)| o == order_id && s == status) {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    });
}

/// With approval required, a chain withdrawal is reserved and waits
/// (`WaitingApproval`, notified) until the operator approves it — then it is
/// paid like any other — or rejects it — then it is voided (`Rejected`).
#[test]
fn withdrawals_waiting_for_approval_are_sent_or_voided_by_the_operator() {
    let notified = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "100", &[]);
    gateway.cli_ok(&[
        "merchant",
        "set-withdrawal-approval",
        "--app-id",
        &merchant.app_id,
        "--required",
        "true",
    ]);
    let network = |order_id: &str, amount: &str| {
        json!({"orderId": order_id, "coinId": USDT, "chain": "ETH", "address": PAYEE_EVM, "amount": amount, "notifyUrl": notified.url})
            .to_string()
    };
    let endpoint = "applyAppWithdrawToNetwork";
    ok(&gateway, &merchant, endpoint, &network("ap-1", "10"));
    ok(&gateway, &merchant, endpoint, &network("ap-2", "10"));
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/withdraw",
        format!(
            r#"{{"token_id":"2728e271-9f5d-4c05-8aa7-4a87b1afcc95","address":"{PAYEE_EVM}","value":"5","merchant_order_id":"ap-v1"}}"#
        )
        .as_bytes(),
        None,
    );
    assert_eq!(v1.json()["code"], 10000, "{}", v1.text());
    // A Cwallet withdrawal never waits.
    let c_id = cwallet(&gateway, "instant");
    let to_cwallet =
        json!({"orderId": "ap-cw", "coinId": USDT, "cwalletUser": c_id, "amount": "1"});
    ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToCwallet",
        &to_cwallet.to_string(),
    );
    assert_eq!(
        record(&gateway, &merchant, json!({"orderId": "ap-cw"}))["status"],
        "Success"
    );

    let waiting = record(&gateway, &merchant, json!({"orderId": "ap-1"}));
    assert_eq!(
        (waiting["status"].as_str(), waiting["txId"].as_str()),
        (Some("WaitingApproval"), Some(""))
    );
    // v1 has no word for it: still `Pending`.
    assert_eq!(v1_detail(&gateway, &merchant, "ap-v1")["status"], "Pending");
    assert_eq!(
        usdt_balance(&gateway, &merchant),
        "74",
        "reserved while waiting"
    );
    wait_for_notice(&notified, "ap-1", "WaitingApproval");
    wait_for_notice(&notified, "ap-2", "WaitingApproval");

    // Without approval, a later withdrawal is sent; the worker takes open
    // withdrawals oldest first, so by then it would have sent the waiting
    // ones too, had they been open.
    gateway.cli_ok(&[
        "merchant",
        "set-withdrawal-approval",
        "--app-id",
        &merchant.app_id,
        "--required",
        "false",
    ]);
    ok(&gateway, &merchant, endpoint, &network("ap-3", "5"));
    eventually(20, "ap-3 never went on the chain", || {
        let found = record(&gateway, &merchant, json!({"orderId": "ap-3"}));
        match found["txId"].as_str() {
            Some(tx_id) if !tx_id.is_empty() => Ok(()),
            _ => Err(found.to_string()),
        }
    });
    for order_id in ["ap-1", "ap-2"] {
        let still = record(&gateway, &merchant, json!({ "orderId": order_id }));
        assert_eq!(
            (still["status"].as_str(), still["txId"].as_str()),
            (Some("WaitingApproval"), Some("")),
            "{order_id}"
        );
    }

    let order_id_of = |merchant_order_id: &str| {
        v1_detail(&gateway, &merchant, merchant_order_id)["order_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let rejected = order_id_of("ap-2");
    gateway.cli_ok(&["withdrawal", "reject", "--order-id", &rejected]);
    let refused = record(&gateway, &merchant, json!({"orderId": "ap-2"}));
    assert_eq!(refused["status"], "Rejected");
    assert!(!refused["reason"].as_str().unwrap().is_empty(), "{refused}");
    assert_eq!(v1_detail(&gateway, &merchant, "ap-2")["status"], "Failed");
    assert_eq!(
        usdt_balance(&gateway, &merchant),
        "79",
        "the rejected 10 came back"
    );
    wait_for_notice(&notified, "ap-2", "Rejected");
    // Once only: a rejected withdrawal is no longer waiting.
    let again = gateway.cli(&["withdrawal", "reject", "--order-id", &rejected]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not waiting for approval"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let unknown = gateway.cli(&["withdrawal", "approve", "--order-id", "nope"]);
    assert!(!unknown.status.success());

    // One through the admin API (what an operator's console calls), one by
    // the CLI; both answer what the decision made.
    let approved = gateway.admin_post(
        "/admin/withdrawals/approve",
        &json!({"order_id": order_id_of("ap-1")}).to_string(),
    );
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["approval"], "approved");
    assert_eq!(approved.json()["order_id"], order_id_of("ap-1"));
    let twice = gateway.admin_post(
        "/admin/withdrawals/approve",
        &json!({"order_id": order_id_of("ap-1")}).to_string(),
    );
    assert_eq!(twice.status, 400);
    assert!(
        twice.text().contains("not waiting for approval"),
        "{}",
        twice.text()
    );
    let by_cli: Value = serde_json::from_str(&gateway.cli_ok(&[
        "withdrawal",
        "approve",
        "--order-id",
        &order_id_of("ap-v1"),
        "--json",
    ]))
    .unwrap();
    assert_eq!(by_cli["approval"], "approved");
    for order_id in ["ap-1", "ap-v1"] {
        eventually(20, &format!("{order_id} never went on the chain"), || {
            let found = record(&gateway, &merchant, json!({ "orderId": order_id }));
            match found["txId"].as_str() {
                Some(tx_id) if !tx_id.is_empty() => Ok(()),
                _ => Err(found.to_string()),
            }
        });
    }
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
    for order_id in ["ap-1", "ap-v1", "ap-3"] {
        wait_for_v2_status(&gateway, &merchant, order_id, "Success");
    }
    wait_for_notice(&notified, "ap-1", "Success");
    assert_eq!(
        v1_detail(&gateway, &merchant, "ap-v1")["status"],
        "Successful"
    );
    // 100 − 10 − 5 − 1 − 5: the rejected 10 stayed.
    assert_eq!(usdt_balance(&gateway, &merchant), "79");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}
