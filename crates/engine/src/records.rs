//! What a merchant may look up: its orders and hosted checkouts, its
//! withdrawals and their refunds, its credited deposits, and how deep in its
//! chain a record sits. Both dialects read the same records here, whichever
//! dialect made them.

use std::sync::Arc;

use ccgate_chain::ChainSet;
use ccgate_ledger::MerchantId;
use ccgate_store::{
    AddressStore, Checkout, ConfirmingOrderPayment, DailyReceipts, DepositAddress, DepositRecord,
    DepositRecordFilter, DepositRecords, Order, OrderStore, Withdrawal, WithdrawalQuery,
    WithdrawalStore,
};

use crate::EngineError;
use crate::orders::HOSTED;

#[derive(Debug)]
pub struct Records {
    chains: Arc<ChainSet>,
    orders: Arc<dyn OrderStore>,
    addresses: Arc<dyn AddressStore>,
    deposit_records: Arc<dyn DepositRecords>,
    withdrawals: Arc<dyn WithdrawalStore>,
}

/// The orders a merchant asked for by `merchant_order_id`, whatever their
/// kind; an id may name a deposit order or a withdrawal, never both kinds
/// in one answer (the caller says so).
#[derive(Debug, Clone, Default)]
pub struct FoundOrders {
    pub orders: Vec<Order>,
    /// Hosted checkouts whose payer has not picked a network yet: their
    /// order exists from creation, without a coin (decisions §8).
    pub unchosen: Vec<Checkout>,
    pub withdrawals: Vec<Withdrawal>,
}

/// Where a record's transaction sits in its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordBlock {
    /// In block `block_height` of `chain`, whose head is now `head_height`.
    InBlock {
        chain: String,
        block_height: u64,
        head_height: u64,
        confirmations_required: u64,
    },
    /// A Cwallet withdrawal, made on no chain.
    NoChain,
    /// A withdrawal not in a block yet.
    NotInBlockYet,
    /// Neither a deposit nor a withdrawal of this merchant.
    Unknown,
}

impl Records {
    pub fn new(
        chains: Arc<ChainSet>,
        orders: Arc<dyn OrderStore>,
        addresses: Arc<dyn AddressStore>,
        deposit_records: Arc<dyn DepositRecords>,
        withdrawals: Arc<dyn WithdrawalStore>,
    ) -> Records {
        Records {
            chains,
            orders,
            addresses,
            deposit_records,
            withdrawals,
        }
    }

    /// What the merchant received in `[since, until)` (Unix seconds), per
    /// UTC day and coin: its own deposits, not its wallet users'.
    pub async fn received_by_day(
        &self,
        app_id: &MerchantId,
        since: i64,
        until: i64,
    ) -> Result<Vec<DailyReceipts>, EngineError> {
        Ok(self
            .deposit_records
            .received_by_day(app_id, since, until)
            .await?)
    }

    /// v1's `bill/info`: what each of `merchant_order_ids` names.
    pub async fn by_merchant_order_ids(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<FoundOrders, EngineError> {
        let orders = self
            .orders
            .orders_by_merchant_order_ids(app_id, merchant_order_ids)
            .await?;
        let unchosen = self
            .orders
            .checkouts_by_merchant_order_ids(app_id, merchant_order_ids)
            .await?
            .into_iter()
            .filter(|checkout| {
                !orders.iter().any(|order| {
                    checkout.order_id.as_deref() == Some(order.order_id.as_str())
                        || (order.kind == HOSTED
                            && order.merchant_order_id == checkout.merchant_order_id)
                })
            })
            .collect();
        let mut withdrawals = Vec::new();
        for id in merchant_order_ids {
            // A wallet user's withdrawal is v2's wallet system's, which v1
            // has no word for (decisions §28).
            if let Some(withdrawal) = self
                .withdrawals
                .withdrawal_by_merchant_order_id(app_id, id)
                .await?
                .filter(|found| found.user_id.is_none())
            {
                withdrawals.push(withdrawal);
            }
        }
        Ok(FoundOrders {
            orders,
            unchosen,
            withdrawals,
        })
    }

    /// The merchant's orders with these `merchant_order_id`s.
    pub async fn orders(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Order>, EngineError> {
        Ok(self
            .orders
            .orders_by_merchant_order_ids(app_id, merchant_order_ids)
            .await?)
    }

    /// The merchant's hosted checkouts with these `merchant_order_id`s.
    pub async fn checkouts(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Checkout>, EngineError> {
        Ok(self
            .orders
            .checkouts_by_merchant_order_ids(app_id, merchant_order_ids)
            .await?)
    }

    /// The hosted checkout at `key`, the secret of its page's URL.
    pub async fn checkout(&self, key: &str) -> Result<Option<Checkout>, EngineError> {
        Ok(self.orders.checkout(key).await?)
    }

    /// The deposit address `address` on `chain`, whosever it is.
    pub async fn deposit_address(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Option<DepositAddress>, EngineError> {
        Ok(self.addresses.deposit_address(chain, address).await?)
    }

    /// An order's payments seen on its chain and not yet confirmed.
    pub async fn confirming_payments(
        &self,
        order_id: &str,
    ) -> Result<Vec<ConfirmingOrderPayment>, EngineError> {
        Ok(self
            .deposit_records
            .confirming_order_payments(order_id)
            .await?)
    }

    /// The credited deposits `filter` picks, newest first.
    pub async fn deposits(
        &self,
        filter: &DepositRecordFilter,
    ) -> Result<Vec<DepositRecord>, EngineError> {
        Ok(self.deposit_records.deposit_records(filter).await?)
    }

    /// The merchant's withdrawal (or refund, or a wallet user's withdrawal)
    /// with this record id.
    pub async fn withdrawal_by_record_id(
        &self,
        app_id: &MerchantId,
        record_id: &str,
    ) -> Result<Option<Withdrawal>, EngineError> {
        Ok(self
            .withdrawals
            .withdrawal_by_record_id(app_id, record_id)
            .await?)
    }

    /// The merchant's (or a wallet user's) withdrawal with this
    /// `merchant_order_id`.
    pub async fn withdrawal_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
    ) -> Result<Option<Withdrawal>, EngineError> {
        Ok(self
            .withdrawals
            .withdrawal_by_merchant_order_id(app_id, merchant_order_id)
            .await?)
    }

    /// The merchant's withdrawals `query` picks, newest first.
    pub async fn withdrawals(
        &self,
        app_id: &MerchantId,
        query: &WithdrawalQuery,
    ) -> Result<Vec<Withdrawal>, EngineError> {
        Ok(self.withdrawals.merchant_withdrawals(app_id, query).await?)
    }

    /// The refunds of one order, oldest first.
    pub async fn refunds_of(&self, order_id: &str) -> Result<Vec<Withdrawal>, EngineError> {
        Ok(self.withdrawals.refunds_of(order_id).await?)
    }

    /// Where the merchant's deposit or withdrawal `record_id` sits in its
    /// chain, its wallet users' deposits and withdrawals included (the
    /// spec's `record_id` is any of the merchant's transactions, decisions
    /// §35). Refunds are the operator's, not the merchant's withdrawals
    /// (decisions §15): unknown here as in `getAppWithdrawRecord`.
    pub async fn block_of(
        &self,
        app_id: &MerchantId,
        record_id: &str,
        now_unix_ms: i64,
    ) -> Result<RecordBlock, EngineError> {
        let filter = DepositRecordFilter {
            record_id: Some(record_id.to_owned()),
            ..DepositRecordFilter::of_merchant(app_id)
        };
        let mut deposit = self.deposit_records.deposit_records(&filter).await?;
        if deposit.is_empty() {
            let users = DepositRecordFilter {
                wallet_users: true,
                ..filter
            };
            deposit = self.deposit_records.deposit_records(&users).await?;
        }
        let (chain_code, block_height) = if let Some(deposit) = deposit.first() {
            (deposit.chain.clone(), deposit.block_height)
        } else {
            let withdrawal = self
                .withdrawals
                .withdrawal_by_record_id(app_id, record_id)
                .await?
                .filter(|found| !found.is_refund());
            let Some(withdrawal) = withdrawal else {
                return Ok(RecordBlock::Unknown);
            };
            if withdrawal.to_cwallet {
                return Ok(RecordBlock::NoChain);
            }
            let Some(block) = withdrawal.block_height else {
                return Ok(RecordBlock::NotInBlockYet);
            };
            (withdrawal.chain, block)
        };
        let adapter = self.chains.get(&chain_code)?;
        let chain = adapter.chain();
        Ok(RecordBlock::InBlock {
            chain: chain.code.to_string(),
            block_height,
            head_height: adapter.height(now_unix_ms).await?,
            confirmations_required: chain.confirmations_required,
        })
    }
}
