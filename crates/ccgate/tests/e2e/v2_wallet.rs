//! The v2 wallet system through the real binary with the Rust client
//! (decisions §24): two users deposit on the devnet, each deposit is
//! notified as a signed `UserDeposit`, the users transfer to each other and
//! to a third in a batch, and every record endpoint agrees with the
//! balances. Only the client crate speaks to the API; the CLI plays the
//! payer (devnet) and the time (sandbox clock).

use ccgate_client::V2Webhook;
use ccgate_client::v2::{
    ToUser, UserAddressRequest, UserBatchTransferRequest, UserDepositRecordQuery,
    UserTransferQuery, UserTransferRequest, V2Client,
};
use ccgate_ledger::{Amount, Precision};

use crate::sandbox::{clock, verified_v2};
use crate::support::Gateway;
use crate::support::HttpStub;
use crate::support::pay;
use serde_json::Value;

const USDT: u64 = 1280;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// USDT amounts as the API writes them, read exactly (no float).
fn units(text: &str) -> Amount {
    Amount::parse_decimal(text, Precision::new(18).unwrap()).unwrap()
}

/// What a user holds by its records: deposits less their fees, plus what
/// it received, less what it sent.
async fn balance_by_records(client: &V2Client, user_id: &str) -> Amount {
    let mut held = Amount::ZERO;
    let deposits = client
        .user_deposit_records(&UserDepositRecordQuery {
            user_id: user_id.into(),
            ..UserDepositRecordQuery::default()
        })
        .await
        .unwrap();
    for deposit in &deposits.records {
        held = held
            .checked_add(units(&deposit.amount))
            .and_then(|sum| sum.checked_sub(units(&deposit.service_fee)))
            .unwrap();
    }
    let received = client
        .user_transfer_records(&UserTransferQuery {
            to_user_id: Some(user_id.into()),
            ..UserTransferQuery::default()
        })
        .await
        .unwrap();
    for transfer in &received.records {
        held = held.checked_add(units(&transfer.amount)).unwrap();
    }
    let sent = client
        .user_transfer_records(&UserTransferQuery {
            from_user_id: Some(user_id.into()),
            ..UserTransferQuery::default()
        })
        .await
        .unwrap();
    for transfer in &sent.records {
        held = held.checked_sub(units(&transfer.amount)).unwrap();
    }
    held
}

#[test]
fn two_users_deposit_transfer_and_every_record_agrees_with_the_balances() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    runtime().block_on(async {
        let merchant_before = client.asset(USDT).await.unwrap().asset.available;
        let mut addresses = Vec::new();
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
            addresses.push(address);
        }
        assert_ne!(addresses[0], addresses[1]);
        clock(&gateway, &["advance", "4m"]);

        // Each deposit is a signed v2 UserDeposit, which its record confirms.
        let hooks = receiver.wait_for_requests(2);
        let mut notified = Vec::new();
        for hook in &hooks {
            match verified_v2(&merchant, hook) {
                V2Webhook::UserDeposit(msg) => {
                    let record = client.user_deposit_record(&msg.record_id).await.unwrap();
                    assert_eq!(
                        (&record.user_id, &record.amount, record.status.as_str()),
                        (&msg.user_id, &msg.amount, "Success")
                    );
                    assert_eq!((msg.coin_id, msg.status.as_str()), (USDT, "Success"));
                    notified.push((msg.user_id, msg.amount));
                }
                other => panic!("not a UserDeposit: {other:?}"),
            }
        }
        notified.sort();
        assert_eq!(
            notified,
            [
                ("alice-01".to_owned(), "100".to_owned()),
                ("bob-0001".to_owned(), "50".to_owned())
            ]
        );
        let usdt = |user_id: &'static str| {
            let client = client.clone();
            async move {
                client
                    .user_asset(user_id, USDT)
                    .await
                    .unwrap()
                    .asset
                    .available
            }
        };
        assert_eq!(usdt("alice-01").await, "99.97");
        assert_eq!(usdt("bob-0001").await, "49.985");

        let transfer = |order_id: &str, from: &str, to: &str, amount: &str| UserTransferRequest {
            order_id: order_id.into(),
            from_user_id: from.into(),
            to_user_id: to.into(),
            coin_id: USDT,
            amount: amount.into(),
            remark: "e2e".into(),
        };
        client
            .user_transfer(&transfer("w-1", "alice-01", "bob-0001", "20"))
            .await
            .unwrap();
        client
            .user_transfer(&transfer("w-2", "bob-0001", "alice-01", "5"))
            .await
            .unwrap();
        client
            .user_batch_transfer(&UserBatchTransferRequest {
                order_id: "wb-1".into(),
                user_id: "alice-01".into(),
                to_users: vec![
                    ToUser {
                        user_id: "bob-0001".into(),
                        amount: "1".into(),
                    },
                    ToUser {
                        user_id: "carol-01".into(),
                        amount: "2".into(),
                    },
                ],
                coin_id: USDT,
                remark: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(usdt("alice-01").await, "81.97");
        assert_eq!(usdt("bob-0001").await, "65.985");
        assert_eq!(usdt("carol-01").await, "2");
        // Transfers send no webhook; the merchant's own balance never moved.
        assert_eq!(receiver.received().len(), 2);
        assert_eq!(
            client.asset(USDT).await.unwrap().asset.available,
            merchant_before
        );

        for user_id in ["alice-01", "bob-0001", "carol-01"] {
            let listed = client.user_assets(user_id).await.unwrap();
            assert_eq!(listed.assets.len(), 1, "{listed:?}");
            assert_eq!(
                balance_by_records(&client, user_id).await,
                units(&listed.assets[0].available),
                "{user_id}'s records and balance"
            );
        }

        // The spec's least transfer is 0.001 USD (decisions §35): a USDT
        // transfer or batch leg below it is refused and moves nothing.
        let too_small = client
            .user_transfer(&transfer("w-small", "alice-01", "bob-0001", "0.0009"))
            .await;
        assert!(
            matches!(
                &too_small,
                Err(ccgate_client::ClientError::Api { code: 11000, .. })
            ),
            "{too_small:?}"
        );
        let small_leg = client
            .user_batch_transfer(&UserBatchTransferRequest {
                order_id: "wb-small".into(),
                user_id: "alice-01".into(),
                to_users: vec![ToUser {
                    user_id: "bob-0001".into(),
                    amount: "0.0005".into(),
                }],
                coin_id: USDT,
                remark: String::new(),
            })
            .await;
        assert!(
            matches!(
                &small_leg,
                Err(ccgate_client::ClientError::Api { code: 11000, .. })
            ),
            "{small_leg:?}"
        );
        assert_eq!(usdt("alice-01").await, "81.97");
        client
            .user_transfer(&transfer("w-least", "alice-01", "bob-0001", "0.001"))
            .await
            .unwrap();
        assert_eq!(usdt("alice-01").await, "81.969");
    });
}

/// The sandbox's wallet triggers (v2 only): `user.deposit` credits the
/// trigger's user with a UserDeposit webhook, `user.transfer` then moves 5
/// to another user without one; v1 is refused with the reason.
#[test]
fn the_wallet_triggers_fund_a_user_and_transfer_in_v2_only() {
    let receiver = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &receiver.url);
    let refused = gateway.cli(&["trigger", "user.deposit", "--app-id", &merchant.app_id]);
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
    let deposited = run("user.deposit");
    assert_eq!(deposited["objects"]["available"], "99.97", "{deposited}");
    let deposit = &deposited["objects"]["deposit"];
    assert_eq!(deposit["userId"], "trigger-wallet-user");
    let webhooks = deposited["webhooks"].as_array().unwrap();
    assert_eq!(webhooks.len(), 1, "{deposited}");
    assert_eq!(webhooks[0]["payload"]["type"], "UserDeposit");
    assert_eq!(
        webhooks[0]["payload"]["msg"]["recordId"],
        deposit["recordId"]
    );
    match verified_v2(&merchant, &receiver.wait_for_requests(1)[0]) {
        V2Webhook::UserDeposit(msg) => assert_eq!(msg.amount, "100"),
        other => panic!("{other:?}"),
    }

    let transferred = run("user.transfer");
    let objects = &transferred["objects"];
    assert_eq!(objects["transfer"]["amount"], "5", "{transferred}");
    assert_eq!(objects["available"]["trigger-wallet-user"], "194.94");
    assert_eq!(objects["available"]["trigger-wallet-user-2"], "5");
    // Its funding deposit is notified; the transfer is not (v2 spec §3.3.8).
    let kinds: Vec<&str> = transferred["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["UserDeposit"]);
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    runtime().block_on(async {
        let record = client
            .user_transfer_record(objects["transfer"]["recordId"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            (
                record.from_user_id.as_str(),
                record.to_user_id.as_str(),
                record.amount.as_str()
            ),
            ("trigger-wallet-user", "trigger-wallet-user-2", "5")
        );
    });
}
