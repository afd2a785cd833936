//! Merchant swaps through the real binary with the Rust v2 client (v2 spec
//! §2.11, docs/decisions.md §25): the operator funds the treasury with the
//! CLI, the merchant quotes and swaps, the records agree with the balances
//! and with the operator's books, and every refusal has its code — the
//! treasury short of a coin above all.

use ccgate_client::ClientError;
use ccgate_client::v2::{SwapAsk, SwapRecordQuery, V2Client};
use serde_json::Value;

use crate::support::{Gateway, Merchant};

const USDT: u64 = 1280;
const MATIC: u64 = 1329;
const TRX: u64 = 1482;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn api_code<T: std::fmt::Debug>(answer: Result<T, ClientError>) -> u32 {
    match answer {
        Err(ClientError::Api { code, .. }) => code,
        other => panic!("{other:?}"),
    }
}

fn fund_treasury(gateway: &Gateway, coin: &str, amount: &str) {
    gateway.cli_ok(&[
        "ledger",
        "adjust",
        "--treasury",
        "--coin",
        coin,
        "--amount",
        amount,
        "--reason",
        "swap inventory",
    ]);
}

/// `ledger accounts --json`: (debits, credits) of `account` in `symbol`.
fn account(gateway: &Gateway, account: &str, symbol: &str) -> (String, String) {
    let rows: Value =
        serde_json::from_str(&gateway.cli_ok(&["ledger", "accounts", "--json"])).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["account"] == account && row["crypto"] == symbol)
        .map(|row| {
            (
                row["debits"].as_str().unwrap().to_owned(),
                row["credits"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap_or_else(|| panic!("no {account} {symbol} in {rows}"))
}

fn setup() -> (Gateway, Merchant, V2Client) {
    let gateway = Gateway::start(&[]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "100", &[]);
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    (gateway, merchant, client)
}

fn ask<'a>(order_id: &'a str, amount_in: &'a str, coin_id_out: u64) -> SwapAsk<'a> {
    SwapAsk {
        order_id: Some(order_id),
        coin_id_in: USDT,
        amount_in,
        coin_id_out,
        amount_out_minimum: None,
    }
}

#[test]
fn a_merchant_swaps_against_the_funded_treasury_and_the_books_agree() {
    let (gateway, _merchant, client) = setup();
    runtime().block_on(async {
        let coins = client.swap_coins().await.unwrap();
        let ids: Vec<u64> = coins.coins.iter().map(|coin| coin.coin_id).collect();
        assert!(ids.contains(&USDT) && ids.contains(&MATIC), "{ids:?}");

        // Nothing in the treasury yet: refused, and nothing moves.
        assert_eq!(api_code(client.swap(&ask("s-0", "10", MATIC)).await), 16001);
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "100");
        assert_eq!(api_code(client.swap_record_by_order_id("s-0").await), 11003);
    });

    fund_treasury(&gateway, "MATIC", "1000");
    assert_eq!(
        account(&gateway, "operator:treasury", "MATIC"),
        ("0".to_owned(), "1000".to_owned())
    );

    let record_id = runtime().block_on(async {
        // 10 USDT at 1 USD into MATIC at 0.52, less the 0.2 % spread, rounded
        // down; the fee is the 0.1 USD minimum, rounded up.
        let quote = client.estimate_swap(USDT, "10", MATIC).await.unwrap();
        assert_eq!(quote.amount_out, "19.192307692307692307");
        assert_eq!(quote.fee, "0.192307692307692308");
        assert_eq!(quote.net_amount_out, "18.999999999999999999");
        assert_eq!(quote.fee_rate, "0.005");
        assert_eq!(quote.extra_fee, "0");
        assert_eq!(quote.swap_rate, "1.91923076923076923");

        // Honouring the quote: its net as the minimum.
        let done = client
            .swap(&SwapAsk {
                amount_out_minimum: Some(&quote.net_amount_out),
                ..ask("s-1", "10", MATIC)
            })
            .await
            .unwrap();
        assert_eq!(
            (
                &done.amount_out,
                &done.fee,
                &done.net_amount_out,
                &done.swap_rate
            ),
            (
                &quote.amount_out,
                &quote.fee,
                &quote.net_amount_out,
                &quote.swap_rate
            )
        );
        assert_eq!(done.amount_out_minimum, quote.net_amount_out);
        assert_eq!(
            (done.from_coin_price.as_str(), done.to_coin_price.as_str()),
            ("1", "0.52")
        );

        // Idempotent by orderId: the same swap, nothing debited twice.
        let again = client.swap(&ask("s-1", "10", MATIC)).await.unwrap();
        assert_eq!(again.record_id, done.record_id);
        assert_eq!(api_code(client.swap(&ask("s-1", "11", MATIC)).await), 11011);

        // A minimum above what the price gives: "the price moved beyond the quote".
        assert_eq!(
            api_code(
                client
                    .swap(&SwapAsk {
                        amount_out_minimum: Some("19"),
                        ..ask("s-2", "10", MATIC)
                    })
                    .await
            ),
            16003
        );
        // More than the merchant holds; a coin the treasury has none of;
        // a coin into itself; an input the fee would eat.
        assert_eq!(
            api_code(client.swap(&ask("s-3", "1000", MATIC)).await),
            14000
        );
        assert_eq!(api_code(client.swap(&ask("s-4", "10", TRX)).await), 16001);
        assert_eq!(api_code(client.swap(&ask("s-5", "10", USDT)).await), 16001);
        assert_eq!(
            api_code(client.swap(&ask("s-6", "0.1", MATIC)).await),
            16002
        );

        // The balances are what the record says moved.
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "90");
        assert_eq!(
            client.asset(MATIC).await.unwrap().asset.available,
            done.net_amount_out
        );
        let record = client.swap_record(&done.record_id).await.unwrap();
        assert_eq!(record, client.swap_record_by_order_id("s-1").await.unwrap());
        assert_eq!(
            (
                record.status.as_str(),
                record.coin_in_symbol.as_str(),
                record.coin_out_symbol.as_str(),
                record.amount_in.as_str(),
                record.net_amount_out.as_str(),
                record.user_id.as_str()
            ),
            (
                "Success",
                "USDT",
                "MATIC",
                "10",
                "18.999999999999999999",
                ""
            )
        );
        assert_eq!(record.created_at, record.arrived_at);
        let list = client
            .swap_records(&SwapRecordQuery::default())
            .await
            .unwrap();
        assert_eq!(list.records, vec![record.clone()]);
        assert_eq!(list.next_id, "");
        let none = client
            .swap_records(&SwapRecordQuery {
                coin_id_out: Some(TRX),
                ..SwapRecordQuery::default()
            })
            .await
            .unwrap();
        assert!(none.records.is_empty());
        done.record_id
    });
    assert!(!record_id.is_empty());

    // The operator's books: the treasury took the USDT and paid the MATIC,
    // the fee went to the operator's fees, and the journal replays.
    assert_eq!(
        account(&gateway, "operator:treasury", "USDT"),
        ("0".to_owned(), "10".to_owned())
    );
    assert_eq!(
        account(&gateway, "operator:treasury", "MATIC"),
        ("19.192307692307692307".to_owned(), "1000".to_owned())
    );
    assert_eq!(
        account(&gateway, "operator:fees", "MATIC"),
        ("0".to_owned(), "0.192307692307692308".to_owned())
    );
    gateway.cli_ok(&["ledger", "verify"]);
}

#[test]
fn a_swap_the_treasury_cannot_cover_is_refused_until_it_is_funded() {
    let (gateway, _merchant, client) = setup();
    fund_treasury(&gateway, "MATIC", "5");
    runtime().block_on(async {
        // 10 USDT buys 19.19 MATIC: more than the treasury's 5.
        assert_eq!(
            api_code(client.swap(&ask("short-1", "10", MATIC)).await),
            16001
        );
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "100");
        // 2 USDT buys 3.84: within it.
        let done = client.swap(&ask("short-2", "2", MATIC)).await.unwrap();
        assert_eq!(done.amount_out, "3.838461538461538461");
    });
    // Drained below what the refused swap needs, then topped up: it goes through.
    fund_treasury(&gateway, "MATIC", "20");
    runtime().block_on(async {
        let done = client.swap(&ask("short-1", "10", MATIC)).await.unwrap();
        assert_eq!(done.net_amount_out, "18.999999999999999999");
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "88");
    });
    // The treasury cannot be drained below zero by the operator either.
    let refused = gateway.cli(&[
        "ledger",
        "adjust",
        "--treasury",
        "--coin",
        "MATIC",
        "--amount",
        "-1000",
        "--reason",
        "too much",
    ]);
    assert!(!refused.status.success());
    gateway.cli_ok(&["ledger", "verify"]);
}

/// The operator's swap limits from the CLI (decisions §29): a merchant's
/// daily limit in USD (16004 past it) and its switch (16005), read by the
/// running server at the next swap.
#[test]
fn the_operator_limits_and_switches_off_a_merchants_swaps() {
    let (gateway, merchant, client) = setup();
    fund_treasury(&gateway, "MATIC", "1000");
    let set_swaps = |extra: &[&str]| {
        let mut args = vec!["merchant", "set-swaps", "--app-id", &merchant.app_id];
        args.extend_from_slice(extra);
        gateway.cli(&args)
    };
    let refused = set_swaps(&["--enabled", "true", "--daily-limit-usd", "lots"]);
    assert!(!refused.status.success(), "{refused:?}");
    let set = set_swaps(&["--enabled", "true", "--daily-limit-usd", "30"]);
    assert!(set.status.success(), "{set:?}");
    runtime().block_on(async {
        client.swap(&ask("lim-1", "20", MATIC)).await.unwrap();
        assert_eq!(
            api_code(client.swap(&ask("lim-2", "20", MATIC)).await),
            16004
        );
        client.swap(&ask("lim-3", "10", MATIC)).await.unwrap();
    });
    let off = set_swaps(&["--enabled", "false"]);
    assert!(off.status.success(), "{off:?}");
    runtime().block_on(async {
        assert_eq!(
            api_code(client.swap(&ask("lim-4", "1", MATIC)).await),
            16005
        );
        assert_eq!(
            api_code(client.estimate_swap(USDT, "1", MATIC).await),
            16005
        );
    });
}
