//! v2 `addressUnbinding` and `getTradeBlockHeight`/`getPaymentBlockHeight`
//! through the real binary (decisions §16): an unbound permanent address
//! gives way to a new one in both dialects, still credits and notifies the
//! merchant, still counts toward the quota and stays unbound across a
//! restart; each refusal has its 17xxx code; a
//! deposit's and a withdrawal's blocks against the chain's latest.

use ccgate_client::{ClientError, V2Client};
use serde_json::{Value, json};

use crate::support::{Gateway, HttpStub, Merchant, assert_golden, eventually, pay_confirmed};

const USDT: u64 = 1280;
/// A valid EIP-55 address no one here holds.
const STRANGER_EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// The whole answer, after checking it is v2's envelope.
fn call(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> Value {
    let response = gateway.post_v2(merchant, endpoint, body.as_bytes());
    assert_eq!(response.status, 200, "{endpoint}: {}", response.text());
    let answer = response.json();
    assert!(answer["data"].is_object(), "{answer}");
    answer
}

fn ok(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> Value {
    let answer = call(gateway, merchant, endpoint, body);
    assert_eq!(answer["code"], 10000, "{endpoint}: {answer}");
    answer["data"].clone()
}

/// The refusal's code and message.
fn refused(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: &str) -> (u64, String) {
    let answer = call(gateway, merchant, endpoint, body);
    assert!(answer["reason"].is_string(), "{answer}");
    (
        answer["code"].as_u64().unwrap(),
        answer["msg"].as_str().unwrap().to_owned(),
    )
}

fn permanent_address(gateway: &Gateway, merchant: &Merchant, reference: &str) -> String {
    let body = json!({"referenceId": reference, "chain": "ETH"}).to_string();
    ok(gateway, merchant, "getOrCreateAppDepositAddress", &body)["address"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn unbind(address: &str) -> String {
    json!({"chain": "ETH", "address": address}).to_string()
}

fn pay_and_confirm(gateway: &Gateway, to: &str, amount: &str) {
    pay_confirmed(gateway, to, amount);
}

/// The merchant's deposit records to `address`, once there are `count`.
fn records_to(gateway: &Gateway, merchant: &Merchant, address: &str, count: usize) -> Vec<Value> {
    let body = json!({ "toAddress": address }).to_string();
    eventually(20, "the deposits credited", || {
        let list = ok(gateway, merchant, "getAppDepositRecordList", &body);
        let records = list["records"].as_array().cloned().unwrap_or_default();
        if records.len() == count {
            Ok(records)
        } else {
            Err(list.to_string())
        }
    })
}

#[test]
fn an_unbound_address_gives_way_to_a_new_one_and_still_credits_the_merchant() {
    let mut gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let old = permanent_address(&gateway, &merchant, "user-7");

    // Never paid: nothing to retire yet.
    let (code, msg) = refused(&gateway, &merchant, "addressUnbinding", &unbind(&old));
    assert_eq!(
        (code, msg.contains("never been paid")),
        (17000, true),
        "{msg}"
    );

    pay_and_confirm(&gateway, &old, "1");
    records_to(&gateway, &merchant, &old, 1);
    // An EVM address is matched in any letter case, and answered as stored.
    let unbound = gateway.post_v2(
        &merchant,
        "addressUnbinding",
        unbind(&old.to_lowercase()).as_bytes(),
    );
    let data = unbound.json()["data"].clone();
    assert_eq!(data["referenceID"], "user-7", "{data}");
    let unbound_at = data["unboundAt"].as_i64().unwrap();
    assert!((unbound_at - crate::support::now()).abs() < 60, "{data}");
    let text = String::from_utf8(unbound.body.clone())
        .unwrap()
        .replace(&old, "0xADDRESS")
        .replace(&unbound_at.to_string(), "1765000000");
    assert_golden("v2_address_unbinding.json", text.as_bytes());

    // Both dialects now answer a new address for the user; the old one is
    // not handed out again.
    let new = permanent_address(&gateway, &merchant, "user-7");
    assert_ne!(new, old);
    assert_eq!(permanent_address(&gateway, &merchant, "user-7"), new);
    let v1 = gateway.post_signed(
        &merchant,
        "/ccpayment/v1/payment/address/get",
        br#"{"user_id":"user-7","chain":"ETH"}"#,
        None,
    );
    assert_eq!(v1.json()["data"]["address"], new.as_str(), "{}", v1.text());

    // A payment to the old address is still the merchant's, for its user.
    pay_and_confirm(&gateway, &old, "2");
    let records = records_to(&gateway, &merchant, &old, 2);
    assert_eq!(records[0]["amount"], "2", "{}", records[0]);
    assert_eq!(records[0]["referenceId"], "user-7");
    let assets = ok(
        &gateway,
        &merchant,
        "getAppCoinAsset",
        &json!({"coinId": USDT}).to_string(),
    );
    // 1 + 2 paid, less the default service fee of 0.03 % of each.
    assert_eq!(assets["asset"]["available"], "2.9991", "{assets}");

    // Refusals, each with its code; the client crate's typed call reads them.
    let client = V2Client::new(
        format!("http://{}", gateway.address()).as_str(),
        &merchant.app_id,
        &merchant.app_secret,
    )
    .unwrap();
    let again = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.unbind_address("ETH", &old));
    match again {
        Err(ClientError::Api {
            code: 17003,
            reason,
            ..
        }) => {
            assert_eq!(reason.as_deref(), Some("UnBindingAddressDeprecated"));
        }
        other => panic!("{other:?}"),
    }
    let order = ok(
        &gateway,
        &merchant,
        "createAppOrderDepositAddress",
        &json!({"orderId": "o-unbind", "coinId": USDT, "chain": "ETH", "price": "1"}).to_string(),
    );
    let order_address = order["address"].as_str().unwrap();
    let (code, _) = refused(
        &gateway,
        &merchant,
        "addressUnbinding",
        &unbind(order_address),
    );
    assert_eq!(code, 17004);
    let wrong_chain = json!({"chain": "TRX", "address": new}).to_string();
    let (code, _) = refused(&gateway, &merchant, "addressUnbinding", &wrong_chain);
    assert_eq!(code, 17005);
    // Another merchant's paid address is answered as one no one holds.
    let other = gateway.create_merchant("other shop");
    let theirs = permanent_address(&gateway, &other, "user-7");
    pay_and_confirm(&gateway, &theirs, "1");
    records_to(&gateway, &other, &theirs, 1);
    let (code, msg) = refused(&gateway, &merchant, "addressUnbinding", &unbind(&theirs));
    let (stranger_code, stranger_msg) = refused(
        &gateway,
        &merchant,
        "addressUnbinding",
        &unbind(STRANGER_EVM),
    );
    assert_eq!((code, stranger_code), (17001, 17001));
    assert_eq!(
        msg.replace(&theirs, "X"),
        stranger_msg.replace(STRANGER_EVM, "X")
    );
    let (code, _) = refused(
        &gateway,
        &merchant,
        "addressUnbinding",
        &json!({"chain": "ETH"}).to_string(),
    );
    assert_eq!(code, 11000);

    // The unbinding is kept: after a restart the user keeps its new address.
    gateway.terminate();
    let gateway = gateway.restart(&[]);
    assert_eq!(permanent_address(&gateway, &merchant, "user-7"), new);
    let (code, _) = refused(&gateway, &merchant, "addressUnbinding", &unbind(&old));
    assert_eq!(code, 17003);
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

fn block_heights(gateway: &Gateway, merchant: &Merchant, endpoint: &str, body: Value) -> Value {
    ok(gateway, merchant, endpoint, &body.to_string())
}

#[test]
fn block_heights_of_a_deposit_and_a_withdrawal_against_the_latest_block() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let address = permanent_address(&gateway, &merchant, "user-9");
    pay_and_confirm(&gateway, &address, "30");
    let record_id = records_to(&gateway, &merchant, &address, 1)[0]["recordId"]
        .as_str()
        .unwrap()
        .to_owned();

    let answer = gateway.post_v2(
        &merchant,
        "getTradeBlockHeight",
        json!({ "record_id": record_id }).to_string().as_bytes(),
    );
    let deposit = answer.json()["data"].clone();
    assert_eq!(deposit["chain"], "ETH");
    assert_eq!(deposit["reqConfirmations"], 12);
    let (tx_block, current) = (
        deposit["txBlockHeight"].as_u64().unwrap(),
        deposit["currBlockHeight"].as_u64().unwrap(),
    );
    // Credited: at least its confirmations are on top of it.
    assert!(tx_block > 0 && current >= tx_block + 11, "{deposit}");
    let text = String::from_utf8(answer.body.clone()).unwrap().replace(
        &format!(r#""txBlockHeight":{tx_block},"currBlockHeight":{current}"#),
        r#""txBlockHeight":1,"currBlockHeight":12"#,
    );
    assert_golden("v2_trade_block_height.json", text.as_bytes());
    // The proto's path and the camelCase field answer the same.
    let same = block_heights(
        &gateway,
        &merchant,
        "getPaymentBlockHeight",
        json!({ "recordId": record_id }),
    );
    assert_eq!(same, deposit);
    // And the client crate's typed call.
    let client = V2Client::new(
        format!("http://{}", gateway.address()).as_str(),
        &merchant.app_id,
        &merchant.app_secret,
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let typed = runtime.block_on(client.block_heights(&record_id)).unwrap();
    assert_eq!(
        (
            typed.chain.as_str(),
            typed.tx_block_height,
            typed.req_confirmations
        ),
        ("ETH", tx_block, 12)
    );

    // A chain withdrawal: its block once it is sent, against a later head.
    let withdrawal = ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &json!({"orderId": "w-height", "coinId": USDT, "chain": "ETH", "address": STRANGER_EVM, "amount": "10"})
            .to_string(),
    );
    let withdrawal_id = withdrawal["recordId"].as_str().unwrap().to_owned();
    // Refused as "not in a block yet" until the worker sends it.
    eventually(20, "the withdrawal sent", || {
        let answer = call(
            &gateway,
            &merchant,
            "getTradeBlockHeight",
            &json!({ "record_id": withdrawal_id }).to_string(),
        );
        match answer["code"].as_u64() {
            Some(10000) => Ok(()),
            _ => Err(answer.to_string()),
        }
    });
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "3"]);
    let sent = block_heights(
        &gateway,
        &merchant,
        "getTradeBlockHeight",
        json!({ "record_id": withdrawal_id }),
    );
    assert_eq!(sent["chain"], "ETH");
    assert!(
        sent["txBlockHeight"].as_u64().unwrap() > tx_block
            && sent["currBlockHeight"].as_u64().unwrap()
                >= sent["txBlockHeight"].as_u64().unwrap() + 2,
        "{sent}"
    );

    // A withdrawal waiting for the operator's approval is in no block yet.
    gateway.cli_ok(&[
        "merchant",
        "set-withdrawal-approval",
        "--app-id",
        &merchant.app_id,
        "--required",
        "true",
    ]);
    let waiting = ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToNetwork",
        &json!({"orderId": "w-waiting", "coinId": USDT, "chain": "ETH", "address": STRANGER_EVM, "amount": "5"})
            .to_string(),
    );
    let (code, msg) = refused(
        &gateway,
        &merchant,
        "getTradeBlockHeight",
        &json!({ "record_id": waiting["recordId"] }).to_string(),
    );
    assert_eq!(code, 11000);
    assert!(msg.contains("not in a block yet"), "{msg}");

    // A Cwallet withdrawal has no block; unknown and other merchants'
    // records are not found alike.
    let cwallet: Value =
        serde_json::from_str(&gateway.cli_ok(&["cwallet", "create", "--nickname", "n", "--json"]))
            .unwrap();
    let to_cwallet = ok(
        &gateway,
        &merchant,
        "applyAppWithdrawToCwallet",
        &json!({"orderId": "cw-height", "coinId": USDT, "cwalletUser": cwallet["c_id"], "amount": "1"})
            .to_string(),
    );
    let (code, msg) = refused(
        &gateway,
        &merchant,
        "getTradeBlockHeight",
        &json!({ "record_id": to_cwallet["recordId"] }).to_string(),
    );
    assert_eq!(code, 11000);
    assert!(msg.contains("Cwallet"), "{msg}");
    let other = gateway.create_merchant("other shop");
    for asker in [&other, &merchant] {
        let (code, _) = refused(
            &gateway,
            asker,
            "getPaymentBlockHeight",
            &json!({ "record_id": if asker.app_id == other.app_id { record_id.as_str() } else { "20240101000000000000000000000000" } })
                .to_string(),
        );
        assert_eq!(code, 11003);
    }
}

#[test]
fn an_unbound_address_is_still_notified_and_still_counts_toward_the_quota() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--address-quota", "2"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let old = permanent_address(&gateway, &merchant, "user-a");
    pay_and_confirm(&gateway, &old, "1");
    records_to(&gateway, &merchant, &old, 1);
    ok(&gateway, &merchant, "addressUnbinding", &unbind(&old));

    // The old address and its successor are two of the two allowed.
    let new = permanent_address(&gateway, &merchant, "user-a");
    assert_ne!(new, old);
    let body = json!({"referenceId": "user-b", "chain": "ETH"}).to_string();
    let (code, _) = refused(&gateway, &merchant, "getOrCreateAppDepositAddress", &body);
    assert_eq!(code, 15001);

    // A payment to the old address is notified as before: v2's DirectDeposit
    // for the user it was made for.
    pay_and_confirm(&gateway, &old, "4");
    let hooks = receiver.wait_for_requests(2);
    let late: Value = serde_json::from_slice(&hooks[1].body).unwrap();
    assert_eq!(late["type"], "DirectDeposit", "{late}");
    assert_eq!(late["msg"]["referenceId"], "user-a", "{late}");
    let records = records_to(&gateway, &merchant, &old, 2);
    assert_eq!(late["msg"]["recordId"], records[0]["recordId"]);
}

/// A wallet user's permanent address (decisions §35): its deposit's block is
/// found by `getTradeBlockHeight` as the merchant's are; unbinding it (the
/// spec's answer names a wallet user as `userID`) gives the user a new
/// address, and a payment to the old one still credits the user.
#[test]
fn a_wallet_user_s_address_answers_its_block_and_unbinds_for_its_user() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let user_address = |user_id: &str| {
        let body = json!({"userId": user_id, "chain": "ETH"}).to_string();
        ok(&gateway, &merchant, "getOrCreateUserDepositAddress", &body)["address"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let user_records = |count: usize| {
        let body = json!({"userId": "wallet-7"}).to_string();
        eventually(20, "the user's deposits credited", || {
            let list = ok(&gateway, &merchant, "getUserDepositRecordList", &body);
            let records = list["records"].as_array().cloned().unwrap_or_default();
            if records.len() == count {
                Ok(records)
            } else {
                Err(list.to_string())
            }
        })
    };
    let old = user_address("wallet-7");
    pay_and_confirm(&gateway, &old, "3");
    let record_id = user_records(1)[0]["recordId"].as_str().unwrap().to_owned();

    let heights = block_heights(
        &gateway,
        &merchant,
        "getTradeBlockHeight",
        json!({ "record_id": record_id }),
    );
    assert_eq!(heights["chain"], "ETH", "{heights}");
    assert!(
        heights["currBlockHeight"].as_u64().unwrap() >= heights["txBlockHeight"].as_u64().unwrap(),
        "{heights}"
    );

    let data = ok(&gateway, &merchant, "addressUnbinding", &unbind(&old));
    assert_eq!(
        (&data["userID"], &data["referenceID"]),
        (&json!("wallet-7"), &json!("")),
        "{data}"
    );
    let new = user_address("wallet-7");
    assert_ne!(new, old);
    pay_and_confirm(&gateway, &old, "2");
    user_records(2);
    let asset = ok(
        &gateway,
        &merchant,
        "getUserCoinAsset",
        &json!({"userId": "wallet-7", "coinId": USDT}).to_string(),
    );
    // 3 + 2 paid, less the default service fee of 0.03 % of each.
    assert_eq!(asset["asset"]["available"], "4.9985", "{asset}");
}
