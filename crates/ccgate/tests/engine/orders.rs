//! Native checkout orders: creation with the rate locked and idempotent
//! merchant_order_id, payment on the devnet, the API Deposit webhook,
//! `bill/info`, and under-, over-, multi- and late payment.

use ccgate_store::verify_ledger;
use ccgate_testkit::{Engine, Merchant, Receiver};
use serde_json::Value;

use crate::{USDT_ERC20, engine, pay_usdt, post};

const BTC: &str = "f36ad1cf-222a-4933-9ad0-86df8069f916";

async fn create(engine: &Engine, merchant: &Merchant, body: &str) -> Value {
    post(engine, merchant, "bill/create", body).await
}

async fn info(engine: &Engine, merchant: &Merchant, ids: &[&str]) -> Value {
    let ids: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    let body = format!(r#"{{"merchant_order_ids":[{}]}}"#, ids.join(","));
    post(engine, merchant, "bill/info", &body).await
}

/// Pays `amount` USDT to `to`, confirms it (12 blocks) and lets the loops
/// settle; returns the order's detail as `bill/info` then says.
async fn pay_and_settle(
    engine: &Engine,
    merchant: &Merchant,
    id: &str,
    to: &str,
    amount: &str,
) -> Value {
    pay_usdt(engine, to, amount).await;
    engine.mine("ETH", 12).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!(ticked.credited, 1, "{ticked:?}");
    info(engine, merchant, &[id]).await["data"][0].clone()
}

#[tokio::test]
async fn an_order_is_created_once_paid_and_notified() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    let body = format!(
        r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"o-1","denominated_currency":"USD","notify_url":"{}","custom_value":"cart-7","remark":""}}"#,
        receiver.url
    );
    let created = create(&engine, &merchant, &body).await;
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
    let again = create(&engine, &merchant, &body).await;
    assert_eq!(
        (
            again["data"]["order_id"].clone(),
            again["data"]["pay_address"].clone()
        ),
        (data["order_id"].clone(), data["pay_address"].clone())
    );
    let other = create(
        &engine,
        &merchant,
        &body.replace(r#""product_price":"10""#, r#""product_price":"11""#),
    )
    .await;
    assert_eq!(other["code"], 222001);

    let pending = info(&engine, &merchant, &["o-1", "unknown-id"]).await;
    assert_eq!(
        pending["data"].as_array().unwrap().len(),
        1,
        "unknown ids are left out"
    );
    assert_eq!(pending["data"][0]["order_detail"]["status"], "Pending");

    let paid = pay_and_settle(&engine, &merchant, "o-1", &address, "10").await;
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1);
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

    let detail = &paid["order_detail"];
    assert_eq!(detail["paid_amount"], "10");
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
    let assets = post(&engine, &merchant, "assets", "{}").await;
    assert_eq!(assets["data"]["list"][0]["value"], "9.997");
}

#[tokio::test]
async fn prices_in_fiat_or_token_and_bad_requests() {
    let engine = engine().await;
    let merchant = engine.merchant("shop").await.unwrap();
    // 9.20 EUR at 0.92 EUR per USD and 96250.5 USD per BTC, rounded up at 8 places.
    let eur = create(
        &engine,
        &merchant,
        &format!(
            r#"{{"token_id":"{BTC}","product_price":"9.20","merchant_order_id":"eur-1","denominated_currency":"eur"}}"#
        ),
    )
    .await;
    assert_eq!(eur["data"]["amount"], "0.0001039", "{eur}");
    let token = create(
        &engine,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","amount":"2.5","merchant_order_id":"tok-1","fiat_currency":"token","valid_timestamp":600}}"#
        ),
    )
    .await;
    assert_eq!(
        (
            token["data"]["amount"].as_str(),
            token["data"]["order_valid_period"].as_u64()
        ),
        (Some("2.5"), Some(600))
    );
    let detail = info(&engine, &merchant, &["eur-1", "tok-1"]).await;
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
        assert_eq!(create(&engine, &merchant, &body).await["code"], code, "{body}");
    }
    let too_many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    assert_eq!(info(&engine, &merchant, &refs).await["code"], 220006);
    assert_eq!(
        post(&engine, &merchant, "bill/info", "{}").await["code"],
        220006
    );
}

#[tokio::test]
async fn partial_multiple_over_and_late_payments() {
    let engine = engine().await;
    let merchant = engine.merchant("shop").await.unwrap();
    let created = create(
        &engine,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"10","merchant_order_id":"multi","denominated_currency":"token"}}"#
        ),
    )
    .await;
    let address = created["data"]["pay_address"].as_str().unwrap().to_owned();
    let under = pay_and_settle(&engine, &merchant, "multi", &address, "4").await;
    assert_eq!(under["order_detail"]["paid_amount"], "4");
    assert_eq!(
        (
            under["order_detail"]["status"].as_str(),
            under["order_detail"]["underpaid"].as_bool()
        ),
        (Some("Pending"), Some(true))
    );
    let over = pay_and_settle(&engine, &merchant, "multi", &address, "7").await;
    assert_eq!(over["order_detail"]["paid_amount"], "11");
    assert_eq!(
        (
            over["order_detail"]["status"].as_str(),
            over["order_detail"]["overpaid"].as_bool()
        ),
        (Some("Successful"), Some(true))
    );
    assert_eq!(over["trade_list"].as_array().unwrap().len(), 2);

    // An order that expires unpaid stays Expired; a late payment is still
    // credited and listed. Business time moves past the 1 s validity.
    let short = create(
        &engine,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"5","merchant_order_id":"late","denominated_currency":"token","order_valid_period":1}}"#
        ),
    )
    .await;
    let late_address = short["data"]["pay_address"].as_str().unwrap().to_owned();
    assert_eq!(
        info(&engine, &merchant, &["late"]).await["data"][0]["order_detail"]["status"],
        "Pending"
    );
    let ticked = engine.tick(engine.now_ms() + 2_000).await.unwrap();
    assert_eq!(ticked.credited, 0, "{ticked:?}");
    assert_eq!(
        info(&engine, &merchant, &["late"]).await["data"][0]["order_detail"]["status"],
        "Expired"
    );
    let late = pay_and_settle(&engine, &merchant, "late", &late_address, "5").await;
    assert_eq!(late["order_detail"]["paid_amount"], "5");
    assert_eq!(late["order_detail"]["status"], "Expired");
    assert_eq!(late["trade_list"][0]["amount"], "5");
    let assets = post(&engine, &merchant, "assets", "{}").await;
    // 4 + 7 + 5 paid, 0.03 % kept as service fee.
    assert_eq!(assets["data"]["list"][0]["value"], "15.9952");
    let verified = verify_ledger(&engine.backend).await.unwrap();
    assert!(verified.mismatches.is_empty(), "{verified:?}");
}

#[tokio::test]
async fn a_confirming_payment_makes_the_order_processing_and_opted_in_merchants_hear_of_it() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    engine
        .set_webhook_notifying(&merchant, &receiver.url, true)
        .await
        .unwrap();
    let created = create(
        &engine,
        &merchant,
        &format!(
            r#"{{"token_id":"{USDT_ERC20}","product_price":"5","merchant_order_id":"proc","denominated_currency":"token"}}"#
        ),
    )
    .await;
    let address = created["data"]["pay_address"].as_str().unwrap().to_owned();
    pay_usdt(&engine, &address, "5").await;
    // The payment's block exists (one confirmation of twelve).
    engine.mine("ETH", 1).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!((ticked.credited, ticked.deliveries), (0, 1), "{ticked:?}");
    let first = receiver.received();
    assert_eq!(first.len(), 1);
    let processing: Value = serde_json::from_slice(&first[0].body).unwrap();
    assert_eq!(
        (
            processing["pay_status"].as_str(),
            processing["order_type"].as_str()
        ),
        (Some("processing"), Some("API Deposit"))
    );
    assert_eq!(
        info(&engine, &merchant, &["proc"]).await["data"][0]["order_detail"]["status"],
        "Processing"
    );

    engine.mine("ETH", 11).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!((ticked.credited, ticked.deliveries), (1, 1), "{ticked:?}");
    let both = receiver.received();
    assert_eq!(both.len(), 2);
    let success: Value = serde_json::from_slice(&both[1].body).unwrap();
    assert_eq!(success["pay_status"], "success");
    assert_eq!(
        success["record_id"], processing["record_id"],
        "one record, two notifications"
    );
    let detail = &info(&engine, &merchant, &["proc"]).await["data"][0]["order_detail"];
    assert_eq!(
        (detail["paid_amount"].as_str(), detail["status"].as_str()),
        (Some("5"), Some("Successful"))
    );
}
