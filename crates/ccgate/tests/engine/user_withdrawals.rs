//! Wallet users' withdrawals in process (decisions §28), through the API
//! with the Rust `V2Client`: reserved from the user (never the merchant),
//! sent and posted on the devnet with a `UserWithdrawal` webhook, returned
//! to the user when the chain refuses them, instant to a Cwallet id, one
//! orderId namespace with the merchant's, and records kept apart.

use ccgate_client::ClientError;
use ccgate_client::v2::{
    CwalletWithdrawal, NetworkWithdrawal, UserCwalletWithdrawal, UserNetworkWithdrawal,
    UserTransferRequest, UserWithdrawRecordQuery, V2Client, WithdrawRecordQuery,
};
use ccgate_client::{V2Webhook, WebhookHeaders, verify_v2_webhook};
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId};
use ccgate_store::{CwalletAccount, DevnetStore, EntryMeta, Store, WithdrawalStore, verify_ledger};
use ccgate_testkit::{Engine, Merchant, Receiver};

use crate::{USDT, engine, usdt_available};

const USDT_ID: u64 = 1280;
const PAYEE: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn code(refused: Result<impl std::fmt::Debug, ClientError>) -> u32 {
    match refused {
        Err(ClientError::Api { code, .. }) => code,
        other => panic!("not refused by the API: {other:?}"),
    }
}

/// The merchant funded by the operator, then `user_id` by the merchant (a
/// transfer from its App ID, which brings the user into being).
async fn funded_user(engine: &Engine, merchant: &Merchant, user_id: &str, usdt: &str) {
    let coin = engine.state.registry.coin(&CoinId::new(USDT)).unwrap();
    let amount = Amount::parse_decimal(usdt, coin.precision).unwrap();
    let entry = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::MerchantAvailable(MerchantId::new(merchant.app_id.as_str())),
        CoinId::new(USDT),
        amount.checked_add(amount).unwrap(),
    )
    .unwrap();
    let meta = EntryMeta {
        kind: "adjustment",
        reason: "test funds".into(),
        created_at: engine.now_ms() / 1000,
    };
    engine.backend.post_entry(&entry, &meta).await.unwrap();
    engine
        .v2_client(merchant)
        .unwrap()
        .user_transfer(&UserTransferRequest {
            order_id: format!("fund-{user_id}"),
            from_user_id: merchant.app_id.clone(),
            to_user_id: user_id.into(),
            coin_id: USDT_ID,
            amount: usdt.into(),
            remark: String::new(),
        })
        .await
        .unwrap();
}

async fn user_usdt(client: &V2Client, user_id: &str) -> String {
    client
        .user_asset(user_id, USDT_ID)
        .await
        .unwrap()
        .asset
        .available
}

fn network(user_id: &str, order_id: &str, amount: &str) -> UserNetworkWithdrawal {
    UserNetworkWithdrawal {
        user_id: user_id.into(),
        order_id: order_id.into(),
        coin_id: USDT_ID,
        chain: "ETH".into(),
        address: PAYEE.into(),
        amount: amount.into(),
        ..UserNetworkWithdrawal::default()
    }
}

/// The one webhook received, verified with the merchant's secret.
fn verified(merchant: &Merchant, receiver: &Receiver) -> Vec<V2Webhook> {
    receiver
        .received()
        .iter()
        .map(|hook| {
            let headers = WebhookHeaders {
                app_id: hook.header("appid").unwrap().to_owned(),
                timestamp: hook.header("timestamp").unwrap().to_owned(),
                sign: hook.header("sign").unwrap().to_owned(),
            };
            let now = headers.timestamp.parse().unwrap();
            verify_v2_webhook(
                &merchant.app_id,
                &merchant.app_secret,
                &headers,
                &hook.body,
                now,
                300,
            )
            .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_users_chain_withdrawal_is_reserved_from_the_user_posted_and_notified() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("user-withdrawals").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let client = engine.v2_client(&merchant).unwrap();
    funded_user(&engine, &merchant, "alice-01", "50").await;
    funded_user(&engine, &merchant, "bob-0001", "1").await;
    // Each funding leaves the merchant as much as its user got.
    assert_eq!(usdt_available(&engine, &merchant).await, "51");

    // Who may withdraw: an existing user, not the App ID.
    assert_eq!(
        code(
            client
                .user_withdraw_to_network(&network("nobody-01", "uw-0", "1"))
                .await
        ),
        11015
    );
    assert_eq!(
        code(
            client
                .user_withdraw_to_network(&network(&merchant.app_id, "uw-0", "1"))
                .await
        ),
        11000
    );
    // More than the user holds, however much the merchant holds.
    assert_eq!(
        code(
            client
                .user_withdraw_to_network(&network("alice-01", "uw-big", "51"))
                .await
        ),
        14000
    );

    let asked = network("alice-01", "uw-1", "10");
    let record_id = client.user_withdraw_to_network(&asked).await.unwrap();
    assert_eq!(
        client.user_withdraw_to_network(&asked).await.unwrap(),
        record_id,
        "a repeat is the same withdrawal"
    );
    assert_eq!(user_usdt(&client, "alice-01").await, "40");
    assert_eq!(usdt_available(&engine, &merchant).await, "51");
    // One orderId namespace: another user's, the merchant's, other parameters.
    assert_eq!(
        code(
            client
                .user_withdraw_to_network(&network("bob-0001", "uw-1", "10"))
                .await
        ),
        11011
    );
    assert_eq!(
        code(
            client
                .withdraw_to_network(&NetworkWithdrawal {
                    order_id: "uw-1".into(),
                    coin_id: USDT_ID,
                    chain: "ETH".into(),
                    address: PAYEE.into(),
                    amount: "10".into(),
                    ..NetworkWithdrawal::default()
                })
                .await
        ),
        11011
    );
    assert_eq!(
        code(
            client
                .user_withdraw_to_network(&network("alice-01", "uw-1", "11"))
                .await
        ),
        11011
    );

    let pending = client.user_withdraw_record(&record_id).await.unwrap();
    assert_eq!(
        (
            pending.user_id.as_str(),
            pending.order_id.as_str(),
            pending.status.as_str(),
            pending.withdraw_type.as_str(),
            pending.amount.as_str()
        ),
        ("alice-01", "uw-1", "Processing", "Network", "10")
    );
    // The merchant's own records never show it.
    assert_eq!(
        code(client.withdraw_record(&record_id).await),
        ccgate_api::v2::V2Code::NotFound.number()
    );
    assert!(
        client
            .withdraw_records(&WithdrawRecordQuery::default())
            .await
            .unwrap()
            .records
            .is_empty()
    );

    engine.settle(engine.now_ms()).await.unwrap();
    engine.mine("ETH", 12).await.unwrap();
    engine.settle(engine.now_ms()).await.unwrap();
    let done = client
        .user_withdraw_record_by_order_id("uw-1")
        .await
        .unwrap();
    assert_eq!(done.status, "Success", "{done:?}");
    assert!(!done.tx_id.is_empty());
    assert_eq!(done.to_address, PAYEE);
    match verified(&merchant, &receiver).as_slice() {
        [V2Webhook::UserWithdrawal(msg)] => {
            assert_eq!(
                (
                    msg.record_id.as_str(),
                    msg.order_id.as_str(),
                    msg.user_id.as_str(),
                    msg.coin_id,
                    msg.status.as_str()
                ),
                (record_id.as_str(), "uw-1", "alice-01", USDT_ID, "Success")
            );
        }
        other => panic!("{other:?}"),
    }
    // The payee bore the fee: the user paid 10, no more.
    assert_eq!(user_usdt(&client, "alice-01").await, "40");
    let balances = engine.backend.all_balances().await.unwrap();
    let reserved = balances
        .get(&(
            Account::UserReserved(MerchantId::new(merchant.app_id.as_str()), "alice-01".into()),
            CoinId::new(USDT),
        ))
        .map(|balance| balance.available().unwrap());
    assert_eq!(reserved, Some(Amount::ZERO), "reserved, then posted out");
    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}

#[tokio::test]
async fn a_refused_user_withdrawal_returns_the_money_to_the_user() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("user-withdrawals-failed").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let client = engine.v2_client(&merchant).unwrap();
    funded_user(&engine, &merchant, "alice-01", "50").await;
    engine
        .backend
        .devnet_fail_next_sends("ETH", 1)
        .await
        .unwrap();
    let record_id = client
        .user_withdraw_to_network(&UserNetworkWithdrawal {
            merchant_pay_network_fee: true,
            ..network("alice-01", "uw-fails", "10")
        })
        .await
        .unwrap();
    let precision = engine
        .state
        .registry
        .coin(&CoinId::new(USDT))
        .unwrap()
        .precision;
    let usdt = |text: &str| Amount::parse_decimal(text, precision).unwrap();
    let fee = usdt(
        &client
            .user_withdraw_record(&record_id)
            .await
            .unwrap()
            .fee
            .amount,
    );
    assert!(!fee.is_zero());
    assert_eq!(
        usdt(&user_usdt(&client, "alice-01").await)
            .checked_add(fee)
            .unwrap(),
        usdt("40"),
        "the user pays the fee on top"
    );
    engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!(user_usdt(&client, "alice-01").await, "50", "all returned");
    let failed = client.user_withdraw_record(&record_id).await.unwrap();
    assert_eq!(failed.status, "Failed");
    match verified(&merchant, &receiver).as_slice() {
        [V2Webhook::UserWithdrawal(msg)] => assert_eq!(msg.status, "Failed"),
        other => panic!("{other:?}"),
    }
    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}

#[tokio::test]
async fn a_users_cwallet_withdrawal_is_instant_and_the_lists_read_each_user_apart() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("user-withdrawals-lists").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let client = engine.v2_client(&merchant).unwrap();
    funded_user(&engine, &merchant, "alice-01", "50").await;
    funded_user(&engine, &merchant, "bob-0001", "5").await;
    engine
        .backend
        .create_cwallet(
            &CwalletAccount {
                c_id: "9454818".into(),
                nickname: "payee".into(),
            },
            engine.now_ms() / 1000,
        )
        .await
        .unwrap();
    let cwallet = |order_id: &str, user_id: &str, amount: &str| UserCwalletWithdrawal {
        user_id: user_id.into(),
        order_id: order_id.into(),
        coin_id: USDT_ID,
        cwallet_user: "9454818".into(),
        amount: amount.into(),
    };
    assert_eq!(
        code(
            client
                .user_withdraw_to_cwallet(&UserCwalletWithdrawal {
                    cwallet_user: "1".into(),
                    ..cwallet("ucw-0", "alice-01", "1")
                })
                .await
        ),
        ccgate_api::v2::V2Code::NotFound.number()
    );
    let to_cwallet = client
        .user_withdraw_to_cwallet(&cwallet("ucw-1", "alice-01", "5"))
        .await
        .unwrap();
    assert_eq!(user_usdt(&client, "alice-01").await, "45");
    let on_chain = client
        .user_withdraw_to_network(&network("alice-01", "uw-2", "10"))
        .await
        .unwrap();
    client
        .user_withdraw_to_cwallet(&cwallet("ucw-2", "bob-0001", "2"))
        .await
        .unwrap();
    // The merchant withdraws too: its own list, not its users'.
    client
        .withdraw_to_cwallet(&CwalletWithdrawal {
            order_id: "mcw-1".into(),
            coin_id: USDT_ID,
            cwallet_user: "9454818".into(),
            amount: "3".into(),
        })
        .await
        .unwrap();
    let record = client.user_withdraw_record(&to_cwallet).await.unwrap();
    assert_eq!(
        (
            record.status.as_str(),
            record.withdraw_type.as_str(),
            record.chain.as_str(),
            record.cwallet_user.as_str(),
            record.fee.amount.as_str()
        ),
        ("Success", "Cwallet", "Cwallet OS", "9454818", "0")
    );
    assert_eq!(
        code(client.user_withdraw_record_by_order_id("mcw-1").await),
        ccgate_api::v2::V2Code::NotFound.number(),
        "the merchant's own is not a user's"
    );

    let listed = |query: UserWithdrawRecordQuery| {
        let client = client.clone();
        async move {
            let list = client.user_withdraw_records(&query).await.unwrap();
            let ids: Vec<String> = list.records.iter().map(|r| r.order_id.clone()).collect();
            (ids, list.next_id)
        }
    };
    let alice = || UserWithdrawRecordQuery {
        user_id: "alice-01".into(),
        ..UserWithdrawRecordQuery::default()
    };
    let (all, next) = listed(alice()).await;
    assert_eq!((all.len(), next.as_str()), (2, ""), "{all:?}");
    assert!(all.contains(&"ucw-1".to_owned()) && all.contains(&"uw-2".to_owned()));
    let (first, next) = listed(UserWithdrawRecordQuery {
        limit: Some(1),
        ..alice()
    })
    .await;
    assert_eq!(first.len(), 1);
    assert!(!next.is_empty());
    let (second, last) = listed(UserWithdrawRecordQuery {
        limit: Some(1),
        next_id: Some(next),
        ..alice()
    })
    .await;
    assert_eq!((second.len(), last.as_str()), (1, ""));
    assert_ne!(first, second);
    assert_eq!(
        listed(UserWithdrawRecordQuery {
            chain: Some("Cwallet OS".into()),
            ..alice()
        })
        .await
        .0,
        ["ucw-1"]
    );
    assert_eq!(
        listed(UserWithdrawRecordQuery {
            chain: Some("ETH".into()),
            ..alice()
        })
        .await
        .0,
        ["uw-2"]
    );
    assert_eq!(
        listed(UserWithdrawRecordQuery {
            user_id: "bob-0001".into(),
            ..UserWithdrawRecordQuery::default()
        })
        .await
        .0,
        ["ucw-2"]
    );
    assert_eq!(
        code(
            client
                .user_withdraw_records(&UserWithdrawRecordQuery {
                    user_id: "nobody-01".into(),
                    ..UserWithdrawRecordQuery::default()
                })
                .await
        ),
        11015
    );
    // A Cwallet withdrawal sends no webhook; the chain one is not final yet.
    let ticked = engine.tick(engine.now_ms()).await.unwrap();
    assert_eq!(ticked.deliveries, 0, "{ticked:?}");
    assert!(receiver.received().is_empty());
    let merchant_own = client
        .withdraw_records(&WithdrawRecordQuery::default())
        .await
        .unwrap();
    assert_eq!(
        merchant_own
            .records
            .iter()
            .map(|r| r.order_id.as_str())
            .collect::<Vec<_>>(),
        ["mcw-1"]
    );
    assert!(!on_chain.is_empty());
}

#[tokio::test]
async fn under_approval_a_users_withdrawal_waits_and_a_rejection_returns_it_to_the_user() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("user-withdrawals-approval").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let client = engine.v2_client(&merchant).unwrap();
    funded_user(&engine, &merchant, "alice-01", "50").await;
    let app_id = MerchantId::new(merchant.app_id.as_str());
    engine
        .backend
        .set_withdrawal_approval_required(&app_id, true)
        .await
        .unwrap();
    let record_id = client
        .user_withdraw_to_network(&network("alice-01", "uw-wait", "10"))
        .await
        .unwrap();
    assert_eq!(user_usdt(&client, "alice-01").await, "40");
    engine.settle(engine.now_ms()).await.unwrap();
    let waiting = client.user_withdraw_record(&record_id).await.unwrap();
    assert_eq!(waiting.status, "WaitingApproval");
    assert!(waiting.tx_id.is_empty(), "not sent while it waits");

    let internal = engine
        .backend
        .withdrawal_by_merchant_order_id(&app_id, "uw-wait")
        .await
        .unwrap()
        .unwrap()
        .order_id;
    engine
        .state
        .withdrawals
        .reject(&internal, engine.now_ms())
        .await
        .unwrap();
    engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!(user_usdt(&client, "alice-01").await, "50");
    assert_eq!(
        client
            .user_withdraw_record(&record_id)
            .await
            .unwrap()
            .status,
        "Rejected"
    );
    let statuses: Vec<String> = verified(&merchant, &receiver)
        .into_iter()
        .map(|hook| match hook {
            V2Webhook::UserWithdrawal(msg) => msg.status,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(statuses, ["WaitingApproval", "Rejected"]);
    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}
