//! The operator's admin API (`ccgate serve`'s loopback listener): every
//! request body and answer as a type, shared by the server that writes them
//! and the CLI that reads them, so neither reads the other's JSON by key.
//! A refusal is HTTP 400 with [`Refusal`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Any refusal: what was wrong, in a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub error: String,
}

/// `POST /admin/devnet/pay`: a payment on a simulated chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    pub to: String,
    pub token_id: String,
    pub amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paid {
    pub chain: String,
    pub txid: String,
    pub block_height: u64,
    pub confirmations_required: u64,
}

/// `POST /admin/devnet/mine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MineRequest {
    pub chain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mined {
    pub chain: String,
    pub height: u64,
}

/// `POST /admin/orders/refund`: an order's payment sent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub app_id: String,
    pub merchant_order_id: String,
    pub address: String,
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunded {
    pub refund_id: String,
    pub record_id: String,
    pub status: String,
}

/// `POST /admin/withdrawals/approve` and `/reject`: the operator's answer to
/// a withdrawal waiting for approval, by ccgate's order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalDecision {
    pub order_id: String,
}

/// What a decision made of the withdrawal (also `ccgate withdrawal … --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    pub order_id: String,
    pub record_id: String,
    /// `approved` or `rejected`.
    pub approval: String,
}

/// `POST /admin/evm/rescan`: one confirmed transaction looked at again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescanRequest {
    pub chain: String,
    pub txid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rescanned {
    pub txid: String,
    pub block_height: u64,
    /// Whether the node listed the value contracts moved inside it.
    pub traced: bool,
    /// How many of `transfers` this rescan credited.
    pub credited: usize,
    pub transfers: Vec<RescannedTransfer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescannedTransfer {
    pub log_index: u32,
    pub from_address: String,
    pub to_address: String,
    pub token_id: String,
    /// In the coin's base units.
    pub amount_base_units: String,
    /// `credited`, `already_credited`, `covered_by_reconciliation` or `not_ours`.
    pub outcome: String,
}

/// The sandbox's business clock: `GET /admin/sandbox/clock`, and the answer
/// of every call that moves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// Unix seconds.
    pub now: i64,
    pub now_ms: i64,
    pub frozen: bool,
    /// How far business time is ahead of the real clock.
    pub offset_ms: i64,
    /// After an advance: the moments where something fell due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// After an advance: the pieces of work done on the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_done: Option<usize>,
}

/// `POST /admin/sandbox/clock/advance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRequest {
    /// A duration such as `31m30s`, `2h`, `90s` or `1500ms`.
    pub by: String,
}

/// `GET /admin/sandbox/triggers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerList {
    pub triggers: Vec<TriggerInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerInfo {
    pub name: String,
    pub description: String,
    /// The dialects it runs in.
    pub dialects: Vec<Dialect>,
    /// Why it does not run in v2, when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_v2_because: Option<String>,
    /// Why it does not run in v1, when it does not (the wallet system's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_v1_because: Option<String>,
}

/// The merchant API a trigger makes its objects through, and so the dialect
/// of the webhooks they cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    V1,
    V2,
}

/// `POST /admin/sandbox/trigger`: a scenario run on a merchant's objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    pub name: String,
    pub app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// v1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<Dialect>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triggered {
    pub trigger: String,
    /// One sentence per step, in order.
    pub steps: Vec<String>,
    /// The objects involved and their state at the end.
    pub objects: Value,
    /// The webhooks queued while it ran, oldest first.
    pub webhooks: Vec<QueuedWebhook>,
    pub clock: Clock,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedWebhook {
    pub id: i64,
    #[serde(rename = "type")]
    pub order_type: String,
    pub record_id: String,
    pub status: String,
    pub attempts: u32,
    /// The body as it is sent.
    pub payload: Value,
}

/// `POST /admin/devnet/reorg` (sandbox only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReorgRequest {
    pub chain: String,
    pub depth: u64,
    /// Drop this transaction; the rest of the blocks stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<String>,
    /// The blocks lose all their transfers.
    #[serde(default)]
    pub replace: bool,
    /// Allow rewriting confirmed blocks.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reorganised {
    pub chain: String,
    pub height: u64,
    pub from_height: u64,
    pub dropped: Vec<String>,
    pub moved: Vec<MovedTransfer>,
    /// `failed` webhooks queued for payments merchants were told were processing.
    pub vanished_notices: usize,
    pub incidents: Vec<Incident>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedTransfer {
    pub txid: String,
    pub block_height: u64,
}

/// A credit in a rewritten block: kept, and reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub chain: String,
    pub txid: String,
    pub log_index: u32,
    pub record_id: String,
    pub what: String,
    pub at_ms: i64,
}

/// `POST /admin/sandbox/webhooks/fault`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    pub app_id: String,
    /// Fault words: `delay=5s`, `drop=0.3`, `duplicate=0.2`, `reorder`,
    /// `bad-signature`, `status=500`.
    pub faults: Vec<String>,
    /// Deliveries to affect; absent: every one until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Starts the faults' random draws (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsSet {
    pub app_id: String,
    pub faults: Vec<String>,
    /// Deliveries still to affect; `None`: every one until cleared.
    pub count: Option<u32>,
    pub seed: u64,
}

/// `POST /admin/sandbox/webhooks/clear`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    pub app_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsCleared {
    pub app_id: String,
    /// Whether there were faults to clear.
    pub cleared: bool,
}

/// `POST /admin/sandbox/snapshot/{save,restore,delete}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub name: String,
    pub bytes: u64,
    /// Unix seconds.
    pub saved_at: i64,
}

/// `GET /admin/sandbox/snapshots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotList {
    pub snapshots: Vec<Snapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    pub name: String,
    pub clock: Clock,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub name: String,
    pub deleted: bool,
}

/// `GET /admin/webhooks/stream?app_id=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    pub app_id: String,
}

/// One line of the webhook stream (`application/x-ndjson`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StreamLine {
    /// The first line: the stream is open.
    Listening { listening: String },
    /// The listener fell this many webhooks behind.
    Missed { missed: u64 },
    /// A webhook as it was sent.
    Sent(SentWebhook),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentWebhook {
    pub app_id: String,
    pub record_id: String,
    pub order_type: String,
    /// The body exactly as sent.
    pub payload: String,
    pub headers: SentHeaders,
}

/// The signed headers a webhook was sent with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentHeaders {
    #[serde(rename = "Appid")]
    pub appid: String,
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    #[serde(rename = "Sign")]
    pub sign: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn stream_lines_read_back_as_the_kind_they_are() {
        let lines = [
            StreamLine::Listening {
                listening: "app".into(),
            },
            StreamLine::Missed { missed: 3 },
            StreamLine::Sent(SentWebhook {
                app_id: "app".into(),
                record_id: "r".into(),
                order_type: "Direct Deposit".into(),
                payload: "{}".into(),
                headers: SentHeaders {
                    appid: "app".into(),
                    timestamp: "1".into(),
                    sign: "s".into(),
                },
            }),
        ];
        for line in lines {
            let text = serde_json::to_string(&line).unwrap();
            assert_eq!(
                serde_json::from_str::<StreamLine>(&text).unwrap(),
                line,
                "{text}"
            );
        }
    }

    #[test]
    fn an_advance_carries_its_steps_a_plain_clock_does_not() {
        let clock = Clock {
            now: 1,
            now_ms: 1_000,
            frozen: true,
            offset_ms: 0,
            steps: None,
            work_done: None,
        };
        let text = serde_json::to_string(&clock).unwrap();
        assert!(!text.contains("steps"), "{text}");
        let advanced = Clock {
            steps: Some(2),
            work_done: Some(5),
            ..clock
        };
        let text = serde_json::to_string(&advanced).unwrap();
        assert_eq!(serde_json::from_str::<Clock>(&text).unwrap(), advanced);
    }
}
