//! Native checkout orders through the real binary: creation with the rate
//! locked and idempotent merchant_order_id, payment on the devnet, the API
//! Deposit webhook, `bill/info`, and under-, over-, multi- and late payment.

use serde_json::Value;

use crate::support::{Gateway, HttpStub, Merchant, eventually};

const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
const BTC: &str = "f36ad1cf-222a-4933-9ad0-86df8069f916";

fn post(gateway: &Gateway, merchant: &Merchant, path: &str, body: &str) -> Value {
    let response = gateway.post_signed(merchant, path, body.as_bytes(), Some("application/json"));
    response.assert_signed_by(merchant);
    response.json()
}

fn create(gateway: &Gateway, merchant: &Merchant, body: &str) -> Value {
    post(gateway, merchant, "/ccpayment/v1/bill/create", body)
}

fn info(gateway: &Gateway, merchant: &Merchant, ids: &[&str]) -> Value {
    let ids: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    post(
        gateway,
        merchant,
        "/ccpayment/v1/bill/info",
        &format!(r#"{{"merchant_order_ids":[{}]}}"#, ids.join(",")),
    )
}

fn pay(gateway: &Gateway, to: &str, amount: &str) {
    gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        to,
        "--token-id",
        USDT_ERC20,
        "--amount",
        amount,
    ]);
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "12"]);
}

fn wait_for_status(gateway: &Gateway, merchant: &Merchant, id: &str, paid: &str) -> Value {
    eventually(20, &format!("never paid {paid}"), || {
        let detail = info(gateway, merchant, &[id])["data"][0].clone();
        if detail["order_detail"]["paid_amount"] == paid {
            Ok(detail)
        } else {
            Err(detail.to_string())
        }
    })
}

#[test]
fn an_order_is_created_once_paid_and_notified() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"o-1","denominated_currency":"USD","notify_url":"{}","custom_value":"cart-7","remark":""}}"#,
        receiver.url
    );
    let created = create(&gateway, &merchant, &body);
    assert_eq!(created["code"], 10000, "{created}");
    let data = &created["data"];
    assert_eq!(data["amount"], "10");
    assert_eq!(
        (
            data["crypto"].as_str(),
            data["network"].as_str(),
            data["token_id"].as_str()
        ),
        (Some("USDT"), Some("ERC20"), Some(USDT_ERC20))
    );
    assert_eq!(data["order_valid_period"], 86400);
    assert_eq!(data["order_id"].as_str().unwrap().len(), 33);
    let address = data["pay_address"].as_str().unwrap().to_owned();

    // The same request again is the same order; other parameters are refused.
    let again = create(&gateway, &merchant, &body);
    assert_eq!(
        (
            again["data"]["order_id"].clone(),
            again["data"]["pay_address"].clone()
        ),
        (data["order_id"].clone(), data["pay_address"].clone())
    );
    let other = create(
        &gateway,
        &merchant,
        &body.replace(r#""product_price":"10""#, r#""product_price":"11""#),
    );
    assert_eq!(other["code"], 222001);

    let pending = info(&gateway, &merchant, &["o-1", "unknown-id"]);
    assert_eq!(
        pending["data"].as_array().unwrap().len(),
        1,
        "unknown ids are left out"
    );
    assert_eq!(pending["data"][0]["order_detail"]["status"], "Pending");

    pay(&gateway, &address, "10");
    let hooks = receiver.wait_for_requests(1);
    let hook: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    let expected = format!(
        r#"{{"pay_status":"success","order_type":"API Deposit","record_id":"{}","order_id":"{}","product_price":"10","denominated_currency":"USD","order_amount":"10","fiat_rate":"1","paid_amount":"10","token_rate":"1","chain":"ETH","txid":"{}","contract":"0xdAC17F958D2ee523a2206206994597C13D831ec7","crypto":"USDT","extend":{{"merchant_order_id":"o-1","custom_value":"cart-7"}}}}"#,
        hook["record_id"].as_str().unwrap(),
        data["order_id"].as_str().unwrap(),
        hook["txid"].as_str().unwrap()
    );
    assert_eq!(String::from_utf8(hooks[0].body.clone()).unwrap(), expected);
    assert!(ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        hooks[0].header("timestamp").unwrap(),
        &hooks[0].body,
        hooks[0].header("sign").unwrap()
    ));

    let paid = wait_for_status(&gateway, &merchant, "o-1", "10");
    let detail = &paid["order_detail"];
    assert_eq!(
        (
            detail["status"].as_str(),
            detail["underpaid"].as_bool(),
            detail["overpaid"].as_bool()
        ),
        (Some("Successful"), Some(false), Some(false))
    );
    assert_eq!(paid["trade_list"][0]["amount"], "10");
    assert_eq!(paid["trade_list"][0]["service_fee"], "0.003");
    assert_eq!(paid["refund_list"], serde_json::json!([]));
    let assets = post(&gateway, &merchant, "/ccpayment/v1/assets", "{}");
    assert_eq!(assets["data"]["list"][0]["value"], "9.997");
}

#[test]
fn prices_in_fiat_or_token_and_bad_requests() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    // 9.20 EUR at 0.92 EUR per USD and 96250.5 USD per BTC, rounded up at 8 places.
    let eur = create(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"{BTC}","product_price":"9.20","merchant_order_id":"eur-1","denominated_currency":"eur"}}"#
        ),
    );
    assert_eq!(eur["data"]["amount"], "0.0001039", "{eur}");
    let token = create(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","amount":"2.5","merchant_order_id":"tok-1","fiat_currency":"token","valid_timestamp":600}}"#
        ),
    );
    assert_eq!(
        (
            token["data"]["amount"].as_str(),
            token["data"]["order_valid_period"].as_u64()
        ),
        (Some("2.5"), Some(600))
    );
    let detail = info(&gateway, &merchant, &["eur-1", "tok-1"]);
    assert_eq!(
        detail["data"][0]["order_detail"]["denominated_currency"],
        "EUR"
    );
    assert_eq!(detail["data"][0]["order_detail"]["token_rate"], "96250.5");
    assert_eq!(
        detail["data"][1]["order_detail"]["denominated_currency"],
        "token"
    );

    for (body, code) in [
        (format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"1.005","merchant_order_id":"b1"}}"#), 222003),
        (format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"0","merchant_order_id":"b2"}}"#), 222003),
        (format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"1","merchant_order_id":"b3","order_valid_period":864001}}"#), 220006),
        (format!(r#"{{"token_id":"{USDT_ERC20}","product_price":"1","merchant_order_id":"b4","denominated_currency":"XYZ"}}"#), 221004),
        (r#"{"token_id":"00000000-0000-0000-0000-000000000000","product_price":"1","merchant_order_id":"b5"}"#.to_owned(), 221001),
        (r#"{"token_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","product_price":"1","merchant_order_id":"b6"}"#.to_owned(), 221001),
        (format!(r#"{{"token_id":"{USDT_ERC20}","merchant_order_id":"b7"}}"#), 220006),
    ] {
        assert_eq!(create(&gateway, &merchant, &body)["code"], code, "{body}");
    }
    let too_many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    assert_eq!(info(&gateway, &merchant, &refs)["code"], 220006);
    assert_eq!(
        post(&gateway, &merchant, "/ccpayment/v1/bill/info", "{}")["code"],
        220006
    );
}

#[test]
fn partial_multiple_over_and_late_payments() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let created = create(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"multi","denominated_currency":"token"}}"#
        ),
    );
    let address = created["data"]["pay_address"].as_str().unwrap().to_owned();
    pay(&gateway, &address, "4");
    let under = wait_for_status(&gateway, &merchant, "multi", "4");
    assert_eq!(
        (
            under["order_detail"]["status"].as_str(),
            under["order_detail"]["underpaid"].as_bool()
        ),
        (Some("Pending"), Some(true))
    );
    pay(&gateway, &address, "7");
    let over = wait_for_status(&gateway, &merchant, "multi", "11");
    assert_eq!(
        (
            over["order_detail"]["status"].as_str(),
            over["order_detail"]["overpaid"].as_bool()
        ),
        (Some("Successful"), Some(true))
    );
    assert_eq!(over["trade_list"].as_array().unwrap().len(), 2);

    // An order that expires unpaid stays Expired; a late payment is still credited and listed.
    let short = create(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"5","merchant_order_id":"late","denominated_currency":"token","order_valid_period":1}}"#
        ),
    );
    let late_address = short["data"]["pay_address"].as_str().unwrap().to_owned();
    eventually(10, "never expired", || {
        let status =
            info(&gateway, &merchant, &["late"])["data"][0]["order_detail"]["status"].clone();
        if status == "Expired" {
            Ok(())
        } else {
            Err(status.to_string())
        }
    });
    pay(&gateway, &late_address, "5");
    let late = wait_for_status(&gateway, &merchant, "late", "5");
    assert_eq!(late["order_detail"]["status"], "Expired");
    assert_eq!(late["trade_list"][0]["amount"], "5");
    let assets = post(&gateway, &merchant, "/ccpayment/v1/assets", "{}");
    // 4 + 7 + 5 paid, 0.03 % kept as service fee.
    assert_eq!(assets["data"]["list"][0]["value"], "15.9952");
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

#[test]
fn a_confirming_payment_makes_the_order_processing_and_opted_in_merchants_hear_of_it() {
    let receiver = HttpStub::start(200, "success");
    let gateway = Gateway::start(&[]);
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
    let created = create(
        &gateway,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"5","merchant_order_id":"proc","denominated_currency":"token"}}"#
        ),
    );
    let address = created["data"]["pay_address"].as_str().unwrap().to_owned();
    gateway.cli_ok(&[
        "devnet",
        "pay",
        "--to",
        &address,
        "--token-id",
        USDT_ERC20,
        "--amount",
        "5",
    ]);
    // The payment's block exists (one confirmation of twelve).
    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "1"]);
    let first = receiver.wait_for_requests(1);
    let processing: Value = serde_json::from_slice(&first[0].body).unwrap();
    assert_eq!(
        (
            processing["pay_status"].as_str(),
            processing["order_type"].as_str()
        ),
        (Some("processing"), Some("API Deposit"))
    );
    assert_eq!(
        info(&gateway, &merchant, &["proc"])["data"][0]["order_detail"]["status"],
        "Processing"
    );

    gateway.cli_ok(&["devnet", "mine", "--chain", "ETH", "--blocks", "11"]);
    let both = receiver.wait_for_requests(2);
    let success: Value = serde_json::from_slice(&both[1].body).unwrap();
    assert_eq!(success["pay_status"], "success");
    assert_eq!(
        success["record_id"], processing["record_id"],
        "one record, two notifications"
    );
    assert_eq!(
        wait_for_status(&gateway, &merchant, "proc", "5")["order_detail"]["status"],
        "Successful"
    );
}

/// Issue #15 §4: one namespace of `merchant_order_id` per merchant, across
/// deposit orders, hosted checkouts and withdrawals — `bill/info` looks an
/// id up alone, so a second use of another kind is refused (222001) and the
/// first stays findable. Each kind's own repeat stays idempotent.
#[test]
fn a_merchant_order_id_names_one_thing_across_orders_checkouts_and_withdrawals() {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    let other = gateway.create_merchant("other shop");
    gateway.adjust(&merchant, "USDT", "100", &[]);
    let order = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"shared-1"}}"#
    );
    let checkout = |id: &str| {
        format!(r#"{{"product_price":"10","merchant_order_id":"{id}","product_name":"Tea"}}"#)
    };
    let withdrawal = |id: &str| {
        format!(
            r#"{{"token_id":"{USDT_ERC20}","address":"0xC85107D6E6DE7F8A1dD423d77d139a42cB573829","value":"5","merchant_order_id":"{id}"}}"#
        )
    };
    assert_eq!(create(&gateway, &merchant, &order)["code"], 10000);
    assert_eq!(
        create(&gateway, &merchant, &order)["code"],
        10000,
        "idempotent"
    );
    for (path, body) in [
        ("/ccpayment/v1/withdraw", withdrawal("shared-1")),
        ("/ccpayment/v1/concise/url/get", checkout("shared-1")),
    ] {
        let refused = post(&gateway, &merchant, path, &body);
        assert_eq!(refused["code"], 222001, "{path}: {refused}");
        assert!(
            refused["msg"]
                .as_str()
                .unwrap()
                .contains("orders (bill/create)"),
            "{refused}"
        );
    }
    let found = info(&gateway, &merchant, &["shared-1"]);
    assert_eq!(found["code"], 10000, "{found}");
    assert_eq!(
        found["data"][0]["order_detail"]["merchant_order_id"],
        "shared-1"
    );

    assert_eq!(
        post(
            &gateway,
            &merchant,
            "/ccpayment/v1/withdraw",
            &withdrawal("shared-2")
        )["code"],
        10000
    );
    let refused = create(&gateway, &merchant, &order.replace("shared-1", "shared-2"));
    assert_eq!(refused["code"], 222001, "{refused}");
    assert!(
        refused["msg"].as_str().unwrap().contains("withdrawals"),
        "{refused}"
    );
    let refused = post(
        &gateway,
        &merchant,
        "/ccpayment/v1/concise/url/get",
        &checkout("shared-2"),
    );
    assert_eq!(refused["code"], 222001, "{refused}");

    assert_eq!(
        post(
            &gateway,
            &merchant,
            "/ccpayment/v1/concise/url/get",
            &checkout("shared-3")
        )["code"],
        10000
    );
    let refused = create(&gateway, &merchant, &order.replace("shared-1", "shared-3"));
    assert!(
        refused["msg"]
            .as_str()
            .unwrap()
            .contains("hosted checkouts"),
        "{refused}"
    );
    // The namespace is the merchant's own: another merchant may use the id.
    assert_eq!(create(&gateway, &other, &order)["code"], 10000);
}
