//! A merchant's money pages (decisions §31): its orders searched and paged
//! by key, one order with its payments, refunds and webhooks, refunding it,
//! its withdrawals, a new withdrawal with its fee quoted first, and a user's
//! permanent addresses. Every method takes the viewer; money leaves only
//! with the viewer's second factor.

use ccgate_ledger::{Amount, Coin, CoinId, Registry, Token, TokenId};
use ccgate_store::{
    DepositAddress, DepositRecord, DepositRecordFilter, MerchantSummary, Order, OrderSearch,
    WebhookAttempt, WebhookRow, Withdrawal, WithdrawalQuery,
};

use super::{
    Actor, Console, ConsoleRefusal, ORDERS_PER_PAGE, OrdersPage, Viewer, Visit, audit_row, refused,
};
use crate::EngineError;
use crate::amounts::positive_amount;
use crate::orders::{OrderState, OrderStatus, Orders};
use crate::records::{RecordBlock, Records};
use crate::withdrawals::{Asset, Destination, WithdrawalRequest, Withdrawals};

/// Orders read at once while looking for a page of those in one state.
const ORDERS_SCANNED_PER_READ: u32 = 100;
/// Orders looked at for one filtered page at most, so that a rare state
/// does not read a merchant's whole history in one request; the page then
/// links on from where the scan stopped.
const ORDERS_SCANNED_MAX: usize = 1_000;
/// Withdrawals on one page of the list.
pub const WITHDRAWALS_PER_PAGE: u32 = 50;
/// A user's deposits shown beside its addresses.
const USER_DEPOSITS_SHOWN: u32 = 100;

/// Which orders the orders page lists: each `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Derived from payments, so filtered while scanning, not by SQL.
    pub state: Option<OrderStatus>,
    /// Created at or after (unix seconds).
    pub since: Option<i64>,
    /// Created before (unix seconds).
    pub until: Option<i64>,
    pub coin_id: Option<CoinId>,
    pub chain: Option<String>,
    pub merchant_order_id: Option<String>,
    pub payer_address: Option<String>,
    pub txid: Option<String>,
    /// The page starts after this order (its creation and order id).
    pub after: Option<(i64, String)>,
}

/// A credited payment with how deep its block is.
#[derive(Debug, Clone)]
pub struct PaymentSeen {
    pub payment: ccgate_store::OrderPayment,
    /// Blocks from its block to the head, both counted; `None` when its
    /// chain does not say.
    pub confirmations: Option<u64>,
    /// Made after the order expired: credited, but not counted towards it.
    pub late: bool,
}

/// One order, with everything the order page shows.
#[derive(Debug)]
pub struct OrderPage {
    pub merchant: MerchantSummary,
    pub order: Order,
    pub state: OrderState,
    pub payments: Vec<PaymentSeen>,
    /// Oldest first.
    pub refunds: Vec<Withdrawal>,
    /// The webhooks its payments and refunds caused, oldest first, each
    /// with its attempts.
    pub webhooks: Vec<(WebhookRow, Vec<WebhookAttempt>)>,
}

/// A page of a merchant's withdrawals, newest first.
#[derive(Debug)]
pub struct WithdrawalsPage {
    pub merchant: MerchantSummary,
    pub withdrawals: Vec<Withdrawal>,
    /// Where the next (older) page starts: after this withdrawal.
    pub older: Option<(i64, String)>,
}

/// A withdrawal as the form asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalDraft {
    /// The network (a token id); for a Cwallet id, any network of the coin.
    pub token_id: String,
    pub to_cwallet: bool,
    /// The chain address or the Cwallet id.
    pub destination: String,
    /// In the coin, as typed (the payee receives it less the network fee).
    pub amount: String,
    pub memo: String,
    /// Made by the form when it is shown: a repeated post is the same
    /// withdrawal.
    pub merchant_order_id: String,
    /// The fee quote shown before confirming, for a chain withdrawal.
    pub fee_quote_id: Option<String>,
}

/// What a withdrawal would cost, shown before it is confirmed.
#[derive(Debug)]
pub struct WithdrawalQuote<'r> {
    pub coin: &'r Coin,
    pub token: &'r Token,
    pub amount: Amount,
    pub fee: Amount,
    /// What the payee gets: the amount less the fee.
    pub receives: Amount,
    /// Passed back on confirming, so the fee charged is the fee shown.
    pub fee_quote_id: Option<String>,
}

/// A merchant user's permanent addresses and its latest deposits.
#[derive(Debug)]
pub struct AddressesPage {
    pub merchant: MerchantSummary,
    pub user_id: String,
    pub addresses: Vec<DepositAddress>,
    /// Newest first.
    pub deposits: Vec<DepositRecord>,
}

fn invalid(message: &str) -> EngineError {
    refused(ConsoleRefusal::Invalid(message.to_owned()))
}

impl Console {
    /// The merchant's orders `query` picks, newest first, a page at a time;
    /// their state as of `now_ms` (business time: expiry is).
    pub async fn orders(
        &self,
        viewer: &Viewer,
        app_id: &str,
        orders: &Orders,
        query: &OrderQuery,
        now_ms: i64,
    ) -> Result<OrdersPage, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let mut search = OrderSearch {
            since: query.since,
            until: query.until,
            coin_id: query.coin_id.clone(),
            chain: query.chain.clone(),
            merchant_order_id: query.merchant_order_id.clone(),
            payer_address: query.payer_address.clone(),
            txid: query.txid.clone(),
            after: query.after.clone(),
            ..OrderSearch::of_merchant(&merchant.app_id, ORDERS_SCANNED_PER_READ)
        };
        let mut found = Vec::new();
        let mut scanned = 0;
        let older = 'scan: loop {
            let batch = self.dashboard.search_orders(&search).await?;
            let exhausted = batch.len() < ORDERS_SCANNED_PER_READ as usize;
            for order in batch {
                scanned += 1;
                search.after = Some((order.created_at, order.order_id.clone()));
                let state = orders.progress(&order, now_ms.div_euclid(1000)).await?;
                if query
                    .state
                    .is_none_or(|wanted| state.progress.status == wanted)
                {
                    found.push((order, state));
                }
                if found.len() == ORDERS_PER_PAGE || scanned == ORDERS_SCANNED_MAX {
                    break 'scan search.after;
                }
            }
            if exhausted {
                break None;
            }
        };
        Ok(OrdersPage {
            merchant,
            orders: found,
            older,
        })
    }

    /// One of the merchant's orders (by its `merchant_order_id`): its state
    /// as of `now_ms`, its payments with their confirmations, its refunds
    /// and the webhooks they caused.
    pub async fn order(
        &self,
        viewer: &Viewer,
        app_id: &str,
        merchant_order_id: &str,
        orders: &Orders,
        records: &Records,
        now_ms: i64,
    ) -> Result<OrderPage, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let found = records
            .orders(&merchant.app_id, &[merchant_order_id.to_owned()])
            .await?;
        let Some(order) = found.into_iter().next() else {
            return Err(refused(ConsoleRefusal::NotFound));
        };
        let state = orders.progress(&order, now_ms.div_euclid(1000)).await?;
        let expires_at_ms = order.expires_at.saturating_mul(1000);
        let mut payments = Vec::with_capacity(state.payments.len());
        for payment in &state.payments {
            let confirmations = match records
                .block_of(&merchant.app_id, &payment.record_id, now_ms)
                .await?
            {
                RecordBlock::InBlock {
                    block_height,
                    head_height,
                    ..
                } => Some(head_height.saturating_sub(block_height).saturating_add(1)),
                _ => None,
            };
            payments.push(PaymentSeen {
                late: payment.block_time_ms > expires_at_ms,
                payment: payment.clone(),
                confirmations,
            });
        }
        let refunds = records.refunds_of(&order.order_id).await?;
        // A payment still confirming has its webhook (v2's `processing`)
        // under the record id it will be credited under.
        let confirming = records.confirming_payments(&order.order_id).await?;
        let record_ids: Vec<String> = state
            .payments
            .iter()
            .map(|payment| payment.record_id.clone())
            .chain(confirming.into_iter().map(|payment| payment.record_id))
            .chain(refunds.iter().map(|refund| refund.record_id.clone()))
            .collect();
        let webhooks = self.webhooks_of(&merchant, &record_ids).await?;
        Ok(OrderPage {
            merchant,
            order,
            state,
            payments,
            refunds,
            webhooks,
        })
    }

    /// Refunds `amount` of the merchant's order to `address` on its network
    /// (the operator's `ccgate order refund`), given the viewer's second
    /// factor; the refund, reserved.
    #[allow(clippy::too_many_arguments)]
    pub async fn refund(
        &self,
        viewer: &Viewer,
        app_id: &str,
        merchant_order_id: &str,
        address: &str,
        amount: &str,
        code: &str,
        withdrawals: &Withdrawals,
        visit: Visit<'_>,
        now_ms: i64,
    ) -> Result<Withdrawal, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        // Taken before the refund: a repeated post with the same code is
        // refused here, so one click makes one refund.
        self.check_second_factor(viewer, code, visit.now_ms).await?;
        // The row commits with the refund (decisions §40).
        let audit = |refund: &Withdrawal| {
            audit_row(
                Actor::User(viewer),
                Some(&merchant.app_id),
                "refund requested",
                format!(
                    "refund {} of order {merchant_order_id:?} to {}",
                    refund.record_id, refund.to_address
                ),
                visit,
            )
        };
        let refund = withdrawals
            .refund_order(
                &merchant.app_id,
                merchant_order_id,
                address.trim(),
                amount.trim(),
                now_ms,
                Some(&audit),
            )
            .await?;
        Ok(refund)
    }

    /// The merchant's withdrawals (not refunds), newest first, a page after
    /// `after`.
    pub async fn withdrawals(
        &self,
        viewer: &Viewer,
        app_id: &str,
        records: &Records,
        after: Option<(i64, String)>,
    ) -> Result<WithdrawalsPage, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let query = WithdrawalQuery {
            user_id: None,
            coin_id: None,
            destination: None,
            merchant_order_ids: Vec::new(),
            to_address: None,
            created_from: None,
            created_to: None,
            after,
            limit: WITHDRAWALS_PER_PAGE,
        };
        let withdrawals = records.withdrawals(&merchant.app_id, &query).await?;
        let older = (withdrawals.len() == WITHDRAWALS_PER_PAGE as usize)
            .then(|| {
                withdrawals
                    .last()
                    .map(|last| (last.created_at, last.record_id.clone()))
            })
            .flatten();
        Ok(WithdrawalsPage {
            merchant,
            withdrawals,
            older,
        })
    }

    /// One of the merchant's withdrawals or refunds, by its record id, with
    /// the webhooks it caused.
    pub async fn withdrawal(
        &self,
        viewer: &Viewer,
        app_id: &str,
        record_id: &str,
        records: &Records,
    ) -> Result<
        (
            MerchantSummary,
            Withdrawal,
            Vec<(WebhookRow, Vec<WebhookAttempt>)>,
        ),
        EngineError,
    > {
        let merchant = self.merchant(viewer, app_id).await?;
        let withdrawal = records
            .withdrawal_by_record_id(&merchant.app_id, record_id)
            .await?
            .ok_or_else(|| refused(ConsoleRefusal::NotFound))?;
        let webhooks = self
            .webhooks_of(&merchant, std::slice::from_ref(&withdrawal.record_id))
            .await?;
        Ok((merchant, withdrawal, webhooks))
    }

    /// The merchant's webhooks about `record_ids`, oldest first, each with
    /// every attempt to deliver it (a record causes a handful).
    async fn webhooks_of(
        &self,
        merchant: &MerchantSummary,
        record_ids: &[String],
    ) -> Result<Vec<(WebhookRow, Vec<WebhookAttempt>)>, EngineError> {
        let rows = self
            .dashboard
            .webhooks_of_records(&merchant.app_id, record_ids)
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(with_attempts) = self.outbox.webhook_with_attempts(row.id).await? {
                found.push(with_attempts);
            }
        }
        Ok(found)
    }

    /// What `draft` would cost now: a chain withdrawal's network fee is
    /// quoted and kept, so confirming charges exactly it; a Cwallet one is
    /// free.
    pub async fn quote_withdrawal<'r>(
        &self,
        viewer: &Viewer,
        app_id: &str,
        draft: &WithdrawalDraft,
        registry: &'r Registry,
        withdrawals: &Withdrawals,
        now_ms: i64,
    ) -> Result<(MerchantSummary, WithdrawalQuote<'r>), EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let (coin, token) = registry
            .token(&TokenId::new(draft.token_id.trim()))
            .ok_or_else(|| invalid("choose a coin and network from the list"))?;
        if draft.destination.trim().is_empty() {
            return Err(invalid("the destination is empty"));
        }
        let precision = if draft.to_cwallet {
            coin.precision
        } else {
            token.precision
        };
        let amount = positive_amount(
            "the amount",
            draft.amount.trim(),
            precision,
            coin.precision,
            &coin.symbol,
        )?;
        let (fee, fee_quote_id) = if draft.to_cwallet {
            // Found now, before a code is spent on confirming it.
            if self
                .merchants
                .cwallet(draft.destination.trim())
                .await?
                .is_none()
            {
                return Err(invalid("no Cwallet id is written so"));
            }
            (Amount::ZERO, None)
        } else {
            let memo = Some(draft.memo.trim()).filter(|memo| !memo.is_empty());
            withdrawals.check_destination(token, draft.destination.trim(), memo)?;
            let quote = withdrawals
                .quote_fee(&merchant.app_id, coin, token, now_ms)
                .await?;
            (quote.fee, Some(quote.inquiry_id))
        };
        let receives = amount
            .checked_sub(fee)
            .filter(|net| !net.is_zero())
            .ok_or_else(|| {
                invalid(&format!(
                    "the amount must be more than the network fee of {} {}",
                    fee.to_decimal_string(coin.precision),
                    coin.symbol
                ))
            })?;
        Ok((
            merchant,
            WithdrawalQuote {
                coin,
                token,
                amount,
                fee,
                receives,
                fee_quote_id,
            },
        ))
    }

    /// Makes the withdrawal `draft` through the API's own path
    /// (`Withdrawals::request`), given the viewer's second factor; a draft
    /// already made (the same form posted again) is found again without
    /// one, and nothing new is made.
    #[allow(clippy::too_many_arguments)]
    pub async fn withdraw(
        &self,
        viewer: &Viewer,
        app_id: &str,
        draft: &WithdrawalDraft,
        code: &str,
        registry: &Registry,
        withdrawals: &Withdrawals,
        records: &Records,
        visit: Visit<'_>,
        now_ms: i64,
    ) -> Result<Withdrawal, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let (coin, token) = registry
            .token(&TokenId::new(draft.token_id.trim()))
            .ok_or_else(|| invalid("choose a coin and network from the list"))?;
        if !draft.merchant_order_id.starts_with(CONSOLE_ORDER_PREFIX) {
            return Err(invalid("this form has expired; open a new withdrawal"));
        }
        let made_before = records
            .withdrawal_by_merchant_order_id(&merchant.app_id, &draft.merchant_order_id)
            .await?
            .is_some();
        if !made_before {
            self.check_second_factor(viewer, code, visit.now_ms).await?;
        }
        let destination = draft.destination.trim().to_owned();
        let dialect = self.settings_of(&merchant.app_id).await?.webhook_dialect;
        let request = WithdrawalRequest {
            asset: if draft.to_cwallet {
                Asset::Coin(coin)
            } else {
                Asset::Network(coin, token)
            },
            destination: if draft.to_cwallet {
                Destination::Cwallet(destination)
            } else {
                Destination::ChainAddress(destination)
            },
            value: draft.amount.trim().to_owned(),
            merchant_order_id: draft.merchant_order_id.clone(),
            memo: Some(draft.memo.trim().to_owned()).filter(|memo| !memo.is_empty()),
            merchant_pays_fee: false,
            dialect,
            notify_url: None,
            fee_quote_id: draft.fee_quote_id.clone().filter(|_| !draft.to_cwallet),
            batch_task: None,
        };
        // The row commits with the withdrawal (decisions §40); a repeat of
        // one already stored writes none.
        let audit = |withdrawal: &Withdrawal| {
            audit_row(
                Actor::User(viewer),
                Some(&merchant.app_id),
                "withdrawal requested",
                format!(
                    "withdrawal {} of {} {} to {}",
                    withdrawal.record_id,
                    withdrawal.value.to_decimal_string(coin.precision),
                    coin.symbol,
                    withdrawal.to_address
                ),
                visit,
            )
        };
        let withdrawal = withdrawals
            .request_audited(&merchant.app_id, &request, now_ms, &audit)
            .await?
            .withdrawal;
        Ok(withdrawal)
    }

    /// The permanent addresses of the merchant's user `user_id` and the
    /// user's latest deposits.
    pub async fn user_addresses(
        &self,
        viewer: &Viewer,
        app_id: &str,
        user_id: &str,
        records: &Records,
    ) -> Result<AddressesPage, EngineError> {
        let merchant = self.merchant(viewer, app_id).await?;
        let user_id = user_id.trim().to_owned();
        if user_id.is_empty() {
            return Ok(AddressesPage {
                merchant,
                user_id,
                addresses: Vec::new(),
                deposits: Vec::new(),
            });
        }
        let addresses = self
            .dashboard
            .user_permanent_addresses(&merchant.app_id, &user_id)
            .await?;
        let mut filter = DepositRecordFilter::of_merchant(&merchant.app_id);
        filter.user_id = Some(user_id.clone());
        filter.limit = USER_DEPOSITS_SHOWN;
        let deposits = records.deposits(&filter).await?;
        Ok(AddressesPage {
            merchant,
            user_id,
            addresses,
            deposits,
        })
    }
}

/// How the withdrawal form's order ids start: the form makes them, and
/// only they are taken, so a post cannot reuse an API withdrawal's id.
pub const CONSOLE_ORDER_PREFIX: &str = "console-";

/// A new order id for the withdrawal form.
pub fn console_order_id() -> String {
    let token = super::random_token();
    format!(
        "{CONSOLE_ORDER_PREFIX}{}",
        token.get(..24).unwrap_or(&token)
    )
}
