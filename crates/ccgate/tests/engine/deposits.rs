//! Deposits to permanent addresses: confirmations, the credit (minus the
//! service fee), the signed Direct Deposit webhook, its retries and resend;
//! the permanent addresses themselves.

use ccgate_ledger::MerchantId;
use ccgate_store::{OutboxStore, verify_ledger};
use ccgate_testkit::{EngineOptions, Receiver, spawn_engine_with};
use serde_json::Value;

use crate::{LADDER_MS, engine, eth_address, pay_usdt, post, usdt_available};

#[tokio::test]
async fn a_deposit_is_credited_at_its_confirmations_and_notified_once() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let to = eth_address(&engine, &merchant, "user-42").await;
    let txid = pay_usdt(&engine, &to, "666").await;

    // Eleven confirmations are not enough on ETH (12 required): the loops
    // run and find nothing to credit nor to deliver.
    engine.mine("ETH", 11).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert!(ticked.is_idle(), "{ticked:?}");
    assert!(receiver.received().is_empty());
    assert_eq!(usdt_available(&engine, &merchant).await, "0");

    engine.mine("ETH", 1).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!((ticked.credited, ticked.deliveries), (1, 1), "{ticked:?}");
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    let expected = format!(
        r#"{{"pay_status":"success","order_type":"Direct Deposit","record_id":"{}","paid_amount":"666","credit_amount":"665.8002","chain":"ETH","from_address":"0x0000000000000000000000000000000000000000","to_address":"{to}","contract":"0xdAC17F958D2ee523a2206206994597C13D831ec7","crypto":"USDT","txid":"{txid}","service_fee":"0.1998","memo":"","user_id":"user-42"}}"#,
        body["record_id"].as_str().unwrap(),
    );
    assert_eq!(
        String::from_utf8(hook.body.clone()).unwrap(),
        expected,
        "exact bytes, documented field order"
    );
    assert_eq!(body["record_id"].as_str().unwrap().len(), 33);
    assert_eq!(hook.header("appid"), Some(merchant.app_id.as_str()));
    assert!(
        hook.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        hook.header("timestamp").unwrap(),
        &hook.body,
        hook.header("sign").unwrap()
    ));
    assert_eq!(usdt_available(&engine, &merchant).await, "665.8002");

    // More blocks change nothing: a transfer is credited once.
    engine.mine("ETH", 50).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert!(ticked.is_idle(), "{ticked:?}");
    assert_eq!(receiver.received().len(), 1);
    let verified = verify_ledger(&engine.backend).await.unwrap();
    assert_eq!(verified.entries, 1, "{verified:?}");
    assert!(verified.mismatches.is_empty(), "{verified:?}");
    let listed = engine
        .backend
        .list_webhooks(Some(&MerchantId::new(merchant.app_id.as_str())), 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, "delivered");
}

#[tokio::test]
async fn a_failing_receiver_that_recovers_gets_every_webhook() {
    let engine = engine().await;
    // 500, then 200 without "success", then a body that says it: acknowledged.
    let receiver = Receiver::start(500, "oops").await.unwrap();
    receiver.answer_with(&[(500, "oops"), (200, "ok"), (200, "SUCCESS")]);
    let merchant = engine.merchant("shop").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let to = eth_address(&engine, &merchant, "user-7").await;
    pay_usdt(&engine, &to, "10").await;
    engine.mine("ETH", 12).await.unwrap();

    let credited_at = engine.now_ms();
    let first = engine.settle(credited_at).await.unwrap();
    assert_eq!((first.credited, first.deliveries), (1, 1), "{first:?}");
    // Before the first retry falls due, delivery runs and sends nothing.
    let early = engine.tick(credited_at + 49).await.unwrap();
    assert!(early.is_idle(), "{early:?}");
    assert_eq!(receiver.received().len(), 1);
    // Each retry at its rung of the ladder, counted from the first attempt.
    for (rung, attempts) in [(LADDER_MS[0], 2), (LADDER_MS[1], 3)] {
        let retried = engine.settle(credited_at + rung as i64).await.unwrap();
        assert_eq!(retried.deliveries, 1, "{retried:?}");
        assert_eq!(receiver.received().len(), attempts);
    }
    // Acknowledged: no further attempt, however late.
    let after = engine.settle(credited_at + 60_000).await.unwrap();
    assert!(after.is_idle(), "{after:?}");

    let hooks = receiver.received();
    assert_eq!(hooks.len(), 3);
    assert!(
        hooks.iter().all(|h| h.body == hooks[0].body),
        "every attempt sends the same webhook"
    );
    let listed = engine
        .backend
        .list_webhooks(Some(&MerchantId::new(merchant.app_id.as_str())), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].status, "delivered");
    let (_, attempts) = engine
        .backend
        .webhook_with_attempts(listed[0].id)
        .await
        .unwrap()
        .unwrap();
    let outcomes: Vec<&str> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "HTTP 500",
            "HTTP 200 without \"success\" in the body",
            "delivered"
        ]
    );
}

/// Issue #15 §6: header names as CCPayment writes them (merchants' code often
/// reads them case-sensitively, PHP's `getallheaders()` for one), a
/// `User-Agent` naming ccgate, and a plain JSON content type.
#[tokio::test]
async fn webhooks_carry_title_case_headers_and_name_ccgate() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let to = eth_address(&engine, &merchant, "user-1").await;
    pay_usdt(&engine, &to, "5").await;
    engine.mine("ETH", 12).await.unwrap();
    engine.settle(engine.now_ms()).await.unwrap();

    let hook = receiver.received().remove(0);
    for name in ["Appid", "Timestamp", "Sign", "Content-Type", "User-Agent"] {
        assert!(
            hook.names_as_sent.iter().any(|sent| sent == name),
            "{name} not among {:?}",
            hook.names_as_sent
        );
    }
    assert_eq!(hook.header("content-type"), Some("application/json"));
    let agent = hook.header("user-agent").unwrap();
    assert!(agent.starts_with("ccgate/"), "{agent}");
    assert_eq!(hook.header("appid"), Some(merchant.app_id.as_str()));
}

#[tokio::test]
async fn permanent_addresses_are_stable_valid_and_bounded() {
    let engine = spawn_engine_with(EngineOptions {
        address_quota: 3,
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    let address = async |user_id: &str, chain: &str| {
        let body = format!(r#"{{"user_id":"{user_id}","chain":"{chain}"}}"#);
        post(&engine, &merchant, "payment/address/get", &body).await
    };
    let first = address("user-1", "ETH").await;
    assert_eq!(first["code"], 10000);
    let eth = first["data"]["address"].as_str().unwrap().to_owned();
    assert!(eth.starts_with("0x") && eth.len() == 42, "{eth}");
    assert_eq!(first["data"]["memo"], "");
    assert_eq!(
        address("user-1", "eth").await["data"]["address"],
        eth.as_str(),
        "same user, same address"
    );
    let tron = address("user-1", "TRX").await["data"]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(tron.starts_with('T') && tron.len() == 34, "{tron}");
    let btc = address("user-2", "BTC").await["data"]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(btc.starts_with("bc1q"), "{btc}");
    // The quota counts addresses, and a known one is still answered past it.
    assert_eq!(address("user-3", "ETH").await["code"], 222004);
    assert_eq!(
        address("user-1", "ETH").await["data"]["address"],
        eth.as_str()
    );

    for (body, code) in [
        (r#"{"user_id":"ab","chain":"ETH"}"#, 220006),
        (r#"{"chain":"ETH"}"#, 220006),
        (r#"{"user_id":"user-9"}"#, 220006),
        (r#"{"user_id":"user-9","chain":"SOL"}"#, 221003),
    ] {
        let json = post(&engine, &merchant, "payment/address/get", body).await;
        assert_eq!(json["code"], code, "{body}: {json}");
    }
    let long = format!(r#"{{"user_id":"{}","chain":"ETH"}}"#, "u".repeat(65));
    assert_eq!(
        post(&engine, &merchant, "payment/address/get", &long).await["code"],
        220006
    );
}

#[tokio::test]
async fn webhook_resend_sends_failed_webhooks_again_within_its_limits() {
    let engine = spawn_engine_with(EngineOptions {
        webhook_retry_ms: vec![50],
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let receiver = Receiver::start(500, "down").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let to = eth_address(&engine, &merchant, "user-5").await;
    let started = engine.now_ms();
    pay_usdt(&engine, &to, "1").await;
    engine.mine("ETH", 12).await.unwrap();
    engine.settle(started).await.unwrap();
    // The one retry, then the webhook has failed for good.
    let retried = engine.settle(started + 50).await.unwrap();
    assert_eq!(retried.deliveries, 1, "{retried:?}");
    assert_eq!(receiver.received().len(), 2);
    let merchant_id = MerchantId::new(merchant.app_id.as_str());
    let listed = engine
        .backend
        .list_webhooks(Some(&merchant_id), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].status, "failed");
    let after = engine.settle(started + 60_000).await.unwrap();
    assert!(
        after.is_idle(),
        "a failed webhook is not retried: {after:?}"
    );

    receiver.answer_with(&[(200, "success")]);
    let body = format!(
        r#"{{"start_timestamp":{},"webhook_result":"Failed","transaction_type":"Direct Deposit"}}"#,
        started / 1000 - 5
    );
    let answer = engine
        .client(&merchant)
        .unwrap()
        .call_raw("webhook/resend", body.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(answer.body).unwrap(),
        r#"{"code":10000,"msg":"success","data":{"resend_count":1}}"#
    );
    let resent = engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!(resent.deliveries, 1, "{resent:?}");
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 3);
    assert_eq!(hooks[2].body, hooks[0].body);
    // One call a minute.
    let again = engine
        .client(&merchant)
        .unwrap()
        .call_raw("webhook/resend", body.as_bytes())
        .await
        .unwrap();
    let again_code: Value = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(
        (again.status, again_code["code"].as_u64()),
        (429, Some(220008))
    );
    let bad = post(
        &engine,
        &merchant,
        "webhook/resend",
        r#"{"start_timestamp":1700000000,"end_timestamp":1700007200}"#,
    )
    .await;
    assert_eq!(bad["code"], 220006);
}
