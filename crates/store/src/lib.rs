//! Persistence for ccgate. The only crate that speaks SQL: everything above it
//! talks to store traits, one per aggregate ([`Store`] for the ledger and
//! merchants, [`OrderStore`], [`OutboxStore`]…), each written once over both
//! backends: what a backend does differently is one trait (`backend.rs`),
//! implemented beside its connect code (`sqlite.rs`, `postgres.rs`).
//!
//! Invariant: a journal entry, its postings and the balance changes they imply
//! commit in one DB transaction, and the balances are computed by the pure
//! `ccgate_ledger::journal::apply_entry`, never by SQL arithmetic.

mod addresses;
mod backend;
mod batch_withdrawals;
mod bulk_load;
mod cache;
mod console;
mod credentials;
mod credits;
mod dashboard;
mod deposit_records;
mod devnet;
mod error;
mod history;
mod ledger;
mod listings;
mod master_key;
mod merchant_settings;
mod orders;
mod outbox;
mod outbox_claim;
mod payouts;
mod postgres;
mod reconciliations;
mod reorgs;
mod rows;
mod sandbox;
mod secrets;
mod snapshots;
mod sqlite;
mod swaps;
mod sweeps;
mod wallet;
mod withdrawals;
mod write_turn;
mod writes;

pub use addresses::{
    AddressStore, DepositAddress, Derivation, DerivationError, HeldAddress,
    LOOKUPS_PER_STATEMENT_MAX,
};
pub use batch_withdrawals::{
    Appended, BatchTask, BatchTaskState, BatchWithdrawal, BatchWithdrawalStore, TaskOutcome,
};
pub use bulk_load::BulkLoad;
pub use cache::CachingStore;
pub use console::{
    AuditEntry, ConsoleRole, ConsoleSession, ConsoleStore, ConsoleUser, ConsoleUserListing,
    UserChange,
};
pub use credentials::{generate_app_id, generate_app_secret};
pub use credits::{CreditStore, SeenTransfer};
pub use dashboard::{ConsoleTotp, DashboardStore, JournalLine, OrderSearch, OrderStateCounts};
pub use deposit_records::{
    ConfirmingOrderPayment, DailyReceipts, DepositRecord, DepositRecordFilter, DepositRecords,
};
pub use devnet::{DevnetChainState, DevnetStore};
pub use error::StoreError;
pub use history::{CreditHistory, CreditedDeposits};
pub use ledger::{
    CoinBalance, CwalletAccount, LedgerAudit, MerchantCredentials, MerchantStatus, MerchantSummary,
    Store, verify_ledger,
};
pub use listings::{ListingFilter, Listings};
pub use master_key::MasterKey;
pub use merchant_settings::{MerchantSettings, MerchantSettingsStore};
pub use orders::{Checkout, ConfirmingPayment, Order, OrderPayment, OrderStore};
pub use outbox::{
    OutboxStore, OutboxWebhook, PendingClaim, PendingCommit, ResendFilter, WebhookAttempt,
    WebhookClaim, WebhookCounts, WebhookNext, WebhookRow,
};
pub use payouts::{PayoutInsert, PayoutStore, SignedPayout};
pub use postgres::{PgStore, test_database_url};
pub use reconciliations::{
    AddressDeposit, ReconcileStore, ReconcileTarget, Shortfall, TOP_UP_PAYOUT_PREFIX,
};
pub use reorgs::{BlockLink, ReorgStore, RollBack, UnconfirmedPayment};
pub use sandbox::{
    DevnetReorg, ReorgIncident, SandboxStore, StoredClock, TakenFault, TransferKey, WebhookFaults,
};
pub use secrets::SecretStore;
pub use snapshots::SnapshotStore;
pub use sqlite::SqliteStore;
pub use swaps::{
    DailyUsage, Swap, SwapOwner, SwapPolicy, SwapPricing, SwapQuery, SwapQuote, SwapStore,
};
pub use sweeps::{SignedSweep, SweepDue, SweepInsert, SweepRecord, SweepSettlement, SweepStore};
pub use wallet::{
    BatchScope, Recorded, TransferFilter, UserBatchTransfer, UserTransfer, WalletStore, WalletUser,
};
pub use withdrawals::{
    Approval, DestinationFilter, FeeQuote, OrderIdHolder, Withdrawal, WithdrawalPreflight,
    WithdrawalQuery, WithdrawalStatus, WithdrawalStore,
};
pub use writes::{ChainTransfer, DepositCredit, EntryMeta, NewDeposit, NewWebhook, WebhookDialect};
