//! What lets a store be written once for both SQL backends: its SQL runs
//! unchanged on either, since every statement numbers its placeholders
//! (`$1`, `$2`, …), which PostgreSQL binds natively and sqlx's SQLite driver
//! binds by the number in the name; the little that does differ is here.
//!
//! A store written this way is one `impl<S: SqlStore> …Store for S`, generic
//! over [`Backend`] (see `payouts.rs`). Its where-clause names what sqlx needs
//! of a backend to run a query (executors, arguments, the types bound); it is
//! spelled out on each impl because Rust carries a trait's supertraits to its
//! users but not bounds on other types such as `&mut Connection`.

use std::future::Future;

use ccgate_ledger::JournalEntry;
use sqlx::postgres::{PgConnection, PgQueryResult};
use sqlx::sqlite::{SqliteConnection, SqliteQueryResult};
use sqlx::{Database, Pool, Postgres, Sqlite};

use crate::deposits::NewWebhook;
use crate::rows::Columns;
use crate::{EntryMeta, PgStore, SqliteStore, StoreError};

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

    /// Posts a journal entry inside the caller's DB transaction; see
    /// `Store::post_entry`.
    fn post_entry_in<'c>(
        conn: &'c mut Self::Connection,
        entry: &'c JournalEntry,
        meta: &'c EntryMeta,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send + 'c;

    /// Queues a webhook inside the caller's DB transaction.
    fn insert_webhook<'c>(
        conn: &'c mut Self::Connection,
        webhook: &'c NewWebhook,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c;

    /// Makes refunds of one deposit order take turns from here to the end of
    /// the caller's DB transaction, since each checks the sum of the others'
    /// rows before committing its own.
    fn lock_refunds_of<'c>(
        conn: &'c mut Self::Connection,
        order_id: &'c str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c;
}

impl Backend for Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const SKIP_LOCKED: &'static str = "";

    fn post_entry_in<'c>(
        conn: &'c mut SqliteConnection,
        entry: &'c JournalEntry,
        meta: &'c EntryMeta,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send + 'c {
        crate::sqlite::post_entry_in(conn, entry, meta)
    }

    fn insert_webhook<'c>(
        conn: &'c mut SqliteConnection,
        webhook: &'c NewWebhook,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c {
        crate::sqlite_deposits::insert_webhook(conn, webhook)
    }

    fn lock_refunds_of<'c>(
        _conn: &'c mut SqliteConnection,
        _order_id: &'c str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c {
        // Nothing to take: the refund's insert, its first write, takes
        // SQLite's one write lock, held until the end of the DB transaction.
        std::future::ready(Ok(()))
    }
}

impl Backend for Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn post_entry_in<'c>(
        conn: &'c mut PgConnection,
        entry: &'c JournalEntry,
        meta: &'c EntryMeta,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send + 'c {
        crate::postgres::post_entry_in(conn, entry, meta)
    }

    fn insert_webhook<'c>(
        conn: &'c mut PgConnection,
        webhook: &'c NewWebhook,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c {
        crate::postgres::deposits::insert_webhook(conn, webhook)
    }

    async fn lock_refunds_of(conn: &mut PgConnection, order_id: &str) -> Result<(), StoreError> {
        // Only refunds take this lock, and before any row lock, so it cannot
        // deadlock with the balance locks every entry takes after it.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(order_id)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// sqlx gives each backend's query result its own `rows_affected`, with no
/// trait over them.
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

/// A store on one sqlx pool: every such store gets the stores written once
/// over [`Backend`].
pub(crate) trait SqlStore: Send + Sync + std::fmt::Debug + 'static {
    type Db: Backend;

    fn pool(&self) -> &Pool<Self::Db>;
}

impl SqlStore for SqliteStore {
    type Db = Sqlite;

    fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }
}

impl SqlStore for PgStore {
    type Db = Postgres;

    fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }
}
