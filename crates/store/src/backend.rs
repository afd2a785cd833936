//! What lets a store be written once for both SQL backends: its SQL runs
//! unchanged on either, since every statement numbers its placeholders
//! (`$1`, `$2`, …), which PostgreSQL binds natively and sqlx's SQLite driver
//! binds by the number in the name; the little that does differ is the
//! [`Backend`] trait, implemented in `sqlite.rs` and `postgres.rs` beside
//! each backend's connect and migrate code.
//!
//! A store written this way is one `impl<S: SqlStore> …Store for S`, generic
//! over [`Backend`] (see `payouts.rs`). Its where-clause names what sqlx needs
//! of a backend to run a query (executors, arguments, the types bound); it is
//! spelled out on each impl because Rust carries a trait's supertraits to its
//! users but not bounds on other types such as `&mut Connection`.

use std::future::Future;

use ccgate_ledger::{AccountBalance, JournalEntry, MerchantId};
use sqlx::{Database, Pool};

use crate::StoreError;
use crate::master_key::MasterKey;
use crate::rows::Columns;
use crate::write_turn::{WriteConnection, WriteTransaction, Writes};
use crate::writes::{DepositCredit, EntryMeta};

/// What the backends do differently under the same SQL.
pub(crate) trait Backend: Database<QueryResult: RowsAffected, Row: Columns> {
    /// Begins a DB transaction that holds the write lock from its start:
    /// SQLite's `BEGIN IMMEDIATE` takes its one write lock at once, waiting
    /// out the busy timeout, instead of at the first write.
    const BEGIN_WRITE: &'static str;

    /// Ends a `SELECT` of rows about to be updated, so that concurrent
    /// writers each take rows the others are not taking: PostgreSQL locks
    /// them, skipping those another DB transaction holds; SQLite runs one
    /// writer at a time and has nothing to add.
    const SKIP_LOCKED: &'static str;

    /// The condition that a row's `id` is one of those `subquery` lists,
    /// written so that each is looked up by primary key whatever the
    /// table's statistics say: PostgreSQL may plan `id IN (subquery)` as a
    /// hash join over every row the rest of the condition admits (with stale
    /// statistics, every due webhook), while `id = ANY(ARRAY(subquery))` is
    /// an index condition; SQLite looks `IN` up by key already.
    fn id_among(subquery: &str) -> String;

    /// Run before a statement written as seeks only (the webhook claim) in
    /// the same DB transaction: PostgreSQL's planner, from statistics older
    /// than a burst of rows, may read the whole burst by a scan or a hash
    /// join where the statement means a few index seeks (decisions §49);
    /// this turns those plans off until the DB transaction ends. SQLite's
    /// planner needs nothing.
    const SEEKS_ONLY: Option<&'static str>;

    /// How a statement names its `n`th parameter (from 1), in a statement
    /// that names each parameter once, in the order they are bound:
    /// PostgreSQL numbers them (`$n`); SQLite's are anonymous (`?`), because
    /// it keeps a numbered one's name in a list that it searches once per
    /// parameter as it parses, and sqlx again as it binds: quadratic in a
    /// multi-row statement's parameters (issue #16 §4: a quarter of the
    /// webhook delivery loop's CPU, recording 256 attempts a statement).
    fn placeholder(n: usize) -> String;

    /// Appends `entries` to the journal in order and applies them to the
    /// balances inside the caller's DB transaction (a group commit when there
    /// are many); if any one is refused the caller drops the DB transaction,
    /// which writes nothing. Returns the entries' ids, in order.
    fn post_entries_in<'c>(
        conn: &'c mut Self::Connection,
        entries: &'c [(&'c JournalEntry, &'c EntryMeta)],
    ) -> impl Future<Output = Result<Vec<i64>, StoreError>> + Send + 'c;

    /// Posts one journal entry inside the caller's DB transaction; see
    /// `Store::post_entry`.
    fn post_entry_in<'c>(
        conn: &'c mut Self::Connection,
        entry: &'c JournalEntry,
        meta: &'c EntryMeta,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send + 'c {
        async move {
            let ids = Self::post_entries_in(conn, &[(entry, meta)]).await?;
            ids.first()
                .copied()
                .ok_or_else(|| StoreError::Corrupt("no journal id for an entry".into()))
        }
    }

    /// Makes refunds of one deposit order take turns from here to the end of
    /// the caller's DB transaction, since each checks the sum of the others'
    /// rows before committing its own.
    fn lock_refunds_of<'c>(
        conn: &'c mut Self::Connection,
        order_id: &'c str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c;

    /// Makes crediting of one chain take turns from here to the end of the
    /// caller's DB transaction (begun with [`Self::BEGIN_WRITE`]), so that a
    /// look-up of what was credited cannot miss a concurrent credit.
    fn lock_credits_of<'c>(
        conn: &'c mut Self::Connection,
        chain: &'c str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c;

    /// Per credit of `chain`, whether its transfer was never credited before
    /// (by any instance, or an earlier run); under [`Self::lock_credits_of`].
    fn uncredited<'c>(
        conn: &'c mut Self::Connection,
        chain: &'c str,
        credits: &'c [DepositCredit],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send + 'c;

    /// Records credited deposits (each with its journal entry's id) and
    /// queues their webhooks, inside the caller's DB transaction. No
    /// `ON CONFLICT`: the look-up under the chain's lock is what skips
    /// repeats, so a conflict here is a fault and fails the batch.
    fn insert_credited<'c>(
        conn: &'c mut Self::Connection,
        applied: &'c [&'c DepositCredit],
        entry_ids: &'c [i64],
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c;

    /// Makes changes to console users' roles and statuses take turns from
    /// here to the end of the caller's DB transaction (begun with
    /// [`Self::BEGIN_WRITE`]): each checks that another operator remains,
    /// a rule over a set no row lock holds (decisions §44).
    fn lock_console_users(
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + '_;

    /// Makes one merchant's `webhook/resend` calls take turns from here to
    /// the end of the caller's DB transaction, so that the count of its
    /// recent calls and the insert of this one see the same state.
    fn lock_resend_calls_of<'c>(
        conn: &'c mut Self::Connection,
        app_id: &'c MerchantId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c;

    /// The figures /metrics reads, by name, kept by triggers as rows change:
    /// reading them costs the same whatever the history.
    fn metric_figures(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send + '_;
}

/// The placeholders of parameters `first` to `first + count - 1`, comma
/// separated, for an `IN` list (see [`Backend::placeholder`]).
pub(crate) fn placeholders<Db: Backend>(first: usize, count: usize) -> String {
    (first..first + count)
        .map(Db::placeholder)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(…), (…)`: `rows` rows of `columns` placeholders, parameters numbered
/// row by row from 1, for a multi-row `VALUES` list.
pub(crate) fn value_rows<Db: Backend>(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders::<Db>(row * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// sqlx gives each backend's query result its own `rows_affected`, with no
/// trait over them.
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// A store on one sqlx pool: every such store gets the stores written once
/// over [`Backend`].
pub(crate) trait SqlStore: Send + Sync + std::fmt::Debug + 'static {
    type Db: Backend;

    /// Where reads run.
    fn pool(&self) -> &Pool<Self::Db>;

    /// Where writes run: a DB transaction that writes through
    /// [`SqlStore::begin_write`], a statement that writes through
    /// [`SqlStore::write_connection`]. On SQLite one connection of its own,
    /// which writes take in turns while the readers' pool cannot write
    /// (decisions §51, §53); on PostgreSQL the one pool.
    fn writes(&self) -> Writes<'_, Self::Db>;

    /// A DB transaction that writes, begun in its turn by a plain `BEGIN`
    /// (what sqlx's `begin` sends on both backends).
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<WriteTransaction<Self::Db>, StoreError>> + Send {
        self.begin_write_with("BEGIN")
    }

    /// [`SqlStore::begin_write`] with the backend's own `BEGIN` statement.
    fn begin_write_with(
        &self,
        statement: &'static str,
    ) -> impl Future<Output = Result<WriteTransaction<Self::Db>, StoreError>> + Send {
        async move { self.writes().begin(statement).await }
    }

    /// A writer connection in its turn, for statements that write outside a
    /// DB transaction.
    fn write_connection(
        &self,
    ) -> impl Future<Output = Result<WriteConnection<Self::Db>, StoreError>> + Send {
        async move { self.writes().connection().await }
    }

    /// A merchant's credentials as stored ([`CREDENTIALS_READ`]): the read
    /// every API request makes. PostgreSQL reads it through its pool;
    /// SQLite on the caller's thread (decisions §39, §43).
    fn stored_credentials(
        &self,
        app_id: &str,
    ) -> impl Future<Output = Result<Option<StoredCredentials>, StoreError>> + Send;

    /// The balances of account `account` (its key), by coin, as stored
    /// ([`BALANCES_READ`]): all an `assets` request reads besides the
    /// credentials; read as [`Self::stored_credentials`] is.
    fn stored_balances(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Vec<StoredBalance>, StoreError>> + Send;

    /// Seals the secrets the store keeps (merchants' app secrets, the
    /// deposit seed).
    fn master_key(&self) -> &MasterKey;
}

/// [`SqlStore::stored_credentials`]'s statement, the same on both backends.
pub(crate) const CREDENTIALS_READ: &str =
    "SELECT secret_ciphertext, status, api_allowlist FROM merchants WHERE app_id = $1";

/// [`SqlStore::stored_balances`]'s statement, the same on both backends.
pub(crate) const BALANCES_READ: &str = "SELECT coin_id, debits_posted, credits_posted \
     FROM balances WHERE account = $1 ORDER BY coin_id";

/// A merchant's credential columns, as [`CREDENTIALS_READ`] reads them.
#[derive(Debug)]
pub(crate) struct StoredCredentials {
    pub(crate) secret_ciphertext: Vec<u8>,
    pub(crate) status: String,
    pub(crate) api_allowlist: String,
}

impl StoredCredentials {
    pub(crate) fn from_row(row: &impl Columns) -> Result<StoredCredentials, StoreError> {
        Ok(StoredCredentials {
            secret_ciphertext: row.bytes("secret_ciphertext")?,
            status: row.text("status")?,
            api_allowlist: row.text("api_allowlist")?,
        })
    }
}

/// One balance, as [`BALANCES_READ`] reads it.
#[derive(Debug)]
pub(crate) struct StoredBalance {
    pub(crate) coin_id: String,
    pub(crate) balance: AccountBalance,
}

impl StoredBalance {
    pub(crate) fn from_row(row: &impl Columns) -> Result<StoredBalance, StoreError> {
        Ok(StoredBalance {
            coin_id: row.text("coin_id")?,
            balance: crate::rows::balance_from_row(row)?,
        })
    }
}
