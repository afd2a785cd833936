//! v2 batch withdrawals (docs/decisions.md §26) through the API with the
//! Rust `V2Client`: a batch stored, confirmed, each valid task paid on the
//! devnet as a withdrawal of its own (its reservation, its webhook), an
//! invalid task failing alone, idempotent repeats, and approval.

use ccgate_client::ClientError;
use ccgate_client::v2::{BatchWithdrawal, BatchWithdrawalTask, NetworkWithdrawal, V2Client};
use ccgate_engine::batch_withdrawals::{CLAIM_LEASE_SECS, task_link};
use ccgate_engine::withdrawals::{Asset, Destination, WithdrawalRequest};
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId};
use ccgate_store::{
    BatchWithdrawalStore, EntryMeta, Store, WebhookDialect, WithdrawalStore, verify_ledger,
};
use ccgate_testkit::{Engine, Merchant, Receiver};
use serde_json::Value;

use crate::{engine, usdt_available};

const USDT: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";
const USDT_NUMBER: u64 = 1280;
const PAYEE: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn v2(engine: &Engine, merchant: &Merchant) -> V2Client {
    V2Client::new(
        engine.state.config.public_url.clone(),
        &merchant.app_id,
        &merchant.app_secret,
    )
    .unwrap()
}

/// Credits `usdt` whole USDT as an operator adjustment.
async fn fund(engine: &Engine, merchant: &Merchant, usdt: &str) {
    let coin = engine.state.registry.coin(&CoinId::new(USDT)).unwrap();
    let entry = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::MerchantAvailable(MerchantId::new(merchant.app_id.as_str())),
        CoinId::new(USDT),
        Amount::parse_decimal(usdt, coin.precision).unwrap(),
    )
    .unwrap();
    let meta = EntryMeta {
        kind: "adjustment",
        reason: "test funds".into(),
        created_at: engine.now_ms() / 1000,
    };
    engine.backend.post_entry(&entry, &meta).await.unwrap();
}

fn task(
    seq: Option<u64>,
    order_id: Option<&str>,
    address: &str,
    amount: &str,
) -> BatchWithdrawalTask {
    BatchWithdrawalTask {
        seq,
        order_id: order_id.map(str::to_owned),
        address: address.to_owned(),
        amount: amount.to_owned(),
        memo: None,
        remark: format!("task {seq:?} {order_id:?}"),
    }
}

fn batch(id: &str, notify_url: &str, tasks: Vec<BatchWithdrawalTask>) -> BatchWithdrawal {
    BatchWithdrawal {
        batch_order_id: id.to_owned(),
        coin_id: USDT_NUMBER,
        chain: "ETH".to_owned(),
        task_name: "payroll".to_owned(),
        mode: "Single".to_owned(),
        orders: tasks,
        notify_url: Some(notify_url.to_owned()),
    }
}

fn code_of(error: ClientError) -> u32 {
    match error {
        ClientError::Api { code, .. } => code,
        other => panic!("not a refusal: {other}"),
    }
}

#[tokio::test]
async fn a_batch_pays_its_valid_tasks_and_fails_the_invalid_one_alone() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "Success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    fund(&engine, &merchant, "100").await;
    let client = v2(&engine, &merchant);
    let request = batch(
        "b-1",
        &receiver.url,
        vec![
            task(Some(1), None, PAYEE, "10"),
            task(Some(2), None, "0x123", "10"),
            task(None, Some("pay-3"), PAYEE, "12.5"),
        ],
    );
    let applied = client.apply_batch_withdrawal(&request).await.unwrap();
    assert_eq!(applied.batch_order_id, "b-1");
    assert_eq!(applied.bill_id.len(), 33);
    // Stored, not executed: nothing reserved yet.
    let order = client.batch_withdrawal("b-1").await.unwrap();
    assert_eq!(order.status, "Init");
    assert_eq!(order.amount, "32.5");
    assert_eq!(
        (order.product_name.as_str(), order.task_name.as_str()),
        ("payroll", "payroll")
    );
    assert_eq!(usdt_available(&engine, &merchant).await, "100");
    // The same request again is the same batch; other tasks under its id are not.
    assert_eq!(
        client.apply_batch_withdrawal(&request).await.unwrap(),
        applied
    );
    let mut changed = request.clone();
    changed.orders[0].amount = "11".to_owned();
    assert_eq!(
        code_of(client.apply_batch_withdrawal(&changed).await.unwrap_err()),
        11011
    );
    // A key twice is refused whole, and nothing is stored.
    let twice = batch(
        "b-2",
        &receiver.url,
        vec![
            task(Some(1), None, PAYEE, "1"),
            task(Some(1), None, PAYEE, "2"),
        ],
    );
    assert_eq!(
        code_of(client.apply_batch_withdrawal(&twice).await.unwrap_err()),
        14027
    );
    // One withdrawal id said two ways is a duplicate too.
    let said_twice = batch(
        "b-3",
        &receiver.url,
        vec![
            task(Some(1), None, PAYEE, "1"),
            task(None, Some("b-3-1"), PAYEE, "1"),
        ],
    );
    assert_eq!(
        code_of(
            client
                .apply_batch_withdrawal(&said_twice)
                .await
                .unwrap_err()
        ),
        14027
    );
    assert_eq!(
        code_of(client.batch_withdrawal("b-2").await.unwrap_err()),
        11003
    );

    // Confirmed: two withdrawals reserved, the bad address failed alone.
    let confirmed = client.confirm_batch_withdrawal("b-1").await.unwrap();
    assert_eq!(confirmed.status, "Processing");
    assert_eq!(
        (
            confirmed.stats.total,
            confirmed.stats.failed,
            confirmed.stats.processing
        ),
        (3, 1, 2)
    );
    assert_eq!(
        (
            confirmed.stats.exec_seq,
            confirmed.stats.exec_order_id.as_str()
        ),
        (3, "pay-3")
    );
    assert_eq!(usdt_available(&engine, &merchant).await, "77.5");
    let tasks = client
        .batch_withdrawal_tasks("b-1", None, None)
        .await
        .unwrap();
    assert_eq!(tasks.next_id, "");
    let statuses: Vec<(u64, &str, &str)> = tasks
        .records
        .iter()
        .map(|t| (t.seq, t.order_id.as_str(), t.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            (1, "b-1-1", "Processing"),
            (2, "b-1-2", "Failed"),
            (3, "pay-3", "Processing")
        ]
    );
    assert!(
        tasks.records[1].reason.contains("not a valid EVM address"),
        "{:?}",
        tasks.records[1]
    );
    assert_eq!(tasks.records[1].record_id, "");
    // Confirming again executes nothing twice.
    let again = client.confirm_batch_withdrawal("b-1").await.unwrap();
    assert_eq!(again.stats, confirmed.stats);
    assert_eq!(usdt_available(&engine, &merchant).await, "77.5");
    // Paging: one task a page, in order.
    let first = client
        .batch_withdrawal_tasks("b-1", None, Some(1))
        .await
        .unwrap();
    assert_eq!(first.records[0].order_id, "b-1-1");
    let second = client
        .batch_withdrawal_tasks("b-1", Some(&first.next_id), Some(1))
        .await
        .unwrap();
    assert_eq!(second.records[0].order_id, "b-1-2");

    // Each withdrawal goes on the chain, confirms, and is notified in v2.
    engine.settle(engine.now_ms()).await.unwrap();
    engine.mine("ETH", 12).await.unwrap();
    engine.settle(engine.now_ms()).await.unwrap();
    let done = client.batch_withdrawal("b-1").await.unwrap();
    assert_eq!(done.status, "Completed");
    assert_eq!(
        (
            done.stats.succeeded,
            done.stats.failed,
            done.stats.processing
        ),
        (2, 1, 0)
    );
    // Exact decimals: the fees of the two paid tasks.
    let precision = engine
        .state
        .registry
        .coin(&CoinId::new(USDT))
        .unwrap()
        .precision;
    let fee = client
        .withdraw_fee(USDT_NUMBER, "ETH")
        .await
        .unwrap()
        .fee
        .amount;
    let fee = Amount::parse_decimal(&fee, precision).unwrap();
    assert_eq!(
        Amount::parse_decimal(&done.network_fee, precision).unwrap(),
        fee.checked_add(fee).unwrap()
    );
    let tasks = client
        .batch_withdrawal_tasks("b-1", None, None)
        .await
        .unwrap();
    for paid in [&tasks.records[0], &tasks.records[2]] {
        assert_eq!(paid.status, "Success", "{paid:?}");
        assert!(paid.tx_id.starts_with("0x"), "{paid:?}");
        let record = client.withdraw_record(&paid.record_id).await.unwrap();
        assert_eq!(
            (
                record.order_id.as_str(),
                record.status.as_str(),
                record.tx_id.as_str()
            ),
            (paid.order_id.as_str(), "Success", paid.tx_id.as_str())
        );
    }
    let mut notified: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|hook| {
            let body: Value = serde_json::from_slice(&hook.body).unwrap();
            assert_eq!(body["type"], "ApiWithdrawal", "{body}");
            (
                body["msg"]["orderId"].as_str().unwrap().to_owned(),
                body["msg"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    notified.sort();
    assert_eq!(
        notified,
        [
            ("b-1-1".to_owned(), "Success".to_owned()),
            ("pay-3".to_owned(), "Success".to_owned())
        ]
    );
    assert_eq!(usdt_available(&engine, &merchant).await, "77.5");
    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

#[tokio::test]
async fn under_approval_a_batch_is_reviewing_until_the_operator_decides() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "Success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    let app_id = MerchantId::new(merchant.app_id.as_str());
    fund(&engine, &merchant, "50").await;
    engine
        .backend
        .set_withdrawal_approval_required(&app_id, true)
        .await
        .unwrap();
    let client = v2(&engine, &merchant);
    let request = batch(
        "b-9",
        &receiver.url,
        vec![
            task(None, Some("pay-a"), PAYEE, "10"),
            task(None, Some("pay-b"), PAYEE, "20"),
        ],
    );
    client.apply_batch_withdrawal(&request).await.unwrap();
    let reviewing = client.confirm_batch_withdrawal("b-9").await.unwrap();
    assert_eq!(reviewing.status, "Reviewing");
    assert_eq!(usdt_available(&engine, &merchant).await, "20");
    // Waiting withdrawals are not sent.
    engine.settle(engine.now_ms()).await.unwrap();
    let tasks = client
        .batch_withdrawal_tasks("b-9", None, None)
        .await
        .unwrap();
    assert!(tasks.records.iter().all(|t| t.status == "WaitingApproval"));

    let withdrawals = &engine.state.withdrawals;
    let internal_id = |order_id: &'static str| {
        let backend = engine.backend.clone();
        let app_id = app_id.clone();
        async move {
            backend
                .withdrawal_by_merchant_order_id(&app_id, order_id)
                .await
                .unwrap()
                .unwrap()
                .order_id
        }
    };
    withdrawals
        .reject(&internal_id("pay-a").await, engine.now_ms())
        .await
        .unwrap();
    assert_eq!(
        client.batch_withdrawal("b-9").await.unwrap().status,
        "Reviewing"
    );
    withdrawals
        .approve(&internal_id("pay-b").await)
        .await
        .unwrap();
    assert_eq!(
        client.batch_withdrawal("b-9").await.unwrap().status,
        "Processing"
    );
    engine.settle(engine.now_ms()).await.unwrap();
    engine.mine("ETH", 12).await.unwrap();
    engine.settle(engine.now_ms()).await.unwrap();
    let done = client.batch_withdrawal("b-9").await.unwrap();
    assert_eq!(done.status, "Completed");
    assert_eq!((done.stats.succeeded, done.stats.failed), (1, 1));
    let tasks = client
        .batch_withdrawal_tasks("b-9", None, None)
        .await
        .unwrap();
    assert_eq!(tasks.records[0].status, "Rejected");
    assert!(!tasks.records[0].reason.is_empty());
    // The rejected 10 came back; the paid 20 left.
    assert_eq!(usdt_available(&engine, &merchant).await, "30");

    // Every task rejected: the batch is Rejected.
    client
        .apply_batch_withdrawal(&batch(
            "b-10",
            &receiver.url,
            vec![task(Some(1), None, PAYEE, "5")],
        ))
        .await
        .unwrap();
    client.confirm_batch_withdrawal("b-10").await.unwrap();
    withdrawals
        .reject(&internal_id("b-10-1").await, engine.now_ms())
        .await
        .unwrap();
    assert_eq!(
        client.batch_withdrawal("b-10").await.unwrap().status,
        "Rejected"
    );
    assert_eq!(usdt_available(&engine, &merchant).await, "30");
}

/// A task's withdrawal id held by another request — an ordinary
/// withdrawal, or another batch's task — is never taken for the task's own
/// (decisions §29): the task fails with 11011's reason and nothing is paid
/// for it, even when every parameter is the same.
#[tokio::test]
async fn a_task_never_takes_another_requests_withdrawal_for_its_own() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "Success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    fund(&engine, &merchant, "100").await;
    let client = v2(&engine, &merchant);
    let ordinary = client
        .withdraw_to_network(&NetworkWithdrawal {
            order_id: "b-5-1".to_owned(),
            coin_id: USDT_NUMBER,
            chain: "ETH".to_owned(),
            address: PAYEE.to_owned(),
            amount: "10".to_owned(),
            ..NetworkWithdrawal::default()
        })
        .await
        .unwrap();
    assert_eq!(usdt_available(&engine, &merchant).await, "90");
    client
        .apply_batch_withdrawal(&batch(
            "b-5",
            &receiver.url,
            vec![
                task(Some(1), None, PAYEE, "10"),
                task(None, Some("pay-x"), PAYEE, "7"),
            ],
        ))
        .await
        .unwrap();
    client
        .apply_batch_withdrawal(&batch(
            "b-6",
            &receiver.url,
            vec![task(None, Some("pay-x"), PAYEE, "7")],
        ))
        .await
        .unwrap();
    let five = client.confirm_batch_withdrawal("b-5").await.unwrap();
    assert_eq!((five.stats.processing, five.stats.failed), (1, 1));
    let six = client.confirm_batch_withdrawal("b-6").await.unwrap();
    assert_eq!((six.stats.processing, six.stats.failed), (0, 1));
    let five = client
        .batch_withdrawal_tasks("b-5", None, None)
        .await
        .unwrap();
    let six = client
        .batch_withdrawal_tasks("b-6", None, None)
        .await
        .unwrap();
    for refused in [&five.records[0], &six.records[0]] {
        assert_eq!(refused.status, "Failed", "{refused:?}");
        assert_eq!(refused.record_id, "", "{refused:?}");
        assert!(
            refused.reason.contains("different parameters"),
            "{refused:?}"
        );
    }
    assert_ne!(five.records[0].record_id, ordinary);
    assert_eq!(five.records[1].status, "Processing");
    // The ordinary 10 and b-5's 7, nothing for the refused tasks.
    assert_eq!(usdt_available(&engine, &merchant).await, "83");
}

/// A confirm that stopped after its task's withdrawal committed, before
/// recording it (its process gone), leaves the task claimed: the next
/// confirm waits for the claim's lease, then finds the task's own
/// withdrawal by the task's link and pays nothing twice.
#[tokio::test]
async fn a_task_left_half_done_is_resumed_after_its_claim_lapses() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "Success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    let app_id = MerchantId::new(merchant.app_id.as_str());
    fund(&engine, &merchant, "100").await;
    let client = v2(&engine, &merchant);
    client
        .apply_batch_withdrawal(&batch(
            "b-7",
            &receiver.url,
            vec![task(Some(1), None, PAYEE, "10")],
        ))
        .await
        .unwrap();
    let now_ms = engine.now_ms();
    let now = now_ms / 1000;
    // What the stopped confirm did: confirmed, claimed, withdrew.
    engine
        .backend
        .confirm_batch_withdrawal(&app_id, "b-7", now, now)
        .await
        .unwrap();
    assert!(
        engine
            .backend
            .claim_batch_task(&app_id, "b-7", 1, "gone", now, now + CLAIM_LEASE_SECS)
            .await
            .unwrap()
    );
    let registry = &engine.state.registry;
    let coin = registry.coin(&CoinId::new(USDT)).unwrap();
    let token = coin
        .tokens
        .iter()
        .find(|t| t.chain.as_str() == "ETH")
        .unwrap();
    let half_done = engine
        .state
        .withdrawals
        .request(
            &app_id,
            &WithdrawalRequest {
                asset: Asset::Network(coin, token),
                destination: Destination::ChainAddress(PAYEE.to_owned()),
                value: "10".to_owned(),
                merchant_order_id: "b-7-1".to_owned(),
                memo: None,
                merchant_pays_fee: false,
                dialect: WebhookDialect::V2,
                notify_url: Some(receiver.url.clone()),
                fee_quote_id: None,
                batch_task: Some(task_link("b-7", 1)),
            },
            now_ms,
        )
        .await
        .unwrap()
        .withdrawal;
    // Within the lease the task is someone's: a confirm leaves it be.
    let held = client.confirm_batch_withdrawal("b-7").await.unwrap();
    assert_eq!(
        (held.status.as_str(), held.stats.exec_seq),
        ("Processing", 0)
    );
    // After it, the next pass finds the withdrawal and records it.
    let later = now_ms + (CLAIM_LEASE_SECS + 1) * 1000;
    engine.tick(later).await.unwrap();
    let tasks = client
        .batch_withdrawal_tasks("b-7", None, None)
        .await
        .unwrap();
    assert_eq!(tasks.records[0].record_id, half_done.record_id);
    assert_eq!(usdt_available(&engine, &merchant).await, "90");
}

/// Two `confirmBatchWithdraw`s racing while the balance grows (decisions
/// §29): each task is claimed by one of them in the database, so a task
/// recorded `Failed` never has a withdrawal, and what left the balance is
/// exactly the tasks that say they were paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_confirms_while_the_balance_grows_record_each_task_as_it_went() {
    const TASKS: u64 = 40;
    let engine = engine().await;
    let receiver = Receiver::start(200, "Success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    let app_id = MerchantId::new(merchant.app_id.as_str());
    let client = v2(&engine, &merchant);
    let tasks = (1..=TASKS)
        .map(|seq| task(Some(seq), None, PAYEE, "10"))
        .collect();
    client
        .apply_batch_withdrawal(&batch("race", &receiver.url, tasks))
        .await
        .unwrap();
    // The funds of every task arrive one task's worth at a time, while two
    // confirms walk the tasks.
    let funding = async {
        for _ in 0..TASKS {
            fund(&engine, &merchant, "10").await;
            // Spread over the confirms' walk (no assertion reads the time).
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    let (first, second, ()) = tokio::join!(
        client.confirm_batch_withdrawal("race"),
        client.confirm_batch_withdrawal("race"),
        funding
    );
    first.unwrap();
    second.unwrap();
    let listed = client
        .batch_withdrawal_tasks("race", None, Some(100))
        .await
        .unwrap();
    assert_eq!(listed.records.len() as u64, TASKS);
    let mut paid = 0u64;
    for task in &listed.records {
        let withdrawal = engine
            .backend
            .withdrawal_by_merchant_order_id(&app_id, &task.order_id)
            .await
            .unwrap();
        match task.status.as_str() {
            "Failed" => assert!(
                withdrawal.is_none(),
                "task {} is Failed ({}), yet its withdrawal exists: {withdrawal:?}",
                task.seq,
                task.reason
            ),
            "Processing" => {
                let withdrawal = withdrawal.unwrap();
                assert_eq!(withdrawal.record_id, task.record_id);
                paid += 1;
            }
            other => panic!("task {} is {other}", task.seq),
        }
    }
    assert_eq!(
        usdt_available(&engine, &merchant).await,
        (10 * (TASKS - paid)).to_string()
    );
    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// `appendBatchWithdraw` before confirmation, `delaySeconds` on the
/// business clock (the batch `Pending` until then, executed by the loop),
/// and `abortBatchWithdraw`: what was not sent is canceled — a task not
/// executed, a withdrawal waiting for approval (its reservation back) —
/// and what was sent goes on (decisions §29).
#[tokio::test]
async fn a_delayed_batch_waits_takes_appends_and_aborts_what_was_not_sent() {
    let engine = engine().await;
    let receiver = Receiver::start(200, "Success").await.unwrap();
    let merchant = engine.merchant("shop").await.unwrap();
    let app_id = MerchantId::new(merchant.app_id.as_str());
    fund(&engine, &merchant, "100").await;
    let start = engine.now_ms();
    engine.tick(start).await.unwrap();
    let client = v2(&engine, &merchant);
    client
        .apply_batch_withdrawal(&batch(
            "d-1",
            &receiver.url,
            vec![task(Some(1), None, PAYEE, "10")],
        ))
        .await
        .unwrap();
    let appended = client
        .append_batch_withdrawal(
            "d-1",
            &[
                task(Some(2), None, PAYEE, "10"),
                task(Some(3), Some("pay-3"), PAYEE, "10"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            appended.appended,
            appended.total,
            appended.batch_order_id.as_str()
        ),
        (2, 3, "d-1")
    );
    assert_eq!(
        code_of(
            client
                .append_batch_withdrawal("d-1", &[task(Some(1), None, PAYEE, "1")])
                .await
                .unwrap_err()
        ),
        14027
    );
    let pending = client
        .confirm_batch_withdrawal_after("d-1", 600)
        .await
        .unwrap();
    assert_eq!(
        (
            pending.status.as_str(),
            pending.stats.processing,
            pending.amount.as_str()
        ),
        ("Pending", 3, "30")
    );
    assert_eq!(usdt_available(&engine, &merchant).await, "100");
    assert_eq!(
        code_of(
            client
                .append_batch_withdrawal("d-1", &[task(Some(4), None, PAYEE, "1")])
                .await
                .unwrap_err()
        ),
        11000
    );
    // Task 2 canceled while the batch waits; an unknown seq is refused.
    let aborted = client
        .abort_batch_withdrawal("d-1", &[2], &[])
        .await
        .unwrap();
    assert_eq!(
        (
            aborted.canceled_seqs,
            aborted.ignored_seqs,
            aborted.canceled_order_ids
        ),
        (vec![2], vec![], vec!["d-1-2".to_owned()])
    );
    assert_eq!(aborted.status, "Pending");
    assert_eq!(
        code_of(
            client
                .abort_batch_withdrawal("d-1", &[9], &[])
                .await
                .unwrap_err()
        ),
        11003
    );
    // Nothing before the delay is over; a repeated confirm does not start it.
    engine.settle(start + 599_000).await.unwrap();
    client.confirm_batch_withdrawal("d-1").await.unwrap();
    assert_eq!(usdt_available(&engine, &merchant).await, "100");
    engine.settle(start + 600_000).await.unwrap();
    let started = client.batch_withdrawal("d-1").await.unwrap();
    assert_eq!(started.status, "Processing");
    assert_eq!((started.stats.canceled, started.stats.processing), (1, 2));
    assert_eq!(usdt_available(&engine, &merchant).await, "80");
    // Sent: nothing of them to cancel; the whole batch names task 2 again,
    // canceled before.
    assert_eq!(
        code_of(
            client
                .abort_batch_withdrawal("d-1", &[1, 3], &[])
                .await
                .unwrap_err()
        ),
        14028
    );
    let whole = client
        .abort_batch_withdrawal("d-1", &[], &[])
        .await
        .unwrap();
    assert_eq!(
        (whole.canceled_seqs, whole.ignored_seqs),
        (vec![2], vec![1, 3])
    );
    let tasks = client
        .batch_withdrawal_tasks("d-1", None, None)
        .await
        .unwrap();
    let statuses: Vec<&str> = tasks.records.iter().map(|t| t.status.as_str()).collect();
    assert_eq!(statuses, ["Processing", "Canceled", "Processing"]);

    // Under approval: a waiting task is canceled, its reservation back.
    engine
        .backend
        .set_withdrawal_approval_required(&app_id, true)
        .await
        .unwrap();
    client
        .apply_batch_withdrawal(&batch(
            "d-2",
            &receiver.url,
            vec![task(None, Some("wait-1"), PAYEE, "10")],
        ))
        .await
        .unwrap();
    let reviewing = client.confirm_batch_withdrawal("d-2").await.unwrap();
    assert_eq!(reviewing.status, "Reviewing");
    assert_eq!(usdt_available(&engine, &merchant).await, "70");
    let aborted = client
        .abort_batch_withdrawal("d-2", &[], &["wait-1"])
        .await
        .unwrap();
    assert_eq!(aborted.canceled_order_ids, ["wait-1"]);
    assert_eq!(usdt_available(&engine, &merchant).await, "80");
    let done = client.batch_withdrawal("d-2").await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.stats.canceled),
        ("Completed", 1)
    );
    // Aborting again reports it canceled, and changes nothing.
    assert_eq!(
        client
            .abort_batch_withdrawal("d-2", &[], &[])
            .await
            .unwrap()
            .canceled_order_ids,
        ["wait-1"]
    );
    let audit = verify_ledger(&engine.backend).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// `checkWithdrawAddress`: each address's refusal codes, none for a valid
/// one; an unknown chain refuses the request.
#[tokio::test]
async fn addresses_are_checked_one_by_one() {
    let engine = engine().await;
    let merchant = engine.merchant("shop").await.unwrap();
    let client = v2(&engine, &merchant);
    let checked = client
        .check_withdraw_addresses("ETH", &[(1, PAYEE, None), (7, "0x123", Some("m"))])
        .await
        .unwrap();
    let results: Vec<(u64, Vec<u32>)> = checked
        .address_info_results
        .into_iter()
        .map(|result| (result.seq, result.codes))
        .collect();
    assert_eq!(results, [(1, vec![]), (7, vec![14007])]);
    assert_eq!(
        code_of(
            client
                .check_withdraw_addresses("NOPE", &[(1, PAYEE, None)])
                .await
                .unwrap_err()
        ),
        13001
    );
}
