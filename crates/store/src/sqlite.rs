use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use ccgate_ledger::journal::apply_entry;
use ccgate_ledger::{Account, AccountBalance, CoinId, JournalEntry, MerchantId};
use secrecy::SecretString;
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::rows::{
    balance_from_row, balances_from_rows, blocks_to_mine, coin_balance_from_row,
    devnet_state_from_row, direction_word, journal_from_rows, merchant_summary_from_row,
    seq_number, status_from_row,
};
use crate::{
    CoinBalance, CwalletAccount, DevnetChainState, EntryMeta, MasterKey, MerchantCredentials,
    MerchantStatus, MerchantSummary, Store, StoreError,
};

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
    /// The figures /metrics reads, kept by triggers as rows change
    /// (migration 0025): reading them costs the same whatever the history.
    pub(crate) async fn metric_figures(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT name, value FROM metric_counts")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Why a merchant insert wrote nothing: its Appid or its name was taken.
    async fn merchant_not_created(&self, app_id: &MerchantId, name: &str) -> StoreError {
        let taken = sqlx::query("SELECT 1 FROM merchants WHERE app_id = ?")
            .bind(app_id.as_str())
            .fetch_optional(&self.pool)
            .await;
        match taken {
            Ok(Some(_)) => StoreError::MerchantExists(app_id.to_string()),
            Ok(None) => StoreError::MerchantNameTaken(name.to_owned()),
            Err(err) => StoreError::Database(err),
        }
    }

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

/// Appends `entry` to the journal and applies it to the balances inside the
/// caller's DB transaction; on error the caller drops it, which writes nothing.
pub(crate) async fn post_entry_in(
    conn: &mut sqlx::SqliteConnection,
    entry: &JournalEntry,
    meta: &EntryMeta,
) -> Result<i64, StoreError> {
    let ids = post_entries_in(conn, &[(entry, meta)]).await?;
    ids.first()
        .copied()
        .ok_or_else(|| StoreError::Corrupt("no journal id for an entry".into()))
}

/// Appends `entries` to the journal in order and applies them to the balances
/// inside the caller's DB transaction (a group commit when there are many); if
/// any one is refused the caller drops the DB transaction, which writes
/// nothing. Each touched balance is read and written once per batch.
pub(crate) async fn post_entries_in(
    conn: &mut sqlx::SqliteConnection,
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

#[async_trait]
impl Store for SqliteStore {
    async fn create_merchant(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        name: &str,
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        let sealed = self.key.seal_text(app_id.as_str(), app_secret)?;
        // Names are unique by this check, not by an index: databases made
        // before it may hold duplicates, which stay. One statement, so two
        // creations cannot both pass it.
        let inserted = sqlx::query(
            "INSERT INTO merchants (app_id, name, secret_ciphertext, status, created_at, updated_at)
             SELECT ?1, ?2, ?3, 'active', ?4, ?4
             WHERE NOT EXISTS (SELECT 1 FROM merchants WHERE name = ?2)
             ON CONFLICT (app_id) DO NOTHING",
        )
        .bind(app_id.as_str())
        .bind(name)
        .bind(sealed)
        .bind(now_unix_secs)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(self.merchant_not_created(app_id, name).await);
        }
        Ok(())
    }

    async fn list_merchants(&self) -> Result<Vec<MerchantSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT app_id, name, status, created_at FROM merchants ORDER BY created_at, app_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(merchant_summary_from_row).collect()
    }

    async fn merchant(&self, app_id: &MerchantId) -> Result<Option<MerchantSummary>, StoreError> {
        let row =
            sqlx::query("SELECT app_id, name, status, created_at FROM merchants WHERE app_id = ?")
                .bind(app_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(merchant_summary_from_row).transpose()
    }

    async fn merchant_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<MerchantCredentials>, StoreError> {
        let row = sqlx::query("SELECT secret_ciphertext, status FROM merchants WHERE app_id = ?")
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: Vec<u8> = row.try_get("secret_ciphertext")?;
        Ok(Some(MerchantCredentials {
            app_id: MerchantId::new(app_id),
            app_secret: self.key.open_text(app_id, &sealed)?,
            status: status_from_row(&row)?,
        }))
    }

    async fn replace_secret(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        let sealed = self.key.seal_text(app_id.as_str(), app_secret)?;
        let updated = sqlx::query(
            "UPDATE merchants SET secret_ciphertext = ?, updated_at = ? WHERE app_id = ?",
        )
        .bind(sealed)
        .bind(now_unix_secs)
        .bind(app_id.as_str())
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::MerchantNotFound(app_id.to_string()));
        }
        Ok(())
    }

    async fn set_merchant_status(
        &self,
        app_id: &MerchantId,
        status: MerchantStatus,
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        let updated =
            sqlx::query("UPDATE merchants SET status = ?, updated_at = ? WHERE app_id = ?")
                .bind(status.as_str())
                .bind(now_unix_secs)
                .bind(app_id.as_str())
                .execute(&self.pool)
                .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::MerchantNotFound(app_id.to_string()));
        }
        Ok(())
    }

    async fn post_entry(&self, entry: &JournalEntry, meta: &EntryMeta) -> Result<i64, StoreError> {
        let mut db_tx = self.pool.begin().await?;
        let entry_id = post_entry_in(&mut db_tx, entry, meta).await?;
        db_tx.commit().await?;
        Ok(entry_id)
    }

    async fn create_cwallet(
        &self,
        account: &CwalletAccount,
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO cwallet_accounts (c_id, nickname, created_at) VALUES (?, ?, ?)
             ON CONFLICT (c_id) DO NOTHING",
        )
        .bind(&account.c_id)
        .bind(&account.nickname)
        .bind(now_unix_secs)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::CwalletExists(account.c_id.clone()));
        }
        Ok(())
    }

    async fn cwallet(&self, c_id: &str) -> Result<Option<CwalletAccount>, StoreError> {
        let row = sqlx::query("SELECT nickname FROM cwallet_accounts WHERE c_id = ?")
            .bind(c_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(CwalletAccount {
                c_id: c_id.to_owned(),
                nickname: row.try_get("nickname")?,
            })
        })
        .transpose()
    }

    async fn devnet_chain(
        &self,
        chain: &str,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError> {
        self.devnet_mine(chain, 0, now_unix_ms).await
    }

    async fn devnet_mine(
        &self,
        chain: &str,
        blocks: u64,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, StoreError> {
        let blocks = blocks_to_mine(blocks)?;
        let row = sqlx::query(
            "INSERT INTO devnet_chains (chain, genesis_unix_ms, mined_blocks) VALUES (?, ?, ?)
             ON CONFLICT (chain) DO UPDATE SET mined_blocks = mined_blocks + excluded.mined_blocks
             RETURNING genesis_unix_ms, mined_blocks",
        )
        .bind(chain)
        .bind(now_unix_ms)
        .bind(blocks)
        .fetch_one(&self.pool)
        .await?;
        devnet_state_from_row(&row, chain)
    }

    async fn devnet_fail_next_sends(&self, chain: &str, count: u32) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO devnet_send_failures (chain, remaining) VALUES (?, ?)
             ON CONFLICT (chain) DO UPDATE SET remaining = remaining + excluded.remaining",
        )
        .bind(chain)
        .bind(i64::from(count))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn devnet_take_send_failure(&self, chain: &str) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "UPDATE devnet_send_failures SET remaining = remaining - 1
             WHERE chain = ? AND remaining > 0",
        )
        .bind(chain)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn journal_len(&self) -> Result<u64, StoreError> {
        crate::rows::figure(&self.metric_figures().await?, "journal.entries")
    }

    async fn journal(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT entry_id, account, coin_id, direction, amount FROM postings
             ORDER BY entry_id, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        journal_from_rows(&rows)
    }

    async fn all_balances(
        &self,
    ) -> Result<BTreeMap<(Account, CoinId), AccountBalance>, StoreError> {
        let rows =
            sqlx::query("SELECT account, coin_id, debits_posted, credits_posted FROM balances")
                .fetch_all(&self.pool)
                .await?;
        balances_from_rows(&rows)
    }

    async fn merchant_balances(&self, app_id: &MerchantId) -> Result<Vec<CoinBalance>, StoreError> {
        let account = Account::MerchantAvailable(app_id.clone());
        let rows = sqlx::query(
            "SELECT coin_id, debits_posted, credits_posted FROM balances
             WHERE account = ? ORDER BY coin_id",
        )
        .bind(account.key())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| coin_balance_from_row(row, &account))
            .collect()
    }
}
