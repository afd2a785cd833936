//! Swap limits (decisions §29): the operator's daily limit in USD per
//! merchant and UTC day (`[swap] daily_limit_usd`, or the merchant's own),
//! refused with 16004 once the day's swaps would pass it; the operator's
//! switch, refused with 16005; both on the business clock.

use ccgate_client::ClientError;
use ccgate_client::v2::{SwapAsk, UserAddressRequest, UserSwapAsk, UserTransferRequest, V2Client};
use ccgate_engine::swaps::{SwapSettings, parse_daily_limit_usd};
use ccgate_ledger::{Account, Amount, Coin, JournalEntry, MerchantId};
use ccgate_store::{EntryMeta, Store, SwapPolicy, SwapStore};
use ccgate_testkit::{Engine, EngineOptions, Merchant, spawn_engine_with};

const USDT_ID: u64 = 1280;
const MATIC_ID: u64 = 1329;
const DAY_MS: i64 = 86_400_000;

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

async fn adjust(engine: &Engine, to: Account, coin: &Coin, amount: &str) {
    let entry = JournalEntry::transfer(
        Account::OperatorAdjustments,
        to,
        coin.id.clone(),
        Amount::parse_decimal(amount, coin.precision).unwrap(),
    )
    .unwrap();
    let meta = EntryMeta {
        kind: "adjustment",
        reason: "test funds".into(),
        created_at: engine.now_ms() / 1000,
    };
    engine.backend.post_entry(&entry, &meta).await.unwrap();
}

async fn funded(engine: &Engine, name: &str) -> (Merchant, V2Client) {
    let merchant = engine.merchant(name).await.unwrap();
    let usdt = coin(engine, USDT_ID);
    adjust(
        engine,
        Account::MerchantAvailable(MerchantId::new(merchant.app_id.as_str())),
        &usdt,
        "1000",
    )
    .await;
    let client = V2Client::new(
        engine.state.config.public_url.clone(),
        &merchant.app_id,
        &merchant.app_secret,
    )
    .unwrap();
    (merchant, client)
}

fn usdt_into_matic<'a>(order_id: &'a str, amount_in: &'a str) -> SwapAsk<'a> {
    SwapAsk {
        order_id: Some(order_id),
        coin_id_in: USDT_ID,
        amount_in,
        coin_id_out: MATIC_ID,
        amount_out_minimum: None,
    }
}

#[tokio::test]
async fn a_merchants_swaps_stop_at_its_daily_limit_and_at_the_operators_switch() {
    let engine = spawn_engine_with(EngineOptions {
        swap: SwapSettings {
            daily_limit_usd: Some(parse_daily_limit_usd("150").unwrap()),
            ..SwapSettings::default()
        },
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let matic = coin(&engine, MATIC_ID);
    adjust(&engine, Account::OperatorTreasury, &matic, "100000").await;
    // Noon UTC, business time: the day is the clock's, not the machine's.
    let noon = engine.now_ms().div_euclid(DAY_MS) * DAY_MS + DAY_MS / 2;
    engine.tick(noon).await.unwrap();
    let (shop_merchant, shop) = funded(&engine, "shop").await;

    // 1 USDT is 1 USD in the built-in prices: 100 + 50 is the limit, not
    // past it; 100 + 60 is.
    shop.swap(&usdt_into_matic("s-1", "100")).await.unwrap();
    assert_eq!(code(shop.swap(&usdt_into_matic("s-2", "60")).await), 16004);
    assert!(shop.swap_record_by_order_id("s-2").await.is_err());
    shop.swap(&usdt_into_matic("s-3", "50")).await.unwrap();
    assert_eq!(code(shop.swap(&usdt_into_matic("s-4", "1")).await), 16004);
    // A repeat of a swap made is answered, not counted again.
    shop.swap(&usdt_into_matic("s-1", "100")).await.unwrap();
    // The next UTC day starts from nothing.
    engine.tick(noon + DAY_MS).await.unwrap();
    shop.swap(&usdt_into_matic("s-2", "60")).await.unwrap();
    // Its users' swaps count in the merchant's day: 60 + 100 is past it.
    shop.user_deposit_address(&UserAddressRequest {
        user_id: "alice-01".into(),
        chain: "ETH".into(),
        notify_url: None,
    })
    .await
    .unwrap();
    shop.user_transfer(&UserTransferRequest {
        order_id: "t-1".into(),
        from_user_id: shop_merchant.app_id.clone(),
        to_user_id: "alice-01".into(),
        coin_id: USDT_ID,
        amount: "200".into(),
        remark: String::new(),
    })
    .await
    .unwrap();
    let by_alice = |order_id: &'static str, amount_in: &'static str| UserSwapAsk {
        user_id: "alice-01",
        swap: usdt_into_matic(order_id, amount_in),
        extra_fee_rate: None,
    };
    assert_eq!(code(shop.user_swap(&by_alice("u-1", "100")).await), 16004);
    shop.user_swap(&by_alice("u-2", "90")).await.unwrap();
    assert_eq!(code(shop.swap(&usdt_into_matic("s-5", "1")).await), 16004);

    // A merchant's own limit replaces the operator's; its switch stops
    // quotes and swaps, and a repeat still answers the stored swap.
    let (other, client) = funded(&engine, "other").await;
    let app_id = MerchantId::new(other.app_id.as_str());
    engine
        .backend
        .set_swap_policy(
            &app_id,
            &SwapPolicy {
                disabled: false,
                daily_limit_usd: Some("10".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        code(client.swap(&usdt_into_matic("o-1", "20")).await),
        16004
    );
    client.swap(&usdt_into_matic("o-2", "10")).await.unwrap();
    engine
        .backend
        .set_swap_policy(
            &app_id,
            &SwapPolicy {
                disabled: true,
                daily_limit_usd: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        code(client.estimate_swap(USDT_ID, "1", MATIC_ID).await),
        16005
    );
    assert_eq!(code(client.swap(&usdt_into_matic("o-3", "1")).await), 16005);
    client.swap(&usdt_into_matic("o-2", "10")).await.unwrap();
}
