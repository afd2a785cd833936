//! Deposits to permanent addresses: confirmations, the credit (minus the
//! service fee), the signed Direct Deposit webhook and its retries.

use ccgate_ledger::MerchantId;
use ccgate_store::verify_ledger;
use ccgate_testkit::Receiver;
use serde_json::Value;

use crate::{LADDER_MS, engine, eth_address, pay_usdt, usdt_available};

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
        .state
        .outbox
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
        .state
        .outbox
        .list_webhooks(Some(&MerchantId::new(merchant.app_id.as_str())), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].status, "delivered");
    let (_, attempts) = engine
        .state
        .outbox
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
