//! The PostgreSQL backend: several ccgate instances on one database, each DB
//! transaction at READ COMMITTED. Unlike SQLite, writers run concurrently, so
//! every read that decides a write either locks what it read or is folded into
//! a single guarded statement (`ON CONFLICT`, `UPDATE … WHERE`).

pub(crate) mod deposits;

use std::collections::BTreeMap;

use async_trait::async_trait;
use ccgate_ledger::journal::apply_entry;
use ccgate_ledger::{Account, AccountBalance, CoinId, JournalEntry, MerchantId};
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Executor, Row};

use crate::rows::{
    balance_from_row, balances_from_rows, blocks_to_mine, coin_balance_from_row,
    devnet_state_from_row, direction_word, journal_from_rows, merchant_summary_from_row,
    seq_number, status_from_row,
};
use crate::{
    CoinBalance, CwalletAccount, DevnetChainState, EntryMeta, MasterKey, MerchantCredentials,
    MerchantStatus, MerchantSummary, Store, StoreError,
};

/// Connections per instance. Each DB transaction holds one, and a writer may
/// wait on another instance's row locks while holding it, so this bounds how
/// many requests of one instance can be in the database at once.
const POOL_CONNECTIONS_MAX: u32 = 10;

/// PostgreSQL: safe for several `serve` instances and operator commands on one
/// database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) key: MasterKey,
}

/// The advisory lock one compaction of `metric_deltas` holds, so two
/// instances never fold the same deltas.
const METRIC_COMPACTION_LOCK: i64 = 0x6363_6761_7465_6d63;

impl PgStore {
    /// The figures /metrics reads: the deltas the statement triggers append
    /// (migration 0018), summed. First the deltas so far are folded into one
    /// row per figure, by one instance at a time; a delta committed while
    /// that runs was not in its snapshot and is folded next time, so the sum
    /// stays exact, and reading stays as cheap as the scrape interval's
    /// deltas, whatever the history.
    pub(crate) async fn metric_figures(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut db_tx = self.pool.begin().await?;
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(METRIC_COMPACTION_LOCK)
            .fetch_one(&mut *db_tx)
            .await?;
        if ours {
            sqlx::query(
                "WITH folded AS (DELETE FROM metric_deltas RETURNING name, delta)
                 INSERT INTO metric_deltas (name, delta)
                 SELECT name, SUM(delta) FROM folded GROUP BY name",
            )
            .execute(&mut *db_tx)
            .await?;
        }
        db_tx.commit().await?;
        Ok(
            sqlx::query_as("SELECT name, SUM(delta)::BIGINT FROM metric_deltas GROUP BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Why a merchant insert wrote nothing: its Appid or its name was taken.
    async fn merchant_not_created(&self, app_id: &MerchantId, name: &str) -> StoreError {
        let taken = sqlx::query("SELECT 1 FROM merchants WHERE app_id = $1")
            .bind(app_id.as_str())
            .fetch_optional(&self.pool)
            .await;
        match taken {
            Ok(Some(_)) => StoreError::MerchantExists(app_id.to_string()),
            Ok(None) => StoreError::MerchantNameTaken(name.to_owned()),
            Err(err) => StoreError::Database(err),
        }
    }

    /// Connects to the database at `url` (`postgres://user:password@host/db`)
    /// and applies pending migrations.
    pub async fn connect(url: &str, key: MasterKey) -> Result<PgStore, StoreError> {
        PgStore::open(url, None, key).await
    }

    /// Like [`PgStore::connect`], with every table in `schema` (created if
    /// missing): each pooled connection searches it first. Lets tests, or
    /// several gateways, share one database without seeing each other.
    /// The name must be lower-case ASCII letters, digits and `_`.
    pub async fn connect_in_schema(
        url: &str,
        schema: &str,
        key: MasterKey,
    ) -> Result<PgStore, StoreError> {
        let valid = !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::Open {
                path: format!("schema {schema:?}"),
                source: sqlx::Error::Configuration(
                    "a schema name may only have a-z, 0-9 and _".into(),
                ),
            });
        }
        PgStore::open(url, Some(schema.to_owned()), key).await
    }

    async fn open(
        url: &str,
        schema: Option<String>,
        key: MasterKey,
    ) -> Result<PgStore, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(|source| StoreError::Open {
            path: "the PostgreSQL URL".to_owned(),
            source,
        })?;
        // Named without the password the URL may carry.
        let place = format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let mut pool_options = PgPoolOptions::new().max_connections(POOL_CONNECTIONS_MAX);
        if let Some(schema) = schema.clone() {
            // The name was checked to be [a-z0-9_]+, so quoting cannot be escaped.
            let set_path = format!("SET search_path TO \"{schema}\"");
            pool_options = pool_options.after_connect(move |conn, _meta| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    conn.execute(set_path.as_str()).await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: place,
                source,
            })?;
        if let Some(schema) = schema {
            // IF NOT EXISTS is not safe against a concurrent creator (one of
            // the two fails on the catalog's unique index): instances starting
            // together take turns.
            let mut db_tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('ccgate schema ' || $1))")
                .bind(&schema)
                .execute(&mut *db_tx)
                .await?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&mut *db_tx)
                .await?;
            db_tx.commit().await?;
        }
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool, key })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Calls `on_insert` whenever a statement that queued webhooks commits,
    /// in this process or any other on the same database (the outbox's
    /// insert trigger notifies `ccgate_outbox`). Returns only if listening
    /// fails, or `Ok` once the pool is closed (the process stopping); a lost
    /// connection is re-made by sqlx, and a notification lost meanwhile is
    /// found by delivery's poll. Holds one of the pool's connections.
    pub async fn follow_outbox_inserts(
        &self,
        on_insert: impl Fn() + Send,
    ) -> Result<(), StoreError> {
        let closed = |err: sqlx::Error| match err {
            sqlx::Error::PoolClosed => Ok(()),
            other => Err(StoreError::from(other)),
        };
        let mut listener = match sqlx::postgres::PgListener::connect_with(&self.pool).await {
            Ok(listener) => listener,
            Err(err) => return closed(err),
        };
        if let Err(err) = listener.listen(OUTBOX_CHANNEL).await {
            return closed(err);
        }
        loop {
            if let Err(err) = listener.recv().await {
                return closed(err);
            }
            on_insert();
        }
    }
}

/// The channel the outbox's insert trigger notifies (migration 0012).
const OUTBOX_CHANNEL: &str = "ccgate_outbox";

/// Appends `entry` to the journal and applies it to the balances inside the
/// caller's DB transaction; on error the caller drops it, which writes nothing.
pub(crate) async fn post_entry_in(
    conn: &mut PgConnection,
    entry: &JournalEntry,
    meta: &EntryMeta,
) -> Result<i64, StoreError> {
    let ids = post_entries_in(conn, &[(entry, meta)]).await?;
    ids.first()
        .copied()
        .ok_or_else(|| StoreError::Corrupt("no journal id drawn for an entry".into()))
}

/// Appends `entries` to the journal in order and applies them to the balances
/// inside the caller's DB transaction (a group commit when there are many); if
/// any one is refused the caller drops the DB transaction, which writes
/// nothing. The statements are per batch, not per entry: the round trips of a
/// block's worth of deposits are a handful, and its commit one durable write.
pub(crate) async fn post_entries_in(
    conn: &mut PgConnection,
    entries: &[(&JournalEntry, &EntryMeta)],
) -> Result<Vec<i64>, StoreError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    // Every balance row is locked before any is read, in one order shared by
    // all writers (account key, then coin, by bytes), so two batches touching
    // the same accounts wait for each other instead of deadlocking.
    let mut touched: BTreeMap<(String, String), (Account, CoinId)> = BTreeMap::new();
    for (entry, _) in entries {
        for posting in entry.postings() {
            touched
                .entry((posting.account.key(), posting.coin.as_str().to_owned()))
                .or_insert_with(|| (posting.account.clone(), posting.coin.clone()));
        }
    }
    let mut balances: BTreeMap<(Account, CoinId), AccountBalance> = BTreeMap::new();
    for ((account_key, coin), (account, coin_id)) in &touched {
        // FOR UPDATE can only lock a row that exists: a first posting to an
        // account creates its zero row here, and a concurrent creator of the
        // same row waits for this DB transaction to end.
        sqlx::query(
            "INSERT INTO balances (account, coin_id, debits_posted, credits_posted)
             VALUES ($1, $2, '0', '0') ON CONFLICT (account, coin_id) DO NOTHING",
        )
        .bind(account_key)
        .bind(coin)
        .execute(&mut *conn)
        .await?;
        let row = sqlx::query(
            "SELECT debits_posted, credits_posted FROM balances
             WHERE account = $1 AND coin_id = $2 FOR UPDATE",
        )
        .bind(account_key)
        .bind(coin)
        .fetch_one(&mut *conn)
        .await?;
        let balance = balance_from_row(&row)?;
        balance.check(account.balance_rule())?;
        balances.insert((account.clone(), coin_id.clone()), balance);
    }
    // On a refused entry the DB transaction is dropped, taking the zero rows
    // above with it: nothing is written.
    for (entry, _) in entries {
        apply_entry(entry, &mut balances)?;
    }

    // Ids are drawn only now, with the locks held: an entry that depends on
    // another one's balances always gets a later id, so replaying the journal
    // in id order (`verify_ledger`) meets them in the order they were applied.
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id'))
         FROM generate_series(1, $1)",
    )
    .bind(i64::try_from(entries.len()).map_err(|_| StoreError::Corrupt("batch too large".into()))?)
    .fetch_all(&mut *conn)
    .await?;
    ids.sort_unstable();
    if ids.len() != entries.len() {
        return Err(StoreError::Corrupt("journal ids drawn short".into()));
    }

    let mut kinds = Vec::with_capacity(entries.len());
    let mut reasons = Vec::with_capacity(entries.len());
    let mut created = Vec::with_capacity(entries.len());
    let mut posting_rows = PostingColumns::default();
    for ((entry, meta), &entry_id) in entries.iter().zip(&ids) {
        kinds.push(meta.kind);
        reasons.push(meta.reason.as_str());
        created.push(meta.created_at);
        for (seq, posting) in entry.postings().iter().enumerate() {
            posting_rows.entry_ids.push(entry_id);
            posting_rows.seqs.push(seq_number(seq)?);
            posting_rows.accounts.push(posting.account.key());
            posting_rows.coins.push(posting.coin.as_str());
            posting_rows
                .directions
                .push(direction_word(posting.direction));
            posting_rows
                .amounts
                .push(posting.amount.base_units().to_string());
        }
    }
    sqlx::query(
        "INSERT INTO journal_entries (id, kind, reason, created_at) OVERRIDING SYSTEM VALUE
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[])",
    )
    .bind(&ids)
    .bind(&kinds)
    .bind(&reasons)
    .bind(&created)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO postings (entry_id, seq, account, coin_id, direction, amount)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                              $6::text[])",
    )
    .bind(&posting_rows.entry_ids)
    .bind(&posting_rows.seqs)
    .bind(&posting_rows.accounts)
    .bind(&posting_rows.coins)
    .bind(&posting_rows.directions)
    .bind(&posting_rows.amounts)
    .execute(&mut *conn)
    .await?;
    for ((account, coin), balance) in &balances {
        sqlx::query(
            "UPDATE balances SET debits_posted = $3, credits_posted = $4
             WHERE account = $1 AND coin_id = $2",
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

/// The postings of a batch as columns, for one `UNNEST` insert.
#[derive(Default)]
struct PostingColumns<'a> {
    entry_ids: Vec<i64>,
    seqs: Vec<i64>,
    accounts: Vec<String>,
    coins: Vec<&'a str>,
    directions: Vec<&'static str>,
    amounts: Vec<String>,
}

#[async_trait]
impl Store for PgStore {
    async fn create_merchant(
        &self,
        app_id: &MerchantId,
        app_secret: &SecretString,
        name: &str,
        now_unix_secs: i64,
    ) -> Result<(), StoreError> {
        let sealed = self.key.seal_text(app_id.as_str(), app_secret)?;
        // Names are unique by this check, not by an index: databases made
        // before it may hold duplicates, which stay. (Two creations of one
        // name at the same instant may both pass it; operators create
        // merchants one at a time.)
        let inserted = sqlx::query(
            "INSERT INTO merchants (app_id, name, secret_ciphertext, status, created_at, updated_at)
             SELECT $1, $2, $3, 'active', $4, $4
             WHERE NOT EXISTS (SELECT 1 FROM merchants WHERE name = $2)
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
            sqlx::query("SELECT app_id, name, status, created_at FROM merchants WHERE app_id = $1")
                .bind(app_id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(merchant_summary_from_row).transpose()
    }

    async fn merchant_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<MerchantCredentials>, StoreError> {
        let row = sqlx::query("SELECT secret_ciphertext, status FROM merchants WHERE app_id = $1")
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
            "UPDATE merchants SET secret_ciphertext = $1, updated_at = $2 WHERE app_id = $3",
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
            sqlx::query("UPDATE merchants SET status = $1, updated_at = $2 WHERE app_id = $3")
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
            "INSERT INTO cwallet_accounts (c_id, nickname, created_at) VALUES ($1, $2, $3)
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
        let row = sqlx::query("SELECT nickname FROM cwallet_accounts WHERE c_id = $1")
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
        // One statement: the upsert locks the row, so concurrent miners add up.
        let row = sqlx::query(
            "INSERT INTO devnet_chains (chain, genesis_unix_ms, mined_blocks) VALUES ($1, $2, $3)
             ON CONFLICT (chain) DO UPDATE
             SET mined_blocks = devnet_chains.mined_blocks + excluded.mined_blocks
             RETURNING genesis_unix_ms, mined_blocks",
        )
        .bind(chain)
        .bind(now_unix_ms)
        .bind(blocks_to_mine(blocks)?)
        .fetch_one(&self.pool)
        .await?;
        devnet_state_from_row(&row, chain)
    }

    async fn devnet_fail_next_sends(&self, chain: &str, count: u32) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO devnet_send_failures (chain, remaining) VALUES ($1, $2)
             ON CONFLICT (chain) DO UPDATE
             SET remaining = devnet_send_failures.remaining + excluded.remaining",
        )
        .bind(chain)
        .bind(i64::from(count))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn devnet_take_send_failure(&self, chain: &str) -> Result<bool, StoreError> {
        // A concurrent taker waits for the row and re-checks `remaining > 0`
        // on the version it then sees, so one planned failure is taken once.
        let taken = sqlx::query(
            "UPDATE devnet_send_failures SET remaining = remaining - 1
             WHERE chain = $1 AND remaining > 0",
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
             WHERE account = $1 ORDER BY coin_id",
        )
        .bind(account.key())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| coin_balance_from_row(row, &account))
            .collect()
    }
}
