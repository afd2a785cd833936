//! Sandbox triggers (like `stripe trigger`): each builds what it needs for one
//! business event — an order, a deposit address, a balance, a withdrawal —
//! drives the devnet and the virtual clock until the event has happened and
//! settled, and reports what happened and which webhooks went out.

use std::sync::Arc;

use ccgate_chain::address::to_checksum_address;
use ccgate_chain::{ChainSet, DevnetPayment};
use ccgate_ledger::{
    Account, Amount, Chain, Coin, JournalEntry, MerchantId, Registry, Token, TokenId,
};
use ccgate_store::{
    DepositAddress, DepositRecordFilter, DepositRecords, DevnetStore, EntryMeta, Order, OrderStore,
    OutboxStore, Store, WebhookDialect, WebhookRow, WithdrawalStore,
};
use serde_json::{Value, json};

use crate::addresses::AddressBook;
use crate::batch_withdrawals::{BatchWithdrawals, NewBatch, NewTask};
use crate::clock::Clock;
use crate::notices::v2_status;
use crate::orders::{NativeOrderRequest, Orders, Validity};
use crate::sandbox::Sandbox;
use crate::swaps::{SwapAsk, SwapParty, Swaps};
use crate::wallets::{TransferRequest, Wallets};
use crate::withdrawals::{Asset, Destination, WithdrawalRequest, Withdrawals};
use crate::{EngineError, Rejection};

/// A trigger: its name, what it does, and why it has no v2 form if it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub name: &'static str,
    pub description: &'static str,
    /// `None`: it runs in v2 too, making its objects as the v2 API would.
    pub no_v2_because: Option<&'static str>,
    /// `None`: it runs in v1 too; a v2-only object (a batch withdrawal)
    /// says why not.
    pub no_v1_because: Option<&'static str>,
}

impl Trigger {
    /// The dialects it runs in.
    pub fn dialects(&self) -> &'static [WebhookDialect] {
        match (self.no_v1_because, self.no_v2_because) {
            (None, None) => &[WebhookDialect::V1, WebhookDialect::V2],
            (None, Some(_)) => &[WebhookDialect::V1],
            (Some(_), None) => &[WebhookDialect::V2],
            (Some(_), Some(_)) => &[],
        }
    }
}

/// Why the wallet system's triggers run in v2 only.
const WALLET_V2_ONLY: &str = "v1 has no wallet system: a merchant's users and their balances are v2's (docs/decisions.md §24)";

/// The triggers, with what each does.
pub const TRIGGERS: [Trigger; 15] = [
    Trigger {
        name: "order.paid",
        description: "an order (v1 bill/create, v2 createAppOrderDepositAddress) paid in full and confirmed: API Deposit / ApiDeposit webhook, order Successful",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "order.underpaid",
        description: "an order paid half its amount and confirmed: the order stays Pending, the payment is credited",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "order.overpaid",
        description: "an order paid one and a half times its amount and confirmed: Successful, all of it credited",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "order.paid_late",
        description: "an order left to expire, then paid in full: credited, the order stays Expired",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "order.expired",
        description: "an order nobody pays, past its validity: Expired",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "deposit.direct",
        description: "a deposit to the merchant's permanent address for user `trigger-user` (v2: `trigger-user-v2`), confirmed: Direct Deposit / DirectDeposit webhook",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "withdrawal.succeeded",
        description: "a deposit to fund it, then a withdrawal sent and confirmed: API Withdrawal webhook `success` (v2: ApiWithdrawal `Success`)",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "withdrawal.failed",
        description: "a deposit to fund it, then a withdrawal whose send the devnet refuses: voided, webhook `failed` (v2: `Failed`)",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "swap.succeeded",
        description: "a deposit to fund it, the treasury funded by an operator adjustment, then the deposit's coin swapped into another at its quote (v2 `swap`; swaps send no webhook, so none is in either dialect)",
        no_v2_because: None,
        no_v1_because: None,
    },
    Trigger {
        name: "refund.succeeded",
        description: "a paid order, then half of it refunded to the payer and confirmed: Refund webhook",
        no_v2_because: Some(
            "v2 has no refund: an operator's refund is notified as v1's `Refund` whatever its order's dialect, and v2 neither lists nor finds it (docs/decisions.md §15)",
        ),
        no_v1_because: None,
    },
    Trigger {
        name: "batch_withdrawal.completed",
        description: "a deposit to fund it, then a v2 batch withdrawal of two tasks confirmed, sent and confirmed: one ApiWithdrawal `Success` per task, the batch Completed",
        no_v2_because: None,
        no_v1_because: Some(
            "v1 has no batch withdrawal: applyBatchWithdraw is v2's (docs/decisions.md §26)",
        ),
    },
    Trigger {
        name: "user.deposit",
        description: "a deposit to the address of wallet user `trigger-wallet-user`, confirmed: the user is credited (not the merchant), UserDeposit webhook",
        no_v2_because: None,
        no_v1_because: Some(WALLET_V2_ONLY),
    },
    Trigger {
        name: "user.transfer",
        description: "a deposit to fund wallet user `trigger-wallet-user`, then a userTransfer of 5 to `trigger-wallet-user-2`: instant, no webhook",
        no_v2_because: None,
        no_v1_because: Some(WALLET_V2_ONLY),
    },
    Trigger {
        name: "user.withdrawal.succeeded",
        description: "a deposit to fund wallet user `trigger-wallet-user`, then its withdrawal of 5 on the chain, sent and confirmed: UserWithdrawal `Success`",
        no_v2_because: None,
        no_v1_because: Some(WALLET_V2_ONLY),
    },
    Trigger {
        name: "user.withdrawal.failed",
        description: "a deposit to fund wallet user `trigger-wallet-user`, then its withdrawal of 5 whose send the devnet refuses: voided, the 5 back with the user, UserWithdrawal `Failed`",
        no_v2_because: None,
        no_v1_because: Some(WALLET_V2_ONLY),
    },
];

/// USDT on ETH (ERC20): what triggers pay in unless told otherwise.
pub const TRIGGER_TOKEN_DEFAULT: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
/// Each trigger's order is priced at this many USD.
const ORDER_PRICE_USD: &str = "10";
/// Seconds a trigger's order is valid for.
const ORDER_VALID_SECS: u64 = 1_800;
/// What a trigger withdraws or refunds, in the token.
const PAYOUT: &str = "5";
/// What a funding deposit brings, in the token.
const FUNDING: &str = "100";
/// The merchant's user whose permanent address direct deposits go to.
const TRIGGER_USER: &str = "trigger-user";
/// The wallet user the wallet system's triggers fund, and the one a transfer pays.
const TRIGGER_WALLET_USER: &str = "trigger-wallet-user";
const TRIGGER_WALLET_PAYEE: &str = "trigger-wallet-user-2";
/// The same in v2: another user, because an address keeps the dialect that
/// made it, so one user cannot have a v1 and a v2 address on one chain.
const TRIGGER_USER_V2: &str = "trigger-user-v2";
/// What a v2 trigger's order is priced in (v2's `fiatId` 1033), so that it
/// asks the same amount as v1's order, priced in USD by default.
const ORDER_FIAT_V2: &str = "USD";

/// What to trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerRequest {
    pub name: String,
    pub app_id: MerchantId,
    /// An order (or withdrawal) id of the merchant's to use instead of a new one.
    pub merchant_order_id: Option<String>,
    pub token_id: Option<String>,
    /// The API whose objects it makes, and so the dialect of their webhooks.
    pub dialect: WebhookDialect,
}

/// What a trigger did.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerReport {
    pub name: String,
    /// One sentence per step, in order.
    pub steps: Vec<String>,
    /// The objects involved and their state at the end.
    pub objects: Value,
    /// Webhooks queued while it ran, oldest first.
    pub webhooks: Vec<WebhookRow>,
}

/// What a trigger runs on: the running gateway's parts, in sandbox mode.
#[derive(Debug, Clone)]
pub struct Triggers {
    pub registry: Arc<Registry>,
    pub chains: Arc<ChainSet>,
    pub orders: Arc<Orders>,
    pub addresses: Arc<AddressBook>,
    pub withdrawals: Arc<Withdrawals>,
    pub batch_withdrawals: Arc<BatchWithdrawals>,
    pub store: Arc<dyn Store>,
    pub order_store: Arc<dyn OrderStore>,
    /// The devnets' planned send failures.
    pub devnet: Arc<dyn DevnetStore>,
    pub deposit_records: Arc<dyn DepositRecords>,
    pub outbox: Arc<dyn OutboxStore>,
    pub withdrawal_store: Arc<dyn WithdrawalStore>,
    pub swaps: Arc<Swaps>,
    pub wallets: Arc<Wallets>,
    pub clock: Arc<dyn Clock>,
    pub sandbox: Arc<Sandbox>,
}

/// One run: the request's choices resolved, and the steps told so far.
struct Run<'a> {
    triggers: &'a Triggers,
    app_id: MerchantId,
    coin: &'a Coin,
    token: &'a Token,
    chain: &'a Chain,
    merchant_order_id: String,
    dialect: WebhookDialect,
    steps: Vec<String>,
}

impl Triggers {
    pub async fn run(&self, request: &TriggerRequest) -> Result<TriggerReport, EngineError> {
        let Some(trigger) = TRIGGERS.iter().find(|t| t.name == request.name) else {
            let known: Vec<&str> = TRIGGERS.iter().map(|t| t.name).collect();
            return Err(EngineError::Sandbox(format!(
                "no trigger {:?}; there are {}",
                request.name.chars().take(64).collect::<String>(),
                known.join(", ")
            )));
        };
        if let (WebhookDialect::V2, Some(why)) = (request.dialect, trigger.no_v2_because) {
            return Err(EngineError::Sandbox(format!(
                "{} runs in v1 only: {why}",
                trigger.name
            )));
        }
        if let (WebhookDialect::V1, Some(why)) = (request.dialect, trigger.no_v1_because) {
            return Err(EngineError::Sandbox(format!(
                "{} runs in v2 only (--dialect v2): {why}",
                trigger.name
            )));
        }
        if self
            .store
            .merchant_credentials(request.app_id.as_str())
            .await?
            .is_none()
        {
            return Err(EngineError::Sandbox(format!(
                "no merchant {}",
                request.app_id.as_str().chars().take(64).collect::<String>()
            )));
        }
        let token_id = request
            .token_id
            .clone()
            .unwrap_or_else(|| TRIGGER_TOKEN_DEFAULT.to_owned());
        let (coin, token) = self
            .registry
            .token(&TokenId::new(token_id.as_str()))
            .ok_or_else(|| Rejection::TokenNotFound(token_id.chars().take(64).collect()))?;
        let chain = self
            .registry
            .chain(token.chain.as_str())
            .ok_or_else(|| Rejection::UnknownChain(token.chain.to_string()))?;
        let before = self.last_webhook_id(&request.app_id).await?;
        let merchant_order_id = request.merchant_order_id.clone().unwrap_or_else(|| {
            format!(
                "trigger-{}-{}",
                request.name.replace('.', "-"),
                self.clock.now_unix_ms()
            )
        });
        let mut run = Run {
            triggers: self,
            app_id: request.app_id.clone(),
            coin,
            token,
            chain,
            merchant_order_id,
            dialect: request.dialect,
            steps: Vec::new(),
        };
        let objects = match request.name.as_str() {
            "order.paid" => run.order_paid_with(1, 1, false).await?,
            "order.underpaid" => run.order_paid_with(1, 2, false).await?,
            "order.overpaid" => run.order_paid_with(3, 2, false).await?,
            "order.paid_late" => run.order_paid_with(1, 1, true).await?,
            "order.expired" => run.order_expired().await?,
            "deposit.direct" => run.direct_deposit(FUNDING).await?,
            "withdrawal.succeeded" => run.withdrawal(false).await?,
            "withdrawal.failed" => run.withdrawal(true).await?,
            "batch_withdrawal.completed" => run.batch_withdrawal().await?,
            "swap.succeeded" => run.swap().await?,
            "user.deposit" => run.user_deposit().await?,
            "user.transfer" => run.user_transfer().await?,
            "user.withdrawal.succeeded" => run.user_withdrawal(false).await?,
            "user.withdrawal.failed" => run.user_withdrawal(true).await?,
            _ => run.refund().await?,
        };
        let webhooks = self.webhooks_since(&request.app_id, before).await?;
        Ok(TriggerReport {
            name: request.name.clone(),
            steps: run.steps,
            objects,
            webhooks,
        })
    }

    async fn last_webhook_id(&self, app_id: &MerchantId) -> Result<i64, EngineError> {
        Ok(self
            .outbox
            .list_webhooks(Some(app_id), 1)
            .await?
            .first()
            .map_or(0, |row| row.id))
    }

    async fn webhooks_since(
        &self,
        app_id: &MerchantId,
        after_id: i64,
    ) -> Result<Vec<WebhookRow>, EngineError> {
        let mut rows: Vec<WebhookRow> = self
            .outbox
            .list_webhooks(Some(app_id), 1_000)
            .await?
            .into_iter()
            .filter(|row| row.id > after_id)
            .collect();
        rows.reverse();
        Ok(rows)
    }
}

impl Run<'_> {
    fn now_ms(&self) -> i64 {
        self.triggers.clock.now_unix_ms()
    }

    fn decimal(&self, amount: Amount) -> String {
        amount.to_decimal_string(self.coin.precision)
    }

    /// Advances the clock far enough for a payment made now to be confirmed
    /// and everything it causes to settle.
    async fn confirm(&mut self) -> Result<(), EngineError> {
        let blocks = self.chain.confirmations_required.saturating_add(2);
        let by_ms = blocks.saturating_mul(self.chain.block_time_ms.max(1));
        let advanced = self.triggers.sandbox.advance(by_ms).await?;
        self.steps.push(format!(
            "advanced the clock {} s to {} confirmations on {}",
            by_ms / 1000,
            self.chain.confirmations_required,
            self.chain.code
        ));
        if advanced.work_done == 0 {
            self.steps.push("nothing fell due on the way".to_owned());
        }
        Ok(())
    }

    /// Advances the clock to one second past the order's validity.
    async fn advance_past_expiry(&mut self, order: &Order) -> Result<(), EngineError> {
        let left = order
            .expires_at
            .saturating_sub(self.now_ms().div_euclid(1000))
            .max(0)
            .unsigned_abs()
            .saturating_add(1);
        self.triggers
            .sandbox
            .advance(left.saturating_mul(1000))
            .await?;
        self.steps.push(format!(
            "advanced the clock {left} s, past the order's expiry"
        ));
        Ok(())
    }

    async fn pay(&mut self, to: &str, amount: Amount) -> Result<String, EngineError> {
        let devnet = self.triggers.chains.devnet(self.chain.code.as_str())?;
        let transfer = devnet
            .pay(
                DevnetPayment {
                    to_address: to.to_owned(),
                    from_address: payer_address(self.chain),
                    memo: String::new(),
                    token_id: self.token.id.clone(),
                    amount,
                },
                self.now_ms(),
            )
            .await?;
        self.steps.push(format!(
            "paid {} {} to {to} on {} (txid {}, block {})",
            self.decimal(amount),
            self.coin.symbol,
            self.chain.code,
            transfer.txid,
            transfer.block_height
        ));
        Ok(transfer.txid)
    }

    /// Refuses, in a v2 run, an object that v1 made: its webhooks would be v1.
    /// (A v1 run uses what it finds, as it always has.)
    fn refuse_v1_object(
        &self,
        what: &str,
        id: &str,
        dialect: WebhookDialect,
    ) -> Result<(), EngineError> {
        if self.dialect == WebhookDialect::V2 && dialect != WebhookDialect::V2 {
            return Err(EngineError::Sandbox(format!(
                "{what} {id} was made through v1, so its webhooks are v1; \
                 pass another --merchant-order-id or run the trigger without --dialect v2"
            )));
        }
        Ok(())
    }

    /// The merchant's order with the run's merchant_order_id, made now if new:
    /// v1's `bill/create` or v2's `createAppOrderDepositAddress`.
    async fn order(&mut self) -> Result<Order, EngineError> {
        if let Some(existing) = self
            .triggers
            .order_store
            .order_by_merchant_order_id(&self.app_id, &self.merchant_order_id, "native")
            .await?
        {
            self.refuse_v1_object("order", &existing.merchant_order_id, existing.dialect)?;
            self.steps.push(format!(
                "using order {} ({})",
                existing.order_id, existing.merchant_order_id
            ));
            return Ok(existing);
        }
        let request = match self.dialect {
            WebhookDialect::V1 => NativeOrderRequest {
                product_price: ORDER_PRICE_USD.to_owned(),
                merchant_order_id: self.merchant_order_id.clone(),
                denominated_currency: None,
                validity: Validity::Period(Some(ORDER_VALID_SECS)),
                notify_url: None,
                custom_value: None,
                remark: Some("sandbox trigger".to_owned()),
                product_name: String::new(),
                buyer_email: None,
                dialect: WebhookDialect::V1,
            },
            // As v2's handler builds it: `price` in the `fiatId`'s currency,
            // `expiredAt` a Unix second, `product` (v2 has no remark).
            WebhookDialect::V2 => NativeOrderRequest {
                product_price: ORDER_PRICE_USD.to_owned(),
                merchant_order_id: self.merchant_order_id.clone(),
                denominated_currency: Some(ORDER_FIAT_V2.to_owned()),
                validity: Validity::Until(
                    self.now_ms()
                        .div_euclid(1000)
                        .saturating_add_unsigned(ORDER_VALID_SECS),
                ),
                notify_url: None,
                custom_value: None,
                remark: None,
                product_name: "sandbox trigger".to_owned(),
                buyer_email: None,
                dialect: WebhookDialect::V2,
            },
        };
        let order = self
            .triggers
            .orders
            .create_native(
                &self.app_id,
                self.coin,
                self.token,
                self.chain,
                &request,
                self.now_ms(),
            )
            .await?;
        let made_by = match self.dialect {
            WebhookDialect::V1 => "",
            WebhookDialect::V2 => " through v2",
        };
        self.steps.push(format!(
            "created order {} ({}){made_by} for {} {} at {}, valid {} s",
            order.order_id,
            order.merchant_order_id,
            self.decimal(order.order_amount),
            self.coin.symbol,
            order.pay_address,
            ORDER_VALID_SECS
        ));
        Ok(order)
    }

    async fn order_state(&self, order: &Order) -> Result<Value, EngineError> {
        let crate::orders::OrderState {
            progress, payments, ..
        } = self
            .triggers
            .orders
            .progress(order, self.now_ms().div_euclid(1000))
            .await?;
        Ok(match self.dialect {
            WebhookDialect::V1 => json!({
                "order_id": order.order_id,
                "merchant_order_id": order.merchant_order_id,
                "pay_address": order.pay_address,
                "order_amount": self.decimal(order.order_amount),
                "paid": self.decimal(progress.paid),
                "status": progress.status.as_str(),
                "underpaid": progress.underpaid,
                "overpaid": progress.overpaid,
                "payments": payments.iter().map(|p| p.txid.clone()).collect::<Vec<_>>(),
            }),
            // v2 names an order by the merchant's orderId and its payments by
            // recordId, as getAppOrderInfo and the ApiDeposit webhook do.
            WebhookDialect::V2 => json!({
                "orderId": order.merchant_order_id,
                "coinId": self.coin.numeric_id,
                "coinSymbol": self.coin.symbol,
                "chain": order.chain,
                "toAddress": order.pay_address,
                "amountToPay": self.decimal(order.order_amount),
                "paid": self.decimal(progress.paid),
                "status": progress.status.as_str(),
                "underpaid": progress.underpaid,
                "overpaid": progress.overpaid,
                "paidList": payments
                    .iter()
                    .map(|p| json!({ "recordId": p.record_id, "txid": p.txid }))
                    .collect::<Vec<_>>(),
            }),
        })
    }

    /// Pays `numerator / denominator` of a new order (after its expiry if
    /// `late`) and confirms it.
    async fn order_paid_with(
        &mut self,
        numerator: u128,
        denominator: u128,
        late: bool,
    ) -> Result<Value, EngineError> {
        let order = self.order().await?;
        if late {
            self.advance_past_expiry(&order).await?;
        }
        let units = order.order_amount.base_units();
        let amount = Amount::from_base_units(
            units / denominator * numerator + units % denominator * numerator / denominator,
        );
        self.pay(&order.pay_address, amount).await?;
        self.confirm().await?;
        Ok(json!({ "order": self.order_state(&order).await? }))
    }

    async fn order_expired(&mut self) -> Result<Value, EngineError> {
        let order = self.order().await?;
        self.advance_past_expiry(&order).await?;
        Ok(json!({ "order": self.order_state(&order).await? }))
    }

    /// The run's user's permanent address on the chain, made now if new,
    /// by v1's `payment/address/get` or v2's `getOrCreateAppDepositAddress`.
    async fn permanent_address(&mut self) -> Result<DepositAddress, EngineError> {
        let user = match self.dialect {
            WebhookDialect::V1 => TRIGGER_USER,
            WebhookDialect::V2 => TRIGGER_USER_V2,
        };
        let address = self
            .triggers
            .addresses
            .permanent_address(
                &self.app_id,
                user,
                self.chain,
                None,
                self.dialect,
                self.now_ms().div_euclid(1000),
            )
            .await?;
        self.refuse_v1_object("the permanent address of user", user, address.dialect)?;
        Ok(address)
    }

    async fn direct_deposit(&mut self, amount: &str) -> Result<Value, EngineError> {
        let address = self.permanent_address().await?;
        let amount = Amount::parse_decimal(amount, self.coin.precision)?;
        let txid = self.pay(&address.address, amount).await?;
        self.confirm().await?;
        let user = address.user_id.clone().unwrap_or_default();
        Ok(match self.dialect {
            WebhookDialect::V1 => json!({
                "deposit": {
                    "user_id": user,
                    "address": address.address,
                    "txid": txid,
                    "amount": self.decimal(amount),
                }
            }),
            WebhookDialect::V2 => json!({
                "deposit": {
                    "recordId": self.record_id_of(&address.address, &txid).await?,
                    "referenceId": user,
                    "coinId": self.coin.numeric_id,
                    "coinSymbol": self.coin.symbol,
                    "chain": self.chain.code.as_str(),
                    "toAddress": address.address,
                    "txid": txid,
                    "amount": self.decimal(amount),
                }
            }),
        })
    }

    /// A funding deposit to the wallet user's address (made now if new),
    /// confirmed: the user is credited.
    async fn user_deposit(&mut self) -> Result<Value, EngineError> {
        let wallets = &self.triggers.wallets;
        let address = wallets
            .deposit_address(
                &self.app_id,
                TRIGGER_WALLET_USER,
                self.chain,
                None,
                self.now_ms().div_euclid(1000),
            )
            .await?;
        let amount = Amount::parse_decimal(FUNDING, self.coin.precision)?;
        let txid = self.pay(&address.address, amount).await?;
        self.confirm().await?;
        let records = wallets
            .deposits(&DepositRecordFilter {
                user_id: Some(TRIGGER_WALLET_USER.to_owned()),
                chain: Some(self.chain.code.to_string()),
                limit: 100,
                ..DepositRecordFilter::of_merchant(&self.app_id)
            })
            .await?;
        let record_id = records
            .into_iter()
            .find(|record| record.txid == txid)
            .map(|record| record.record_id)
            .unwrap_or_default();
        Ok(json!({
            "deposit": {
                "recordId": record_id,
                "userId": TRIGGER_WALLET_USER,
                "coinId": self.coin.numeric_id,
                "coinSymbol": self.coin.symbol,
                "chain": self.chain.code.as_str(),
                "toAddress": address.address,
                "txid": txid,
                "amount": self.decimal(amount),
            },
            "available": self.user_available(TRIGGER_WALLET_USER).await?,
        }))
    }

    /// A funding deposit, then a transfer from its user to another.
    async fn user_transfer(&mut self) -> Result<Value, EngineError> {
        let funding = self.user_deposit().await?;
        let amount = self.decimal(Amount::parse_decimal(PAYOUT, self.coin.precision)?);
        let transfer = self
            .triggers
            .wallets
            .transfer(
                &self.app_id,
                &TransferRequest {
                    order_id: &self.merchant_order_id,
                    from_user: TRIGGER_WALLET_USER,
                    to_user: TRIGGER_WALLET_PAYEE,
                    coin: self.coin,
                    amount: &amount,
                    remark: "sandbox trigger",
                },
                self.now_ms(),
            )
            .await?;
        self.steps.push(format!(
            "transferred {amount} {} from {TRIGGER_WALLET_USER} to {TRIGGER_WALLET_PAYEE} (userTransfer {})",
            self.coin.symbol, transfer.order_id
        ));
        Ok(json!({
            "deposit": funding["deposit"],
            "transfer": {
                "recordId": transfer.record_id,
                "orderId": transfer.order_id,
                "fromUserId": transfer.from_user,
                "toUserId": transfer.to_user,
                "coinId": self.coin.numeric_id,
                "amount": self.decimal(transfer.amount),
                "status": "Success",
            },
            "available": {
                TRIGGER_WALLET_USER: self.user_available(TRIGGER_WALLET_USER).await?,
                TRIGGER_WALLET_PAYEE: self.user_available(TRIGGER_WALLET_PAYEE).await?,
            },
        }))
    }

    /// A funding deposit, then the user's withdrawal of `PAYOUT` to the
    /// payer on the chain, settled (or refused by the devnet and voided).
    async fn user_withdrawal(&mut self, refused_by_chain: bool) -> Result<Value, EngineError> {
        let funding = self.user_deposit().await?;
        if refused_by_chain {
            self.triggers
                .devnet
                .devnet_fail_next_sends(self.chain.code.as_str(), 1)
                .await?;
            self.steps.push(format!(
                "told the {} devnet to refuse the next send",
                self.chain.code
            ));
        }
        let to = payer_address(self.chain);
        let wallets = Arc::clone(&self.triggers.wallets);
        let accepted = wallets
            .withdraw(
                &self.app_id,
                TRIGGER_WALLET_USER,
                &WithdrawalRequest {
                    asset: Asset::Network(self.coin, self.token),
                    destination: Destination::ChainAddress(to.clone()),
                    value: PAYOUT.to_owned(),
                    merchant_order_id: self.merchant_order_id.clone(),
                    memo: None,
                    merchant_pays_fee: false,
                    dialect: WebhookDialect::V2,
                    notify_url: None,
                    fee_quote_id: None,
                    batch_task: None,
                },
                self.now_ms(),
            )
            .await?
            .withdrawal;
        self.steps.push(format!(
            "applied for {TRIGGER_WALLET_USER}'s withdrawal {} of {PAYOUT} {} to {to} (applyUserWithdrawToNetwork)",
            accepted.merchant_order_id, self.coin.symbol
        ));
        self.confirm().await?;
        let withdrawal = wallets
            .withdrawal(&self.app_id, Some(&accepted.record_id), None)
            .await?
            .unwrap_or(accepted);
        Ok(json!({
            "deposit": funding["deposit"],
            "withdrawal": {
                "recordId": withdrawal.record_id,
                "orderId": withdrawal.merchant_order_id,
                "userId": TRIGGER_WALLET_USER,
                "coinId": self.coin.numeric_id,
                "chain": withdrawal.chain,
                "toAddress": withdrawal.to_address,
                "status": v2_status(&withdrawal),
                "txId": withdrawal.txid,
                "amount": self.decimal(withdrawal.value),
                "fee": self.decimal(withdrawal.network_fee),
            },
            "available": self.user_available(TRIGGER_WALLET_USER).await?,
        }))
    }

    /// A wallet user's available balance of the run's coin.
    async fn user_available(&self, user_id: &str) -> Result<String, EngineError> {
        let balances = self
            .triggers
            .wallets
            .balances(&self.app_id, user_id, Some(self.coin))
            .await?;
        Ok(self.decimal(balances.first().map_or(Amount::ZERO, |(_, value)| *value)))
    }

    /// The record id of the credited deposit `txid` made to `address`
    /// (`""` if it is not credited, which `confirm` makes sure it is).
    async fn record_id_of(&self, address: &str, txid: &str) -> Result<String, EngineError> {
        let records = self
            .triggers
            .deposit_records
            .deposit_records(&DepositRecordFilter {
                chain: Some(self.chain.code.to_string()),
                to_address: Some(address.to_owned()),
                limit: 100,
                ..DepositRecordFilter::of_merchant(&self.app_id)
            })
            .await?;
        Ok(records
            .into_iter()
            .find(|record| record.txid == txid)
            .map(|record| record.record_id)
            .unwrap_or_default())
    }

    /// A funding deposit of the run's coin, then `PAYOUT` of it swapped into
    /// another coin at its quote, the treasury funded first with exactly
    /// what the swap pays out of it (as an operator would, by adjustment).
    async fn swap(&mut self) -> Result<Value, EngineError> {
        let funding = self.direct_deposit(FUNDING).await?;
        let swaps = Arc::clone(&self.triggers.swaps);
        let now = self.now_ms();
        let coin_in = self.coin;
        let coin_out = swaps
            .coins(now)
            .into_iter()
            .find(|coin| coin.id != coin_in.id)
            .ok_or_else(|| EngineError::Sandbox("no other coin can be swapped into".into()))?;
        let ask = SwapAsk {
            coin_in,
            coin_out,
            amount_in: PAYOUT,
            extra_fee_rate: None,
        };
        let quote = swaps.estimate(&self.app_id, &ask, now).await?;
        let out = |amount: Amount| amount.to_decimal_string(coin_out.precision);
        let entry = JournalEntry::transfer(
            Account::OperatorAdjustments,
            Account::OperatorTreasury,
            coin_out.id.clone(),
            quote.amount_out,
        )?;
        let meta = EntryMeta {
            kind: "adjustment",
            reason: "sandbox trigger swap.succeeded: the treasury funded for its swap".to_owned(),
            created_at: now.div_euclid(1000),
        };
        self.triggers.store.post_entry(&entry, &meta).await?;
        self.steps.push(format!(
            "funded the treasury with {} {} (an operator adjustment)",
            out(quote.amount_out),
            coin_out.symbol
        ));
        let net_out = out(quote.net_out()?);
        let swap = swaps
            .swap(
                &SwapParty::Merchant(self.app_id.clone()),
                &self.merchant_order_id,
                &ask,
                Some(&net_out),
                now,
            )
            .await?;
        self.steps.push(format!(
            "swapped {PAYOUT} {} into {} {} (fee {}) at its quote, swap {}",
            coin_in.symbol,
            out(swap.terms.net_out()?),
            coin_out.symbol,
            out(swap.terms.fee),
            swap.record_id
        ));
        Ok(json!({
            "deposit": funding["deposit"],
            "swap": {
                "recordId": swap.record_id,
                "orderId": swap.merchant_order_id,
                "coinIdIn": coin_in.numeric_id,
                "coinIdOut": coin_out.numeric_id,
                "amountIn": PAYOUT,
                "amountOut": out(swap.terms.amount_out),
                "fee": out(swap.terms.fee),
                "netAmountOut": out(swap.terms.net_out()?),
                "status": "Success",
            }
        }))
    }

    async fn withdrawal(&mut self, refused_by_chain: bool) -> Result<Value, EngineError> {
        // Before the funding deposit: a v1 withdrawal under the id would be
        // answered as is (same parameters) and keep its v1 webhooks.
        if let Some(existing) = self
            .triggers
            .withdrawal_store
            .withdrawal_by_merchant_order_id(&self.app_id, &self.merchant_order_id)
            .await?
        {
            self.refuse_v1_object("withdrawal", &existing.merchant_order_id, existing.dialect)?;
        }
        let funding = self.direct_deposit(FUNDING).await?;
        if refused_by_chain {
            self.triggers
                .devnet
                .devnet_fail_next_sends(self.chain.code.as_str(), 1)
                .await?;
            self.steps.push(format!(
                "told the {} devnet to refuse the next send",
                self.chain.code
            ));
        }
        let to = payer_address(self.chain);
        // v1's `withdraw` reads its address as a Cwallet id too; v2's
        // applyAppWithdrawToNetwork only as a chain address.
        let destination = match self.dialect {
            WebhookDialect::V1 => Destination::AddressOrCwallet(to.clone()),
            WebhookDialect::V2 => Destination::ChainAddress(to.clone()),
        };
        let accepted = self
            .triggers
            .withdrawals
            .request(
                &self.app_id,
                &WithdrawalRequest {
                    asset: Asset::Network(self.coin, self.token),
                    destination,
                    value: PAYOUT.to_owned(),
                    merchant_order_id: self.merchant_order_id.clone(),
                    memo: None,
                    merchant_pays_fee: false,
                    dialect: self.dialect,
                    notify_url: None,
                    fee_quote_id: None,
                    batch_task: None,
                },
                self.now_ms(),
            )
            .await?
            .withdrawal;
        let asked = match self.dialect {
            WebhookDialect::V1 => "requested withdrawal",
            WebhookDialect::V2 => "applied through v2 for withdrawal",
        };
        self.steps.push(format!(
            "{asked} {} ({}) of {PAYOUT} {} to {to}",
            accepted.order_id, accepted.merchant_order_id, self.coin.symbol
        ));
        self.confirm().await?;
        let withdrawal = self
            .triggers
            .withdrawal_store
            .withdrawal_by_merchant_order_id(&self.app_id, &self.merchant_order_id)
            .await?
            .unwrap_or(accepted);
        Ok(match self.dialect {
            WebhookDialect::V1 => json!({
                "funding": funding["deposit"],
                "withdrawal": {
                    "order_id": withdrawal.order_id,
                    "merchant_order_id": withdrawal.merchant_order_id,
                    "status": withdrawal.status.as_str(),
                    "txid": withdrawal.txid,
                    "amount": self.decimal(withdrawal.value),
                }
            }),
            WebhookDialect::V2 => json!({
                "funding": funding["deposit"],
                "withdrawal": {
                    "recordId": withdrawal.record_id,
                    "orderId": withdrawal.merchant_order_id,
                    "coinId": self.coin.numeric_id,
                    "chain": withdrawal.chain,
                    "toAddress": withdrawal.to_address,
                    "status": v2_status(&withdrawal),
                    "txId": withdrawal.txid,
                    "amount": self.decimal(withdrawal.value),
                }
            }),
        })
    }

    /// A v2 batch of two tasks to the payer, funded, confirmed and settled.
    /// The run's merchant_order_id is the batchOrderId; its tasks' withdrawals
    /// are `<batchOrderId>-1` and `-2`.
    async fn batch_withdrawal(&mut self) -> Result<Value, EngineError> {
        let funding = self.direct_deposit(FUNDING).await?;
        let to = payer_address(self.chain);
        let task = |seq: u64| NewTask {
            seq: Some(seq),
            order_id: None,
            address: to.clone(),
            memo: None,
            amount: PAYOUT.to_owned(),
            remark: "sandbox trigger".to_owned(),
        };
        let batches = &self.triggers.batch_withdrawals;
        let batch = batches
            .create(
                &self.app_id,
                &NewBatch {
                    batch_order_id: self.merchant_order_id.clone(),
                    coin: self.coin,
                    token: self.token,
                    task_name: "sandbox trigger".to_owned(),
                    mode: "Single".to_owned(),
                    notify_url: None,
                    tasks: vec![task(1), task(2)],
                },
                self.now_ms(),
            )
            .await?;
        let confirmed = batches
            .confirm(&self.app_id, &batch.batch_order_id, 0, self.now_ms())
            .await?;
        self.steps.push(format!(
            "applied and confirmed batch {} (billId {}) of two tasks of {PAYOUT} {} to {to}: {}",
            batch.batch_order_id,
            batch.bill_id,
            self.coin.symbol,
            confirmed.status.as_str()
        ));
        self.confirm().await?;
        let done = batches
            .view(&self.app_id, &batch.batch_order_id, self.now_ms())
            .await?;
        let tasks: Vec<Value> = done
            .tasks
            .iter()
            .map(|task| {
                let withdrawal = task.state.withdrawal.as_ref();
                json!({
                    "seq": task.state.task.seq,
                    "orderId": task.state.task.withdrawal_order_id,
                    "recordId": withdrawal.map(|w| w.record_id.clone()),
                    "status": task.status.as_str(),
                    "txId": withdrawal.map(|w| w.txid.clone()),
                })
            })
            .collect();
        Ok(json!({
            "funding": funding["deposit"],
            "batch": {
                "batchOrderId": done.batch.batch_order_id,
                "billId": done.batch.bill_id,
                "status": done.status.as_str(),
                "amount": self.decimal(done.amount),
                "networkFee": self.decimal(done.network_fee),
                "succeeded": done.stats.succeeded,
                "failed": done.stats.failed,
                "tasks": tasks,
            }
        }))
    }

    async fn refund(&mut self) -> Result<Value, EngineError> {
        let paid = self.order_paid_with(1, 1, false).await?;
        let order = self
            .triggers
            .order_store
            .order_by_merchant_order_id(&self.app_id, &self.merchant_order_id, "native")
            .await?
            .ok_or_else(|| Rejection::OrderNotFound(self.merchant_order_id.clone()))?;
        let to = payer_address(self.chain);
        let half = Amount::from_base_units(order.order_amount.base_units() / 2);
        let refund = self
            .triggers
            .withdrawals
            .refund(&order, &to, &self.decimal(half), self.now_ms(), None)
            .await?;
        self.steps.push(format!(
            "refunded {} {} of order {} to {to} (refund {})",
            self.decimal(half),
            self.coin.symbol,
            order.order_id,
            refund.order_id
        ));
        self.confirm().await?;
        let refunds = self
            .triggers
            .withdrawal_store
            .refunds_of(&order.order_id)
            .await?;
        Ok(json!({
            "order": paid["order"],
            "refunds": refunds.iter().map(|r| json!({
                "refund_id": r.order_id,
                "status": r.status.as_str(),
                "amount": self.decimal(r.value),
                "txid": r.txid,
            })).collect::<Vec<_>>(),
        }))
    }
}

/// A payer's (and payee's) address on the chain: a fixed outside wallet.
fn payer_address(chain: &Chain) -> String {
    match chain.family {
        ccgate_ledger::ChainFamily::Evm => to_checksum_address(&[0x5a; 20]),
        ccgate_ledger::ChainFamily::Tron => ccgate_chain::address::tron_address(&[0x5a; 20]),
        ccgate_ledger::ChainFamily::Bitcoin => {
            ccgate_chain::address::bitcoin_p2wpkh_address(&[0x5a; 20])
        }
    }
}
