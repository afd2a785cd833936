//! Engine behaviour in process (`ccgate_testkit::spawn_engine`): the gateway
//! built as `serve` builds it, over a real SQLite file, its API and the
//! webhook receiver over loopback, and its loops ticked by the test at the
//! business time it chooses, so nothing here starts a process or waits for a
//! loop. A test that expects nothing to happen ticks first (the tick's count
//! says the loop ran and found nothing). End-to-end tests of the binary
//! itself stay in `tests/e2e`.
#![allow(clippy::unwrap_used)]

#[path = "engine/batch_withdrawals.rs"]
mod batch_withdrawals;
#[path = "engine/console.rs"]
mod console;
#[path = "engine/console_wallets.rs"]
mod console_wallets;
#[path = "engine/deposits.rs"]
mod deposits;
#[path = "engine/orders.rs"]
mod orders;
#[path = "engine/sandbox.rs"]
mod sandbox;
#[path = "engine/sandbox_faults.rs"]
mod sandbox_faults;
#[path = "engine/swap_limits.rs"]
mod swap_limits;
#[path = "engine/user_swaps.rs"]
mod user_swaps;
#[path = "engine/user_withdrawals.rs"]
mod user_withdrawals;
#[path = "engine/wallet.rs"]
mod wallet;

use ccgate_engine::devnet::PayRequest;
use ccgate_testkit::{Engine, EngineOptions, Merchant, spawn_engine_with};
use serde_json::Value;

pub const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
pub const USDT: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";
/// Retries in milliseconds after the first attempt.
pub const LADDER_MS: [u64; 4] = [50, 100, 150, 200];

pub async fn engine() -> Engine {
    spawn_engine_with(EngineOptions {
        webhook_retry_ms: LADDER_MS.to_vec(),
        ..EngineOptions::default()
    })
    .await
    .unwrap()
}

/// `serve`'s defaults, its retry ladder included (31 min 30 s in all).
pub async fn engine_with_serves_ladder() -> Engine {
    ccgate_testkit::spawn_engine().await.unwrap()
}

/// `payment/address/get` for `user_id` on ETH, through the API.
pub async fn eth_address(engine: &Engine, merchant: &Merchant, user_id: &str) -> String {
    let body = format!(r#"{{"user_id":"{user_id}","chain":"ETH"}}"#);
    let answer = engine
        .client(merchant)
        .unwrap()
        .call_raw("payment/address/get", body.as_bytes())
        .await
        .unwrap();
    assert_eq!(answer.signature_verified, Some(true));
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    answer["data"]["address"].as_str().unwrap().to_owned()
}

/// The merchant's available USDT, as the `assets` endpoint says.
pub async fn usdt_available(engine: &Engine, merchant: &Merchant) -> String {
    let body = format!(r#"{{"coin_id":"{USDT}"}}"#);
    let answer = engine
        .client(merchant)
        .unwrap()
        .call_raw("assets", body.as_bytes())
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&answer.body).unwrap();
    answer["data"]["list"][0]["value"]
        .as_str()
        .unwrap_or("0")
        .to_owned()
}

pub async fn pay_usdt(engine: &Engine, to: &str, amount: &str) -> String {
    let paid = engine
        .pay(PayRequest {
            to: to.to_owned(),
            token_id: USDT_ERC20.to_owned(),
            amount: amount.to_owned(),
            from: None,
            memo: None,
        })
        .await
        .unwrap();
    paid.transfer.txid
}

/// A signed v1 call through the API; the answer's signature verifies.
pub async fn post(engine: &Engine, merchant: &Merchant, endpoint: &str, body: &str) -> Value {
    let answer = engine
        .client(merchant)
        .unwrap()
        .call_raw(endpoint, body.as_bytes())
        .await
        .unwrap();
    assert_eq!(answer.signature_verified, Some(true), "{endpoint}");
    serde_json::from_slice(&answer.body).unwrap()
}
