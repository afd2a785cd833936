//! One behavioural suite for every `Store` backend. Each check takes a fresh
//! store; the SQLite runner below gives it a real database file. (The PostgreSQL
//! backend will run the same checks.)
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, LedgerError, MerchantId};
use ccgate_store::{
    CachingStore, CwalletAccount, EntryMeta, MasterKey, MerchantStatus, SqliteStore, Store,
    StoreError, generate_app_id, generate_app_secret, verify_ledger,
};
use secrecy::ExposeSecret;

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
        .create_merchant(&app_id, &generate_app_secret(), "shop", NOW)
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
        .create_merchant(&app_id, &secret, "shop", NOW)
        .await
        .unwrap();
    assert!(matches!(
        store.create_merchant(&app_id, &secret, "again", NOW).await,
        Err(StoreError::MerchantExists(_))
    ));
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
        .replace_secret(&app_id, &rotated, NOW + 1)
        .await
        .unwrap();
    let creds = store
        .merchant_credentials(app_id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.app_secret.expose_secret(), rotated.expose_secret());

    store
        .set_merchant_status(&app_id, MerchantStatus::Disabled, NOW + 2)
        .await
        .unwrap();
    let listed = store.list_merchants().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, MerchantStatus::Disabled);
    assert!(store.merchant_credentials("nope").await.unwrap().is_none());
    let ghost = MerchantId::new("ghost");
    assert!(matches!(
        store.replace_secret(&ghost, &rotated, NOW).await,
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

async fn cwallets_and_devnet(store: &dyn Store) {
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

#[tokio::test]
async fn sqlite_secret_is_not_stored_in_clear_and_needs_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = sqlite_store(&dir, &key).await;
    let app_id = MerchantId::new(generate_app_id(NOW));
    let secret = generate_app_secret();
    store
        .create_merchant(&app_id, &secret, "shop", NOW)
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

const LONG_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Writes by another process (the CLI beside `serve`) show once the TTL has
/// passed; the deadline only bounds a hung test, it is not a timing claim.
#[tokio::test]
async fn cache_sees_other_writers_after_its_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let cached = CachingStore::new(
        sqlite_store(&dir, &key).await,
        std::time::Duration::from_millis(50),
    );
    let other = sqlite_store(&dir, &key).await;
    let merchant = new_merchant(&cached).await;
    assert_eq!(available(&cached, &merchant).await, 0);
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
        .replace_secret(&merchant, &rotated, NOW)
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let secret = cached
            .merchant_credentials(merchant.as_str())
            .await
            .unwrap()
            .unwrap()
            .app_secret;
        if available(&cached, &merchant).await == 42
            && secret.expose_secret() == rotated.expose_secret()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "other writers never became visible"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn cache_shows_its_own_writes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cached = CachingStore::new(sqlite_store(&dir, &MasterKey::generate()).await, LONG_TTL);
    let merchant = new_merchant(&cached).await;
    assert_eq!(available(&cached, &merchant).await, 0);
    cached
        .post_entry(&credit(&merchant, 7), &meta("own"))
        .await
        .unwrap();
    assert_eq!(available(&cached, &merchant).await, 7);
    cached
        .merchant_credentials(merchant.as_str())
        .await
        .unwrap()
        .unwrap();
    cached
        .set_merchant_status(&merchant, MerchantStatus::Disabled, NOW)
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
