//! Users' swaps in process (decisions §25.1): a user funded by a deposit to
//! its own address swaps against the funded treasury, pays the merchant's
//! markup to the merchant, and the records agree with the balances; the
//! merchant's and its users' swaps are kept apart, and every refusal has its
//! code.

use ccgate_client::ClientError;
use ccgate_client::v2::{SwapAsk, SwapRecordQuery, UserAddressRequest, UserSwapAsk, V2Client};
use ccgate_ledger::{Account, Amount, Coin, JournalEntry};
use ccgate_store::{EntryMeta, Store, verify_ledger};
use ccgate_testkit::Engine;

use crate::{engine, pay_usdt};

const USDT_ID: u64 = 1280;
const MATIC_ID: u64 = 1329;

fn code(refused: Result<impl std::fmt::Debug, ClientError>) -> u32 {
    match refused {
        Err(ClientError::Api { code, .. }) => code,
        other => panic!("not refused by the API: {other:?}"),
    }
}

fn coin(engine: &Engine, number: u64) -> Coin {
    engine
        .state
        .registry
        .coin_by_numeric_id(number)
        .unwrap()
        .clone()
}

/// The operator funds the treasury (`ccgate ledger adjust --treasury`).
async fn fund_treasury(engine: &Engine, coin: &Coin, amount: &str) {
    let entry = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::OperatorTreasury,
        coin.id.clone(),
        Amount::parse_decimal(amount, coin.precision).unwrap(),
    )
    .unwrap();
    let meta = EntryMeta {
        kind: "adjustment",
        reason: "swap inventory".into(),
        created_at: engine.now_ms() / 1000,
    };
    engine.backend.post_entry(&entry, &meta).await.unwrap();
}

fn units(coin: &Coin, text: &str) -> u128 {
    Amount::parse_decimal(text, coin.precision)
        .unwrap()
        .base_units()
}

async fn available(client: &V2Client, user_id: &str, coin_id: u64) -> String {
    client
        .user_asset(user_id, coin_id)
        .await
        .unwrap()
        .asset
        .available
}

fn ask<'a>(order_id: &'a str, user_id: &'a str, amount_in: &'a str) -> UserSwapAsk<'a> {
    UserSwapAsk {
        user_id,
        swap: SwapAsk {
            order_id: Some(order_id),
            coin_id_in: USDT_ID,
            amount_in,
            coin_id_out: MATIC_ID,
            amount_out_minimum: None,
        },
        extra_fee_rate: Some("0.01"),
    }
}

#[tokio::test]
async fn a_user_funded_by_deposit_swaps_against_the_treasury_and_pays_the_merchants_markup() {
    let engine = engine().await;
    let merchant = engine.merchant("user swaps").await.unwrap();
    let client = engine.v2_client(&merchant).unwrap();
    let matic = coin(&engine, MATIC_ID);

    // A user that never came into being cannot swap; nor can the App ID,
    // which is the merchant (it swaps with `swap`).
    assert_eq!(
        code(client.user_swap(&ask("u-0", "alice-01", "10")).await),
        11015
    );
    assert_eq!(
        code(client.user_swap(&ask("u-0", &merchant.app_id, "10")).await),
        11015
    );

    let address = client
        .user_deposit_address(&UserAddressRequest {
            user_id: "alice-01".into(),
            chain: "ETH".into(),
            notify_url: None,
        })
        .await
        .unwrap()
        .address;
    pay_usdt(&engine, &address, "100").await;
    engine.mine("ETH", 12).await.unwrap();
    engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!(available(&client, "alice-01", USDT_ID).await, "99.97");

    // The treasury holds no MATIC yet: 16001, nothing moves.
    assert_eq!(
        code(client.user_swap(&ask("u-1", "alice-01", "10")).await),
        16001
    );
    assert_eq!(available(&client, "alice-01", USDT_ID).await, "99.97");
    fund_treasury(&engine, &matic, "1000").await;

    let done = client
        .user_swap(&ask("u-1", "alice-01", "10"))
        .await
        .unwrap();
    // netAmountOut = amountOut − fee − extraFee, exactly; the markup is 1 %
    // of amountOut rounded up.
    let out = |text: &str| units(&matic, text);
    assert_eq!(
        out(&done.net_amount_out),
        out(&done.amount_out) - out(&done.fee) - out(&done.extra_fee)
    );
    assert_eq!(out(&done.extra_fee), out(&done.amount_out).div_ceil(100));
    assert!(out(&done.extra_fee) > 0);
    assert_eq!(done.amount_in, "10");

    // The user paid 10 USDT and holds the net output; the merchant holds
    // the markup, and nothing of USDT.
    assert_eq!(available(&client, "alice-01", USDT_ID).await, "89.97");
    assert_eq!(
        available(&client, "alice-01", MATIC_ID).await,
        done.net_amount_out
    );
    assert_eq!(
        client.asset(MATIC_ID).await.unwrap().asset.available,
        done.extra_fee
    );
    assert_eq!(client.asset(USDT_ID).await.unwrap().asset.available, "0");

    // Again: the same swap, nothing moves twice; the same orderId with
    // another markup is a duplicate.
    let again = client
        .user_swap(&ask("u-1", "alice-01", "10"))
        .await
        .unwrap();
    assert_eq!(again, done);
    let other_markup = UserSwapAsk {
        extra_fee_rate: Some("0.02"),
        ..ask("u-1", "alice-01", "10")
    };
    assert_eq!(code(client.user_swap(&other_markup).await), 11011);
    // More than the user holds: 14000; a markup of 100 %: 11000.
    assert_eq!(
        code(client.user_swap(&ask("u-2", "alice-01", "90")).await),
        14000
    );
    let whole = UserSwapAsk {
        extra_fee_rate: Some("1"),
        ..ask("u-3", "alice-01", "1")
    };
    assert_eq!(code(client.user_swap(&whole).await), 11000);
    assert_eq!(available(&client, "alice-01", USDT_ID).await, "89.97");

    // The records agree with the answer and the balances, and are the
    // users' only.
    let record = client.user_swap_record(&done.record_id).await.unwrap();
    assert_eq!(
        (
            record.user_id.as_str(),
            record.order_id.as_str(),
            record.net_amount_out.as_str(),
            record.extra_fee.as_str(),
            record.extra_fee_rate.as_str(),
            record.status.as_str(),
        ),
        (
            "alice-01",
            "u-1",
            done.net_amount_out.as_str(),
            done.extra_fee.as_str(),
            "0.01",
            "Success"
        )
    );
    assert_eq!(
        client.user_swap_record_by_order_id("u-1").await.unwrap(),
        record
    );
    assert_ne!(code(client.swap_record(&done.record_id).await), 10000);
    let listed = client
        .user_swap_records(&SwapRecordQuery {
            user_id: Some("alice-01".into()),
            ..SwapRecordQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.records, vec![record]);
    let nobody = client
        .user_swap_records(&SwapRecordQuery {
            user_id: Some("bob-0001".into()),
            ..SwapRecordQuery::default()
        })
        .await
        .unwrap();
    assert!(nobody.records.is_empty());
    let own = client
        .swap_records(&SwapRecordQuery::default())
        .await
        .unwrap();
    assert!(own.records.is_empty(), "{own:?}");

    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}
