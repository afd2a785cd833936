//! One behavioural suite for every backend of the store traits. Each check
//! takes a fresh store; the SQLite runners give it a real database file, the PostgreSQL
//! runners a fresh schema in the test database (`CCGATE_TEST_DATABASE_URL`,
//! else `postgres://postgres@127.0.0.1:5432/test`). Without a reachable
//! server the PostgreSQL runners skip, except in CI, where they fail.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ccgate_ledger::{
    Account, Amount, ChainCode, CoinId, Direction, JournalEntry, LedgerError, MerchantId, Posting,
    TokenId,
};
use ccgate_store::{
    AddressStore, Appended, AuditEntry, BatchScope, BatchTask, BatchWithdrawal,
    BatchWithdrawalStore, BlockLink, CachingStore, ChainTransfer, Checkout, ConfirmingPayment,
    ConsoleRole, ConsoleSession, ConsoleStore, CreditStore, CwalletAccount, DailyUsage,
    DashboardStore, DepositAddress, DepositCredit, DepositRecordFilter, DepositRecords, Derivation,
    DerivationError, DevnetReorg, DevnetStore, EntryMeta, ListingFilter, Listings, MasterKey,
    MerchantSettings, MerchantSettingsStore, MerchantStatus, NewDeposit, NewWebhook, Order,
    OrderIdHolder, OrderPayment, OrderSearch, OrderStore, OutboxStore, OutboxWebhook, PayoutInsert,
    PayoutStore, PgStore, ReconcileStore, Recorded, ReorgIncident, ReorgStore, ResendFilter,
    RollBack, SandboxStore, SecretStore, SeenTransfer, SignedPayout, SignedSweep, SnapshotStore,
    SqliteStore, Store, StoreError, StoredClock, Swap, SwapOwner, SwapPolicy, SwapPricing,
    SwapQuery, SwapQuote, SwapStore, SweepInsert, SweepSettlement, SweepStore, TakenFault,
    TaskOutcome, TransferFilter, TransferKey, UserBatchTransfer, UserChange, UserTransfer,
    WalletStore, WebhookAttempt, WebhookClaim, WebhookCounts, WebhookFaults, WebhookNext,
    Withdrawal, WithdrawalPreflight, WithdrawalStatus, WithdrawalStore, generate_app_id,
    generate_app_secret, verify_ledger,
};
use secrecy::{ExposeSecret, SecretSlice};
use sqlx::Connection;

const NOW: i64 = 1_700_000_000;

fn usdt() -> CoinId {
    CoinId::new("8e5741cf-6e51-4892-9d04-3d40e1dd0128")
}

fn meta(reason: &str) -> EntryMeta {
    EntryMeta {
        kind: "adjustment",
        reason: reason.to_owned(),
        created_at: NOW,
    }
}

fn credit(merchant: &MerchantId, units: u128) -> JournalEntry {
    JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::MerchantAvailable(merchant.clone()),
        usdt(),
        Amount::from_base_units(units),
    )
    .unwrap()
}

fn debit(merchant: &MerchantId, units: u128) -> JournalEntry {
    JournalEntry::transfer(
        Account::MerchantAvailable(merchant.clone()),
        Account::OperatorAdjustments,
        usdt(),
        Amount::from_base_units(units),
    )
    .unwrap()
}

async fn new_merchant(store: &dyn Store) -> MerchantId {
    let app_id = MerchantId::new(generate_app_id(NOW));
    store
        .create_merchant(
            &app_id,
            &generate_app_secret(),
            &format!("shop {app_id}"),
            NOW,
            None,
        )
        .await
        .unwrap();
    app_id
}

async fn available(store: &dyn Store, merchant: &MerchantId) -> u128 {
    store
        .merchant_balances(merchant)
        .await
        .unwrap()
        .iter()
        .find(|b| b.coin == usdt())
        .map(|b| b.balance.available().unwrap().base_units())
        .unwrap_or(0)
}

async fn merchants_lifecycle(store: &dyn Store) {
    let app_id = MerchantId::new(generate_app_id(NOW));
    let secret = generate_app_secret();
    store
        .create_merchant(&app_id, &secret, "shop", NOW, None)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_merchant(&app_id, &secret, "again", NOW, None)
            .await,
        Err(StoreError::MerchantExists(_))
    ));
    // Names are unique: another Appid with a taken name is refused, and
    // nothing is written.
    let namesake = MerchantId::new(generate_app_id(NOW));
    match store
        .create_merchant(&namesake, &secret, "shop", NOW, None)
        .await
    {
        Err(StoreError::MerchantNameTaken(name)) => assert_eq!(name, "shop"),
        other => panic!("a taken name must be refused, got {other:?}"),
    }
    assert!(
        store
            .merchant_credentials(namesake.as_str())
            .await
            .unwrap()
            .is_none()
    );
    let creds = store
        .merchant_credentials(app_id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.app_secret.expose_secret(), secret.expose_secret());
    assert_eq!(creds.status, MerchantStatus::Active);
    assert!(!format!("{creds:?}").contains(secret.expose_secret()));

    let rotated = generate_app_secret();
    store
        .replace_secret(&app_id, &rotated, NOW + 1, None)
        .await
        .unwrap();
    let creds = store
        .merchant_credentials(app_id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.app_secret.expose_secret(), rotated.expose_secret());

    store
        .set_merchant_status(&app_id, MerchantStatus::Disabled, NOW + 2, None)
        .await
        .unwrap();
    let listed = store.list_merchants().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, MerchantStatus::Disabled);
    assert_eq!(
        store.merchant(&app_id).await.unwrap().as_ref(),
        listed.first()
    );
    assert!(
        store
            .merchant(&MerchantId::new("nope"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.merchant_credentials("nope").await.unwrap().is_none());
    let ghost = MerchantId::new("ghost");
    assert!(matches!(
        store.replace_secret(&ghost, &rotated, NOW, None).await,
        Err(StoreError::MerchantNotFound(_))
    ));
}

async fn refused_entry_writes_nothing(store: &dyn Store) {
    let merchant = new_merchant(store).await;
    store
        .post_entry(&credit(&merchant, 500), &meta("seed"))
        .await
        .unwrap();
    let err = store
        .post_entry(&debit(&merchant, 501), &meta("too much"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Ledger(LedgerError::InsufficientBalance { .. })
        ),
        "{err:?}"
    );
    assert_eq!(available(store, &merchant).await, 500);
    assert_eq!(store.journal().await.unwrap().len(), 1);
    store
        .post_entry(&debit(&merchant, 500), &meta("all of it"))
        .await
        .unwrap();
    assert_eq!(available(store, &merchant).await, 0);
    let audit = verify_ledger(store).await.unwrap();
    assert_eq!(audit.entries, 2);
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

async fn huge_amounts_are_exact(store: &dyn Store) {
    let merchant = new_merchant(store).await;
    let big = u128::MAX / 2;
    store
        .post_entry(&credit(&merchant, big), &meta("big"))
        .await
        .unwrap();
    store
        .post_entry(&credit(&merchant, big), &meta("big"))
        .await
        .unwrap();
    assert_eq!(available(store, &merchant).await, big * 2);
    let err = store
        .post_entry(&credit(&merchant, 2), &meta("overflow"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Ledger(_)), "{err:?}");
    assert_eq!(available(store, &merchant).await, big * 2);
}

/// Writers racing on one merchant (as `serve` and the CLI do) lose no update
/// and never overdraw.
async fn concurrent_writers(stores: Vec<Arc<dyn Store>>) {
    let merchant = new_merchant(stores[0].as_ref()).await;
    stores[0]
        .post_entry(&credit(&merchant, 100), &meta("seed"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().cycle().take(40).enumerate() {
        let store = Arc::clone(store);
        let merchant = merchant.clone();
        tasks.push(tokio::spawn(async move {
            let entry = if i % 2 == 0 {
                credit(&merchant, 3)
            } else {
                debit(&merchant, 7)
            };
            store.post_entry(&entry, &meta("race")).await
        }));
    }
    let mut credits = 0u128;
    let mut debits = 0u128;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(_) if i % 2 == 0 => credits += 3,
            Ok(_) => debits += 7,
            Err(StoreError::Ledger(LedgerError::InsufficientBalance { .. })) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        available(stores[0].as_ref(), &merchant).await,
        100 + credits - debits
    );
    let audit = verify_ledger(stores[0].as_ref()).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// Two creditors (two pools: two processes or instances) commit the same
/// block of deposits at once, as two watchers can: each transfer is credited
/// exactly once, with one entry and one webhook, and the books balance.
async fn racing_group_commits_credit_each_transfer_once<S>(stores: Vec<Arc<S>>)
where
    S: Store + CreditStore + OutboxStore,
{
    const TRANSFERS: usize = 300;
    let merchant = new_merchant(stores[0].as_ref()).await;
    let block: Vec<DepositCredit> = (0..TRANSFERS)
        .map(|i| {
            let units = 1_000 + u128::try_from(i).unwrap();
            let record_id = format!("record-{i}");
            DepositCredit {
                deposit: NewDeposit {
                    record_id: record_id.clone(),
                    transfer: ChainTransfer {
                        chain: "ETH".into(),
                        txid: format!("0x{i:064x}"),
                        log_index: 0,
                        block_height: 9,
                        block_time_ms: NOW_MS,
                        from_address: "0xfrom".into(),
                        to_address: "0xto".into(),
                        memo: String::new(),
                        token_id: TokenId::new("usdt-eth"),
                        amount: Amount::from_base_units(units),
                    },
                    app_id: merchant.clone(),
                    user_id: Some("user-1".into()),
                    order_id: None,
                    coin_id: usdt(),
                    service_fee: Amount::from_base_units(0),
                    credit_amount: Amount::from_base_units(units),
                    credited_at: NOW,
                },
                entry: JournalEntry::transfer(
                    custody(),
                    Account::MerchantAvailable(merchant.clone()),
                    usdt(),
                    Amount::from_base_units(units),
                )
                .unwrap(),
                meta: meta("deposit"),
                webhook: webhook(&merchant, &record_id, "DirectDeposit"),
            }
        })
        .collect();
    let block = Arc::new(block);
    let mut tasks = Vec::new();
    for store in stores.iter().cycle().take(4) {
        let store = Arc::clone(store);
        let block = Arc::clone(&block);
        tasks.push(tokio::spawn(async move {
            store.credit_deposits("ETH", Some(9), &block).await
        }));
    }
    let mut applied = vec![0u32; TRANSFERS];
    for task in tasks {
        for (count, now) in applied.iter_mut().zip(task.await.unwrap().unwrap()) {
            *count += u32::from(now);
        }
    }
    assert!(applied.iter().all(|&count| count == 1), "{applied:?}");
    let store = stores[0].as_ref();
    // In the block's order, each entry under its own id (the statements are
    // multi-row on SQLite, a hundred rows each: this crosses their seams).
    let journal = store.journal().await.unwrap();
    let entries: Vec<&JournalEntry> = block.iter().map(|credit| &credit.entry).collect();
    assert_eq!(journal.iter().collect::<Vec<_>>(), entries);
    let expected: u128 = (0..TRANSFERS)
        .map(|i| 1_000 + u128::try_from(i).unwrap())
        .sum();
    assert_eq!(available(store, &merchant).await, expected);
    assert_eq!(
        store.webhook_counts().await.unwrap().pending,
        u64::try_from(TRANSFERS).unwrap()
    );
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), Some(9));
    let audit = verify_ledger(store).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// The sandbox's state: its clock, what falls due next, and a devnet reorg
/// applied in one go.
async fn sandbox_state<S>(store: &S)
where
    S: Store + CreditStore + DevnetStore + OutboxStore + SandboxStore,
{
    assert_eq!(store.sandbox_clock().await.unwrap(), None);
    let frozen = StoredClock {
        offset_ms: 0,
        frozen_at_ms: Some(NOW_MS),
    };
    store.set_sandbox_clock(frozen).await.unwrap();
    let running = StoredClock {
        offset_ms: 90_000,
        frozen_at_ms: None,
    };
    store.set_sandbox_clock(running).await.unwrap();
    assert_eq!(store.sandbox_clock().await.unwrap(), Some(running));

    let merchant = new_merchant(store).await;
    assert_eq!(store.next_webhook_due_ms().await.unwrap(), None);
    let mut later = webhook(&merchant, "r-2", "DirectDeposit");
    later.created_at_ms = NOW_MS + 500;
    let earlier = webhook(&merchant, "r-1", "DirectDeposit");
    store
        .record_seen_transfer(&seen("0xa1", "r-1", &merchant), Some(&earlier))
        .await
        .unwrap();
    store
        .record_seen_transfer(&seen("0xa2", "r-2", &merchant), Some(&later))
        .await
        .unwrap();
    assert_eq!(store.next_webhook_due_ms().await.unwrap(), Some(NOW_MS));

    assert_eq!(
        store.devnet_last_transfer_height("ETH").await.unwrap(),
        None
    );
    for (txid, height) in [("0xa1", 5), ("0xa2", 6), ("0xa3", 6)] {
        store
            .devnet_add_transfer(&devnet_transfer(txid, height))
            .await
            .unwrap();
    }
    assert_eq!(
        store.devnet_last_transfer_height("ETH").await.unwrap(),
        Some(6)
    );
    store.set_chain_cursor("ETH", 5).await.unwrap();
    store.set_seen_cursor("ETH", 6).await.unwrap();
    let key = |txid: &str| TransferKey {
        txid: txid.to_owned(),
        log_index: 0,
    };
    assert_eq!(
        store.credited_record_id("ETH", &key("0xa1")).await.unwrap(),
        None
    );

    let incident = ReorgIncident {
        chain: "ETH".into(),
        txid: "0xa1".into(),
        log_index: 0,
        record_id: "r-1".into(),
        what: "credited, then dropped".into(),
        at_ms: NOW_MS,
    };
    let mut failed = webhook(&merchant, "r-2", "DirectDeposit");
    failed.payload = "{\"pay_status\":\"failed\"}".into();
    store
        .apply_devnet_reorg(&DevnetReorg {
            chain: "ETH".into(),
            from_height: 5,
            dropped: vec![key("0xa2")],
            moved: vec![(key("0xa3"), 7)],
            vanished_webhooks: vec![failed],
            incidents: vec![incident.clone()],
        })
        .await
        .unwrap();
    let remaining: Vec<(String, u64)> = store
        .devnet_transfers("ETH", 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.txid, t.block_height))
        .collect();
    assert_eq!(remaining, [("0xa1".into(), 5), ("0xa3".into(), 7)]);
    assert_eq!(store.seen_record_id("ETH", "0xa2", 0).await.unwrap(), None);
    assert_eq!(
        store.seen_record_id("ETH", "0xa1", 0).await.unwrap(),
        Some("r-1".into())
    );
    // A block's lookups together: only the transfers seen, whatever else is asked.
    assert_eq!(
        store
            .seen_record_ids("ETH", &["0xa1", "0xa2", "0xnever"])
            .await
            .unwrap(),
        [("0xa1".to_owned(), 0, "r-1".to_owned())]
    );
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), Some(4));
    assert_eq!(store.seen_cursor("ETH").await.unwrap(), Some(4));
    assert_eq!(store.webhook_counts().await.unwrap().pending, 3);
    assert_eq!(store.reorg_incidents().await.unwrap(), [incident]);
}

fn seen(txid: &str, record_id: &str, merchant: &MerchantId) -> SeenTransfer {
    SeenTransfer {
        chain: "ETH".into(),
        txid: txid.into(),
        log_index: 0,
        record_id: record_id.into(),
        app_id: merchant.clone(),
        order_id: None,
        block_height: 1,
        block_time_ms: NOW_MS,
        seen_at_ms: NOW_MS,
        from_address: "0xfrom".into(),
        to_address: "0xto".into(),
        memo: String::new(),
        token_id: TokenId::new("usdt-erc20"),
        amount: Amount::from_base_units(5),
    }
}

fn devnet_transfer(txid: &str, height: u64) -> ChainTransfer {
    ChainTransfer {
        chain: "ETH".into(),
        txid: txid.into(),
        log_index: 0,
        block_height: height,
        block_time_ms: NOW_MS,
        from_address: "0xfrom".into(),
        to_address: "0xto".into(),
        memo: String::new(),
        token_id: TokenId::new("usdt-eth"),
        amount: Amount::from_base_units(1),
    }
}

async fn cwallets_and_devnet<S: Store + DevnetStore>(store: &S) {
    let account = CwalletAccount {
        c_id: "9454818".into(),
        nickname: "alvin".into(),
    };
    store.create_cwallet(&account, NOW).await.unwrap();
    assert!(matches!(
        store.create_cwallet(&account, NOW).await,
        Err(StoreError::CwalletExists(_))
    ));
    assert_eq!(store.cwallet("9454818").await.unwrap(), Some(account));
    assert_eq!(store.cwallet("1").await.unwrap(), None);

    let started = store.devnet_chain("ETH", 1_000).await.unwrap();
    assert_eq!((started.genesis_unix_ms, started.mined_blocks), (1_000, 0));
    let again = store.devnet_chain("ETH", 9_999).await.unwrap();
    assert_eq!(again, started, "the genesis is set once");
    let mined = store.devnet_mine("ETH", 5, 9_999).await.unwrap();
    assert_eq!((mined.genesis_unix_ms, mined.mined_blocks), (1_000, 5));
    let other = store.devnet_mine("BTC", 2, 7_000).await.unwrap();
    assert_eq!((other.genesis_unix_ms, other.mined_blocks), (7_000, 2));
}

fn custody() -> Account {
    Account::ChainCustody(ChainCode::new("ETH"))
}

fn posting(account: Account, direction: Direction, units: u128) -> Posting {
    Posting {
        account,
        coin: usdt(),
        direction,
        amount: Amount::from_base_units(units),
    }
}

fn move_units(from: Account, to: Account, units: u128) -> JournalEntry {
    JournalEntry::transfer(from, to, usdt(), Amount::from_base_units(units)).unwrap()
}

fn webhook(app_id: &MerchantId, record_id: &str, order_type: &'static str) -> NewWebhook {
    NewWebhook {
        dialect: ccgate_store::WebhookDialect::V1,
        app_id: app_id.clone(),
        record_id: record_id.to_owned(),
        order_type,
        url: None,
        payload: format!("{{\"record\":\"{record_id}\"}}"),
        created_at_ms: NOW_MS,
    }
}

const NOW_MS: i64 = NOW * 1000;

/// Queues `count` withdrawal webhooks of `merchant`, `{prefix}-{i}`, due
/// one millisecond apart from `NOW_MS - 100` in that order, each with the
/// seen transfer that made it.
async fn queue_webhooks<S: CreditStore>(
    store: &S,
    merchant: &MerchantId,
    prefix: &str,
    count: i64,
) {
    for i in 0..count {
        let record_id = format!("{prefix}-{i}");
        let mut webhook = webhook(merchant, &record_id, "Withdraw");
        webhook.created_at_ms = NOW_MS - 100 + i;
        store
            .record_seen_transfer(
                &seen(&format!("0x{prefix}{i}"), &record_id, merchant),
                Some(&webhook),
            )
            .await
            .unwrap();
    }
}

/// Attempt number `attempt`, answered with HTTP 200 and `success`, logged
/// as `outcome`.
fn answered_attempt(attempt: u32, outcome: &str) -> WebhookAttempt {
    WebhookAttempt {
        attempt,
        at_ms: NOW_MS,
        http_status: Some(200),
        latency_ms: 1,
        outcome: outcome.to_owned(),
        response_head: "success".to_owned(),
    }
}

/// A permanent address of `merchant`'s user-1 on ETH, made in v2.
fn permanent_address(merchant: &MerchantId) -> DepositAddress {
    DepositAddress {
        wallet_user: false,
        chain: "ETH".into(),
        address: "0xuser".into(),
        app_id: merchant.clone(),
        user_id: Some("user-1".into()),
        order_id: None,
        notify_url: Some("https://shop.example/user".into()),
        derivation_index: 0,
        // Made in v2: the dialect round-trips.
        dialect: ccgate_store::WebhookDialect::V2,
    }
}

/// `merchant`'s order `order-1` (`shop-1`) of 1 000 000 units, made in v2.
fn first_order(merchant: &MerchantId) -> Order {
    Order {
        order_id: "order-1".into(),
        app_id: merchant.clone(),
        merchant_order_id: "shop-1".into(),
        kind: "native".into(),
        fingerprint: "fp".into(),
        token_id: TokenId::new("usdt-eth"),
        coin_id: usdt(),
        chain: "ETH".into(),
        pay_address: "0xorder".into(),
        product_price: "1".into(),
        product_name: "tea".into(),
        denominated_currency: "USDT".into(),
        fiat_rate: "1".into(),
        token_rate: "1".into(),
        order_amount: Amount::from_base_units(1_000_000),
        created_at: NOW,
        expires_at: NOW + 600,
        notify_url: None,
        custom_value: Some("cv".into()),
        remark: None,
        // A v2 order: its dialect and buyer's e-mail round-trip.
        dialect: ccgate_store::WebhookDialect::V2,
        buyer_email: Some("buyer@shop.example".into()),
        invoice: false,
    }
}

/// The address `order-1` is paid to.
fn first_order_address(merchant: &MerchantId) -> DepositAddress {
    DepositAddress {
        address: "0xorder".into(),
        user_id: None,
        order_id: Some("order-1".into()),
        notify_url: None,
        // The first index of a fresh store's family.
        derivation_index: 0,
        ..permanent_address(merchant)
    }
}

/// The suite's stand-in for the deposit keys: the address at any index is
/// `spelled`.
fn spelled_as(spelled: &str) -> impl Fn(u32) -> Result<String, DerivationError> + Send + Sync {
    let spelled = spelled.to_owned();
    move |_| Ok(spelled.clone())
}

/// The suite's deposit keys for racing requests: a distinct address per index.
fn numbered(index: u32) -> Result<String, DerivationError> {
    Ok(format!("0xderived{index}"))
}

/// Stores `order` as the engine does (`create_order`), its address derived
/// as `address.address` at the index the store reserves on "evm".
async fn store_order<S: OrderStore + ?Sized>(
    store: &S,
    order: &Order,
    address: &DepositAddress,
) -> Order {
    let derive = spelled_as(&address.address);
    let derivation = Derivation {
        family: "evm",
        derive: &derive,
    };
    store
        .create_order(order, address, &derivation)
        .await
        .unwrap()
}

/// Makes `user_id`'s permanent address on ETH (family "evm") as the engine
/// does, with the suite's numbered derivation.
async fn make_permanent<S: AddressStore + ?Sized>(
    store: &S,
    merchant: &MerchantId,
    user_id: &str,
    quota: u64,
) -> Option<DepositAddress> {
    let wanted = DepositAddress {
        user_id: Some(user_id.to_owned()),
        address: String::new(),
        ..permanent_address(merchant)
    };
    let derivation = Derivation {
        family: "evm",
        derive: &numbered,
    };
    store
        .make_permanent_address(&wanted, &derivation, quota, NOW)
        .await
        .unwrap()
}

/// The payment of `order-1`: 1 000 000 units in block 5.
fn paid_transfer() -> ChainTransfer {
    ChainTransfer {
        chain: "ETH".into(),
        txid: "0x01".into(),
        log_index: 0,
        block_height: 5,
        block_time_ms: NOW_MS,
        from_address: "0xpayer".into(),
        to_address: "0xorder".into(),
        memo: String::new(),
        token_id: TokenId::new("usdt-eth"),
        amount: Amount::from_base_units(1_000_000),
    }
}

/// That payment as first seen, in block 3, before its confirmations.
fn first_seen(merchant: &MerchantId) -> SeenTransfer {
    SeenTransfer {
        chain: "ETH".into(),
        txid: "0x01".into(),
        log_index: 0,
        record_id: "record-1".into(),
        app_id: merchant.clone(),
        order_id: Some("order-1".into()),
        block_height: 3,
        block_time_ms: NOW_MS,
        seen_at_ms: NOW_MS + 1,
        from_address: "0xfrom".into(),
        to_address: "0xto".into(),
        memo: String::new(),
        token_id: TokenId::new("usdt-erc20"),
        amount: Amount::from_base_units(5),
    }
}

/// Its `processing` webhook, written in v2: the dialect travels with the row
/// to the sender.
fn processing_webhook(merchant: &MerchantId) -> NewWebhook {
    NewWebhook {
        dialect: ccgate_store::WebhookDialect::V2,
        ..webhook(merchant, "record-1", "Invoice")
    }
}

/// Its credit: 999 500 to the merchant, 500 of service fee, a v1 webhook.
fn first_credit(merchant: &MerchantId) -> DepositCredit {
    let deposit = NewDeposit {
        record_id: "record-1".into(),
        transfer: paid_transfer(),
        app_id: merchant.clone(),
        user_id: None,
        order_id: Some("order-1".into()),
        coin_id: usdt(),
        service_fee: Amount::from_base_units(500),
        credit_amount: Amount::from_base_units(999_500),
        credited_at: NOW + 10,
    };
    let deposit_entry = JournalEntry::new(vec![
        posting(custody(), Direction::Debit, 1_000_000),
        posting(
            Account::MerchantAvailable(merchant.clone()),
            Direction::Credit,
            999_500,
        ),
        posting(Account::OperatorFees, Direction::Credit, 500),
    ])
    .unwrap();
    DepositCredit {
        deposit,
        entry: deposit_entry,
        meta: meta("deposit"),
        webhook: webhook(merchant, "record-1", "Invoice"),
    }
}

/// A merchant whose order `order-1` was paid: seen first (with its v2
/// `processing` webhook), then credited (with a v1 webhook), leaving 999 500
/// available and two webhooks in the outbox.
async fn merchant_with_a_paid_order<S: Store + OrderStore + CreditStore>(store: &S) -> MerchantId {
    let merchant = new_merchant(store).await;
    store_order(
        store,
        &first_order(&merchant),
        &first_order_address(&merchant),
    )
    .await;
    assert!(
        store
            .record_seen_transfer(&first_seen(&merchant), Some(&processing_webhook(&merchant)))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .credit_deposits("ETH", Some(7), &[first_credit(&merchant)])
            .await
            .unwrap(),
        vec![true]
    );
    merchant
}

/// The first stored value of a secret wins, so concurrent first starts agree.
async fn secrets_keep_their_first_value<S>(store: &S)
where
    S: SecretStore,
{
    let seed = store
        .load_or_init_secret("deposit-seed", &SecretSlice::from(vec![7u8; 32]))
        .await
        .unwrap();
    let again = store
        .load_or_init_secret("deposit-seed", &SecretSlice::from(vec![9u8; 32]))
        .await
        .unwrap();
    assert_eq!(seed.expose_secret(), &[7u8; 32][..]);
    assert_eq!(again.expose_secret(), &[7u8; 32][..]);
}

/// A merchant's webhook settings and service fee, as set; unknown merchants refused.
async fn merchant_settings_are_kept<S>(store: &S)
where
    S: Store + MerchantSettingsStore,
{
    let merchant = new_merchant(store).await;
    let settings = store.merchant_settings(&merchant).await.unwrap().unwrap();
    assert_eq!(
        settings,
        MerchantSettings {
            webhook_url: None,
            notify_pending: false,
            service_fee_ppm: 300,
            webhook_dialect: ccgate_store::WebhookDialect::V1,
        }
    );
    store
        .set_merchant_webhook(
            &merchant,
            Some("https://shop.example/hook"),
            true,
            ccgate_store::WebhookDialect::V2,
            None,
        )
        .await
        .unwrap();
    store.set_service_fee(&merchant, 500, None).await.unwrap();
    let settings = store.merchant_settings(&merchant).await.unwrap().unwrap();
    assert_eq!(
        settings.webhook_url.as_deref(),
        Some("https://shop.example/hook")
    );
    assert!(settings.notify_pending);
    assert_eq!(settings.webhook_dialect, ccgate_store::WebhookDialect::V2);
    assert_eq!(settings.service_fee_ppm, 500);
    let ghost = MerchantId::new("ghost");
    assert!(matches!(
        store.set_service_fee(&ghost, 1, None).await,
        Err(StoreError::MerchantNotFound(_))
    ));
    assert!(store.merchant_settings(&ghost).await.unwrap().is_none());
}

/// One permanent address per (merchant, user, chain): a racing second
/// insert gets the stored one.
async fn permanent_addresses_are_one_per_user_and_chain<S>(store: &S)
where
    S: Store + AddressStore,
{
    let merchant = new_merchant(store).await;
    // Addresses: a permanent one per (merchant, user, chain).
    let address = permanent_address(&merchant);
    assert_eq!(
        store.insert_permanent_address(&address, NOW).await.unwrap(),
        address
    );
    let racing = DepositAddress {
        address: "0xlate".into(),
        derivation_index: 1,
        ..address.clone()
    };
    assert_eq!(
        store.insert_permanent_address(&racing, NOW).await.unwrap(),
        address,
        "the stored address wins"
    );
    assert_eq!(store.count_permanent_addresses(&merchant).await.unwrap(), 1);
    assert_eq!(
        store
            .permanent_address(&merchant, "user-1", "ETH")
            .await
            .unwrap(),
        Some(address.clone())
    );
    assert_eq!(
        store.deposit_address("ETH", "0xuser").await.unwrap(),
        Some(address.clone())
    );
    assert_eq!(store.deposit_address("ETH", "0xlate").await.unwrap(), None);
    // A block's addresses looked up together: ours only, on that chain only.
    assert_eq!(
        store
            .deposit_addresses("ETH", &["0xlate", "0xuser", "0xnobody"])
            .await
            .unwrap(),
        std::slice::from_ref(&address)
    );
    assert!(
        store
            .deposit_addresses("TRX", &["0xuser"])
            .await
            .unwrap()
            .is_empty()
    );
}

/// `payment/address/get`'s one DB transaction (decisions §37): the quota's
/// place, the family's next index, the address derived at it and its row
/// commit together; a request that makes nothing (its address exists, or
/// the quota is full) takes no place and no index.
async fn permanent_addresses_are_made_in_one_commit_within_the_quota<S>(store: &S)
where
    S: Store + AddressStore,
{
    let merchant = new_merchant(store).await;
    let first = make_permanent(store, &merchant, "user-1", 2).await.unwrap();
    assert_eq!(
        (first.address.as_str(), first.derivation_index),
        ("0xderived0", 0)
    );
    assert_eq!(first.user_id.as_deref(), Some("user-1"));
    assert_eq!(
        store
            .permanent_address(&merchant, "user-1", "ETH")
            .await
            .unwrap(),
        Some(first.clone()),
        "stored as answered"
    );
    // A twin that missed the stored one answers it and takes nothing.
    assert_eq!(
        make_permanent(store, &merchant, "user-1", 2).await,
        Some(first.clone())
    );
    let second = make_permanent(store, &merchant, "user-2", 2).await.unwrap();
    assert_eq!(second.derivation_index, 1, "the twin burnt no index");
    assert_eq!(store.count_permanent_addresses(&merchant).await.unwrap(), 2);
    // The quota is full: nothing new, but the stored ones still answer.
    assert_eq!(make_permanent(store, &merchant, "user-3", 2).await, None);
    assert_eq!(
        make_permanent(store, &merchant, "user-2", 2).await,
        Some(second)
    );
    assert_eq!(make_permanent(store, &merchant, "user-4", 0).await, None);
    assert_eq!(store.count_permanent_addresses(&merchant).await.unwrap(), 2);
    let other = new_merchant(store).await;
    assert_eq!(
        make_permanent(store, &other, "user-1", 2)
            .await
            .unwrap()
            .derivation_index,
        2,
        "a refusal burnt no index"
    );
    // A wallet user's address brings the user into being with it; another
    // family counts from its own zero.
    let wallet = DepositAddress {
        chain: "TRX".into(),
        user_id: Some("wallet-1".into()),
        wallet_user: true,
        ..permanent_address(&other)
    };
    let tron = Derivation {
        family: "tron",
        derive: &numbered,
    };
    let made = store
        .make_permanent_address(&wallet, &tron, 2, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((made.derivation_index, made.wallet_user), (0, true));
    assert_eq!(
        store
            .user_deposit_address(&other, "wallet-1", "TRX")
            .await
            .unwrap(),
        Some(made)
    );
    assert_eq!(store.count_permanent_addresses(&other).await.unwrap(), 2);
}

/// Orders and permanent addresses asked for at once through two pools (two
/// instances), twins among them: each stored address has its own index,
/// the indexes are exactly 0..n (a twin that lost gives its index back),
/// and each twin answers what its winner stored.
async fn racing_requests_never_share_an_address_index<S>(stores: Vec<Arc<S>>)
where
    S: Store + AddressStore + OrderStore,
{
    let merchant = new_merchant(stores[0].as_ref()).await;
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().cycle().take(64).enumerate() {
        let store = Arc::clone(store);
        let merchant = merchant.clone();
        // Pairs of twins: requests 2k and 2k+1 ask for the same thing.
        let twin = i / 2;
        tasks.push(tokio::spawn(async move {
            let derivation = Derivation {
                family: "evm",
                derive: &numbered,
            };
            if twin % 2 == 0 {
                let order = Order {
                    order_id: format!("order-{twin}"),
                    merchant_order_id: format!("shop-{twin}"),
                    ..first_order(&merchant)
                };
                let address = DepositAddress {
                    order_id: Some(order.order_id.clone()),
                    ..first_order_address(&merchant)
                };
                let stored = store
                    .create_order(&order, &address, &derivation)
                    .await
                    .unwrap();
                (twin, stored.pay_address)
            } else {
                let wanted = DepositAddress {
                    user_id: Some(format!("user-{twin}")),
                    ..permanent_address(&merchant)
                };
                let made = store
                    .make_permanent_address(&wanted, &derivation, u64::MAX, NOW)
                    .await
                    .unwrap()
                    .unwrap();
                (twin, made.address)
            }
        }));
    }
    let mut answers = std::collections::BTreeMap::<usize, BTreeSet<String>>::new();
    for task in tasks {
        let (twin, address) = task.await.unwrap();
        answers.entry(twin).or_default().insert(address);
    }
    assert_eq!(answers.len(), 32);
    for (twin, addresses) in &answers {
        assert_eq!(addresses.len(), 1, "twins {twin} answered {addresses:?}");
    }
    let answered: BTreeSet<String> = answers.into_values().flatten().collect();
    let expected: BTreeSet<String> = (0..32).map(|index| numbered(index).unwrap()).collect();
    assert_eq!(answered, expected, "indexes 0..32, each once");
    let mut indexes = Vec::new();
    for address in &answered {
        let stored = stores[1]
            .deposit_address("ETH", address)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(numbered(stored.derivation_index).unwrap(), *address);
        indexes.push(stored.derivation_index);
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..32).collect::<Vec<u32>>());
    assert_eq!(
        stores[0]
            .count_permanent_addresses(&merchant)
            .await
            .unwrap(),
        16
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_requests_never_share_an_address_index() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let first = Arc::new(sqlite_store(&dir, &key).await);
    let second = Arc::new(sqlite_store(&dir, &key).await);
    racing_requests_never_share_an_address_index(vec![first, second]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_racing_requests_never_share_an_address_index() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    let (first, second) = tokio::join!(pg.store(&key), pg.store(&key));
    racing_requests_never_share_an_address_index(vec![Arc::new(first), Arc::new(second)]).await;
}

/// Devnet transfers keep all 128 bits of their amounts; planned send
/// failures are taken one by one.
async fn devnet_transfers_and_send_failures<S>(store: &S)
where
    S: DevnetStore,
{
    let transfer = paid_transfer();
    let huge = ChainTransfer {
        txid: "0x02".into(),
        block_height: 6,
        amount: Amount::from_base_units(u128::MAX),
        ..transfer.clone()
    };
    store.devnet_add_transfer(&huge).await.unwrap();
    store.devnet_add_transfer(&transfer).await.unwrap();
    assert_eq!(
        store.devnet_transfer("ETH", "0x02").await.unwrap(),
        Some(huge.clone())
    );
    assert_eq!(
        store.devnet_transfers("ETH", 1, 6).await.unwrap(),
        vec![transfer.clone(), huge.clone()]
    );
    assert!(
        store
            .devnet_transfers("ETH", 7, 9)
            .await
            .unwrap()
            .is_empty()
    );

    // Planned devnet send failures.
    assert!(!store.devnet_take_send_failure("ETH").await.unwrap());
    store.devnet_fail_next_sends("ETH", 1).await.unwrap();
    store.devnet_fail_next_sends("ETH", 1).await.unwrap();
    assert!(store.devnet_take_send_failure("ETH").await.unwrap());
    assert!(store.devnet_take_send_failure("ETH").await.unwrap());
    assert!(!store.devnet_take_send_failure("ETH").await.unwrap());
}

/// How far each chain was scanned, and seen.
async fn chain_cursors_move<S>(store: &S)
where
    S: CreditStore,
{
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), None);
    store.set_chain_cursor("ETH", 5).await.unwrap();
    store.set_chain_cursor("ETH", 6).await.unwrap();
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), Some(6));
    assert_eq!(store.seen_cursor("ETH").await.unwrap(), None);
    store.set_seen_cursor("ETH", 9).await.unwrap();
    assert_eq!(store.seen_cursor("ETH").await.unwrap(), Some(9));
}

/// Orders are made once per merchant_order_id and kind (a repeat, or a
/// second choice of one checkout, gets the first and stores no address);
/// hosted checkouts once per merchant_order_id.
async fn orders_and_checkouts_are_made_once<S>(store: &S)
where
    S: Store + OrderStore + AddressStore,
{
    let merchant = new_merchant(store).await;
    // Orders: idempotent per merchant_order_id and kind.
    let order = first_order(&merchant);
    let order_address = first_order_address(&merchant);
    assert_eq!(store_order(store, &order, &order_address).await, order);
    let repeat = Order {
        order_id: "order-2".into(),
        pay_address: "0xunused".into(),
        ..order.clone()
    };
    let unused = DepositAddress {
        address: "0xunused".into(),
        ..order_address.clone()
    };
    assert_eq!(store_order(store, &repeat, &unused).await, order);
    assert_eq!(
        store.deposit_address("ETH", "0xunused").await.unwrap(),
        None
    );
    // Two choices of one hosted checkout share its reserved order id: the
    // second writes nothing and gets the first.
    let twin = Order {
        pay_address: "0xtwin".into(),
        ..order.clone()
    };
    let twin_address = DepositAddress {
        address: "0xtwin".into(),
        ..order_address.clone()
    };
    assert_eq!(store_order(store, &twin, &twin_address).await, order);
    assert_eq!(store.deposit_address("ETH", "0xtwin").await.unwrap(), None);
    assert_eq!(
        store.deposit_address("ETH", "0xorder").await.unwrap(),
        Some(order_address.clone())
    );
    // Neither the repeat nor the twin kept the index it reserved.
    let next = Order {
        order_id: "order-next".into(),
        merchant_order_id: "shop-next".into(),
        pay_address: "0xnext".into(),
        ..order.clone()
    };
    let next_address = DepositAddress {
        address: "0xnext".into(),
        order_id: Some("order-next".into()),
        ..order_address.clone()
    };
    assert_eq!(store_order(store, &next, &next_address).await, next);
    assert_eq!(
        store
            .deposit_address("ETH", "0xnext")
            .await
            .unwrap()
            .map(|stored| stored.derivation_index),
        Some(1)
    );
    assert_eq!(
        store
            .order_by_merchant_order_id(&merchant, "shop-1", "native")
            .await
            .unwrap(),
        Some(order.clone())
    );
    assert_eq!(
        store
            .order_by_merchant_order_id(&merchant, "shop-1", "hosted")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .orders_by_merchant_order_ids(&merchant, &["shop-1".into(), "nope".into()])
            .await
            .unwrap(),
        vec![order.clone()]
    );
    assert_eq!(store.order("order-1").await.unwrap(), Some(order.clone()));

    // Hosted checkouts.
    let checkout = Checkout {
        key: "key-1".into(),
        app_id: merchant.clone(),
        merchant_order_id: "shop-hosted".into(),
        fingerprint: "fp".into(),
        product_price: "2.5".into(),
        product_name: "cake".into(),
        return_url: Some("https://shop.example/back".into()),
        notify_url: None,
        custom_value: None,
        created_at: NOW,
        expires_at: NOW + 600,
        order_id: None,
        dialect: ccgate_store::WebhookDialect::V2,
        buyer_email: None,
        denominated_currency: "USDT".into(),
        // Priced in a coin: its id round-trips.
        price_coin_id: Some(usdt()),
        invoice: false,
    };
    assert_eq!(
        store.create_checkout(&checkout, None).await.unwrap(),
        checkout
    );
    let other_key = Checkout {
        key: "key-2".into(),
        ..checkout.clone()
    };
    assert_eq!(
        store.create_checkout(&other_key, None).await.unwrap(),
        checkout
    );
    assert!(
        store
            .attach_checkout_order("key-1", "order-1")
            .await
            .unwrap()
    );
    assert!(
        !store
            .attach_checkout_order("key-1", "order-2")
            .await
            .unwrap()
    );
    assert_eq!(
        store.checkout("key-1").await.unwrap().unwrap().order_id,
        Some("order-1".into())
    );
    assert_eq!(store.checkout("key-2").await.unwrap(), None);
    // A checkout stored with its order id reserved keeps it, and is found by
    // its merchant_order_id before any order exists.
    let reserved = Checkout {
        key: "key-3".into(),
        merchant_order_id: "shop-hosted-2".into(),
        order_id: Some("order-reserved".into()),
        ..checkout.clone()
    };
    assert_eq!(
        store.create_checkout(&reserved, None).await.unwrap(),
        reserved
    );
    assert!(
        !store
            .attach_checkout_order("key-3", "order-other")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .checkouts_by_merchant_order_ids(
                &merchant,
                &["shop-hosted-2".into(), "nope".into(), "shop-hosted".into()]
            )
            .await
            .unwrap()
            .iter()
            .map(|c| (c.key.as_str(), c.order_id.as_deref()))
            .collect::<Vec<_>>(),
        vec![
            ("key-3", Some("order-reserved")),
            ("key-1", Some("order-1"))
        ]
    );
}

/// A payment seen before its confirmations, then credited once, in one DB
/// transaction with its entry, webhook and the chain's cursor.
async fn payments_are_seen_then_credited_once<S>(store: &S)
where
    S: Store + OrderStore + CreditStore,
{
    let merchant = new_merchant(store).await;
    // A payment seen before its confirmations, then credited once.
    store_order(
        store,
        &first_order(&merchant),
        &first_order_address(&merchant),
    )
    .await;
    let seen = first_seen(&merchant);
    let processing = processing_webhook(&merchant);
    assert!(
        store
            .record_seen_transfer(&seen, Some(&processing))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_seen_transfer(&seen, Some(&processing))
            .await
            .unwrap()
    );
    assert_eq!(
        store.seen_record_id("ETH", "0x01", 0).await.unwrap(),
        Some("record-1".into())
    );
    assert_eq!(store.seen_record_id("ETH", "0x01", 1).await.unwrap(), None);
    assert_eq!(
        store
            .order_confirming_payment("order-1", NOW_MS)
            .await
            .unwrap(),
        Some(ConfirmingPayment {
            block_height: Some(3)
        })
    );
    assert_eq!(
        store
            .order_confirming_payment("order-1", NOW_MS - 1)
            .await
            .unwrap(),
        None
    );

    let credit = first_credit(&merchant);
    assert_eq!(
        store
            .credit_deposits("ETH", Some(7), &[credit.clone(), credit.clone()])
            .await
            .unwrap(),
        vec![true, false],
        "a transfer repeated within a batch is credited once"
    );
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), Some(7));
    assert_eq!(
        store
            .credit_deposits("ETH", None, std::slice::from_ref(&credit))
            .await
            .unwrap(),
        vec![false],
        "a transfer is credited once"
    );
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), Some(7));
    assert_eq!(store.journal().await.unwrap().len(), 1);
    assert_eq!(available(store, &merchant).await, 999_500);
    assert_eq!(
        store
            .order_confirming_payment("order-1", NOW_MS)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.order_payments("order-1").await.unwrap(),
        vec![OrderPayment {
            record_id: "record-1".into(),
            txid: "0x01".into(),
            from_address: "0xpayer".into(),
            coin_id: usdt(),
            amount: Amount::from_base_units(1_000_000),
            service_fee: Amount::from_base_units(500),
            pay_time: NOW + 10,
            block_time_ms: NOW_MS,
        }]
    );
}

/// The outbox: claimed under a lease, handed back, attempts logged, counted,
/// listed and resent on demand within the merchant's limits.
async fn outbox_claims_attempts_and_resends<S>(store: &S)
where
    S: Store + OrderStore + CreditStore + OutboxStore,
{
    let merchant = merchant_with_a_paid_order(store).await;
    // The outbox: claimed under a lease, attempts logged, resent on demand.
    let claimed = store
        .claim_due_webhooks(NOW_MS, 30_000, 10, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed[0].id < claimed[1].id);
    assert_eq!(claimed[0].payload, processing_webhook(&merchant).payload);
    assert_eq!(claimed[0].dialect, ccgate_store::WebhookDialect::V2);
    assert_eq!(claimed[1].dialect, ccgate_store::WebhookDialect::V1);
    assert_eq!(claimed[0].attempts, 0);
    assert!(
        store
            .claim_due_webhooks(NOW_MS + 29_999, 30_000, 10, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    // A stopping worker hands its claim back: due at once, no attempt counted;
    // only under the claim it still holds.
    let both = [claimed[0].id, claimed[1].id];
    assert_eq!(
        store
            .release_webhooks(&both, NOW_MS + 29_000, NOW_MS + 10)
            .await
            .unwrap(),
        0,
        "not under that claim"
    );
    assert_eq!(
        store
            .release_webhooks(&both[..1], NOW_MS + 30_000, NOW_MS + 10)
            .await
            .unwrap(),
        1
    );
    let reclaimed = store
        .claim_due_webhooks(NOW_MS + 10, 30_000, 10, 10)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!((reclaimed[0].id, reclaimed[0].attempts), (claimed[0].id, 0));
    let long_head = "é".repeat(200);
    let failed = WebhookAttempt {
        attempt: 1,
        at_ms: NOW_MS + 5,
        http_status: Some(500),
        latency_ms: 12,
        outcome: "HTTP 500".into(),
        response_head: long_head,
    };
    let delivered = WebhookAttempt {
        attempt: 1,
        at_ms: NOW_MS + 6,
        http_status: Some(200),
        latency_ms: 3,
        outcome: "delivered".into(),
        response_head: "success".into(),
    };
    // Both in one commit, as a busy sender records deliveries that finish
    // together; each keeps its own outcome.
    store
        .record_webhook_attempts(&[
            (
                claimed[0].id,
                failed,
                WebhookNext::RetryAt {
                    at_ms: NOW_MS + 60_000,
                },
            ),
            (claimed[1].id, delivered, WebhookNext::Delivered),
        ])
        .await
        .unwrap();
    let (row, attempts) = store
        .webhook_with_attempts(claimed[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status.as_str(), row.attempts, row.next_attempt_at_ms),
        ("pending", 1, NOW_MS + 60_000)
    );
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].response_head,
        "é".repeat(128),
        "cut to 256 bytes"
    );
    assert_eq!(attempts[0].http_status, Some(500));
    assert!(store.webhook_with_attempts(-1).await.unwrap().is_none());
    let listed = store.list_webhooks(Some(&merchant), 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![claimed[1].id, claimed[0].id]
    );
    assert_eq!(listed[0].status, "delivered");
    assert_eq!(
        store.webhook_counts().await.unwrap(),
        WebhookCounts {
            pending: 1,
            delivered: 1,
            failed: 0,
            attempts_delivered: 1,
            attempts_failed: 1,
        }
    );
    assert_eq!(store.list_webhooks(None, 1).await.unwrap().len(), 1);
    assert!(
        store
            .list_webhooks(Some(&MerchantId::new("ghost")), 10)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(
        store
            .record_resend_call(&merchant, NOW_MS, 1, 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_resend_call(&merchant, NOW_MS + 1, 1, 2)
            .await
            .unwrap(),
        "one a minute"
    );
    assert!(
        store
            .record_resend_call(&merchant, NOW_MS + 60_001, 1, 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_resend_call(&merchant, NOW_MS + 200_000, 1, 2)
            .await
            .unwrap(),
        "two a day"
    );
    let merchant_ref = &merchant;
    let resend = |all_results, order_type, record_ids: &'static [String]| async move {
        let filter = ResendFilter {
            from_ms: NOW_MS - 1,
            to_ms: NOW_MS + 1,
            all_results,
            order_type,
            record_ids,
        };
        store
            .resend_webhooks(merchant_ref, &filter, NOW_MS + 100, None)
            .await
    };
    assert_eq!(resend(false, None, &[]).await.unwrap(), 1);
    assert_eq!(resend(true, Some("Withdraw"), &[]).await.unwrap(), 0);
    static NO_SUCH_RECORD: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["no-such-record".to_owned()]);
    assert_eq!(resend(true, None, &NO_SUCH_RECORD).await.unwrap(), 0);
    static FIRST_RECORD: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["record-1".to_owned(), "no-such-record".to_owned()]);
    assert_eq!(resend(true, None, &FIRST_RECORD).await.unwrap(), 2);
    assert_eq!(resend(true, Some("Invoice"), &[]).await.unwrap(), 2);
    assert_eq!(
        store
            .claim_due_webhooks(NOW_MS + 100, 30_000, 10, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

/// Withdrawals are reserved when accepted and resolved once; refunds stay
/// within what their order received.
async fn withdrawals_reserve_then_resolve_once<S>(store: &S)
where
    S: Store + OrderStore + CreditStore + WithdrawalStore + ConsoleStore,
{
    let merchant = merchant_with_a_paid_order(store).await;
    // Withdrawals: reserved when accepted, resolved once.
    let withdrawal = Withdrawal {
        order_id: "wd-1".into(),
        record_id: "wd-record-1".into(),
        app_id: merchant.clone(),
        merchant_order_id: "shop-wd-1".into(),
        fingerprint: "fp".into(),
        token_id: TokenId::new("usdt-eth"),
        coin_id: usdt(),
        chain: "ETH".into(),
        to_address: "0xpayee".into(),
        memo: String::new(),
        value: Amount::from_base_units(400_000),
        network_fee: Amount::from_base_units(1_000),
        net_receivable: Amount::from_base_units(400_000),
        debit: Amount::from_base_units(401_000),
        merchant_pays_fee: true,
        to_cwallet: false,
        status: WithdrawalStatus::Pending,
        txid: String::new(),
        block_height: None,
        created_at: NOW,
        resolved_at: None,
        refund_of: None,
        dialect: ccgate_store::WebhookDialect::V1,
        notify_url: None,
        approval: ccgate_store::Approval::NotNeeded,
        user_id: None,
    };
    // The dashboard's row commits with the withdrawal it stores, and only
    // then (decisions §40).
    let row = audit("withdrawal requested", Some(&merchant), 1);
    let rows_before = audit_rows(store).await;
    let reserved = Account::MerchantReserved(merchant.clone());
    let reserve = move_units(
        Account::MerchantAvailable(merchant.clone()),
        reserved.clone(),
        401_000,
    );
    assert_eq!(
        store
            .accept_withdrawal(&withdrawal, &reserve, &meta("reserve"), None, Some(&row))
            .await
            .unwrap(),
        withdrawal
    );
    let repeat = Withdrawal {
        order_id: "wd-2".into(),
        record_id: "wd-record-2".into(),
        ..withdrawal.clone()
    };
    assert_eq!(
        store
            .accept_withdrawal(&repeat, &reserve, &meta("reserve"), None, Some(&row))
            .await
            .unwrap(),
        withdrawal,
        "the stored withdrawal wins"
    );
    assert_eq!(available(store, &merchant).await, 598_500);
    let too_big = Withdrawal {
        order_id: "wd-3".into(),
        record_id: "wd-record-3".into(),
        merchant_order_id: "shop-wd-3".into(),
        ..withdrawal.clone()
    };
    let err = store
        .accept_withdrawal(
            &too_big,
            &move_units(
                Account::MerchantAvailable(merchant.clone()),
                reserved.clone(),
                598_501,
            ),
            &meta("reserve"),
            Some(&webhook(&merchant, "wd-record-3", "Withdraw")),
            Some(&row),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Ledger(LedgerError::InsufficientBalance { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        audit_rows(store).await,
        rows_before + 1,
        "one row: none for the repeat, none for the refused"
    );
    assert_eq!(
        store
            .withdrawal_by_merchant_order_id(&merchant, "shop-wd-3")
            .await
            .unwrap(),
        None,
        "a refused withdrawal writes nothing"
    );
    assert_eq!(
        store.open_withdrawals(10).await.unwrap(),
        vec![withdrawal.clone()]
    );
    store
        .mark_withdrawal_sent("wd-1", "0xsent", Some(12))
        .await
        .unwrap();
    let sent = store
        .withdrawal_by_merchant_order_id(&merchant, "shop-wd-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (sent.status, sent.txid.as_str(), sent.block_height),
        (WithdrawalStatus::Processing, "0xsent", Some(12))
    );
    let post = move_units(reserved.clone(), custody(), 401_000);
    let paid = webhook(&merchant, "wd-record-1", "Withdraw");
    assert!(
        store
            .resolve_withdrawal(
                "wd-1",
                WithdrawalStatus::Successful,
                NOW + 20,
                &post,
                &meta("post"),
                &paid
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .resolve_withdrawal(
                "wd-1",
                WithdrawalStatus::Failed,
                NOW + 21,
                &post,
                &meta("post"),
                &paid
            )
            .await
            .unwrap(),
        "resolved once"
    );
    let resolved = store
        .withdrawal_by_merchant_order_id(&merchant, "shop-wd-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (resolved.status, resolved.resolved_at),
        (WithdrawalStatus::Successful, Some(NOW + 20))
    );
    assert!(store.open_withdrawals(10).await.unwrap().is_empty());

    // A refund of the order, to a Cwallet: posted at once.
    let refund = Withdrawal {
        order_id: "rf-1".into(),
        record_id: "rf-record-1".into(),
        merchant_order_id: "shop-rf-1".into(),
        value: Amount::from_base_units(1_000),
        network_fee: Amount::ZERO,
        net_receivable: Amount::from_base_units(1_000),
        debit: Amount::from_base_units(1_000),
        merchant_pays_fee: false,
        to_cwallet: true,
        status: WithdrawalStatus::Successful,
        resolved_at: Some(NOW),
        refund_of: Some("order-1".into()),
        dialect: ccgate_store::WebhookDialect::V1,
        notify_url: None,
        approval: ccgate_store::Approval::NotNeeded,
        user_id: None,
        ..withdrawal.clone()
    };
    let to_cwallet = move_units(
        Account::MerchantAvailable(merchant.clone()),
        Account::Cwallet("9454818".into()),
        1_000,
    );
    store
        .accept_withdrawal(
            &refund,
            &to_cwallet,
            &meta("refund"),
            Some(&webhook(&merchant, "rf-record-1", "Refund")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.refunds_of("order-1").await.unwrap(),
        vec![refund.clone()]
    );
    // The order received 1 000 000 and 1 000 went back: 999 001 more is too much.
    let too_much = Withdrawal {
        order_id: "rf-2".into(),
        record_id: "rf-record-2".into(),
        merchant_order_id: "shop-rf-2".into(),
        value: Amount::from_base_units(999_001),
        net_receivable: Amount::from_base_units(999_001),
        debit: Amount::from_base_units(999_001),
        ..refund.clone()
    };
    let refused = store
        .accept_withdrawal(
            &too_much,
            &move_units(
                Account::MerchantAvailable(merchant.clone()),
                Account::Cwallet("9454818".into()),
                999_001,
            ),
            &meta("refund"),
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::RefundExceedsReceived { received, refunded, .. }
                if received == Amount::from_base_units(1_000_000)
                    && refunded == Amount::from_base_units(1_000_001)
        ),
        "{refused:?}"
    );
    assert_eq!(
        store.refunds_of("order-1").await.unwrap(),
        vec![refund.clone()]
    );
    assert!(store.refunds_of("order-2").await.unwrap().is_empty());
    assert!(store.open_withdrawals(10).await.unwrap().is_empty());

    let audit = verify_ledger(store).await.unwrap();
    assert_eq!(audit.entries, 4);
    assert_eq!(store.journal_len().await.unwrap(), 4);
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// A batch is stored once per batchOrderId with its tasks in order; each
/// task finds its withdrawal by the link its execution recorded, never by
/// its withdrawal order id alone; confirmation is set once; a task is
/// executed under one claim at a time and only its holder records the
/// outcome (decisions §29); appends, cancels and the due batches.
async fn batch_withdrawals_are_stored_once_and_find_their_withdrawals<S>(store: &S)
where
    S: Store + WithdrawalStore + BatchWithdrawalStore,
{
    let shop = new_merchant(store).await;
    let other = new_merchant(store).await;
    store
        .post_entry(&credit(&shop, 1_000_000), &meta("fund"))
        .await
        .unwrap();
    let batch = BatchWithdrawal {
        app_id: shop.clone(),
        batch_order_id: "b-1".into(),
        bill_id: "bill-1".into(),
        coin_id: usdt(),
        token_id: TokenId::new("usdt-eth"),
        task_name: "payroll".into(),
        mode: "Single".into(),
        notify_url: Some("https://shop.example/b".into()),
        fingerprint: "fp-1".into(),
        created_at: NOW,
        confirmed_at: None,
        execute_at: None,
    };
    let task = |position: u32, seq: Option<u64>, order_id: Option<&str>| BatchTask {
        position,
        seq,
        task_order_id: order_id.map(str::to_owned),
        withdrawal_order_id: order_id
            .map(str::to_owned)
            .unwrap_or_else(|| format!("b-1-{}", seq.unwrap_or_default())),
        address: format!("0xpayee{position}"),
        memo: String::new(),
        amount: Amount::from_base_units(100_000 * u128::from(position)),
        remark: format!("task {position}"),
        executed_at: None,
        failure: None,
        withdrawal_id: None,
        canceled_at: None,
    };
    let tasks = vec![
        task(1, Some(1), None),
        task(2, Some(2), None),
        task(3, None, Some("pay-3")),
    ];
    assert_eq!(
        store.create_batch_withdrawal(&batch, &tasks).await.unwrap(),
        batch
    );
    // The same batchOrderId again: nothing written, the first one answered.
    let again = BatchWithdrawal {
        bill_id: "bill-2".into(),
        fingerprint: "fp-2".into(),
        ..batch.clone()
    };
    assert_eq!(
        store
            .create_batch_withdrawal(&again, &tasks[..1])
            .await
            .unwrap(),
        batch
    );
    assert_eq!(
        store.batch_withdrawal(&shop, "b-1").await.unwrap(),
        Some(batch.clone())
    );
    assert_eq!(store.batch_withdrawal(&other, "b-1").await.unwrap(), None);
    assert!(store.batch_tasks(&other, "b-1").await.unwrap().is_empty());
    let states = store.batch_tasks(&shop, "b-1").await.unwrap();
    assert_eq!(
        states.iter().map(|s| s.task.clone()).collect::<Vec<_>>(),
        tasks
    );
    assert!(states.iter().all(|s| s.withdrawal.is_none()));

    // Task 1 executed: its withdrawal found by its id. Task 2 refused: no
    // withdrawal, even when one with its id exists (another request's).
    let withdrawal = |order_id: &str, merchant_order_id: &str| Withdrawal {
        order_id: order_id.into(),
        record_id: format!("record-{order_id}"),
        app_id: shop.clone(),
        merchant_order_id: merchant_order_id.into(),
        fingerprint: "fp".into(),
        token_id: TokenId::new("usdt-eth"),
        coin_id: usdt(),
        chain: "ETH".into(),
        to_address: "0xpayee1".into(),
        memo: String::new(),
        value: Amount::from_base_units(100_000),
        network_fee: Amount::from_base_units(1_000),
        net_receivable: Amount::from_base_units(99_000),
        debit: Amount::from_base_units(100_000),
        merchant_pays_fee: false,
        to_cwallet: false,
        status: WithdrawalStatus::Pending,
        txid: String::new(),
        block_height: None,
        created_at: NOW,
        resolved_at: None,
        refund_of: None,
        dialect: ccgate_store::WebhookDialect::V2,
        notify_url: None,
        approval: ccgate_store::Approval::NotNeeded,
        user_id: None,
    };
    let reserve = move_units(
        Account::MerchantAvailable(shop.clone()),
        Account::MerchantReserved(shop.clone()),
        100_000,
    );
    let first = withdrawal("wd-1", "b-1-1");
    store
        .accept_withdrawal(&first, &reserve, &meta("reserve"), None, None)
        .await
        .unwrap();
    store
        .accept_withdrawal(
            &withdrawal("wd-2", "b-1-2"),
            &reserve,
            &meta("reserve"),
            None,
            None,
        )
        .await
        .unwrap();
    // Nothing is due before confirmation.
    assert!(
        store
            .due_batch_withdrawals(NOW + 10, NOW + 10, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .confirm_batch_withdrawal(&shop, "b-1", NOW + 1, NOW + 3)
        .await
        .unwrap();
    store
        .confirm_batch_withdrawal(&shop, "b-1", NOW + 5, NOW + 5)
        .await
        .unwrap();
    let confirmed = store.batch_withdrawal(&shop, "b-1").await.unwrap().unwrap();
    assert_eq!(
        (confirmed.confirmed_at, confirmed.execute_at),
        (Some(NOW + 1), Some(NOW + 3))
    );
    assert!(
        store
            .due_batch_withdrawals(NOW + 2, NOW + 2, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_batch_withdrawals(NOW + 3, NOW - 57, 10)
            .await
            .unwrap(),
        vec![(shop.clone(), "b-1".to_owned())]
    );
    // One claim at a time; a lapsed one may be taken over.
    assert!(
        store
            .claim_batch_task(&shop, "b-1", 1, "a", NOW + 3, NOW + 60)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_batch_task(&shop, "b-1", 1, "b", NOW + 4, NOW + 60)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_batch_task(&shop, "b-1", 2, "a", NOW + 3, NOW + 60)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_batch_task(&shop, "b-1", 2, "b", NOW + 60, NOW + 120)
            .await
            .unwrap()
    );
    // Task 1 executed by its claim's holder: linked to its withdrawal.
    // Task 2: the lapsed claim's outcome is not recorded, the holder's is.
    assert!(
        store
            .record_batch_task(
                &shop,
                "b-1",
                1,
                "a",
                NOW + 4,
                &TaskOutcome::Withdrawn("wd-1".into())
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_batch_task(
                &shop,
                "b-1",
                2,
                "a",
                NOW + 61,
                &TaskOutcome::Withdrawn("wd-2".into())
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .record_batch_task(
                &shop,
                "b-1",
                2,
                "b",
                NOW + 61,
                &TaskOutcome::Refused("address is invalid".into())
            )
            .await
            .unwrap()
    );
    // Recorded once: a second outcome is not.
    assert!(
        !store
            .record_batch_task(
                &shop,
                "b-1",
                2,
                "b",
                NOW + 62,
                &TaskOutcome::Withdrawn("wd-2".into())
            )
            .await
            .unwrap()
    );
    // An executed task is not claimed again; a confirmed batch takes no
    // more tasks.
    assert!(
        !store
            .claim_batch_task(&shop, "b-1", 1, "c", NOW + 200, NOW + 260)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .append_batch_tasks(&shop, "b-1", &[task(9, Some(9), None)])
            .await
            .unwrap(),
        Appended::Confirmed
    );
    let states = store.batch_tasks(&shop, "b-1").await.unwrap();
    assert_eq!(states[0].withdrawal, Some(first));
    assert_eq!(states[0].task.executed_at, Some(NOW + 4));
    // wd-2 holds task 2's id (b-1-2) but is not its withdrawal.
    assert_eq!(states[1].withdrawal, None);
    assert_eq!(
        states[1].task.failure.as_deref(),
        Some("address is invalid")
    );
    assert_eq!(states[2].withdrawal, None);
    assert_eq!(states[2].task.executed_at, None);
    // Cancel: the open task 3 (unclaimed), not the refused task 2, once.
    assert!(
        store
            .cancel_batch_task(&shop, "b-1", 3, NOW + 70)
            .await
            .unwrap()
    );
    assert!(
        !store
            .cancel_batch_task(&shop, "b-1", 3, NOW + 71)
            .await
            .unwrap()
    );
    assert!(
        !store
            .cancel_batch_task(&shop, "b-1", 2, NOW + 71)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_batch_task(&shop, "b-1", 3, "d", NOW + 80, NOW + 140)
            .await
            .unwrap()
    );
    assert!(
        store
            .due_batch_withdrawals(NOW + 80, NOW + 80, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Appending to a batch not confirmed: numbered on, keys once.
    let open = BatchWithdrawal {
        batch_order_id: "b-2".into(),
        bill_id: "bill-3".into(),
        ..batch.clone()
    };
    store
        .create_batch_withdrawal(&open, &tasks[..1])
        .await
        .unwrap();
    assert_eq!(
        store
            .append_batch_tasks(&shop, "b-2", &[task(1, Some(1), None)])
            .await
            .unwrap(),
        Appended::Duplicate("seq 1".into())
    );
    assert_eq!(
        store
            .append_batch_tasks(
                &shop,
                "b-2",
                &[task(1, Some(5), None), task(2, None, Some("pay-6"))]
            )
            .await
            .unwrap(),
        Appended::Added { total: 3 }
    );
    let positions: Vec<u32> = store
        .batch_tasks(&shop, "b-2")
        .await
        .unwrap()
        .iter()
        .map(|state| state.task.position)
        .collect();
    assert_eq!(positions, [1, 2, 3]);

    // Confirmed to start at once: its confirming request's to execute, the
    // loop's only once that request is gone (decisions §42).
    store
        .confirm_batch_withdrawal(&shop, "b-2", NOW + 100, NOW + 100)
        .await
        .unwrap();
    assert!(
        store
            .due_batch_withdrawals(NOW + 101, NOW + 100 - 59, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_batch_withdrawals(NOW + 161, NOW + 101, 10)
            .await
            .unwrap(),
        vec![(shop.clone(), "b-2".to_owned())]
    );
}

/// The operator's swap policy per merchant, and the daily usage a swap
/// counts in its own DB transaction: past the limit nothing is written.
async fn swap_limits_count_in_the_swaps_transaction<S: Store + SwapStore>(store: &S) {
    let merchant = new_merchant(store).await;
    assert_eq!(
        store.swap_policy(&merchant).await.unwrap(),
        SwapPolicy::default()
    );
    let policy = SwapPolicy {
        disabled: true,
        daily_limit_usd: Some("25.5".into()),
    };
    store.set_swap_policy(&merchant, &policy).await.unwrap();
    assert_eq!(store.swap_policy(&merchant).await.unwrap(), policy);
    store
        .post_entry(&credit(&merchant, 100), &meta("fund"))
        .await
        .unwrap();
    let treasury = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::OperatorTreasury,
        matic(),
        Amount::from_base_units(1000),
    )
    .unwrap();
    store
        .post_entry(&treasury, &meta("treasury"))
        .await
        .unwrap();
    let swap_meta = EntryMeta {
        kind: "swap",
        reason: "swap".to_owned(),
        created_at: NOW,
    };
    let usage = |usd_micros: u128| DailyUsage {
        day: 20_000,
        usd_micros: Amount::from_base_units(usd_micros),
        limit_micros: Amount::from_base_units(25_500_000),
    };
    let first = swap_of(&merchant, "s-1", 10, 20);
    store
        .accept_swap(
            &first,
            &swap_entry(&first),
            &swap_meta,
            Some(&usage(20_000_000)),
        )
        .await
        .unwrap();
    let journal = store.journal_len().await.unwrap();
    let second = swap_of(&merchant, "s-2", 10, 20);
    assert!(matches!(
        store
            .accept_swap(
                &second,
                &swap_entry(&second),
                &swap_meta,
                Some(&usage(5_500_001))
            )
            .await,
        Err(StoreError::SwapDailyLimit)
    ));
    assert!(
        store
            .swap_by_merchant_order_id(&merchant, "s-2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.journal_len().await.unwrap(), journal);
    store
        .accept_swap(
            &second,
            &swap_entry(&second),
            &swap_meta,
            Some(&usage(5_500_000)),
        )
        .await
        .unwrap();
    assert_eq!(
        store.swap_usage(&merchant, 20_000).await.unwrap(),
        Amount::from_base_units(25_500_000)
    );
    assert_eq!(
        store.swap_usage(&merchant, 20_001).await.unwrap(),
        Amount::ZERO
    );
}

fn user(merchant: &MerchantId, user_id: &str) -> Account {
    Account::User(merchant.clone(), user_id.to_owned())
}

fn leg(
    merchant: &MerchantId,
    record_id: &str,
    order_id: &str,
    from: &str,
    to: &str,
    units: u128,
) -> UserTransfer {
    UserTransfer {
        record_id: record_id.into(),
        app_id: merchant.clone(),
        order_id: order_id.into(),
        batch_record_id: None,
        from_user: from.into(),
        to_user: to.into(),
        coin_id: usdt(),
        amount: Amount::from_base_units(units),
        remark: String::new(),
        created_at: NOW,
    }
}

/// Wallet users (decisions §24): an address brings one into being in its own
/// namespace, a deposit to it credits the user and is the users' record, not
/// the merchant's; transfers are one entry each, once per order id, and an
/// overdraft writes nothing.
async fn wallet_users_deposits_and_transfers<S>(store: &S)
where
    S: Store + AddressStore + CreditStore + ccgate_store::DepositRecords + WalletStore,
{
    let merchant = new_merchant(store).await;
    assert!(!store.wallet_user_exists(&merchant, "alice").await.unwrap());
    let address = DepositAddress {
        wallet_user: true,
        user_id: Some("alice".into()),
        address: "0xalice".into(),
        ..permanent_address(&merchant)
    };
    assert_eq!(
        store.insert_permanent_address(&address, NOW).await.unwrap(),
        address
    );
    assert!(store.wallet_user_exists(&merchant, "alice").await.unwrap());
    assert_eq!(
        store
            .user_deposit_address(&merchant, "alice", "ETH")
            .await
            .unwrap(),
        Some(address.clone())
    );
    // The merchant's own "alice" (a referenceId) is another address.
    assert_eq!(
        store
            .permanent_address(&merchant, "alice", "ETH")
            .await
            .unwrap(),
        None
    );
    let own = DepositAddress {
        user_id: Some("alice".into()),
        address: "0xown".into(),
        derivation_index: 1,
        ..permanent_address(&merchant)
    };
    assert_eq!(
        store.insert_permanent_address(&own, NOW).await.unwrap(),
        own
    );
    assert_eq!(store.count_permanent_addresses(&merchant).await.unwrap(), 2);

    let credit = DepositCredit {
        deposit: NewDeposit {
            record_id: "record-user".into(),
            transfer: ChainTransfer {
                to_address: "0xalice".into(),
                amount: Amount::from_base_units(100),
                ..devnet_transfer("0xd1", 1)
            },
            app_id: merchant.clone(),
            user_id: Some("alice".into()),
            order_id: None,
            coin_id: usdt(),
            service_fee: Amount::ZERO,
            credit_amount: Amount::from_base_units(100),
            credited_at: NOW,
        },
        entry: move_units(custody(), user(&merchant, "alice"), 100),
        meta: meta("deposit"),
        webhook: webhook(&merchant, "record-user", "User Deposit"),
    };
    store.credit_deposits("ETH", None, &[credit]).await.unwrap();
    credit_one(store, &merchant, "0xown", "0xd2", 1).await;
    let records = |wallet_users: bool| DepositRecordFilter {
        wallet_users,
        limit: 10,
        ..DepositRecordFilter::of_merchant(&merchant)
    };
    let ids = |found: Vec<ccgate_store::DepositRecord>| {
        found.into_iter().map(|r| r.record_id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.deposit_records(&records(true)).await.unwrap()),
        ["record-user"]
    );
    assert_eq!(
        ids(store.deposit_records(&records(false)).await.unwrap()),
        ["record-0xd2"]
    );
    assert_eq!(
        available(store, &merchant).await,
        1,
        "the user's deposit is not the merchant's"
    );

    let first = leg(&merchant, "t-1", "order-1", "alice", "bob", 30);
    let entry = move_units(user(&merchant, "alice"), user(&merchant, "bob"), 30);
    assert_eq!(
        store
            .record_transfer(&first, &entry, &meta("transfer"))
            .await
            .unwrap(),
        Recorded::Made(first.clone())
    );
    assert!(store.wallet_user_exists(&merchant, "bob").await.unwrap());
    // The same order id again: nothing moves, the first record answers.
    let again = leg(&merchant, "t-2", "order-1", "alice", "bob", 30);
    assert_eq!(
        store
            .record_transfer(&again, &entry, &meta("transfer"))
            .await
            .unwrap(),
        Recorded::Existing(first.clone())
    );
    // An overdraft writes nothing, so its order id stays free.
    let short = leg(&merchant, "t-3", "order-2", "alice", "carol", 71);
    let overdraft = move_units(user(&merchant, "alice"), user(&merchant, "carol"), 71);
    assert!(matches!(
        store
            .record_transfer(&short, &overdraft, &meta("transfer"))
            .await,
        Err(StoreError::Ledger(LedgerError::InsufficientBalance { .. }))
    ));
    assert!(!store.wallet_user_exists(&merchant, "carol").await.unwrap());
    let shop = &merchant;
    let balance = |user_id: &'static str| async move {
        store
            .user_balances(shop, user_id)
            .await
            .unwrap()
            .first()
            .and_then(|b| b.balance.available())
            .map_or(0, Amount::base_units)
    };
    assert_eq!((balance("alice").await, balance("bob").await), (70, 30));

    // A batch: bob pays alice and the merchant (its App ID), one entry.
    let mut legs = vec![
        leg(&merchant, "t-4", "batch-1", "bob", "alice", 10),
        leg(&merchant, "t-5", "batch-1", "bob", merchant.as_str(), 5),
    ];
    for leg in &mut legs {
        leg.batch_record_id = Some("b-1".into());
    }
    let batch = UserBatchTransfer {
        record_id: "b-1".into(),
        app_id: merchant.clone(),
        order_id: "batch-1".into(),
        from_user: "bob".into(),
        coin_id: usdt(),
        remark: "split".into(),
        created_at: NOW,
        legs,
    };
    let batch_entry = JournalEntry::new(vec![
        posting(user(&merchant, "bob"), Direction::Debit, 15),
        posting(user(&merchant, "alice"), Direction::Credit, 10),
        posting(
            Account::MerchantAvailable(merchant.clone()),
            Direction::Credit,
            5,
        ),
    ])
    .unwrap();
    assert_eq!(
        store
            .record_batch_transfer(&batch, &batch_entry, &meta("batch"))
            .await
            .unwrap(),
        Recorded::Made(batch.clone())
    );
    assert_eq!(
        store
            .record_batch_transfer(&batch, &batch_entry, &meta("batch"))
            .await
            .unwrap(),
        Recorded::Existing(batch.clone())
    );
    assert_eq!((balance("alice").await, balance("bob").await), (80, 15));
    assert_eq!(available(store, &merchant).await, 6);
    let transfer_ids = |filter: TransferFilter| async move {
        store
            .user_transfers(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.record_id)
            .collect::<Vec<_>>()
    };
    let all = TransferFilter {
        limit: 10,
        ..TransferFilter::of_merchant(&merchant)
    };
    assert_eq!(transfer_ids(all.clone()).await, ["t-5", "t-4", "t-1"]);
    assert_eq!(
        transfer_ids(TransferFilter {
            batch: BatchScope::Single,
            ..all.clone()
        })
        .await,
        ["t-1"]
    );
    assert_eq!(
        transfer_ids(TransferFilter {
            batch: BatchScope::Legs("b-1".into()),
            ..all.clone()
        })
        .await,
        ["t-4", "t-5"]
    );
    assert_eq!(
        transfer_ids(TransferFilter {
            to_user: Some("alice".into()),
            ..all.clone()
        })
        .await,
        ["t-4"]
    );
    assert_eq!(
        transfer_ids(TransferFilter {
            order_ids: vec!["order-1".into(), "x".into()],
            ..all.clone()
        })
        .await,
        ["t-1"]
    );
    assert_eq!(
        transfer_ids(TransferFilter {
            after_record_id: Some("t-5".into()),
            ..all.clone()
        })
        .await,
        ["t-4", "t-1"]
    );
    let audit = verify_ledger(store).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// Many transfers out of one user at once, through two pools (two
/// processes or instances): exactly as many succeed as the balance covers.
async fn racing_user_transfers_never_overdraw<S: Store + WalletStore>(stores: Vec<Arc<S>>) {
    let merchant = new_merchant(stores[0].as_ref()).await;
    stores[0]
        .post_entry(
            &move_units(custody(), user(&merchant, "alice"), 20),
            &meta("seed"),
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().cycle().take(100).enumerate() {
        let store = Arc::clone(store);
        let merchant = merchant.clone();
        tasks.push(tokio::spawn(async move {
            let transfer = leg(
                &merchant,
                &format!("r-{i:03}"),
                &format!("o-{i}"),
                "alice",
                "bob",
                1,
            );
            let entry = move_units(user(&merchant, "alice"), user(&merchant, "bob"), 1);
            store
                .record_transfer(&transfer, &entry, &meta("race"))
                .await
        }));
    }
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Recorded::Made(_)) => made += 1,
            Err(StoreError::Ledger(LedgerError::InsufficientBalance { .. })) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(made, 20);
    let all = TransferFilter {
        limit: 1000,
        ..TransferFilter::of_merchant(&merchant)
    };
    assert_eq!(stores[1].user_transfers(&all).await.unwrap().len(), 20);
    let audit = verify_ledger(stores[0].as_ref()).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_user_transfers_never_overdraw() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let first = Arc::new(sqlite_store(&dir, &key).await);
    let second = Arc::new(sqlite_store(&dir, &key).await);
    racing_user_transfers_never_overdraw(vec![first, second]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_racing_user_transfers_never_overdraw() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    let (first, second) = tokio::join!(pg.store(&key), pg.store(&key));
    racing_user_transfers_never_overdraw(vec![Arc::new(first), Arc::new(second)]).await;
}

fn audit(action: &str, app_id: Option<&MerchantId>, at_ms: i64) -> AuditEntry {
    AuditEntry {
        id: 0,
        at_ms,
        user_id: None,
        actor: "ccgate (command line)".to_owned(),
        app_id: app_id.cloned(),
        action: action.to_owned(),
        detail: String::new(),
        ip: "local".to_owned(),
    }
}

/// Dashboard users are unique by e-mail; a session starts (ending the one it
/// replaces, forgetting the e-mail's failed logins), is touched and ends;
/// failures are counted per e-mail and per address since a time; the audit
/// log pages newest first and narrows to one merchant.
async fn console_users_sessions_and_audit<S>(store: &S)
where
    S: Store + ConsoleStore,
{
    let merchant = new_merchant(store).await;
    let operator = store
        .create_console_user(
            "ops@example.com",
            "$argon2id$x",
            &ConsoleRole::Operator,
            1,
            &audit("user created", None, 1),
        )
        .await
        .unwrap();
    let member = store
        .create_console_user(
            "owner@shop.example",
            "$argon2id$y",
            &ConsoleRole::Merchant(merchant.clone()),
            2,
            &audit("user created", Some(&merchant), 2),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_console_user("ops@example.com", "h", &ConsoleRole::Operator, 3, &audit("user created", None, 3))
            .await,
        Err(StoreError::ConsoleUserExists(email)) if email == "ops@example.com"
    ));
    let found = store
        .console_user_by_email("owner@shop.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, member);
    assert_eq!(found.role, ConsoleRole::Merchant(merchant.clone()));
    assert_eq!(found.password_hash, "$argon2id$y");
    assert_eq!(
        store.console_user(operator).await.unwrap().unwrap().role,
        ConsoleRole::Operator
    );
    assert!(
        store
            .console_user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.console_users(None).await.unwrap().len(), 2);
    assert_eq!(
        store
            .console_users(Some(&merchant))
            .await
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        vec![member]
    );

    for at_ms in [100, 200, 300] {
        store
            .record_login_failure(
                "ops@example.com",
                "192.0.2.1",
                at_ms,
                &audit("login refused", None, at_ms),
            )
            .await
            .unwrap();
    }
    store
        .record_login_failure(
            "other@example.com",
            "192.0.2.1",
            400,
            &audit("login refused", None, 400),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .login_failures_since("ops@example.com", "192.0.2.1", 0)
            .await
            .unwrap(),
        (3, 4)
    );
    assert_eq!(
        store
            .login_failures_since("ops@example.com", "192.0.2.9", 200)
            .await
            .unwrap(),
        (2, 0)
    );

    let session = |id_hash: &str| ConsoleSession {
        id_hash: id_hash.to_owned(),
        user_id: operator,
        csrf_token: format!("csrf-{id_hash}"),
        created_at_ms: 500,
        last_seen_ms: 500,
    };
    store
        .start_console_session(
            &session("a"),
            None,
            "ops@example.com",
            &audit("login", None, 500),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .login_failures_since("ops@example.com", "192.0.2.1", 0)
            .await
            .unwrap(),
        (0, 1)
    );
    store.touch_console_session("a", 600).await.unwrap();
    assert_eq!(
        store
            .console_session("a")
            .await
            .unwrap()
            .unwrap()
            .last_seen_ms,
        600
    );
    store
        .start_console_session(
            &session("b"),
            Some("a"),
            "ops@example.com",
            &audit("login", None, 700),
        )
        .await
        .unwrap();
    assert!(
        store.console_session("a").await.unwrap().is_none(),
        "replaced"
    );
    assert_eq!(
        store.console_session("b").await.unwrap().unwrap(),
        session("b")
    );
    store
        .end_console_session("b", Some(&audit("logout", None, 800)))
        .await
        .unwrap();
    // Ending it again writes no second audit row.
    store
        .end_console_session("b", Some(&audit("logout", None, 900)))
        .await
        .unwrap();
    assert!(store.console_session("b").await.unwrap().is_none());

    store
        .append_audit(&audit("webhook set", Some(&merchant), 1000))
        .await
        .unwrap();
    let all = store.audit_log(None, None, 100).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|row| row.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "webhook set",
            "logout",
            "login",
            "login",
            "login refused",
            "login refused",
            "login refused",
            "login refused",
            "user created",
            "user created"
        ]
    );
    assert_eq!(
        all[8].user_id,
        Some(member),
        "a user's creation names the user"
    );
    let page = store.audit_log(None, Some(all[1].id), 2).await.unwrap();
    assert_eq!(page, all[2..4].to_vec());
    let mine = store.audit_log(Some(&merchant), None, 100).await.unwrap();
    assert_eq!(
        mine.iter()
            .map(|row| row.action.as_str())
            .collect::<Vec<_>>(),
        vec!["webhook set", "user created"]
    );
}

/// The dashboard's pages of a merchant's wallet users (in user id order, each
/// with its balances) and of its batch withdrawals (newest first), each a
/// page after the last one shown; another merchant's are never listed.
async fn wallet_users_and_batches_page_for_the_dashboard<S>(store: &S)
where
    S: Store + WalletStore + BatchWithdrawalStore,
{
    let shop = new_merchant(store).await;
    let other = new_merchant(store).await;
    assert!(
        store
            .wallet_users(&shop, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .post_entry(&credit(&shop, 1_000), &meta("fund"))
        .await
        .unwrap();
    store
        .post_entry(&credit(&other, 1_000), &meta("fund"))
        .await
        .unwrap();
    for (n, (to, units)) in [("carol", 30), ("alice", 10), ("bob", 20)]
        .into_iter()
        .enumerate()
    {
        let transfer = leg(
            &shop,
            &format!("t-{n}"),
            &format!("o-{n}"),
            shop.as_str(),
            to,
            units,
        );
        let entry = move_units(
            Account::MerchantAvailable(shop.clone()),
            user(&shop, to),
            units,
        );
        store
            .record_transfer(&transfer, &entry, &meta("transfer"))
            .await
            .unwrap();
    }
    let elsewhere = leg(&other, "t-x", "o-x", other.as_str(), "aaron", 5);
    let entry = move_units(
        Account::MerchantAvailable(other.clone()),
        user(&other, "aaron"),
        5,
    );
    store
        .record_transfer(&elsewhere, &entry, &meta("transfer"))
        .await
        .unwrap();
    let shown = |users: Vec<ccgate_store::WalletUser>| {
        users
            .into_iter()
            .map(|user| {
                let held: Vec<(String, u128)> = user
                    .balances
                    .iter()
                    .map(|b| {
                        (
                            b.coin.to_string(),
                            b.balance.available().unwrap().base_units(),
                        )
                    })
                    .collect();
                (user.user_id, held)
            })
            .collect::<Vec<_>>()
    };
    let usdt_id = usdt().to_string();
    assert_eq!(
        shown(store.wallet_users(&shop, None, 2).await.unwrap()),
        vec![
            ("alice".to_owned(), vec![(usdt_id.clone(), 10)]),
            ("bob".to_owned(), vec![(usdt_id.clone(), 20)]),
        ]
    );
    assert_eq!(
        shown(store.wallet_users(&shop, Some("bob"), 2).await.unwrap()),
        vec![("carol".to_owned(), vec![(usdt_id, 30)])]
    );
    assert!(
        store
            .wallet_users(&shop, Some("carol"), 2)
            .await
            .unwrap()
            .is_empty()
    );

    let batch = |app_id: &MerchantId, order_id: &str, created_at: i64| BatchWithdrawal {
        app_id: app_id.clone(),
        batch_order_id: order_id.into(),
        bill_id: format!("bill-{}-{order_id}", app_id.as_str()),
        coin_id: usdt(),
        token_id: TokenId::new("usdt-eth"),
        task_name: "payroll".into(),
        mode: "Batch".into(),
        notify_url: None,
        fingerprint: format!("fp-{order_id}"),
        created_at,
        confirmed_at: None,
        execute_at: None,
    };
    let made = [
        batch(&shop, "b-old", NOW),
        batch(&shop, "b-a", NOW + 5),
        batch(&shop, "b-b", NOW + 5),
        batch(&other, "b-z", NOW + 9),
    ];
    for one in &made {
        store.create_batch_withdrawal(one, &[]).await.unwrap();
    }
    let ids = |found: Vec<BatchWithdrawal>| {
        found
            .into_iter()
            .map(|b| b.batch_order_id)
            .collect::<Vec<_>>()
    };
    let first = store.batch_withdrawals(&shop, None, 2).await.unwrap();
    assert_eq!(first[0], made[2]);
    assert_eq!(ids(first), ["b-b", "b-a"]);
    assert_eq!(
        ids(store
            .batch_withdrawals(&shop, Some((NOW + 5, "b-a")), 2)
            .await
            .unwrap()),
        ["b-old"]
    );
    assert_eq!(
        ids(store.batch_withdrawals(&other, None, 10).await.unwrap()),
        ["b-z"]
    );
}

/// A SQLite and a PostgreSQL runner of each check, on a fresh store.
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                $check(&sqlite_store(&dir, &MasterKey::generate()).await).await;
            }

            #[tokio::test]
            async fn pg() {
                let Some(pg) = PgSchema::new().await else {
                    return;
                };
                $check(&pg.store(&MasterKey::generate()).await).await;
            }
        }
    )*};
}

/// A wallet user's withdrawal (decisions §28) is a withdrawal row whose
/// money is reserved from, and returned to, the user's account; lists read
/// the merchant's own and each user's apart.
async fn user_withdrawals_are_the_users_and_listed_apart<S>(store: &S)
where
    S: Store + WithdrawalStore + WalletStore,
{
    use ccgate_store::{StoreError, WithdrawalQuery};

    let shop = new_merchant(store).await;
    let alice = Account::User(shop.clone(), "alice-01".into());
    let alice_reserved = Account::UserReserved(shop.clone(), "alice-01".into());
    store
        .post_entry(
            &move_units(Account::OperatorAdjustments, alice.clone(), 1_000),
            &meta("fund alice"),
        )
        .await
        .unwrap();
    store
        .post_entry(&credit(&shop, 500), &meta("seed"))
        .await
        .unwrap();
    let user_available = || async {
        store
            .user_balances(&shop, "alice-01")
            .await
            .unwrap()
            .iter()
            .find(|b| b.coin == usdt())
            .map(|b| b.balance.available().unwrap().base_units())
            .unwrap_or(0)
    };
    let of_alice = Withdrawal {
        order_id: "uw-order-1".into(),
        record_id: "uw-record-1".into(),
        app_id: shop.clone(),
        merchant_order_id: "alice-wd-1".into(),
        fingerprint: "fp".into(),
        token_id: TokenId::new("usdt-eth"),
        coin_id: usdt(),
        chain: "ETH".into(),
        to_address: "0xpayee".into(),
        memo: String::new(),
        value: Amount::from_base_units(400),
        network_fee: Amount::from_base_units(10),
        net_receivable: Amount::from_base_units(390),
        debit: Amount::from_base_units(400),
        merchant_pays_fee: false,
        to_cwallet: false,
        status: WithdrawalStatus::Pending,
        txid: String::new(),
        block_height: None,
        created_at: NOW,
        resolved_at: None,
        refund_of: None,
        dialect: ccgate_store::WebhookDialect::V2,
        notify_url: None,
        approval: ccgate_store::Approval::NotNeeded,
        user_id: Some("alice-01".into()),
    };
    let reserve = move_units(alice.clone(), alice_reserved.clone(), 400);
    assert_eq!(
        store
            .accept_withdrawal(&of_alice, &reserve, &meta("reserve"), None, None)
            .await
            .unwrap(),
        of_alice
    );
    assert_eq!(user_available().await, 600);
    assert_eq!(
        available(store, &shop).await,
        500,
        "the merchant's is untouched"
    );
    // More than the user holds: refused by the ledger, nothing written,
    // whatever the merchant holds.
    let too_big = Withdrawal {
        order_id: "uw-order-2".into(),
        record_id: "uw-record-2".into(),
        merchant_order_id: "alice-wd-2".into(),
        ..of_alice.clone()
    };
    let err = store
        .accept_withdrawal(
            &too_big,
            &move_units(alice.clone(), alice_reserved.clone(), 601),
            &meta("reserve"),
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Ledger(LedgerError::InsufficientBalance { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        store
            .withdrawal_by_merchant_order_id(&shop, "alice-wd-2")
            .await
            .unwrap(),
        None
    );
    let of_shop = Withdrawal {
        order_id: "uw-order-3".into(),
        record_id: "uw-record-3".into(),
        merchant_order_id: "shop-wd-3".into(),
        created_at: NOW + 1,
        user_id: None,
        ..of_alice.clone()
    };
    store
        .accept_withdrawal(
            &of_shop,
            &move_units(
                Account::MerchantAvailable(shop.clone()),
                Account::MerchantReserved(shop.clone()),
                400,
            ),
            &meta("reserve"),
            None,
            None,
        )
        .await
        .unwrap();

    let listed = |user_id: Option<&str>| {
        let query = WithdrawalQuery {
            user_id: user_id.map(str::to_owned),
            limit: 10,
            ..WithdrawalQuery::default()
        };
        let shop = shop.clone();
        async move {
            store
                .merchant_withdrawals(&shop, &query)
                .await
                .unwrap()
                .into_iter()
                .map(|w| w.record_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None).await, ["uw-record-3"]);
    assert_eq!(listed(Some("alice-01")).await, ["uw-record-1"]);
    assert!(listed(Some("bob-0001")).await.is_empty());
    assert_eq!(
        store
            .withdrawal_by_record_id(&shop, "uw-record-1")
            .await
            .unwrap()
            .and_then(|w| w.user_id),
        Some("alice-01".to_owned())
    );

    // Failed: the reservation goes back to the user, once.
    let void = move_units(alice_reserved.clone(), alice.clone(), 400);
    let failed = NewWebhook {
        dialect: ccgate_store::WebhookDialect::V2,
        ..webhook(&shop, "uw-record-1", "User Withdrawal")
    };
    for (expected, reason) in [(true, "voided"), (false, "voided once")] {
        assert_eq!(
            store
                .resolve_withdrawal(
                    "uw-order-1",
                    WithdrawalStatus::Failed,
                    NOW + 2,
                    &void,
                    &meta("void"),
                    &failed,
                )
                .await
                .unwrap(),
            expected,
            "{reason}"
        );
    }
    assert_eq!(user_available().await, 1_000);
}

on_both_backends!(
    wallet_users_deposits_and_transfers,
    wallet_users_and_batches_page_for_the_dashboard,
    user_withdrawals_are_the_users_and_listed_apart,
    console_users_sessions_and_audit,
    secrets_keep_their_first_value,
    merchant_settings_are_kept,
    permanent_addresses_are_one_per_user_and_chain,
    permanent_addresses_are_made_in_one_commit_within_the_quota,
    devnet_transfers_and_send_failures,
    chain_cursors_move,
    orders_and_checkouts_are_made_once,
    payments_are_seen_then_credited_once,
    outbox_claims_attempts_and_resends,
    withdrawals_reserve_then_resolve_once,
    batch_withdrawals_are_stored_once_and_find_their_withdrawals,
    swaps_commit_with_their_entry_once,
    invoices_are_listed_and_receipts_summed_per_day,
    swap_limits_count_in_the_swaps_transaction,
);

/// Dashboard invoices (decisions §32) are hosted checkouts marked as such,
/// listed newest first per merchant, and the order chosen on one keeps the
/// mark; a merchant's receipts are summed exactly per UTC day and coin over
/// a range, amounts past `i64` included, other merchants' left out.
async fn invoices_are_listed_and_receipts_summed_per_day<S>(store: &S)
where
    S: Store + OrderStore + AddressStore + CreditStore + DepositRecords,
{
    let merchant = new_merchant(store).await;
    let other = new_merchant(store).await;
    let checkout = |key: &str, app_id: &MerchantId, invoice: bool, created_at: i64| Checkout {
        key: key.into(),
        app_id: app_id.clone(),
        merchant_order_id: format!("ref-{key}"),
        fingerprint: "fp".into(),
        product_price: "20".into(),
        product_name: "lessons".into(),
        return_url: None,
        notify_url: None,
        custom_value: None,
        created_at,
        expires_at: created_at + 3_600,
        order_id: Some(format!("order-{key}")),
        dialect: ccgate_store::WebhookDialect::V1,
        buyer_email: None,
        denominated_currency: "USD".into(),
        price_coin_id: None,
        invoice,
    };
    for made in [
        checkout("api", &merchant, false, NOW + 20),
        checkout("old", &merchant, true, NOW),
        checkout("new", &merchant, true, NOW + 10),
        checkout("theirs", &other, true, NOW + 30),
    ] {
        assert_eq!(store.create_checkout(&made, None).await.unwrap(), made);
    }
    let keys = |listed: Vec<Checkout>| listed.into_iter().map(|c| c.key).collect::<Vec<_>>();
    assert_eq!(
        keys(store.invoices(&merchant, None, 50).await.unwrap()),
        ["new", "old"]
    );
    assert_eq!(
        keys(store.invoices(&merchant, None, 1).await.unwrap()),
        ["new"]
    );
    // Keyset pages (decisions §36): invoices of one second are neither
    // skipped nor repeated across a page's end.
    for made in [
        checkout("same-1", &merchant, true, NOW + 5),
        checkout("same-2", &merchant, true, NOW + 5),
    ] {
        store.create_checkout(&made, None).await.unwrap();
    }
    assert_eq!(
        keys(store.invoices(&merchant, None, 2).await.unwrap()),
        ["new", "same-2"]
    );
    assert_eq!(
        keys(
            store
                .invoices(&merchant, Some((NOW + 5, "same-2".into())), 2)
                .await
                .unwrap()
        ),
        ["same-1", "old"]
    );
    assert!(
        store
            .invoices(&merchant, Some((NOW, "old".into())), 2)
            .await
            .unwrap()
            .is_empty()
    );
    // The order its payer's choice makes keeps the mark.
    let chosen = Order {
        order_id: "order-new".into(),
        merchant_order_id: "ref-new".into(),
        kind: "hosted".into(),
        invoice: true,
        ..first_order(&merchant)
    };
    store_order(store, &chosen, &first_order_address(&merchant)).await;
    assert!(store.order("order-new").await.unwrap().unwrap().invoice);

    // Receipts: two days, two coins, an amount past i64, another merchant.
    const DAY: i64 = 86_400;
    let today = NOW.div_euclid(DAY);
    let big = 123_456_789_012_345_678_901_234_567u128;
    let receipts = [
        ("r1", &merchant, usdt(), 5u128, (today - 1) * DAY + 10),
        ("r2", &merchant, usdt(), 7, today * DAY),
        ("r3", &merchant, usdt(), big, today * DAY + DAY - 1),
        ("r4", &merchant, matic(), 3, today * DAY + 5),
        ("r5", &other, usdt(), 11, today * DAY + 5),
        // Outside the range read below.
        ("r6", &merchant, usdt(), 13, (today + 1) * DAY),
        ("r7", &merchant, usdt(), 17, (today - 2) * DAY),
    ];
    for (txid, app_id, coin, units, credited_at) in &receipts {
        let transfer = ChainTransfer {
            amount: Amount::from_base_units(*units),
            to_address: format!("0x{txid}"),
            ..devnet_transfer(txid, 3)
        };
        let credit = DepositCredit {
            deposit: NewDeposit {
                record_id: format!("record-{txid}"),
                transfer,
                app_id: (*app_id).clone(),
                user_id: None,
                order_id: None,
                coin_id: coin.clone(),
                service_fee: Amount::ZERO,
                credit_amount: Amount::from_base_units(*units),
                credited_at: *credited_at,
            },
            entry: JournalEntry::transfer(
                custody(),
                Account::MerchantAvailable((*app_id).clone()),
                coin.clone(),
                Amount::from_base_units(*units),
            )
            .unwrap(),
            meta: meta("deposit"),
            webhook: webhook(app_id, &format!("record-{txid}"), "Direct Deposit"),
        };
        store.credit_deposits("ETH", None, &[credit]).await.unwrap();
    }
    let summed = store
        .received_by_day(&merchant, (today - 1) * DAY, (today + 1) * DAY)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.day, r.coin_id, r.amount.base_units(), r.deposits))
        .collect::<Vec<_>>();
    let (first, second) = if usdt().as_str() < matic().as_str() {
        ((usdt(), 7 + big, 2), (matic(), 3, 1))
    } else {
        ((matic(), 3, 1), (usdt(), 7 + big, 2))
    };
    assert_eq!(
        summed,
        vec![
            (today - 1, usdt(), 5, 1),
            (today, first.0, first.1, first.2),
            (today, second.0, second.1, second.2),
        ]
    );
}

fn matic() -> CoinId {
    CoinId::new("c60f174e-97e5-418c-86df-707d30ad3d8a")
}

fn swap_of(merchant: &MerchantId, order_id: &str, amount_in: u128, amount_out: u128) -> Swap {
    Swap {
        record_id: format!("rec-{order_id}"),
        app_id: merchant.clone(),
        user_id: None,
        merchant_order_id: order_id.to_owned(),
        terms: SwapPricing {
            coin_in: usdt(),
            coin_out: matic(),
            amount_in: Amount::from_base_units(amount_in),
            amount_out: Amount::from_base_units(amount_out),
            fee: Amount::from_base_units(1),
            price_in: "1".to_owned(),
            price_out: "0.52".to_owned(),
            fee_ppm: 5000,
            extra_fee: Amount::ZERO,
            extra_fee_ppm: 0,
        },
        amount_out_minimum: None,
        created_at: NOW,
    }
}

/// The entry the engine posts for a swap: payer → treasury in the input
/// coin, treasury → payer and fees in the output coin, and the merchant's
/// markup to the merchant when a user swaps.
fn swap_entry(swap: &Swap) -> JournalEntry {
    let t = &swap.terms;
    let payer = match &swap.user_id {
        None => Account::MerchantAvailable(swap.app_id.clone()),
        Some(user_id) => Account::User(swap.app_id.clone(), user_id.clone()),
    };
    let post = |account: Account, coin: &CoinId, direction, amount: Amount| Posting {
        account,
        coin: coin.clone(),
        direction,
        amount,
    };
    let mut postings = vec![
        post(payer.clone(), &t.coin_in, Direction::Debit, t.amount_in),
        post(
            Account::OperatorTreasury,
            &t.coin_in,
            Direction::Credit,
            t.amount_in,
        ),
        post(
            Account::OperatorTreasury,
            &t.coin_out,
            Direction::Debit,
            t.amount_out,
        ),
        post(payer, &t.coin_out, Direction::Credit, t.net_out().unwrap()),
        post(Account::OperatorFees, &t.coin_out, Direction::Credit, t.fee),
    ];
    if !t.extra_fee.is_zero() {
        postings.push(post(
            Account::MerchantAvailable(swap.app_id.clone()),
            &t.coin_out,
            Direction::Credit,
            t.extra_fee,
        ));
    }
    JournalEntry::new(postings).unwrap()
}

async fn balance_of<S: Store>(store: &S, account: &Account, coin: &CoinId) -> u128 {
    store
        .all_balances()
        .await
        .unwrap()
        .into_iter()
        .find(|((a, c), _)| a == account && c == coin)
        .map(|(_, balance)| balance.available().unwrap().base_units())
        .unwrap_or(0)
}

/// A swap commits with its entry or not at all (the treasury short writes
/// nothing), once per merchant order id; records are the merchant's own,
/// listed newest first with their filters; quotes are kept until they
/// expire and the latest replaces the one before.
async fn swaps_commit_with_their_entry_once<S: Store + SwapStore>(store: &S) {
    let merchant = new_merchant(store).await;
    let other = new_merchant(store).await;
    store
        .post_entry(&credit(&merchant, 100), &meta("fund"))
        .await
        .unwrap();
    let treasury = JournalEntry::transfer(
        Account::OperatorAdjustments,
        Account::OperatorTreasury,
        matic(),
        Amount::from_base_units(1000),
    )
    .unwrap();
    store
        .post_entry(&treasury, &meta("treasury"))
        .await
        .unwrap();
    let swap_meta = EntryMeta {
        kind: "swap",
        reason: "swap".to_owned(),
        created_at: NOW,
    };

    let first = swap_of(&merchant, "s-1", 10, 20);
    let stored = store
        .accept_swap(&first, &swap_entry(&first), &swap_meta, None)
        .await
        .unwrap();
    assert_eq!(stored, first);
    let payer = Account::MerchantAvailable(merchant.clone());
    assert_eq!(balance_of(store, &payer, &usdt()).await, 90);
    assert_eq!(balance_of(store, &payer, &matic()).await, 19);
    assert_eq!(
        balance_of(store, &Account::OperatorTreasury, &usdt()).await,
        10
    );
    assert_eq!(
        balance_of(store, &Account::OperatorTreasury, &matic()).await,
        980
    );
    assert_eq!(balance_of(store, &Account::OperatorFees, &matic()).await, 1);

    // The same order id again: the stored swap, nothing posted.
    let journal = store.journal_len().await.unwrap();
    let again = Swap {
        record_id: "rec-other".to_owned(),
        ..first.clone()
    };
    assert_eq!(
        store
            .accept_swap(&again, &swap_entry(&again), &swap_meta, None)
            .await
            .unwrap(),
        first
    );
    assert_eq!(store.journal_len().await.unwrap(), journal);

    // More than the treasury holds: refused by the ledger, no record.
    let short = swap_of(&merchant, "s-2", 10, 5000);
    match store
        .accept_swap(&short, &swap_entry(&short), &swap_meta, None)
        .await
    {
        Err(StoreError::Ledger(LedgerError::InsufficientBalance { account_key, .. })) => {
            assert_eq!(account_key, "operator:treasury");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        store
            .swap_by_merchant_order_id(&merchant, "s-2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.journal_len().await.unwrap(), journal);

    let later = Swap {
        created_at: NOW + 5,
        terms: SwapPricing {
            coin_out: usdt(),
            coin_in: matic(),
            amount_in: Amount::from_base_units(4),
            amount_out: Amount::from_base_units(3),
            ..first.terms.clone()
        },
        ..swap_of(&merchant, "s-3", 0, 0)
    };
    store
        .accept_swap(&later, &swap_entry(&later), &swap_meta, None)
        .await
        .unwrap();

    // A user's swap keeps its markup, which the merchant receives, and is
    // listed apart from the merchant's own (decisions §25.1).
    let user = Account::User(merchant.clone(), "alice1".to_owned());
    store
        .post_entry(
            &JournalEntry::transfer(
                Account::OperatorAdjustments,
                user.clone(),
                usdt(),
                Amount::from_base_units(10),
            )
            .unwrap(),
            &meta("fund the user"),
        )
        .await
        .unwrap();
    let merchant_matic = balance_of(store, &payer, &matic()).await;
    let by_user = Swap {
        user_id: Some("alice1".to_owned()),
        terms: SwapPricing {
            extra_fee: Amount::from_base_units(2),
            extra_fee_ppm: 100_000,
            ..swap_of(&merchant, "u-1", 10, 20).terms
        },
        ..swap_of(&merchant, "u-1", 10, 20)
    };
    store
        .accept_swap(&by_user, &swap_entry(&by_user), &swap_meta, None)
        .await
        .unwrap();
    assert_eq!(
        store.swap_by_record_id(&merchant, "rec-u-1").await.unwrap(),
        Some(by_user.clone())
    );
    assert_eq!(balance_of(store, &user, &usdt()).await, 0);
    assert_eq!(balance_of(store, &user, &matic()).await, 17);
    assert_eq!(
        balance_of(store, &payer, &matic()).await,
        merchant_matic + 2
    );

    assert_eq!(
        store.swap_by_record_id(&merchant, "rec-s-1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.swap_by_record_id(&other, "rec-s-1").await.unwrap(),
        None
    );
    let merchant_ref = &merchant;
    let list = |query: SwapQuery| async move {
        store
            .merchant_swaps(merchant_ref, &SwapQuery { limit: 20, ..query })
            .await
            .unwrap()
            .into_iter()
            .map(|swap| swap.merchant_order_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(SwapQuery::default()).await, ["s-3", "s-1"]);
    assert_eq!(
        list(SwapQuery {
            owner: SwapOwner::Users(None),
            ..SwapQuery::default()
        })
        .await,
        ["u-1"]
    );
    assert_eq!(
        list(SwapQuery {
            owner: SwapOwner::Users(Some("alice1".into())),
            ..SwapQuery::default()
        })
        .await,
        ["u-1"]
    );
    assert!(
        list(SwapQuery {
            owner: SwapOwner::Users(Some("bob001".into())),
            ..SwapQuery::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        list(SwapQuery {
            coin_out: Some(matic()),
            ..SwapQuery::default()
        })
        .await,
        ["s-1"]
    );
    assert_eq!(
        list(SwapQuery {
            record_ids: vec!["rec-s-3".into(), "nope".into()],
            ..SwapQuery::default()
        })
        .await,
        ["s-3"]
    );
    assert_eq!(
        list(SwapQuery {
            merchant_order_ids: vec!["s-1".into()],
            created_from: Some(NOW),
            created_to: Some(NOW),
            ..SwapQuery::default()
        })
        .await,
        ["s-1"]
    );
    assert_eq!(
        list(SwapQuery {
            after: Some((NOW + 5, "rec-s-3".into())),
            ..SwapQuery::default()
        })
        .await,
        ["s-1"]
    );
    assert!(
        store
            .merchant_swaps(
                &other,
                &SwapQuery {
                    limit: 20,
                    ..SwapQuery::default()
                }
            )
            .await
            .unwrap()
            .is_empty()
    );

    // Quotes: live until they expire; the latest for the same coins and
    // amount replaces the one before.
    let now_ms = NOW * 1000;
    let quote = SwapQuote {
        app_id: merchant.clone(),
        terms: first.terms.clone(),
        expires_at_ms: now_ms + 30_000,
    };
    store.save_swap_quote(&quote, now_ms).await.unwrap();
    let live = |at: i64| async move {
        store
            .live_swap_quote(
                merchant_ref,
                &usdt(),
                &matic(),
                Amount::from_base_units(10),
                at,
            )
            .await
            .unwrap()
    };
    assert_eq!(live(now_ms).await, Some(quote.clone()));
    assert_eq!(live(now_ms + 30_000).await, None);
    let newer = SwapQuote {
        terms: SwapPricing {
            amount_out: Amount::from_base_units(21),
            ..first.terms.clone()
        },
        expires_at_ms: now_ms + 40_000,
        ..quote.clone()
    };
    store
        .save_swap_quote(&newer, now_ms + 10_000)
        .await
        .unwrap();
    assert_eq!(live(now_ms + 35_000).await, Some(newer));
    assert_eq!(
        store
            .live_swap_quote(
                &other,
                &usdt(),
                &matic(),
                Amount::from_base_units(10),
                now_ms
            )
            .await
            .unwrap(),
        None
    );

    let audit = verify_ledger(store).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// One signed transaction per payout id, one payout per (wallet, nonce); a
/// refused payout frees its nonce.
async fn signed_payouts_are_insert_once(store: &dyn PayoutStore) {
    let payout = |id: &str, nonce: u64| SignedPayout {
        chain: "ETH".to_owned(),
        payout_id: id.to_owned(),
        from_address: "0xHot".to_owned(),
        nonce,
        txid: format!("0x{id}"),
        raw_tx: format!("0x02{id}"),
        created_at_ms: NOW,
        replacements: 0,
    };
    assert_eq!(store.signed_payout("ETH", "p1").await.unwrap(), None);
    assert_eq!(
        store.insert_signed_payout(&payout("p1", 7)).await.unwrap(),
        PayoutInsert::Inserted
    );
    // Signed again (another instance, or after a crash): the first one wins.
    let mut again = payout("p1", 8);
    again.txid = "0xother".to_owned();
    assert_eq!(
        store.insert_signed_payout(&again).await.unwrap(),
        PayoutInsert::Existing(payout("p1", 7))
    );
    assert_eq!(
        store.insert_signed_payout(&payout("p2", 7)).await.unwrap(),
        PayoutInsert::NonceTaken
    );
    let mut other_chain = payout("p2", 7);
    other_chain.chain = "BSC".to_owned();
    assert_eq!(
        store.insert_signed_payout(&other_chain).await.unwrap(),
        PayoutInsert::Inserted
    );
    assert_eq!(
        store.insert_signed_payout(&payout("p3", 9)).await.unwrap(),
        PayoutInsert::Inserted
    );
    assert_eq!(
        store.payout_nonces("ETH", "0xHot", 0, 10).await.unwrap(),
        [7, 9]
    );
    assert_eq!(
        store.payout_nonces("ETH", "0xHot", 8, 1).await.unwrap(),
        [9]
    );
    store.forget_signed_payout("ETH", "p1").await.unwrap();
    assert_eq!(
        store.payout_nonces("ETH", "0xHot", 0, 10).await.unwrap(),
        [9]
    );
    assert_eq!(store.signed_payout("ETH", "p1").await.unwrap(), None);
    assert_eq!(
        store.signed_payout("ETH", "p3").await.unwrap(),
        Some(payout("p3", 9))
    );
    assert_eq!(
        store.payout_by_txid("ETH", "0xp3").await.unwrap(),
        Some(payout("p3", 9))
    );
    assert_eq!(store.payout_by_txid("BSC", "0xp3").await.unwrap(), None);
    assert_eq!(store.payout_by_txid("ETH", "0xp1").await.unwrap(), None);
}

/// A stuck payout signed again: one replacement of a transaction wins, even
/// when two instances race; the replaced ones are kept in order.
async fn payout_replacements_are_guarded(store: &dyn PayoutStore) {
    let first = SignedPayout {
        chain: "ETH".to_owned(),
        payout_id: "p1".to_owned(),
        from_address: "0xHot".to_owned(),
        nonce: 3,
        txid: "0xfirst".to_owned(),
        raw_tx: "0x02first".to_owned(),
        created_at_ms: NOW,
        replacements: 0,
    };
    let signed_again = |txid: &str, replacements: u32| SignedPayout {
        txid: txid.to_owned(),
        raw_tx: format!("0x02{txid}"),
        created_at_ms: NOW + 60_000,
        replacements,
        ..first.clone()
    };
    assert_eq!(
        store.insert_signed_payout(&first).await.unwrap(),
        PayoutInsert::Inserted
    );
    let (by_a, by_b) = (signed_again("0xa", 1), signed_again("0xb", 1));
    let (a, b) = tokio::join!(
        store.replace_signed_payout(&first, &by_a),
        store.replace_signed_payout(&first, &by_b),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "exactly one replacement wins: {a} {b}");
    let winner = signed_again(if a { "0xa" } else { "0xb" }, 1);
    assert_eq!(
        store.signed_payout("ETH", "p1").await.unwrap(),
        Some(winner.clone())
    );
    // A replacement of a transaction that is no longer the newest is refused.
    assert!(
        !store
            .replace_signed_payout(&first, &signed_again("0xc", 1))
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_signed_payout(&winner, &signed_again("0xd", 2))
            .await
            .unwrap()
    );
    assert_eq!(
        store.replaced_payout_txids("ETH", "p1").await.unwrap(),
        ["0xfirst".to_owned(), winner.txid.clone()]
    );
    assert_eq!(
        store.signed_payout("ETH", "p1").await.unwrap(),
        Some(signed_again("0xd", 2))
    );
    assert_eq!(
        store.payout_by_txid("ETH", "0xd").await.unwrap(),
        Some(signed_again("0xd", 2))
    );
    // The nonce stays the payout's: no other payout can take it.
    assert_eq!(
        store.payout_nonces("ETH", "0xHot", 0, 10).await.unwrap(),
        [3]
    );
    let second = SignedPayout {
        payout_id: "p2".to_owned(),
        nonce: 4,
        txid: "0xsecond".to_owned(),
        ..first.clone()
    };
    store.insert_signed_payout(&second).await.unwrap();
    assert_eq!(
        store.signed_payouts("ETH", 10).await.unwrap(),
        [second.clone(), signed_again("0xd", 2)]
    );
    assert_eq!(store.signed_payouts("ETH", 1).await.unwrap(), [second]);
    assert!(store.signed_payouts("BSC", 10).await.unwrap().is_empty());
    assert!(
        store
            .replaced_payout_txids("ETH", "p2")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Block links kept and pruned; a roll-back moves the cursors back, forgets
/// uncredited payments above the fork, and reports one below credited blocks.
async fn chains_roll_back_to_the_fork<S: CreditStore + ReorgStore + SandboxStore + OutboxStore>(
    store: &S,
) {
    let link = |height: u64, branch: &str| BlockLink {
        height,
        hash: format!("{branch}{height}"),
        parent_hash: format!("{branch}{}", height.saturating_sub(1)),
    };
    assert_eq!(store.latest_block_link("ETH").await.unwrap(), None);
    let links: Vec<BlockLink> = (1..=10).map(|h| link(h, "a")).collect();
    store.record_block_links("ETH", &links, 3).await.unwrap();
    assert_eq!(
        store.latest_block_link("ETH").await.unwrap(),
        Some(link(10, "a"))
    );
    let down = store.block_links_down_from("ETH", 9, 100).await.unwrap();
    assert_eq!(down.first(), Some(&link(9, "a")));
    assert_eq!(down.last(), Some(&link(3, "a")), "links below 3 pruned");

    let merchant = MerchantId::new("app-reorg");
    let seen = |txid: &str, block_height: u64| SeenTransfer {
        chain: "ETH".into(),
        txid: txid.into(),
        log_index: 0,
        record_id: format!("record-{txid}"),
        app_id: merchant.clone(),
        order_id: None,
        block_height,
        block_time_ms: NOW_MS,
        seen_at_ms: NOW_MS,
        from_address: "0xfrom".into(),
        to_address: "0xto".into(),
        memo: String::new(),
        token_id: TokenId::new("usdt-erc20"),
        amount: Amount::from_base_units(5),
    };
    store.set_chain_cursor("ETH", 6).await.unwrap();
    store.set_seen_cursor("ETH", 10).await.unwrap();
    for (txid, height) in [("0xkept", 8), ("0xgone", 9)] {
        assert!(
            store
                .record_seen_transfer(&seen(txid, height), None)
                .await
                .unwrap()
        );
    }
    // Shallow: blocks 9 and 10 replaced, nothing credited there.
    assert_eq!(
        store.roll_back_chain("ETH", 8, NOW_MS, &[]).await.unwrap(),
        RollBack {
            dropped_unconfirmed: 1,
            flagged_credits: 0
        }
    );
    assert_eq!(
        store.latest_block_link("ETH").await.unwrap(),
        Some(link(8, "a"))
    );
    assert_eq!(store.seen_cursor("ETH").await.unwrap(), Some(8));
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), Some(6));
    assert!(
        store
            .seen_record_id("ETH", "0xgone", 0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .seen_record_id("ETH", "0xkept", 0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.reorg_incidents().await.unwrap().is_empty());

    // Deep: below the credited cursor; each credit there reported, kept.
    let credited = ChainTransfer {
        chain: "ETH".into(),
        txid: "0xcredited".into(),
        log_index: 2,
        block_height: 6,
        block_time_ms: NOW_MS,
        from_address: "0xfrom".into(),
        to_address: "0xto".into(),
        memo: String::new(),
        token_id: TokenId::new("usdt-erc20"),
        amount: Amount::from_base_units(5),
    };
    let entry = JournalEntry::transfer(
        custody(),
        Account::MerchantAvailable(merchant.clone()),
        usdt(),
        Amount::from_base_units(5),
    )
    .unwrap();
    let credit = DepositCredit {
        deposit: NewDeposit {
            record_id: "record-credited".into(),
            transfer: credited,
            app_id: merchant.clone(),
            user_id: None,
            order_id: None,
            coin_id: usdt(),
            service_fee: Amount::ZERO,
            credit_amount: Amount::from_base_units(5),
            credited_at: NOW,
        },
        entry,
        meta: meta("deposit"),
        webhook: webhook(&merchant, "record-credited", "DirectDeposit"),
    };
    assert_eq!(
        store
            .credit_deposits("ETH", Some(6), &[credit])
            .await
            .unwrap(),
        [true]
    );
    let failed = webhook(&merchant, "record-0xkept", "Invoice");
    let vanished = store.unconfirmed_payments_above("ETH", 4).await.unwrap();
    assert_eq!(vanished.len(), 1, "{vanished:?}");
    assert_eq!(
        (vanished[0].record_id.as_str(), vanished[0].transfer.amount),
        ("record-0xkept", Amount::from_base_units(5))
    );
    let outbox_before = store.webhook_counts().await.unwrap().pending;
    assert_eq!(
        store
            .roll_back_chain("ETH", 4, NOW_MS + 5, &[failed])
            .await
            .unwrap(),
        RollBack {
            dropped_unconfirmed: 1,
            flagged_credits: 1
        }
    );
    assert_eq!(store.chain_cursor("ETH").await.unwrap(), Some(4));
    assert_eq!(store.seen_cursor("ETH").await.unwrap(), Some(4));
    assert_eq!(
        store.webhook_counts().await.unwrap().pending,
        outbox_before + 1,
        "the failed notice queued with the roll-back"
    );
    let incidents = store.reorg_incidents().await.unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(
        (
            incidents[0].txid.as_str(),
            incidents[0].log_index,
            incidents[0].record_id.as_str()
        ),
        ("0xcredited", 2, "record-credited")
    );
    assert!(
        incidents[0].what.contains("the credit stands"),
        "{incidents:?}"
    );
    assert_eq!(incidents[0].at_ms, NOW_MS + 5);
}

#[tokio::test]
async fn sqlite_chains_roll_back_to_the_fork() {
    let dir = tempfile::tempdir().unwrap();
    chains_roll_back_to_the_fork(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_chains_roll_back_to_the_fork() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    chains_roll_back_to_the_fork(&pg.store(&MasterKey::generate()).await).await;
}

/// One signed transaction per sweep id and per (address, nonce); the addresses
/// worth a look are the credited ones; settling posts the gas once, in the
/// same DB transaction.
async fn sweeps_are_insert_once_and_settle_once<
    S: Store + AddressStore + CreditStore + SweepStore + PayoutStore + ReconcileStore,
>(
    store: &S,
) {
    let merchant = new_merchant(store).await;
    for (address, index) in [("0xA", 3), ("0xB", 4), ("0xC", 5)] {
        let owned = DepositAddress {
            wallet_user: false,
            chain: "ETH".into(),
            address: address.into(),
            app_id: merchant.clone(),
            user_id: Some(format!("user-{index}")),
            order_id: None,
            notify_url: None,
            derivation_index: index,
            dialect: ccgate_store::WebhookDialect::V1,
        };
        store.insert_permanent_address(&owned, NOW).await.unwrap();
    }
    // 0xA and 0xC were paid; 0xB never was.
    for (address, txid) in [("0xA", "0x0a"), ("0xC", "0x0c")] {
        credit_one(store, &merchant, address, txid, 1).await;
    }
    assert_eq!(
        store
            .credited_deposit_addresses("ETH", "", 10)
            .await
            .unwrap(),
        [("0xA".to_owned(), 3), ("0xC".to_owned(), 5)]
    );
    assert_eq!(
        store
            .credited_deposit_addresses("ETH", "0xA", 1)
            .await
            .unwrap(),
        [("0xC".to_owned(), 5)]
    );
    assert!(
        store
            .credited_deposit_addresses("BSC", "", 10)
            .await
            .unwrap()
            .is_empty()
    );

    let sweep = |nonce: u64| SignedSweep {
        chain: "ETH".to_owned(),
        sweep_id: format!("0xA:{nonce}"),
        from_address: "0xA".to_owned(),
        to_address: "0xHot".to_owned(),
        token_id: "usdt-eth".to_owned(),
        amount: Amount::from_base_units(u128::MAX),
        nonce,
        txid: format!("0x{nonce}"),
        raw_tx: format!("0x02{nonce}"),
        top_up_payout_id: Some(format!("sweep-top-up:0xA:{nonce}")),
        created_at_ms: NOW_MS + i64::try_from(nonce).unwrap(),
    };
    assert_eq!(
        store.insert_signed_sweep(&sweep(0)).await.unwrap(),
        SweepInsert::Inserted
    );
    // Signed again (another instance, or after a crash): the first one wins.
    let again = SignedSweep {
        txid: "0xother".to_owned(),
        ..sweep(0)
    };
    assert_eq!(
        store.insert_signed_sweep(&again).await.unwrap(),
        SweepInsert::Existing(Box::new(sweep(0)))
    );
    let same_nonce = SignedSweep {
        sweep_id: "0xA:other".to_owned(),
        ..sweep(0)
    };
    assert_eq!(
        store.insert_signed_sweep(&same_nonce).await.unwrap(),
        SweepInsert::NonceTaken
    );
    assert_eq!(store.open_sweeps("ETH").await.unwrap(), [sweep(0)]);

    // Settled once: the gas posted with it; a second settlement posts nothing.
    let entries_before = store.journal_len().await.unwrap();
    let gas = JournalEntry::transfer(
        Account::OperatorNetworkCosts,
        custody(),
        usdt(),
        Amount::from_base_units(21_000),
    )
    .unwrap();
    let settlement = SweepSettlement {
        succeeded: true,
        gas_cost: Amount::from_base_units(21_000),
        settled_at_ms: NOW_MS + 5,
    };
    for expected in [true, false] {
        assert_eq!(
            store
                .settle_sweep(
                    "ETH",
                    "0xA:0",
                    &settlement,
                    Some((&gas, &meta("sweep gas")))
                )
                .await
                .unwrap(),
            expected
        );
    }
    assert_eq!(store.journal_len().await.unwrap(), entries_before + 1);
    assert!(store.open_sweeps("ETH").await.unwrap().is_empty());
    let balances = store.all_balances().await.unwrap();
    let costs = &balances[&(Account::OperatorNetworkCosts, usdt())];
    assert_eq!(costs.debits_posted, Amount::from_base_units(21_000));

    // A refused sweep is forgotten, its nonce free again; a settled one stays.
    let refused = SignedSweep {
        top_up_payout_id: None,
        ..sweep(1)
    };
    store.insert_signed_sweep(&refused).await.unwrap();
    store.forget_signed_sweep("ETH", "0xA:1").await.unwrap();
    store.forget_signed_sweep("ETH", "0xA:0").await.unwrap();
    assert_eq!(
        store.insert_signed_sweep(&sweep(1)).await.unwrap(),
        SweepInsert::Inserted
    );
    let listed = store.sweeps("ETH", 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!((&listed[0].sweep, &listed[0].settled), (&sweep(1), &None));
    assert_eq!(
        (&listed[1].sweep, &listed[1].settled),
        (&sweep(0), &Some(settlement))
    );
    assert_eq!(store.sweeps("ETH", 1).await.unwrap().len(), 1);
    // One address and token's sweeps: how its last attempts ended.
    let of_a = store.sweeps_of("ETH", "0xA", "usdt-eth", 10).await.unwrap();
    assert_eq!(of_a, listed);
    assert_eq!(
        store
            .sweeps_of("ETH", "0xA", "usdt-eth", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .sweeps_of("ETH", "0xA", "eth", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .sweeps_of("ETH", "0xB", "usdt-eth", 10)
            .await
            .unwrap()
            .is_empty()
    );
    sweep_due_follows_credits(store, &merchant).await;
    reconciliation_reads_and_records(store).await;
    // A block crediting an address more than once counts each deposit,
    // also when one statement writes them all.
    credit_together(
        store,
        &merchant,
        &[("0xA", "0x0a3"), ("0xC", "0x0c2"), ("0xA", "0x0a4")],
        3,
    )
    .await;
    assert_eq!(
        store
            .addresses_due_for_sweep("ETH", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.address, d.credits))
            .collect::<Vec<_>>(),
        [("0xA".to_owned(), 4), ("0xC".to_owned(), 2)]
    );
    assert!(verify_ledger(store).await.unwrap().mismatches.is_empty());
}

/// Credits one unit to `address` in block `height` (a Direct Deposit webhook
/// queued with it).
async fn credit_one<S: CreditStore>(
    store: &S,
    merchant: &MerchantId,
    address: &str,
    txid: &str,
    height: u64,
) {
    credit_together(store, merchant, &[(address, txid)], height).await;
}

/// Credits one unit per `(address, txid)` in block `height`, all in one
/// batch (one statement per table: what the deposit watcher writes a block with).
async fn credit_together<S: CreditStore>(
    store: &S,
    merchant: &MerchantId,
    deposits: &[(&str, &str)],
    height: u64,
) {
    let credits: Vec<DepositCredit> = deposits
        .iter()
        .map(|(address, txid)| {
            let transfer = ChainTransfer {
                to_address: (*address).into(),
                ..devnet_transfer(txid, height)
            };
            let record_id = format!("record-{txid}");
            DepositCredit {
                deposit: NewDeposit {
                    record_id: record_id.clone(),
                    transfer,
                    app_id: merchant.clone(),
                    user_id: None,
                    order_id: None,
                    coin_id: usdt(),
                    service_fee: Amount::ZERO,
                    credit_amount: Amount::from_base_units(1),
                    credited_at: NOW,
                },
                entry: move_units(custody(), Account::MerchantAvailable(merchant.clone()), 1),
                meta: meta("deposit"),
                webhook: webhook(merchant, &record_id, "Direct Deposit"),
            }
        })
        .collect();
    store.credit_deposits("ETH", None, &credits).await.unwrap();
}

/// Every listener hears a commit that queued webhooks, whichever connection
/// made it: the wake-up other instances' delivery waits on.
#[tokio::test]
async fn pg_outbox_inserts_notify_every_listener() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let store = pg.store(&MasterKey::generate()).await;
    let merchant = new_merchant(&store).await;
    let heard = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&heard);
    let listening = store.clone();
    let listener = tokio::spawn(async move {
        listening
            .follow_outbox_inserts(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
            .await
    });
    // The listener subscribes on its own connection: credit until it has
    // heard one (its LISTEN may come after the first commits).
    for attempt in 0..100 {
        credit_one(&store, &merchant, "0xN", &format!("0xn{attempt}"), 1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        if heard.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
    }
    assert!(
        heard.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "no notification heard"
    );
    assert!(!listener.is_finished(), "{:?}", listener.await);
    listener.abort();
}

/// The sweeper's due list: addresses credited since their last look that
/// found nothing to sweep (0xA and 0xC were credited once each, 0xB never).
async fn sweep_due_follows_credits<S: CreditStore + SweepStore>(store: &S, merchant: &MerchantId) {
    let due = |list: Vec<ccgate_store::SweepDue>| {
        list.into_iter()
            .map(|d| (d.address, d.derivation_index, d.credits))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        due(store.addresses_due_for_sweep("ETH", 10).await.unwrap()),
        [("0xA".to_owned(), 3, 1), ("0xC".to_owned(), 5, 1)]
    );
    assert!(
        store
            .addresses_due_for_sweep("BSC", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing to sweep at 0xA: not due until its next credit. 0xC still
    // had something (not cleared): due, behind the never looked at.
    store
        .record_sweep_look("ETH", "0xA", 1, true, NOW_MS)
        .await
        .unwrap();
    store
        .record_sweep_look("ETH", "0xC", 1, false, NOW_MS)
        .await
        .unwrap();
    assert_eq!(
        due(store.addresses_due_for_sweep("ETH", 10).await.unwrap()),
        [("0xC".to_owned(), 5, 1)]
    );
    credit_one(store, merchant, "0xA", "0x0a2", 2).await;
    // Least recently looked at first: 0xA (looked at NOW_MS + 0) ties 0xC,
    // by address; a look with an older count never clears the newer credit.
    store
        .record_sweep_look("ETH", "0xA", 1, true, NOW_MS + 1)
        .await
        .unwrap();
    assert_eq!(
        due(store.addresses_due_for_sweep("ETH", 10).await.unwrap()),
        [("0xC".to_owned(), 5, 1), ("0xA".to_owned(), 3, 2)]
    );
    store
        .record_sweep_look("ETH", "0xA", 2, true, NOW_MS + 2)
        .await
        .unwrap();
    store
        .record_sweep_look("ETH", "0xC", 1, true, NOW_MS + 2)
        .await
        .unwrap();
    assert!(
        store
            .addresses_due_for_sweep("ETH", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// What balance reconciliation reads of 0xA (credited once, swept twice)
/// and records per address.
async fn reconciliation_reads_and_records<S: PayoutStore + ReconcileStore>(store: &S) {
    let credited = store
        .deposits_to_address("ETH", "0xA", "usdt-eth")
        .await
        .unwrap();
    assert_eq!(
        credited
            .iter()
            .map(|d| (d.block_height, d.amount.base_units(), d.txid.as_str()))
            .collect::<Vec<_>>(),
        [(1, 1, "0x0a"), (2, 1, "0x0a2")]
    );
    assert!(
        store
            .deposits_to_address("ETH", "0xA", "eth")
            .await
            .unwrap()
            .is_empty()
    );
    let nonces: Vec<u64> = store
        .sweeps_from("ETH", "0xA")
        .await
        .unwrap()
        .iter()
        .map(|record| record.sweep.nonce)
        .collect();
    assert_eq!(nonces, [0, 1]);
    // Top-ups by their payout id: 0xAB's share 0xA's first characters only.
    for (payout_id, nonce) in [
        ("sweep-top-up:0xA:0", 7),
        ("sweep-top-up:0xAB:0", 8),
        ("withdrawal-1", 9),
    ] {
        let payout = SignedPayout {
            chain: "ETH".into(),
            payout_id: payout_id.into(),
            from_address: "0xHOT".into(),
            nonce,
            txid: format!("0x{nonce:064x}"),
            raw_tx: "0x00".into(),
            created_at_ms: NOW_MS,
            replacements: 0,
        };
        store.insert_signed_payout(&payout).await.unwrap();
    }
    let top_ups = store.top_ups_to("ETH", "0xA").await.unwrap();
    assert_eq!(
        top_ups
            .iter()
            .map(|p| p.payout_id.as_str())
            .collect::<Vec<_>>(),
        ["sweep-top-up:0xA:0"]
    );

    // Made (or credited) at NOW: active since then, not after.
    let due = |targets: Vec<ccgate_store::ReconcileTarget>| {
        targets
            .into_iter()
            .map(|t| (t.address, t.checked_height))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        due(store.addresses_to_reconcile("ETH", NOW, 10).await.unwrap()),
        [
            ("0xA".to_owned(), None),
            ("0xB".to_owned(), None),
            ("0xC".to_owned(), None)
        ]
    );
    assert!(
        store
            .addresses_to_reconcile("ETH", NOW + 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Checked ones wait behind the never checked; a check never moves back.
    store
        .record_reconciled("ETH", "0xA", 5, NOW_MS)
        .await
        .unwrap();
    store
        .record_reconciled("ETH", "0xA", 3, NOW_MS + 1)
        .await
        .unwrap();
    assert_eq!(
        due(store.addresses_to_reconcile("ETH", NOW, 2).await.unwrap()),
        [("0xB".to_owned(), None), ("0xC".to_owned(), None)]
    );
    assert_eq!(
        due(store.addresses_to_reconcile("ETH", NOW, 10).await.unwrap())[2],
        ("0xA".to_owned(), Some(5))
    );
    // A shortfall is listed until a later check agrees.
    store
        .record_shortfall("ETH", "0xC", Amount::from_base_units(42), 9, NOW_MS)
        .await
        .unwrap();
    let shortfalls = store.shortfalls("ETH").await.unwrap();
    assert_eq!(
        shortfalls
            .iter()
            .map(|s| (s.address.as_str(), s.amount.base_units(), s.height))
            .collect::<Vec<_>>(),
        [("0xC", 42, 9)]
    );
    assert!(store.shortfalls("BSC").await.unwrap().is_empty());
    store
        .record_reconciled("ETH", "0xC", 10, NOW_MS)
        .await
        .unwrap();
    assert!(store.shortfalls("ETH").await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_sweeps_are_insert_once_and_settle_once() {
    let dir = tempfile::tempdir().unwrap();
    sweeps_are_insert_once_and_settle_once(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_sweeps_are_insert_once_and_settle_once() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    sweeps_are_insert_once_and_settle_once(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_signed_payouts_are_insert_once() {
    let dir = tempfile::tempdir().unwrap();
    signed_payouts_are_insert_once(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_signed_payouts_are_insert_once() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    signed_payouts_are_insert_once(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_payout_replacements_are_guarded() {
    let dir = tempfile::tempdir().unwrap();
    payout_replacements_are_guarded(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_payout_replacements_are_guarded() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    payout_replacements_are_guarded(&pg.store(&MasterKey::generate()).await).await;
}

/// A claim is fair: at most `per_merchant_max` of a merchant's webhooks are
/// under claim at once, counting claims still held from before; a merchant
/// at its cap is skipped, so the others' webhooks are claimed beside it.
async fn claims_take_a_few_per_merchant<S: CreditStore + OutboxStore>(store: &S) {
    let flooder = MerchantId::new(generate_app_id(NOW));
    let other = MerchantId::new(generate_app_id(NOW + 1));
    // The flooder's ten fall due before the other's one.
    queue_webhooks(store, &flooder, "flood", 10).await;
    store
        .record_seen_transfer(
            &seen("0xother", "other-0", &other),
            Some(&webhook(&other, "other-0", "Withdraw")),
        )
        .await
        .unwrap();
    let merchants = |claimed: &[ccgate_store::OutboxWebhook]| {
        let mut per_merchant: Vec<(String, usize)> = Vec::new();
        for webhook in claimed {
            match per_merchant
                .iter_mut()
                .find(|(app_id, _)| app_id == webhook.app_id.as_str())
            {
                Some((_, count)) => *count += 1,
                None => per_merchant.push((webhook.app_id.as_str().to_owned(), 1)),
            }
        }
        per_merchant.sort();
        per_merchant
    };
    let mut expected = vec![
        (flooder.as_str().to_owned(), 4),
        (other.as_str().to_owned(), 1),
    ];
    expected.sort();
    let first = store
        .claim_due_webhooks(NOW_MS, 30_000, 64, 4)
        .await
        .unwrap();
    assert_eq!(
        merchants(&first),
        expected,
        "four of the flood, and the other's one"
    );
    assert!(
        first
            .iter()
            .filter(|webhook| webhook.app_id == flooder)
            .all(|webhook| webhook.record_id.as_str() < "flood-4"),
        "the earliest due first: {first:?}"
    );
    // While those four claims hold, the flooder is at its cap.
    assert!(
        store
            .claim_due_webhooks(NOW_MS + 1, 30_000, 64, 4)
            .await
            .unwrap()
            .is_empty()
    );
    // One attempt frees one slot (a retry waits, and is not a claim).
    let done = first
        .iter()
        .find(|webhook| webhook.app_id == flooder)
        .unwrap();
    store
        .record_webhook_attempt(
            done.id,
            &WebhookAttempt {
                attempt: 1,
                at_ms: NOW_MS + 2,
                http_status: None,
                latency_ms: 2,
                outcome: "timed out".into(),
                response_head: String::new(),
            },
            WebhookNext::RetryAt {
                at_ms: NOW_MS + 60_000,
            },
        )
        .await
        .unwrap();
    let second = store
        .claim_due_webhooks(NOW_MS + 2, 30_000, 64, 4)
        .await
        .unwrap();
    assert_eq!(merchants(&second), vec![(flooder.as_str().to_owned(), 1)]);
    // A handed-back claim frees its slot too.
    let held: Vec<i64> = first
        .iter()
        .filter(|webhook| webhook.app_id == flooder && webhook.id != done.id)
        .map(|webhook| webhook.id)
        .collect();
    assert_eq!(
        store
            .release_webhooks(&held, NOW_MS + 30_000, NOW_MS + 3)
            .await
            .unwrap(),
        3
    );
    let third = store
        .claim_due_webhooks(NOW_MS + 3, 30_000, 64, 4)
        .await
        .unwrap();
    assert_eq!(merchants(&third), vec![(flooder.as_str().to_owned(), 3)]);
    // Claims whose lease ran out hold nothing: the cap is free again, and
    // the overall limit still applies.
    let after_leases = store
        .claim_due_webhooks(NOW_MS + 40_000, 30_000, 2, 4)
        .await
        .unwrap();
    assert_eq!(
        merchants(&after_leases),
        vec![(flooder.as_str().to_owned(), 2)]
    );
}

/// One commit records finished attempts and claims again (decisions §27):
/// the slots the attempts free are claimed in the same call, the attempts
/// are logged with what each means for its webhook, and a batch that cannot
/// be recorded whole records nothing and claims nothing.
async fn attempts_and_the_next_claim_commit_together<S: CreditStore + OutboxStore>(store: &S) {
    let merchant = MerchantId::new(generate_app_id(NOW));
    queue_webhooks(store, &merchant, "batch", 10).await;
    let claim = |now_ms| WebhookClaim {
        now_ms,
        lease_ms: 30_000,
        limit: 64,
        per_merchant_max: 4,
        spare_slots: 0,
    };
    let first = store
        .record_and_claim_webhooks(&[], &claim(NOW_MS))
        .await
        .unwrap();
    assert_eq!(first.len(), 4, "the merchant's cap: {first:?}");
    // A batch naming a webhook that does not exist fails whole.
    let broken = [
        (
            first[0].id,
            answered_attempt(1, "delivered"),
            WebhookNext::Delivered,
        ),
        (
            i64::MAX,
            answered_attempt(1, "delivered"),
            WebhookNext::Delivered,
        ),
    ];
    assert!(
        store
            .record_and_claim_webhooks(&broken, &claim(NOW_MS + 1))
            .await
            .is_err()
    );
    let (row, attempts) = store
        .webhook_with_attempts(first[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), attempts.len()), ("pending", 0));
    // Two finished: one delivered, one to retry later. Their two slots are
    // claimed again in the same commit, the next due first.
    let settled = [
        (
            first[0].id,
            answered_attempt(1, "delivered"),
            WebhookNext::Delivered,
        ),
        (
            first[1].id,
            answered_attempt(1, "HTTP 500"),
            WebhookNext::RetryAt {
                at_ms: NOW_MS + 60_000,
            },
        ),
    ];
    let second = store
        .record_and_claim_webhooks(&settled, &claim(NOW_MS + 2))
        .await
        .unwrap();
    let records: Vec<&str> = second.iter().map(|w| w.record_id.as_str()).collect();
    assert_eq!(records, ["batch-4", "batch-5"]);
    let (delivered, log) = store
        .webhook_with_attempts(first[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (delivered.status.as_str(), delivered.attempts),
        ("delivered", 1)
    );
    assert_eq!(log, [answered_attempt(1, "delivered")]);
    let (retried, log) = store
        .webhook_with_attempts(first[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (retried.status.as_str(), retried.next_attempt_at_ms),
        ("pending", NOW_MS + 60_000)
    );
    assert_eq!(log, [answered_attempt(1, "HTTP 500")]);
    // Attempts alone claim nothing.
    assert!(
        store
            .record_and_claim_webhooks(
                &[(
                    first[2].id,
                    answered_attempt(1, "delivered"),
                    WebhookNext::Delivered
                )],
                &WebhookClaim::NONE
            )
            .await
            .unwrap()
            .is_empty()
    );
}

/// A claimed webhook names where it goes (decisions §41): its own URL, or
/// its merchant's webhook URL as it is at the claim, or none if neither is
/// set; delivery reads no settings of its own.
async fn claims_name_each_webhook_s_url<S>(store: &S)
where
    S: Store + CreditStore + OutboxStore + MerchantSettingsStore,
{
    let with_url = MerchantId::new(generate_app_id(NOW));
    let without = MerchantId::new(generate_app_id(NOW + 1));
    for (app_id, name) in [(&with_url, "hooked"), (&without, "unhooked")] {
        store
            .create_merchant(app_id, &generate_app_secret(), name, NOW, None)
            .await
            .unwrap();
    }
    let set_url = |url: &'static str| {
        store.set_merchant_webhook(
            &with_url,
            Some(url),
            false,
            ccgate_store::WebhookDialect::V1,
            None,
        )
    };
    set_url("https://shop.example/old").await.unwrap();
    let mut own = webhook(&with_url, "own-0", "Withdraw");
    own.url = Some("https://notify.example/order".to_owned());
    for (txid, record_id, app_id, webhook) in [
        ("0xa", "own-0", &with_url, own),
        (
            "0xb",
            "merchant-0",
            &with_url,
            webhook(&with_url, "merchant-0", "Withdraw"),
        ),
        (
            "0xc",
            "none-0",
            &without,
            webhook(&without, "none-0", "Withdraw"),
        ),
    ] {
        store
            .record_seen_transfer(&seen(txid, record_id, app_id), Some(&webhook))
            .await
            .unwrap();
    }
    // Changed after queueing, before the claim: the claim reads it.
    set_url("https://shop.example/new").await.unwrap();
    let claimed = store
        .claim_due_webhooks(NOW_MS, 30_000, 10, 10)
        .await
        .unwrap();
    let urls: Vec<(&str, Option<&str>)> = claimed
        .iter()
        .map(|webhook| (webhook.record_id.as_str(), webhook.url.as_deref()))
        .collect();
    assert_eq!(
        urls,
        [
            ("own-0", Some("https://notify.example/order")),
            ("merchant-0", Some("https://shop.example/new")),
            ("none-0", None),
        ]
    );
}

on_both_backends!(claims_name_each_webhook_s_url);

/// A claim whose commit is still to come (decisions §50): its webhooks are
/// returned and held from other claims, yet nothing of it is visible or
/// durable until the commit; dropped uncommitted, it never happened — the
/// attempts it recorded included.
async fn a_pending_claim_counts_only_once_committed<S: CreditStore + OutboxStore>(store: &S) {
    let merchant = MerchantId::new(generate_app_id(NOW));
    queue_webhooks(store, &merchant, "pending", 3).await;
    let claim = |now_ms| WebhookClaim {
        now_ms,
        lease_ms: 30_000,
        limit: 2,
        per_merchant_max: 4,
        spare_slots: 0,
    };
    let first = store
        .record_and_claim_webhooks(&[], &claim(NOW_MS))
        .await
        .unwrap();
    let delivered = (
        first[0].id,
        answered_attempt(1, "delivered"),
        WebhookNext::Delivered,
    );
    let ids = |webhooks: &[OutboxWebhook]| webhooks.iter().map(|w| w.id).collect::<Vec<_>>();

    let dropped = store
        .record_and_claim_pending(std::slice::from_ref(&delivered), &claim(NOW_MS + 1))
        .await
        .unwrap();
    assert_eq!(dropped.webhooks.len(), 1, "the one slot the attempt freed");
    let (row, log) = store
        .webhook_with_attempts(first[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status.as_str(), log.len()),
        ("pending", 0),
        "uncommitted, the attempt is not seen"
    );
    let claimed = dropped.webhooks.clone();
    drop(dropped);
    let (row, log) = store
        .webhook_with_attempts(first[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), log.len()), ("pending", 0));

    let kept = store
        .record_and_claim_pending(std::slice::from_ref(&delivered), &claim(NOW_MS + 2))
        .await
        .unwrap();
    assert_eq!(
        ids(&kept.webhooks),
        ids(&claimed),
        "rolled back: the same one again"
    );
    let kept_ids = ids(&kept.webhooks);
    kept.commit.commit().await.unwrap();
    let (row, log) = store
        .webhook_with_attempts(first[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), log.len()), ("delivered", 1));
    let (claimed_row, _) = store
        .webhook_with_attempts(kept_ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed_row.next_attempt_at_ms, NOW_MS + 2 + 30_000);
    // Every webhook is held or delivered now: nothing left to claim.
    assert!(
        store
            .record_and_claim_webhooks(&[], &claim(NOW_MS + 3))
            .await
            .unwrap()
            .is_empty()
    );
}

on_both_backends!(a_pending_claim_counts_only_once_committed);

/// Whatever a receiver answers is logged (its first bytes), on both
/// backends: a NUL, which PostgreSQL's text cannot hold (the batch of
/// attempts failed whole, and its webhooks were sent again), is replaced;
/// quotes, backslashes and any other character come back as sent.
async fn any_answer_is_logged<S: CreditStore + OutboxStore>(store: &S) {
    let merchant = MerchantId::new(generate_app_id(NOW));
    let record_id = "odd-answer";
    store
        .record_seen_transfer(
            &seen("0xd0", record_id, &merchant),
            Some(&webhook(&merchant, record_id, "Withdraw")),
        )
        .await
        .unwrap();
    let claimed = store
        .claim_due_webhooks(NOW_MS, 30_000, 1, 4)
        .await
        .unwrap();
    let answer = "no\0pe \"quoted\" back\\slash \u{1F600}";
    let attempt = WebhookAttempt {
        attempt: 1,
        at_ms: NOW_MS,
        http_status: None,
        latency_ms: 3,
        outcome: "HTTP 500: \"busy\"".to_owned(),
        response_head: answer.to_owned(),
    };
    store
        .record_webhook_attempts(&[(
            claimed[0].id,
            attempt.clone(),
            WebhookNext::RetryAt {
                at_ms: NOW_MS + 30_000,
            },
        )])
        .await
        .unwrap();
    let (row, log) = store
        .webhook_with_attempts(claimed[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status.as_str(), row.next_attempt_at_ms),
        ("pending", NOW_MS + 30_000)
    );
    assert_eq!(
        log,
        [WebhookAttempt {
            response_head: answer.replace('\0', "\u{FFFD}"),
            ..attempt
        }]
    );
}

on_both_backends!(any_answer_is_logged);

#[tokio::test]
async fn sqlite_attempts_and_the_next_claim_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    attempts_and_the_next_claim_commit_together(&sqlite_store(&dir, &MasterKey::generate()).await)
        .await;
}

#[tokio::test]
async fn pg_attempts_and_the_next_claim_commit_together() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    attempts_and_the_next_claim_commit_together(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_claims_take_a_few_per_merchant() {
    let dir = tempfile::tempdir().unwrap();
    claims_take_a_few_per_merchant(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_claims_take_a_few_per_merchant() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    claims_take_a_few_per_merchant(&pg.store(&MasterKey::generate()).await).await;
}

/// A claim takes, of each merchant's earliest due webhooks (due time, then
/// id) up to its room under the cap, the earliest `limit` overall: ties of
/// due time go by id, a merchant's later webhooks wait behind its earlier
/// ones, and what the limit cut is taken by the next claim.
async fn claims_follow_due_order<S: CreditStore + OutboxStore>(store: &S) {
    let tied = MerchantId::new(generate_app_id(NOW));
    let spread = MerchantId::new(generate_app_id(NOW + 1));
    let later = MerchantId::new(generate_app_id(NOW + 2));
    let queue = [
        (&tied, "tied-0", -50),
        (&spread, "spread-late", -10),
        (&tied, "tied-1", -50),
        (&spread, "spread-early", -90),
        (&later, "later-0", 1_000),
        (&tied, "tied-2", -50),
        (&spread, "spread-middle", -30),
        (&tied, "tied-3", -50),
    ];
    for (i, (merchant, record_id, due_in_ms)) in queue.into_iter().enumerate() {
        let mut webhook = webhook(merchant, record_id, "Withdraw");
        webhook.created_at_ms = NOW_MS + due_in_ms;
        store
            .record_seen_transfer(
                &seen(&format!("0xdue{i}"), record_id, merchant),
                Some(&webhook),
            )
            .await
            .unwrap();
    }
    let claimed = |claim: &[ccgate_store::OutboxWebhook]| {
        let mut by_id: Vec<_> = claim.iter().map(|w| (w.id, w.record_id.clone())).collect();
        by_id.sort();
        by_id
            .into_iter()
            .map(|(_, record_id)| record_id)
            .collect::<Vec<_>>()
    };
    // Candidates: tied-0, tied-1 (the cap of 2, by id among equal due
    // times), spread-early, spread-middle; the earliest three are taken.
    let first = store
        .claim_due_webhooks(NOW_MS, 30_000, 3, 2)
        .await
        .unwrap();
    assert_eq!(claimed(&first), ["tied-0", "tied-1", "spread-early"]);
    // `tied` is at its cap; `spread` holds one, so one more of its own.
    let second = store
        .claim_due_webhooks(NOW_MS, 30_000, 64, 2)
        .await
        .unwrap();
    assert_eq!(claimed(&second), ["spread-middle"]);
    // Once the leases ran out, the claims hold nothing and their webhooks
    // are due from the lease's end: behind each merchant's never-claimed
    // ones. `later`'s is due by then too.
    let third = store
        .claim_due_webhooks(NOW_MS + 40_000, 30_000, 64, 2)
        .await
        .unwrap();
    assert_eq!(
        claimed(&third),
        ["spread-late", "spread-early", "later-0", "tied-2", "tied-3"]
    );
}

#[tokio::test]
async fn sqlite_claims_follow_due_order() {
    let dir = tempfile::tempdir().unwrap();
    claims_follow_due_order(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_claims_follow_due_order() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    claims_follow_due_order(&pg.store(&MasterKey::generate()).await).await;
}

/// A claim lends spare slots (decisions §38): a merchant may hold more than
/// `per_merchant_max` — an equal part of the claim's spare slots among the
/// merchants with pending webhooks — so a merchant alone is not held to the
/// cap; one whose claims all hold (a receiver that never answers) gets no
/// more than its part, and a merchant whose webhooks come next still gets its
/// own.
async fn spare_slots_are_shared_by_the_merchants_waiting<S: CreditStore + OutboxStore>(store: &S) {
    let hanging = MerchantId::new(generate_app_id(NOW));
    let next = MerchantId::new(generate_app_id(NOW + 1));
    let queue = |merchant: &MerchantId, prefix: &str, count: i64, due_from_ms: i64| {
        let merchant = merchant.clone();
        let prefix = prefix.to_owned();
        async move {
            for i in 0..count {
                let record_id = format!("{prefix}-{i:02}");
                let mut webhook = webhook(&merchant, &record_id, "Withdraw");
                webhook.created_at_ms = due_from_ms + i;
                store
                    .record_seen_transfer(
                        &seen(&format!("0x{prefix}{i}"), &record_id, &merchant),
                        Some(&webhook),
                    )
                    .await
                    .unwrap();
            }
        }
    };
    let per_merchant = |claimed: &[ccgate_store::OutboxWebhook]| {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for webhook in claimed {
            match counts
                .iter_mut()
                .find(|(app_id, _)| app_id == webhook.app_id.as_str())
            {
                Some((_, count)) => *count += 1,
                None => counts.push((webhook.app_id.as_str().to_owned(), 1)),
            }
        }
        counts.sort();
        counts
    };
    let claim = |now_ms, limit, spare_slots| WebhookClaim {
        now_ms,
        lease_ms: 30_000,
        limit,
        per_merchant_max: 2,
        spare_slots,
    };
    queue(&hanging, "hang", 30, NOW_MS - 100).await;

    // Alone: its part of 16 spare slots is all of them, not the cap of 2.
    let first = store
        .record_and_claim_webhooks(&[], &claim(NOW_MS, 32, 16))
        .await
        .unwrap();
    let mut records: Vec<&str> = first.iter().map(|w| w.record_id.as_str()).collect();
    records.sort_unstable();
    let earliest: Vec<String> = (0..16).map(|i| format!("hang-{i:02}")).collect();
    assert_eq!(records, earliest, "the earliest due, past the cap");
    // Its 16 claims hold (no answer): a part of 8 spare slots is less than
    // what it holds, so it gets nothing more.
    assert!(
        store
            .record_and_claim_webhooks(&[], &claim(NOW_MS + 1, 16, 8))
            .await
            .unwrap()
            .is_empty()
    );

    // Another merchant's webhooks come: two merchants wait, each may hold
    // half of the 8 spare slots; the hanging one already holds more.
    queue(&next, "next", 10, NOW_MS - 50).await;
    let second = store
        .record_and_claim_webhooks(&[], &claim(NOW_MS + 2, 16, 8))
        .await
        .unwrap();
    assert_eq!(per_merchant(&second), vec![(next.as_str().to_owned(), 4)]);
    // Without spare slots the cap holds: both are past it.
    assert!(
        store
            .claim_due_webhooks(NOW_MS + 3, 30_000, 12, 2)
            .await
            .unwrap()
            .is_empty()
    );

    // Once the leases ran out, both wait with plenty free: the spare slots
    // are split equally, whatever each one's backlog.
    let third = store
        .record_and_claim_webhooks(&[], &claim(NOW_MS + 40_000, 128, 16))
        .await
        .unwrap();
    let mut expected = vec![
        (hanging.as_str().to_owned(), 8),
        (next.as_str().to_owned(), 8),
    ];
    expected.sort();
    assert_eq!(per_merchant(&third), expected);
}

#[tokio::test]
async fn sqlite_spare_slots_are_shared_by_the_merchants_waiting() {
    let dir = tempfile::tempdir().unwrap();
    spare_slots_are_shared_by_the_merchants_waiting(
        &sqlite_store(&dir, &MasterKey::generate()).await,
    )
    .await;
}

#[tokio::test]
async fn pg_spare_slots_are_shared_by_the_merchants_waiting() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    spare_slots_are_shared_by_the_merchants_waiting(&pg.store(&MasterKey::generate()).await).await;
}

/// `ccgate order list` and `ccgate withdrawal list`: newest first, each filter
/// narrowing, the page bounded.
async fn listings_filter_and_page<S>(store: &S)
where
    S: Store + OrderStore + WithdrawalStore + Listings,
{
    let shop = new_merchant(store).await;
    let other = new_merchant(store).await;
    for (i, merchant) in [&shop, &other, &shop].into_iter().enumerate() {
        let n = i64::try_from(i).unwrap();
        let order = Order {
            order_id: format!("order-{i}"),
            app_id: merchant.clone(),
            merchant_order_id: format!("listed-{i}"),
            kind: "native".into(),
            fingerprint: "fp".into(),
            token_id: TokenId::new("usdt-eth"),
            coin_id: usdt(),
            chain: "ETH".into(),
            pay_address: format!("0xlisted{i}"),
            product_price: "1".into(),
            product_name: "tea".into(),
            denominated_currency: "USDT".into(),
            fiat_rate: "1".into(),
            token_rate: "1".into(),
            order_amount: Amount::from_base_units(1_000_000),
            created_at: NOW + 100 * n,
            expires_at: NOW + 100 * n + 600,
            notify_url: None,
            custom_value: None,
            remark: None,
            dialect: ccgate_store::WebhookDialect::V1,
            buyer_email: None,
            invoice: false,
        };
        let address = DepositAddress {
            wallet_user: false,
            chain: "ETH".into(),
            address: order.pay_address.clone(),
            app_id: merchant.clone(),
            user_id: None,
            order_id: Some(order.order_id.clone()),
            notify_url: None,
            derivation_index: u32::try_from(i).unwrap(),
            dialect: ccgate_store::WebhookDialect::V1,
        };
        store_order(store, &order, &address).await;

        store
            .post_entry(&credit(merchant, 1_000), &meta("seed"))
            .await
            .unwrap();
        let withdrawal = Withdrawal {
            order_id: format!("wd-{i}"),
            record_id: format!("wd-record-{i}"),
            app_id: merchant.clone(),
            merchant_order_id: format!("listed-wd-{i}"),
            fingerprint: "fp".into(),
            token_id: TokenId::new("usdt-eth"),
            coin_id: usdt(),
            chain: "ETH".into(),
            to_address: "0xpayee".into(),
            memo: String::new(),
            value: Amount::from_base_units(100),
            network_fee: Amount::ZERO,
            net_receivable: Amount::from_base_units(100),
            debit: Amount::from_base_units(100),
            merchant_pays_fee: true,
            to_cwallet: false,
            status: WithdrawalStatus::Pending,
            txid: String::new(),
            block_height: None,
            created_at: NOW + 100 * n,
            resolved_at: None,
            refund_of: None,
            dialect: ccgate_store::WebhookDialect::V1,
            notify_url: None,
            approval: ccgate_store::Approval::NotNeeded,
            user_id: None,
        };
        let reserve = move_units(
            Account::MerchantAvailable(merchant.clone()),
            Account::MerchantReserved(merchant.clone()),
            100,
        );
        store
            .accept_withdrawal(&withdrawal, &reserve, &meta("reserve"), None, None)
            .await
            .unwrap();
    }
    store
        .mark_withdrawal_sent("wd-2", "0xsent", Some(7))
        .await
        .unwrap();

    // One namespace of merchant_order_id per merchant: who holds each.
    let holders = |app_id, id: &'static str| store.merchant_order_id_holders(app_id, id);
    assert_eq!(
        holders(&shop, "listed-0").await.unwrap(),
        [OrderIdHolder::NativeOrder]
    );
    assert_eq!(
        holders(&shop, "listed-wd-2").await.unwrap(),
        [OrderIdHolder::Withdrawal]
    );
    assert!(holders(&other, "listed-0").await.unwrap().is_empty());
    assert!(holders(&shop, "nobody").await.unwrap().is_empty());
    // `withdraw` reads the holders, a Cwallet account and the approval
    // switch with one statement (decisions §37).
    let account = CwalletAccount {
        c_id: "9454818".into(),
        nickname: "alvin".into(),
    };
    store.create_cwallet(&account, NOW).await.unwrap();
    store
        .set_withdrawal_approval_required(&shop, true)
        .await
        .unwrap();
    assert_eq!(
        store
            .withdrawal_preflight(&shop, "listed-wd-2", Some("9454818"))
            .await
            .unwrap(),
        WithdrawalPreflight {
            holders: vec![OrderIdHolder::Withdrawal],
            cwallet: Some(account),
            approval_required: true,
        }
    );
    assert_eq!(
        store
            .withdrawal_preflight(&other, "listed-0", None)
            .await
            .unwrap(),
        WithdrawalPreflight::default()
    );
    assert_eq!(
        store
            .withdrawal_preflight(&shop, "listed-0", Some("0xnot-a-cwallet"))
            .await
            .unwrap(),
        WithdrawalPreflight {
            holders: vec![OrderIdHolder::NativeOrder],
            cwallet: None,
            approval_required: true,
        }
    );
    store
        .set_withdrawal_approval_required(&shop, false)
        .await
        .unwrap();

    let all = ListingFilter {
        app_id: None,
        since: None,
        until: None,
        limit: 50,
    };
    let order_ids = |orders: Vec<Order>| -> Vec<String> {
        orders.into_iter().map(|order| order.order_id).collect()
    };
    let withdrawal_ids = |withdrawals: Vec<Withdrawal>| -> Vec<String> {
        withdrawals.into_iter().map(|w| w.order_id).collect()
    };
    assert_eq!(
        order_ids(store.list_orders(&all).await.unwrap()),
        ["order-2", "order-1", "order-0"]
    );
    let of_shop = ListingFilter {
        app_id: Some(shop.clone()),
        ..all.clone()
    };
    assert_eq!(
        order_ids(store.list_orders(&of_shop).await.unwrap()),
        ["order-2", "order-0"]
    );
    // `since` is inclusive, `until` exclusive.
    let window = ListingFilter {
        since: Some(NOW + 100),
        until: Some(NOW + 200),
        ..all.clone()
    };
    assert_eq!(
        order_ids(store.list_orders(&window).await.unwrap()),
        ["order-1"]
    );
    let page = ListingFilter {
        limit: 2,
        ..all.clone()
    };
    assert_eq!(
        order_ids(store.list_orders(&page).await.unwrap()),
        ["order-2", "order-1"]
    );
    let nobody = ListingFilter {
        app_id: Some(MerchantId::new("1".repeat(33))),
        ..all.clone()
    };
    assert!(store.list_orders(&nobody).await.unwrap().is_empty());

    assert_eq!(
        withdrawal_ids(store.list_withdrawals(&all, None).await.unwrap()),
        ["wd-2", "wd-1", "wd-0"]
    );
    assert_eq!(
        withdrawal_ids(
            store
                .list_withdrawals(&all, Some(WithdrawalStatus::Pending))
                .await
                .unwrap()
        ),
        ["wd-1", "wd-0"]
    );
    assert_eq!(
        withdrawal_ids(
            store
                .list_withdrawals(&of_shop, Some(WithdrawalStatus::Processing))
                .await
                .unwrap()
        ),
        ["wd-2"]
    );
    assert_eq!(
        withdrawal_ids(store.list_withdrawals(&window, None).await.unwrap()),
        ["wd-1"]
    );
    assert_eq!(
        withdrawal_ids(store.list_withdrawals(&page, None).await.unwrap()),
        ["wd-2", "wd-1"]
    );
}

/// v2's reads: a withdrawal keeps its dialect and notifyUrl; a merchant's
/// withdrawals page newest first (ties by record id) under each filter; a
/// fee quote is kept until a later quote finds it expired.
async fn v2_withdrawal_reads_and_fee_quotes<S>(store: &S)
where
    S: Store + WithdrawalStore,
{
    use ccgate_store::{DestinationFilter, FeeQuote, WebhookDialect, WithdrawalQuery};

    let shop = new_merchant(store).await;
    let other = new_merchant(store).await;
    // (merchant, record id, chain, to a Cwallet, address, created at)
    let rows = [
        (&shop, "v2-r0", "ETH", false, "0xpayee", NOW),
        (&shop, "v2-r1", "ETH", true, "9454818", NOW),
        (&shop, "v2-r2", "TRX", false, "Tpayee", NOW + 10),
        (&other, "v2-r3", "ETH", false, "0xpayee", NOW),
    ];
    for (merchant, record_id, chain, to_cwallet, to_address, created_at) in rows {
        store
            .post_entry(&credit(merchant, 1_000), &meta("seed"))
            .await
            .unwrap();
        let withdrawal = Withdrawal {
            order_id: format!("order-{record_id}"),
            record_id: record_id.into(),
            app_id: merchant.clone(),
            merchant_order_id: format!("shop-{record_id}"),
            fingerprint: "fp".into(),
            token_id: TokenId::new(format!("usdt-{chain}")),
            coin_id: usdt(),
            chain: chain.into(),
            to_address: to_address.into(),
            memo: String::new(),
            value: Amount::from_base_units(100),
            network_fee: Amount::ZERO,
            net_receivable: Amount::from_base_units(100),
            debit: Amount::from_base_units(100),
            merchant_pays_fee: false,
            to_cwallet,
            status: WithdrawalStatus::Pending,
            txid: String::new(),
            block_height: None,
            created_at,
            resolved_at: None,
            refund_of: None,
            dialect: WebhookDialect::V2,
            notify_url: Some(format!("https://shop.example/hook?r={record_id}")),
            approval: ccgate_store::Approval::NotNeeded,
            user_id: None,
        };
        let reserve = move_units(
            Account::MerchantAvailable(merchant.clone()),
            Account::MerchantReserved(merchant.clone()),
            100,
        );
        store
            .accept_withdrawal(&withdrawal, &reserve, &meta("reserve"), None, None)
            .await
            .unwrap();
    }
    let found = store
        .withdrawal_by_record_id(&shop, "v2-r0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.dialect, found.notify_url.as_deref()),
        (
            WebhookDialect::V2,
            Some("https://shop.example/hook?r=v2-r0")
        )
    );
    assert_eq!(
        store
            .withdrawal_by_record_id(&other, "v2-r0")
            .await
            .unwrap(),
        None,
        "another merchant's record"
    );

    let shop_ref = &shop;
    let listed = |query: WithdrawalQuery| async move {
        store
            .merchant_withdrawals(shop_ref, &query)
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.record_id)
            .collect::<Vec<_>>()
    };
    let all = || WithdrawalQuery {
        limit: 10,
        ..WithdrawalQuery::default()
    };
    assert_eq!(listed(all()).await, ["v2-r2", "v2-r1", "v2-r0"]);
    assert_eq!(
        listed(WithdrawalQuery { limit: 2, ..all() }).await,
        ["v2-r2", "v2-r1"]
    );
    assert_eq!(
        listed(WithdrawalQuery {
            after: Some((NOW, "v2-r1".into())),
            ..all()
        })
        .await,
        ["v2-r0"]
    );
    let cases = [
        (
            WithdrawalQuery {
                coin_id: Some(usdt()),
                destination: Some(DestinationFilter::Chain("ETH".into())),
                ..all()
            },
            vec!["v2-r0"],
        ),
        (
            WithdrawalQuery {
                destination: Some(DestinationFilter::Cwallet),
                ..all()
            },
            vec!["v2-r1"],
        ),
        (
            WithdrawalQuery {
                to_address: Some("Tpayee".into()),
                ..all()
            },
            vec!["v2-r2"],
        ),
        (
            WithdrawalQuery {
                merchant_order_ids: vec!["shop-v2-r0".into(), "shop-v2-r3".into()],
                ..all()
            },
            vec!["v2-r0"],
        ),
        (
            WithdrawalQuery {
                created_from: Some(NOW + 5),
                ..all()
            },
            vec!["v2-r2"],
        ),
        (
            WithdrawalQuery {
                created_to: Some(NOW),
                ..all()
            },
            vec!["v2-r1", "v2-r0"],
        ),
        (
            WithdrawalQuery {
                coin_id: Some(CoinId::new("btc")),
                ..all()
            },
            vec![],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(listed(query.clone()).await, expected, "{query:?}");
    }

    // Approval: a merchant's setting; a waiting withdrawal is not open for
    // the worker, and is approved or rejected once.
    assert!(!store.withdrawal_approval_required(&shop).await.unwrap());
    store
        .set_withdrawal_approval_required(&shop, true)
        .await
        .unwrap();
    store
        .set_withdrawal_approval_required(&shop, true)
        .await
        .unwrap();
    assert!(store.withdrawal_approval_required(&shop).await.unwrap());
    assert!(!store.withdrawal_approval_required(&other).await.unwrap());
    for (record_id, n) in [("v2-wait-1", 1), ("v2-wait-2", 2)] {
        let waiting = Withdrawal {
            order_id: format!("order-{record_id}"),
            record_id: record_id.into(),
            merchant_order_id: format!("shop-{record_id}"),
            created_at: NOW + 20 + n,
            approval: ccgate_store::Approval::Waiting,
            user_id: None,
            ..found.clone()
        };
        let reserve = move_units(
            Account::MerchantAvailable(shop.clone()),
            Account::MerchantReserved(shop.clone()),
            100,
        );
        store
            .accept_withdrawal(&waiting, &reserve, &meta("reserve"), None, None)
            .await
            .unwrap();
    }
    let open_ids = |open: Vec<Withdrawal>| -> Vec<String> {
        open.into_iter()
            .map(|w| w.record_id)
            .filter(|id| id.starts_with("v2-"))
            .collect()
    };
    assert_eq!(
        open_ids(store.open_withdrawals(100).await.unwrap()),
        ["v2-r0", "v2-r1", "v2-r3", "v2-r2"],
        "the waiting ones are not open"
    );
    assert!(store.approve_withdrawal("order-v2-wait-1").await.unwrap());
    assert!(!store.approve_withdrawal("order-v2-wait-1").await.unwrap());
    assert_eq!(
        store
            .withdrawal_by_order_id("order-v2-wait-1")
            .await
            .unwrap()
            .map(|w| w.approval),
        Some(ccgate_store::Approval::Approved)
    );
    let before = available(store, &shop).await;
    let void = move_units(
        Account::MerchantReserved(shop.clone()),
        Account::MerchantAvailable(shop.clone()),
        100,
    );
    let rejected_webhook = NewWebhook {
        dialect: WebhookDialect::V2,
        ..webhook(&shop, "v2-wait-2", "API Withdrawal")
    };
    assert!(
        store
            .reject_withdrawal(
                "order-v2-wait-2",
                NOW + 30,
                &void,
                &meta("reject"),
                &rejected_webhook
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .reject_withdrawal(
                "order-v2-wait-2",
                NOW + 31,
                &void,
                &meta("reject"),
                &rejected_webhook
            )
            .await
            .unwrap(),
        "rejected once"
    );
    assert!(
        !store
            .reject_withdrawal(
                "order-v2-wait-1",
                NOW + 31,
                &void,
                &meta("reject"),
                &rejected_webhook
            )
            .await
            .unwrap(),
        "an approved one is not waiting"
    );
    assert_eq!(available(store, &shop).await, before + 100);
    let rejected = store
        .withdrawal_by_order_id("order-v2-wait-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rejected.status, rejected.approval, rejected.resolved_at),
        (
            WithdrawalStatus::Failed,
            ccgate_store::Approval::Rejected,
            Some(NOW + 30)
        )
    );
    store
        .set_withdrawal_approval_required(&shop, false)
        .await
        .unwrap();
    assert!(!store.withdrawal_approval_required(&shop).await.unwrap());

    let quote = FeeQuote {
        inquiry_id: "quote-1".into(),
        app_id: shop.clone(),
        token_id: TokenId::new("usdt-ETH"),
        fee: Amount::from_base_units(3_500_000),
        expires_at_ms: NOW * 1000 + 600_000,
    };
    store.save_fee_quote(&quote, NOW * 1000).await.unwrap();
    assert_eq!(
        store.fee_quote("quote-1").await.unwrap(),
        Some(quote.clone())
    );
    assert_eq!(store.fee_quote("quote-2").await.unwrap(), None);
    // A later quote, after the first expired, forgets it.
    let later = FeeQuote {
        inquiry_id: "quote-2".into(),
        expires_at_ms: quote.expires_at_ms + 600_000,
        ..quote.clone()
    };
    store
        .save_fee_quote(&later, quote.expires_at_ms)
        .await
        .unwrap();
    assert_eq!(store.fee_quote("quote-1").await.unwrap(), None);
    assert_eq!(store.fee_quote("quote-2").await.unwrap(), Some(later));
}

#[tokio::test]
async fn sqlite_v2_withdrawal_reads_and_fee_quotes() {
    let dir = tempfile::tempdir().unwrap();
    v2_withdrawal_reads_and_fee_quotes(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_v2_withdrawal_reads_and_fee_quotes() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    v2_withdrawal_reads_and_fee_quotes(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_listings_filter_and_page() {
    let dir = tempfile::tempdir().unwrap();
    listings_filter_and_page(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_listings_filter_and_page() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    listings_filter_and_page(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_cwallets_and_devnet_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = sqlite_store(&dir, &key).await;
    cwallets_and_devnet(&store).await;
    store.close().await;
    let reopened = sqlite_store(&dir, &key).await;
    assert_eq!(
        reopened
            .devnet_chain("ETH", 50_000)
            .await
            .unwrap()
            .mined_blocks,
        5
    );
    assert!(reopened.cwallet("9454818").await.unwrap().is_some());
}

async fn sqlite_store(dir: &tempfile::TempDir, key: &MasterKey) -> SqliteStore {
    SqliteStore::open(&dir.path().join("ccgate.db"), key.clone())
        .await
        .unwrap()
}

#[tokio::test]
async fn sqlite_sandbox_state() {
    let dir = tempfile::tempdir().unwrap();
    sandbox_state(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_merchants_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    merchants_lifecycle(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_refused_entry_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    refused_entry_writes_nothing(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn sqlite_huge_amounts_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    huge_amounts_are_exact(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_writers_from_two_pools() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let first: Arc<dyn Store> = Arc::new(sqlite_store(&dir, &key).await);
    let second: Arc<dyn Store> = Arc::new(sqlite_store(&dir, &key).await);
    concurrent_writers(vec![first, second]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_group_commits_credit_each_transfer_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let first = Arc::new(sqlite_store(&dir, &key).await);
    let second = Arc::new(sqlite_store(&dir, &key).await);
    racing_group_commits_credit_each_transfer_once(vec![first, second]).await;
}

#[tokio::test]
async fn sqlite_secret_is_not_stored_in_clear_and_needs_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = sqlite_store(&dir, &key).await;
    let app_id = MerchantId::new(generate_app_id(NOW));
    let secret = generate_app_secret();
    store
        .create_merchant(&app_id, &secret, "shop", NOW, None)
        .await
        .unwrap();
    // Read while the store is open, so the write-ahead log, where a fresh
    // write lives until a checkpoint, is still there to be searched too.
    for name in ["ccgate.db", "ccgate.db-wal"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        let needle = secret.expose_secret().as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{name}");
    }
    store.close().await;
    let wrong = sqlite_store(&dir, &MasterKey::generate()).await;
    assert!(matches!(
        wrong.merchant_credentials(app_id.as_str()).await,
        Err(StoreError::SecretUndecryptable { .. })
    ));
}

/// The same checks through the cache: its own writes are visible at once.
#[tokio::test]
async fn cached_sqlite_passes_the_suite() {
    async fn fresh() -> (tempfile::TempDir, CachingStore<SqliteStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = CachingStore::new(sqlite_store(&dir, &MasterKey::generate()).await, LONG_TTL);
        (dir, store)
    }
    let (_dir, store) = fresh().await;
    merchants_lifecycle(&store).await;
    let (_dir, store) = fresh().await;
    refused_entry_writes_nothing(&store).await;
    let (_dir, store) = fresh().await;
    huge_amounts_are_exact(&store).await;
}

const LONG_TTL: Duration = Duration::from_secs(600);

/// Writes by another process (the CLI beside `serve`) show once the TTL has
/// passed; the deadline only bounds a hung test, it is not a timing claim.
/// `cached` must have a short TTL.
async fn cache_sees_other_writers(cached: &dyn Store, other: &dyn Store) {
    let merchant = new_merchant(cached).await;
    assert_eq!(available(cached, &merchant).await, 0);
    cached
        .merchant_credentials(merchant.as_str())
        .await
        .unwrap()
        .unwrap();

    other
        .post_entry(&credit(&merchant, 42), &meta("from the CLI"))
        .await
        .unwrap();
    let rotated = generate_app_secret();
    other
        .replace_secret(&merchant, &rotated, NOW, None)
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let secret = cached
            .merchant_credentials(merchant.as_str())
            .await
            .unwrap()
            .unwrap()
            .app_secret
            .clone();
        if available(cached, &merchant).await == 42
            && secret.expose_secret() == rotated.expose_secret()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "other writers never became visible"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `cached` must have a long TTL.
async fn cache_shows_own_writes(cached: &dyn Store) {
    let merchant = new_merchant(cached).await;
    assert_eq!(available(cached, &merchant).await, 0);
    cached
        .post_entry(&credit(&merchant, 7), &meta("own"))
        .await
        .unwrap();
    assert_eq!(available(cached, &merchant).await, 7);
    cached
        .merchant_credentials(merchant.as_str())
        .await
        .unwrap()
        .unwrap();
    cached
        .set_merchant_status(&merchant, MerchantStatus::Disabled, NOW, None)
        .await
        .unwrap();
    let status = cached
        .merchant_credentials(merchant.as_str())
        .await
        .unwrap()
        .unwrap()
        .status;
    assert_eq!(status, MerchantStatus::Disabled);
}

const SHORT_TTL: Duration = Duration::from_millis(50);

#[tokio::test]
async fn cache_sees_other_writers_after_its_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let cached = CachingStore::new(sqlite_store(&dir, &key).await, SHORT_TTL);
    let other = sqlite_store(&dir, &key).await;
    cache_sees_other_writers(&cached, &other).await;
}

#[tokio::test]
async fn cache_shows_its_own_writes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cached = CachingStore::new(sqlite_store(&dir, &MasterKey::generate()).await, LONG_TTL);
    cache_shows_own_writes(&cached).await;
}

/// Webhook faults: replaced whole, taken one delivery at a time in sequence,
/// gone once their count is used up, cleared on demand; only for merchants.
async fn webhook_faults_are_taken_in_sequence<S: Store + SandboxStore>(store: &S) {
    let merchant = new_merchant(store).await;
    assert_eq!(store.take_webhook_fault(&merchant).await.unwrap(), None);
    let faults = WebhookFaults {
        delay_ms: 5_000,
        drop_ppm: 300_000,
        duplicate_ppm: 1_000_000,
        reorder: true,
        bad_signature: true,
        status: Some(503),
        remaining: Some(2),
        seed: u64::try_from(i64::MAX).unwrap(),
    };
    store.set_webhook_faults(&merchant, &faults).await.unwrap();
    let first = store.take_webhook_fault(&merchant).await.unwrap().unwrap();
    assert_eq!(
        first,
        TakenFault {
            faults: WebhookFaults {
                remaining: Some(1),
                ..faults
            },
            sequence: 0
        }
    );
    let second = store.take_webhook_fault(&merchant).await.unwrap().unwrap();
    assert_eq!((second.sequence, second.faults.remaining), (1, Some(0)));
    assert_eq!(store.take_webhook_fault(&merchant).await.unwrap(), None);
    assert!(!store.clear_webhook_faults(&merchant).await.unwrap());

    // Until cleared; setting again starts the sequence over.
    let endless = WebhookFaults {
        drop_ppm: 1_000_000,
        ..WebhookFaults::default()
    };
    store.set_webhook_faults(&merchant, &endless).await.unwrap();
    for sequence in 0..3 {
        let taken = store.take_webhook_fault(&merchant).await.unwrap().unwrap();
        assert_eq!(
            taken,
            TakenFault {
                faults: endless,
                sequence
            }
        );
    }
    store.set_webhook_faults(&merchant, &endless).await.unwrap();
    let again = store.take_webhook_fault(&merchant).await.unwrap().unwrap();
    assert_eq!(again.sequence, 0);
    assert!(store.clear_webhook_faults(&merchant).await.unwrap());
    assert_eq!(store.take_webhook_fault(&merchant).await.unwrap(), None);

    let stranger = MerchantId::new("404");
    assert!(matches!(
        store.set_webhook_faults(&stranger, &endless).await,
        Err(StoreError::MerchantNotFound(id)) if id == "404"
    ));
}

#[tokio::test]
async fn sqlite_webhook_faults_are_taken_in_sequence() {
    let dir = tempfile::tempdir().unwrap();
    webhook_faults_are_taken_in_sequence(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

/// A snapshot restored into the live database brings back every table as
/// saved (ids included) and refuses a snapshot of another data directory.
#[tokio::test]
async fn sqlite_snapshots_restore_the_saved_state() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = sqlite_store(&dir, &key).await;
    let seed = SecretSlice::from(vec![7u8; 32]);
    store
        .load_or_init_secret("deposit_seed", &seed)
        .await
        .unwrap();
    let merchant = new_merchant(&store).await;
    store
        .post_entry(&credit(&merchant, 500), &meta("before"))
        .await
        .unwrap();
    store.devnet_mine("ETH", 3, 1_000).await.unwrap();
    let saved_at = dir.path().join("saved.db");
    store.save_snapshot(&saved_at).await.unwrap();
    let journal = store.journal().await.unwrap();
    let balances = store.all_balances().await.unwrap();
    let merchants = store.list_merchants().await.unwrap();

    let later = new_merchant(&store).await;
    store
        .post_entry(&credit(&later, 9), &meta("after"))
        .await
        .unwrap();
    store
        .post_entry(&debit(&merchant, 100), &meta("after"))
        .await
        .unwrap();
    store.devnet_mine("ETH", 4, 1_000).await.unwrap();

    store.restore_snapshot(&saved_at).await.unwrap();
    assert_eq!(store.journal().await.unwrap(), journal);
    assert_eq!(store.all_balances().await.unwrap(), balances);
    assert_eq!(store.list_merchants().await.unwrap(), merchants);
    assert_eq!(store.devnet_chain("ETH", 0).await.unwrap().mined_blocks, 3);
    assert!(verify_ledger(&store).await.unwrap().mismatches.is_empty());
    // Journal ids continue from the snapshot's.
    let next = store
        .post_entry(&credit(&merchant, 1), &meta("next"))
        .await
        .unwrap();
    assert_eq!(next, 2);

    // Another data directory's snapshot (another deposit seed) is refused,
    // and nothing changes.
    let other_dir = tempfile::tempdir().unwrap();
    let other = sqlite_store(&other_dir, &key).await;
    other
        .load_or_init_secret("deposit_seed", &SecretSlice::from(vec![8u8; 32]))
        .await
        .unwrap();
    let foreign = other_dir.path().join("foreign.db");
    other.save_snapshot(&foreign).await.unwrap();
    let before = store.journal().await.unwrap();
    assert!(matches!(
        store.restore_snapshot(&foreign).await,
        Err(StoreError::Snapshot(why)) if why.contains("another data directory")
    ));
    assert_eq!(store.journal().await.unwrap(), before);
    // The connection that tried is back to enforcing references.
    for _ in 0..8 {
        assert!(matches!(
            store
                .set_webhook_faults(&MerchantId::new("404"), &WebhookFaults::default())
                .await,
            Err(StoreError::MerchantNotFound(_))
        ));
    }
}

#[tokio::test]
async fn pg_snapshots_are_refused_clearly() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let store = pg.store(&MasterKey::generate()).await;
    let path = std::path::Path::new("unused.db");
    for refused in [
        store.save_snapshot(path).await,
        store.restore_snapshot(path).await,
    ] {
        let why = refused.unwrap_err();
        assert!(matches!(why, StoreError::SnapshotsUnsupported));
        assert!(why.to_string().contains("SQLite-only"), "{why}");
    }
}

// PostgreSQL runners.

/// A fresh schema in the shared test database, so tests running at once do not
/// see each other; dropped when the test ends, passed or failed.
struct PgSchema {
    url: String,
    name: String,
}

impl PgSchema {
    /// `None` (the test is skipped) when no server answers, except in CI.
    async fn new() -> Option<PgSchema> {
        let url = ccgate_store::test_database_url();
        let reason =
            match tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(&url))
                .await
            {
                Ok(Ok(conn)) => {
                    conn.close().await.unwrap();
                    return Some(PgSchema {
                        url,
                        name: format!("t_{:016x}", rand::random::<u64>()),
                    });
                }
                Ok(Err(err)) => err.to_string(),
                Err(_) => "no answer within 10 s".to_owned(),
            };
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the PostgreSQL tests, but the server cannot be reached: {reason}"
        );
        eprintln!("skipping PostgreSQL test: {reason}");
        None
    }

    async fn store(&self, key: &MasterKey) -> PgStore {
        PgStore::connect_in_schema(&self.url, &self.name, key.clone())
            .await
            .unwrap()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let name = self.name.clone();
        // Drop cannot await; a thread with its own runtime runs the statements
        // whether the test's runtime is single- or multi-threaded.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| err.to_string())?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url)
                    .await
                    .map_err(|err| err.to_string())?;
                // The test's pools may still hold connections inside a DB
                // transaction: a refused write's rollback is sent by a task
                // of the test's runtime, which is blocked in this drop. Their
                // locks would hold up DROP SCHEMA, so those sessions are ended.
                sqlx::query(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
                     JOIN pg_class c ON c.oid = l.relation
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()",
                )
                .bind(&name)
                .execute(&mut conn)
                .await
                .map_err(|err| err.to_string())?;
                sqlx::raw_sql(&format!(
                    "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                ))
                .execute(&mut conn)
                .await
                .map_err(|err| err.to_string())?;
                conn.close().await.map_err(|err| err.to_string())
            })
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop test schema {}: {err}", self.name);
        }
    }
}

#[tokio::test]
async fn pg_schema_names_are_checked() {
    for bad in ["", "T_upper", "a;drop", "a b", "\"x\""] {
        assert!(matches!(
            PgStore::connect_in_schema(
                &ccgate_store::test_database_url(),
                bad,
                MasterKey::generate()
            )
            .await,
            Err(StoreError::Open { .. })
        ));
    }
}

#[tokio::test]
async fn pg_sandbox_state() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    sandbox_state(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_merchants_lifecycle() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    merchants_lifecycle(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_refused_entry_writes_nothing() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    refused_entry_writes_nothing(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_huge_amounts_are_exact() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    huge_amounts_are_exact(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_webhook_faults_are_taken_in_sequence() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    webhook_faults_are_taken_in_sequence(&pg.store(&MasterKey::generate()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_concurrent_writers_from_two_pools() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    // Started together, as two instances may be: both create the schema.
    let (first, second) = tokio::join!(pg.store(&key), pg.store(&key));
    concurrent_writers(vec![Arc::new(first), Arc::new(second)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_racing_group_commits_credit_each_transfer_once() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    let (first, second) = tokio::join!(pg.store(&key), pg.store(&key));
    racing_group_commits_credit_each_transfer_once(vec![Arc::new(first), Arc::new(second)]).await;
}

#[tokio::test]
async fn pg_cwallets_and_devnet_survive_a_reconnect() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    let store = pg.store(&key).await;
    cwallets_and_devnet(&store).await;
    store.close().await;
    let reconnected = pg.store(&key).await;
    assert_eq!(
        reconnected
            .devnet_chain("ETH", 50_000)
            .await
            .unwrap()
            .mined_blocks,
        5
    );
    assert!(reconnected.cwallet("9454818").await.unwrap().is_some());
}

#[tokio::test]
async fn pg_secret_is_not_stored_in_clear_and_needs_the_key() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let store = pg.store(&MasterKey::generate()).await;
    let app_id = MerchantId::new(generate_app_id(NOW));
    let secret = generate_app_secret();
    store
        .create_merchant(&app_id, &secret, "shop", NOW, None)
        .await
        .unwrap();
    let mut conn = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar(&format!(
        "SELECT secret_ciphertext FROM {}.merchants WHERE app_id = $1",
        pg.name
    ))
    .bind(app_id.as_str())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let needle = secret.expose_secret().as_bytes();
    assert!(!stored.windows(needle.len()).any(|w| w == needle));
    store.close().await;
    let wrong = pg.store(&MasterKey::generate()).await;
    assert!(matches!(
        wrong.merchant_credentials(app_id.as_str()).await,
        Err(StoreError::SecretUndecryptable { .. })
    ));
}

#[tokio::test]
async fn cached_pg_passes_the_suite() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    merchants_lifecycle(&CachingStore::new(
        pg.store(&MasterKey::generate()).await,
        LONG_TTL,
    ))
    .await;
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    refused_entry_writes_nothing(&CachingStore::new(
        pg.store(&MasterKey::generate()).await,
        LONG_TTL,
    ))
    .await;
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    huge_amounts_are_exact(&CachingStore::new(
        pg.store(&MasterKey::generate()).await,
        LONG_TTL,
    ))
    .await;
}

#[tokio::test]
async fn pg_cache_sees_other_writers_after_its_ttl() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    let cached = CachingStore::new(pg.store(&key).await, SHORT_TTL);
    let other = pg.store(&key).await;
    cache_sees_other_writers(&cached, &other).await;
}

#[tokio::test]
async fn pg_cache_shows_its_own_writes_at_once() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let cached = CachingStore::new(pg.store(&MasterKey::generate()).await, LONG_TTL);
    cache_shows_own_writes(&cached).await;
}

/// Instances on one database do not serialise their writers as SQLite does:
/// 200 debits of 1 from four pools against a balance of 100 must still leave
/// exactly 100 accepted and the books replayable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_racing_debits_never_overdraw() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(pg.store(&key).await));
    }
    let merchant = new_merchant(stores[0].as_ref()).await;
    stores[0]
        .post_entry(&credit(&merchant, 100), &meta("seed"))
        .await
        .unwrap();
    let tasks: Vec<_> = stores
        .iter()
        .cycle()
        .take(200)
        .map(|store| {
            let store = Arc::clone(store);
            let merchant = merchant.clone();
            tokio::spawn(async move { store.post_entry(&debit(&merchant, 1), &meta("race")).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(StoreError::Ledger(LedgerError::InsufficientBalance { .. })) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 100);
    assert_eq!(available(stores[0].as_ref(), &merchant).await, 0);
    let audit = verify_ledger(stores[0].as_ref()).await.unwrap();
    assert_eq!(audit.entries, 101);
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// A debit that waited for a concurrent credit is applied after it, so the
/// journal must list it after it too: `verify_ledger` replays in journal
/// order, and starting from zero every early-listed debit would be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_journal_order_is_the_order_entries_were_applied() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    let key = MasterKey::generate();
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(pg.store(&key).await));
    }
    let merchant = new_merchant(stores[0].as_ref()).await;
    let tasks: Vec<_> = stores
        .iter()
        .cycle()
        .take(200)
        .enumerate()
        .map(|(i, store)| {
            let store = Arc::clone(store);
            let merchant = merchant.clone();
            tokio::spawn(async move {
                let entry = if i % 2 == 0 {
                    credit(&merchant, 1)
                } else {
                    debit(&merchant, 1)
                };
                store.post_entry(&entry, &meta("ping-pong")).await
            })
        })
        .collect();
    let mut balance = 0i64;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(_) if i % 2 == 0 => balance += 1,
            Ok(_) => balance -= 1,
            Err(StoreError::Ledger(LedgerError::InsufficientBalance { .. })) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        available(stores[0].as_ref(), &merchant).await,
        u128::try_from(balance).unwrap()
    );
    let audit = verify_ledger(stores[0].as_ref()).await.unwrap();
    assert!(audit.mismatches.is_empty(), "{:?}", audit.mismatches);
}

/// Two instances delivering webhooks never claim the same one at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_racing_claims_never_share_a_webhook() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    const WEBHOOKS: usize = 50;
    let key = MasterKey::generate();
    let first = Arc::new(pg.store(&key).await);
    let second = Arc::new(pg.store(&key).await);
    let app_id = MerchantId::new(generate_app_id(NOW));
    for i in 0..WEBHOOKS {
        let seen = SeenTransfer {
            chain: "ETH".into(),
            txid: format!("0x{i:064x}"),
            log_index: 0,
            record_id: format!("record-{i}"),
            app_id: app_id.clone(),
            order_id: None,
            block_height: 3,
            block_time_ms: NOW_MS,
            seen_at_ms: NOW_MS,
            from_address: "0xfrom".into(),
            to_address: "0xto".into(),
            memo: String::new(),
            token_id: TokenId::new("usdt-erc20"),
            amount: Amount::from_base_units(5),
        };
        let webhook = webhook(&app_id, &seen.record_id, "DirectDeposit");
        assert!(
            first
                .record_seen_transfer(&seen, Some(&webhook))
                .await
                .unwrap()
        );
    }
    // Two claimers per instance, each taking a few at a time until none is due.
    let claimers: Vec<_> = [&first, &second, &first, &second]
        .into_iter()
        .map(|store| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let claimed = store
                        .claim_due_webhooks(NOW_MS, 60_000, 3, 64)
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        return ids;
                    }
                    ids.extend(claimed.iter().map(|webhook| webhook.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "a webhook was claimed twice");
    assert_eq!(distinct.len(), WEBHOOKS);
}

/// v2's deposit records: a merchant's own, newest first by record id, each
/// filter, and the page after a cursor.
async fn deposit_records_filter_and_page<S>(store: &S)
where
    S: Store + OrderStore + CreditStore + ccgate_store::DepositRecords,
{
    use ccgate_store::DepositRecordFilter;
    let shop = new_merchant(store).await;
    let other = new_merchant(store).await;
    let order = Order {
        order_id: "order-r".into(),
        app_id: shop.clone(),
        merchant_order_id: "shop-order".into(),
        kind: "native".into(),
        fingerprint: "fp".into(),
        token_id: TokenId::new("usdt-eth"),
        coin_id: usdt(),
        chain: "ETH".into(),
        pay_address: "0xorder-r".into(),
        product_price: "1".into(),
        product_name: String::new(),
        denominated_currency: "USD".into(),
        fiat_rate: "1".into(),
        token_rate: "1".into(),
        order_amount: Amount::from_base_units(1),
        created_at: NOW,
        expires_at: NOW + 600,
        notify_url: None,
        custom_value: None,
        remark: None,
        dialect: ccgate_store::WebhookDialect::V2,
        buyer_email: None,
        invoice: false,
    };
    let order_address = DepositAddress {
        wallet_user: false,
        chain: "ETH".into(),
        address: order.pay_address.clone(),
        app_id: shop.clone(),
        user_id: None,
        order_id: Some(order.order_id.clone()),
        notify_url: None,
        derivation_index: 9,
        dialect: ccgate_store::WebhookDialect::V2,
    };
    store_order(store, &order, &order_address).await;
    // Two payments to the order seen before their confirmations; the first
    // is credited below, the other is still confirming at the end.
    for (txid, log_index, record_id, seen_ms) in [
        ("0x1", 1, "record-1", NOW_MS),
        ("0xlater", 0, "record-9", NOW_MS + 1),
    ] {
        let seen = SeenTransfer {
            chain: "ETH".into(),
            txid: txid.into(),
            log_index,
            record_id: record_id.into(),
            app_id: shop.clone(),
            order_id: Some("order-r".into()),
            block_height: 1,
            block_time_ms: NOW_MS,
            seen_at_ms: seen_ms,
            from_address: "0xfrom".into(),
            to_address: "0xorder-r".into(),
            memo: String::new(),
            token_id: TokenId::new("usdt-eth"),
            amount: Amount::from_base_units(7),
        };
        assert!(store.record_seen_transfer(&seen, None).await.unwrap());
    }
    let confirming = |payments: Vec<ccgate_store::ConfirmingOrderPayment>| {
        payments
            .into_iter()
            .map(|payment| (payment.record_id, payment.amount.base_units()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        confirming(store.confirming_order_payments("order-r").await.unwrap()),
        [("record-1".to_owned(), 7), ("record-9".to_owned(), 7)]
    );
    let deposits = [
        (&shop, Some("alice"), None, "0xalice"),
        (&shop, None, Some("order-r"), "0xorder-r"),
        (&other, Some("alice"), None, "0xother"),
        (&shop, Some("bob"), None, "0xbob"),
    ];
    for (i, (merchant, user, order_id, to)) in deposits.into_iter().enumerate() {
        let n = i64::try_from(i).unwrap();
        let record_id = format!("record-{i}");
        let credit = DepositCredit {
            deposit: NewDeposit {
                record_id: record_id.clone(),
                transfer: ChainTransfer {
                    to_address: to.into(),
                    log_index: u32::try_from(i).unwrap(),
                    ..devnet_transfer(&format!("0x{i}"), 1)
                },
                app_id: merchant.clone(),
                user_id: user.map(str::to_owned),
                order_id: order_id.map(str::to_owned),
                coin_id: usdt(),
                service_fee: Amount::ZERO,
                credit_amount: Amount::from_base_units(1),
                credited_at: NOW + n,
            },
            entry: move_units(custody(), Account::MerchantAvailable(merchant.clone()), 1),
            meta: meta("deposit"),
            webhook: webhook(merchant, &record_id, "DirectDeposit"),
        };
        store.credit_deposits("ETH", None, &[credit]).await.unwrap();
    }
    let all = DepositRecordFilter {
        app_id: shop.clone(),
        wallet_users: false,
        record_id: None,
        coin_id: None,
        user_id: None,
        merchant_order_id: None,
        chain: None,
        to_address: None,
        since: None,
        until: None,
        before_record_id: None,
        limit: 10,
    };
    let ids = |records: Vec<ccgate_store::DepositRecord>| {
        records
            .into_iter()
            .map(|record| record.record_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        confirming(store.confirming_order_payments("order-r").await.unwrap()),
        [("record-9".to_owned(), 7)],
        "a credited payment is confirming no more"
    );
    let records = store.deposit_records(&all).await.unwrap();
    assert_eq!(records.len(), 3, "only the merchant's own");
    assert_eq!(records[1].merchant_order_id.as_deref(), Some("shop-order"));
    assert_eq!(
        (
            records[2].user_id.as_deref(),
            records[2].to_address.as_str(),
            records[2].from_address.as_str(),
            records[2].log_index,
            records[2].credited_at,
        ),
        (Some("alice"), "0xalice", "0xfrom", 0, NOW)
    );
    assert_eq!(ids(records), ["record-3", "record-1", "record-0"]);
    for (filter, expected) in [
        (
            DepositRecordFilter {
                limit: 2,
                ..all.clone()
            },
            vec!["record-3", "record-1"],
        ),
        (
            DepositRecordFilter {
                before_record_id: Some("record-1".into()),
                ..all.clone()
            },
            vec!["record-0"],
        ),
        (
            DepositRecordFilter {
                user_id: Some("alice".into()),
                ..all.clone()
            },
            vec!["record-0"],
        ),
        (
            DepositRecordFilter {
                merchant_order_id: Some("shop-order".into()),
                ..all.clone()
            },
            vec!["record-1"],
        ),
        (
            DepositRecordFilter {
                record_id: Some("record-2".into()),
                ..all.clone()
            },
            vec![],
        ),
        (
            DepositRecordFilter {
                since: Some(NOW + 1),
                to_address: Some("0xbob".into()),
                ..all.clone()
            },
            vec!["record-3"],
        ),
        (
            DepositRecordFilter {
                until: Some(NOW + 1),
                coin_id: Some(usdt()),
                chain: Some("ETH".into()),
                ..all.clone()
            },
            vec!["record-0"],
        ),
    ] {
        assert_eq!(
            ids(store.deposit_records(&filter).await.unwrap()),
            expected,
            "{filter:?}"
        );
    }
}

#[tokio::test]
async fn sqlite_deposit_records_filter_and_page() {
    let dir = tempfile::tempdir().unwrap();
    deposit_records_filter_and_page(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_deposit_records_filter_and_page() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    deposit_records_filter_and_page(&pg.store(&MasterKey::generate()).await).await;
}

/// v2 `addressUnbinding`: an unbound permanent address keeps its row (its
/// payments still find it and are still credited), no longer answers for
/// its user and chain, and leaves room for a new address there; the
/// same address on other chains is unbound in the same call; a second
/// unbinding changes nothing.
async fn unbound_addresses_give_way<S>(store: &S)
where
    S: Store + AddressStore + CreditStore,
{
    let merchant = new_merchant(store).await;
    let other = new_merchant(store).await;
    let on = |chain: &str, address: &str, index: u32| DepositAddress {
        wallet_user: false,
        chain: chain.into(),
        address: address.into(),
        app_id: merchant.clone(),
        user_id: Some("user-1".into()),
        order_id: None,
        notify_url: None,
        derivation_index: index,
        dialect: ccgate_store::WebhookDialect::V2,
    };
    for address in [on("ETH", "0xold", 0), on("BSC", "0xold", 0)] {
        store.insert_permanent_address(&address, NOW).await.unwrap();
    }
    credit_one(store, &merchant, "0xold", "0xunbind1", 5).await;
    let held = store.merchant_addresses(&merchant, "0xold").await.unwrap();
    let summary: Vec<_> = held
        .iter()
        .map(|found| {
            (
                found.address.chain.as_str(),
                found.credits,
                found.unbound_at,
            )
        })
        .collect();
    // Ordered by chain; `credit_one` credits on ETH.
    assert_eq!(summary, [("BSC", 0, None), ("ETH", 1, None)]);
    assert!(
        store
            .merchant_addresses(&other, "0xold")
            .await
            .unwrap()
            .is_empty()
    );

    let chains = ["ETH".to_owned(), "BSC".to_owned(), "POLYGON".to_owned()];
    let unbound = store
        .unbind_permanent_address(&merchant, "0xold", &chains, NOW + 5)
        .await
        .unwrap();
    assert_eq!(unbound, ["ETH", "BSC"], "POLYGON held nothing to unbind");
    assert!(
        store
            .unbind_permanent_address(&merchant, "0xold", &chains, NOW + 6)
            .await
            .unwrap()
            .is_empty(),
        "a second unbinding changes nothing"
    );
    let held = store.merchant_addresses(&merchant, "0xold").await.unwrap();
    assert!(held.iter().all(|found| found.unbound_at == Some(NOW + 5)));
    assert_eq!(
        store
            .permanent_address(&merchant, "user-1", "ETH")
            .await
            .unwrap(),
        None
    );
    // Still the merchant's: a payment to it is found and credited.
    assert_eq!(
        store.deposit_address("ETH", "0xold").await.unwrap(),
        Some(on("ETH", "0xold", 0))
    );
    credit_one(store, &merchant, "0xold", "0xunbind2", 6).await;
    assert_eq!(available(store, &merchant).await, 2);

    // The user's next address takes the (merchant, user, chain) again; the
    // unbound one still counts toward the quota.
    let fresh = on("ETH", "0xnew", 7);
    assert_eq!(
        store
            .insert_permanent_address(&fresh, NOW + 7)
            .await
            .unwrap(),
        fresh
    );
    assert_eq!(
        store
            .permanent_address(&merchant, "user-1", "ETH")
            .await
            .unwrap(),
        Some(fresh)
    );
    assert_eq!(store.count_permanent_addresses(&merchant).await.unwrap(), 3);
}

#[tokio::test]
async fn sqlite_unbound_addresses_give_way() {
    let dir = tempfile::tempdir().unwrap();
    unbound_addresses_give_way(&sqlite_store(&dir, &MasterKey::generate()).await).await;
}

#[tokio::test]
async fn pg_unbound_addresses_give_way() {
    let Some(pg) = PgSchema::new().await else {
        return;
    };
    unbound_addresses_give_way(&pg.store(&MasterKey::generate()).await).await;
}

/// A dashboard user's second factor (decisions §31): set up sealed, put in
/// force by the first code's step, each step taken once and never an
/// earlier one, not replaced while in force, and removed.
async fn console_second_factor_takes_each_step_once<S>(store: &S)
where
    S: Store + ConsoleStore + DashboardStore,
{
    let user = store
        .create_console_user(
            "ops@example.com",
            "$argon2id$x",
            &ConsoleRole::Operator,
            1,
            &audit("user created", None, 1),
        )
        .await
        .unwrap();
    assert!(store.console_totp(user).await.unwrap().is_none());
    // Nothing to take a step of yet.
    assert!(!store.take_console_totp_step(user, 5, None).await.unwrap());
    let first = secrecy::SecretString::from("JBSWY3DPEHPK3PXP");
    assert!(
        store
            .set_up_console_totp(user, &first, 10, &audit("second factor set up", None, 10))
            .await
            .unwrap()
    );
    // Set up again before confirming: the new secret replaces it.
    let secret = secrecy::SecretString::from("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert!(
        store
            .set_up_console_totp(user, &secret, 20, &audit("second factor set up", None, 20))
            .await
            .unwrap()
    );
    let set_up = store.console_totp(user).await.unwrap().unwrap();
    assert_eq!(set_up.secret.expose_secret(), secret.expose_secret());
    assert_eq!((set_up.enabled_at_ms, set_up.last_step), (None, None));

    assert!(
        store
            .take_console_totp_step(
                user,
                100,
                Some((30, &audit("second factor enabled", None, 30)))
            )
            .await
            .unwrap()
    );
    let on = store.console_totp(user).await.unwrap().unwrap();
    assert_eq!((on.enabled_at_ms, on.last_step), (Some(30), Some(100)));
    // Replays: the same step, or an earlier one.
    assert!(!store.take_console_totp_step(user, 100, None).await.unwrap());
    assert!(!store.take_console_totp_step(user, 99, None).await.unwrap());
    assert!(store.take_console_totp_step(user, 101, None).await.unwrap());
    // In force: it is not confirmed again, nor replaced.
    assert!(
        !store
            .take_console_totp_step(
                user,
                102,
                Some((40, &audit("second factor enabled", None, 40)))
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_up_console_totp(user, &first, 50, &audit("second factor set up", None, 50))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .console_totp(user)
            .await
            .unwrap()
            .unwrap()
            .secret
            .expose_secret(),
        secret.expose_secret()
    );
    store
        .remove_console_totp(user, &audit("second factor removed", None, 60))
        .await
        .unwrap();
    assert!(store.console_totp(user).await.unwrap().is_none());
    let actions: Vec<String> = store
        .audit_log(None, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.action)
        .collect();
    // Put in force once (the refused second confirmation wrote nothing),
    // with its row in the same commit (decisions §36).
    assert_eq!(
        actions,
        [
            "second factor removed",
            "second factor enabled",
            "second factor set up",
            "second factor set up",
            "user created"
        ]
    );
}

/// An order like `order-1`, created at `created_at`, on `chain` in `coin`.
fn searched_order(
    merchant: &MerchantId,
    order_id: &str,
    created_at: i64,
    chain: &str,
    coin: CoinId,
) -> (Order, DepositAddress) {
    let order = Order {
        order_id: order_id.to_owned(),
        merchant_order_id: format!("shop-{order_id}"),
        pay_address: format!("0x{order_id}"),
        chain: chain.to_owned(),
        coin_id: coin,
        created_at,
        expires_at: created_at + 600,
        ..first_order(merchant)
    };
    let address = DepositAddress {
        address: order.pay_address.clone(),
        chain: chain.to_owned(),
        order_id: Some(order_id.to_owned()),
        ..first_order_address(merchant)
    };
    (order, address)
}

/// The dashboard's reads (decisions §31): orders searched by each filter
/// and paged by key, so orders made in one second are neither skipped nor
/// repeated; the webhooks of a set of records; a user's permanent
/// addresses; and the postings of the merchant's accounts in a range.
async fn dashboard_searches_page_by_key<S>(store: &S)
where
    S: Store + OrderStore + CreditStore + AddressStore + DashboardStore,
{
    let merchant = merchant_with_a_paid_order(store).await;
    let other = new_merchant(store).await;
    for (order_id, created_at, chain, coin) in [
        ("a", NOW + 50, "ETH", usdt()),
        ("b", NOW + 50, "ETH", usdt()),
        ("c", NOW + 50, "ETH", usdt()),
        ("d", NOW + 60, "TRX", matic()),
    ] {
        let (order, address) = searched_order(&merchant, order_id, created_at, chain, coin);
        store_order(store, &order, &address).await;
    }
    let (theirs, theirs_address) = searched_order(&other, "e", NOW + 70, "ETH", usdt());
    store_order(store, &theirs, &theirs_address).await;

    let ids = |orders: Vec<Order>| -> Vec<String> {
        orders.into_iter().map(|order| order.order_id).collect()
    };
    // Pages of two: the second starts inside the second of "a", "b", "c".
    let mut pages = Vec::new();
    let mut search = OrderSearch::of_merchant(&merchant, 2);
    loop {
        let page = store.search_orders(&search).await.unwrap();
        let Some(last) = page.last() else { break };
        search.after = Some((last.created_at, last.order_id.clone()));
        pages.push(ids(page));
    }
    assert_eq!(
        pages,
        [vec!["d", "c"], vec!["b", "a"], vec!["order-1"]],
        "newest first, each once"
    );
    let all = OrderSearch::of_merchant(&merchant, 50);
    for (search, expected) in [
        (
            OrderSearch {
                payer_address: Some("0xpayer".into()),
                ..all.clone()
            },
            vec!["order-1"],
        ),
        (
            OrderSearch {
                txid: Some("0x01".into()),
                ..all.clone()
            },
            vec!["order-1"],
        ),
        (
            OrderSearch {
                txid: Some("0x02".into()),
                ..all.clone()
            },
            vec![],
        ),
        (
            OrderSearch {
                coin_id: Some(matic()),
                ..all.clone()
            },
            vec!["d"],
        ),
        (
            OrderSearch {
                chain: Some("TRX".into()),
                ..all.clone()
            },
            vec!["d"],
        ),
        (
            OrderSearch {
                merchant_order_id: Some("shop-1".into()),
                ..all.clone()
            },
            vec!["order-1"],
        ),
        (
            OrderSearch {
                since: Some(NOW + 50),
                until: Some(NOW + 60),
                ..all.clone()
            },
            vec!["c", "b", "a"],
        ),
        (OrderSearch::of_merchant(&other, 50), vec!["e"]),
    ] {
        assert_eq!(
            ids(store.search_orders(&search).await.unwrap()),
            expected,
            "{search:?}"
        );
    }

    // The paid order's two webhooks (seen, credited); none of another's.
    let hooks = store
        .webhooks_of_records(&merchant, &["record-1".into(), "nothing".into()])
        .await
        .unwrap();
    assert_eq!(hooks.len(), 2);
    assert!(hooks.iter().all(|row| row.record_id == "record-1"));
    assert!(hooks[0].id < hooks[1].id, "oldest first");
    assert!(
        store
            .webhooks_of_records(&other, &["record-1".into()])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .webhooks_of_records(&merchant, &[])
            .await
            .unwrap()
            .is_empty()
    );

    // user-1's permanent address, not its order addresses, not another's.
    store
        .insert_permanent_address(&permanent_address(&merchant), NOW)
        .await
        .unwrap();
    let found = store
        .user_permanent_addresses(&merchant, "user-1")
        .await
        .unwrap();
    assert_eq!(found, vec![permanent_address(&merchant)]);
    assert!(
        store
            .user_permanent_addresses(&other, "user-1")
            .await
            .unwrap()
            .is_empty()
    );

    // The deposit's entry touches the merchant's available balance once;
    // custody's and the fee's postings are not the merchant's.
    let lines = store
        .merchant_journal(&merchant, NOW, NOW + 1, 100)
        .await
        .unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        lines[0].account,
        Account::MerchantAvailable(merchant.clone()).key()
    );
    assert_eq!(lines[0].direction, Direction::Credit);
    assert_eq!(lines[0].amount, Amount::from_base_units(999_500));
    assert_eq!(lines[0].kind, "adjustment");
    assert!(
        store
            .merchant_journal(&merchant, NOW + 1, NOW + 2, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .merchant_journal(&other, NOW, NOW + 1, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

on_both_backends!(
    console_second_factor_takes_each_step_once,
    dashboard_searches_page_by_key,
);

/// Disabling a dashboard user (decisions §34) deletes its sessions and
/// appends the audit row in one commit; the listing says who is disabled,
/// whose second factor is on, and when each last logged in.
async fn console_users_are_disabled_and_listed<S>(store: &S)
where
    S: Store + ConsoleStore + DashboardStore,
{
    let operator = store
        .create_console_user(
            "ops@example.com",
            "h",
            &ConsoleRole::Operator,
            1,
            &audit("user created", None, 1),
        )
        .await
        .unwrap();
    let other = store
        .create_console_user(
            "two@example.com",
            "h",
            &ConsoleRole::Operator,
            2,
            &audit("user created", None, 2),
        )
        .await
        .unwrap();
    let session = |id_hash: &str, user_id| ConsoleSession {
        id_hash: id_hash.to_owned(),
        user_id,
        csrf_token: "csrf".to_owned(),
        created_at_ms: 500,
        last_seen_ms: 500,
    };
    for (id_hash, user) in [("a", other), ("b", other), ("c", operator)] {
        store
            .start_console_session(
                &session(id_hash, user),
                None,
                "x",
                &audit("login", None, 500),
            )
            .await
            .unwrap();
    }
    store
        .set_up_console_totp(
            operator,
            &secrecy::SecretString::from("JBSWY3DPEHPK3PXP"),
            10,
            &audit("second factor set up", None, 10),
        )
        .await
        .unwrap();
    assert!(
        store
            .take_console_totp_step(
                operator,
                7,
                Some((600, &audit("second factor enabled", None, 600)))
            )
            .await
            .unwrap()
    );

    assert_eq!(
        store
            .set_console_user_disabled(other, Some(700), &audit("user disabled", None, 700))
            .await
            .unwrap(),
        UserChange::Changed
    );
    assert!(store.console_session("a").await.unwrap().is_none());
    assert!(store.console_session("b").await.unwrap().is_none());
    assert!(store.console_session("c").await.unwrap().is_some());
    assert_eq!(
        store
            .set_console_user_disabled(9_999, Some(700), &audit("user disabled", None, 700))
            .await
            .unwrap(),
        UserChange::NoSuchUser
    );
    let listed = store.console_user_listing().await.unwrap();
    let seen: Vec<(i64, Option<i64>, Option<i64>, bool)> = listed
        .iter()
        .map(|l| {
            (
                l.user.id,
                l.user.disabled_at_ms,
                l.user.last_login_ms,
                l.second_factor,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (operator, None, Some(500), true),
            (other, Some(700), Some(500), false)
        ]
    );
    assert_eq!(
        store
            .set_console_user_disabled(other, None, &audit("user enabled", None, 800))
            .await
            .unwrap(),
        UserChange::Changed
    );
    let enabled = store.console_user(other).await.unwrap().unwrap();
    assert_eq!(enabled.disabled_at_ms, None);
    let actions: Vec<String> = store
        .audit_log(None, None, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(actions, ["user enabled", "user disabled"]);
}

on_both_backends!(console_users_are_disabled_and_listed);

/// Changing a user's role (decisions §40) ends its sessions and appends the
/// audit row in one commit; the last operator not disabled is not made a
/// merchant user, and a refused change leaves no row.
async fn console_roles_change_but_the_last_operator_stays<S>(store: &S)
where
    S: Store + ConsoleStore,
{
    let merchant = new_merchant(store).await;
    let operator = store
        .create_console_user(
            "ops@example.com",
            "h",
            &ConsoleRole::Operator,
            1,
            &audit("user created", None, 1),
        )
        .await
        .unwrap();
    let user = store
        .create_console_user(
            "user@example.com",
            "h",
            &ConsoleRole::Merchant(merchant.clone()),
            2,
            &audit("user created", None, 2),
        )
        .await
        .unwrap();
    store
        .start_console_session(
            &ConsoleSession {
                id_hash: "s".to_owned(),
                user_id: user,
                csrf_token: "csrf".to_owned(),
                created_at_ms: 3,
                last_seen_ms: 3,
            },
            None,
            "x",
            &audit("login", None, 3),
        )
        .await
        .unwrap();
    let before = audit_rows(store).await;
    // The only operator stays one.
    assert_eq!(
        store
            .set_console_user_role(
                operator,
                &ConsoleRole::Merchant(merchant.clone()),
                &audit("user role changed", None, 4)
            )
            .await
            .unwrap(),
        UserChange::LastOperator
    );
    assert_eq!(
        store
            .set_console_user_role(
                9_999,
                &ConsoleRole::Operator,
                &audit("user role changed", None, 4)
            )
            .await
            .unwrap(),
        UserChange::NoSuchUser
    );
    assert_eq!(
        audit_rows(store).await,
        before,
        "a refused change leaves no row"
    );
    assert_eq!(
        store.console_user(operator).await.unwrap().unwrap().role,
        ConsoleRole::Operator
    );

    // The merchant user made an operator: its session ends.
    assert_eq!(
        store
            .set_console_user_role(
                user,
                &ConsoleRole::Operator,
                &audit("user role changed", None, 5)
            )
            .await
            .unwrap(),
        UserChange::Changed
    );
    assert_eq!(
        store.console_user(user).await.unwrap().unwrap().role,
        ConsoleRole::Operator
    );
    assert!(store.console_session("s").await.unwrap().is_none());
    assert_eq!(audit_rows(store).await, before + 1);
    // With another operator, the first may be made a merchant user; a
    // disabled operator does not count as the other.
    assert_eq!(
        store
            .set_console_user_role(
                operator,
                &ConsoleRole::Merchant(merchant.clone()),
                &audit("user role changed", None, 6)
            )
            .await
            .unwrap(),
        UserChange::Changed
    );
    assert_eq!(
        store
            .set_console_user_disabled(operator, Some(7), &audit("user disabled", None, 7))
            .await
            .unwrap(),
        UserChange::Changed
    );
    assert_eq!(
        store
            .set_console_user_role(
                operator,
                &ConsoleRole::Operator,
                &audit("user role changed", None, 8)
            )
            .await
            .unwrap(),
        UserChange::Changed
    );
    assert_eq!(
        store
            .set_console_user_role(
                user,
                &ConsoleRole::Merchant(merchant),
                &audit("user role changed", None, 9)
            )
            .await
            .unwrap(),
        UserChange::LastOperator,
        "the other operator is disabled"
    );
    assert_eq!(audit_rows(store).await, before + 4);
}

on_both_backends!(console_roles_change_but_the_last_operator_stays);

/// The last operator not disabled is not disabled either, and two
/// operators demoting or disabling each other at the same instant leave
/// one operator, on PostgreSQL as on SQLite (decisions §44).
async fn the_last_operator_stays_under_concurrent_changes<S>(store: &S)
where
    S: Store + ConsoleStore,
{
    let merchant = new_merchant(store).await;
    let operator = |n: i64| {
        let email = format!("ops-{n}@example.com");
        async move {
            store
                .create_console_user(
                    &email,
                    "h",
                    &ConsoleRole::Operator,
                    n,
                    &audit("user created", None, n),
                )
                .await
                .unwrap()
        }
    };
    let enabled_operators = || async {
        store
            .console_user_listing()
            .await
            .unwrap()
            .into_iter()
            .filter(|l| l.user.role == ConsoleRole::Operator && l.user.disabled_at_ms.is_none())
            .count()
    };
    let only = operator(1).await;
    assert_eq!(
        store
            .set_console_user_disabled(only, Some(2), &audit("user disabled", None, 2))
            .await
            .unwrap(),
        UserChange::LastOperator
    );
    // Re-enabling is never refused, whoever else is an operator.
    assert_eq!(
        store
            .set_console_user_disabled(only, None, &audit("user enabled", None, 3))
            .await
            .unwrap(),
        UserChange::Changed
    );
    // Rounds of two operators each changed by the other's request at once:
    // one change goes through, the other finds it the last operator.
    for round in 0..10_i64 {
        let (a, b) = (
            operator(10 + 2 * round).await,
            operator(11 + 2 * round).await,
        );
        // The round's two are the only operators left not disabled.
        assert_eq!(
            store
                .set_console_user_disabled(only, Some(4), &audit("user disabled", None, 4))
                .await
                .unwrap(),
            UserChange::Changed
        );
        let demoted = ConsoleRole::Merchant(merchant.clone());
        let (role_changed, disabled) = (
            audit("user role changed", None, 5),
            audit("user disabled", None, 5),
        );
        let demote_a = store.set_console_user_role(a, &demoted, &role_changed);
        let (first, second) = if round % 2 == 0 {
            let disable_b = store.set_console_user_disabled(b, Some(5), &disabled);
            let (x, y) = tokio::join!(demote_a, disable_b);
            (x.unwrap(), y.unwrap())
        } else {
            let demote_b = store.set_console_user_role(b, &demoted, &role_changed);
            let (x, y) = tokio::join!(demote_a, demote_b);
            (x.unwrap(), y.unwrap())
        };
        let mut outcomes = [first, second];
        outcomes.sort_by_key(|change| *change == UserChange::LastOperator);
        assert_eq!(
            outcomes,
            [UserChange::Changed, UserChange::LastOperator],
            "round {round}"
        );
        assert_eq!(enabled_operators().await, 1, "round {round}");
        // Back to one operator of the round not disabled: `only` returns.
        assert_eq!(
            store
                .set_console_user_disabled(only, None, &audit("user enabled", None, 6))
                .await
                .unwrap(),
            UserChange::Changed
        );
        for user in [a, b] {
            assert_eq!(
                store
                    .set_console_user_disabled(user, Some(7), &audit("user disabled", None, 7))
                    .await
                    .unwrap(),
                UserChange::Changed
            );
        }
    }
}

on_both_backends!(the_last_operator_stays_under_concurrent_changes);

/// A dashboard invoice's audit row commits with its checkout (decisions
/// §40): one row for the checkout stored, none for a second of the same
/// merchant_order_id, which stores nothing.
async fn an_invoice_and_its_audit_row_commit_together<S>(store: &S)
where
    S: Store + OrderStore + ConsoleStore,
{
    let merchant = new_merchant(store).await;
    let invoice = Checkout {
        key: "invoice-key-1".into(),
        app_id: merchant.clone(),
        merchant_order_id: "inv-1".into(),
        fingerprint: "fp".into(),
        product_price: "5".into(),
        product_name: "lesson".into(),
        return_url: None,
        notify_url: None,
        custom_value: None,
        created_at: NOW,
        expires_at: NOW + 600,
        order_id: None,
        dialect: ccgate_store::WebhookDialect::V1,
        buyer_email: None,
        denominated_currency: "USD".into(),
        price_coin_id: None,
        invoice: true,
    };
    let row = audit("invoice created", Some(&merchant), 1);
    let before = audit_rows(store).await;
    assert_eq!(
        store.create_checkout(&invoice, Some(&row)).await.unwrap(),
        invoice
    );
    assert_eq!(audit_rows(store).await, before + 1);
    let again = Checkout {
        key: "invoice-key-2".into(),
        fingerprint: "other".into(),
        ..invoice.clone()
    };
    assert_eq!(
        store.create_checkout(&again, Some(&row)).await.unwrap(),
        invoice,
        "the first stays"
    );
    assert_eq!(audit_rows(store).await, before + 1);
}

on_both_backends!(an_invoice_and_its_audit_row_commit_together);

async fn audit_rows(store: &impl ConsoleStore) -> usize {
    store.audit_log(None, None, 100).await.unwrap().len()
}

/// The overview counts every order of a merchant by the state the API
/// reports (decisions §36), in SQL: more than 100 orders, payments summed
/// across the 13-digit parts' carry, late and other-coin payments left out,
/// seen-but-uncredited ones Processing, and orders Expired by time alone —
/// the same rows count differently later, with no write in between.
async fn order_states_are_counted_over_every_order<S>(store: &S)
where
    S: Store + OrderStore + CreditStore + DashboardStore,
{
    const ORDERS: usize = 130;
    let merchant = new_merchant(store).await;
    let other = new_merchant(store).await;
    // Just past the first 13-digit part, so only a carried sum reaches it.
    let big: u128 = 10_000_000_000_005;
    let pay = |order_id: &str, txid: &str, units: u128, block_time_ms: i64, coin: CoinId| {
        let record_id = format!("record-{txid}");
        DepositCredit {
            deposit: NewDeposit {
                record_id: record_id.clone(),
                transfer: ChainTransfer {
                    amount: Amount::from_base_units(units),
                    block_time_ms,
                    ..devnet_transfer(txid, 3)
                },
                app_id: merchant.clone(),
                user_id: None,
                order_id: Some(order_id.to_owned()),
                coin_id: coin.clone(),
                service_fee: Amount::ZERO,
                credit_amount: Amount::from_base_units(units),
                credited_at: NOW + 10,
            },
            entry: JournalEntry::transfer(
                custody(),
                Account::MerchantAvailable(merchant.clone()),
                coin,
                Amount::from_base_units(units),
            )
            .unwrap(),
            meta: meta("deposit"),
            webhook: webhook(&merchant, &record_id, "API Deposit"),
        }
    };
    let mut expected = [0u64; 4]; // pending, processing, successful, expired at NOW + 100
    for i in 0..ORDERS {
        let order_id = format!("o-{i}");
        let kind = i % 6;
        // Kinds 2 and 5 expire at NOW + 50, the rest at NOW + 600.
        let expires_at = if kind == 2 || kind == 5 {
            NOW + 50
        } else {
            NOW + 600
        };
        let order_amount = if kind >= 4 { big } else { 1_000_000 };
        let order = Order {
            order_id: order_id.clone(),
            merchant_order_id: format!("m-{i}"),
            pay_address: format!("0xo{i}"),
            order_amount: Amount::from_base_units(order_amount),
            created_at: NOW + i64::try_from(i).unwrap(),
            expires_at,
            ..first_order(&merchant)
        };
        let address = DepositAddress {
            address: format!("0xo{i}"),
            order_id: Some(order_id.clone()),
            derivation_index: 100 + u32::try_from(i).unwrap(),
            ..first_order_address(&merchant)
        };
        store_order(store, &order, &address).await;
        let in_time = NOW_MS;
        let credits = match kind {
            // Paid in full in time, seen first: Successful.
            0 => {
                let seen = SeenTransfer {
                    txid: format!("0x{i}a"),
                    record_id: format!("record-0x{i}a"),
                    order_id: Some(order_id.clone()),
                    ..seen("unused", "unused", &merchant)
                };
                store.record_seen_transfer(&seen, None).await.unwrap();
                expected[2] += 1;
                vec![pay(
                    &order_id,
                    &format!("0x{i}a"),
                    1_000_000,
                    in_time,
                    usdt(),
                )]
            }
            // Nothing yet: Pending, until NOW + 600.
            1 => {
                expected[0] += 1;
                Vec::new()
            }
            // Nothing, and expired by time alone: Expired.
            2 => {
                expected[3] += 1;
                Vec::new()
            }
            // Seen in time, not credited yet: Processing.
            3 => {
                let seen = SeenTransfer {
                    txid: format!("0x{i}a"),
                    record_id: format!("record-0x{i}a"),
                    order_id: Some(order_id.clone()),
                    ..seen("unused", "unused", &merchant)
                };
                store.record_seen_transfer(&seen, None).await.unwrap();
                expected[1] += 1;
                Vec::new()
            }
            // Two payments whose low parts carry into the due amount, and
            // one in another coin: Successful.
            4 => {
                expected[2] += 1;
                vec![
                    pay(
                        &order_id,
                        &format!("0x{i}a"),
                        9_999_999_999_999,
                        in_time,
                        usdt(),
                    ),
                    pay(&order_id, &format!("0x{i}b"), 6, in_time, usdt()),
                    pay(&order_id, &format!("0x{i}c"), big, in_time, matic()),
                ]
            }
            // One unit short in time, the rest paid after the expiry:
            // Expired.
            _ => {
                expected[3] += 1;
                vec![
                    pay(
                        &order_id,
                        &format!("0x{i}a"),
                        9_999_999_999_999,
                        in_time,
                        usdt(),
                    ),
                    pay(&order_id, &format!("0x{i}b"), 5, in_time, usdt()),
                    pay(
                        &order_id,
                        &format!("0x{i}c"),
                        big,
                        (NOW + 60) * 1000,
                        usdt(),
                    ),
                ]
            }
        };
        if !credits.is_empty() {
            store.credit_deposits("ETH", None, &credits).await.unwrap();
        }
    }
    // Another merchant's order is not counted.
    store_order(
        store,
        &Order {
            order_id: "theirs".into(),
            pay_address: "0xtheirs".into(),
            ..first_order(&other)
        },
        &DepositAddress {
            address: "0xtheirs".into(),
            order_id: Some("theirs".into()),
            derivation_index: 99,
            ..first_order_address(&other)
        },
    )
    .await;
    let counts =
        |c: ccgate_store::OrderStateCounts| [c.pending, c.processing, c.successful, c.expired];
    let now = store
        .order_state_counts(&merchant, NOW + 100)
        .await
        .unwrap();
    assert_eq!(counts(now), expected);
    assert_eq!(expected.iter().sum::<u64>(), ORDERS as u64);
    assert_eq!(expected, [22, 22, 43, 43]);
    // At the expiry second an order is still Pending (the API's `now > expiry`).
    let at_expiry = store
        .order_state_counts(&merchant, NOW + 600)
        .await
        .unwrap();
    assert_eq!(counts(at_expiry), expected);
    // Later, with no write: the pending orders have expired; processing ones
    // were paid in time and stay.
    let later = store
        .order_state_counts(&merchant, NOW + 601)
        .await
        .unwrap();
    assert_eq!(counts(later), [0, 22, 43, 65]);
    assert_eq!(
        counts(store.order_state_counts(&other, NOW).await.unwrap()),
        [1, 0, 0, 0]
    );
}

/// Each state change made from the dashboard commits with its audit row
/// (decisions §36): one row per change, and a change that fails (an unknown
/// merchant, a used code) leaves none.
async fn dashboard_changes_commit_with_their_audit_rows<S>(store: &S)
where
    S: Store + ConsoleStore + DashboardStore + MerchantSettingsStore + OutboxStore + CreditStore,
{
    let merchant = new_merchant(store).await;
    let ghost = MerchantId::new("ghost");
    let rows = || async {
        store
            .audit_log(None, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.action)
            .collect::<Vec<_>>()
    };
    let secret = generate_app_secret();
    let made = MerchantId::new(generate_app_id(NOW));
    store
        .create_merchant(
            &made,
            &secret,
            "audited shop",
            NOW,
            Some(&audit("merchant created", Some(&made), 0)),
        )
        .await
        .unwrap();
    // A name taken: no merchant, no row.
    let namesake = MerchantId::new(generate_app_id(NOW));
    assert!(matches!(
        store
            .create_merchant(
                &namesake,
                &secret,
                "audited shop",
                NOW,
                Some(&audit("must not be written", Some(&namesake), 0))
            )
            .await,
        Err(StoreError::MerchantNameTaken(_))
    ));
    store
        .replace_secret(
            &merchant,
            &secret,
            NOW,
            Some(&audit("secret rotated", Some(&merchant), 1)),
        )
        .await
        .unwrap();
    store
        .set_api_allowlist(
            &merchant,
            "10.0.0.0/8",
            NOW,
            Some(&audit("API allowlist set", Some(&merchant), 2)),
        )
        .await
        .unwrap();
    store
        .set_merchant_status(
            &merchant,
            MerchantStatus::Disabled,
            NOW,
            Some(&audit("merchant disabled", Some(&merchant), 3)),
        )
        .await
        .unwrap();
    store
        .set_merchant_webhook(
            &merchant,
            Some("https://shop.example/hook"),
            false,
            ccgate_store::WebhookDialect::V1,
            Some(&audit("webhook URL set", Some(&merchant), 4)),
        )
        .await
        .unwrap();
    store
        .set_service_fee(
            &merchant,
            700,
            Some(&audit("service fee set", Some(&merchant), 5)),
        )
        .await
        .unwrap();
    credit_one(store, &merchant, "0xresent", "0xresent", 4).await;
    let record_ids = ["record-0xresent".to_owned()];
    let filter = ResendFilter {
        from_ms: NOW_MS,
        to_ms: NOW_MS,
        all_results: true,
        order_type: None,
        record_ids: &record_ids,
    };
    assert_eq!(
        store
            .resend_webhooks(
                &merchant,
                &filter,
                NOW_MS + 1,
                Some(&audit("webhook resent", Some(&merchant), 6))
            )
            .await
            .unwrap(),
        1
    );
    let done = [
        "webhook resent",
        "service fee set",
        "webhook URL set",
        "merchant disabled",
        "API allowlist set",
        "secret rotated",
        "merchant created",
    ];
    assert_eq!(rows().await, done);
    let settings = store.merchant_settings(&merchant).await.unwrap().unwrap();
    assert_eq!(settings.service_fee_ppm, 700);

    // Each fails on a merchant that does not exist, and writes no row.
    let nothing = audit("must not be written", Some(&ghost), 7);
    assert!(matches!(
        store
            .replace_secret(&ghost, &secret, NOW, Some(&nothing))
            .await,
        Err(StoreError::MerchantNotFound(_))
    ));
    assert!(matches!(
        store
            .set_api_allowlist(&ghost, "", NOW, Some(&nothing))
            .await,
        Err(StoreError::MerchantNotFound(_))
    ));
    assert!(matches!(
        store
            .set_merchant_status(&ghost, MerchantStatus::Active, NOW, Some(&nothing))
            .await,
        Err(StoreError::MerchantNotFound(_))
    ));
    assert!(matches!(
        store
            .set_merchant_webhook(
                &ghost,
                None,
                false,
                ccgate_store::WebhookDialect::V1,
                Some(&nothing)
            )
            .await,
        Err(StoreError::MerchantNotFound(_))
    ));
    assert!(matches!(
        store.set_service_fee(&ghost, 1, Some(&nothing)).await,
        Err(StoreError::MerchantNotFound(_))
    ));
    assert_eq!(rows().await, done);

    // A second factor put in force writes its row; a refused code none.
    let user = store
        .create_console_user(
            "ops@example.com",
            "$argon2id$x",
            &ConsoleRole::Operator,
            8,
            &audit("user created", None, 8),
        )
        .await
        .unwrap();
    store
        .set_up_console_totp(
            user,
            &secrecy::SecretString::from("JBSWY3DPEHPK3PXP"),
            9,
            &audit("second factor set up", None, 9),
        )
        .await
        .unwrap();
    assert!(
        store
            .take_console_totp_step(
                user,
                50,
                Some((10, &audit("second factor enabled", None, 10)))
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_console_totp_step(user, 50, Some((11, &nothing)))
            .await
            .unwrap()
    );
    assert_eq!(
        rows().await[..3],
        [
            "second factor enabled",
            "second factor set up",
            "user created"
        ]
    );
    assert_eq!(rows().await.len(), done.len() + 3);
}

/// Expired sessions (idle or old) and failed logins past the throttle's
/// window go, a bounded batch at a time; live ones stay (decisions §36).
async fn console_rows_are_purged_in_bounded_batches<S>(store: &S)
where
    S: ConsoleStore,
{
    let user = store
        .create_console_user(
            "ops@example.com",
            "$argon2id$x",
            &ConsoleRole::Operator,
            1,
            &audit("user created", None, 1),
        )
        .await
        .unwrap();
    let session = |name: &str, created_at_ms: i64, last_seen_ms: i64| ConsoleSession {
        id_hash: name.to_owned(),
        user_id: user,
        csrf_token: format!("csrf-{name}"),
        created_at_ms,
        last_seen_ms,
    };
    // With idle cut-off 1 000 and absolute cut-off 500:
    for (name, created, seen) in [
        ("live", 900, 2_000),
        ("idle", 600, 1_000),
        ("old", 500, 2_000),
        ("idle-too", 700, 800),
    ] {
        store
            .start_console_session(
                &session(name, created, seen),
                None,
                "ops@example.com",
                &audit("login", None, created),
            )
            .await
            .unwrap();
    }
    for at_ms in [100, 200, 300, 5_000] {
        store
            .record_login_failure(
                "who@example.com",
                "203.0.113.9",
                at_ms,
                &audit("login refused", None, at_ms),
            )
            .await
            .unwrap();
    }
    // Batches of 1: a session and a failure a round, until nothing is left.
    let mut purged = Vec::new();
    loop {
        let went = store
            .purge_console_rows(1_000, 500, 1_000, 1)
            .await
            .unwrap();
        if went == 0 {
            break;
        }
        assert!(went <= 2, "at most the limit of each table: {went}");
        purged.push(went);
    }
    assert_eq!(purged.iter().sum::<u64>(), 3 + 3);
    assert_eq!(purged.len(), 3);
    for gone in ["idle", "old", "idle-too"] {
        assert!(
            store.console_session(gone).await.unwrap().is_none(),
            "{gone}"
        );
    }
    assert!(store.console_session("live").await.unwrap().is_some());
    assert_eq!(
        store
            .login_failures_since("who@example.com", "203.0.113.9", 0)
            .await
            .unwrap(),
        (1, 1)
    );
}

on_both_backends!(
    order_states_are_counted_over_every_order,
    dashboard_changes_commit_with_their_audit_rows,
    console_rows_are_purged_in_bounded_batches,
);
