//! Persistence for ccgate. The only crate that speaks SQL: everything above it
//! talks to the [`Store`] trait, so a PostgreSQL backend is a second
//! implementation, not a change to callers.
//!
//! Invariant: a journal entry, its postings and the balance changes they imply
//! commit in one DB transaction, and the balances are computed by the pure
//! `ccgate_ledger::journal::apply_entry`, never by SQL arithmetic.

mod backend;
mod cache;
mod credentials;
mod deposit_records;
mod deposits;
mod error;
mod history;
mod listings;
mod master_key;
mod payouts;
mod postgres;
mod reconciliations;
mod reorgs;
mod rows;
mod sandbox;
mod snapshots;
mod sqlite;
mod sqlite_deposits;
mod sweeps;
mod withdrawals;

use async_trait::async_trait;
use std::collections::BTreeMap;

use ccgate_ledger::{Account, AccountBalance, Books, CoinId, JournalEntry, MerchantId};
use secrecy::SecretString;

// What chains say lives in the ledger crate, below both the chain adapters and
// the stores; re-exported here for the store's callers.
pub use cache::CachingStore;
pub use ccgate_ledger::{BlockLink, ChainTransfer, DevnetChainState};
pub use credentials::{generate_app_id, generate_app_secret};
pub use deposit_records::{
    ConfirmingOrderPayment, DepositRecord, DepositRecordFilter, DepositRecords,
};
pub use deposits::{
    Checkout, ConfirmingPayment, DepositAddress, DepositCredit, DepositStore, HeldAddress,
    MerchantSettings, NewDeposit, NewWebhook, Order, OrderPayment, OutboxStore, OutboxWebhook,
    ResendFilter, SeenTransfer, WebhookAttempt, WebhookCounts, WebhookDialect, WebhookNext,
    WebhookRow,
};
pub use error::StoreError;
pub use history::{CreditHistory, CreditedDeposits};
pub use listings::{ListingFilter, Listings};
pub use master_key::MasterKey;
pub use payouts::{PayoutInsert, PayoutStore, SignedPayout};
pub use postgres::PgStore;
pub use reconciliations::{
    AddressDeposit, ReconcileStore, ReconcileTarget, Shortfall, TOP_UP_PAYOUT_PREFIX,
};
pub use reorgs::{ReorgStore, RollBack, UnconfirmedPayment};
pub use sandbox::{
    DevnetReorg, ReorgIncident, SandboxStore, StoredClock, TakenFault, TransferKey, WebhookFaults,
};
pub use snapshots::SnapshotStore;
pub use sqlite::SqliteStore;
pub use sweeps::{SignedSweep, SweepDue, SweepInsert, SweepRecord, SweepSettlement, SweepStore};
pub use withdrawals::{
    Approval, DestinationFilter, FeeQuote, OrderIdHolder, Withdrawal, WithdrawalQuery,
    WithdrawalStatus, WithdrawalStore,
};

/// Whether a merchant may call the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantStatus {
    Active,
    Disabled,
}

impl MerchantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Active => "active",
            MerchantStatus::Disabled => "disabled",
        }
    }
}

/// A merchant as listed to operators: no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantSummary {
    pub app_id: MerchantId,
    pub name: String,
    pub status: MerchantStatus,
    pub created_at: i64,
}

/// What the signature check needs. The secret stays wrapped so that it can't
/// reach a log line or a `Debug` print by accident.
#[derive(Debug, Clone)]
pub struct MerchantCredentials {
    pub app_id: MerchantId,
    pub app_secret: SecretString,
    pub status: MerchantStatus,
}

/// Why a journal entry was written; kept beside it for audits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// A stable machine word, e.g. `adjustment`.
    pub kind: &'static str,
    /// The operator's or the system's sentence.
    pub reason: String,
    pub created_at: i64,
}

/// A Cwallet account (decisions §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwalletAccount {
    pub c_id: String,
    pub nickname: String,
}

/// One balance of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinBalance {
    pub coin: CoinId,
    pub balance: AccountBalance,
}

#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new merchant with the given credentials.
    async fn create_merchant(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        name: &str,
        now_unix_secs: i64,
    ) -> Result<(), StoreError>;

    async fn list_merchants(&self) -> Result<Vec<MerchantSummary>, StoreError>;

    /// One merchant's name and status (never its secret); `None` if unknown.
    async fn merchant(&self, app_id: &MerchantId) -> Result<Option<MerchantSummary>, StoreError>;

    /// The credentials of a merchant, active or not; `None` if unknown.
    async fn merchant_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<MerchantCredentials>, StoreError>;

    async fn replace_secret(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        now_unix_secs: i64,
    ) -> Result<(), StoreError>;

    async fn set_merchant_status(
        &self,
        app_id: &MerchantId,
        status: MerchantStatus,
        now_unix_secs: i64,
    ) -> Result<(), StoreError>;

    /// Appends an entry to the journal and applies it to the balances, all or
    /// nothing. Returns the entry's id. Fails with `StoreError::Ledger` (and
    /// writes nothing) if a balance rule would be broken.
    async fn post_entry(&self, entry: &JournalEntry, meta: &EntryMeta) -> Result<i64, StoreError>;

    /// Stores a new Cwallet account; fails with `CwalletExists` if the id is taken.
    async fn create_cwallet(
        &self,
        account: &CwalletAccount,
        now_unix_secs: i64,
    ) -> Result<(), StoreError>;

    async fn cwallet(&self, c_id: &str) -> Result<Option<CwalletAccount>, StoreError>;

    /// The state of a simulated chain, started at `now_unix_ms` if it has none yet.
    async fn devnet_chain(
        &self,
        chain: &str,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError>;

    /// Adds `blocks` on-demand blocks to a simulated chain (started at
    /// `now_unix_ms` if new) and returns its new state.
    async fn devnet_mine(
        &self,
        chain: &str,
        blocks: u64,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError>;

    /// Makes the next `count` devnet sends on `chain` fail.
    async fn devnet_fail_next_sends(&self, chain: &str, count: u32) -> Result<(), StoreError>;

    /// Uses up one planned failure; `true` if this send is to fail.
    async fn devnet_take_send_failure(&self, chain: &str) -> Result<bool, StoreError>;

    /// Tells caches that a merchant's balances changed elsewhere (e.g. a deposit
    /// credited through a [`DepositStore`]).
    fn balances_changed(&self, _app_id: &MerchantId) {}

    /// Tells caches that the whole state was replaced elsewhere (a sandbox
    /// snapshot restored).
    fn everything_changed(&self) {}

    /// Fails unless the database answers; for health checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Every journal entry in posting order, rebuilt (and so re-validated)
    /// from the stored postings.
    async fn journal(&self) -> Result<Vec<JournalEntry>, StoreError>;

    /// How many journal entries there are, without reading them.
    async fn journal_len(&self) -> Result<u64, StoreError>;

    /// Every stored running balance.
    async fn all_balances(&self)
    -> Result<BTreeMap<(Account, CoinId), AccountBalance>, StoreError>;

    /// The balances of the merchant's available account, one per coin it has
    /// ever held, in coin-id order.
    async fn merchant_balances(&self, app_id: &MerchantId) -> Result<Vec<CoinBalance>, StoreError>;
}

/// Replays the whole journal and compares the result with the stored running
/// balances: the audit behind `ccgate ledger verify`.
pub async fn verify_ledger(store: &dyn Store) -> Result<LedgerAudit, StoreError> {
    let journal = store.journal().await?;
    let entries = journal.len();
    let replayed = Books::replay(&journal)?;
    let stored = store.all_balances().await?;
    let mut mismatches = Vec::new();
    for (key, balance) in &stored {
        let expected = replayed.balance(&key.0, &key.1);
        if expected != *balance {
            mismatches.push(format!(
                "{} {}: stored {:?}, replayed {:?}",
                key.0.key(),
                key.1,
                balance,
                expected
            ));
        }
    }
    for key in replayed.balances().keys() {
        if !stored.contains_key(key) {
            mismatches.push(format!(
                "{} {}: missing from stored balances",
                key.0.key(),
                key.1
            ));
        }
    }
    Ok(LedgerAudit {
        entries,
        balances: stored.len(),
        mismatches,
    })
}

/// The outcome of [`verify_ledger`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAudit {
    pub entries: usize,
    pub balances: usize,
    /// Empty when every stored balance equals the replayed one.
    pub mismatches: Vec<String>,
}
