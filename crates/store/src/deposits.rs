//! What deposits and webhooks keep: derived addresses, chain transfers seen,
//! credited deposits, and the webhook outbox with its delivery log.

use async_trait::async_trait;
use ccgate_ledger::{Amount, CoinId, JournalEntry, MerchantId, TokenId};
use secrecy::SecretSlice;

use crate::{EntryMeta, StoreError};

pub use ccgate_ledger::ChainTransfer;

/// An address the gateway derived for a merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositAddress {
    pub chain: String,
    pub address: String,
    pub app_id: MerchantId,
    /// The merchant's user, for a permanent address.
    pub user_id: Option<String>,
    /// The order, for an order's address.
    pub order_id: Option<String>,
    pub notify_url: Option<String>,
    pub derivation_index: u32,
    /// The dialect that made it (its order's, for an order's address), which
    /// the webhooks of its deposits are written in.
    pub dialect: WebhookDialect,
}

/// One of a merchant's addresses as v2's `addressUnbinding` weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAddress {
    pub address: DepositAddress,
    /// When it was unbound (unix seconds); `None` while it is bound.
    pub unbound_at: Option<i64>,
    /// Deposits credited to it.
    pub credits: u64,
}

/// A merchant's deposit and webhook settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantSettings {
    pub webhook_url: Option<String>,
    /// Also notify `pending`/`processing`, not only final states (decisions §7).
    pub notify_pending: bool,
    /// Service fee in parts per million of each deposit.
    pub service_fee_ppm: u32,
    /// The dialect of webhooks no object's dialect decides (the test ping).
    pub webhook_dialect: WebhookDialect,
}

/// A confirmed transfer to one of our addresses, about to be credited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeposit {
    pub record_id: String,
    pub transfer: ChainTransfer,
    pub app_id: MerchantId,
    pub user_id: Option<String>,
    pub order_id: Option<String>,
    pub coin_id: CoinId,
    pub service_fee: Amount,
    pub credit_amount: Amount,
    pub credited_at: i64,
}

/// A deposit with what crediting it writes: its journal entry and webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositCredit {
    pub deposit: NewDeposit,
    pub entry: JournalEntry,
    pub meta: EntryMeta,
    pub webhook: NewWebhook,
}

/// A payment order, as created (decisions §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub app_id: MerchantId,
    pub merchant_order_id: String,
    /// `native` (bill/create) or `hosted` (concise/url/get).
    pub kind: String,
    /// The creating request's parameters: a repeat with other ones is refused.
    pub fingerprint: String,
    pub token_id: TokenId,
    pub coin_id: CoinId,
    pub chain: String,
    pub pay_address: String,
    pub product_price: String,
    pub product_name: String,
    pub denominated_currency: String,
    pub fiat_rate: String,
    pub token_rate: String,
    /// What the payer owes, in the coin's base units.
    pub order_amount: Amount,
    pub created_at: i64,
    pub expires_at: i64,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
    pub remark: Option<String>,
    /// The dialect that made it, which its webhooks are written in.
    pub dialect: WebhookDialect,
    /// v2's `buyerEmail`, kept and answered; ccgate mails no one.
    pub buyer_email: Option<String>,
}

/// A hosted checkout: what the payer is asked for before choosing how to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The key in the payment URL.
    pub key: String,
    pub app_id: MerchantId,
    pub merchant_order_id: String,
    pub fingerprint: String,
    /// In `denominated_currency`.
    pub product_price: String,
    pub product_name: String,
    pub return_url: Option<String>,
    pub notify_url: Option<String>,
    pub custom_value: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// The id of its order, reserved at creation; the order itself exists
    /// once the payer picks a network. `None` only for checkouts stored
    /// before ids were reserved, until [`DepositStore::attach_checkout_order`].
    pub order_id: Option<String>,
    /// The dialect that made it, which its order's webhooks are written in.
    pub dialect: WebhookDialect,
    pub buyer_email: Option<String>,
    /// What `product_price` is in, as the payer reads it: an ISO code of a
    /// configured fiat currency (`USD` for every v1 checkout), or the symbol
    /// of the coin `price_coin_id`.
    pub denominated_currency: String,
    /// The coin a checkout is priced in, which is then the only coin it
    /// takes; `None` for a fiat price.
    pub price_coin_id: Option<CoinId>,
}

/// A payment to an order seen on chain, still confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmingPayment {
    /// Its block; `None` if it was seen before blocks were recorded with it.
    pub block_height: Option<u64>,
}

/// A credited payment to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPayment {
    pub record_id: String,
    pub txid: String,
    pub from_address: String,
    /// The coin paid: an order's address can receive any token of its chain.
    pub coin_id: CoinId,
    pub amount: Amount,
    pub service_fee: Amount,
    /// When it was credited (unix seconds).
    pub pay_time: i64,
    /// When its block was made.
    pub block_time_ms: i64,
}

/// A transfer to one of our addresses seen before its confirmations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTransfer {
    pub chain: String,
    pub txid: String,
    pub log_index: u32,
    pub record_id: String,
    pub app_id: MerchantId,
    pub order_id: Option<String>,
    /// The block it was seen in; a reorganisation below it forgets it.
    pub block_height: u64,
    pub block_time_ms: i64,
    pub seen_at_ms: i64,
    /// The payment itself, kept so a reorganisation that removes it before
    /// its confirmations can still notify it `failed`.
    pub from_address: String,
    pub to_address: String,
    pub memo: String,
    pub token_id: TokenId,
    /// In the coin's base units.
    pub amount: Amount,
}

/// The API dialect a webhook is written and signed in: the dialect of the
/// object it reports (docs/decisions.md §13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WebhookDialect {
    /// Flat v1 bodies, signed `SHA256(Appid + AppSecret + Timestamp + body)`.
    #[default]
    V1,
    /// `{"type","msg"}` bodies, signed `HMAC-SHA256(AppSecret, Appid + Timestamp + body)`.
    V2,
}

impl WebhookDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookDialect::V1 => "v1",
            WebhookDialect::V2 => "v2",
        }
    }

    pub fn parse(text: &str) -> Option<WebhookDialect> {
        match text {
            "v1" => Some(WebhookDialect::V1),
            "v2" => Some(WebhookDialect::V2),
            _ => None,
        }
    }
}

/// A webhook to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub app_id: MerchantId,
    pub record_id: String,
    pub order_type: &'static str,
    pub dialect: WebhookDialect,
    /// `None`: the merchant's webhook URL at delivery time.
    pub url: Option<String>,
    pub payload: String,
    pub created_at_ms: i64,
}

/// Which of a merchant's webhooks `webhook/resend` queues again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendFilter<'a> {
    /// Created in `from_ms..=to_ms`.
    pub from_ms: i64,
    pub to_ms: i64,
    /// `false`: only webhooks not acknowledged yet.
    pub all_results: bool,
    /// Only of this kind, if given.
    pub order_type: Option<&'a str>,
    /// Only about these records, unless empty.
    pub record_ids: &'a [String],
}

/// A webhook claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxWebhook {
    pub id: i64,
    pub app_id: MerchantId,
    pub record_id: String,
    pub order_type: String,
    pub dialect: WebhookDialect,
    pub url: Option<String>,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// One delivery attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub attempt: u32,
    pub at_ms: i64,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    /// `delivered`, or why not (`HTTP 500`, `timeout`, `no success in body`…).
    pub outcome: String,
    /// The first bytes of the answer.
    pub response_head: String,
}

/// What happens to a webhook after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookNext {
    Delivered,
    RetryAt { at_ms: i64 },
    GiveUp,
}

/// The outbox by delivery status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookCounts {
    /// Not yet acknowledged; attempts continue.
    pub pending: u64,
    pub delivered: u64,
    /// Past the last rung of the retry ladder.
    pub failed: u64,
    /// Delivery attempts the receiver acknowledged.
    pub attempts_delivered: u64,
    /// Delivery attempts that failed (any other answer, a timeout, no connection).
    pub attempts_failed: u64,
}

/// A webhook as listed to operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: i64,
    pub app_id: MerchantId,
    pub record_id: String,
    pub order_type: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at_ms: i64,
    pub created_at_ms: i64,
    pub url: Option<String>,
    pub payload: String,
}

#[async_trait]
pub trait DepositStore: Send + Sync + std::fmt::Debug + 'static {
    /// The secret stored under `name`, storing `fresh` first if there is none,
    /// so that concurrent first starts agree on one value.
    async fn load_or_init_secret(
        &self,
        name: &str,
        fresh: &SecretSlice<u8>,
    ) -> Result<SecretSlice<u8>, StoreError>;

    async fn permanent_address(
        &self,
        app_id: &MerchantId,
        user_id: &str,
        chain: &str,
    ) -> Result<Option<DepositAddress>, StoreError>;

    async fn count_permanent_addresses(&self, app_id: &MerchantId) -> Result<u64, StoreError>;

    /// Reserves the next derivation index of a chain family.
    async fn next_derivation_index(&self, family: &str) -> Result<u32, StoreError>;

    /// Stores a permanent address; if the (merchant, user, chain) already has
    /// one (a concurrent request), that one is returned instead.
    async fn insert_permanent_address(
        &self,
        address: &DepositAddress,
        now_unix_secs: i64,
    ) -> Result<DepositAddress, StoreError>;

    /// The address on `chain`, bound or unbound: payments to an unbound
    /// address are still the merchant's.
    async fn deposit_address(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Option<DepositAddress>, StoreError>;

    /// The merchant's addresses written exactly `address`, on every chain,
    /// order addresses and unbound ones included.
    async fn merchant_addresses(
        &self,
        app_id: &MerchantId,
        address: &str,
    ) -> Result<Vec<HeldAddress>, StoreError>;

    /// Unbinds the merchant's permanent `address` on each of `chains` where
    /// it is still bound, in one DB transaction: [`Self::permanent_address`]
    /// no longer answers it, so the next request for its user and chain
    /// derives a new one. Answers the chains unbound now, in the order
    /// given (none if a concurrent call unbound them first).
    async fn unbind_permanent_address(
        &self,
        app_id: &MerchantId,
        address: &str,
        chains: &[String],
        now_unix_secs: i64,
    ) -> Result<Vec<String>, StoreError>;

    async fn merchant_settings(
        &self,
        app_id: &MerchantId,
    ) -> Result<Option<MerchantSettings>, StoreError>;

    /// The merchant's webhook URL, whether it hears pending states, and the
    /// dialect of its webhooks that no object's dialect decides.
    async fn set_merchant_webhook(
        &self,
        app_id: &MerchantId,
        url: Option<&str>,
        notify_pending: bool,
        dialect: WebhookDialect,
    ) -> Result<(), StoreError>;

    /// The merchant's service fee, in parts per million of each deposit.
    async fn set_service_fee(&self, app_id: &MerchantId, fee_ppm: u32) -> Result<(), StoreError>;

    async fn devnet_add_transfer(&self, transfer: &ChainTransfer) -> Result<(), StoreError>;

    /// The devnet transfer with this txid, if any.
    async fn devnet_transfer(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<ChainTransfer>, StoreError>;

    /// Devnet transfers in blocks `from_height..=to_height`, in block order.
    async fn devnet_transfers(
        &self,
        chain: &str,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, StoreError>;

    async fn chain_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError>;

    async fn set_chain_cursor(&self, chain: &str, scanned_height: u64) -> Result<(), StoreError>;

    /// Stores an order and its deposit address. If the merchant already has an
    /// order of that kind with that merchant_order_id, or the order's id is
    /// taken (a hosted checkout's reserved id, chosen twice at once), nothing
    /// is written and the merchant's order of that kind is returned instead.
    async fn create_order(
        &self,
        order: &Order,
        address: &DepositAddress,
    ) -> Result<Order, StoreError>;

    async fn order_by_merchant_order_id(
        &self,
        app_id: &MerchantId,
        merchant_order_id: &str,
        kind: &str,
    ) -> Result<Option<Order>, StoreError>;

    /// The merchant's orders with these merchant_order_ids, of any kind.
    async fn orders_by_merchant_order_ids(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Order>, StoreError>;

    async fn order(&self, order_id: &str) -> Result<Option<Order>, StoreError>;

    /// Stores a hosted checkout, or returns the merchant's existing one with
    /// the same merchant_order_id.
    async fn create_checkout(&self, checkout: &Checkout) -> Result<Checkout, StoreError>;

    async fn checkout(&self, key: &str) -> Result<Option<Checkout>, StoreError>;

    /// The merchant's hosted checkouts with these merchant_order_ids.
    async fn checkouts_by_merchant_order_ids(
        &self,
        app_id: &MerchantId,
        merchant_order_ids: &[String],
    ) -> Result<Vec<Checkout>, StoreError>;

    /// Reserves the order id of a checkout stored without one (before
    /// checkouts got theirs at creation); `false` if it has one already.
    async fn attach_checkout_order(&self, key: &str, order_id: &str) -> Result<bool, StoreError>;

    /// Credited payments of an order, oldest first.
    async fn order_payments(&self, order_id: &str) -> Result<Vec<OrderPayment>, StoreError>;

    /// Records a transfer seen before its confirmations, with its `processing`
    /// webhook if the merchant wants one, in one DB transaction. `false` (and
    /// nothing written) if it was seen before.
    async fn record_seen_transfer(
        &self,
        seen: &SeenTransfer,
        webhook: Option<&NewWebhook>,
    ) -> Result<bool, StoreError>;

    /// The record id given to a transfer when it was first seen, if it was.
    async fn seen_record_id(
        &self,
        chain: &str,
        txid: &str,
        log_index: u32,
    ) -> Result<Option<String>, StoreError>;

    /// The order's earliest payment made by `made_by_ms` that is seen but not
    /// credited yet, if any.
    async fn order_confirming_payment(
        &self,
        order_id: &str,
        made_by_ms: i64,
    ) -> Result<Option<ConfirmingPayment>, StoreError>;

    async fn seen_cursor(&self, chain: &str) -> Result<Option<u64>, StoreError>;

    async fn set_seen_cursor(&self, chain: &str, seen_height: u64) -> Result<(), StoreError>;

    /// Credits confirmed transfers of `chain` and, if given, moves its cursor
    /// to `scanned_height`, in one DB transaction: each deposit is recorded,
    /// its journal entry posted and its webhook queued, and the whole batch (a
    /// block range's deposits) is one durable commit. A transfer credited
    /// before, by any instance or an earlier run, is skipped; the answer says,
    /// per credit, whether it was applied now.
    async fn credit_deposits(
        &self,
        chain: &str,
        scanned_height: Option<u64>,
        credits: &[DepositCredit],
    ) -> Result<Vec<bool>, StoreError>;
}

#[async_trait]
pub trait OutboxStore: Send + Sync + std::fmt::Debug + 'static {
    /// Up to `limit` webhooks due at `now_ms`, the earliest due first,
    /// claimed for `lease_ms` (their next attempt moves past the lease, so no
    /// other worker takes them). Fair: a merchant gets at most
    /// `per_merchant_max` webhooks under claim at once, counting those whose
    /// claim (by any worker) still holds, so one merchant's backlog or slow
    /// receiver leaves the other slots to the other merchants.
    async fn claim_due_webhooks(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        per_merchant_max: u32,
    ) -> Result<Vec<OutboxWebhook>, StoreError>;

    async fn record_webhook_attempt(
        &self,
        id: i64,
        attempt: &WebhookAttempt,
        next: WebhookNext,
    ) -> Result<(), StoreError>;

    /// Records attempts of several webhooks (outbox id, attempt, what
    /// next) in one DB transaction, one durable commit for them all: a busy
    /// sender's deliveries that finish together share it. All or none.
    async fn record_webhook_attempts(
        &self,
        attempts: &[(i64, WebhookAttempt, WebhookNext)],
    ) -> Result<(), StoreError>;

    /// Hands claimed webhooks back without an attempt (a worker stopping):
    /// each of `ids` still pending under the claim that ran to
    /// `claimed_until_ms` becomes due at `now_ms`, for any worker to take.
    /// One whose claim has since changed (attempted, or claimed again after
    /// its lease ran out) is left alone. Returns how many were handed back.
    async fn release_webhooks(
        &self,
        ids: &[i64],
        claimed_until_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// Counts a `webhook/resend` call if the merchant is within its limits;
    /// `false` (and nothing counted) when one is reached.
    async fn record_resend_call(
        &self,
        app_id: &MerchantId,
        now_ms: i64,
        per_minute: u32,
        per_day: u32,
    ) -> Result<bool, StoreError>;

    /// Queues the merchant's webhooks that `filter` picks for one more
    /// attempt now. Returns how many.
    async fn resend_webhooks(
        &self,
        app_id: &MerchantId,
        filter: &ResendFilter<'_>,
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// How many webhooks are waiting, delivered and given up on, for monitoring.
    async fn webhook_counts(&self) -> Result<WebhookCounts, StoreError>;

    /// Newest first.
    async fn list_webhooks(
        &self,
        app_id: Option<&MerchantId>,
        limit: u32,
    ) -> Result<Vec<WebhookRow>, StoreError>;

    async fn webhook_with_attempts(
        &self,
        id: i64,
    ) -> Result<Option<(WebhookRow, Vec<WebhookAttempt>)>, StoreError>;
}
