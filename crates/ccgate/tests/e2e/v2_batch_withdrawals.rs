//! v2 batch withdrawals through the real binary with the Rust `V2Client`
//! (v2 spec §2.6, docs/decisions.md §26): a batch of four tasks on the
//! devnet, one with an invalid address and one the balance cannot cover,
//! each failing alone; the others paid on chain, notified in v2 at the
//! batch's notifyUrl, their records agreeing with the balance; repeats of
//! the request and of the confirmation move nothing more.

use ccgate_client::v2::{
    BatchWithdrawal, BatchWithdrawalTask, DepositAddressRequest, V2Client, WithdrawRecordQuery,
};
use ccgate_client::{ClientError, V2Webhook};
use ccgate_ledger::{Amount, Precision};

use crate::sandbox::{clock, verified_v2};
use crate::support::pay;
use crate::support::{Gateway, HttpStub};

const USDT: u64 = 1280;
const PAYEE_EVM: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
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
        remark: "payroll".to_owned(),
    }
}

/// Exact decimals (18 places covers every amount here).
fn units(text: &str) -> Amount {
    Amount::parse_decimal(text, Precision::new(18).unwrap()).unwrap()
}

#[test]
fn a_batch_pays_on_the_devnet_task_by_task_and_is_repeated_safely() {
    let merchant_url = HttpStub::start(200, "Success");
    let notified = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.set_webhook(&merchant, &merchant_url.url);
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    runtime().block_on(async {
        let funding = client
            .deposit_address(&DepositAddressRequest {
                reference_id: "batch-funds".into(),
                chain: "ETH".into(),
                notify_url: None,
            })
            .await
            .unwrap();
        pay(&gateway, &funding.address, "100");
        clock(&gateway, &["advance", "4m"]);
        assert_eq!(merchant_url.wait_for_requests(1).len(), 1);
        let funded = units(&client.asset(USDT).await.unwrap().asset.available);
        let fee = client.withdraw_fee(USDT, "ETH").await.unwrap().fee.amount;

        let request = BatchWithdrawal {
            batch_order_id: "v2b-1".into(),
            coin_id: USDT,
            chain: "ETH".into(),
            task_name: "December payroll".into(),
            mode: "Single".into(),
            orders: vec![
                task(Some(1), None, PAYEE_EVM, "10"),
                task(Some(2), None, "0xnot-an-address", "10"),
                task(None, Some("v2b-pay-3"), PAYEE_EVM, "12.5"),
                task(Some(4), None, PAYEE_EVM, "1000"),
            ],
            notify_url: Some(format!("{}?batch=v2b-1", notified.url)),
        };
        let applied = client.apply_batch_withdrawal(&request).await.unwrap();
        // A lost answer is asked again: the same batch, nothing stored twice.
        assert_eq!(
            client.apply_batch_withdrawal(&request).await.unwrap(),
            applied
        );
        let changed = BatchWithdrawal {
            chain: "BSC".into(),
            ..request.clone()
        };
        match client.apply_batch_withdrawal(&changed).await {
            Err(ClientError::Api { code, .. }) => assert_eq!(code, 11011),
            other => panic!("{other:?}"),
        }
        let stored = client.batch_withdrawal("v2b-1").await.unwrap();
        assert_eq!(stored.status, "Init");
        assert_eq!(stored.bill_id, applied.bill_id);
        assert_eq!((stored.coin.coin_id, stored.stats.total), (USDT, 4));

        let confirmed = client.confirm_batch_withdrawal("v2b-1").await.unwrap();
        assert_eq!(confirmed.status, "Processing");
        assert_eq!((confirmed.stats.failed, confirmed.stats.processing), (2, 2));
        // Reserved: the two accepted tasks, fees out of their amounts.
        let reserved = units("22.5");
        let after = units(&client.asset(USDT).await.unwrap().asset.available);
        assert_eq!(after.checked_add(reserved), Some(funded));
        // Confirming again (a retry) executes nothing twice.
        let again = client.confirm_batch_withdrawal("v2b-1").await.unwrap();
        assert_eq!(again.stats, confirmed.stats);
        assert_eq!(
            units(&client.asset(USDT).await.unwrap().asset.available),
            after
        );

        // On chain, confirmed, notified: one ApiWithdrawal per paid task.
        clock(&gateway, &["advance", "4m"]);
        let hooks = notified.wait_for_requests(2);
        let mut paid: Vec<(String, String)> = hooks
            .iter()
            .map(|hook| {
                assert_eq!(hook.target, "/hook?batch=v2b-1");
                match verified_v2(&merchant, hook) {
                    V2Webhook::ApiWithdrawal(msg) => (msg.order_id, msg.status),
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        paid.sort();
        assert_eq!(
            paid,
            [
                ("v2b-1-1".to_owned(), "Success".to_owned()),
                ("v2b-pay-3".to_owned(), "Success".to_owned()),
            ]
        );

        let done = client.batch_withdrawal("v2b-1").await.unwrap();
        assert_eq!(done.status, "Completed");
        assert_eq!(
            (
                done.stats.succeeded,
                done.stats.failed,
                done.stats.processing
            ),
            (2, 2, 0)
        );
        assert_eq!(done.amount, "1032.5");
        let fee = units(&fee);
        assert_eq!(units(&done.network_fee), fee.checked_add(fee).unwrap());
        let tasks = client
            .batch_withdrawal_tasks("v2b-1", None, None)
            .await
            .unwrap();
        let statuses: Vec<(&str, &str)> = tasks
            .records
            .iter()
            .map(|t| (t.order_id.as_str(), t.status.as_str()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("v2b-1-1", "Success"),
                ("v2b-1-2", "Failed"),
                ("v2b-pay-3", "Success"),
                ("v2b-1-4", "Failed"),
            ]
        );
        assert!(
            tasks.records[3].reason.contains("balance"),
            "{:?}",
            tasks.records[3]
        );
        // Each paid task is a withdrawal of its own, with its txid.
        for task in [&tasks.records[0], &tasks.records[2]] {
            let record = client.withdraw_record(&task.record_id).await.unwrap();
            assert_eq!(record.order_id, task.order_id);
            assert_eq!(record.status, "Success");
            assert!(task.tx_id.starts_with("0x"), "{task:?}");
            assert_eq!(record.tx_id, task.tx_id);
            assert_eq!(record.fee.amount, task.network_fee);
        }
        // The withdrawal list holds exactly the two, and the balance is
        // what was funded less what they debited.
        let listed = client
            .withdraw_records(&WithdrawRecordQuery::default())
            .await
            .unwrap();
        let debited = listed
            .records
            .iter()
            .map(|record| units(&record.amount))
            .fold(Amount::ZERO, |sum, amount| sum.checked_add(amount).unwrap());
        assert_eq!(listed.records.len(), 2);
        assert_eq!(
            units(&client.asset(USDT).await.unwrap().asset.available).checked_add(debited),
            Some(funded)
        );
    });
    assert!(gateway.cli_ok(&["ledger", "verify"]).contains("all equal"));
}

#[test]
fn under_approval_the_operator_decides_a_whole_batch_from_the_cli() {
    let notified = HttpStub::start(200, "Success");
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "100", &[]);
    gateway.cli_ok(&[
        "merchant",
        "set-withdrawal-approval",
        "--app-id",
        &merchant.app_id,
        "--required",
        "true",
    ]);
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    let decide = |command: &str, batch_order_id: &str| {
        gateway.cli(&[
            "withdrawal",
            command,
            "--app-id",
            &merchant.app_id,
            "--batch-order-id",
            batch_order_id,
            "--json",
        ])
    };
    runtime().block_on(async {
        let batch = |id: &str, tasks: Vec<BatchWithdrawalTask>| BatchWithdrawal {
            batch_order_id: id.to_owned(),
            coin_id: USDT,
            chain: "ETH".into(),
            task_name: String::new(),
            mode: "Batch".into(),
            orders: tasks,
            notify_url: Some(notified.url.clone()),
        };
        client
            .apply_batch_withdrawal(&batch(
                "v2b-ok",
                vec![
                    task(Some(1), None, PAYEE_EVM, "10"),
                    task(Some(2), None, PAYEE_EVM, "20"),
                ],
            ))
            .await
            .unwrap();
        client
            .apply_batch_withdrawal(&batch(
                "v2b-no",
                vec![task(None, Some("v2b-no-a"), PAYEE_EVM, "5")],
            ))
            .await
            .unwrap();
        for id in ["v2b-ok", "v2b-no"] {
            let reviewing = client.confirm_batch_withdrawal(id).await.unwrap();
            assert_eq!(reviewing.status, "Reviewing");
        }
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "65");

        let approved = decide("approve-batch", "v2b-ok");
        assert!(approved.status.success(), "{approved:?}");
        assert_eq!(String::from_utf8_lossy(&approved.stdout).lines().count(), 2);
        let rejected = decide("reject-batch", "v2b-no");
        assert!(rejected.status.success(), "{rejected:?}");
        // Nothing is left waiting: a second answer is refused.
        assert!(!decide("approve-batch", "v2b-no").status.success());
        assert_eq!(
            client.batch_withdrawal("v2b-no").await.unwrap().status,
            "Rejected"
        );
        // The CLI wrote in another process: the server's balance cache
        // catches up within its time to live.
        let mut available = String::new();
        for _ in 0..100 {
            available = client.asset(USDT).await.unwrap().asset.available;
            if available == "70" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(available, "70");

        clock(&gateway, &["advance", "4m"]);
        let done = client.batch_withdrawal("v2b-ok").await.unwrap();
        assert_eq!(done.status, "Completed");
        assert_eq!(done.stats.succeeded, 2);
        // WaitingApproval for each task, Rejected for one, Success for two.
        let mut seen: Vec<(String, String)> = notified
            .wait_for_requests(6)
            .iter()
            .map(|hook| match verified_v2(&merchant, hook) {
                V2Webhook::ApiWithdrawal(msg) => (msg.order_id, msg.status),
                other => panic!("{other:?}"),
            })
            .collect();
        seen.sort();
        let expected: Vec<(String, String)> = [
            ("v2b-no-a", "Rejected"),
            ("v2b-no-a", "WaitingApproval"),
            ("v2b-ok-1", "Success"),
            ("v2b-ok-1", "WaitingApproval"),
            ("v2b-ok-2", "Success"),
            ("v2b-ok-2", "WaitingApproval"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        assert_eq!(seen, expected);
    });
}

/// The routes decisions §29 added, through the binary: addresses checked,
/// tasks appended, a confirmation with `delaySeconds` that the sandbox's
/// virtual clock carries past (the batch `Pending` until then), and one task
/// aborted before it was sent; the others paid on the devnet.
#[test]
fn a_delayed_batch_starts_on_the_virtual_clock_without_its_aborted_task() {
    let gateway = Gateway::start(&["--sandbox"]);
    let merchant = gateway.demo.clone().unwrap();
    gateway.adjust(&merchant, "USDT", "100", &[]);
    let base = format!("http://{}", gateway.address());
    let client = V2Client::new(base, &merchant.app_id, &merchant.app_secret).unwrap();
    runtime().block_on(async {
        let checked = client
            .check_withdraw_addresses("ETH", &[(1, PAYEE_EVM, None), (2, "0xnope", None)])
            .await
            .unwrap();
        let codes: Vec<Vec<u32>> = checked
            .address_info_results
            .into_iter()
            .map(|result| result.codes)
            .collect();
        assert_eq!(codes, [vec![], vec![14007]]);
        client
            .apply_batch_withdrawal(&BatchWithdrawal {
                batch_order_id: "v2b-later".into(),
                coin_id: USDT,
                chain: "ETH".into(),
                task_name: String::new(),
                mode: "Single".into(),
                orders: vec![task(Some(1), None, PAYEE_EVM, "10")],
                notify_url: None,
            })
            .await
            .unwrap();
        let appended = client
            .append_batch_withdrawal(
                "v2b-later",
                &[
                    task(Some(2), None, PAYEE_EVM, "20"),
                    task(Some(3), None, PAYEE_EVM, "30"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(appended.total, 3);
        let pending = client
            .confirm_batch_withdrawal_after("v2b-later", 300)
            .await
            .unwrap();
        assert_eq!(pending.status, "Pending");
        let aborted = client
            .abort_batch_withdrawal("v2b-later", &[], &["v2b-later-2"])
            .await
            .unwrap();
        assert_eq!(aborted.canceled_seqs, [2]);
        clock(&gateway, &["advance", "4m"]);
        assert_eq!(
            client.batch_withdrawal("v2b-later").await.unwrap().status,
            "Pending"
        );
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "100");
        // Past the delay, then the chain's confirmations.
        clock(&gateway, &["advance", "2m"]);
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "60");
        clock(&gateway, &["advance", "4m"]);
        let done = client.batch_withdrawal("v2b-later").await.unwrap();
        assert_eq!(done.status, "Completed", "{done:?}");
        assert_eq!(
            (done.stats.succeeded, done.stats.canceled, done.stats.failed),
            (2, 1, 0)
        );
        assert_eq!(client.asset(USDT).await.unwrap().asset.available, "60");
    });
}
