//! What the outbox tells a merchant. Every webhook starts as a [`Notice`] —
//! what happened, in the engine's terms — and is rendered at enqueue by the
//! dialect the merchant's order, address or withdrawal speaks (`v1`, `v2`).
//! The outbox keeps the rendered body with its dialect and a kind named by
//! v1 (which `webhook/resend` selects on, whichever dialect): a further API
//! dialect adds a renderer here, not a second outbox.

mod v1;
mod v2;

pub use v2::v2_status;

use ccgate_ledger::{Amount, Chain, Coin, MerchantId, Token};
use ccgate_store::{ChainTransfer, DepositAddress, NewWebhook, Order, WebhookDialect, Withdrawal};

use crate::EngineError;

/// Where a deposit stands, as its webhook reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayStatus {
    /// Seen in a block, not confirmed yet.
    Processing,
    /// Confirmed and credited.
    Success,
    /// Seen, then gone in a reorganisation.
    Failed,
}

/// A transfer to one of the merchant's addresses, and what it is worth.
#[derive(Debug)]
pub(crate) struct Payment<'a> {
    pub record_id: &'a str,
    pub status: PayStatus,
    pub chain: &'a Chain,
    pub transfer: &'a ChainTransfer,
    pub coin: &'a Coin,
    pub token: &'a Token,
    /// The service fee kept from it.
    pub fee: Amount,
    /// What the merchant is credited.
    pub credit: Amount,
}

/// What happened, one variant per kind of webhook.
#[derive(Debug)]
pub(crate) enum Notice<'a> {
    /// A payment to an order's address (a dashboard invoice's order's too,
    /// which v1 reports as `Invoice`).
    OrderPayment {
        order: &'a Order,
        payment: Payment<'a>,
    },
    /// A payment to a permanent address (a wallet user's included, which
    /// v2 reports as `UserDeposit`).
    DirectPayment {
        address: &'a DepositAddress,
        payment: Payment<'a>,
    },
    /// A withdrawal's outcome: accepted, sent, settled or refused.
    Withdrawal {
        withdrawal: &'a Withdrawal,
        coin: &'a Coin,
        token: &'a Token,
        /// v1's `pay_status` of the outcome.
        pay_status: &'a str,
        /// The network fee's USD value, when a price was at hand.
        fee_value: Option<String>,
    },
    /// A refund's outcome (a withdrawal back to an order's payer).
    Refund {
        refund: &'a Withdrawal,
        coin: &'a Coin,
        token: &'a Token,
        pay_status: &'a str,
        /// The refunded order's id as the merchant gave it.
        merchant_order_id: String,
    },
}

impl Notice<'_> {
    /// The outbox's kind: v1's name, whichever dialect the body is in.
    pub(crate) fn kind(&self) -> &'static str {
        use ccgate_api::{deposits, orders, withdrawals};
        match self {
            Notice::OrderPayment { order, .. } if order.invoice => orders::INVOICE,
            Notice::OrderPayment { .. } => orders::API_DEPOSIT,
            Notice::DirectPayment { address, .. } if address.wallet_user => {
                ccgate_api::v2::webhooks::USER_DEPOSIT_KIND
            }
            Notice::DirectPayment { .. } => deposits::DIRECT_DEPOSIT,
            Notice::Withdrawal { withdrawal, .. } if withdrawal.user_id.is_some() => {
                ccgate_api::v2::webhooks::USER_WITHDRAWAL_KIND
            }
            Notice::Withdrawal { .. } => withdrawals::API_WITHDRAWAL,
            Notice::Refund { .. } => orders::REFUND,
        }
    }

    /// The outbox row telling this in `dialect`, or in v1, which has a shape
    /// for every kind, when that dialect has none for it (v2 has no refunds).
    /// `url`: `None` sends it to the merchant's webhook URL as it is when the
    /// webhook is claimed for delivery (decisions §41).
    pub(crate) fn webhook(
        &self,
        app_id: &MerchantId,
        dialect: WebhookDialect,
        url: Option<String>,
        now_unix_ms: i64,
    ) -> Result<NewWebhook, EngineError> {
        let rendered = match dialect {
            WebhookDialect::V1 => Some(v1::render(self)?),
            WebhookDialect::V2 => v2::render(self)?,
        };
        let (dialect, payload) = match rendered {
            Some(payload) => (dialect, payload),
            None => (WebhookDialect::V1, v1::render(self)?),
        };
        Ok(NewWebhook {
            app_id: app_id.clone(),
            record_id: self.record_id().to_owned(),
            order_type: self.kind(),
            dialect,
            url,
            payload,
            created_at_ms: now_unix_ms,
        })
    }

    /// The record the webhook is about.
    fn record_id(&self) -> &str {
        match self {
            Notice::OrderPayment { payment, .. } | Notice::DirectPayment { payment, .. } => {
                payment.record_id
            }
            Notice::Withdrawal { withdrawal, .. } => &withdrawal.record_id,
            Notice::Refund { refund, .. } => &refund.record_id,
        }
    }
}

/// The body of a test delivery (`ccgate webhooks ping`) in `dialect`.
pub(crate) fn ping(dialect: WebhookDialect, app_id: &MerchantId, now_unix_secs: i64) -> String {
    match dialect {
        WebhookDialect::V1 => v1::ping(app_id, now_unix_secs),
        WebhookDialect::V2 => v2::ping(),
    }
}
