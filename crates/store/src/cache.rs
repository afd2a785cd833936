//! A read-through cache for the two reads on every API request's path: a
//! merchant's credentials and its balances.
//!
//! Writes made through this store invalidate at once, so an API client always
//! reads its own writes. Writes made elsewhere (the CLI beside `serve`, another
//! instance on the same database) become visible within `ttl`. Money is never
//! moved on the strength of a cached value: balance checks happen inside the
//! DB transaction of the write (`post_entry`).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ccgate_ledger::{Account, AccountBalance, CoinId, JournalEntry, MerchantId};
use secrecy::SecretString;

use crate::StoreError;
use crate::console::AuditEntry;
use crate::ledger::{
    CoinBalance, CwalletAccount, MerchantCredentials, MerchantStatus, MerchantSummary, Store,
};
use crate::writes::EntryMeta;

/// Entries kept per map; past it the map is emptied, which costs only misses.
const CACHE_ENTRIES_MAX: usize = 100_000;

#[derive(Debug)]
pub struct CachingStore<S> {
    inner: S,
    ttl: Duration,
    credentials: Cache<String, Arc<MerchantCredentials>>,
    balances: Cache<MerchantId, Arc<[CoinBalance]>>,
}

impl<S: Store> CachingStore<S> {
    pub fn new(inner: S, ttl: Duration) -> CachingStore<S> {
        CachingStore {
            inner,
            ttl,
            credentials: Cache::default(),
            balances: Cache::default(),
        }
    }

    pub fn backend(&self) -> &S {
        &self.inner
    }
}

#[derive(Debug)]
struct Cache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
    /// Bumped by every invalidation; a read that raced with one does not
    /// store its (possibly older) result.
    generation: AtomicU64,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Cache<K, V> {
    /// Looked up by a borrowed key (`&str` for a `String`): a hit allocates
    /// nothing.
    fn get<Q>(&self, key: &Q, ttl: Duration) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(stored_at, _)| stored_at.elapsed() < ttl)
            .map(|(_, value)| value.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn put(&self, key: K, value: V, read_at_generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != read_at_generation {
            return;
        }
        if entries.len() >= CACHE_ENTRIES_MAX {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    fn invalidate(&self, key: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    fn invalidate_all(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[async_trait]
impl<S: Store> Store for CachingStore<S> {
    async fn create_merchant(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        name: &str,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        self.inner
            .create_merchant(app_id, app_secret, name, now_unix_secs, audit)
            .await
    }

    async fn list_merchants(&self) -> Result<Vec<MerchantSummary>, StoreError> {
        self.inner.list_merchants().await
    }

    async fn merchant(&self, app_id: &MerchantId) -> Result<Option<MerchantSummary>, StoreError> {
        self.inner.merchant(app_id).await
    }

    async fn merchant_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<Arc<MerchantCredentials>>, StoreError> {
        // A zero TTL keeps nothing: no lock, no copy stored only to expire.
        if self.ttl.is_zero() {
            return self.inner.merchant_credentials(app_id).await;
        }
        if let Some(hit) = self.credentials.get(app_id, self.ttl) {
            return Ok(Some(hit));
        }
        let generation = self.credentials.generation();
        let found = self.inner.merchant_credentials(app_id).await?;
        // Unknown Appids are not remembered: anyone can send them.
        if let Some(credentials) = &found {
            self.credentials
                .put(app_id.to_owned(), Arc::clone(credentials), generation);
        }
        Ok(found)
    }

    async fn replace_secret(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let outcome = self
            .inner
            .replace_secret(app_id, app_secret, now_unix_secs, audit)
            .await;
        self.credentials.invalidate(&app_id.to_string());
        outcome
    }

    async fn set_api_allowlist(
        &self,
        app_id: &MerchantId,
        allowlist: &str,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let outcome = self
            .inner
            .set_api_allowlist(app_id, allowlist, now_unix_secs, audit)
            .await;
        self.credentials.invalidate(&app_id.to_string());
        outcome
    }

    async fn set_merchant_status(
        &self,
        app_id: &MerchantId,
        status: MerchantStatus,
        now_unix_secs: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let outcome = self
            .inner
            .set_merchant_status(app_id, status, now_unix_secs, audit)
            .await;
        self.credentials.invalidate(&app_id.to_string());
        outcome
    }

    async fn post_entry(&self, entry: &JournalEntry, meta: &EntryMeta) -> Result<i64, StoreError> {
        let outcome = self.inner.post_entry(entry, meta).await;
        for posting in entry.postings() {
            if let Account::MerchantAvailable(merchant) = &posting.account {
                self.balances.invalidate(merchant);
            }
        }
        outcome
    }

    async fn create_cwallet(
        &self,
        account: &CwalletAccount,
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        self.inner.create_cwallet(account, now_unix_secs).await
    }

    async fn cwallet(&self, c_id: &str) -> Result<Option<CwalletAccount>, StoreError> {
        self.inner.cwallet(c_id).await
    }

    fn balances_changed(&self, app_id: &MerchantId) {
        self.balances.invalidate(app_id);
    }

    fn everything_changed(&self) {
        self.credentials.invalidate_all();
        self.balances.invalidate_all();
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn journal(&self) -> Result<Vec<JournalEntry>, StoreError> {
        self.inner.journal().await
    }

    async fn journal_len(&self) -> Result<u64, StoreError> {
        self.inner.journal_len().await
    }

    async fn all_balances(
        &self,
    ) -> Result<BTreeMap<(Account, CoinId), AccountBalance>, StoreError> {
        self.inner.all_balances().await
    }

    async fn merchant_balances(
        &self,
        app_id: &MerchantId,
    ) -> Result<Arc<[CoinBalance]>, StoreError> {
        if self.ttl.is_zero() {
            return self.inner.merchant_balances(app_id).await;
        }
        if let Some(hit) = self.balances.get(app_id, self.ttl) {
            return Ok(hit);
        }
        let generation = self.balances.generation();
        let balances = self.inner.merchant_balances(app_id).await?;
        self.balances
            .put(app_id.clone(), Arc::clone(&balances), generation);
        Ok(balances)
    }
}
