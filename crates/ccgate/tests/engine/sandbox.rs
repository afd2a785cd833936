//! The sandbox's clock advance: it walks business time through every moment
//! something falls due and settles each before it returns. The controls
//! through the admin API and the CLI are tested on the binary
//! (`tests/e2e/sandbox.rs`).

use ccgate_ledger::MerchantId;
use ccgate_store::OutboxStore;
use ccgate_testkit::Receiver;
use serde_json::Value;

use crate::{engine_with_serves_ladder, eth_address, pay_usdt, usdt_available};

#[tokio::test]
async fn an_advance_confirms_credits_and_notifies_before_it_returns() {
    let engine = engine_with_serves_ladder().await;
    let sandbox = engine.sandbox();
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let frozen = sandbox.freeze().await.unwrap();
    let to = eth_address(&engine, &merchant, "user-1").await;
    let txid = pay_usdt(&engine, &to, "10").await;

    // ETH makes a block every 12 s: 12 confirmations need 13 blocks. The
    // short advance runs the loops at each block and credits nothing.
    let short = sandbox.advance(120_000).await.unwrap();
    assert!(short.steps > 0, "{short:?}");
    assert_eq!(short.work_done, 0, "{short:?}");
    assert_eq!(usdt_available(&engine, &merchant).await, "0");
    assert!(receiver.received().is_empty(), "not confirmed yet");
    let done = sandbox.advance(120_000).await.unwrap();
    assert!(done.work_done >= 2, "{done:?}");
    assert_eq!(usdt_available(&engine, &merchant).await, "9.997");
    let hooks = receiver.received();
    assert_eq!(
        hooks.len(),
        1,
        "the webhook went out before the advance returned"
    );
    let body: Value = serde_json::from_slice(&hooks[0].body).unwrap();
    assert_eq!(body["paid_amount"], "10");
    assert_eq!(body["txid"], txid.as_str());
    // The delivery log keeps business time.
    let outbox = &engine.backend;
    let listed = outbox
        .list_webhooks(Some(&MerchantId::new(merchant.app_id.as_str())), 10)
        .await
        .unwrap();
    let (_, attempts) = outbox
        .webhook_with_attempts(listed[0].id)
        .await
        .unwrap()
        .unwrap();
    let attempted_at = attempts[0].at_ms;
    let (from, to) = (short.clock.now_ms, done.clock.now_ms);
    assert!(
        (from..=to).contains(&attempted_at),
        "attempt at {attempted_at}, not in {from}..={to} (frozen at {})",
        frozen.now_ms
    );
}

#[tokio::test]
async fn the_whole_retry_ladder_runs_in_one_advance() {
    // Six failures, then an acknowledgement: the seventh attempt, on the
    // ladder's last rung 31 min 30 s after the first.
    let engine = engine_with_serves_ladder().await;
    let sandbox = engine.sandbox();
    let receiver = Receiver::start(500, "down").await.unwrap();
    receiver.answer_with(&[
        (500, "down"),
        (500, "down"),
        (500, "down"),
        (500, "down"),
        (500, "down"),
        (500, "down"),
        (200, "success"),
    ]);
    let merchant = engine.merchant("shop").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    sandbox.freeze().await.unwrap();
    let to = eth_address(&engine, &merchant, "user-2").await;
    pay_usdt(&engine, &to, "3").await;

    let advanced = sandbox.advance(40 * 60_000).await.unwrap();
    assert_eq!(receiver.received().len(), 7, "{advanced:?}");
    let outbox = &engine.backend;
    let listed = outbox
        .list_webhooks(Some(&MerchantId::new(merchant.app_id.as_str())), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].status, "delivered");
    assert_eq!(listed[0].attempts, 7);
    let (_, attempts) = outbox
        .webhook_with_attempts(listed[0].id)
        .await
        .unwrap()
        .unwrap();
    let after_first: Vec<i64> = attempts
        .iter()
        .map(|a| a.at_ms - attempts[0].at_ms)
        .collect();
    assert_eq!(
        after_first,
        [0, 30_000, 90_000, 210_000, 450_000, 930_000, 1_890_000],
        "each attempt at its rung of business time"
    );
}
