//! What withdrawals keep (decisions §6).

use async_trait::async_trait;
use ccgate_ledger::{Amount, CoinId, JournalEntry, MerchantId, TokenId};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use crate::StoreError;
use crate::backend::{Backend, RowsAffected, SqlStore};
use crate::console::{AuditEntry, insert_audit};
use crate::ledger::CwalletAccount;
use crate::outbox::insert_webhook;
use crate::rows::{Columns, dialect_from, parse_amount, to_i64, to_u64};
use crate::writes::{EntryMeta, NewWebhook, WebhookDialect};

/// Where a withdrawal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalStatus {
    /// Reserved, not sent yet.
    Pending,
    /// Sent, waiting for its confirmations.
    Processing,
    Successful,
    Failed,
}

impl WithdrawalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalStatus::Pending => "pending",
            WithdrawalStatus::Processing => "processing",
            WithdrawalStatus::Successful => "successful",
            WithdrawalStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Result<WithdrawalStatus, StoreError> {
        match text {
            "pending" => Ok(WithdrawalStatus::Pending),
            "processing" => Ok(WithdrawalStatus::Processing),
            "successful" => Ok(WithdrawalStatus::Successful),
            "failed" => Ok(WithdrawalStatus::Failed),
            other => Err(StoreError::Corrupt(format!("withdrawal status {other:?}"))),
        }
    }
}

/// Whether a chain withdrawal waits for the operator (docs/decisions.md §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// The merchant's withdrawals need none.
    NotNeeded,
    /// Reserved; not sent until approved.
    Waiting,
    /// Approved: sent and resolved like any other.
    Approved,
    /// Rejected: voided, its status `Failed`.
    Rejected,
}

impl Approval {
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::NotNeeded => "none",
            Approval::Waiting => "waiting",
            Approval::Approved => "approved",
            Approval::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Result<Approval, StoreError> {
        match text {
            "none" => Ok(Approval::NotNeeded),
            "waiting" => Ok(Approval::Waiting),
            "approved" => Ok(Approval::Approved),
            "rejected" => Ok(Approval::Rejected),
            other => Err(StoreError::Corrupt(format!(
                "withdrawal approval {other:?}"
            ))),
        }
    }
}

/// What may hold a merchant's `merchant_order_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderIdHolder {
    /// An order of `bill/create`.
    NativeOrder,
    /// A checkout of `concise/url/get` (and, once chosen, its order).
    HostedCheckout,
    Withdrawal,
}

/// What a withdrawal request reads before it writes, read together
/// ([`WithdrawalStore::withdrawal_preflight`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WithdrawalPreflight {
    /// What holds the request's `merchant_order_id`.
    pub holders: Vec<OrderIdHolder>,
    /// The Cwallet account the destination names, if it names one.
    pub cwallet: Option<CwalletAccount>,
    /// Whether the merchant's chain withdrawals wait for approval.
    pub approval_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub order_id: String,
    pub record_id: String,
    pub app_id: MerchantId,
    pub merchant_order_id: String,
    pub fingerprint: String,
    pub token_id: TokenId,
    pub coin_id: CoinId,
    pub chain: String,
    pub to_address: String,
    pub memo: String,
    pub value: Amount,
    pub network_fee: Amount,
    pub net_receivable: Amount,
    pub debit: Amount,
    pub merchant_pays_fee: bool,
    pub to_cwallet: bool,
    pub status: WithdrawalStatus,
    pub txid: String,
    pub block_height: Option<u64>,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    /// For a refund, the deposit order it gives money back for.
    pub refund_of: Option<String>,
    /// The API dialect it was asked in: its webhooks are written in it.
    pub dialect: WebhookDialect,
    /// Where its webhooks go (v2 `notifyUrl`); `None`: the merchant's URL.
    pub notify_url: Option<String>,
    pub approval: Approval,
    /// The merchant's wallet user whose money it is (decisions §28);
    /// `None`: the merchant's own.
    pub user_id: Option<String>,
}

/// A network fee quoted by v2 `getWithdrawFee` under its
/// `networkFeeInquiryID`: what a withdrawal of this merchant on this token
/// that passes the id is charged, until the quote expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeQuote {
    pub inquiry_id: String,
    pub app_id: MerchantId,
    pub token_id: TokenId,
    pub fee: Amount,
    pub expires_at_ms: i64,
}

/// Where a listed withdrawal went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationFilter {
    /// To a chain address on this chain.
    Chain(String),
    /// To a Cwallet id.
    Cwallet,
}

/// Which of one merchant's withdrawals (not refunds) a v2 record list
/// takes: every filter left empty matches all. Newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WithdrawalQuery {
    /// `None`: the merchant's own withdrawals; `Some`: this wallet user's.
    pub user_id: Option<String>,
    pub coin_id: Option<CoinId>,
    pub destination: Option<DestinationFilter>,
    /// Any of these merchant order ids; empty: any.
    pub merchant_order_ids: Vec<String>,
    pub to_address: Option<String>,
    /// Created at or after (unix seconds).
    pub created_from: Option<i64>,
    /// Created at or before (unix seconds).
    pub created_to: Option<i64>,
    /// The page starts after this withdrawal (its `created_at` and
    /// `record_id`), the last of the page before.
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

impl Withdrawal {
    pub fn is_refund(&self) -> bool {
        self.refund_of.is_some()
    }
}

#[async_trait]
pub trait WithdrawalStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores the withdrawal and posts `entry` (its reservation, or for a
    /// Cwallet its whole transfer) with `webhook` if any, in one DB
    /// transaction. If the merchant already has a withdrawal with that
    /// merchant_order_id, nothing is written and that one is returned; if the
    /// balance does not cover it, nothing is written and the ledger's error
    /// comes back. `audit`, the dashboard's row of a withdrawal or refund it
    /// asked for, is appended in the same transaction when this one is
    /// stored (decisions §40); the API and the CLI pass `None`.
    async fn accept_withdrawal(
        &self,
        withdrawal: &Withdrawal,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: Option<&NewWebhook>,
        audit: Option<&AuditEntry>,
    ) -> Result<Withdrawal, StoreError>;

    async fn withdrawal_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError>;

    /// The merchant's withdrawal (or refund) with this record id.
    async fn withdrawal_by_record_id(
        &self,
        app_id: &MerchantId,
        record_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError>;

    /// A page of one merchant's own withdrawals, or of one of its wallet
    /// users' (`query.user_id`), newest first (`created_at`, then
    /// `record_id`, descending).
    async fn merchant_withdrawals(
        &self,
        app_id: &MerchantId,
        query: &WithdrawalQuery,
    ) -> Result<Vec<Withdrawal>, StoreError>;

    /// The withdrawal (or refund) with this order id.
    async fn withdrawal_by_order_id(
        &self,
        order_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError>;

    /// Whether the merchant's chain withdrawals wait for approval.
    async fn withdrawal_approval_required(&self, app_id: &MerchantId) -> Result<bool, StoreError>;

    async fn set_withdrawal_approval_required(
        &self,
        app_id: &MerchantId,
        required: bool,
    ) -> Result<(), StoreError>;

    /// Lets a waiting withdrawal be sent. `false` (nothing written) if it
    /// was not waiting.
    async fn approve_withdrawal(&self, order_id: &str) -> Result<bool, StoreError>;

    /// Rejects a waiting withdrawal: `failed`, its reservation voided by
    /// `entry`, its webhook queued, in one DB transaction. `false` (nothing
    /// written) if it was not waiting.
    async fn reject_withdrawal(
        &self,
        order_id: &str,
        resolved_at: i64,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: &NewWebhook,
    ) -> Result<bool, StoreError>;

    /// Keeps a fee quote, and forgets the quotes expired by `now_ms`.
    async fn save_fee_quote(&self, quote: &FeeQuote, now_ms: i64) -> Result<(), StoreError>;

    /// A quote by its inquiry id, expired or not.
    async fn fee_quote(&self, inquiry_id: &str) -> Result<Option<FeeQuote>, StoreError>;

    /// What holds a merchant's `merchant_order_id` — a native order, a
    /// hosted checkout, a withdrawal — in one query: withdrawals share one
    /// namespace of them with orders (docs/decisions.md §9).
    async fn merchant_order_id_holders(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Vec<OrderIdHolder>, StoreError>;

    /// [`Self::merchant_order_id_holders`], the Cwallet account with the id
    /// `cwallet` (if asked) and [`Self::withdrawal_approval_required`], in
    /// one statement: `withdraw` reads all three before its one DB
    /// transaction (decisions §37).
    async fn withdrawal_preflight(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
        cwallet: Option<&str>,
    ) -> Result<WithdrawalPreflight, StoreError>;

    /// The refunds of a deposit order, oldest first.
    async fn refunds_of(&self, order_id: &str) -> Result<Vec<Withdrawal>, StoreError>;

    /// Chain withdrawals not resolved yet (pending or processing), oldest first.
    async fn open_withdrawals(&self, limit: u32) -> Result<Vec<Withdrawal>, StoreError>;

    /// Records the send: `processing`, with its transaction and, when the chain
    /// already knows it, the block it landed in (else its receipt tells).
    async fn mark_withdrawal_sent(
        &self,
        order_id: &str,
        txid: &str,
        block_height: Option<u64>,
    ) -> Result<(), StoreError>;

    /// The transaction a `processing` withdrawal now waits for or landed in,
    /// when the chain adapter replaced the one first sent.
    async fn record_withdrawal_txid(&self, order_id: &str, txid: &str) -> Result<(), StoreError>;

    /// Resolves an open withdrawal once: its status, `entry` (the posting or
    /// the void) and its webhook in one DB transaction. `false` (and nothing
    /// written) if it was resolved before.
    async fn resolve_withdrawal(
        &self,
        order_id: &str,
        status: WithdrawalStatus,
        resolved_at: i64,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: &NewWebhook,
    ) -> Result<bool, StoreError>;
}

// One body of SQL for both backends; see `backend.rs`.
#[async_trait]
impl<S> WithdrawalStore for S
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
    // The refund check reads bare values (`query_scalar`).
    for<'r> (String,): sqlx::FromRow<'r, <S::Db as Database>::Row>,
    for<'q> Option<&'q str>: Encode<'q, S::Db>,
{
    async fn accept_withdrawal(
        &self,
        withdrawal: &Withdrawal,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: Option<&NewWebhook>,
        audit: Option<&AuditEntry>,
    ) -> Result<Withdrawal, StoreError> {
        let w = withdrawal;
        let mut db_tx = self.begin_write().await?;
        if let Some(order_id) = &w.refund_of {
            S::Db::lock_refunds_of(&mut db_tx, order_id).await?;
        }
        // A concurrent accept of the same merchant_order_id waits on this
        // insert, then writes nothing and returns this withdrawal.
        let inserted = sqlx::query(&format!(
            "INSERT INTO withdrawals ({WITHDRAWAL_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)
             ON CONFLICT (app_id, merchant_order_id) DO NOTHING"
        ))
        .bind(&w.order_id)
        .bind(&w.record_id)
        .bind(w.app_id.as_str())
        .bind(&w.merchant_order_id)
        .bind(&w.fingerprint)
        .bind(w.token_id.as_str())
        .bind(w.coin_id.as_str())
        .bind(&w.chain)
        .bind(&w.to_address)
        .bind(&w.memo)
        .bind(w.value.base_units().to_string())
        .bind(w.network_fee.base_units().to_string())
        .bind(w.net_receivable.base_units().to_string())
        .bind(w.debit.base_units().to_string())
        .bind(i64::from(w.merchant_pays_fee))
        .bind(i64::from(w.to_cwallet))
        .bind(w.status.as_str())
        .bind(&w.txid)
        .bind(
            w.block_height
                .map(|h| to_i64(h, "block height"))
                .transpose()?,
        )
        .bind(w.created_at)
        .bind(w.resolved_at)
        .bind(withdrawal_kind(w))
        .bind(&w.refund_of)
        .bind(w.dialect.as_str())
        .bind(&w.notify_url)
        .bind(w.approval.as_str())
        .bind(&w.user_id)
        .execute(&mut *db_tx)
        .await?;
        if inserted.rows_affected() == 1 {
            if let Some(order_id) = &w.refund_of {
                // Checked here, not only by the caller: two refunds of one
                // order at once must not both fit in what it received.
                let payments: Vec<String> =
                    sqlx::query_scalar("SELECT paid_amount FROM deposits WHERE order_id = $1")
                        .bind(order_id)
                        .fetch_all(&mut *db_tx)
                        .await?;
                let refunds: Vec<String> = sqlx::query_scalar(
                    "SELECT value FROM withdrawals WHERE refund_of = $1 AND status <> 'failed'",
                )
                .bind(order_id)
                .fetch_all(&mut *db_tx)
                .await?;
                refunds_within_received(order_id, &payments, &refunds)?;
            }
            // A refused entry (insufficient balance) drops the DB transaction:
            // the withdrawal row goes with it.
            S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
            if let Some(webhook) = webhook {
                insert_webhook::<S::Db>(&mut db_tx, webhook).await?;
            }
            if let Some(audit) = audit {
                insert_audit::<S::Db>(&mut db_tx, audit).await?;
            }
            db_tx.commit().await?;
            return Ok(w.clone());
        }
        drop(db_tx);
        self.withdrawal_by_merchant_order_id(&w.app_id, &w.merchant_order_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a stored withdrawal vanished".into()))
    }

    async fn withdrawal_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE app_id = $1 AND merchant_order_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(withdrawal_from_row).transpose()
    }

    async fn withdrawal_by_record_id(
        &self,
        app_id: &MerchantId,
        record_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE app_id = $1 AND record_id = $2"
        ))
        .bind(app_id.as_str())
        .bind(record_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(withdrawal_from_row).transpose()
    }

    async fn merchant_withdrawals(
        &self,
        app_id: &MerchantId,
        query: &WithdrawalQuery,
    ) -> Result<Vec<Withdrawal>, StoreError> {
        let (chain, to_cwallet) = match &query.destination {
            None => (None, None),
            Some(DestinationFilter::Chain(chain)) => (Some(chain.clone()), Some(0i64)),
            Some(DestinationFilter::Cwallet) => (None, Some(1i64)),
        };
        // The order ids, if any, as one placeholder each after the fixed ones.
        const FIXED_PARAMS: usize = 11;
        let order_ids = if query.merchant_order_ids.is_empty() {
            String::new()
        } else {
            let placeholders: Vec<String> = (0..query.merchant_order_ids.len())
                .map(|i| format!("${}", FIXED_PARAMS + 1 + i))
                .collect();
            format!("AND merchant_order_id IN ({})", placeholders.join(", "))
        };
        // A NULL parameter switches its filter off (as in `Listings`).
        let sql = format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals
             WHERE app_id = $1 AND kind = 'withdrawal'
               AND ($2 IS NULL OR coin_id = $2)
               AND ($3 IS NULL OR chain = $3)
               AND ($4 IS NULL OR to_cwallet = $4)
               AND ($5 IS NULL OR to_address = $5)
               AND ($6 IS NULL OR created_at >= $6)
               AND ($7 IS NULL OR created_at <= $7)
               AND ($8 IS NULL OR created_at < $8 OR (created_at = $8 AND record_id < $9))
               AND (($11 IS NULL AND user_id IS NULL) OR user_id = $11)
               {order_ids}
             ORDER BY created_at DESC, record_id DESC LIMIT $10"
        );
        let (after_created, after_record) = match &query.after {
            Some((created_at, record_id)) => (Some(*created_at), Some(record_id.clone())),
            None => (None, None),
        };
        let mut statement = sqlx::query(&sql)
            .bind(app_id.as_str())
            .bind(query.coin_id.as_ref().map(|id| id.as_str().to_owned()))
            .bind(chain)
            .bind(to_cwallet)
            .bind(query.to_address.clone())
            .bind(query.created_from)
            .bind(query.created_to)
            .bind(after_created)
            .bind(after_record)
            .bind(i64::from(query.limit))
            .bind(query.user_id.clone());
        for merchant_order_id in &query.merchant_order_ids {
            statement = statement.bind(merchant_order_id);
        }
        let rows = statement.fetch_all(self.pool()).await?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    async fn withdrawal_by_order_id(
        &self,
        order_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(withdrawal_from_row).transpose()
    }

    async fn withdrawal_approval_required(&self, app_id: &MerchantId) -> Result<bool, StoreError> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT app_id FROM withdrawal_approval_required WHERE app_id = $1")
                .bind(app_id.as_str())
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    async fn set_withdrawal_approval_required(
        &self,
        app_id: &MerchantId,
        required: bool,
    ) -> Result<(), StoreError> {
        let sql = if required {
            "INSERT INTO withdrawal_approval_required (app_id) VALUES ($1) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM withdrawal_approval_required WHERE app_id = $1"
        };
        sqlx::query(sql)
            .bind(app_id.as_str())
            .execute(&mut *self.write_connection().await?)
            .await?;
        Ok(())
    }

    async fn approve_withdrawal(&self, order_id: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE withdrawals SET approval = 'approved'
             WHERE order_id = $1 AND approval = 'waiting' AND status = 'pending'",
        )
        .bind(order_id)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    async fn reject_withdrawal(
        &self,
        order_id: &str,
        resolved_at: i64,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: &NewWebhook,
    ) -> Result<bool, StoreError> {
        let mut db_tx = self.begin_write().await?;
        // As in `resolve_withdrawal`: a concurrent approval or rejection
        // waits for this row, then finds it no longer waiting.
        let updated = sqlx::query(
            "UPDATE withdrawals SET approval = 'rejected', status = 'failed', resolved_at = $1
             WHERE order_id = $2 AND approval = 'waiting' AND status = 'pending'",
        )
        .bind(resolved_at)
        .bind(order_id)
        .execute(&mut *db_tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
        insert_webhook::<S::Db>(&mut db_tx, webhook).await?;
        db_tx.commit().await?;
        Ok(true)
    }

    async fn save_fee_quote(&self, quote: &FeeQuote, now_ms: i64) -> Result<(), StoreError> {
        let mut db_tx = self.begin_write().await?;
        sqlx::query("DELETE FROM withdraw_fee_quotes WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&mut *db_tx)
            .await?;
        sqlx::query(
            "INSERT INTO withdraw_fee_quotes (inquiry_id, app_id, token_id, fee, expires_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&quote.inquiry_id)
        .bind(quote.app_id.as_str())
        .bind(quote.token_id.as_str())
        .bind(quote.fee.base_units().to_string())
        .bind(quote.expires_at_ms)
        .execute(&mut *db_tx)
        .await?;
        db_tx.commit().await?;
        Ok(())
    }

    async fn fee_quote(&self, inquiry_id: &str) -> Result<Option<FeeQuote>, StoreError> {
        let row = sqlx::query(
            "SELECT inquiry_id, app_id, token_id, fee, expires_at_ms
             FROM withdraw_fee_quotes WHERE inquiry_id = $1",
        )
        .bind(inquiry_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(fee_quote_from_row).transpose()
    }

    async fn merchant_order_id_holders(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Vec<OrderIdHolder>, StoreError> {
        let rows = sqlx::query(
            "SELECT 'native' AS holder FROM orders
               WHERE app_id = $1 AND merchant_order_id = $2 AND kind = 'native'
             UNION ALL SELECT 'hosted' FROM checkouts
               WHERE app_id = $1 AND merchant_order_id = $2
             UNION ALL SELECT 'withdrawal' FROM withdrawals
               WHERE app_id = $1 AND merchant_order_id = $2",
        )
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| match row.text("holder")?.as_str() {
                "native" => Ok(OrderIdHolder::NativeOrder),
                "hosted" => Ok(OrderIdHolder::HostedCheckout),
                "withdrawal" => Ok(OrderIdHolder::Withdrawal),
                other => Err(StoreError::Corrupt(format!("order id holder {other:?}"))),
            })
            .collect()
    }

    async fn withdrawal_preflight(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
        cwallet: Option<&str>,
    ) -> Result<WithdrawalPreflight, StoreError> {
        // `detail` is NULL but for the Cwallet account's nickname; a NULL id
        // matches no account.
        let rows = sqlx::query(
            "SELECT 'native' AS holder, NULL AS detail FROM orders
               WHERE app_id = $1 AND merchant_order_id = $2 AND kind = 'native'
             UNION ALL SELECT 'hosted', NULL FROM checkouts
               WHERE app_id = $1 AND merchant_order_id = $2
             UNION ALL SELECT 'withdrawal', NULL FROM withdrawals
               WHERE app_id = $1 AND merchant_order_id = $2
             UNION ALL SELECT 'cwallet', nickname FROM cwallet_accounts WHERE c_id = $3
             UNION ALL SELECT 'approval', NULL FROM withdrawal_approval_required
               WHERE app_id = $1",
        )
        .bind(app_id.as_str())
        .bind(merchant_order_id)
        .bind(cwallet.map(str::to_owned))
        .fetch_all(self.pool())
        .await?;
        let mut preflight = WithdrawalPreflight::default();
        for row in &rows {
            match row.text("holder")?.as_str() {
                "native" => preflight.holders.push(OrderIdHolder::NativeOrder),
                "hosted" => preflight.holders.push(OrderIdHolder::HostedCheckout),
                "withdrawal" => preflight.holders.push(OrderIdHolder::Withdrawal),
                "cwallet" => {
                    let nickname = row.opt_text("detail")?.unwrap_or_default();
                    preflight.cwallet = cwallet.map(|c_id| CwalletAccount {
                        c_id: c_id.to_owned(),
                        nickname,
                    });
                }
                "approval" => preflight.approval_required = true,
                other => return Err(StoreError::Corrupt(format!("preflight row {other:?}"))),
            }
        }
        Ok(preflight)
    }

    async fn refunds_of(&self, order_id: &str) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE refund_of = $1 ORDER BY created_at, order_id"
        ))
        .bind(order_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    async fn open_withdrawals(&self, limit: u32) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals
             WHERE status IN ('pending', 'processing') AND approval <> 'waiting'
             ORDER BY created_at, order_id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(withdrawal_from_row).collect()
    }

    async fn mark_withdrawal_sent(
        &self,
        order_id: &str,
        txid: &str,
        block_height: Option<u64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE withdrawals SET status = 'processing', txid = $1, block_height = $2
             WHERE order_id = $3 AND status = 'pending' AND approval <> 'waiting'",
        )
        .bind(txid)
        .bind(
            block_height
                .map(|height| to_i64(height, "block height"))
                .transpose()?,
        )
        .bind(order_id)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn record_withdrawal_txid(&self, order_id: &str, txid: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE withdrawals SET txid = $1 WHERE order_id = $2 AND status = 'processing'",
        )
        .bind(txid)
        .bind(order_id)
        .execute(&mut *self.write_connection().await?)
        .await?;
        Ok(())
    }

    async fn resolve_withdrawal(
        &self,
        order_id: &str,
        status: WithdrawalStatus,
        resolved_at: i64,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: &NewWebhook,
    ) -> Result<bool, StoreError> {
        let mut db_tx = self.begin_write().await?;
        // Only an open withdrawal moves: a concurrent resolution waits for
        // this row (PostgreSQL's row lock, SQLite's write lock), sees it
        // resolved, and finds none.
        let updated = sqlx::query(
            "UPDATE withdrawals SET status = $1, resolved_at = $2
             WHERE order_id = $3 AND status IN ('pending', 'processing')
               AND approval <> 'waiting'",
        )
        .bind(status.as_str())
        .bind(resolved_at)
        .bind(order_id)
        .execute(&mut *db_tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        S::Db::post_entry_in(&mut db_tx, entry, meta).await?;
        insert_webhook::<S::Db>(&mut db_tx, webhook).await?;
        db_tx.commit().await?;
        Ok(true)
    }
}

pub(crate) const WITHDRAWAL_COLUMNS: &str = "order_id, record_id, app_id, merchant_order_id, \
    fingerprint, token_id, coin_id, chain, to_address, memo, value, network_fee, net_receivable, \
    debit, merchant_pays_fee, to_cwallet, status, txid, block_height, created_at, resolved_at, \
    kind, refund_of, dialect, notify_url, approval, user_id";

fn withdrawal_kind(withdrawal: &Withdrawal) -> &'static str {
    if withdrawal.is_refund() {
        "refund"
    } else {
        "withdrawal"
    }
}

pub(crate) fn withdrawal_from_row(row: &impl Columns) -> Result<Withdrawal, StoreError> {
    Ok(Withdrawal {
        order_id: row.text("order_id")?,
        record_id: row.text("record_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        merchant_order_id: row.text("merchant_order_id")?,
        fingerprint: row.text("fingerprint")?,
        token_id: TokenId::new(row.text("token_id")?),
        coin_id: CoinId::new(row.text("coin_id")?),
        chain: row.text("chain")?,
        to_address: row.text("to_address")?,
        memo: row.text("memo")?,
        value: parse_amount(&row.text("value")?)?,
        network_fee: parse_amount(&row.text("network_fee")?)?,
        net_receivable: parse_amount(&row.text("net_receivable")?)?,
        debit: parse_amount(&row.text("debit")?)?,
        merchant_pays_fee: row.int("merchant_pays_fee")? != 0,
        to_cwallet: row.int("to_cwallet")? != 0,
        status: WithdrawalStatus::parse(&row.text("status")?)?,
        txid: row.text("txid")?,
        block_height: row
            .opt_int("block_height")?
            .map(|h| to_u64(h, "block height"))
            .transpose()?,
        created_at: row.int("created_at")?,
        resolved_at: row.opt_int("resolved_at")?,
        refund_of: row.opt_text("refund_of")?,
        dialect: dialect_from(&row.text("dialect")?)?,
        notify_url: row.opt_text("notify_url")?,
        approval: Approval::parse(&row.text("approval")?)?,
        user_id: row.opt_text("user_id")?,
    })
}

fn fee_quote_from_row(row: &impl Columns) -> Result<FeeQuote, StoreError> {
    Ok(FeeQuote {
        inquiry_id: row.text("inquiry_id")?,
        app_id: MerchantId::new(row.text("app_id")?),
        token_id: TokenId::new(row.text("token_id")?),
        fee: parse_amount(&row.text("fee")?)?,
        expires_at_ms: row.int("expires_at_ms")?,
    })
}

/// Refuses a refund (already among `refund_values`) that takes the refunds of
/// `order_id` past what its `payment_values` brought in.
fn refunds_within_received(
    order_id: &str,
    payment_values: &[String],
    refund_values: &[String],
) -> Result<(), StoreError> {
    let total = |values: &[String]| -> Result<Amount, StoreError> {
        values.iter().try_fold(Amount::ZERO, |sum, text| {
            sum.checked_add(parse_amount(text)?)
                .ok_or_else(|| StoreError::Corrupt("an order's amounts overflow".into()))
        })
    };
    let received = total(payment_values)?;
    let refunded = total(refund_values)?;
    if refunded > received {
        return Err(StoreError::RefundExceedsReceived {
            order_id: order_id.to_owned(),
            received,
            refunded,
        });
    }
    Ok(())
}
