//! A merchant's credited deposits as records (v2's `getAppDepositRecord`
//! and `getAppDepositRecordList`): read-only, newest first, a page at a time
//! from a cursor; and an order's payments still confirming, each. Written
//! once for both backends.

use async_trait::async_trait;
use ccgate_ledger::{Amount, CoinId, MerchantId, TokenId};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::SqlStore;
use crate::rows::{Columns, parse_amount, to_u32, to_u64};

/// One credited deposit, with the merchant's id of its order if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecord {
    pub record_id: String,
    pub chain: String,
    pub txid: String,
    /// Position of the transfer within its chain transaction.
    pub log_index: u32,
    pub to_address: String,
    pub from_address: String,
    pub memo: String,
    /// The merchant's user, for a permanent address.
    pub user_id: Option<String>,
    /// The merchant's id of the order, for an order's address.
    pub merchant_order_id: Option<String>,
    pub token_id: TokenId,
    pub coin_id: CoinId,
    /// In the coin's base units.
    pub amount: Amount,
    pub service_fee: Amount,
    /// Unix seconds.
    pub credited_at: i64,
    /// The block its transaction is in.
    pub block_height: u64,
}

/// Which of a merchant's deposits to read: every `None` matches all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecordFilter {
    pub app_id: MerchantId,
    /// The deposits of the merchant's wallet users (decisions §24) rather
    /// than the merchant's own: the two never mix in one answer.
    pub wallet_users: bool,
    pub record_id: Option<String>,
    pub coin_id: Option<CoinId>,
    pub user_id: Option<String>,
    pub merchant_order_id: Option<String>,
    pub chain: Option<String>,
    pub to_address: Option<String>,
    /// Credited at or after (Unix seconds).
    pub since: Option<i64>,
    /// Credited before (Unix seconds).
    pub until: Option<i64>,
    /// Only records older than this one: the page after it.
    pub before_record_id: Option<String>,
    pub limit: u32,
}

impl DepositRecordFilter {
    /// The merchant's newest deposit, whatever it is: the filter a caller
    /// narrows (`record_id`, `coin_id`, …) and widens (`limit`).
    pub fn of_merchant(app_id: &MerchantId) -> DepositRecordFilter {
        DepositRecordFilter {
            app_id: app_id.clone(),
            wallet_users: false,
            record_id: None,
            coin_id: None,
            user_id: None,
            merchant_order_id: None,
            chain: None,
            to_address: None,
            since: None,
            until: None,
            before_record_id: None,
            limit: 1,
        }
    }
}

/// A payment to an order seen in a block, not confirmed (nor credited) yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmingOrderPayment {
    /// The record id it will be credited under.
    pub record_id: String,
    pub txid: String,
    pub from_address: String,
    pub token_id: TokenId,
    /// In the coin's base units.
    pub amount: Amount,
    pub seen_at_ms: i64,
}

/// What a merchant received in one coin on one UTC day: its own deposits'
/// paid amounts (not its wallet users'), summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyReceipts {
    /// Days since 1970-01-01 (UTC) of the credit.
    pub day: i64,
    pub coin_id: CoinId,
    /// In the coin's base units.
    pub amount: Amount,
    pub deposits: u64,
}

/// The decimal digits an amount is cut into to be summed in SQL: a `u128`
/// has at most 39, three parts of 13, each of which a `BIGINT` sums exactly
/// for up to 900 000 rows a group.
const PART_DIGITS: u32 = 13;

#[async_trait]
pub trait DepositRecords: Send + Sync + std::fmt::Debug + 'static {
    /// The filter's deposits, newest first (record ids are time-ordered).
    async fn deposit_records(
        &self,
        filter: &DepositRecordFilter,
    ) -> Result<Vec<DepositRecord>, StoreError>;

    /// The order's payments seen and still confirming, oldest first; those
    /// seen before payments were kept with them are left out.
    async fn confirming_order_payments(
        &self,
        order_id: &str,
    ) -> Result<Vec<ConfirmingOrderPayment>, StoreError>;

    /// The merchant's receipts credited in `[since, until)` (Unix seconds)
    /// per UTC day and coin, by day then coin: summed in SQL over the
    /// range's deposits only (index `deposits_by_merchant_credited`).
    async fn received_by_day(
        &self,
        app_id: &MerchantId,
        since: i64,
        until: i64,
    ) -> Result<Vec<DailyReceipts>, StoreError>;
}

#[async_trait]
impl<S> DepositRecords for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db> + Type<S::Db>,
{
    async fn deposit_records(
        &self,
        filter: &DepositRecordFilter,
    ) -> Result<Vec<DepositRecord>, StoreError> {
        // A NULL parameter switches its filter off; each is bound once and
        // named twice ($n), which both backends allow.
        let rows = sqlx::query(
            "SELECT d.record_id, d.chain, d.txid, d.log_index, d.address, d.from_address, d.memo,
                    d.user_id, o.merchant_order_id, d.token_id, d.coin_id, d.paid_amount,
                    d.service_fee, d.credited_at, d.block_height
             FROM deposits d LEFT JOIN orders o ON o.order_id = d.order_id
             LEFT JOIN deposit_addresses a ON a.chain = d.chain AND a.address = d.address
             WHERE d.app_id = $1 AND COALESCE(a.wallet_user, 0) = $12
               AND ($2 IS NULL OR d.record_id = $2)
               AND ($3 IS NULL OR d.coin_id = $3)
               AND ($4 IS NULL OR d.user_id = $4)
               AND ($5 IS NULL OR o.merchant_order_id = $5)
               AND ($6 IS NULL OR d.chain = $6)
               AND ($7 IS NULL OR d.address = $7)
               AND ($8 IS NULL OR d.credited_at >= $8)
               AND ($9 IS NULL OR d.credited_at < $9)
               AND ($10 IS NULL OR d.record_id < $10)
             ORDER BY d.record_id DESC LIMIT $11",
        )
        .bind(filter.app_id.as_str().to_owned())
        .bind(filter.record_id.clone())
        .bind(filter.coin_id.as_ref().map(|id| id.as_str().to_owned()))
        .bind(filter.user_id.clone())
        .bind(filter.merchant_order_id.clone())
        .bind(filter.chain.clone())
        .bind(filter.to_address.clone())
        .bind(filter.since)
        .bind(filter.until)
        .bind(filter.before_record_id.clone())
        .bind(i64::from(filter.limit))
        .bind(i64::from(filter.wallet_users))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DepositRecord {
                    record_id: row.text("record_id")?,
                    chain: row.text("chain")?,
                    txid: row.text("txid")?,
                    log_index: to_u32(row.int("log_index")?, "log index")?,
                    to_address: row.text("address")?,
                    from_address: row.text("from_address")?,
                    memo: row.text("memo")?,
                    user_id: row.opt_text("user_id")?,
                    merchant_order_id: row.opt_text("merchant_order_id")?,
                    token_id: TokenId::new(row.text("token_id")?),
                    coin_id: CoinId::new(row.text("coin_id")?),
                    amount: parse_amount(&row.text("paid_amount")?)?,
                    service_fee: parse_amount(&row.text("service_fee")?)?,
                    credited_at: row.int("credited_at")?,
                    block_height: to_u64(row.int("block_height")?, "block height")?,
                })
            })
            .collect()
    }

    async fn confirming_order_payments(
        &self,
        order_id: &str,
    ) -> Result<Vec<ConfirmingOrderPayment>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.record_id, s.txid, s.from_address, s.token_id, s.amount, s.seen_at_ms
             FROM seen_transfers s
             WHERE s.order_id = $1 AND s.amount IS NOT NULL AND s.token_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM deposits d
                               WHERE d.chain = s.chain AND d.txid = s.txid
                                 AND d.log_index = s.log_index)
             ORDER BY s.seen_at_ms, s.record_id",
        )
        .bind(order_id.to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ConfirmingOrderPayment {
                    record_id: row.text("record_id")?,
                    txid: row.text("txid")?,
                    from_address: row.opt_text("from_address")?.unwrap_or_default(),
                    token_id: TokenId::new(row.text("token_id")?),
                    amount: parse_amount(&row.text("amount")?)?,
                    seen_at_ms: row.int("seen_at_ms")?,
                })
            })
            .collect()
    }

    async fn received_by_day(
        &self,
        app_id: &MerchantId,
        since: i64,
        until: i64,
    ) -> Result<Vec<DailyReceipts>, StoreError> {
        // Amounts are decimal text of up to 39 digits: padded to 39 and cut
        // in three, each part sums exactly as an integer on both backends,
        // and Rust puts them together. (`substr` from the length of the
        // text + 1 keeps the last 39 characters, spelled alike in both.)
        let rows = sqlx::query(
            "SELECT day, coin_id, COUNT(*) AS deposits,
                    CAST(SUM(CAST(substr(padded, 1, 13) AS BIGINT)) AS BIGINT) AS high,
                    CAST(SUM(CAST(substr(padded, 14, 13) AS BIGINT)) AS BIGINT) AS middle,
                    CAST(SUM(CAST(substr(padded, 27, 13) AS BIGINT)) AS BIGINT) AS low
             FROM (SELECT d.credited_at / 86400 AS day, d.coin_id,
                          substr('000000000000000000000000000000000000000' || d.paid_amount,
                                 length(d.paid_amount) + 1) AS padded
                   FROM deposits d
                   LEFT JOIN deposit_addresses a ON a.chain = d.chain AND a.address = d.address
                   WHERE d.app_id = $1 AND d.credited_at >= $2 AND d.credited_at < $3
                     AND COALESCE(a.wallet_user, 0) = 0) AS received
             GROUP BY day, coin_id ORDER BY day, coin_id",
        )
        .bind(app_id.as_str().to_owned())
        .bind(since)
        .bind(until)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let part = |name: &str| -> Result<u128, StoreError> {
                    u128::try_from(row.int(name)?)
                        .map_err(|_| StoreError::Corrupt(format!("a negative sum of {name} parts")))
                };
                let base = 10u128.pow(PART_DIGITS);
                let (high, middle, low) = (part("high")?, part("middle")?, part("low")?);
                let amount = high
                    .checked_mul(base * base)
                    .and_then(|sum| sum.checked_add(middle.checked_mul(base)?))
                    .and_then(|sum| sum.checked_add(low))
                    .ok_or_else(|| StoreError::Corrupt("a day's receipts overflow".into()))?;
                Ok(DailyReceipts {
                    day: row.int("day")?,
                    coin_id: CoinId::new(row.text("coin_id")?),
                    amount: Amount::from_base_units(amount),
                    deposits: to_u64(row.int("deposits")?, "deposit count")?,
                })
            })
            .collect()
    }
}
