//! The v2 wallet system in process (decisions §24): users' deposit
//! addresses credit the user with a `UserDeposit` webhook, transfers move
//! money between users (and the merchant, by its App ID) once per order id,
//! and racing transfers never overdraw.

use std::sync::Arc;

use ccgate_client::ClientError;
use ccgate_client::v2::{
    ToUser, UserAddressRequest, UserBatchTransferRequest, UserDepositRecordQuery,
    UserTransferQuery, UserTransferRequest,
};
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId};
use ccgate_store::{EntryMeta, Store, verify_ledger};
use ccgate_testkit::{Engine, Merchant, Receiver};
use serde_json::Value;

use crate::{USDT, engine, pay_usdt, usdt_available};

const USDT_ID: u64 = 1280;

/// The v2 code a refused call answered.
fn code(refused: Result<impl std::fmt::Debug, ClientError>) -> u32 {
    match refused {
        Err(ClientError::Api { code, .. }) => code,
        other => panic!("not refused by the API: {other:?}"),
    }
}

/// The operator credits the merchant's own balance (`ccgate ledger adjust`).
async fn fund_merchant(engine: &Engine, merchant: &Merchant, usdt: u128) {
    let entry = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::MerchantAvailable(MerchantId::new(merchant.app_id.as_str())),
        CoinId::new(USDT),
        Amount::parse_decimal(
            &usdt.to_string(),
            engine
                .state
                .registry
                .coin(&CoinId::new(USDT))
                .unwrap()
                .precision,
        )
        .unwrap(),
    )
    .unwrap();
    let meta = EntryMeta {
        kind: "adjustment",
        reason: "float".into(),
        created_at: engine.now_ms() / 1000,
    };
    engine.backend.post_entry(&entry, &meta).await.unwrap();
}

async fn user_usdt(client: &ccgate_client::V2Client, user_id: &str) -> String {
    client
        .user_asset(user_id, USDT_ID)
        .await
        .unwrap()
        .asset
        .available
}

#[tokio::test]
async fn a_deposit_to_a_users_address_credits_the_user_and_is_notified_as_user_deposit() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "success").await.unwrap();
    let merchant = engine.merchant("wallets").await.unwrap();
    engine.set_webhook(&merchant, &receiver.url).await.unwrap();
    let client = engine.v2_client(&merchant).unwrap();
    assert_eq!(code(client.user_assets("alice-01").await), 11015);
    let ask = UserAddressRequest {
        user_id: "alice-01".into(),
        chain: "ETH".into(),
        notify_url: None,
    };
    let address = client.user_deposit_address(&ask).await.unwrap().address;
    assert_eq!(
        client.user_deposit_address(&ask).await.unwrap().address,
        address
    );
    // The App ID is the merchant's own account, which has no user address.
    let own = UserAddressRequest {
        user_id: merchant.app_id.clone(),
        ..ask.clone()
    };
    assert_eq!(code(client.user_deposit_address(&own).await), 11000);
    assert!(
        client
            .user_assets("alice-01")
            .await
            .unwrap()
            .assets
            .is_empty()
    );

    pay_usdt(&engine, &address, "100").await;
    engine.mine("ETH", 12).await.unwrap();
    let ticked = engine.settle(engine.now_ms()).await.unwrap();
    assert_eq!((ticked.credited, ticked.deliveries), (1, 1), "{ticked:?}");
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    let record_id = body["msg"]["recordId"].as_str().unwrap().to_owned();
    assert_eq!(
        String::from_utf8(hook.body.clone()).unwrap(),
        format!(
            r#"{{"type":"UserDeposit","msg":{{"recordId":"{record_id}","userId":"alice-01","coinId":1280,"coinSymbol":"USDT","amount":"100","status":"Success","isFlaggedAsRisky":false}}}}"#
        )
    );
    assert!(ccgate_api::v2::sign::verify(
        &merchant.app_id,
        &merchant.app_secret,
        hook.header("timestamp").unwrap(),
        &hook.body,
        hook.header("sign").unwrap()
    ));

    // The user holds it, less the service fee; the merchant's own balance
    // does not include it.
    assert_eq!(user_usdt(&client, "alice-01").await, "99.97");
    assert_eq!(usdt_available(&engine, &merchant).await, "0");
    assert_eq!(client.asset(USDT_ID).await.unwrap().asset.available, "0");
    let record = client.user_deposit_record(&record_id).await.unwrap();
    assert_eq!(
        (
            record.user_id.as_str(),
            record.amount.as_str(),
            record.service_fee.as_str()
        ),
        ("alice-01", "100", "0.03")
    );
    assert_eq!(record.to_address, address);
    let listed = client
        .user_deposit_records(&UserDepositRecordQuery {
            user_id: "alice-01".into(),
            ..UserDepositRecordQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.records, vec![record]);
    // Not a deposit of the merchant's own.
    let own_records = client.deposit_records(&Default::default()).await.unwrap();
    assert!(own_records.records.is_empty(), "{own_records:?}");
    assert_eq!(
        code(client.deposit_record(&record_id).await),
        ccgate_api::v2::V2Code::NotFound.number()
    );

    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}

#[tokio::test]
async fn transfers_move_money_once_per_order_id_and_batches_all_or_nothing() {
    let engine = engine().await;
    let merchant = engine.merchant("wallets").await.unwrap();
    fund_merchant(&engine, &merchant, 100).await;
    let client = engine.v2_client(&merchant).unwrap();
    let transfer = |order_id: &str, from: &str, to: &str, amount: &str| UserTransferRequest {
        order_id: order_id.into(),
        from_user_id: from.into(),
        to_user_id: to.into(),
        coin_id: USDT_ID,
        amount: amount.into(),
        remark: String::new(),
    };
    // The merchant funds a new user from its own balance (its App ID).
    let app_id = merchant.app_id.as_str();
    client
        .user_transfer(&transfer("fund-1", app_id, "alice-01", "100"))
        .await
        .unwrap();
    assert_eq!(usdt_available(&engine, &merchant).await, "0");
    let first = client
        .user_transfer(&transfer("t-1", "alice-01", "bob-0001", "30"))
        .await
        .unwrap();
    // Again: the same record, nothing moves twice.
    let again = client
        .user_transfer(&transfer("t-1", "alice-01", "bob-0001", "30"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        code(
            client
                .user_transfer(&transfer("t-1", "alice-01", "bob-0001", "31"))
                .await
        ),
        11011
    );
    assert_eq!(
        code(
            client
                .user_transfer(&transfer("t-2", "alice-01", "bob-0001", "71"))
                .await
        ),
        14000
    );
    assert_eq!(
        code(
            client
                .user_transfer(&transfer("t-3", "nobody-1", "bob-0001", "1"))
                .await
        ),
        11015
    );
    assert_eq!(
        code(
            client
                .user_transfer(&transfer("t-4", "alice-01", "alice-01", "1"))
                .await
        ),
        11000
    );
    // The refused t-2 left nothing: its order id is still free.
    client
        .user_transfer(&transfer("t-2", "alice-01", "bob-0001", "5"))
        .await
        .unwrap();
    assert_eq!(
        (
            user_usdt(&client, "alice-01").await,
            user_usdt(&client, "bob-0001").await
        ),
        ("65".to_owned(), "35".to_owned())
    );

    let batch = |order_id: &str, legs: &[(&str, &str)]| UserBatchTransferRequest {
        order_id: order_id.into(),
        user_id: "alice-01".into(),
        to_users: legs
            .iter()
            .map(|(user_id, amount)| ToUser {
                user_id: (*user_id).into(),
                amount: (*amount).into(),
            })
            .collect(),
        coin_id: USDT_ID,
        remark: "split".into(),
    };
    // 60 + 10 > 65: all or nothing, so carol gets nothing either.
    let short = batch("b-1", &[("carol-01", "60"), (app_id, "10")]);
    assert_eq!(code(client.user_batch_transfer(&short).await), 14000);
    assert_eq!(code(client.user_assets("carol-01").await), 11015);
    let paid = batch("b-1", &[("carol-01", "50"), (app_id, "10")]);
    let batch_id = client.user_batch_transfer(&paid).await.unwrap();
    assert_eq!(client.user_batch_transfer(&paid).await.unwrap(), batch_id);
    assert_eq!(
        (
            user_usdt(&client, "alice-01").await,
            user_usdt(&client, "carol-01").await,
            usdt_available(&engine, &merchant).await
        ),
        ("5".to_owned(), "50".to_owned(), "10".to_owned())
    );

    // The records agree with the balances.
    let record = client
        .user_transfer_record_by_order_id("t-1")
        .await
        .unwrap();
    assert_eq!(
        (
            record.record_id.as_str(),
            record.amount.as_str(),
            record.status.as_str()
        ),
        (first.as_str(), "30", "Success")
    );
    assert_eq!(client.user_transfer_record(&first).await.unwrap(), record);
    let from_alice = client
        .user_transfer_records(&UserTransferQuery {
            from_user_id: Some("alice-01".into()),
            ..UserTransferQuery::default()
        })
        .await
        .unwrap();
    let sent: Vec<(&str, &str)> = from_alice
        .records
        .iter()
        .map(|r| (r.to_user_id.as_str(), r.amount.as_str()))
        .collect();
    assert_eq!(
        sent,
        [
            (app_id, "10"),
            ("carol-01", "50"),
            ("bob-0001", "5"),
            ("bob-0001", "30")
        ]
    );
    let batch_record = client
        .user_batch_transfer_record_by_order_id("b-1")
        .await
        .unwrap();
    assert_eq!(batch_record.record_id, batch_id);
    assert_eq!(batch_record.to_users.len(), 2);
    let legs = client.user_batch_transfer_detail(&batch_id).await.unwrap();
    let legs: Vec<&str> = legs.records.iter().map(|r| r.to_user_id.as_str()).collect();
    assert_eq!(legs, ["carol-01", app_id]);
    // A page of one, then the next.
    let page = client
        .user_transfer_records(&UserTransferQuery {
            to_user_id: Some("bob-0001".into()),
            limit: Some(1),
            ..UserTransferQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    let rest = client
        .user_transfer_records(&UserTransferQuery {
            to_user_id: Some("bob-0001".into()),
            limit: Some(1),
            next_id: Some(page.next_id.clone()),
            ..UserTransferQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (rest.records[0].record_id.as_str(), rest.next_id.as_str()),
        (first.as_str(), "")
    );

    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}

/// 1,000 transfers of 1 USDT at once out of a user holding 100: exactly
/// 100 succeed, the rest are refused for the balance, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_racing_transfers_out_of_a_hundred_move_exactly_a_hundred() {
    /// Clients at once (each its own connections), few enough for the
    /// per-address connection cap.
    const CLIENTS: usize = 50;
    const TRANSFERS: usize = 1_000;
    let engine = engine().await;
    let merchant = engine.merchant("wallets").await.unwrap();
    fund_merchant(&engine, &merchant, 100).await;
    let client = engine.v2_client(&merchant).unwrap();
    client
        .user_transfer(&UserTransferRequest {
            order_id: "fund-1".into(),
            from_user_id: merchant.app_id.clone(),
            to_user_id: "alice-01".into(),
            coin_id: USDT_ID,
            amount: "100".into(),
            remark: String::new(),
        })
        .await
        .unwrap();
    let engine = Arc::new(engine);
    let mut tasks = Vec::new();
    for worker in 0..CLIENTS {
        let client = engine.v2_client(&merchant).unwrap();
        tasks.push(tokio::spawn(async move {
            let mut codes = Vec::new();
            for i in 0..TRANSFERS / CLIENTS {
                let sent = client
                    .user_transfer(&UserTransferRequest {
                        order_id: format!("race-{worker}-{i}"),
                        from_user_id: "alice-01".into(),
                        to_user_id: format!("user-{:04}", (worker * 31 + i) % 97),
                        coin_id: USDT_ID,
                        amount: "1".into(),
                        remark: String::new(),
                    })
                    .await;
                codes.push(match sent {
                    Ok(_) => 10000,
                    Err(ClientError::Api { code, .. }) => code,
                    Err(other) => panic!("{other}"),
                });
            }
            codes
        }));
    }
    let mut codes = Vec::new();
    for task in tasks {
        codes.extend(task.await.unwrap());
    }
    let succeeded = codes.iter().filter(|c| **c == 10000).count();
    let refused = codes.iter().filter(|c| **c == 14000).count();
    assert_eq!(
        (succeeded, refused),
        (100, 900),
        "every answer is one of the two"
    );
    assert_eq!(user_usdt(&client, "alice-01").await, "0");
    let moved = client
        .user_transfer_records(&UserTransferQuery {
            from_user_id: Some("alice-01".into()),
            limit: Some(100),
            ..UserTransferQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((moved.records.len(), moved.next_id.as_str()), (100, ""));
    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}
