//! PostgreSQL: connecting and migrating, and what PostgreSQL does
//! differently under the stores' shared SQL ([`Backend`]). Several ccgate
//! instances on one database, each DB transaction at READ COMMITTED. Unlike
//! SQLite, writers run concurrently, so every read that decides a write either
//! locks what it read or is folded into a single guarded statement
//! (`ON CONFLICT`, `UPDATE … WHERE`).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use ccgate_ledger::journal::apply_entry;
use ccgate_ledger::{Account, AccountBalance, CoinId, JournalEntry, MerchantId};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Connection, Executor, Pool, Postgres};

use crate::StoreError;
use crate::backend::{
    BALANCES_READ, Backend, CREDENTIALS_READ, RowsAffected, SqlStore, StoredBalance,
    StoredCredentials,
};
use crate::master_key::MasterKey;
use crate::rows::{balance_from_row, direction_word, seq_number, to_i64};
use crate::writes::{DepositCredit, EntryMeta, NewWebhook};

/// Connections per instance. Each DB transaction holds one, and a writer may
/// wait on another instance's row locks while holding it, so this bounds how
/// many requests of one instance can be in the database at once.
const POOL_CONNECTIONS_MAX: u32 = 10;

/// How long a connection may sit in the pool and still be handed out without
/// a ping (decisions §47).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_millis(500);

/// The pool every store opens: a connection that sat idle for
/// `ping_when_idle_for` or longer is pinged before it is handed out, one back
/// from its last use sooner is not (decisions §47).
fn pool_options(ping_when_idle_for: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(POOL_CONNECTIONS_MAX)
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= ping_when_idle_for {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

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
        let mut pool_options = pool_options(PING_WHEN_IDLE_FOR);
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

impl SqlStore for PgStore {
    type Db = Postgres;

    fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// Row locks order PostgreSQL's writers, across instances too: a write
    /// takes any connection of the pool at once.
    fn writes(&self) -> crate::write_turn::Writes<'_, Postgres> {
        crate::write_turn::Writes::Pool(&self.pool)
    }

    async fn stored_credentials(
        &self,
        app_id: &str,
    ) -> Result<Option<StoredCredentials>, StoreError> {
        let row = sqlx::query(CREDENTIALS_READ)
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(StoredCredentials::from_row).transpose()
    }

    async fn stored_balances(&self, account: &str) -> Result<Vec<StoredBalance>, StoreError> {
        let rows = sqlx::query(BALANCES_READ)
            .bind(account)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(StoredBalance::from_row).collect()
    }

    fn master_key(&self) -> &MasterKey {
        &self.key
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

impl Backend for Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn id_among(subquery: &str) -> String {
        format!("id = ANY(ARRAY({subquery}))")
    }

    const SEEKS_ONLY: Option<&'static str> = Some(
        "SELECT set_config('enable_seqscan', 'off', true),
                set_config('enable_bitmapscan', 'off', true),
                set_config('enable_hashjoin', 'off', true),
                set_config('enable_mergejoin', 'off', true)",
    );

    /// The statements are per batch, not per entry: the round trips of a
    /// block's worth of deposits are a handful, and its commit one durable write.
    async fn post_entries_in(
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
        let (account_keys, coins): (Vec<&str>, Vec<&str>) = touched
            .keys()
            .map(|(account, coin)| (account.as_str(), coin.as_str()))
            .unzip();
        // FOR UPDATE can only lock a row that exists: a first posting to an
        // account creates its zero row here, and a concurrent creator of the
        // same row waits for this DB transaction to end. Rows are created, then
        // locked, in the order above (`ORDER BY` the list's ordinality: a
        // locking `SELECT` locks its rows in the order it returns them).
        sqlx::query(
            "INSERT INTO balances (account, coin_id, debits_posted, credits_posted)
             SELECT account, coin_id, '0', '0'
             FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS touched (account, coin_id, nth)
             ORDER BY nth
             ON CONFLICT (account, coin_id) DO NOTHING",
        )
        .bind(&account_keys)
        .bind(&coins)
        .execute(&mut *conn)
        .await?;
        let rows = sqlx::query(
            "SELECT balances.debits_posted, balances.credits_posted
             FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS touched (account, coin_id, nth)
             JOIN balances ON balances.account = touched.account
                          AND balances.coin_id = touched.coin_id
             ORDER BY touched.nth
             FOR UPDATE OF balances",
        )
        .bind(&account_keys)
        .bind(&coins)
        .fetch_all(&mut *conn)
        .await?;
        if rows.len() != touched.len() {
            return Err(StoreError::Corrupt(format!(
                "{} balance rows locked for {} touched",
                rows.len(),
                touched.len()
            )));
        }
        let mut balances: BTreeMap<(Account, CoinId), AccountBalance> = BTreeMap::new();
        for ((account, coin_id), row) in touched.into_values().zip(&rows) {
            let balance = balance_from_row(row)?;
            balance.check(account.balance_rule())?;
            balances.insert((account, coin_id), balance);
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
        .bind(
            i64::try_from(entries.len())
                .map_err(|_| StoreError::Corrupt("batch too large".into()))?,
        )
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
        let mut written = BalanceColumns::default();
        for ((account, coin), balance) in &balances {
            written.accounts.push(account.key());
            written.coins.push(coin.as_str());
            written
                .debits
                .push(balance.debits_posted.base_units().to_string());
            written
                .credits
                .push(balance.credits_posted.base_units().to_string());
        }
        sqlx::query(
            "UPDATE balances SET debits_posted = written.debits, credits_posted = written.credits
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
                  AS written (account, coin_id, debits, credits)
             WHERE balances.account = written.account AND balances.coin_id = written.coin_id",
        )
        .bind(&written.accounts)
        .bind(&written.coins)
        .bind(&written.debits)
        .bind(&written.credits)
        .execute(&mut *conn)
        .await?;
        Ok(ids)
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

    async fn lock_credits_of(conn: &mut PgConnection, chain: &str) -> Result<(), StoreError> {
        // One creditor per chain at a time, whichever instance.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("ccgate deposits {chain}"))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// One statement for the whole batch.
    async fn uncredited(
        conn: &mut PgConnection,
        chain: &str,
        credits: &[DepositCredit],
    ) -> Result<Vec<bool>, StoreError> {
        let mut txids = Vec::with_capacity(credits.len());
        let mut log_indexes = Vec::with_capacity(credits.len());
        for credit in credits {
            txids.push(credit.deposit.transfer.txid.as_str());
            log_indexes.push(i64::from(credit.deposit.transfer.log_index));
        }
        let credited_before: HashSet<(String, i64)> = sqlx::query_as(
            "SELECT d.txid, d.log_index FROM deposits d
             JOIN UNNEST($2::text[], $3::bigint[]) AS t(txid, log_index)
               ON d.txid = t.txid AND d.log_index = t.log_index
             WHERE d.chain = $1",
        )
        .bind(chain)
        .bind(&txids)
        .bind(&log_indexes)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        let fresh: Vec<bool> = txids
            .iter()
            .zip(&log_indexes)
            .map(|(txid, &log_index)| !credited_before.contains(&((*txid).to_owned(), log_index)))
            .collect();
        Ok(fresh)
    }

    /// Two statements for the whole batch.
    async fn insert_credited(
        conn: &mut PgConnection,
        applied: &[&DepositCredit],
        entry_ids: &[i64],
    ) -> Result<(), StoreError> {
        insert_deposits(&mut *conn, applied, entry_ids).await?;
        insert_webhooks(&mut *conn, applied.iter().map(|c| &c.webhook)).await
    }

    async fn lock_console_users(conn: &mut PgConnection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('ccgate console users', 0))")
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn lock_resend_calls_of(
        conn: &mut PgConnection,
        app_id: &MerchantId,
    ) -> Result<(), StoreError> {
        // Calls of one merchant queue on its row. NO KEY: orders and
        // addresses referencing the merchant are not held up.
        sqlx::query("SELECT 1 FROM merchants WHERE app_id = $1 FOR NO KEY UPDATE")
            .bind(app_id.as_str())
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The figures /metrics reads: the deltas the statement triggers append
    /// (migration 0018), summed. First the deltas so far are folded into one
    /// row per figure, by one instance at a time; a delta committed while
    /// that runs was not in its snapshot and is folded next time, so the sum
    /// stays exact, and reading stays as cheap as the scrape interval's
    /// deltas, whatever the history.
    async fn metric_figures(pool: &PgPool) -> Result<Vec<(String, i64)>, StoreError> {
        let mut db_tx = pool.begin().await?;
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
                .fetch_all(pool)
                .await?,
        )
    }
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

/// The balances a batch wrote, as columns, for one `UNNEST` update.
#[derive(Default)]
struct BalanceColumns<'a> {
    accounts: Vec<String>,
    coins: Vec<&'a str>,
    debits: Vec<String>,
    credits: Vec<String>,
}

/// Records credited deposits in one statement.
async fn insert_deposits(
    conn: &mut sqlx::PgConnection,
    applied: &[&DepositCredit],
    entry_ids: &[i64],
) -> Result<(), StoreError> {
    let mut columns = DepositColumns::default();
    for (credit, &entry_id) in applied.iter().zip(entry_ids) {
        let deposit = &credit.deposit;
        let transfer = &deposit.transfer;
        columns.record_ids.push(deposit.record_id.as_str());
        columns.chains.push(transfer.chain.as_str());
        columns.txids.push(transfer.txid.as_str());
        columns.log_indexes.push(i64::from(transfer.log_index));
        columns.app_ids.push(deposit.app_id.as_str());
        columns.addresses.push(transfer.to_address.as_str());
        columns.user_ids.push(deposit.user_id.as_deref());
        columns.order_ids.push(deposit.order_id.as_deref());
        columns.token_ids.push(transfer.token_id.as_str());
        columns.coin_ids.push(deposit.coin_id.as_str());
        columns.paid.push(transfer.amount.base_units().to_string());
        columns
            .fees
            .push(deposit.service_fee.base_units().to_string());
        columns
            .credited
            .push(deposit.credit_amount.base_units().to_string());
        columns.from_addresses.push(transfer.from_address.as_str());
        columns.memos.push(transfer.memo.as_str());
        columns
            .heights
            .push(to_i64(transfer.block_height, "block height")?);
        columns.block_times.push(transfer.block_time_ms);
        columns.entry_ids.push(entry_id);
        columns.credited_at.push(deposit.credited_at);
    }
    sqlx::query(
        "INSERT INTO deposits
             (record_id, chain, txid, log_index, app_id, address, user_id, order_id, token_id,
              coin_id, paid_amount, service_fee, credit_amount, from_address, memo,
              block_height, block_time_ms, journal_entry_id, credited_at)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                              $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                              $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[])",
    )
    .bind(&columns.record_ids)
    .bind(&columns.chains)
    .bind(&columns.txids)
    .bind(&columns.log_indexes)
    .bind(&columns.app_ids)
    .bind(&columns.addresses)
    .bind(&columns.user_ids)
    .bind(&columns.order_ids)
    .bind(&columns.token_ids)
    .bind(&columns.coin_ids)
    .bind(&columns.paid)
    .bind(&columns.fees)
    .bind(&columns.credited)
    .bind(&columns.from_addresses)
    .bind(&columns.memos)
    .bind(&columns.heights)
    .bind(&columns.block_times)
    .bind(&columns.entry_ids)
    .bind(&columns.credited_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The deposits of a batch as columns, for one `UNNEST` insert.
#[derive(Default)]
struct DepositColumns<'a> {
    record_ids: Vec<&'a str>,
    chains: Vec<&'a str>,
    txids: Vec<&'a str>,
    log_indexes: Vec<i64>,
    app_ids: Vec<&'a str>,
    addresses: Vec<&'a str>,
    user_ids: Vec<Option<&'a str>>,
    order_ids: Vec<Option<&'a str>>,
    token_ids: Vec<&'a str>,
    coin_ids: Vec<&'a str>,
    paid: Vec<String>,
    fees: Vec<String>,
    credited: Vec<String>,
    from_addresses: Vec<&'a str>,
    memos: Vec<&'a str>,
    heights: Vec<i64>,
    block_times: Vec<i64>,
    entry_ids: Vec<i64>,
    credited_at: Vec<i64>,
}

/// Queues webhooks inside the caller's DB transaction, in one statement.
async fn insert_webhooks<'w>(
    conn: &mut sqlx::PgConnection,
    webhooks: impl Iterator<Item = &'w NewWebhook>,
) -> Result<(), StoreError> {
    let mut app_ids = Vec::new();
    let mut record_ids = Vec::new();
    let mut order_types = Vec::new();
    let mut dialects = Vec::new();
    let mut urls = Vec::new();
    let mut payloads = Vec::new();
    let mut created = Vec::new();
    for webhook in webhooks {
        app_ids.push(webhook.app_id.as_str());
        record_ids.push(webhook.record_id.as_str());
        order_types.push(webhook.order_type);
        dialects.push(webhook.dialect.as_str());
        urls.push(webhook.url.as_deref());
        payloads.push(webhook.payload.as_str());
        created.push(webhook.created_at_ms);
    }
    sqlx::query(
        "INSERT INTO webhook_outbox
             (app_id, record_id, order_type, dialect, url, payload, status, attempts,
              next_attempt_at_ms, created_at_ms)
         SELECT app_id, record_id, order_type, dialect, url, payload, 'pending', 0, created, created
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::bigint[])
              WITH ORDINALITY AS t(app_id, record_id, order_type, dialect, url, payload, created, n)
         ORDER BY n",
    )
    .bind(&app_ids)
    .bind(&record_ids)
    .bind(&order_types)
    .bind(&dialects)
    .bind(&urls)
    .bind(&payloads)
    .bind(&created)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The PostgreSQL the test suites run on: `CCGATE_TEST_DATABASE_URL`, else
/// the CI machines' server (127.0.0.1:5432, user `postgres`, database
/// `test`), so that every suite looks in the same place.
pub fn test_database_url() -> String {
    std::env::var("CCGATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server this test runs against; `None` (skipped) when none answers,
    /// except in CI, where the test fails.
    async fn test_server() -> Option<(String, PgConnection)> {
        let url = test_database_url();
        match PgConnection::connect(&url).await {
            Ok(admin) => Some((url, admin)),
            Err(err) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI runs the PostgreSQL tests, but the server cannot be reached: {err}"
                );
                eprintln!("skipping PostgreSQL test: {err}");
                None
            }
        }
    }

    /// The pooled connection's server process, ended by `admin` once the
    /// connection is back in the pool, idle.
    async fn end_pooled_connection(pool: &PgPool, admin: &mut PgConnection) {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await
            .expect("a pooled connection answers");
        // sqlx hands a connection back to the pool in a task of its own, after
        // a ping; ended before that, it would be dropped there, not here.
        while pool.num_idle() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .fetch_one(&mut *admin)
            .await
            .expect("the admin connection ends the pooled one");
        assert!(ended);
        // The signal is sent, the process not yet gone: a statement sent now
        // could still be answered. Wait until the server lists it no more.
        for _ in 0..500 {
            let listed: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)")
                    .bind(pid)
                    .fetch_one(&mut *admin)
                    .await
                    .expect("the admin connection reads pg_stat_activity");
            if !listed {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server process {pid} did not end within 5 s");
    }

    /// Decisions §49: the webhook claim seeks on PostgreSQL whatever the
    /// statistics say. A table filled since its last `ANALYZE` (a burst of
    /// webhooks; a fresh one has none at all) made the planner count a
    /// merchant's held claims through every pending webhook of it, and find
    /// the chosen ones by a hash join over every due webhook: each claim cost
    /// O(backlog), and delivery slowed as the backlog grew.
    #[tokio::test]
    async fn the_webhook_claim_seeks_without_statistics() {
        let Some((url, mut admin)) = test_server().await else {
            return;
        };
        let schema = format!("ccgate_claim_plan_{}", rand::random::<u32>());
        let store = PgStore::connect_in_schema(&url, &schema, MasterKey::generate())
            .await
            .expect("a store in a scratch schema");
        // 20 000 pending webhooks of 50 merchants, a quarter of them claimed
        // and then settled again: old row versions stay in the claims index
        // until a vacuum, as they do between a burst's claims.
        for statement in [
            "INSERT INTO webhook_outbox (app_id, record_id, order_type, url, payload, status,
                 attempts, next_attempt_at_ms, created_at_ms)
             SELECT 'merchant-' || (n % 50), 'record-' || n, 'deposit', 'http://127.0.0.1:9/',
                 '{}', 'pending', 0, n, n
             FROM generate_series(1, 20000) AS n",
            "UPDATE webhook_outbox SET claimed_until_ms = 50000 WHERE id % 4 = 0",
            "UPDATE webhook_outbox SET claimed_until_ms = NULL WHERE id % 4 = 0",
        ] {
            sqlx::query(statement)
                .execute(&store.pool)
                .await
                .expect("fill the outbox");
        }
        // As `claim_due_webhooks` runs it: in its DB transaction.
        let mut db_tx = store.pool.begin().await.expect("begin");
        if let Some(seeks_only) = <Postgres as Backend>::SEEKS_ONLY {
            sqlx::query(seeks_only)
                .execute(&mut *db_tx)
                .await
                .expect("the planner settings");
        }
        let plan: Vec<String> = sqlx::query_scalar(&format!(
            "EXPLAIN {}",
            crate::outbox_claim::claim_statement::<Postgres>()
        ))
        .bind(60_000_i64)
        .bind(30_000_i64)
        .bind(256_i64)
        .bind(4_i64)
        .bind(128_i64)
        .fetch_all(&mut *db_tx)
        .await
        .expect("PostgreSQL explains the claim");
        drop(db_tx);
        store.pool.close().await;
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&mut admin)
            .await
            .expect("drop the scratch schema");
        let plan = plan.join("\n");
        for scan in [
            "Seq Scan on webhook_outbox",
            "Bitmap Heap Scan on webhook_outbox",
        ] {
            assert!(
                !plan.contains(scan),
                "the claim reads rows it does not take:\n{plan}"
            );
        }
        for sought in [
            "Index Only Scan using webhook_outbox_claimed on webhook_outbox held",
            "Index Scan using webhook_outbox_pkey on webhook_outbox",
            "Index Cond: (id = ANY (",
        ] {
            assert!(plan.contains(sought), "{sought}\n{plan}");
        }
    }

    /// Decisions §47: a connection idle past the window is pinged, so one the
    /// server dropped meanwhile is replaced before any statement meets it; one
    /// within the window is handed out unchecked, and its statement fails.
    #[tokio::test]
    async fn only_connections_idle_past_the_window_are_pinged() {
        let Some((url, mut admin)) = test_server().await else {
            return;
        };
        let always_pinged = pool_options(Duration::ZERO)
            .max_connections(1)
            .connect(&url)
            .await
            .expect("a pool");
        end_pooled_connection(&always_pinged, &mut admin).await;
        let answer: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&always_pinged)
            .await
            .expect("the ping found the ended connection and a new one answered");
        assert_eq!(answer, 1);

        let never_pinged = pool_options(Duration::from_secs(3_600))
            .max_connections(1)
            .connect(&url)
            .await
            .expect("a pool");
        end_pooled_connection(&never_pinged, &mut admin).await;
        assert!(
            sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(&never_pinged)
                .await
                .is_err(),
            "a connection used within the window is handed out without a ping"
        );
    }
}
