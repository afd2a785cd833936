use ccgate_ledger::{Amount, LedgerError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("open the database at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A read run on the caller's thread (decisions §43) failed.
    #[error("database: {0}")]
    InlineRead(#[from] rusqlite::Error),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no merchant has the Appid {0}")]
    MerchantNotFound(String),
    #[error("the Cwallet id {0} is taken")]
    CwalletExists(String),
    #[error("a merchant with the Appid {0} already exists")]
    MerchantExists(String),
    #[error("a merchant named {0:?} already exists: merchant names are unique")]
    MerchantNameTaken(String),
    #[error(
        "cannot decrypt the secret of {owner}: the master key is not the one it was stored with"
    )]
    SecretUndecryptable { owner: String },
    #[error("the master key is invalid: {0}")]
    MasterKey(String),
    #[error(
        "refunds of order {order_id} would reach {} base units, more than the {} it received",
        refunded.base_units(),
        received.base_units()
    )]
    RefundExceedsReceived {
        order_id: String,
        received: Amount,
        /// Including the refused refund.
        refunded: Amount,
    },
    #[error("a dashboard user with the e-mail {0} already exists")]
    ConsoleUserExists(String),
    /// A swap would take its merchant's day past its limit (decisions §29).
    #[error("the merchant's swaps today would pass its daily limit")]
    SwapDailyLimit,
    /// A deposit address could not be derived at the index reserved for it
    /// (the DB transaction that reserved it is rolled back).
    #[error("derive a deposit address: {0}")]
    Derivation(#[source] crate::addresses::DerivationError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the database is busy: no turn to write came within {waited_ms} ms")]
    WriteTurnTimedOut { waited_ms: u128 },
    #[error("start the SQLite checkpoint thread: {0}")]
    CheckpointThread(#[source] std::io::Error),
    #[error("cannot restore this snapshot: {0}")]
    Snapshot(String),
    #[error(
        "snapshots are SQLite-only for now; on PostgreSQL save and restore a schema with pg_dump \
         and pg_restore (see docs/sandbox.md)"
    )]
    SnapshotsUnsupported,
}
