//! What the dashboard's merchant pages read and write beside the console's
//! users and sessions (decisions §31): a user's TOTP second factor (its
//! secret sealed by the master key, the last step used kept against replay),
//! a merchant's orders searched with keyset pages, the webhooks a set of
//! records caused, a user's permanent addresses, and the merchant's journal
//! for a range of time.

use async_trait::async_trait;
use ccgate_ledger::{Account, Amount, CoinId, Direction, MerchantId};
use secrecy::SecretString;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::addresses::{ADDRESS_COLUMNS, DepositAddress, address_from_row};
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::console::{AuditEntry, insert_audit};
use crate::orders::{ORDER_COLUMNS, Order, order_from_row};
use crate::outbox::{WEBHOOK_COLUMNS, WebhookRow, webhook_row};
use crate::rows::{Columns, parse_amount, to_u64};

/// A user's TOTP second factor as stored, its secret opened.
#[derive(Debug, Clone)]
pub struct ConsoleTotp {
    /// Base32, as the authenticator app was given it.
    pub secret: SecretString,
    /// When it was confirmed with a code; `None` while only set up.
    pub enabled_at_ms: Option<i64>,
    /// The last 30-second step whose code was accepted.
    pub last_step: Option<i64>,
}

/// Which of a merchant's orders a search takes: every filter left `None`
/// matches all. Newest first, by creation and then order id, so a page
/// that ends inside one second goes on exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSearch {
    pub app_id: MerchantId,
    /// Created at or after (unix seconds).
    pub since: Option<i64>,
    /// Created before (unix seconds).
    pub until: Option<i64>,
    pub coin_id: Option<CoinId>,
    pub chain: Option<String>,
    pub merchant_order_id: Option<String>,
    /// A payment to the order came from this address.
    pub payer_address: Option<String>,
    /// A payment to the order was made in this transaction.
    pub txid: Option<String>,
    /// The page starts after this order: its `created_at` and `order_id`.
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

impl OrderSearch {
    /// All of the merchant's orders, a page of `limit`.
    pub fn of_merchant(app_id: &MerchantId, limit: u32) -> OrderSearch {
        OrderSearch {
            app_id: app_id.clone(),
            since: None,
            until: None,
            coin_id: None,
            chain: None,
            merchant_order_id: None,
            payer_address: None,
            txid: None,
            after: None,
            limit,
        }
    }
}

/// One posting of the merchant's journal, with its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine {
    pub entry_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    pub kind: String,
    pub reason: String,
    /// The account's key: the merchant's available or reserved balance, or
    /// one of its wallet users.
    pub account: String,
    pub coin_id: CoinId,
    pub direction: Direction,
    pub amount: Amount,
}

/// A merchant's orders counted by the state the API reports for each
/// (decisions §36): every order, not the latest ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderStateCounts {
    pub pending: u64,
    pub processing: u64,
    pub successful: u64,
    pub expired: u64,
}

/// `text` (decimal digits, at most 39) padded with zeros to 39 characters,
/// as SQL spelt alike on both backends.
fn padded_39(text: &str) -> String {
    format!("substr('000000000000000000000000000000000000000' || {text}, length({text}) + 1)")
}

/// The state of each of the merchant `$1`'s orders at `$2` (unix seconds),
/// as `orders::order_progress` derives it, counted per state. An order is
/// Successful when its payments in its coin made by its expiry sum to its
/// amount: each amount is cut into three 13-digit parts summed as integers
/// (as `received_by_day`), carried, and compared part by part, in one
/// aggregate over the order's deposits. Processing when a payment made in
/// time is seen but not credited; Expired once `$2` is past its expiry;
/// Pending otherwise. Driven by the merchant's orders (an index on
/// `app_id`), each order's deposits and seen transfers looked up by its id:
/// a unit test in `sqlite.rs` pins the plan. The states are a MATERIALIZED
/// CTE (SQLite 3.35+, PostgreSQL 12+): flattened into the grouping, SQLite
/// evaluated the CASE, and its look-ups, once for the key and again for the
/// column.
pub(crate) fn order_state_counts_sql() -> String {
    const PART: &str = "10000000000000";
    let paid = |from: u32| {
        format!(
            "CAST(COALESCE(SUM(CAST(substr({}, {from}, 13) AS BIGINT)), 0) AS BIGINT)",
            padded_39("d.paid_amount")
        )
    };
    let due = |from: u32| {
        format!(
            "CAST(substr({}, {from}, 13) AS BIGINT)",
            padded_39("o.order_amount")
        )
    };
    let (high, middle, low) = (paid(1), paid(14), paid(27));
    let (due_high, due_middle, due_low) = (due(1), due(14), due(27));
    // The sum's parts after carrying: the low part's carry into the middle,
    // the middle's into the high.
    let middle_carried = format!("({middle} + {low} / {PART})");
    let high_carried = format!("({high} + {middle_carried} / {PART})");
    let middle_kept = format!("({middle_carried} % {PART})");
    let low_kept = format!("({low} % {PART})");
    format!(
        "WITH states AS MATERIALIZED (
           SELECT CASE
               WHEN (SELECT CASE
                              WHEN {high_carried} > {due_high}
                                OR ({high_carried} = {due_high}
                                    AND ({middle_kept} > {due_middle}
                                         OR ({middle_kept} = {due_middle}
                                             AND {low_kept} >= {due_low})))
                              THEN 1 ELSE 0
                            END
                     FROM deposits d
                     WHERE d.order_id = o.order_id AND d.coin_id = o.coin_id
                       AND d.block_time_ms <= o.expires_at * 1000) = 1
                 THEN 'Successful'
               WHEN EXISTS (SELECT 1 FROM seen_transfers s
                            WHERE s.order_id = o.order_id
                              AND s.block_time_ms <= o.expires_at * 1000
                              AND NOT EXISTS (SELECT 1 FROM deposits c
                                              WHERE c.chain = s.chain AND c.txid = s.txid
                                                AND c.log_index = s.log_index))
                 THEN 'Processing'
               WHEN $2 > o.expires_at THEN 'Expired'
               ELSE 'Pending'
             END AS state
           FROM orders o WHERE o.app_id = $1
         )
         SELECT state, COUNT(*) AS orders FROM states GROUP BY state"
    )
}

#[async_trait]
pub trait DashboardStore: Send + Sync + std::fmt::Debug + 'static {
    /// The user's second factor, if one was set up.
    async fn console_totp(&self, user_id: i64) -> Result<Option<ConsoleTotp>, StoreError>;

    /// Sets up a new, not yet confirmed second factor for the user,
    /// replacing one not confirmed; nothing is written (`false`) if one is
    /// in force. Appends `audit` in the same DB transaction.
    async fn set_up_console_totp(
        &self,
        user_id: i64,
        secret: &SecretString,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Takes the code of `step` for the user: `true` only if no code of this
    /// step or a later one was taken before (one statement, so two requests
    /// with one code cannot both pass). With `enable` (a time and its audit
    /// row), also puts a set up second factor in force (and `false` if it
    /// was in force already), appending the row in the same DB transaction.
    async fn take_console_totp_step(
        &self,
        user_id: i64,
        step: i64,
        enable: Option<(i64, &AuditEntry)>,
    ) -> Result<bool, StoreError>;

    /// Removes the user's second factor, appending `audit`, in one DB
    /// transaction.
    async fn remove_console_totp(&self, user_id: i64, audit: &AuditEntry)
    -> Result<(), StoreError>;

    /// Deposit orders `search` picks, newest first.
    async fn search_orders(&self, search: &OrderSearch) -> Result<Vec<Order>, StoreError>;

    /// Every order of the merchant counted by its state at `now_unix_secs`
    /// (business time), derived in SQL (decisions §36).
    async fn order_state_counts(
        &self,
        app_id: &MerchantId,
        now_unix_secs: i64,
    ) -> Result<OrderStateCounts, StoreError>;

    /// The merchant's webhooks about any of `record_ids`, oldest first.
    async fn webhooks_of_records(
        &self,
        app_id: &MerchantId,
        record_ids: &[String],
    ) -> Result<Vec<WebhookRow>, StoreError>;

    /// The merchant's permanent addresses for its own user `user_id`
    /// (not a wallet user's), unbound ones too, oldest first.
    async fn user_permanent_addresses(
        &self,
        app_id: &MerchantId,
        user_id: &str,
    ) -> Result<Vec<DepositAddress>, StoreError>;

    /// The postings of the merchant's accounts (available, reserved, its
    /// wallet users') in entries made in `[since, until)` (unix seconds),
    /// oldest first, at most `limit`.
    async fn merchant_journal(
        &self,
        app_id: &MerchantId,
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<JournalLine>, StoreError>;
}

/// What the sealed secret is bound to: a ciphertext copied onto another
/// user's row does not open.
fn totp_owner(user_id: i64) -> String {
    format!("console-totp:{user_id}")
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> DashboardStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Vec<u8>: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<&'q str>: Encode<'q, S::Db>,
    for<'q> Option<String>: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn console_totp(&self, user_id: i64) -> Result<Option<ConsoleTotp>, StoreError> {
        let row = sqlx::query(
            "SELECT secret_ciphertext, enabled_at_ms, last_step FROM console_totp
             WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(ConsoleTotp {
            secret: self
                .master_key()
                .open_text(&totp_owner(user_id), &row.bytes("secret_ciphertext")?)?,
            enabled_at_ms: row.opt_int("enabled_at_ms")?,
            last_step: row.opt_int("last_step")?,
        }))
    }

    async fn set_up_console_totp(
        &self,
        user_id: i64,
        secret: &SecretString,
        now_ms: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let sealed = self.master_key().seal_text(&totp_owner(user_id), secret)?;
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        // A confirmed one stays: only a code removes it.
        let written = sqlx::query(
            "INSERT INTO console_totp (user_id, secret_ciphertext, enabled_at_ms, last_step, created_at_ms)
             VALUES ($1, $2, NULL, NULL, $3)
             ON CONFLICT (user_id) DO UPDATE
                 SET secret_ciphertext = $2, last_step = NULL, created_at_ms = $3
                 WHERE console_totp.enabled_at_ms IS NULL",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(now_ms)
        .execute(&mut *db_tx)
        .await?;
        if written.rows_affected() != 1 {
            return Ok(false);
        }
        insert_audit::<S::Db>(&mut db_tx, audit).await?;
        db_tx.commit().await?;
        Ok(true)
    }

    async fn take_console_totp_step(
        &self,
        user_id: i64,
        step: i64,
        enable: Option<(i64, &AuditEntry)>,
    ) -> Result<bool, StoreError> {
        let (enable_at_ms, audit) = enable.unzip();
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        let taken = sqlx::query(
            "UPDATE console_totp
             SET last_step = $2, enabled_at_ms = COALESCE($3, enabled_at_ms)
             WHERE user_id = $1
               AND (last_step IS NULL OR last_step < $2)
               AND ($3 IS NULL OR enabled_at_ms IS NULL)",
        )
        .bind(user_id)
        .bind(step)
        .bind(enable_at_ms)
        .execute(&mut *db_tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(audit) = audit {
            insert_audit::<S::Db>(&mut db_tx, audit).await?;
        }
        db_tx.commit().await?;
        Ok(true)
    }

    async fn remove_console_totp(
        &self,
        user_id: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        sqlx::query("DELETE FROM console_totp WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *db_tx)
            .await?;
        insert_audit::<S::Db>(&mut db_tx, audit).await?;
        db_tx.commit().await?;
        Ok(())
    }

    async fn search_orders(&self, search: &OrderSearch) -> Result<Vec<Order>, StoreError> {
        // A NULL parameter switches its filter off, as in `Listings`.
        let (after_created, after_order) = match &search.after {
            Some((created_at, order_id)) => (Some(*created_at), Some(order_id.clone())),
            None => (None, None),
        };
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders
             WHERE app_id = $1
               AND ($2 IS NULL OR created_at >= $2)
               AND ($3 IS NULL OR created_at < $3)
               AND ($4 IS NULL OR coin_id = $4)
               AND ($5 IS NULL OR chain = $5)
               AND ($6 IS NULL OR merchant_order_id = $6)
               AND ($7 IS NULL OR EXISTS (SELECT 1 FROM deposits
                        WHERE deposits.order_id = orders.order_id AND deposits.from_address = $7))
               AND ($8 IS NULL OR EXISTS (SELECT 1 FROM deposits
                        WHERE deposits.order_id = orders.order_id AND deposits.txid = $8))
               AND ($9 IS NULL OR created_at < $9 OR (created_at = $9 AND order_id < $10))
             ORDER BY created_at DESC, order_id DESC LIMIT $11"
        ))
        .bind(search.app_id.as_str())
        .bind(search.since)
        .bind(search.until)
        .bind(search.coin_id.as_ref().map(|id| id.as_str().to_owned()))
        .bind(search.chain.clone())
        .bind(search.merchant_order_id.clone())
        .bind(search.payer_address.clone())
        .bind(search.txid.clone())
        .bind(after_created)
        .bind(after_order)
        .bind(i64::from(search.limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    async fn order_state_counts(
        &self,
        app_id: &MerchantId,
        now_unix_secs: i64,
    ) -> Result<OrderStateCounts, StoreError> {
        let rows = sqlx::query(&order_state_counts_sql())
            .bind(app_id.as_str())
            .bind(now_unix_secs)
            .fetch_all(self.pool())
            .await?;
        let mut counts = OrderStateCounts::default();
        for row in &rows {
            let orders = to_u64(row.int("orders")?, "order count")?;
            match row.text("state")?.as_str() {
                "Pending" => counts.pending = orders,
                "Processing" => counts.processing = orders,
                "Successful" => counts.successful = orders,
                "Expired" => counts.expired = orders,
                other => return Err(StoreError::Corrupt(format!("order state {other:?}"))),
            }
        }
        Ok(counts)
    }

    async fn webhooks_of_records(
        &self,
        app_id: &MerchantId,
        record_ids: &[String],
    ) -> Result<Vec<WebhookRow>, StoreError> {
        if record_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..record_ids.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhook_outbox
             WHERE app_id = $1 AND record_id IN ({})
             ORDER BY id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(app_id.as_str());
        for record_id in record_ids {
            query = query.bind(record_id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(webhook_row).collect()
    }

    async fn user_permanent_addresses(
        &self,
        app_id: &MerchantId,
        user_id: &str,
    ) -> Result<Vec<DepositAddress>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ADDRESS_COLUMNS} FROM deposit_addresses
             WHERE app_id = $1 AND user_id = $2 AND wallet_user = 0 AND order_id IS NULL
             ORDER BY created_at, chain"
        ))
        .bind(app_id.as_str())
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(address_from_row).collect()
    }

    async fn merchant_journal(
        &self,
        app_id: &MerchantId,
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<JournalLine>, StoreError> {
        // A wallet user's key is `user:<appid>:<userId>`; an Appid is
        // letters and digits, so the prefix holds no LIKE wildcard.
        let users = format!("{}%", Account::User(app_id.clone(), String::new()).key());
        let rows = sqlx::query(
            "SELECT e.id AS entry_id, e.created_at, e.kind, e.reason,
                    p.account, p.coin_id, p.direction, p.amount
             FROM postings p JOIN journal_entries e ON e.id = p.entry_id
             WHERE (p.account = $1 OR p.account = $2 OR p.account LIKE $3)
               AND e.created_at >= $4 AND e.created_at < $5
             ORDER BY e.id, p.seq LIMIT $6",
        )
        .bind(Account::MerchantAvailable(app_id.clone()).key())
        .bind(Account::MerchantReserved(app_id.clone()).key())
        .bind(users)
        .bind(since)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let direction = match row.text("direction")?.as_str() {
                    "debit" => Direction::Debit,
                    "credit" => Direction::Credit,
                    other => {
                        return Err(StoreError::Corrupt(format!("posting direction {other:?}")));
                    }
                };
                Ok(JournalLine {
                    entry_id: row.int("entry_id")?,
                    created_at: row.int("created_at")?,
                    kind: row.text("kind")?,
                    reason: row.text("reason")?,
                    account: row.text("account")?,
                    coin_id: CoinId::new(row.text("coin_id")?),
                    direction,
                    amount: parse_amount(&row.text("amount")?)?,
                })
            })
            .collect()
    }
}
