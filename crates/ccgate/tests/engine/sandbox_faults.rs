//! Webhook fault injection: each fault as the merchant's receiver sees it and
//! as the delivery log records it, and the count that limits a fault set.
//! Setting faults through the CLI and the admin API, and their absence from
//! a production server, are tested on the binary
//! (`tests/e2e/sandbox_faults.rs`).

use ccgate_engine::sandbox::Sandbox;
use ccgate_ledger::MerchantId;
use ccgate_store::{OutboxStore, WebhookRow};
use ccgate_testkit::{Engine, EngineOptions, Merchant, Received, Receiver, spawn_engine_with};
use serde_json::Value;

use crate::{eth_address, pay_usdt};

/// A frozen sandbox whose merchant's webhooks go to `receiver`.
async fn frozen_sandbox(receiver: &Receiver) -> (Engine, Sandbox, Merchant) {
    let engine = spawn_engine_with(EngineOptions {
        sandbox: true,
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let sandbox = engine.sandbox();
    let merchant = engine.merchant("shop").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    sandbox.freeze().await.unwrap();
    (engine, sandbox, merchant)
}

async fn fault(sandbox: &Sandbox, merchant: &Merchant, words: &[&str], count: Option<u32>) {
    let words: Vec<String> = words.iter().map(|word| (*word).to_owned()).collect();
    let app_id = MerchantId::new(merchant.app_id.as_str());
    sandbox
        .set_webhook_faults(&app_id, &words, count, 0)
        .await
        .unwrap();
}

/// Every webhook of the outbox, newest first.
async fn outbox(engine: &Engine) -> Vec<WebhookRow> {
    engine.backend.list_webhooks(None, 50).await.unwrap()
}

/// The outcome of each attempt of one webhook, in order.
async fn outcomes(engine: &Engine, id: i64) -> Vec<String> {
    let (_, attempts) = engine
        .backend
        .webhook_with_attempts(id)
        .await
        .unwrap()
        .unwrap();
    attempts
        .into_iter()
        .map(|attempt| attempt.outcome)
        .collect()
}

fn signature_verifies(merchant: &Merchant, request: &Received) -> bool {
    ccgate_api::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        request.header("timestamp").unwrap(),
        &request.body,
        request.header("sign").unwrap(),
    )
}

#[tokio::test]
async fn dropped_deliveries_are_failed_attempts_and_the_ladder_recovers() {
    let receiver = Receiver::start(200, "success").await.unwrap();
    let (engine, sandbox, merchant) = frozen_sandbox(&receiver).await;
    fault(&sandbox, &merchant, &["drop=1"], Some(2)).await;
    let to = eth_address(&engine, &merchant, "user-drop").await;
    pay_usdt(&engine, &to, "5").await;

    // Confirmed after ~2.6 min; dropped at once and 30 s later; sent at 90 s.
    sandbox.advance(600_000).await.unwrap();
    assert_eq!(receiver.received().len(), 1, "two attempts were dropped");
    let webhook = &outbox(&engine).await[0];
    assert_eq!(webhook.status, "delivered");
    assert_eq!(
        outcomes(&engine, webhook.id).await,
        [
            "injected: dropped (not sent)",
            "injected: dropped (not sent)",
            "delivered"
        ]
    );
    // The count is used up: nothing left to clear.
    let app_id = MerchantId::new(merchant.app_id.as_str());
    assert!(!sandbox.clear_webhook_faults(&app_id).await.unwrap());
}

#[tokio::test]
async fn duplicates_bad_signatures_and_a_pretended_500_reach_the_receiver() {
    let receiver = Receiver::start(200, "success").await.unwrap();
    let (engine, sandbox, merchant) = frozen_sandbox(&receiver).await;
    fault(
        &sandbox,
        &merchant,
        &["duplicate=1", "bad-signature"],
        Some(1),
    )
    .await;
    let to = eth_address(&engine, &merchant, "user-dup").await;
    pay_usdt(&engine, &to, "5").await;
    sandbox.advance(240_000).await.unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 2, "sent twice");
    assert_eq!(received[0].body, received[1].body);
    assert!(received.iter().all(|r| !signature_verifies(&merchant, r)));
    let webhook = &outbox(&engine).await[0];
    assert_eq!(
        outcomes(&engine, webhook.id).await,
        ["injected: bad signature, sent twice; delivered"]
    );

    // The receiver acknowledges, the gateway pretends it answered 500: the
    // same webhook comes again on the ladder's next rung.
    fault(&sandbox, &merchant, &["status=500"], Some(1)).await;
    pay_usdt(&engine, &to, "6").await;
    sandbox.advance(240_000).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 4, "acknowledged, then sent again");
    assert_eq!(received[2].body, received[3].body);
    assert!(signature_verifies(&merchant, &received[3]));
    let webhook = &outbox(&engine).await[0];
    assert_eq!(webhook.status, "delivered");
    assert_eq!(
        outcomes(&engine, webhook.id).await,
        [
            "injected: treated as HTTP 500; the receiver answered: delivered",
            "delivered"
        ]
    );
}

#[tokio::test]
async fn a_reordered_batch_arrives_newest_first_and_a_delay_is_recorded() {
    let receiver = Receiver::start(200, "success").await.unwrap();
    let (engine, sandbox, merchant) = frozen_sandbox(&receiver).await;
    fault(&sandbox, &merchant, &["reorder", "delay=50ms"], None).await;
    // Three payments in one block: their webhooks fall due together.
    for user in ["user-a", "user-b", "user-c"] {
        let to = eth_address(&engine, &merchant, user).await;
        pay_usdt(&engine, &to, "1").await;
    }
    sandbox.advance(240_000).await.unwrap();

    let newest_first: Vec<String> = outbox(&engine)
        .await
        .into_iter()
        .map(|webhook| webhook.record_id)
        .collect();
    assert_eq!(newest_first.len(), 3);
    let arrived: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["record_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(arrived, newest_first, "the batch went out newest first");
    let webhook = &outbox(&engine).await[0];
    assert_eq!(
        outcomes(&engine, webhook.id).await,
        ["injected: reordered (batch sent newest first), delayed 50ms; delivered"]
    );

    // Cleared: the next webhook goes out untouched.
    let app_id = MerchantId::new(merchant.app_id.as_str());
    assert!(sandbox.clear_webhook_faults(&app_id).await.unwrap());
    let to = eth_address(&engine, &merchant, "user-d").await;
    pay_usdt(&engine, &to, "1").await;
    sandbox.advance(240_000).await.unwrap();
    let webhook = &outbox(&engine).await[0];
    assert_eq!(outcomes(&engine, webhook.id).await, ["delivered"]);
}
