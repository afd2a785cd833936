//! Withdrawals (decisions §6): accepted with their debit reserved in the same
//! DB transaction; sent by the worker; posted when the chain confirms them or
//! voided when it refuses them — each exactly once, across restarts too.
//! A withdrawal to a Cwallet id is an internal transfer, posted at once.

use std::sync::Arc;

use ccgate_chain::{ChainAdapter, ChainError, ChainSet, GasFee, PayoutState, Sent};
use ccgate_ledger::{
    Account, Amount, AssetStatus, Coin, CoinId, Decimal, Direction, JournalEntry, LedgerError,
    MerchantId, Posting, Registry, Rounding, Token, TokenId,
};
use ccgate_pricefeed::PriceSource;
use ccgate_store::{
    Approval, AuditEntry, EntryMeta, FeeQuote, NewWebhook, Order, OrderIdHolder, OrderStore, Store,
    StoreError, WebhookDialect, Withdrawal, WithdrawalStatus, WithdrawalStore,
};

use crate::amounts::positive_amount;
use crate::notices::Notice;
use crate::orders::repeat_or_taken;
use crate::payouts::Payouts;
use crate::{EngineError, RecordIds, Rejection};

/// Open withdrawals one worker tick looks at.
const WORKER_BATCH_MAX: u32 = 256;
/// The `txid` of a transfer that never touches a chain (spec §2.5).
pub const INTERNAL_TRANSFER: &str = "internal transfer";
const WITHDRAWAL_KIND: &str = "withdrawal";
/// How long a `getWithdrawFee` quote may be passed to a withdrawal
/// (docs/decisions.md §15).
pub const FEE_QUOTE_VALID_MS: i64 = 10 * 60 * 1000;

/// Where a withdrawal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// v1's `address`: a Cwallet id this gateway knows, else a chain address.
    AddressOrCwallet(String),
    /// v2 `applyAppWithdrawToNetwork`: a chain address, even if it looks
    /// like a Cwallet id.
    ChainAddress(String),
    /// v2 `applyAppWithdrawToCwallet`: a Cwallet id, which must exist.
    Cwallet(String),
}

impl Destination {
    /// What the merchant typed: the chain address or the Cwallet id.
    pub fn text(&self) -> &str {
        match self {
            Destination::AddressOrCwallet(text)
            | Destination::ChainAddress(text)
            | Destination::Cwallet(text) => text,
        }
    }
}

/// What a withdrawal pays out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset<'r> {
    /// v1's `token_id` as sent: a token id, or a coin id (of one network,
    /// or of any for a Cwallet id), found once the destination is known.
    Named(&'r str),
    /// A network the caller already found (v2's coin and chain).
    Network(&'r Coin, &'r Token),
    /// A coin on no network: a Cwallet transfer (v2).
    Coin(&'r Coin),
}

impl Asset<'_> {
    /// What the merchant named, as a withdrawal's fingerprint keeps it.
    fn text(&self) -> &str {
        match self {
            Asset::Named(text) => text,
            Asset::Network(_, token) => token.id.as_str(),
            Asset::Coin(coin) => coin.id.as_str(),
        }
    }
}

/// A withdrawal as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRequest<'r> {
    pub asset: Asset<'r>,
    pub destination: Destination,
    pub value: String,
    pub merchant_order_id: String,
    pub memo: Option<String>,
    pub merchant_pays_fee: bool,
    /// The dialect it was asked in: its webhooks are written in it, and its
    /// refusals name that dialect's amount field.
    pub dialect: WebhookDialect,
    /// Where its webhooks go instead of the merchant's webhook URL.
    pub notify_url: Option<String>,
    /// A `getWithdrawFee` quote (`networkFeeInquiryID`) whose fee it is charged.
    pub fee_quote_id: Option<String>,
    /// The batch task it executes (docs/decisions.md §29), part of what
    /// makes a repeat the same withdrawal: a task never takes another
    /// request's withdrawal under its id for its own, nor the other way.
    pub batch_task: Option<String>,
}

/// What an operator's decision made of a withdrawal, as the admin API and
/// `ccgate withdrawal … --json` print it.
pub fn decided(withdrawal: &Withdrawal) -> ccgate_api::admin::Decided {
    ccgate_api::admin::Decided {
        order_id: withdrawal.order_id.clone(),
        record_id: withdrawal.record_id.clone(),
        approval: withdrawal.approval.as_str().to_owned(),
    }
}

/// A withdrawal accepted (or found again), with what its answer shows.
#[derive(Debug, Clone)]
pub struct Accepted<'r> {
    pub withdrawal: Withdrawal,
    pub coin: &'r Coin,
    /// The network fee's USD value, when a price is at hand.
    pub fee_value: Option<String>,
}

/// What a withdrawal of `token` would be charged now.
#[derive(Debug, Clone, Copy)]
pub struct NetworkFee<'r> {
    pub coin: &'r Coin,
    pub token: &'r Token,
    pub fee: Amount,
}

/// The network a request names: a token id, or (decisions §4) a coin id
/// when that coin has one network — or any network, for a transfer to a
/// Cwallet id, which touches none.
pub fn network_named<'r>(
    registry: &'r Registry,
    named: &str,
    to_cwallet: bool,
) -> Result<(&'r Coin, &'r Token), Rejection> {
    if let Some(found) = registry.token(&TokenId::new(named)) {
        return Ok(found);
    }
    let coin = registry
        .coin(&CoinId::new(named))
        .ok_or_else(|| Rejection::token_not_found(named))?;
    match coin.tokens.as_slice() {
        [only] => Ok((coin, only)),
        [first, ..] if to_cwallet => Ok((coin, first)),
        _ => Err(Rejection::NetworkAmbiguous(coin.symbol.clone())),
    }
}

/// The dashboard's audit row of a withdrawal or refund it asked for, made
/// from the withdrawal about to be stored: it commits with it (decisions
/// §40).
pub type WithdrawalAudit<'a> = dyn Fn(&Withdrawal) -> AuditEntry + Send + Sync + 'a;

#[derive(Debug)]
pub struct Withdrawals {
    registry: Arc<Registry>,
    chains: Arc<ChainSet>,
    prices: Arc<dyn PriceSource>,
    store: Arc<dyn Store>,
    orders: Arc<dyn OrderStore>,
    withdrawals: Arc<dyn WithdrawalStore>,
    /// An EVM chain's signed payouts; the devnet pays by itself.
    payouts: Payouts,
    ids: RecordIds,
}

/// What makes two requests with one `merchant_order_id` the same
/// withdrawal. The dialect, notifyUrl and fee quote are not part of it
/// (docs/decisions.md §15), so v1's fingerprints stay as they were.
fn fingerprint(request: &WithdrawalRequest, value: Amount) -> String {
    let print = format!(
        "{}|{}|{}|{}|{}",
        request.asset.text(),
        request.destination.text(),
        value.base_units(),
        request.memo.clone().unwrap_or_default(),
        request.merchant_pays_fee
    );
    // After the flag, which ends every other print: no memo can forge it.
    match &request.batch_task {
        Some(task) => format!("{print}|batch {task}"),
        None => print,
    }
}

impl Withdrawals {
    pub fn new(
        registry: Arc<Registry>,
        chains: Arc<ChainSet>,
        prices: Arc<dyn PriceSource>,
        store: Arc<dyn Store>,
        orders: Arc<dyn OrderStore>,
        withdrawals: Arc<dyn WithdrawalStore>,
        payouts: Payouts,
    ) -> Withdrawals {
        Withdrawals {
            registry,
            chains,
            prices,
            store,
            orders,
            withdrawals,
            payouts,
            ids: RecordIds::default(),
        }
    }

    /// `withdraw`: a new withdrawal (its debit reserved, or for a Cwallet id
    /// transferred), or the same one again for a repeated identical request,
    /// with what its answer shows.
    pub async fn request<'a>(
        &'a self,
        app_id: &MerchantId,
        request: &WithdrawalRequest<'a>,
        now_unix_ms: i64,
    ) -> Result<Accepted<'a>, EngineError> {
        self.request_by(app_id, None, request, now_unix_ms, None)
            .await
    }

    /// [`Self::request`] asked for from the dashboard: `audit` makes its
    /// row from the withdrawal about to be stored, and the row commits with
    /// it (decisions §40). A repeat of a stored withdrawal writes no row.
    pub async fn request_audited<'a>(
        &'a self,
        app_id: &MerchantId,
        request: &WithdrawalRequest<'a>,
        now_unix_ms: i64,
        audit: &WithdrawalAudit<'_>,
    ) -> Result<Accepted<'a>, EngineError> {
        self.request_by(app_id, None, request, now_unix_ms, Some(audit))
            .await
    }

    /// [`Self::request`] paid by the merchant's wallet user `user_id`
    /// (`applyUserWithdrawTo…`, decisions §28): the same withdrawal, its
    /// money reserved from (and, if it fails, returned to) the user's
    /// account. The caller has made sure the user exists.
    pub async fn request_for_user<'a>(
        &'a self,
        app_id: &MerchantId,
        user_id: &str,
        request: &WithdrawalRequest<'a>,
        now_unix_ms: i64,
    ) -> Result<Accepted<'a>, EngineError> {
        self.request_by(app_id, Some(user_id), request, now_unix_ms, None)
            .await
    }

    async fn request_by<'a>(
        &'a self,
        app_id: &MerchantId,
        user_id: Option<&str>,
        request: &WithdrawalRequest<'a>,
        now_unix_ms: i64,
        audit: Option<&WithdrawalAudit<'_>>,
    ) -> Result<Accepted<'a>, EngineError> {
        // Everything read before the write, in one statement (decisions §37).
        let named_cwallet = match &request.destination {
            Destination::AddressOrCwallet(text) | Destination::Cwallet(text) => Some(text.as_str()),
            Destination::ChainAddress(_) => None,
        };
        let preflight = self
            .withdrawals
            .withdrawal_preflight(app_id, &request.merchant_order_id, named_cwallet)
            .await?;
        let cwallet =
            match &request.destination {
                Destination::AddressOrCwallet(_) => preflight.cwallet,
                Destination::ChainAddress(_) => None,
                Destination::Cwallet(c_id) => Some(preflight.cwallet.ok_or_else(|| {
                    Rejection::CwalletUserNotFound(c_id.chars().take(64).collect())
                })?),
            };
        let (coin, token) = match request.asset {
            Asset::Named(text) => network_named(&self.registry, text, cwallet.is_some())?,
            Asset::Network(coin, token) => (coin, token),
            // Any network of the coin: the transfer touches none.
            Asset::Coin(coin) => match coin.tokens.first() {
                Some(token) => (coin, token),
                None => return Err(Rejection::token_not_found(coin.id.as_str()).into()),
            },
        };
        let accepted = |withdrawal: Withdrawal| Accepted {
            fee_value: self.fee_value(coin, withdrawal.network_fee, now_unix_ms),
            withdrawal,
            coin,
        };
        let amount_field = match request.dialect {
            WebhookDialect::V1 => "value",
            WebhookDialect::V2 => "amount",
        };
        // Precision: what the network can carry; a Cwallet transfer is the coin's.
        let precision = if cwallet.is_some() {
            coin.precision
        } else {
            token.precision
        };
        let value = positive_amount(
            amount_field,
            &request.value,
            precision,
            coin.precision,
            &coin.symbol,
        )?;
        let print = fingerprint(request, value);
        let repeat = repeat_or_taken(
            preflight.holders,
            &request.merchant_order_id,
            OrderIdHolder::Withdrawal,
        )?;
        if repeat
            && let Some(existing) = self
                .withdrawals
                .withdrawal_by_merchant_order_id(app_id, &request.merchant_order_id)
                .await?
        {
            return same_or_duplicate(existing, &print, user_id, &request.merchant_order_id)
                .map(accepted);
        }
        // Also to a Cwallet id: free and instant, each one still costs a
        // webhook, so without a floor a flood of dust withdrawals is free.
        if value < coin.min {
            return Err(Rejection::BelowMinimumWithdrawal(format!(
                "{amount_field} must be at least {} {}, the minimum withdrawal",
                coin.min.to_decimal_string(coin.precision),
                coin.symbol
            ))
            .into());
        }
        // Delisting coins may still be withdrawn; maintenance stops everything.
        if coin.status == AssetStatus::Maintenance || token.status == AssetStatus::Maintenance {
            return Err(
                Rejection::CoinSuspended(format!("{} on {}", coin.symbol, token.chain)).into(),
            );
        }
        let adapter = self.chains.get(token.chain.as_str())?;
        let fee = if cwallet.is_some() {
            Amount::ZERO
        } else {
            adapter
                .validate_address(request.destination.text())
                .map_err(ChainError::InvalidAddress)?;
            if token.memo_supported && request.memo.is_none() {
                return Err(Rejection::MemoRequired(token.chain.to_string()).into());
            }
            match &request.fee_quote_id {
                Some(inquiry_id) => {
                    self.quoted_fee(app_id, inquiry_id, coin, token, now_unix_ms)
                        .await?
                }
                None => self.network_fee(adapter.as_ref(), coin, token, now_unix_ms),
            }
        };
        // Only chain withdrawals wait: a Cwallet one is instant by contract.
        let approval = if cwallet.is_none() && preflight.approval_required {
            Approval::Waiting
        } else {
            Approval::NotNeeded
        };
        let (debit, net_receivable) = if request.merchant_pays_fee {
            (
                value.checked_add(fee).ok_or(LedgerError::AmountOverflow)?,
                value,
            )
        } else {
            let net = value
                .checked_sub(fee)
                .filter(|net| !net.is_zero())
                .ok_or_else(|| {
                    Rejection::NotAboveNetworkFee(format!(
                        "{amount_field} must be more than the network fee of {} {}",
                        fee.to_decimal_string(coin.precision),
                        coin.symbol
                    ))
                })?;
            (value, net)
        };
        let now_secs = now_unix_ms.div_euclid(1000);
        let mut withdrawal = Withdrawal {
            order_id: self.ids.next(now_unix_ms),
            record_id: self.ids.next(now_unix_ms),
            app_id: app_id.clone(),
            merchant_order_id: request.merchant_order_id.clone(),
            fingerprint: print.clone(),
            token_id: token.id.clone(),
            coin_id: coin.id.clone(),
            chain: token.chain.to_string(),
            to_address: request.destination.text().to_owned(),
            memo: request.memo.clone().unwrap_or_default(),
            value,
            network_fee: fee,
            net_receivable,
            debit,
            merchant_pays_fee: request.merchant_pays_fee,
            to_cwallet: cwallet.is_some(),
            status: WithdrawalStatus::Pending,
            txid: String::new(),
            block_height: None,
            created_at: now_secs,
            resolved_at: None,
            refund_of: None,
            dialect: request.dialect,
            notify_url: request.notify_url.clone(),
            approval,
            user_id: user_id.map(str::to_owned),
        };
        let available = payer_available(&withdrawal);
        let (entry, webhook) = match &cwallet {
            Some(account) => {
                withdrawal.status = WithdrawalStatus::Successful;
                withdrawal.txid = INTERNAL_TRANSFER.to_owned();
                withdrawal.resolved_at = Some(now_secs);
                let entry = JournalEntry::transfer(
                    available,
                    Account::Cwallet(account.c_id.clone()),
                    coin.id.clone(),
                    debit,
                )?;
                // v2 sends no webhook for a Cwallet withdrawal (v2 spec §3.3.8).
                let webhook = match withdrawal.dialect {
                    WebhookDialect::V1 => Some(
                        self.webhook(&withdrawal, coin, token, "success", now_unix_ms)
                            .await?,
                    ),
                    WebhookDialect::V2 => None,
                };
                (entry, webhook)
            }
            None => {
                let reserved = payer_reserved(&withdrawal);
                // v2 says `WaitingApproval` (spec §3.3.3); v1 has no word for it.
                let webhook = match (approval, withdrawal.dialect) {
                    (Approval::Waiting, WebhookDialect::V2) => Some(
                        self.webhook(&withdrawal, coin, token, "processing", now_unix_ms)
                            .await?,
                    ),
                    _ => None,
                };
                (
                    JournalEntry::transfer(available, reserved, coin.id.clone(), debit)?,
                    webhook,
                )
            }
        };
        let meta = EntryMeta {
            kind: WITHDRAWAL_KIND,
            reason: format!("withdrawal {} reserved", withdrawal.order_id),
            created_at: now_secs,
        };
        let stored = self
            .withdrawals
            .accept_withdrawal(
                &withdrawal,
                &entry,
                &meta,
                webhook.as_ref(),
                audit.map(|row_of| row_of(&withdrawal)).as_ref(),
            )
            .await
            .map_err(|err| match err {
                StoreError::Ledger(LedgerError::InsufficientBalance { .. }) => {
                    EngineError::from(Rejection::InsufficientBalance(coin.symbol.clone()))
                }
                other => other.into(),
            })?;
        self.store.balances_changed(app_id);
        same_or_duplicate(stored, &print, user_id, &request.merchant_order_id).map(accepted)
    }

    /// What a withdrawal on `chain` to `address` would be refused for by
    /// its address alone (`checkWithdrawAddress`): an address the chain
    /// does not take, or no memo where the chain's tokens need one.
    pub fn check_address(
        &self,
        chain: &str,
        address: &str,
        memo: Option<&str>,
    ) -> Result<(), EngineError> {
        self.chains
            .get(chain)?
            .validate_address(address)
            .map_err(ChainError::InvalidAddress)?;
        let memo_needed = self
            .registry
            .coins()
            .flat_map(|coin| &coin.tokens)
            .any(|token| token.chain.as_str() == chain && token.memo_supported);
        if memo_needed && memo.is_none_or(|memo| memo.trim().is_empty()) {
            return Err(Rejection::MemoRequired(chain.to_owned()).into());
        }
        Ok(())
    }

    /// `refund`, for the order the merchant knows by `merchant_order_id`.
    pub async fn refund_order(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
        address: &str,
        amount: &str,
        now_unix_ms: i64,
        audit: Option<&WithdrawalAudit<'_>>,
    ) -> Result<Withdrawal, EngineError> {
        let orders = self
            .orders
            .orders_by_merchant_order_ids(app_id, &[merchant_order_id.to_owned()])
            .await?;
        let order = match orders.as_slice() {
            [only] => only,
            [] => {
                return Err(
                    Rejection::OrderNotFound(merchant_order_id.chars().take(64).collect()).into(),
                );
            }
            _ => {
                return Err(Rejection::AmountInvalid(format!(
                    "{merchant_order_id:?} names both a native and a hosted order"
                ))
                .into());
            }
        };
        self.refund(order, address, amount, now_unix_ms, audit)
            .await
    }

    /// A refund of a deposit order (CCPayment makes them from its dashboard):
    /// paid to `address` on the order's network, the payee bearing the network
    /// fee, reserved and then posted or voided like a withdrawal. All refunds
    /// of an order together stay within what it received. `audit`, from the
    /// dashboard, makes the row that commits with the refund (decisions §40).
    pub async fn refund(
        &self,
        order: &Order,
        address: &str,
        amount: &str,
        now_unix_ms: i64,
        audit: Option<&WithdrawalAudit<'_>>,
    ) -> Result<Withdrawal, EngineError> {
        let (coin, token) = self
            .registry
            .token(&order.token_id)
            .ok_or_else(|| Rejection::TokenNotFound(order.token_id.to_string()))?;
        let value = positive_amount(
            "amount",
            amount,
            token.precision,
            coin.precision,
            &coin.symbol,
        )?;
        let adapter = self.chains.get(token.chain.as_str())?;
        adapter
            .validate_address(address)
            .map_err(ChainError::InvalidAddress)?;
        let fee = self.network_fee(adapter.as_ref(), coin, token, now_unix_ms);
        let net_receivable = value
            .checked_sub(fee)
            .filter(|net| !net.is_zero())
            .ok_or_else(|| {
                Rejection::NotAboveNetworkFee("amount must be more than the network fee".into())
            })?;
        let record_id = self.ids.next(now_unix_ms);
        let refund = Withdrawal {
            order_id: self.ids.next(now_unix_ms),
            // Refunds share the withdrawals' unique merchant_order_id; theirs
            // is derived, so it never meets a merchant's own.
            merchant_order_id: format!("refund:{record_id}"),
            record_id,
            app_id: order.app_id.clone(),
            fingerprint: String::new(),
            token_id: token.id.clone(),
            coin_id: coin.id.clone(),
            chain: token.chain.to_string(),
            to_address: address.to_owned(),
            memo: String::new(),
            value,
            network_fee: fee,
            net_receivable,
            debit: value,
            merchant_pays_fee: false,
            to_cwallet: false,
            status: WithdrawalStatus::Pending,
            txid: String::new(),
            block_height: None,
            created_at: now_unix_ms.div_euclid(1000),
            resolved_at: None,
            refund_of: Some(order.order_id.clone()),
            // Refunds are made by the operator and notified as v1 `Refund`.
            dialect: WebhookDialect::V1,
            notify_url: None,
            approval: Approval::NotNeeded,
            user_id: None,
        };
        let entry = JournalEntry::transfer(
            Account::MerchantAvailable(order.app_id.clone()),
            Account::MerchantReserved(order.app_id.clone()),
            coin.id.clone(),
            value,
        )?;
        let meta = EntryMeta {
            kind: WITHDRAWAL_KIND,
            reason: format!(
                "refund {} of order {} reserved",
                refund.order_id, order.order_id
            ),
            created_at: refund.created_at,
        };
        let stored = self
            .withdrawals
            .accept_withdrawal(
                &refund,
                &entry,
                &meta,
                None,
                audit.map(|row_of| row_of(&refund)).as_ref(),
            )
            .await
            .map_err(|err| match err {
                StoreError::Ledger(LedgerError::InsufficientBalance { .. }) => {
                    EngineError::from(Rejection::InsufficientBalance(coin.symbol.clone()))
                }
                // Checked by the store in the accepting transaction, so racing
                // refunds of one order cannot both fit.
                StoreError::RefundExceedsReceived {
                    received, refunded, ..
                } => Rejection::AmountInvalid(format!(
                    "a refund may not exceed what the order received and was not refunded yet: {} {}",
                    received
                        .checked_sub(refunded.checked_sub(value).unwrap_or(Amount::ZERO))
                        .unwrap_or(Amount::ZERO)
                        .to_decimal_string(coin.precision),
                    coin.symbol
                ))
                .into(),
                other => other.into(),
            })?;
        self.store.balances_changed(&order.app_id);
        Ok(stored)
    }

    /// A withdrawal waiting for the operator, by its order id.
    async fn waiting(&self, order_id: &str) -> Result<Withdrawal, EngineError> {
        let withdrawal = self
            .withdrawals
            .withdrawal_by_order_id(order_id)
            .await?
            .ok_or_else(|| Rejection::WithdrawalNotFound(order_id.chars().take(64).collect()))?;
        if withdrawal.approval == Approval::Waiting {
            Ok(withdrawal)
        } else {
            Err(Rejection::NotWaitingForApproval(withdrawal.order_id).into())
        }
    }

    /// The operator lets a waiting withdrawal go: the worker sends it.
    pub async fn approve(&self, order_id: &str) -> Result<Withdrawal, EngineError> {
        let waiting = self.waiting(order_id).await?;
        if !self.withdrawals.approve_withdrawal(order_id).await? {
            return Err(Rejection::NotWaitingForApproval(waiting.order_id).into());
        }
        Ok(Withdrawal {
            approval: Approval::Approved,
            ..waiting
        })
    }

    /// The operator refuses a waiting withdrawal: its reservation goes back
    /// to the merchant and it is notified (v2 `Rejected`, v1 `failed`), once.
    pub async fn reject(
        &self,
        order_id: &str,
        now_unix_ms: i64,
    ) -> Result<Withdrawal, EngineError> {
        let waiting = self.waiting(order_id).await?;
        let (coin, token) = self
            .registry
            .token(&waiting.token_id)
            .ok_or_else(|| Rejection::TokenNotFound(waiting.token_id.to_string()))?;
        let now_secs = now_unix_ms.div_euclid(1000);
        let rejected = Withdrawal {
            status: WithdrawalStatus::Failed,
            approval: Approval::Rejected,
            resolved_at: Some(now_secs),
            ..waiting
        };
        let entry = JournalEntry::transfer(
            payer_reserved(&rejected),
            payer_available(&rejected),
            coin.id.clone(),
            rejected.debit,
        )?;
        let meta = EntryMeta {
            kind: WITHDRAWAL_KIND,
            reason: format!("withdrawal {} rejected", rejected.order_id),
            created_at: now_secs,
        };
        let webhook = self
            .webhook(&rejected, coin, token, "failed", now_unix_ms)
            .await?;
        if !self
            .withdrawals
            .reject_withdrawal(order_id, now_secs, &entry, &meta, &webhook)
            .await?
        {
            return Err(Rejection::NotWaitingForApproval(rejected.order_id).into());
        }
        self.store.balances_changed(&rejected.app_id);
        Ok(rejected)
    }

    /// `getWithdrawFee`: the network fee of `token` now, kept under a new
    /// inquiry id that a withdrawal of this merchant on this token may pass
    /// within [`FEE_QUOTE_VALID_MS`] to be charged exactly it.
    pub async fn quote_fee(
        &self,
        app_id: &MerchantId,
        coin: &Coin,
        token: &Token,
        now_unix_ms: i64,
    ) -> Result<FeeQuote, EngineError> {
        let adapter = self.chains.get(token.chain.as_str())?;
        let quote = FeeQuote {
            inquiry_id: self.ids.next(now_unix_ms),
            app_id: app_id.clone(),
            token_id: token.id.clone(),
            fee: self.network_fee(adapter.as_ref(), coin, token, now_unix_ms),
            expires_at_ms: now_unix_ms.saturating_add(FEE_QUOTE_VALID_MS),
        };
        self.withdrawals.save_fee_quote(&quote, now_unix_ms).await?;
        Ok(quote)
    }

    /// The fee of a quote this merchant got for this token and may still use.
    async fn quoted_fee(
        &self,
        app_id: &MerchantId,
        inquiry_id: &str,
        coin: &Coin,
        token: &Token,
        now_unix_ms: i64,
    ) -> Result<Amount, EngineError> {
        let refused = |why: String| {
            EngineError::from(Rejection::FeeQuoteInvalid(format!(
                "networkFeeInquiryID {why}; ask getWithdrawFee for a new one"
            )))
        };
        // Another merchant's quote is answered like an unknown one: ids are
        // not a way to learn what others asked.
        let quote = match self.withdrawals.fee_quote(inquiry_id).await? {
            Some(quote) if quote.app_id == *app_id => quote,
            _ => return Err(refused("is not a quote this merchant was given".into())),
        };
        if quote.token_id != token.id {
            return Err(refused(format!(
                "was quoted for another coin or chain, not {} on {}",
                coin.symbol, token.chain
            )));
        }
        if quote.expires_at_ms <= now_unix_ms {
            return Err(refused(format!(
                "has expired ({} minutes after it was quoted)",
                FEE_QUOTE_VALID_MS / 60_000
            )));
        }
        Ok(quote.fee)
    }

    /// The price source's USD price of `coin` now: what a minimum counted in
    /// USD is judged by (a wallet transfer's, decisions §35).
    pub(crate) fn coin_price(
        &self,
        coin: &ccgate_ledger::CoinId,
        now_unix_ms: i64,
    ) -> Result<ccgate_ledger::Decimal, EngineError> {
        Ok(self.prices.coin_price(coin, now_unix_ms)?)
    }

    /// What a chain payout of `token` costs, in `coin`'s base units: a gas
    /// fee paid in another coin (an ERC-20's gas, in the native coin) is
    /// turned into the token at the current prices, rounded up; without both
    /// prices, the adapter's estimate (the configured fee) stands.
    pub fn network_fee(
        &self,
        adapter: &dyn ChainAdapter,
        coin: &Coin,
        token: &Token,
        now_unix_ms: i64,
    ) -> Amount {
        let Some(gas) = adapter.gas_fee(token) else {
            return adapter.fee_estimate(token);
        };
        match self.gas_in_coin(&gas, coin, token, now_unix_ms) {
            Ok(fee) => fee,
            Err(why) => {
                tracing::debug!(token = %token.id, %why, "gas fee not converted; configured fee used");
                adapter.fee_estimate(token)
            }
        }
    }

    fn gas_in_coin(
        &self,
        gas: &GasFee,
        coin: &Coin,
        token: &Token,
        now_unix_ms: i64,
    ) -> Result<Amount, String> {
        let gas_price = self
            .prices
            .coin_price(&gas.coin_id, now_unix_ms)
            .map_err(|err| err.to_string())?;
        let coin_price = self
            .prices
            .coin_price(&coin.id, now_unix_ms)
            .map_err(|err| err.to_string())?;
        let gas_amount = Decimal::parse(&gas.amount.to_decimal_string(gas.coin_precision))
            .map_err(|err| err.to_string())?;
        gas_in_token(gas_amount, gas_price, coin_price, coin, token).map_err(|err| err.to_string())
    }

    /// v1's `network/fee`: what a withdrawal of the network `named` to
    /// `address` would be charged now (docs/decisions.md §9): nothing to a
    /// Cwallet id, which never touches the chain; the network fee to any
    /// chain address, this gateway's own deposit addresses included, since
    /// such a withdrawal is sent on the chain like any other.
    pub async fn fee_to(
        &self,
        named: &str,
        address: Option<&str>,
        now_unix_ms: i64,
    ) -> Result<NetworkFee<'_>, EngineError> {
        let (coin, token) = network_named(&self.registry, named, false)?;
        let adapter = self.chains.get(token.chain.as_str())?;
        let to_cwallet = match address.map(str::trim) {
            Some(address) => self.store.cwallet(address).await?.is_some(),
            None => false,
        };
        let fee = if to_cwallet {
            Amount::ZERO
        } else {
            self.network_fee(adapter.as_ref(), coin, token, now_unix_ms)
        };
        Ok(NetworkFee { coin, token, fee })
    }

    /// Refuses what `request` would refuse of a chain withdrawal's
    /// destination: an address not of `token`'s chain, or no memo where
    /// the chain needs one (the dashboard asks before a code is spent).
    pub fn check_destination(
        &self,
        token: &Token,
        address: &str,
        memo: Option<&str>,
    ) -> Result<(), EngineError> {
        self.chains
            .get(token.chain.as_str())?
            .validate_address(address)
            .map_err(ChainError::InvalidAddress)?;
        if token.memo_supported && memo.is_none() {
            return Err(Rejection::MemoRequired(token.chain.to_string()).into());
        }
        Ok(())
    }

    /// The USD value of a fee, when the price is at hand.
    fn fee_value(&self, coin: &Coin, fee: Amount, now_unix_ms: i64) -> Option<String> {
        let price = self.prices.coin_price(&coin.id, now_unix_ms).ok()?;
        let fee = Decimal::parse(&fee.to_decimal_string(coin.precision)).ok()?;
        fee.checked_mul(price).ok().map(|value| value.to_string())
    }

    /// The webhook reporting `withdrawal`'s outcome (v1's `pay_status`), in
    /// its dialect: a refund as the refunded order's `Refund`.
    async fn webhook(
        &self,
        withdrawal: &Withdrawal,
        coin: &Coin,
        token: &Token,
        pay_status: &str,
        now_unix_ms: i64,
    ) -> Result<NewWebhook, EngineError> {
        let notice = match &withdrawal.refund_of {
            Some(order_id) => Notice::Refund {
                refund: withdrawal,
                coin,
                token,
                pay_status,
                merchant_order_id: self
                    .orders
                    .order(order_id)
                    .await?
                    .map(|order| order.merchant_order_id)
                    .unwrap_or_default(),
            },
            None => Notice::Withdrawal {
                withdrawal,
                coin,
                token,
                pay_status,
                fee_value: self.fee_value(coin, withdrawal.network_fee, now_unix_ms),
            },
        };
        // A refund goes to the merchant's webhook URL; a withdrawal to its
        // own notifyUrl (v2's) or else there.
        let url = match notice {
            Notice::Refund { .. } => None,
            _ => withdrawal.notify_url.clone(),
        };
        notice.webhook(&withdrawal.app_id, withdrawal.dialect, url, now_unix_ms)
    }

    /// One pass of the worker: sends accepted withdrawals, then posts the
    /// confirmed and voids the refused ones. Returns how many moved.
    pub async fn tick(&self, now_unix_ms: i64) -> Result<usize, EngineError> {
        let mut moved = 0;
        for withdrawal in self.withdrawals.open_withdrawals(WORKER_BATCH_MAX).await? {
            let Some((coin, token)) = self.registry.token(&withdrawal.token_id) else {
                tracing::warn!(order_id = %withdrawal.order_id, "withdrawal of a token no longer configured waits");
                continue;
            };
            let adapter = self.chains.get(&withdrawal.chain)?;
            let resolved = match withdrawal.status {
                WithdrawalStatus::Pending => {
                    self.send(adapter.as_ref(), &withdrawal, coin, token, now_unix_ms)
                        .await?
                }
                WithdrawalStatus::Processing => {
                    self.confirm(adapter.as_ref(), &withdrawal, coin, token, now_unix_ms)
                        .await?
                }
                WithdrawalStatus::Successful | WithdrawalStatus::Failed => false,
            };
            if resolved {
                self.store.balances_changed(&withdrawal.app_id);
                moved += 1;
            }
        }
        Ok(moved)
    }

    async fn send(
        &self,
        adapter: &dyn ChainAdapter,
        withdrawal: &Withdrawal,
        coin: &Coin,
        token: &Token,
        now_unix_ms: i64,
    ) -> Result<bool, EngineError> {
        let sent = self
            .pay_out(
                adapter.chain().code.as_str(),
                &withdrawal.order_id,
                &withdrawal.to_address,
                token,
                withdrawal.net_receivable,
                now_unix_ms,
            )
            .await;
        match sent {
            Ok(sent) => {
                self.withdrawals
                    .mark_withdrawal_sent(&withdrawal.order_id, &sent.txid, sent.block_height)
                    .await?;
                Ok(false)
            }
            Err(EngineError::Chain(ChainError::SendFailed(reason))) => {
                tracing::warn!(order_id = %withdrawal.order_id, %reason, "withdrawal failed; voided");
                self.resolve(
                    withdrawal,
                    coin,
                    token,
                    WithdrawalStatus::Failed,
                    None,
                    now_unix_ms,
                )
                .await
            }
            Err(other) => Err(other),
        }
    }

    /// Pays `amount` of `token` to `to` on chain `code`, once per
    /// `payout_id` however often asked: an EVM chain's payout signed once
    /// and stored before its broadcast (`payouts`), the devnet's by itself.
    async fn pay_out(
        &self,
        code: &str,
        payout_id: &str,
        to: &str,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<Sent, EngineError> {
        match self.chains.evm(code) {
            Some(evm) => {
                self.payouts
                    .send(evm, payout_id, to, token, amount, now_unix_ms)
                    .await
            }
            None => Ok(self
                .chains
                .devnet(code)?
                .send(payout_id, to, token, amount, now_unix_ms)
                .await?),
        }
    }

    /// Where payout `payout_id`, sent as `txid`, stands on chain `code`.
    async fn payout_state(
        &self,
        code: &str,
        payout_id: &str,
        txid: &str,
        now_unix_ms: i64,
    ) -> Result<PayoutState, EngineError> {
        match self.chains.evm(code) {
            Some(evm) => self.payouts.state(evm, payout_id, txid, now_unix_ms).await,
            None => Ok(self.chains.devnet(code)?.payout_state(txid).await?),
        }
    }

    async fn confirm(
        &self,
        adapter: &dyn ChainAdapter,
        withdrawal: &Withdrawal,
        coin: &Coin,
        token: &Token,
        now_unix_ms: i64,
    ) -> Result<bool, EngineError> {
        let mut withdrawal = withdrawal.clone();
        // The block to wait for (confirmations), the outcome once it has
        // them, and the gas the chain charged.
        let (block, status, gas) = match withdrawal.block_height {
            Some(block) => (Some(block), WithdrawalStatus::Successful, None),
            // Asked on every tick until posted: a reorganisation may move
            // the transaction to another block, or back to the mempool.
            None => {
                let state = self
                    .payout_state(
                        adapter.chain().code.as_str(),
                        &withdrawal.order_id,
                        &withdrawal.txid,
                        now_unix_ms,
                    )
                    .await?;
                // A payout replaced in the mempool lands (or waits) under
                // another transaction: the record and its webhook say which.
                if state.txid() != withdrawal.txid {
                    self.withdrawals
                        .record_withdrawal_txid(&withdrawal.order_id, state.txid())
                        .await?;
                    withdrawal.txid = state.txid().to_owned();
                }
                match state {
                    PayoutState::Pending { .. } => return Ok(false),
                    // Another transaction took its nonce and is confirmed
                    // already: it can never be mined.
                    PayoutState::Superseded { .. } => (None, WithdrawalStatus::Failed, None),
                    PayoutState::Included {
                        block_height, gas, ..
                    } => (Some(block_height), WithdrawalStatus::Successful, gas),
                    // Voided only once the failure itself is confirmed: a
                    // reorganisation could still include it again, and succeed.
                    PayoutState::Reverted {
                        block_height, gas, ..
                    } => (Some(block_height), WithdrawalStatus::Failed, gas),
                }
            }
        };
        if let Some(block) = block {
            let height = adapter.height(now_unix_ms).await?;
            if adapter
                .chain()
                .confirmed_height(height)
                .is_none_or(|confirmed| confirmed < block)
            {
                return Ok(false);
            }
        }
        if status == WithdrawalStatus::Failed {
            tracing::warn!(order_id = %withdrawal.order_id, txid = %withdrawal.txid, ?block,
                "withdrawal reverted on chain, or its nonce taken by another transaction; voided");
        }
        self.resolve(&withdrawal, coin, token, status, gas.as_ref(), now_unix_ms)
            .await
    }

    /// Posts (success) or voids (failure) the reservation, once. A payout
    /// posted sends the net to the chain (custody) and keeps the network
    /// fee the merchant paid as the operator's (like a deposit's fee); the
    /// gas the chain charged, paid or not, is the operator's cost, taken from
    /// custody in the native coin — so custody follows what the chain holds.
    async fn resolve(
        &self,
        withdrawal: &Withdrawal,
        coin: &Coin,
        token: &Token,
        status: WithdrawalStatus,
        gas: Option<&GasFee>,
        now_unix_ms: i64,
    ) -> Result<bool, EngineError> {
        let reserved = payer_reserved(withdrawal);
        let custody = Account::ChainCustody(token.chain.clone());
        let (pay_status, what) = match status {
            WithdrawalStatus::Successful => ("success", "posted"),
            _ => ("failed", "voided"),
        };
        let mut postings = vec![posting(
            reserved,
            &coin.id,
            Direction::Debit,
            withdrawal.debit,
        )];
        match status {
            WithdrawalStatus::Successful => {
                // The debit is the net plus the fee, whoever paid the fee.
                let fee = withdrawal
                    .debit
                    .checked_sub(withdrawal.net_receivable)
                    .ok_or(LedgerError::AmountOverflow)?;
                postings.push(posting(
                    custody.clone(),
                    &coin.id,
                    Direction::Credit,
                    withdrawal.net_receivable,
                ));
                postings.push(posting(
                    Account::OperatorFees,
                    &coin.id,
                    Direction::Credit,
                    fee,
                ));
            }
            _ => postings.push(posting(
                payer_available(withdrawal),
                &coin.id,
                Direction::Credit,
                withdrawal.debit,
            )),
        }
        if let Some(gas) = gas {
            postings.push(posting(
                Account::OperatorNetworkCosts,
                &gas.coin_id,
                Direction::Debit,
                gas.amount,
            ));
            postings.push(posting(
                custody,
                &gas.coin_id,
                Direction::Credit,
                gas.amount,
            ));
        }
        postings.retain(|posting| !posting.amount.is_zero());
        let entry = JournalEntry::new(postings)?;
        let mut resolved = withdrawal.clone();
        resolved.status = status;
        let webhook = self
            .webhook(&resolved, coin, token, pay_status, now_unix_ms)
            .await?;
        let now_secs = now_unix_ms.div_euclid(1000);
        let meta = EntryMeta {
            kind: WITHDRAWAL_KIND,
            reason: format!("withdrawal {} {what}", withdrawal.order_id),
            created_at: now_secs,
        };
        Ok(self
            .withdrawals
            .resolve_withdrawal(
                &withdrawal.order_id,
                status,
                now_secs,
                &entry,
                &meta,
                &webhook,
            )
            .await?)
    }
}

fn posting(account: Account, coin: &CoinId, direction: Direction, amount: Amount) -> Posting {
    Posting {
        account,
        coin: coin.clone(),
        direction,
        amount,
    }
}

/// Where a withdrawal's money comes from: the merchant's available balance,
/// or its wallet user's account (decisions §28).
fn payer_available(withdrawal: &Withdrawal) -> Account {
    match &withdrawal.user_id {
        None => Account::MerchantAvailable(withdrawal.app_id.clone()),
        Some(user_id) => Account::User(withdrawal.app_id.clone(), user_id.clone()),
    }
}

/// Where a withdrawal's money waits while it is in flight.
fn payer_reserved(withdrawal: &Withdrawal) -> Account {
    match &withdrawal.user_id {
        None => Account::MerchantReserved(withdrawal.app_id.clone()),
        Some(user_id) => Account::UserReserved(withdrawal.app_id.clone(), user_id.clone()),
    }
}

/// A repeated order id answers its withdrawal only when the same payer
/// asked the same (decisions §15, §28); else it is taken (11011).
fn same_or_duplicate(
    withdrawal: Withdrawal,
    fingerprint: &str,
    user_id: Option<&str>,
    merchant_order_id: &str,
) -> Result<Withdrawal, EngineError> {
    if withdrawal.fingerprint == fingerprint && withdrawal.user_id.as_deref() == user_id {
        Ok(withdrawal)
    } else {
        Err(
            Rejection::DuplicateMerchantOrderId(merchant_order_id.chars().take(64).collect())
                .into(),
        )
    }
}

/// Gas paid in another coin (`gas_amount` of a coin worth `gas_price`) as a
/// fee in `token`, rounded **up at the token's precision** on its chain and
/// held at the coin's: the fee, and so the net a payee receives, must be a
/// whole number of the token's chain units (USDT keeps 18 places for BSC, but
/// an ERC-20 USDT moves in units of 10^-6).
fn gas_in_token(
    gas_amount: Decimal,
    gas_price: Decimal,
    coin_price: Decimal,
    coin: &Coin,
    token: &Token,
) -> Result<Amount, LedgerError> {
    gas_amount
        .checked_mul(gas_price)?
        .checked_div(coin_price, token.precision, Rounding::Up)?
        .rescale(token.precision, coin.precision)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ccgate_ledger::Registry;
    use proptest::prelude::*;

    use super::*;

    fn decimal(units: u64, places: u8) -> Decimal {
        Decimal::parse(
            &Amount::from_base_units(u128::from(units))
                .to_decimal_string(ccgate_ledger::Precision::new(places).unwrap()),
        )
        .unwrap()
    }

    /// The quote that voided every payee-pays ERC-20 withdrawal: 0.30468940918
    /// USDT is no amount an ERC-20 USDT (6 places) can move.
    #[test]
    fn an_erc20_fee_is_whole_in_the_tokens_units() {
        let registry = Registry::builtin();
        let (usdt, erc20) = registry
            .token(&TokenId::new("2728e271-9f5d-4c05-8aa7-4a87b1afcc95"))
            .unwrap();
        let fee = gas_in_token(
            Decimal::parse("0.00010323").unwrap(),
            Decimal::parse("2951.5").unwrap(),
            Decimal::parse("1").unwrap(),
            usdt,
            erc20,
        )
        .unwrap();
        assert_eq!(fee.to_decimal_string(usdt.precision), "0.304684");
    }

    proptest! {
        /// Over every built-in token: whatever the gas and the prices, the fee
        /// and the net of any whole amount are whole chain units of the token.
        #[test]
        fn fee_and_net_are_whole_chain_units_of_every_token(
            gas_units in 1u64..10_000_000_000,
            gas_price_cents in 1u64..100_000_000,
            coin_price_cents in 1u64..100_000_000,
            value_units in 1u64..u64::MAX,
        ) {
            let registry = Registry::builtin();
            for coin in registry.coins() {
                for token in &coin.tokens {
                    let unit = 10u128.pow(u32::from(coin.precision.get() - token.precision.get()));
                    let fee = gas_in_token(
                        decimal(gas_units, 9),
                        decimal(gas_price_cents, 2),
                        decimal(coin_price_cents, 2),
                        coin,
                        token,
                    )
                    .unwrap();
                    prop_assert_eq!(fee.base_units() % unit, 0, "{} fee {:?}", token.id, fee);
                    prop_assert!(!fee.is_zero());
                    let value = Amount::from_base_units(u128::from(value_units) * unit);
                    if let Some(net) = value.checked_sub(fee) {
                        prop_assert_eq!(net.base_units() % unit, 0);
                    }
                }
            }
        }
    }
}
