//! SQLite in WAL mode: opening the file, and what SQLite does differently
//! under the stores' shared SQL ([`Backend`]). One writer at a time, so a
//! read that decides a write happens under the write lock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ccgate_ledger::journal::apply_entry;
use ccgate_ledger::{Account, AccountBalance, CoinId, JournalEntry, MerchantId, Posting};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{Connection, Pool, Sqlite};

use crate::StoreError;
use crate::backend::{
    BALANCES_READ, Backend, CREDENTIALS_READ, RowsAffected, SqlStore, StoredBalance,
    StoredCredentials, value_rows,
};
use crate::master_key::MasterKey;
use crate::rows::{Columns, balance_from_row, direction_word, seq_number, to_i64};
use crate::write_turn::{WriteTurns, Writes};
use crate::writes::{DepositCredit, EntryMeta};

mod checkpoints;

use checkpoints::Checkpointer;

/// How long a writer waits for another process (the CLI beside `serve`) to
/// release SQLite's single write lock before giving up.
const BUSY_TIMEOUT_MS: u64 = 5_000;
/// The readers' connections: in WAL mode reads proceed alongside the one
/// write, and beside each other.
const POOL_CONNECTIONS_MAX: u32 = 4;
/// Connections for the reads every API request makes, run on the caller's
/// thread (decisions §43): as many as the pool, since WAL readers do not
/// wait for each other or for the writer.
const INLINE_READ_CONNECTIONS: usize = 4;

/// SQLite in WAL mode: one file, safe for `serve` and operator commands to use
/// at once.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// The writes' one connection, taken in turns (decisions §51, §53).
    write_turns: WriteTurns<Sqlite>,
    /// How each connection is opened; a backup opens one of its own.
    options: Arc<SqliteConnectOptions>,
    pub(crate) key: MasterKey,
    inline_reads: Arc<InlineReads>,
    checkpointer: Arc<Checkpointer>,
}

/// rusqlite connections, on the SQLite library sqlx links, for the two
/// reads every API request makes: a merchant's credentials and its
/// balances. Each runs on the caller's thread, one indexed statement on a
/// WAL snapshot (a few microseconds, never waiting for the writer), instead
/// of being handed to a connection's worker thread and back (decisions
/// §43). Each is opened at its first use, read-only in what it runs.
#[derive(Debug)]
struct InlineReads {
    path: PathBuf,
    connections: Vec<Mutex<Option<rusqlite::Connection>>>,
    next: AtomicUsize,
    closed: AtomicBool,
}

impl InlineReads {
    fn new(path: &Path) -> InlineReads {
        InlineReads {
            path: path.to_owned(),
            connections: (0..INLINE_READ_CONNECTIONS)
                .map(|_| Mutex::new(None))
                .collect(),
            next: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Runs `read` on a free connection (taking turns from a rotating
    /// start), else on the next one in turn once its holder is done: a
    /// holder is another thread in the middle of one statement.
    fn read<T, E>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, E>,
    ) -> Result<T, StoreError>
    where
        StoreError: From<E>,
    {
        let count = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let free = (0..count).find_map(|offset| {
            self.connections
                .get((start + offset) % count)
                .and_then(|slot| slot.try_lock().ok())
        });
        let mut guard = match free {
            Some(guard) => guard,
            None => match self.connections.get(start % count) {
                // A holder that panicked mid-statement left nothing open:
                // rusqlite resets a statement when it is dropped.
                Some(slot) => slot.lock().unwrap_or_else(PoisonError::into_inner),
                None => return Err(sqlx::Error::PoolClosed.into()),
            },
        };
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed.into());
        }
        let connection = match &mut *guard {
            Some(connection) => connection,
            empty => empty.insert(self.open()?),
        };
        Ok(read(connection)?)
    }

    fn open(&self) -> Result<rusqlite::Connection, StoreError> {
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Only reads run here; the writes go through the pool.
        connection.pragma_update(None, "query_only", true)?;
        connection.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        Ok(connection)
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for slot in &self.connections {
            // Dropping closes; the file stays as written.
            drop(slot.lock().unwrap_or_else(PoisonError::into_inner).take());
        }
    }
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
            .foreign_keys(true)
            // A multi-row statement's journal, written page by page and never
            // read unless it fails, stays out of a file (decisions §46).
            .pragma("temp_store", "memory")
            // Checkpoints run on a thread of their own, not inside the
            // commit that fills the WAL (decisions §50).
            .pragma("wal_autocheckpoint", "0");
        let opened = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        // Every write runs on this one connection, in its turn (decisions
        // §51, §53).
        let mut writer = SqliteConnection::connect_with(&options)
            .await
            .map_err(opened)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut writer)
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS_MAX)
            .test_before_acquire(false)
            // A write that skipped its turn fails here, loudly, instead of
            // racing the writer for SQLite's lock.
            .connect_with(options.clone().pragma("query_only", "true"))
            .await
            .map_err(opened)?;
        let checkpointer = Checkpointer::start(path, Duration::from_millis(BUSY_TIMEOUT_MS))?;
        Ok(SqliteStore {
            pool,
            write_turns: WriteTurns::new(writer, Duration::from_millis(BUSY_TIMEOUT_MS)),
            options: Arc::new(options),
            key,
            inline_reads: Arc::new(InlineReads::new(path)),
            checkpointer: Arc::new(checkpointer),
        })
    }

    pub async fn close(&self) {
        self.checkpointer.stop();
        self.inline_reads.close();
        self.write_turns.close().await;
        self.pool.close().await;
    }

    /// A consistent copy of the whole database in a new file at `to`, taken
    /// while the gateway keeps running (SQLite's `VACUUM INTO`): a snapshot
    /// of one moment, never a half-written mix.
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        let target = to.to_str().ok_or_else(|| {
            StoreError::Corrupt(format!("the backup path {} is not UTF-8", to.display()))
        })?;
        // Neither pool's: the readers may not write a file, and the writer
        // would hold every write back for the whole copy.
        let mut connection = SqliteConnection::connect_with(&self.options).await?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&mut connection)
            .await?;
        connection.close().await?;
        Ok(())
    }
}

impl SqlStore for SqliteStore {
    type Db = Sqlite;

    fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    fn writes(&self) -> Writes<'_, Sqlite> {
        Writes::InTurns(&self.write_turns)
    }

    async fn stored_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<StoredCredentials>, StoreError> {
        self.inline_reads.read(|connection| {
            connection
                .prepare_cached(CREDENTIALS_READ)?
                .query_and_then([app_id], |row| StoredCredentials::from_row(&InlineRow(row)))?
                .next()
                .transpose()
        })
    }

    async fn stored_balances(&self, account: &str) -> Result<Vec<StoredBalance>, StoreError> {
        self.inline_reads.read(|connection| {
            connection
                .prepare_cached(BALANCES_READ)?
                .query_and_then([account], |row| StoredBalance::from_row(&InlineRow(row)))?
                .collect()
        })
    }

    fn master_key(&self) -> &MasterKey {
        &self.key
    }
}

/// A row of an inline read, read by column name as the pool's rows are:
/// each stored type has one `from_row` for both backends and both paths.
struct InlineRow<'row, 'stmt>(&'row rusqlite::Row<'stmt>);

impl Columns for InlineRow<'_, '_> {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.0.get(column)?)
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.0.get(column)?)
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.0.get(column)?)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.0.get(column)?)
    }

    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.0.get(column)?)
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

    fn id_among(subquery: &str) -> String {
        format!("id IN ({subquery})")
    }

    const SEEKS_ONLY: Option<&'static str> = None;

    fn placeholder(_: usize) -> String {
        "?".to_owned()
    }

    /// A batch's rows go in by multi-row statements (journal entries,
    /// postings), and its touched balances are read by one statement and
    /// written by one: a few statements per hundred entries instead of
    /// seven per entry (decisions §33).
    async fn post_entries_in(
        conn: &mut SqliteConnection,
        entries: &[(&JournalEntry, &EntryMeta)],
    ) -> Result<Vec<i64>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        // Writing first takes SQLite's write lock at the start of the DB
        // transaction, so the balances read below are current and cannot change
        // before commit (a read-then-write upgrade could fail with BUSY instead).
        let mut ids = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let statement = format!(
                "INSERT INTO journal_entries (kind, reason, created_at) VALUES {} RETURNING id",
                value_rows::<Sqlite>(chunk.len(), 3)
            );
            let mut insert = sqlx::query_scalar::<_, i64>(&statement);
            for (_, meta) in chunk {
                insert = insert
                    .bind(meta.kind)
                    .bind(meta.reason.as_str())
                    .bind(meta.created_at);
            }
            // RETURNING lists the rows in no promised order, but the ids were
            // given in the order of the VALUES (each one more than the largest
            // ever, under the write lock): sorted, they are the entries' ids.
            let mut chunk_ids = insert.fetch_all(&mut *conn).await?;
            if chunk_ids.len() != chunk.len() {
                return Err(StoreError::Corrupt("journal ids returned short".into()));
            }
            chunk_ids.sort_unstable();
            ids.extend(chunk_ids);
        }

        let mut balances: BTreeMap<(Account, CoinId), AccountBalance> = BTreeMap::new();
        let mut touched: Vec<(String, &Account, &CoinId)> = Vec::new();
        for (entry, _) in entries {
            for posting in entry.postings() {
                let key = (posting.account.clone(), posting.coin.clone());
                if balances.contains_key(&key) {
                    continue;
                }
                balances.insert(key, AccountBalance::default());
                touched.push((posting.account.key(), &posting.account, &posting.coin));
            }
        }
        for chunk in touched.chunks(ROWS_PER_STATEMENT) {
            // The wanted keys drive the join (CROSS JOIN keeps them the outer
            // loop), so each is one seek of the balances' primary key.
            let statement = format!(
                "SELECT b.account, b.coin_id, b.debits_posted, b.credits_posted
                 FROM (VALUES {}) AS wanted
                 CROSS JOIN balances AS b
                   ON b.account = wanted.column1 AND b.coin_id = wanted.column2",
                value_rows::<Sqlite>(chunk.len(), 2)
            );
            let mut select = sqlx::query(&statement);
            for (key, _, coin) in chunk {
                select = select.bind(key.as_str()).bind(coin.as_str());
            }
            let rows = select.fetch_all(&mut *conn).await?;
            let mut found: HashMap<(String, String), AccountBalance> = HashMap::new();
            for row in &rows {
                found.insert(
                    (row.text("account")?, row.text("coin_id")?),
                    balance_from_row(row)?,
                );
            }
            for (key, account, coin) in chunk {
                let balance = found
                    .remove(&(key.clone(), coin.as_str().to_owned()))
                    .unwrap_or_default();
                balance.check(account.balance_rule())?;
                balances.insert(((*account).clone(), (*coin).clone()), balance);
            }
        }
        // On a refused entry the DB transaction is dropped, which rolls back the
        // journal rows inserted above: nothing is written.
        for (entry, _) in entries {
            apply_entry(entry, &mut balances)?;
        }

        let postings: Vec<(i64, usize, &Posting)> = entries
            .iter()
            .zip(&ids)
            .flat_map(|((entry, _), &entry_id)| {
                entry
                    .postings()
                    .iter()
                    .enumerate()
                    .map(move |(seq, posting)| (entry_id, seq, posting))
            })
            .collect();
        for chunk in postings.chunks(ROWS_PER_STATEMENT) {
            let statement = format!(
                "INSERT INTO postings (entry_id, seq, account, coin_id, direction, amount)
                 VALUES {}",
                value_rows::<Sqlite>(chunk.len(), 6)
            );
            let mut insert = sqlx::query(&statement);
            for &(entry_id, seq, posting) in chunk {
                insert = insert
                    .bind(entry_id)
                    .bind(seq_number(seq)?)
                    .bind(posting.account.key())
                    .bind(posting.coin.as_str())
                    .bind(direction_word(posting.direction))
                    .bind(posting.amount.base_units().to_string());
            }
            insert.execute(&mut *conn).await?;
        }
        let written: Vec<_> = balances.iter().collect();
        for chunk in written.chunks(ROWS_PER_STATEMENT) {
            let statement = format!(
                "INSERT INTO balances (account, coin_id, debits_posted, credits_posted)
                 VALUES {}
                 ON CONFLICT (account, coin_id) DO UPDATE
                 SET debits_posted = excluded.debits_posted,
                     credits_posted = excluded.credits_posted",
                value_rows::<Sqlite>(chunk.len(), 4)
            );
            let mut upsert = sqlx::query(&statement);
            for ((account, coin), balance) in chunk {
                upsert = upsert
                    .bind(account.key())
                    .bind(coin.as_str())
                    .bind(balance.debits_posted.base_units().to_string())
                    .bind(balance.credits_posted.base_units().to_string());
            }
            upsert.execute(&mut *conn).await?;
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

    /// One statement per few hundred credits.
    async fn uncredited(
        conn: &mut SqliteConnection,
        _chain: &str,
        credits: &[DepositCredit],
    ) -> Result<Vec<bool>, StoreError> {
        let mut credited_before: HashSet<(String, String, i64)> = HashSet::new();
        for chunk in credits.chunks(crate::addresses::LOOKUPS_PER_STATEMENT_MAX) {
            let statement = format!(
                "SELECT d.chain, d.txid, d.log_index
                 FROM (VALUES {}) AS wanted
                 CROSS JOIN deposits AS d
                   ON d.chain = wanted.column1 AND d.txid = wanted.column2
                  AND d.log_index = wanted.column3",
                value_rows::<Sqlite>(chunk.len(), 3)
            );
            let mut select = sqlx::query_as::<_, (String, String, i64)>(&statement);
            for credit in chunk {
                let transfer = &credit.deposit.transfer;
                select = select
                    .bind(transfer.chain.as_str())
                    .bind(transfer.txid.as_str())
                    .bind(i64::from(transfer.log_index));
            }
            credited_before.extend(select.fetch_all(&mut *conn).await?);
        }
        Ok(credits
            .iter()
            .map(|credit| {
                let transfer = &credit.deposit.transfer;
                !credited_before.contains(&(
                    transfer.chain.clone(),
                    transfer.txid.clone(),
                    i64::from(transfer.log_index),
                ))
            })
            .collect())
    }

    /// Multi-row statements: two per hundred credits.
    async fn insert_credited(
        conn: &mut SqliteConnection,
        applied: &[&DepositCredit],
        entry_ids: &[i64],
    ) -> Result<(), StoreError> {
        if applied.len() != entry_ids.len() {
            return Err(StoreError::Corrupt(
                "a credit without its journal id".into(),
            ));
        }
        let credited: Vec<(&DepositCredit, i64)> = applied
            .iter()
            .copied()
            .zip(entry_ids.iter().copied())
            .collect();
        for chunk in credited.chunks(ROWS_PER_STATEMENT) {
            let statement = format!(
                "INSERT INTO deposits
                     (record_id, chain, txid, log_index, app_id, address, user_id, order_id,
                      token_id, coin_id, paid_amount, service_fee, credit_amount, from_address,
                      memo, block_height, block_time_ms, journal_entry_id, credited_at)
                 VALUES {}",
                value_rows::<Sqlite>(chunk.len(), 19)
            );
            let mut insert = sqlx::query(&statement);
            for (credit, entry_id) in chunk {
                let deposit = &credit.deposit;
                let transfer = &deposit.transfer;
                insert = insert
                    .bind(deposit.record_id.as_str())
                    .bind(transfer.chain.as_str())
                    .bind(transfer.txid.as_str())
                    .bind(i64::from(transfer.log_index))
                    .bind(deposit.app_id.as_str())
                    .bind(transfer.to_address.as_str())
                    .bind(deposit.user_id.as_deref())
                    .bind(deposit.order_id.as_deref())
                    .bind(transfer.token_id.as_str())
                    .bind(deposit.coin_id.as_str())
                    .bind(transfer.amount.base_units().to_string())
                    .bind(deposit.service_fee.base_units().to_string())
                    .bind(deposit.credit_amount.base_units().to_string())
                    .bind(transfer.from_address.as_str())
                    .bind(transfer.memo.as_str())
                    .bind(to_i64(transfer.block_height, "block height")?)
                    .bind(transfer.block_time_ms)
                    .bind(*entry_id)
                    .bind(deposit.credited_at);
            }
            insert.execute(&mut *conn).await?;
            let statement = format!(
                "INSERT INTO webhook_outbox
                     (app_id, record_id, order_type, dialect, url, payload, status, attempts,
                      next_attempt_at_ms, created_at_ms)
                 VALUES {}",
                (0..chunk.len())
                    .map(|_| "(?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)")
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut insert = sqlx::query(&statement);
            for (credit, _) in chunk {
                let webhook = &credit.webhook;
                insert = insert
                    .bind(webhook.app_id.as_str())
                    .bind(webhook.record_id.as_str())
                    .bind(webhook.order_type)
                    .bind(webhook.dialect.as_str())
                    .bind(webhook.url.as_deref())
                    .bind(webhook.payload.as_str())
                    .bind(webhook.created_at_ms)
                    .bind(webhook.created_at_ms);
            }
            insert.execute(&mut *conn).await?;
        }
        Ok(())
    }

    fn lock_console_users(
        _conn: &mut SqliteConnection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + '_ {
        // Nothing to take: `BEGIN IMMEDIATE` holds the one write lock.
        std::future::ready(Ok(()))
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

/// Rows per multi-row statement: their parameters (19 at most per row) stay
/// far below SQLite's limit of 32 766, and a full chunk's statement is one
/// text, so sqlx's statement cache prepares it once.
const ROWS_PER_STATEMENT: usize = 100;

#[cfg(test)]
mod tests {
    /// A store on a new file in a directory of its own, kept while the
    /// directory guard lives.
    async fn fresh_store() -> (tempfile::TempDir, super::SqliteStore) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store =
            super::SqliteStore::open(&dir.path().join("store.db"), crate::MasterKey::generate())
                .await
                .expect("a store on a fresh file");
        (dir, store)
    }

    /// The WAL is copied into the database file by the store's checkpoint
    /// thread, never by a commit (decisions §50): the pool's connections
    /// checkpoint nothing themselves, and the file still takes in what was
    /// written, while every connection stays open.
    #[tokio::test]
    async fn the_wal_is_checkpointed_beside_the_writers_not_by_them() {
        let (dir, store) = fresh_store().await;
        use crate::backend::SqlStore;

        let reader: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(store.pool())
            .await
            .expect("SQLite says its checkpoint threshold");
        let writer: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *store.write_connection().await.expect("a turn"))
            .await
            .expect("SQLite says its checkpoint threshold");
        assert_eq!(
            (reader, writer),
            (0, 0),
            "a commit would checkpoint on its own"
        );

        let file = dir.path().join("store.db");
        let size = || std::fs::metadata(&file).expect("the database file").len();
        let before = size();
        sqlx::query(
            "CREATE TABLE scratch AS
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
             SELECT i, randomblob(1000) AS filler FROM n",
        )
        .execute(&mut *store.write_connection().await.expect("a turn"))
        .await
        .expect("4 MB written");
        // Written to the WAL; in the file once checkpointed (the thread's
        // turn comes every 100 ms).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while size() < before + 4_000_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "nothing checkpointed within 10 s: the file is {} bytes, {before} before",
                size()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        store.close().await;
    }

    /// The process's writers take turns (decisions §51): the readers' pool
    /// cannot write at all, so a write that skipped its turn fails instead
    /// of meeting the writer at SQLite's lock; concurrent writers in their
    /// turns all commit, none of them told the database is locked, with the
    /// busy handler's wait turned off.
    #[tokio::test]
    async fn writers_take_turns_and_readers_cannot_write() {
        use crate::backend::SqlStore;

        let (_dir, store) = fresh_store().await;
        let create = "CREATE TABLE counted (writer INTEGER, step INTEGER)";
        let refused = sqlx::query(create).execute(store.pool()).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("readonly")),
            "{refused:?}"
        );
        sqlx::query(create)
            .execute(&mut *store.write_connection().await.expect("a turn"))
            .await
            .expect("the writer writes");

        // Out of turn, two writer connections meet at SQLite's lock, and
        // with no busy wait one of them fails at once.
        let tasks: Vec<_> = (0..32)
            .map(|n: i64| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut db_tx = store.begin_write().await?;
                    sqlx::query("PRAGMA busy_timeout = 0")
                        .execute(&mut *db_tx)
                        .await?;
                    for step in [1, 2] {
                        sqlx::query("INSERT INTO counted (writer, step) VALUES (?, ?)")
                            .bind(n)
                            .bind(step)
                            .execute(&mut *db_tx)
                            .await?;
                        tokio::task::yield_now().await;
                    }
                    db_tx.commit().await?;
                    Ok::<(), crate::StoreError>(())
                })
            })
            .collect();
        for task in tasks {
            task.await
                .expect("a writer task")
                .expect("a writer in its turn commits");
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM counted")
            .fetch_one(store.pool())
            .await
            .expect("the rows written");
        assert_eq!(rows, 32 * 2);
        store.close().await;
    }

    /// Every write runs on the one writer connection (decisions §53): a
    /// temporary table, which only the connection that made it sees, is
    /// there for the next write's DB transaction and its next statement,
    /// and a DB transaction dropped unfinished is rolled back before them.
    #[tokio::test]
    async fn writes_share_one_connection_and_a_dropped_transaction_rolls_back() {
        use crate::backend::SqlStore;

        let (_dir, store) = fresh_store().await;
        sqlx::query("CREATE TEMP TABLE only_here (n INTEGER)")
            .execute(&mut *store.write_connection().await.expect("a turn"))
            .await
            .expect("a temporary table");
        let mut abandoned = store.begin_write().await.expect("a DB transaction");
        sqlx::query("INSERT INTO only_here (n) VALUES (1)")
            .execute(&mut *abandoned)
            .await
            .expect("a row, never committed");
        drop(abandoned);
        let mut db_tx = store.begin_write().await.expect("the next DB transaction");
        sqlx::query("INSERT INTO only_here (n) VALUES (2)")
            .execute(&mut *db_tx)
            .await
            .expect("the same connection's temporary table");
        db_tx.commit().await.expect("committed");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM only_here")
            .fetch_all(&mut *store.write_connection().await.expect("a turn"))
            .await
            .expect("the rows");
        assert_eq!(rows, [2]);
        store.close().await;
        let closed = store.write_connection().await;
        assert!(closed.is_err(), "{closed:?}");
    }

    /// A snapshot's restore whose caller goes away at its first pause still
    /// runs to its end: the writer connection, which serves every later
    /// write (decisions §53), is not left with the snapshot attached.
    #[tokio::test]
    async fn a_restore_whose_caller_goes_away_leaves_the_writer_as_it_was() {
        use crate::SnapshotStore;
        use crate::backend::SqlStore;

        let (dir, store) = fresh_store().await;
        let snapshot = dir.path().join("snapshot.db");
        store.save_snapshot(&snapshot).await.expect("a snapshot");
        // Polled once, then dropped: the caller hung up.
        let abandoned =
            tokio::time::timeout(std::time::Duration::ZERO, store.restore_snapshot(&snapshot))
                .await;
        assert!(
            abandoned.is_err(),
            "the restore finished at once: {abandoned:?}"
        );
        // In line behind the restore, which holds the writer until it is done.
        let mut writer = store.write_connection().await.expect("the writer's turn");
        let attached: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_database_list")
            .fetch_all(&mut *writer)
            .await
            .expect("the attached databases");
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *writer)
            .await
            .expect("the foreign-key switch");
        assert!(!attached.iter().any(|name| name == "snap"), "{attached:?}");
        assert_eq!(foreign_keys, 1);
        drop(writer);
        store.close().await;
    }

    /// A devnet chain's state, asked for at every deposit watcher tick, is
    /// read without a write turn once the chain exists: it comes while
    /// another write holds the turn.
    #[tokio::test]
    async fn an_existing_devnet_chain_is_read_without_a_write_turn() {
        use crate::DevnetStore;
        use crate::backend::SqlStore;

        let (_dir, store) = fresh_store().await;
        let started = store
            .devnet_chain("TRX", 1_000)
            .await
            .expect("the chain starts");
        let turn = store.write_connection().await.expect("a write turn");
        // Were it a write, it would wait for the turn held here and fail.
        let again = store
            .devnet_chain("TRX", 9_000)
            .await
            .expect("the chain's state, read without a write turn");
        assert_eq!(again, started);
        drop(turn);
        store.close().await;
    }

    /// The bundled SQLite is built without memory statistics (the
    /// workspace's `.cargo/config.toml`, decisions §52): with them, every
    /// allocation SQLite makes takes one process-wide mutex.
    #[tokio::test]
    async fn the_bundled_sqlite_keeps_no_memory_statistics() {
        let (_dir, store) = fresh_store().await;
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
            .fetch_all(&store.pool)
            .await
            .expect("the compile options");
        assert!(
            options.iter().any(|option| option == "DEFAULT_MEMSTATUS=0"),
            "SQLite was built with memory statistics (is LIBSQLITE3_FLAGS from \
             .cargo/config.toml in effect?): {options:?}"
        );
        store.close().await;
    }

    /// `bill/info` at 100,000 orders took 55 ms when SQLite's planner
    /// walked the merchant's orders by creation time to skip a sort; the
    /// lookup must stay on the merchant-order-id index.
    #[tokio::test]
    async fn orders_by_merchant_order_id_never_walk_the_merchant_s_orders() {
        use sqlx::Row;

        let (_dir, store) = fresh_store().await;
        let plan = sqlx::query(&format!(
            "EXPLAIN QUERY PLAN SELECT {} FROM orders {}",
            crate::orders::ORDER_COLUMNS,
            crate::orders::ORDERS_BY_MERCHANT_ORDER_ID
        ))
        .bind("app")
        .bind("order-1")
        .fetch_all(crate::backend::SqlStore::pool(&store))
        .await
        .expect("SQLite explains the lookup")
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect::<Vec<_>>();
        assert_eq!(
            plan,
            [
                "SEARCH orders USING INDEX orders_by_merchant_order (app_id=? AND merchant_order_id=?)"
            ]
        );
    }

    /// The overview's order states (decisions §36) read the merchant's
    /// orders through an index on `app_id`, and each order's deposits and
    /// seen transfers by its id: no table is scanned whole.
    #[tokio::test]
    async fn order_state_counts_read_only_the_merchant_s_orders() {
        use sqlx::Row;

        let (_dir, store) = fresh_store().await;
        let plan = sqlx::query(&format!(
            "EXPLAIN QUERY PLAN {}",
            crate::dashboard::order_state_counts_sql()
        ))
        .bind("app")
        .bind(1_i64)
        .fetch_all(crate::backend::SqlStore::pool(&store))
        .await
        .expect("SQLite explains the count")
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect::<Vec<_>>();
        assert_eq!(
            plan,
            [
                "MATERIALIZE states",
                "SEARCH o USING INDEX orders_by_merchant_created (app_id=?)",
                "CORRELATED SCALAR SUBQUERY 1",
                "SEARCH d USING INDEX deposits_by_order (order_id=?)",
                "CORRELATED SCALAR SUBQUERY 3",
                "SEARCH s USING INDEX seen_transfers_by_order (order_id=?)",
                "CORRELATED SCALAR SUBQUERY 2",
                "SEARCH c USING COVERING INDEX sqlite_autoindex_deposits_2 (chain=? AND txid=? AND log_index=?)",
                // The states, one row per order, grouped.
                "SCAN states",
                "USE TEMP B-TREE FOR GROUP BY",
            ]
        );
    }

    /// The webhook claim seeks, whatever the backlog, the delivered history
    /// or the number of merchants (decisions §45): the pending webhooks by
    /// the partial due index, the claims held by theirs, each claimed row by
    /// key, and its merchant's URL by the merchants' key — never a scan.
    /// Every pooled connection keeps statement journals and other temporary
    /// files in memory (decisions §46): `temp_store` 2 is `MEMORY`.
    #[tokio::test]
    async fn pooled_connections_keep_temporary_files_in_memory() {
        let (_dir, store) = fresh_store().await;
        let pool = crate::backend::SqlStore::pool(&store);
        let mut connections = Vec::new();
        for _ in 0..super::POOL_CONNECTIONS_MAX {
            connections.push(pool.acquire().await.expect("a pooled connection"));
        }
        for connection in &mut connections {
            let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
                .fetch_one(&mut **connection)
                .await
                .expect("SQLite says where its temporary files go");
            assert_eq!(temp_store, 2);
        }
    }

    #[tokio::test]
    async fn the_webhook_claim_only_seeks() {
        use sqlx::Row;

        let (_dir, store) = fresh_store().await;
        let plan = sqlx::query(&format!(
            "EXPLAIN QUERY PLAN {}",
            crate::outbox_claim::claim_statement::<sqlx::Sqlite>()
        ))
        .bind(2_i64)
        .bind(1_i64)
        .bind(200_i64)
        .bind(4_i64)
        .bind(100_i64)
        .fetch_all(crate::backend::SqlStore::pool(&store))
        .await
        .expect("SQLite explains the claim")
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect::<Vec<_>>();
        // The common table expressions' own rows are walked; every table
        // is sought, but for the first merchant with pending webhooks: the
        // partial index's first entry (`ORDER BY app_id LIMIT 1`).
        let first_pending_merchant =
            "SCAN webhook_outbox USING COVERING INDEX webhook_outbox_merchant_due";
        let table_reads = plan
            .iter()
            .filter(|line| line.starts_with("SEARCH ") || line.starts_with("SCAN "))
            .filter(|line| {
                ![
                    "SCAN busy",
                    "SCAN share",
                    "SCAN room",
                    "SCAN walk",
                    "SCAN held_now",
                    "SCAN CONSTANT ROW",
                ]
                .contains(&line.as_str())
            })
            .collect::<Vec<_>>();
        for read in &table_reads {
            assert!(
                read.starts_with("SEARCH ") || *read == first_pending_merchant,
                "the claim scans: {read}\n{plan:#?}"
            );
        }
        for sought in [
            "SEARCH due USING COVERING INDEX webhook_outbox_merchant_due (app_id=? AND next_attempt_at_ms<?)",
            "SEARCH held USING COVERING INDEX webhook_outbox_claimed (app_id=? AND claimed_until_ms>?)",
            "SEARCH merchants USING INDEX sqlite_autoindex_merchants_1 (app_id=?)",
        ] {
            assert!(
                plan.iter().any(|line| line == sought),
                "{sought}\n{plan:#?}"
            );
        }
    }

    /// The reads run on the caller's thread (decisions §43) are what that
    /// decision counts on: each one look-up by key, never a scan; they
    /// cannot write; many threads at once share the few connections and see
    /// what was committed; a closed store answers an error, not a read.
    #[tokio::test]
    async fn inline_reads_look_up_by_key_cannot_write_and_are_shared() {
        use crate::backend::{BALANCES_READ, CREDENTIALS_READ, SqlStore};

        let (_dir, store) = fresh_store().await;
        let plan = |sql: &str| {
            store.inline_reads.read(|connection| {
                connection
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?
                    .query_map(["key"], |row| row.get::<_, String>(3))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
        };
        assert_eq!(
            plan(CREDENTIALS_READ).expect("SQLite explains the credentials read"),
            ["SEARCH merchants USING INDEX sqlite_autoindex_merchants_1 (app_id=?)"]
        );
        assert_eq!(
            plan(BALANCES_READ).expect("SQLite explains the balances read"),
            ["SEARCH balances USING INDEX sqlite_autoindex_balances_1 (account=?)"]
        );
        let write = store.inline_reads.read(|connection| {
            connection.execute("DELETE FROM balances WHERE account = ?1", ["key"])
        });
        assert!(
            matches!(write, Err(crate::StoreError::InlineRead(_))),
            "{write:?}"
        );

        sqlx::query(
            "INSERT INTO balances (account, coin_id, debits_posted, credits_posted)
             VALUES ('merchant:shop:available', '1280', '5', '12')",
        )
        .execute(&mut *store.write_connection().await.expect("a turn"))
        .await
        .expect("a balance row");
        let shop = "merchant:shop:available";
        let stored = store.stored_balances(shop).await.expect("a balance read");
        let read: Vec<_> = stored
            .iter()
            .map(|row| {
                (
                    row.coin_id.as_str(),
                    row.balance.debits_posted.base_units(),
                    row.balance.credits_posted.base_units(),
                )
            })
            .collect();
        assert_eq!(read, [("1280", 5, 12)]);
        let expected = vec![("1280".to_owned(), "5".to_owned(), "12".to_owned())];
        // Three threads for each of the four connections, each reading on
        // its own thread as a request does.
        std::thread::scope(|scope| {
            let threads: Vec<_> =
                (0..12)
                    .map(|_| {
                        scope.spawn(|| {
                            (0..50)
                                .map(|_| {
                                    store.inline_reads.read(|connection| {
                                        connection.prepare_cached(BALANCES_READ)?.query_map(
                                        [shop],
                                        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                                    )?
                                    .collect::<rusqlite::Result<Vec<(String, String, String)>>>()
                                    })
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
            for thread in threads {
                for rows in thread.join().expect("a reader thread") {
                    assert_eq!(rows.expect("a balance read"), expected);
                }
            }
        });

        store.close().await;
        assert!(store.stored_credentials("shop").await.is_err());
    }

    #[test]
    fn value_rows_are_anonymous_placeholders() {
        use crate::backend::value_rows;
        use sqlx::Sqlite;
        assert_eq!(value_rows::<Sqlite>(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(value_rows::<Sqlite>(1, 1), "(?)");
        assert_eq!(value_rows::<sqlx::Postgres>(2, 2), "($1, $2), ($3, $4)");
    }
}
