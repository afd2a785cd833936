//! Issue #19's wallet-system scenario through the real binary with the Rust
//! `V2Client` (decisions §24, §25.1, §28): two users deposit on the devnet,
//! transfer, swap, and withdraw on the chain and to a Cwallet id; every
//! webhook arrives in v2 form with a valid signature, and every record
//! endpoint agrees with the balances. Only the client crate speaks to the
//! API; the CLI plays the payer (devnet), the time (sandbox clock) and the
//! operator (treasury, Cwallet id, ledger check). Beside it: the user
//! withdrawal triggers, and users' withdrawals racing through two instances
//! on one PostgreSQL database.

use ccgate_client::V2Webhook;
use ccgate_client::v2::{
    SwapAsk, SwapRecordQuery, UserAddressRequest, UserCwalletWithdrawal, UserDepositRecordQuery,
    UserNetworkWithdrawal, UserSwapAsk, UserTransferQuery, UserTransferRequest,
    UserWithdrawRecordQuery, V2Client, WithdrawRecordQuery,
};
use ccgate_ledger::{Amount, Precision};
use serde_json::Value;

use crate::sandbox::{clock, verified_v2};
use crate::support::pay;
use crate::support::{Gateway, HttpStub};

const USDT: u64 = 1280;
const MATIC: u64 = 1329;
const PAYEE: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An amount as the API writes it, read exactly (no float; both coins
/// keep at most 18 places).
fn units(text: &str) -> Amount {
    Amount::parse_decimal(text, Precision::new(18).unwrap()).unwrap()
}

/// What a user holds of `coin_id` by its records alone: deposits less their
/// service fees, transfers in less transfers out, swaps' net output less
/// their input, less every withdrawal not failed (the payee bore the fee).
async fn held_by_records(client: &V2Client, user_id: &str, coin_id: u64) -> Amount {
    let mut plus = Amount::ZERO;
    let mut minus = Amount::ZERO;
    let add = |sum: &mut Amount, text: &str| *sum = sum.checked_add(units(text)).unwrap();
    let deposits = client
        .user_deposit_records(&UserDepositRecordQuery {
            user_id: user_id.into(),
            ..UserDepositRecordQuery::default()
        })
        .await
        .unwrap();
    for deposit in deposits.records.iter().filter(|d| d.coin_id == coin_id) {
        add(&mut plus, &deposit.amount);
        add(&mut minus, &deposit.service_fee);
    }
    for (received, query) in [
        (
            true,
            UserTransferQuery {
                to_user_id: Some(user_id.into()),
                ..UserTransferQuery::default()
            },
        ),
        (
            false,
            UserTransferQuery {
                from_user_id: Some(user_id.into()),
                ..UserTransferQuery::default()
            },
        ),
    ] {
        let transfers = client.user_transfer_records(&query).await.unwrap();
        for transfer in transfers.records.iter().filter(|t| t.coin_id == coin_id) {
            add(
                if received { &mut plus } else { &mut minus },
                &transfer.amount,
            );
        }
    }
    let swaps = client
        .user_swap_records(&SwapRecordQuery {
            user_id: Some(user_id.into()),
            ..SwapRecordQuery::default()
        })
        .await
        .unwrap();
    for swap in &swaps.records {
        if swap.coin_id_in == coin_id {
            add(&mut minus, &swap.amount_in);
        }
        if swap.coin_id_out == coin_id {
            add(&mut plus, &swap.net_amount_out);
        }
    }
    let withdrawals = client
        .user_withdraw_records(&UserWithdrawRecordQuery {
            user_id: user_id.into(),
            coin_id: Some(coin_id),
            ..UserWithdrawRecordQuery::default()
        })
        .await
        .unwrap();
    for withdrawal in &withdrawals.records {
        if withdrawal.status != "Failed" && withdrawal.status != "Rejected" {
            add(&mut minus, &withdrawal.amount);
        }
    }
    plus.checked_sub(minus).unwrap()
}

#[test]
fn two_users_deposit_transfer_swap_and_withdraw_and_every_record_agrees() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    gateway.cli_ok(&[
        "ledger",
        "adjust",
        "--treasury",
        "--coin",
        "MATIC",
        "--amount",
        "1000",
        "--reason",
        "swap inventory",
    ]);
    let cwallet: Value = serde_json::from_str(&gateway.cli_ok(&[
        "cwallet",
        "create",
        "--nickname",
        "payee",
        "--json",
    ]))
    .unwrap();
    let c_id = cwallet["c_id"].as_str().unwrap().to_owned();
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    runtime().block_on(async {
        let merchant_before = client.asset(USDT).await.unwrap().asset.available;

        // Two users deposit on the devnet: two signed UserDeposit webhooks.
        for (user_id, amount) in [("alice-01", "100"), ("bob-0001", "50")] {
            let address = client
                .user_deposit_address(&UserAddressRequest {
                    user_id: user_id.into(),
                    chain: "ETH".into(),
                    notify_url: None,
                })
                .await
                .unwrap()
                .address;
            pay(&gateway, &address, amount);
        }
        clock(&gateway, &["advance", "4m"]);
        let mut deposited = Vec::new();
        for hook in receiver.wait_for_requests(2) {
            match verified_v2(&merchant, &hook) {
                V2Webhook::UserDeposit(msg) => {
                    let record = client.user_deposit_record(&msg.record_id).await.unwrap();
                    assert_eq!(
                        (&record.user_id, &record.amount),
                        (&msg.user_id, &msg.amount)
                    );
                    deposited.push((msg.user_id, msg.amount, msg.status));
                }
                other => panic!("not a UserDeposit: {other:?}"),
            }
        }
        deposited.sort();
        assert_eq!(
            deposited,
            [
                ("alice-01".into(), "100".into(), "Success".into()),
                ("bob-0001".into(), "50".into(), "Success".into())
            ]
        );

        // A transfer and a swap: instant, no webhook.
        client
            .user_transfer(&UserTransferRequest {
                order_id: "sc-t-1".into(),
                from_user_id: "alice-01".into(),
                to_user_id: "bob-0001".into(),
                coin_id: USDT,
                amount: "20".into(),
                remark: "scenario".into(),
            })
            .await
            .unwrap();
        let swapped = client
            .user_swap(&UserSwapAsk {
                user_id: "alice-01",
                swap: SwapAsk {
                    order_id: Some("sc-s-1"),
                    coin_id_in: USDT,
                    amount_in: "10",
                    coin_id_out: MATIC,
                    amount_out_minimum: None,
                },
                extra_fee_rate: None,
            })
            .await
            .unwrap();

        // Withdrawals: alice on the chain (to its own notifyUrl), bob to a
        // Cwallet id; a repeat of either is the same withdrawal.
        let on_chain = UserNetworkWithdrawal {
            user_id: "alice-01".into(),
            order_id: "sc-w-1".into(),
            coin_id: USDT,
            chain: "ETH".into(),
            address: PAYEE.into(),
            amount: "30".into(),
            notify_url: Some(format!("{}?user=alice", receiver.url)),
            ..UserNetworkWithdrawal::default()
        };
        let chain_record_id = client.user_withdraw_to_network(&on_chain).await.unwrap();
        assert_eq!(
            client.user_withdraw_to_network(&on_chain).await.unwrap(),
            chain_record_id
        );
        let to_cwallet = UserCwalletWithdrawal {
            user_id: "bob-0001".into(),
            order_id: "sc-cw-1".into(),
            coin_id: USDT,
            cwallet_user: c_id.clone(),
            amount: "10".into(),
        };
        let cwallet_record_id = client.user_withdraw_to_cwallet(&to_cwallet).await.unwrap();
        assert_eq!(
            client.user_withdraw_to_cwallet(&to_cwallet).await.unwrap(),
            cwallet_record_id
        );
        let cwallet_record = client
            .user_withdraw_record(&cwallet_record_id)
            .await
            .unwrap();
        assert_eq!(
            (
                cwallet_record.status.as_str(),
                cwallet_record.chain.as_str(),
                cwallet_record.cwallet_user.as_str()
            ),
            ("Success", "Cwallet OS", c_id.as_str())
        );

        // The chain withdrawal confirms: one UserWithdrawal, to its notifyUrl.
        clock(&gateway, &["advance", "4m"]);
        let hooks = receiver.wait_for_requests(3);
        let hook = &hooks[2];
        assert!(hook.target.ends_with("?user=alice"), "{}", hook.target);
        match verified_v2(&merchant, hook) {
            V2Webhook::UserWithdrawal(msg) => assert_eq!(
                (
                    msg.record_id.as_str(),
                    msg.order_id.as_str(),
                    msg.user_id.as_str(),
                    msg.coin_id,
                    msg.status.as_str()
                ),
                (
                    chain_record_id.as_str(),
                    "sc-w-1",
                    "alice-01",
                    USDT,
                    "Success"
                )
            ),
            other => panic!("not a UserWithdrawal: {other:?}"),
        }
        let chain_record = client
            .user_withdraw_record_by_order_id("sc-w-1")
            .await
            .unwrap();
        assert_eq!(chain_record.record_id, chain_record_id);
        assert_eq!(
            (
                chain_record.status.as_str(),
                chain_record.to_address.as_str()
            ),
            ("Success", PAYEE)
        );
        assert!(chain_record.tx_id.starts_with("0x"), "{chain_record:?}");
        assert!(units(&chain_record.fee.amount) > Amount::ZERO);

        // Every record endpoint agrees with the balances, coin by coin.
        for (user_id, coin_id) in [
            ("alice-01", USDT),
            ("alice-01", MATIC),
            ("bob-0001", USDT),
            ("bob-0001", MATIC),
        ] {
            let held = client
                .user_asset(user_id, coin_id)
                .await
                .unwrap()
                .asset
                .available;
            assert_eq!(
                held_by_records(&client, user_id, coin_id).await,
                units(&held),
                "{user_id}'s coin {coin_id}: records against the balance {held}"
            );
        }
        assert_eq!(
            client
                .user_asset("alice-01", USDT)
                .await
                .unwrap()
                .asset
                .available,
            "39.97"
        );
        assert_eq!(
            client
                .user_asset("bob-0001", USDT)
                .await
                .unwrap()
                .asset
                .available,
            "59.985"
        );
        assert_eq!(
            units(
                &client
                    .user_asset("alice-01", MATIC)
                    .await
                    .unwrap()
                    .asset
                    .available
            ),
            units(&swapped.net_amount_out)
        );
        // The merchant's own balance and records never moved.
        assert_eq!(
            client.asset(USDT).await.unwrap().asset.available,
            merchant_before
        );
        assert!(
            client
                .withdraw_records(&WithdrawRecordQuery::default())
                .await
                .unwrap()
                .records
                .is_empty()
        );
        // Nothing else was notified: transfers, swaps and Cwallet
        // withdrawals send none (v2 spec §3.3.8).
        assert_eq!(receiver.received().len(), 3);
    });
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

/// The sandbox's user withdrawal triggers (v2 only, decisions §28): a
/// funded user's withdrawal settled with a `UserWithdrawal` `Success`, or
/// refused by the devnet, voided back to the user, `Failed`.
#[test]
fn the_user_withdrawal_triggers_settle_or_void_with_a_user_withdrawal_webhook() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let refused = gateway.cli(&[
        "trigger",
        "user.withdrawal.succeeded",
        "--app-id",
        &merchant.app_id,
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("runs in v2 only"),
        "{refused:?}"
    );
    let run = |name: &str| -> Value {
        serde_json::from_str(&gateway.cli_ok(&[
            "trigger",
            name,
            "--app-id",
            &merchant.app_id,
            "--dialect",
            "v2",
            "--json",
        ]))
        .unwrap()
    };
    let reported = |report: &Value| -> Vec<(String, String)> {
        report["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["payload"]["type"].as_str().unwrap().to_owned(),
                    w["payload"]["msg"]["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |kind: &str, status: &str| (kind.to_owned(), status.to_owned());
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();

    let sent = run("user.withdrawal.succeeded");
    let withdrawal = &sent["objects"]["withdrawal"];
    assert_eq!(
        (
            &withdrawal["status"],
            &withdrawal["userId"],
            &withdrawal["amount"]
        ),
        (
            &Value::from("Success"),
            &Value::from("trigger-wallet-user"),
            &Value::from("5")
        ),
        "{sent}"
    );
    assert_eq!(sent["objects"]["available"], "94.97");
    assert_eq!(
        reported(&sent),
        [
            pair("UserDeposit", "Success"),
            pair("UserWithdrawal", "Success")
        ]
    );

    let failed = run("user.withdrawal.failed");
    assert_eq!(
        failed["objects"]["withdrawal"]["status"], "Failed",
        "{failed}"
    );
    // Its 5 are back: only the second funding deposit is added.
    assert_eq!(failed["objects"]["available"], "194.94");
    assert_eq!(
        reported(&failed),
        [
            pair("UserDeposit", "Success"),
            pair("UserWithdrawal", "Failed")
        ]
    );
    let hooks = receiver.wait_for_requests(4);
    match verified_v2(&merchant, &hooks[3]) {
        V2Webhook::UserWithdrawal(msg) => {
            assert_eq!(msg.status, "Failed");
            runtime().block_on(async {
                let record = client.user_withdraw_record(&msg.record_id).await.unwrap();
                assert_eq!(
                    (record.status.as_str(), record.user_id.as_str()),
                    ("Failed", "trigger-wallet-user")
                );
            });
        }
        other => panic!("not a UserWithdrawal: {other:?}"),
    }
}

/// Users' withdrawals racing through two instances on one PostgreSQL
/// database (decisions §28): 200 concurrent Cwallet withdrawals of 1 USDT
/// out of a user holding 50 are accepted exactly 50 times, the rest refused
/// for the balance, and the ledger replays.
#[test]
fn racing_user_withdrawals_through_two_instances_never_overdraw_the_user() {
    const CLIENTS: usize = 10;
    const WITHDRAWALS: usize = 200;
    let Some(url) = crate::postgres::database_url() else {
        return;
    };
    let schema = crate::postgres::Schema::new();
    let args = [
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.0.as_str(),
        "--no-rate-limit",
    ];
    let first = Gateway::start(&args);
    let second = first.another(&args);
    let merchant = first.demo.clone().unwrap();
    let on_pg = |command: &[&str]| first.cli_ok(&[&args[..4], command].concat());
    on_pg(&[
        "ledger",
        "adjust",
        "--app-id",
        &merchant.app_id,
        "--coin",
        "USDT",
        "--amount",
        "50",
        "--reason",
        "float",
    ]);
    let cwallet: Value = serde_json::from_str(&on_pg(&[
        "cwallet",
        "create",
        "--nickname",
        "payee",
        "--json",
    ]))
    .unwrap();
    let c_id = cwallet["c_id"].as_str().unwrap().to_owned();
    let call = |gateway: &Gateway, endpoint: &str, body: &str| -> Value {
        gateway.post_v2(&merchant, endpoint, body.as_bytes()).json()
    };
    let funded = call(
        &first,
        "userTransfer",
        &format!(
            r#"{{"orderId":"fund-1","fromUserId":"{}","toUserId":"alice-01","coinId":1280,"amount":"50"}}"#,
            merchant.app_id
        ),
    );
    assert_eq!(funded["code"], 10000, "{funded}");

    let codes: Vec<u64> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let gateway = if client % 2 == 0 { &first } else { &second };
                let (call, c_id) = (&call, &c_id);
                scope.spawn(move || {
                    (0..WITHDRAWALS / CLIENTS)
                        .map(|i| {
                            let body = format!(
                                r#"{{"userId":"alice-01","orderId":"race-{client}-{i}","coinId":1280,"cwalletUser":"{c_id}","amount":"1"}}"#
                            );
                            call(gateway, "applyUserWithdrawToCwallet", &body)["code"]
                                .as_u64()
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().unwrap())
            .collect()
    });
    let accepted = codes.iter().filter(|code| **code == 10000).count();
    let refused = codes.iter().filter(|code| **code == 14000).count();
    assert_eq!(
        (accepted, refused),
        (50, 150),
        "every answer is one of the two"
    );
    for gateway in [&first, &second] {
        let alice = call(
            gateway,
            "getUserCoinAsset",
            r#"{"userId":"alice-01","coinId":1280}"#,
        );
        assert_eq!(alice["data"]["asset"]["available"], "0", "{alice}");
        let listed = call(
            gateway,
            "getUserWithdrawRecordList",
            r#"{"userId":"alice-01","limit":100}"#,
        );
        assert_eq!(
            listed["data"]["records"].as_array().unwrap().len(),
            50,
            "{listed}"
        );
    }
    let verified = on_pg(&["ledger", "verify"]);
    assert!(verified.contains("all equal"), "{verified}");
}
