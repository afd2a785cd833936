//! Swaps against the operator's treasury and the quotes they honour
//! (docs/decisions.md §25).

use async_trait::async_trait;
use ccgate_ledger::{Amount, CoinId, JournalEntry, MerchantId};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::rows::{Columns, parse_amount, to_u32};
use crate::writes::EntryMeta;

/// The figures of a swap or a quote, in base units, and the USD prices they
/// were worked out at (decimal text, as the price source gave them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapPricing {
    pub coin_in: CoinId,
    pub coin_out: CoinId,
    pub amount_in: Amount,
    /// What the treasury pays out (fee included).
    pub amount_out: Amount,
    pub fee: Amount,
    pub price_in: String,
    pub price_out: String,
    /// The fee rate in force, parts per million.
    pub fee_ppm: u32,
    /// The merchant's markup on a user's swap, paid to the merchant in the
    /// output coin; zero on the merchant's own swaps and on kept quotes.
    pub extra_fee: Amount,
    /// The markup's rate, parts per million.
    pub extra_fee_ppm: u32,
}

impl SwapPricing {
    /// What the payer receives: `amount_out − fee − extra_fee`.
    pub fn net_out(&self) -> Result<Amount, StoreError> {
        self.amount_out
            .checked_sub(self.fee)
            .and_then(|rest| rest.checked_sub(self.extra_fee))
            .ok_or_else(|| StoreError::Corrupt("a swap's fees exceed its output".into()))
    }
}

/// A swap done: always successful, since a refused one writes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    pub record_id: String,
    pub app_id: MerchantId,
    /// The merchant's user who swapped; `None` for the merchant's own.
    pub user_id: Option<String>,
    pub merchant_order_id: String,
    pub terms: SwapPricing,
    /// The `amountOutMinimum` the caller sent.
    pub amount_out_minimum: Option<Amount>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A quote of `estimate`, honoured until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapQuote {
    pub app_id: MerchantId,
    pub terms: SwapPricing,
    pub expires_at_ms: i64,
}

/// Which of one merchant's swaps a record list takes: every filter left
/// empty matches all. Newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwapQuery {
    /// Any of these record ids; empty: any.
    pub record_ids: Vec<String>,
    /// Any of these merchant order ids; empty: any.
    pub merchant_order_ids: Vec<String>,
    pub coin_in: Option<CoinId>,
    pub coin_out: Option<CoinId>,
    /// Created at or after (unix seconds).
    pub created_from: Option<i64>,
    /// Created at or before (unix seconds).
    pub created_to: Option<i64>,
    /// The page starts after this swap (its `created_at` and `record_id`).
    pub after: Option<(i64, String)>,
    pub limit: u32,
    /// Whose swaps: the merchant's own, or its users'.
    pub owner: SwapOwner,
}

/// Whose swaps a record list reads (docs/decisions.md §25.1: the merchant's
/// and its users' are kept apart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SwapOwner {
    /// The merchant's own swaps (`getSwapRecordList`).
    #[default]
    Merchant,
    /// Its users' swaps, of one user when given (`getUserSwapRecordList`).
    Users(Option<String>),
}

/// What the operator set for one merchant's swaps (docs/decisions.md §29).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwapPolicy {
    /// Its swaps (and its users') are refused.
    pub disabled: bool,
    /// Its own daily limit in USD (decimal text); `None`: the operator's
    /// default.
    pub daily_limit_usd: Option<String>,
}

/// A swap's share of its merchant's daily limit, counted with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyUsage {
    /// Days since the epoch (UTC).
    pub day: i64,
    /// The swap's USD value, in micro-USD.
    pub usd_micros: Amount,
    /// The most the day may count, in micro-USD.
    pub limit_micros: Amount,
}

#[async_trait]
pub trait SwapStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores the swap, counts it in its merchant's day when `usage` is
    /// given, and posts `entry` (payer → treasury in one coin, treasury →
    /// payer and fees in the other) in one DB transaction. If the merchant
    /// already has a swap with that merchant order id, nothing is written
    /// and that one is returned; if an account would be overdrawn, or the
    /// day's count would pass its limit, nothing is written and the error
    /// says which.
    async fn accept_swap(
        &self,
        swap: &Swap,
        entry: &JournalEntry,
        meta: &EntryMeta,
        usage: Option<&DailyUsage>,
    ) -> Result<Swap, StoreError>;

    /// What the operator set for the merchant's swaps; the default (on, the
    /// operator's limit) when nothing.
    async fn swap_policy(&self, app_id: &MerchantId) -> Result<SwapPolicy, StoreError>;

    /// Sets the merchant's swap policy.
    async fn set_swap_policy(
        &self,
        app_id: &MerchantId,
        policy: &SwapPolicy,
    ) -> Result<(), StoreError>;

    /// The micro-USD counted for the merchant's swaps on `day`.
    async fn swap_usage(&self, app_id: &MerchantId, day: i64) -> Result<Amount, StoreError>;

    async fn swap_by_record_id(
        &self,
        app_id: &MerchantId,
        record_id: &str,
    ) -> Result<Option<Swap>, StoreError>;

    async fn swap_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Swap>, StoreError>;

    /// A page of one merchant's swaps, newest first (`created_at`, then
    /// `record_id`, descending).
    async fn merchant_swaps(
        &self,
        app_id: &MerchantId,
        query: &SwapQuery,
    ) -> Result<Vec<Swap>, StoreError>;

    /// Keeps a quote in place of any for the same merchant, coins and
    /// amount, and forgets the quotes expired by `now_ms`.
    async fn save_swap_quote(&self, quote: &SwapQuote, now_ms: i64) -> Result<(), StoreError>;

    /// The quote for this merchant, coins and amount, if one has not
    /// expired by `now_ms`.
    async fn live_swap_quote(
        &self,
        app_id: &MerchantId,
        coin_in: &CoinId,
        coin_out: &CoinId,
        amount_in: Amount,
        now_ms: i64,
    ) -> Result<Option<SwapQuote>, StoreError>;
}

const SWAP_COLUMNS: &str = "record_id, app_id, user_id, merchant_order_id, coin_in, coin_out, \
     amount_in, amount_out, fee, net_out, amount_out_minimum, price_in, price_out, fee_ppm, \
     created_at, extra_fee, extra_fee_ppm";

const QUOTE_COLUMNS: &str = "app_id, coin_in, coin_out, amount_in, amount_out, fee, price_in, price_out, fee_ppm, \
     expires_at_ms";

fn units(amount: Amount) -> String {
    amount.base_units().to_string()
}

/// Micro-USD as the integer column holds them.
fn micros(amount: Amount) -> Result<i64, StoreError> {
    i64::try_from(amount.base_units())
        .map_err(|_| StoreError::Ledger(ccgate_ledger::LedgerError::AmountOverflow))
}

fn terms_from_row(row: &impl Columns) -> Result<SwapPricing, StoreError> {
    Ok(SwapPricing {
        coin_in: CoinId::new(row.text("coin_in")?),
        coin_out: CoinId::new(row.text("coin_out")?),
        amount_in: parse_amount(&row.text("amount_in")?)?,
        amount_out: parse_amount(&row.text("amount_out")?)?,
        fee: parse_amount(&row.text("fee")?)?,
        price_in: row.text("price_in")?,
        price_out: row.text("price_out")?,
        fee_ppm: to_u32(row.int("fee_ppm")?, "swap fee rate")?,
        extra_fee: Amount::ZERO,
        extra_fee_ppm: 0,
    })
}

fn swap_from_row(row: &impl Columns) -> Result<Swap, StoreError> {
    let user_id = row.text("user_id")?;
    let minimum = row.text("amount_out_minimum")?;
    Ok(Swap {
        record_id: row.text("record_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        user_id: (!user_id.is_empty()).then_some(user_id),
        merchant_order_id: row.text("merchant_order_id")?,
        terms: SwapPricing {
            extra_fee: parse_amount(&row.text("extra_fee")?)?,
            extra_fee_ppm: to_u32(row.int("extra_fee_ppm")?, "swap extra fee rate")?,
            ..terms_from_row(row)?
        },
        amount_out_minimum: (!minimum.is_empty())
            .then(|| parse_amount(&minimum))
            .transpose()?,
        created_at: row.int("created_at")?,
    })
}

fn quote_from_row(row: &impl Columns) -> Result<SwapQuote, StoreError> {
    Ok(SwapQuote {
        app_id: MerchantId::new(row.text("app_id")?),
        terms: terms_from_row(row)?,
        expires_at_ms: row.int("expires_at_ms")?,
    })
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> SwapStore for S
where
    S: SqlStore,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    for<'q> <S::Db as Database>::Arguments<'q>: IntoArguments<'q, S::Db>,
    for<'q> &'q str: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> String: Encode<'q, S::Db> + Type<S::Db>,
    for<'q> i64: Encode<'q, S::Db> + Type<S::Db>,
    // sqlx encodes `Option` per backend, not for every `T: Encode`.
    for<'q> Option<String>: Encode<'q, S::Db>,
    for<'q> Option<i64>: Encode<'q, S::Db>,
{
    async fn accept_swap(
        &self,
        swap: &Swap,
        entry: &JournalEntry,
        meta: &EntryMeta,
        usage: Option<&DailyUsage>,
    ) -> Result<Swap, StoreError> {
        let terms = &swap.terms;
        let mut db_tx = self.begin_write().await?;
        // A concurrent swap with the same merchant order id waits on this
        // insert, then writes nothing and returns this swap.
        let inserted = sqlx::query(&format!(
            "INSERT INTO swaps ({SWAP_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (app_id, merchant_order_id) DO NOTHING"
        ))
        .bind(&swap.record_id)
        .bind(swap.app_id.as_str())
        .bind(swap.user_id.clone().unwrap_or_default())
        .bind(&swap.merchant_order_id)
        .bind(terms.coin_in.as_str())
        .bind(terms.coin_out.as_str())
        .bind(units(terms.amount_in))
        .bind(units(terms.amount_out))
        .bind(units(terms.fee))
        .bind(units(terms.net_out()?))
        .bind(swap.amount_out_minimum.map(units).unwrap_or_default())
        .bind(&terms.price_in)
        .bind(&terms.price_out)
        .bind(i64::from(terms.fee_ppm))
        .bind(swap.created_at)
        .bind(units(terms.extra_fee))
        .bind(i64::from(terms.extra_fee_ppm))
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1 {
            if let Some(usage) = usage {
                // One statement that adds and checks: a concurrent swap of
                // the merchant waits on this row, then sees this one's sum.
                let counted = sqlx::query(
                    "INSERT INTO swap_daily_usage (app_id, day, usd_micros)
                     SELECT $1, $2, $3 WHERE $3 <= $4
                     ON CONFLICT (app_id, day) DO UPDATE
                     SET usd_micros = swap_daily_usage.usd_micros + excluded.usd_micros
                     WHERE swap_daily_usage.usd_micros + excluded.usd_micros <= $4",
                )
                .bind(swap.app_id.as_str())
                .bind(usage.day)
                .bind(micros(usage.usd_micros)?)
                .bind(micros(usage.limit_micros)?)
                .execute(&mut *db_tx)
                .await?;
                if counted.rows_affected() == 0 {
                    return Err(StoreError::SwapDailyLimit);
                }
            }
            // A refused entry (an overdraft of the payer or the treasury)
            // drops the DB transaction: the swap row goes with it.
            S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
            db_tx.commit().await?;
            return Ok(swap.clone());
        }
        drop(db_tx);
        self.swap_by_merchant_order_id(&swap.app_id, &swap.merchant_order_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a stored swap vanished".into()))
    }

    async fn swap_policy(&self, app_id: &MerchantId) -> Result<SwapPolicy, StoreError> {
        let row = sqlx::query(
            "SELECT disabled, daily_limit_usd FROM merchant_swap_policies WHERE app_id = $1",
        )
        .bind(app_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map_or(Ok(SwapPolicy::default()), |row| {
            Ok(SwapPolicy {
                disabled: row.int("disabled")? == 1,
                daily_limit_usd: row.opt_text("daily_limit_usd")?,
            })
        })
    }

    async fn set_swap_policy(
        &self,
        app_id: &MerchantId,
        policy: &SwapPolicy,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO merchant_swap_policies (app_id, disabled, daily_limit_usd)
             VALUES ($1, $2, $3)
             ON CONFLICT (app_id) DO UPDATE
             SET disabled = excluded.disabled, daily_limit_usd = excluded.daily_limit_usd",
        )
        .bind(app_id.as_str())
        .bind(i64::from(policy.disabled))
        .bind(policy.daily_limit_usd.clone())
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn swap_usage(&self, app_id: &MerchantId, day: i64) -> Result<Amount, StoreError> {
        let row =
            sqlx::query("SELECT usd_micros FROM swap_daily_usage WHERE app_id = $1 AND day = $2")
                .bind(app_id.as_str())
                .bind(day)
                .fetch_optional(self.pool())
                .await?;
        row.map_or(Ok(Amount::ZERO), |row| {
            let micros = u128::try_from(row.int("usd_micros")?)
                .map_err(|_| StoreError::Corrupt("a negative swap usage".into()))?;
            Ok(Amount::from_base_units(micros))
        })
    }

    async fn swap_by_record_id(
        &self,
        app_id: &MerchantId,
        record_id: &str,
    ) -> Result<Option<Swap>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SWAP_COLUMNS} FROM swaps WHERE app_id = $1 AND record_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(record_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(swap_from_row).transpose()
    }

    async fn swap_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Swap>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SWAP_COLUMNS} FROM swaps WHERE app_id = $1 AND merchant_order_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(swap_from_row).transpose()
    }

    async fn merchant_swaps(
        &self,
        app_id: &MerchantId,
        query: &SwapQuery,
    ) -> Result<Vec<Swap>, StoreError> {
        // The id lists, if any, as one placeholder each after the fixed ones.
        const FIXED_PARAMS: usize = 10;
        let mut next = FIXED_PARAMS;
        let mut in_list = |column: &str, len: usize| -> String {
            if len == 0 {
                return String::new();
            }
            let placeholders: Vec<String> = (0..len)
                .map(|_| {
                    next += 1;
                    format!("${next}")
                })
                .collect();
            format!("AND {column} IN ({})", placeholders.join(", "))
        };
        let record_ids = in_list("record_id", query.record_ids.len());
        let order_ids = in_list("merchant_order_id", query.merchant_order_ids.len());
        // A NULL parameter switches its filter off (as in `Listings`).
        let sql = format!(
            "SELECT {SWAP_COLUMNS} FROM swaps
             WHERE app_id = $1
               AND ($2 IS NULL OR coin_in = $2)
               AND ($3 IS NULL OR coin_out = $3)
               AND ($4 IS NULL OR created_at >= $4)
               AND ($5 IS NULL OR created_at <= $5)
               AND ($6 IS NULL OR created_at < $6 OR (created_at = $6 AND record_id < $7))
               AND (($9 = 0 AND user_id = '') OR ($9 = 1 AND user_id <> ''))
               AND ($10 IS NULL OR user_id = $10)
               {record_ids} {order_ids}
             ORDER BY created_at DESC, record_id DESC LIMIT $8"
        );
        let (after_created, after_record) = match &query.after {
            Some((created_at, record_id)) => (Some(*created_at), Some(record_id.clone())),
            None => (None, None),
        };
        let (users, user_id) = match &query.owner {
            SwapOwner::Merchant => (false, None),
            SwapOwner::Users(user_id) => (true, user_id.clone()),
        };
        let mut statement = sqlx::query(&sql)
            .bind(app_id.as_str())
            .bind(query.coin_in.as_ref().map(|id| id.as_str().to_owned()))
            .bind(query.coin_out.as_ref().map(|id| id.as_str().to_owned()))
            .bind(query.created_from)
            .bind(query.created_to)
            .bind(after_created)
            .bind(after_record)
            .bind(i64::from(query.limit))
            .bind(i64::from(users))
            .bind(user_id);
        for id in query.record_ids.iter().chain(&query.merchant_order_ids) {
            statement = statement.bind(id);
        }
        let rows = statement.fetch_all(self.pool()).await?;
        rows.iter().map(swap_from_row).collect()
    }

    async fn save_swap_quote(&self, quote: &SwapQuote, now_ms: i64) -> Result<(), StoreError> {
        let terms = &quote.terms;
        let mut db_tx = self.begin_write().await?;
        sqlx::query("DELETE FROM swap_quotes WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&mut *db_tx)
            .await?;
        sqlx::query(&format!(
            "INSERT INTO swap_quotes ({QUOTE_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (app_id, coin_in, coin_out, amount_in) DO UPDATE SET
               amount_out = excluded.amount_out, fee = excluded.fee,
               price_in = excluded.price_in, price_out = excluded.price_out,
               fee_ppm = excluded.fee_ppm, expires_at_ms = excluded.expires_at_ms"
        ))
        .bind(quote.app_id.as_str())
        .bind(terms.coin_in.as_str())
        .bind(terms.coin_out.as_str())
        .bind(units(terms.amount_in))
        .bind(units(terms.amount_out))
        .bind(units(terms.fee))
        .bind(&terms.price_in)
        .bind(&terms.price_out)
        .bind(i64::from(terms.fee_ppm))
        .bind(quote.expires_at_ms)
        .execute(&mut *db_tx)
        .await?;
        db_tx.commit().await?;
        Ok(())
    }

    async fn live_swap_quote(
        &self,
        app_id: &MerchantId,
        coin_in: &CoinId,
        coin_out: &CoinId,
        amount_in: Amount,
        now_ms: i64,
    ) -> Result<Option<SwapQuote>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {QUOTE_COLUMNS} FROM swap_quotes
             WHERE app_id = $1 AND coin_in = $2 AND coin_out = $3 AND amount_in = $4
               AND expires_at_ms > $5"
        ))
        .bind(app_id.as_str())
        .bind(coin_in.as_str())
        .bind(coin_out.as_str())
        .bind(units(amount_in))
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(quote_from_row).transpose()
    }
}
