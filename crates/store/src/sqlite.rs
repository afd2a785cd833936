//! SQLite in WAL mode: opening the file, and what SQLite does differently
//! under the stores' shared SQL ([`Backend`]). One writer at a time, so a
//! read that decides a write happens under the write lock.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use ccgate_ledger::journal::apply_entry;
use ccgate_ledger::{Account, AccountBalance, CoinId, JournalEntry, MerchantId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::master_key::MasterKey;
use crate::outbox::insert_webhook;
use crate::rows::{balance_from_row, direction_word, seq_number, to_i64};
use crate::writes::{DepositCredit, EntryMeta};

/// How long a writer waits for another process (the CLI beside `serve`) to
/// release SQLite's single write lock before giving up.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// SQLite serialises writers anyway; a few connections let reads proceed
/// alongside one write in WAL mode.
const POOL_CONNECTIONS_MAX: u32 = 4;

/// SQLite in WAL mode: one file, safe for `serve` and operator commands to use
/// at once.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) key: MasterKey,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file and applies pending
    /// migrations.
    pub async fn open(path: &Path, key: MasterKey) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed payment survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            // A local file does not drop connections; a ping per acquire would
            // double the cost of every query.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool, key })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A consistent copy of the whole database in a new file at `to`, taken
    /// while the gateway keeps running (SQLite's `VACUUM INTO`): a snapshot
    /// of one moment, never a half-written mix.
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        let target = to.to_str().ok_or_else(|| {
            StoreError::Corrupt(format!("the backup path {} is not UTF-8", to.display()))
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl SqlStore for SqliteStore {
    type Db = Sqlite;

    fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    fn master_key(&self) -> &MasterKey {
        &self.key
    }
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

impl Backend for Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    const SKIP_LOCKED: &'static str = "";

    /// Each touched balance is read and written once per batch.
    async fn post_entries_in(
        conn: &mut SqliteConnection,
        entries: &[(&JournalEntry, &EntryMeta)],
    ) -> Result<Vec<i64>, StoreError> {
        // Writing first takes SQLite's write lock at the start of the DB
        // transaction, so the balances read below are current and cannot change
        // before commit (a read-then-write upgrade could fail with BUSY instead).
        let mut ids = Vec::with_capacity(entries.len());
        for (_, meta) in entries {
            let entry_id: i64 = sqlx::query_scalar(
                "INSERT INTO journal_entries (kind, reason, created_at) VALUES (?, ?, ?) RETURNING id",
            )
            .bind(meta.kind)
            .bind(&meta.reason)
            .bind(meta.created_at)
            .fetch_one(&mut *conn)
            .await?;
            ids.push(entry_id);
        }

        let mut balances: BTreeMap<(Account, CoinId), AccountBalance> = BTreeMap::new();
        for (entry, _) in entries {
            for posting in entry.postings() {
                let key = (posting.account.clone(), posting.coin.clone());
                if balances.contains_key(&key) {
                    continue;
                }
                let row = sqlx::query(
                    "SELECT debits_posted, credits_posted FROM balances
                     WHERE account = ? AND coin_id = ?",
                )
                .bind(posting.account.key())
                .bind(posting.coin.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                let balance = match row {
                    Some(row) => balance_from_row(&row)?,
                    None => AccountBalance::default(),
                };
                balance.check(posting.account.balance_rule())?;
                balances.insert(key, balance);
            }
        }
        // On a refused entry the DB transaction is dropped, which rolls back the
        // journal rows inserted above: nothing is written.
        for (entry, _) in entries {
            apply_entry(entry, &mut balances)?;
        }

        for ((entry, _), &entry_id) in entries.iter().zip(&ids) {
            for (seq, posting) in entry.postings().iter().enumerate() {
                sqlx::query(
                    "INSERT INTO postings (entry_id, seq, account, coin_id, direction, amount)
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(entry_id)
                .bind(seq_number(seq)?)
                .bind(posting.account.key())
                .bind(posting.coin.as_str())
                .bind(direction_word(posting.direction))
                .bind(posting.amount.base_units().to_string())
                .execute(&mut *conn)
                .await?;
            }
        }
        for ((account, coin), balance) in &balances {
            sqlx::query(
                "INSERT INTO balances (account, coin_id, debits_posted, credits_posted)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (account, coin_id) DO UPDATE
                 SET debits_posted = excluded.debits_posted,
                     credits_posted = excluded.credits_posted",
            )
            .bind(account.key())
            .bind(coin.as_str())
            .bind(balance.debits_posted.base_units().to_string())
            .bind(balance.credits_posted.base_units().to_string())
            .execute(&mut *conn)
            .await?;
        }
        Ok(ids)
    }

    fn lock_refunds_of<'c>(
        _conn: &'c mut SqliteConnection,
        _order_id: &'c str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c {
        // Nothing to take: the refund's insert, its first write, takes
        // SQLite's one write lock, held until the end of the DB transaction.
        std::future::ready(Ok(()))
    }

    fn lock_credits_of<'c>(
        _conn: &'c mut SqliteConnection,
        _chain: &'c str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c {
        // Nothing to take: `BEGIN IMMEDIATE` took SQLite's one write lock,
        // so no other process credits before the commit.
        std::future::ready(Ok(()))
    }

    async fn uncredited(
        conn: &mut SqliteConnection,
        _chain: &str,
        credits: &[DepositCredit],
    ) -> Result<Vec<bool>, StoreError> {
        let mut fresh = Vec::with_capacity(credits.len());
        for credit in credits {
            let transfer = &credit.deposit.transfer;
            let credited_before = sqlx::query(
                "SELECT 1 FROM deposits WHERE chain = $1 AND txid = $2 AND log_index = $3",
            )
            .bind(&transfer.chain)
            .bind(&transfer.txid)
            .bind(i64::from(transfer.log_index))
            .fetch_optional(&mut *conn)
            .await?;
            fresh.push(credited_before.is_none());
        }
        Ok(fresh)
    }

    async fn insert_credited(
        conn: &mut SqliteConnection,
        applied: &[&DepositCredit],
        entry_ids: &[i64],
    ) -> Result<(), StoreError> {
        for (credit, &entry_id) in applied.iter().zip(entry_ids) {
            let deposit = &credit.deposit;
            let transfer = &deposit.transfer;
            sqlx::query(
                "INSERT INTO deposits
                     (record_id, chain, txid, log_index, app_id, address, user_id, order_id,
                      token_id, coin_id, paid_amount, service_fee, credit_amount, from_address,
                      memo, block_height, block_time_ms, journal_entry_id, credited_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&deposit.record_id)
            .bind(&transfer.chain)
            .bind(&transfer.txid)
            .bind(i64::from(transfer.log_index))
            .bind(deposit.app_id.as_str())
            .bind(&transfer.to_address)
            .bind(&deposit.user_id)
            .bind(&deposit.order_id)
            .bind(transfer.token_id.as_str())
            .bind(deposit.coin_id.as_str())
            .bind(transfer.amount.base_units().to_string())
            .bind(deposit.service_fee.base_units().to_string())
            .bind(deposit.credit_amount.base_units().to_string())
            .bind(&transfer.from_address)
            .bind(&transfer.memo)
            .bind(to_i64(transfer.block_height, "block height")?)
            .bind(transfer.block_time_ms)
            .bind(entry_id)
            .bind(deposit.credited_at)
            .execute(&mut *conn)
            .await?;
            insert_webhook::<Sqlite>(&mut *conn, &credit.webhook).await?;
        }
        Ok(())
    }

    fn lock_resend_calls_of<'c>(
        _conn: &'c mut SqliteConnection,
        _app_id: &'c MerchantId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'c {
        // Nothing to take: the caller's first statement is a write, which
        // takes SQLite's one write lock.
        std::future::ready(Ok(()))
    }

    /// Kept in `metric_counts` (migration 0025).
    async fn metric_figures(pool: &SqlitePool) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT name, value FROM metric_counts")
            .fetch_all(pool)
            .await?)
    }
}
