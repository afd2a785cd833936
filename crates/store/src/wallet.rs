//! The v2 wallet system (docs/decisions.md §24): a merchant's users, their
//! balances (ledger accounts `user:<appid>:<userId>`) and the transfers
//! between them. Written once for both backends.

use async_trait::async_trait;
use ccgate_ledger::{Account, Amount, CoinId, JournalEntry, MerchantId};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::addresses::add_wallet_user;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::ledger::CoinBalance;
use crate::rows::{Columns, balance_from_row, parse_amount};
use crate::writes::EntryMeta;

/// One leg of money moved between two of a merchant's wallet accounts: a
/// user, or the merchant itself under its App ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTransfer {
    pub record_id: String,
    pub app_id: MerchantId,
    /// The merchant's order id (a batch's legs carry the batch's).
    pub order_id: String,
    /// The batch it is a leg of, if any.
    pub batch_record_id: Option<String>,
    pub from_user: String,
    pub to_user: String,
    pub coin_id: CoinId,
    /// In the coin's base units.
    pub amount: Amount,
    pub remark: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A `userBatchTransfer`: one sender, several recipients, all or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserBatchTransfer {
    pub record_id: String,
    pub app_id: MerchantId,
    pub order_id: String,
    pub from_user: String,
    pub coin_id: CoinId,
    pub remark: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Its legs, in the order given.
    pub legs: Vec<UserTransfer>,
}

/// Whether a write made its record or found one already made under the same
/// order id (by an earlier or a concurrent request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded<T> {
    Made(T),
    Existing(T),
}

/// Which batch a transfer belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchScope {
    /// Single transfers and batch legs alike.
    Any,
    /// Single transfers only (their order ids are unique).
    Single,
    /// The legs of this batch, in their order.
    Legs(String),
}

/// Which of a merchant's transfers to read: every `None` matches all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFilter {
    pub app_id: MerchantId,
    pub batch: BatchScope,
    pub record_id: Option<String>,
    /// Empty: any.
    pub order_ids: Vec<String>,
    pub from_user: Option<String>,
    pub to_user: Option<String>,
    pub coin_id: Option<CoinId>,
    /// Made at or after (Unix seconds).
    pub since: Option<i64>,
    /// Made before (Unix seconds).
    pub until: Option<i64>,
    /// The page after this record: older ones, or for a batch's legs later ones.
    pub after_record_id: Option<String>,
    pub limit: u32,
}

impl TransferFilter {
    /// The merchant's newest transfer, whatever it is: the filter a caller
    /// narrows and widens.
    pub fn of_merchant(app_id: &MerchantId) -> TransferFilter {
        TransferFilter {
            app_id: app_id.clone(),
            batch: BatchScope::Any,
            record_id: None,
            order_ids: Vec::new(),
            from_user: None,
            to_user: None,
            coin_id: None,
            since: None,
            until: None,
            after_record_id: None,
            limit: 1,
        }
    }
}

/// One of a merchant's wallet users, with what its account holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletUser {
    pub user_id: String,
    /// When it came into being (Unix seconds).
    pub created_at: i64,
    /// One per coin its account ever held, in coin-id order.
    pub balances: Vec<CoinBalance>,
}

#[async_trait]
pub trait WalletStore: Send + Sync + std::fmt::Debug + 'static {
    /// A page of the merchant's users in `user_id` order, from the one after
    /// `after_user_id`, each with its balances (two statements a page).
    async fn wallet_users(
        &self,
        app_id: &MerchantId,
        after_user_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WalletUser>, StoreError>;

    /// Whether the merchant's user came into being (a deposit address, a
    /// transfer received).
    async fn wallet_user_exists(
        &self,
        app_id: &MerchantId,
        user_id: &str,
    ) -> Result<bool, StoreError>;

    /// The balances of the user's account, one per coin it ever held, in
    /// coin-id order.
    async fn user_balances(
        &self,
        app_id: &MerchantId,
        user_id: &str,
    ) -> Result<Vec<CoinBalance>, StoreError>;

    /// Writes a transfer, its journal entry (which the ledger may refuse:
    /// then nothing is written) and its recipient's existence in one DB
    /// transaction; a single transfer whose order id is taken writes nothing
    /// and answers the one that took it.
    async fn record_transfer(
        &self,
        transfer: &UserTransfer,
        entry: &JournalEntry,
        meta: &EntryMeta,
    ) -> Result<Recorded<UserTransfer>, StoreError>;

    /// [`Self::record_transfer`] for a batch and all its legs, by one entry.
    async fn record_batch_transfer(
        &self,
        batch: &UserBatchTransfer,
        entry: &JournalEntry,
        meta: &EntryMeta,
    ) -> Result<Recorded<UserBatchTransfer>, StoreError>;

    /// The filter's transfers: newest first, or a batch's legs in order.
    async fn user_transfers(
        &self,
        filter: &TransferFilter,
    ) -> Result<Vec<UserTransfer>, StoreError>;

    /// The merchant's batches, newest first, each with its legs; `record_id`,
    /// `order_ids`, `from_user` and `coin_id` of the filter narrow them.
    async fn user_batch_transfers(
        &self,
        filter: &TransferFilter,
    ) -> Result<Vec<UserBatchTransfer>, StoreError>;
}

const TRANSFER_COLUMNS: &str = "record_id, app_id, order_id, batch_record_id, from_user, \
     to_user, coin_id, amount, remark, created_at";

#[async_trait]
impl<S> WalletStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn wallet_users(
        &self,
        app_id: &MerchantId,
        after_user_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<WalletUser>, StoreError> {
        // The primary key (app_id, user_id) serves the page in order.
        let rows = sqlx::query(
            "SELECT user_id, created_at FROM wallet_users
             WHERE app_id = $1 AND ($2 IS NULL OR user_id > $2)
             ORDER BY user_id LIMIT $3",
        )
        .bind(app_id.as_str())
        .bind(after_user_id.map(str::to_owned))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut users = rows
            .iter()
            .map(|row| {
                Ok(WalletUser {
                    user_id: row.text("user_id")?,
                    created_at: row.int("created_at")?,
                    balances: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if users.is_empty() {
            return Ok(users);
        }
        let accounts: Vec<Account> = users
            .iter()
            .map(|user| Account::User(app_id.clone(), user.user_id.clone()))
            .collect();
        let keys: Vec<String> = accounts.iter().map(Account::key).collect();
        let placeholders: Vec<String> = (1..=keys.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT account, coin_id, debits_posted, credits_posted FROM balances
             WHERE account IN ({}) ORDER BY account, coin_id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for key in &keys {
            query = query.bind(key.clone());
        }
        for row in query.fetch_all(self.pool()).await? {
            let account = row.text("account")?;
            let at = keys
                .iter()
                .position(|key| *key == account)
                .ok_or_else(|| StoreError::Corrupt(format!("unasked balance of {account}")))?;
            let balance = balance_from_row(&row)?;
            balance.check(accounts[at].balance_rule())?;
            users[at].balances.push(CoinBalance {
                coin: CoinId::new(row.text("coin_id")?),
                balance,
            });
        }
        Ok(users)
    }

    async fn wallet_user_exists(
        &self,
        app_id: &MerchantId,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM wallet_users WHERE app_id = $1 AND user_id = $2")
            .bind(app_id.as_str())
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    async fn user_balances(
        &self,
        app_id: &MerchantId,
        user_id: &str,
    ) -> Result<Vec<CoinBalance>, StoreError> {
        let account = Account::User(app_id.clone(), user_id.to_owned());
        let rows = sqlx::query(
            "SELECT coin_id, debits_posted, credits_posted FROM balances
             WHERE account = $1 ORDER BY coin_id",
        )
        .bind(account.key())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let balance = balance_from_row(row)?;
                balance.check(account.balance_rule())?;
                Ok(CoinBalance {
                    coin: CoinId::new(row.text("coin_id")?),
                    balance,
                })
            })
            .collect()
    }

    async fn record_transfer(
        &self,
        transfer: &UserTransfer,
        entry: &JournalEntry,
        meta: &EntryMeta,
    ) -> Result<Recorded<UserTransfer>, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        let entry_id = S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
        // After the posting, so that on PostgreSQL a concurrent request with
        // the same order id waits here for the first to commit, then finds
        // the row taken and drops its posting with its DB transaction.
        let inserted = insert_leg::<S::Db>(&mut db_tx, transfer, None, entry_id).await?;
        if inserted == 0 {
            db_tx.rollback().await?;
            let mut filter = TransferFilter::of_merchant(&transfer.app_id);
            filter.batch = BatchScope::Single;
            filter.order_ids = vec![transfer.order_id.clone()];
            return self
                .user_transfers(&filter)
                .await?
                .into_iter()
                .next()
                .map(Recorded::Existing)
                .ok_or_else(|| StoreError::Corrupt("a taken transfer order id vanished".into()));
        }
        if transfer.to_user != transfer.app_id.as_str() {
            add_wallet_user::<S::Db>(
                &mut db_tx,
                &transfer.app_id,
                &transfer.to_user,
                transfer.created_at,
            )
            .await?;
        }
        db_tx.commit().await?;
        Ok(Recorded::Made(transfer.clone()))
    }

    async fn record_batch_transfer(
        &self,
        batch: &UserBatchTransfer,
        entry: &JournalEntry,
        meta: &EntryMeta,
    ) -> Result<Recorded<UserBatchTransfer>, StoreError> {
        let mut db_tx = self.begin_write_with(S::Db::BEGIN_WRITE).await?;
        let entry_id = S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
        let inserted = sqlx::query(
            "INSERT INTO user_batch_transfers
                 (record_id, app_id, order_id, from_user, coin_id, remark, journal_entry_id,
                  created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (app_id, order_id) DO NOTHING",
        )
        .bind(&batch.record_id)
        .bind(batch.app_id.as_str())
        .bind(&batch.order_id)
        .bind(&batch.from_user)
        .bind(batch.coin_id.as_str())
        .bind(&batch.remark)
        .bind(entry_id)
        .bind(batch.created_at)
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 0 {
            db_tx.rollback().await?;
            let mut filter = TransferFilter::of_merchant(&batch.app_id);
            filter.order_ids = vec![batch.order_id.clone()];
            return self
                .user_batch_transfers(&filter)
                .await?
                .into_iter()
                .next()
                .map(Recorded::Existing)
                .ok_or_else(|| StoreError::Corrupt("a taken batch order id vanished".into()));
        }
        for (seq, leg) in batch.legs.iter().enumerate() {
            let seq = i64::try_from(seq).map_err(|_| StoreError::Corrupt("batch seq".into()))?;
            insert_leg::<S::Db>(&mut db_tx, leg, Some(seq), entry_id).await?;
            if leg.to_user != leg.app_id.as_str() {
                add_wallet_user::<S::Db>(&mut db_tx, &leg.app_id, &leg.to_user, leg.created_at)
                    .await?;
            }
        }
        db_tx.commit().await?;
        Ok(Recorded::Made(batch.clone()))
    }

    async fn user_transfers(
        &self,
        filter: &TransferFilter,
    ) -> Result<Vec<UserTransfer>, StoreError> {
        let (scope, order, after) = match &filter.batch {
            BatchScope::Any => ("TRUE", "record_id DESC", "record_id < $9"),
            BatchScope::Single => (
                "batch_record_id IS NULL",
                "record_id DESC",
                "record_id < $9",
            ),
            BatchScope::Legs(_) => ("TRUE", "batch_seq", "record_id > $9"),
        };
        let batch_id = match &filter.batch {
            BatchScope::Legs(id) => Some(id.clone()),
            BatchScope::Any | BatchScope::Single => None,
        };
        // A NULL parameter switches its filter off; each is bound once.
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM user_transfers
             WHERE app_id = $1 AND {scope}
               AND ($2 IS NULL OR record_id = $2)
               AND ($3 IS NULL OR batch_record_id = $3)
               AND ($4 IS NULL OR from_user = $4)
               AND ($5 IS NULL OR to_user = $5)
               AND ($6 IS NULL OR coin_id = $6)
               AND ($7 IS NULL OR created_at >= $7)
               AND ($8 IS NULL OR created_at < $8)
               AND ($9 IS NULL OR {after})
               {}
             ORDER BY {order} LIMIT $10",
            order_ids_clause(filter.order_ids.len(), 11)
        );
        let mut query = sqlx::query(&sql)
            .bind(filter.app_id.as_str().to_owned())
            .bind(filter.record_id.clone())
            .bind(batch_id)
            .bind(filter.from_user.clone())
            .bind(filter.to_user.clone())
            .bind(filter.coin_id.as_ref().map(|id| id.as_str().to_owned()))
            .bind(filter.since)
            .bind(filter.until)
            .bind(filter.after_record_id.clone())
            .bind(i64::from(filter.limit));
        for order_id in &filter.order_ids {
            query = query.bind(order_id.clone());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(transfer_from_row).collect()
    }

    async fn user_batch_transfers(
        &self,
        filter: &TransferFilter,
    ) -> Result<Vec<UserBatchTransfer>, StoreError> {
        let sql = format!(
            "SELECT record_id, app_id, order_id, from_user, coin_id, remark, created_at
             FROM user_batch_transfers
             WHERE app_id = $1
               AND ($2 IS NULL OR record_id = $2)
               AND ($3 IS NULL OR from_user = $3)
               AND ($4 IS NULL OR coin_id = $4)
               AND ($5 IS NULL OR created_at >= $5)
               AND ($6 IS NULL OR created_at < $6)
               AND ($7 IS NULL OR record_id < $7)
               {}
             ORDER BY record_id DESC LIMIT $8",
            order_ids_clause(filter.order_ids.len(), 9)
        );
        let mut query = sqlx::query(&sql)
            .bind(filter.app_id.as_str().to_owned())
            .bind(filter.record_id.clone())
            .bind(filter.from_user.clone())
            .bind(filter.coin_id.as_ref().map(|id| id.as_str().to_owned()))
            .bind(filter.since)
            .bind(filter.until)
            .bind(filter.after_record_id.clone())
            .bind(i64::from(filter.limit));
        for order_id in &filter.order_ids {
            query = query.bind(order_id.clone());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut batches = Vec::with_capacity(rows.len());
        for row in &rows {
            let record_id = row.text("record_id")?;
            let mut legs_filter = TransferFilter::of_merchant(&filter.app_id);
            legs_filter.batch = BatchScope::Legs(record_id.clone());
            legs_filter.limit = u32::MAX;
            let legs = self.user_transfers(&legs_filter).await?;
            batches.push(UserBatchTransfer {
                record_id,
                app_id: MerchantId::new(row.text("app_id")?),
                order_id: row.text("order_id")?,
                from_user: row.text("from_user")?,
                coin_id: CoinId::new(row.text("coin_id")?),
                remark: row.text("remark")?,
                created_at: row.int("created_at")?,
                legs,
            });
        }
        Ok(batches)
    }
}

/// `AND order_id IN ($first, …)` for `count` order ids (none: no clause).
/// The API caps them at 100, so the statement stays small.
fn order_ids_clause(count: usize, first: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let placeholders: Vec<String> = (first..first + count).map(|n| format!("${n}")).collect();
    format!("AND order_id IN ({})", placeholders.join(", "))
}

/// Inserts one leg inside the caller's DB transaction; a single transfer
/// (no `seq`) whose order id is taken inserts nothing. Returns the rows
/// written.
async fn insert_leg<DB>(
    conn: &mut DB::Connection,
    leg: &UserTransfer,
    seq: Option<i64>,
    entry_id: i64,
) -> Result<u64, StoreError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
{
    let inserted = sqlx::query(
        "INSERT INTO user_transfers
             (record_id, app_id, order_id, batch_record_id, batch_seq, from_user, to_user,
              coin_id, amount, remark, journal_entry_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (app_id, order_id) WHERE batch_record_id IS NULL DO NOTHING",
    )
    .bind(&leg.record_id)
    .bind(leg.app_id.as_str())
    .bind(&leg.order_id)
    .bind(leg.batch_record_id.clone())
    .bind(seq)
    .bind(&leg.from_user)
    .bind(&leg.to_user)
    .bind(leg.coin_id.as_str())
    .bind(leg.amount.base_units().to_string())
    .bind(&leg.remark)
    .bind(entry_id)
    .bind(leg.created_at)
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected())
}

fn transfer_from_row(row: &impl Columns) -> Result<UserTransfer, StoreError> {
    Ok(UserTransfer {
        record_id: row.text("record_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        order_id: row.text("order_id")?,
        batch_record_id: row.opt_text("batch_record_id")?,
        from_user: row.text("from_user")?,
        to_user: row.text("to_user")?,
        coin_id: CoinId::new(row.text("coin_id")?),
        amount: parse_amount(&row.text("amount")?)?,
        remark: row.text("remark")?,
        created_at: row.int("created_at")?,
    })
}
