//! What withdrawals keep (decisions §6).

use async_trait::async_trait;
use ccgate_ledger::{Amount, CoinId, JournalEntry, MerchantId, TokenId};

use crate::deposits::NewWebhook;
use crate::{EntryMeta, StoreError};

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
    /// comes back.
    async fn accept_withdrawal(
        &self,
        withdrawal: &Withdrawal,
        entry: &JournalEntry,
        meta: &EntryMeta,
        webhook: Option<&NewWebhook>,
    ) -> Result<Withdrawal, StoreError>;

    async fn withdrawal_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Withdrawal>, StoreError>;

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
