//! What one store's DB transaction writes on behalf of others: a journal
//! entry's note, a webhook for the outbox, a credited deposit. These values
//! sit below `backend.rs`, which writes them in batches where a backend can,
//! and below every store that writes them.

use ccgate_ledger::{Amount, CoinId, JournalEntry, MerchantId};

/// Why a journal entry was written; kept beside it for audits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// A stable machine word, e.g. `adjustment`.
    pub kind: &'static str,
    /// The operator's or the system's sentence.
    pub reason: String,
    pub created_at: i64,
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
    /// `None`: the merchant's webhook URL when it is claimed (decisions §41).
    pub url: Option<String>,
    pub payload: String,
    pub created_at_ms: i64,
}

// What a chain says lives in the ledger crate, below both the chain adapters
// and the stores (docs/decisions.md §20).
pub use ccgate_ledger::ChainTransfer;

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
