//! Merchant batch withdrawals in v2 (v2 spec §2.6, docs/decisions.md §26,
//! §29): the requests of `checkWithdrawAddress`, `applyBatchWithdraw`,
//! `appendBatchWithdraw`, `confirmBatchWithdraw`, `abortBatchWithdraw`,
//! `getBatchWithdrawOrder` and `getBatchWithdrawOrderRecordList`, in both
//! wire variants ([PROTO]'s numeric `seq` and `productName`, the July SDK's
//! string `orderId` and `taskName`), and the BatchWithdrawOrder and
//! BatchWithdrawTask they answer, which carry both sets of names. Field order
//! is wire contract.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::RequestError;
use crate::request::Fields;
use crate::withdrawals::ADDRESS_CHARS_MAX;

/// A `batchOrderId` (and a task's `orderId`): 3 to 64 characters.
pub const BATCH_ORDER_ID_CHARS: std::ops::RangeInclusive<usize> = 3..=64;
/// Tasks one request may carry (`orders`: 0–500).
pub const TASKS_MAX: usize = 500;
/// Longest task `memo`.
pub const MEMO_CHARS_MAX: usize = 16;
/// Longest task `remark`.
pub const REMARK_CHARS_MAX: usize = 64;
/// Longest batch `productName`/`taskName` (not in the spec; a bound so an
/// answer never grows with what was sent).
pub const NAME_CHARS_MAX: usize = 128;
/// Longest batch `notifyUrl` ([PROTO]: URI ≤ 120).
pub const NOTIFY_URL_CHARS_MAX: usize = 120;
/// Longest `delaySeconds`.
pub const DELAY_SECONDS_MAX: u64 = 3600;
/// Records one page of `getBatchWithdrawOrderRecordList` holds at most, and
/// by default.
pub const PAGE_MAX: u32 = 100;
pub const PAGE_DEFAULT: u32 = 20;
/// The two `mode`s.
pub const MODES: [&str; 2] = ["Single", "Batch"];

fn bounded_id(fields: &Fields, field: &'static str) -> Result<Option<String>, RequestError> {
    let Some(id) = fields.optional_str(&[field])? else {
        return Ok(None);
    };
    let id = id.trim();
    if !BATCH_ORDER_ID_CHARS.contains(&id.chars().count()) {
        return Err(RequestError::FieldLength {
            field,
            min_chars: *BATCH_ORDER_ID_CHARS.start(),
            max_chars: *BATCH_ORDER_ID_CHARS.end(),
        });
    }
    Ok(Some(id.to_owned()))
}

fn batch_order_id(fields: &Fields) -> Result<String, RequestError> {
    bounded_id(fields, "batchOrderId")?.ok_or(RequestError::MissingField {
        field: "batchOrderId",
    })
}

fn text_at_most(
    fields: &Fields,
    names: &[&'static str],
    max_chars: usize,
) -> Result<Option<String>, RequestError> {
    let Some(text) = fields.optional_text_or_number(names)? else {
        return Ok(None);
    };
    if text.chars().count() > max_chars {
        return Err(RequestError::FieldTooLong {
            field: names[0],
            max_chars,
        });
    }
    Ok(Some(text))
}

/// One task of `orders` (BatchWithdrawTask as a request): `seq`, `orderId`
/// or both name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRequest {
    pub seq: Option<u64>,
    pub order_id: Option<String>,
    pub address: String,
    pub memo: Option<String>,
    /// Decimal text, checked against the coin by the engine.
    pub amount: String,
    pub remark: String,
}

impl TaskRequest {
    pub fn from_fields(fields: &Fields) -> Result<TaskRequest, RequestError> {
        let seq = fields.optional_u64(&["seq"])?;
        let order_id = bounded_id(fields, "orderId")?;
        if seq.is_none() && order_id.is_none() {
            return Err(RequestError::MissingField {
                field: "seq or orderId",
            });
        }
        let address = fields.required_str(&["address"])?.trim();
        if address.chars().count() > ADDRESS_CHARS_MAX {
            return Err(RequestError::FieldTooLong {
                field: "address",
                max_chars: ADDRESS_CHARS_MAX,
            });
        }
        Ok(TaskRequest {
            seq,
            order_id,
            address: address.to_owned(),
            memo: text_at_most(fields, &["memo"], MEMO_CHARS_MAX)?,
            amount: fields
                .optional_decimal_text("amount")?
                .map(|text| text.trim().to_owned())
                .ok_or(RequestError::MissingField { field: "amount" })?,
            remark: text_at_most(fields, &["remark"], REMARK_CHARS_MAX)?.unwrap_or_default(),
        })
    }
}

/// `applyBatchWithdraw`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyBatchRequest {
    pub batch_order_id: String,
    pub coin_id: u64,
    pub chain: String,
    /// `taskName` (July SDK) or `productName` ([PROTO]); `""` when neither.
    pub task_name: String,
    pub orders: Vec<TaskRequest>,
    /// `Single` or `Batch`.
    pub mode: String,
    pub notify_url: Option<String>,
}

impl ApplyBatchRequest {
    pub fn from_fields(fields: &Fields) -> Result<ApplyBatchRequest, RequestError> {
        let notify_url = fields.optional_url("notifyUrl")?;
        if notify_url.is_some_and(|url| url.chars().count() > NOTIFY_URL_CHARS_MAX) {
            return Err(RequestError::FieldTooLong {
                field: "notifyUrl",
                max_chars: NOTIFY_URL_CHARS_MAX,
            });
        }
        let mode = fields.required_str(&["mode"])?.trim();
        let mode = MODES
            .iter()
            .find(|known| known.eq_ignore_ascii_case(mode))
            .ok_or(RequestError::FieldType {
                field: "mode",
                expected: "Single or Batch",
            })?;
        Ok(ApplyBatchRequest {
            batch_order_id: batch_order_id(fields)?,
            coin_id: fields.required_u64("coinId")?,
            chain: fields.required_str(&["chain"])?.trim().to_owned(),
            task_name: text_at_most(fields, &["taskName", "productName"], NAME_CHARS_MAX)?
                .unwrap_or_default(),
            orders: fields
                .object_list("orders", TASKS_MAX)?
                .iter()
                .map(TaskRequest::from_fields)
                .collect::<Result<_, _>>()?,
            mode: (*mode).to_owned(),
            notify_url: notify_url.map(str::to_owned),
        })
    }
}

/// `{"batchOrderId":"…","billId":"…"}`: what `applyBatchWithdraw` answers.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchApplied {
    pub batch_order_id: String,
    pub bill_id: String,
}

/// `appendBatchWithdraw`'s request: 1–500 more tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendBatchRequest {
    pub batch_order_id: String,
    pub orders: Vec<TaskRequest>,
}

impl AppendBatchRequest {
    pub fn from_fields(fields: &Fields) -> Result<AppendBatchRequest, RequestError> {
        let orders: Vec<TaskRequest> = fields
            .object_list("orders", TASKS_MAX)?
            .iter()
            .map(TaskRequest::from_fields)
            .collect::<Result<_, _>>()?;
        if orders.is_empty() {
            return Err(RequestError::MissingField { field: "orders" });
        }
        Ok(AppendBatchRequest {
            batch_order_id: batch_order_id(fields)?,
            orders,
        })
    }
}

/// What `appendBatchWithdraw` answers: the July SDK's body ([PROTO]'s is
/// `{}`, which a reader of these fields ignores). `batch_order_id` is
/// snake_case, as the SDK spells it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BatchAppended {
    /// Tasks this call added.
    pub appended: u64,
    /// Tasks the batch holds now.
    pub total: u64,
    pub batch_order_id: String,
}

/// `abortBatchWithdraw`'s request: the tasks by `seqs` ([PROTO]) or
/// `orderIds` (July SDK); both empty: the whole batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortBatchRequest {
    pub batch_order_id: String,
    pub seqs: Vec<u64>,
    pub order_ids: Vec<String>,
}

impl AbortBatchRequest {
    pub fn from_fields(fields: &Fields) -> Result<AbortBatchRequest, RequestError> {
        Ok(AbortBatchRequest {
            batch_order_id: batch_order_id(fields)?,
            seqs: fields.number_list("seqs", TASKS_MAX)?,
            order_ids: fields
                .optional_string_list("orderIds", TASKS_MAX)?
                .into_iter()
                .map(|id| id.trim().to_owned())
                .collect(),
        })
    }
}

/// What `abortBatchWithdraw` answers, in both variants' names: the tasks
/// canceled and those left as they were (sent, being sent, or final).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchAborted {
    pub batch_order_id: String,
    /// The batch's status after the abort.
    pub status: String,
    pub canceled_seqs: Vec<u64>,
    pub ignored_seqs: Vec<u64>,
    pub canceled_order_ids: Vec<String>,
    pub ignored_order_ids: Vec<String>,
}

/// Addresses one `checkWithdrawAddress` may check.
pub const ADDRESSES_MAX: usize = 500;

/// One address of `checkWithdrawAddress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressInfo {
    pub address: String,
    pub memo: Option<String>,
    pub seq: u64,
}

/// `checkWithdrawAddress`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckAddressesRequest {
    pub chain: String,
    pub addresses: Vec<AddressInfo>,
}

impl CheckAddressesRequest {
    pub fn from_fields(fields: &Fields) -> Result<CheckAddressesRequest, RequestError> {
        let addresses: Vec<AddressInfo> = fields
            .object_list("addressInfoList", ADDRESSES_MAX)?
            .iter()
            .map(|item| {
                let address = item.required_str(&["address"])?.trim();
                if address.chars().count() > ADDRESS_CHARS_MAX {
                    return Err(RequestError::FieldTooLong {
                        field: "address",
                        max_chars: ADDRESS_CHARS_MAX,
                    });
                }
                Ok(AddressInfo {
                    address: address.to_owned(),
                    memo: text_at_most(item, &["memo"], MEMO_CHARS_MAX)?,
                    seq: item.optional_u64(&["seq"])?.filter(|seq| *seq >= 1).ok_or(
                        RequestError::FieldType {
                            field: "seq",
                            expected: "a whole number from 1",
                        },
                    )?,
                })
            })
            .collect::<Result<_, _>>()?;
        if addresses.is_empty() {
            return Err(RequestError::MissingField {
                field: "addressInfoList",
            });
        }
        Ok(CheckAddressesRequest {
            chain: fields.required_str(&["chain"])?.trim().to_owned(),
            addresses,
        })
    }
}

/// One address's verdict: the codes a withdrawal to it would be refused
/// with; empty when none.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AddressResult {
    pub seq: u64,
    pub codes: Vec<u32>,
}

/// What `checkWithdrawAddress` answers, in the request's order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AddressesChecked {
    pub address_info_results: Vec<AddressResult>,
}

/// `confirmBatchWithdraw`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmBatchRequest {
    pub batch_order_id: String,
    /// Seconds after the confirmation the tasks start (docs/decisions.md
    /// §29).
    pub delay_seconds: u64,
    /// `false` only when the client says so: then nothing is confirmed.
    pub confirm_execution: bool,
}

impl ConfirmBatchRequest {
    pub fn from_fields(fields: &Fields) -> Result<ConfirmBatchRequest, RequestError> {
        let delay_seconds = fields.optional_u64(&["delaySeconds"])?.unwrap_or(0);
        if delay_seconds > DELAY_SECONDS_MAX {
            return Err(RequestError::FieldType {
                field: "delaySeconds",
                expected: "a whole number of seconds from 0 to 3600",
            });
        }
        let confirm_execution = match fields.get("confirmExecution") {
            None | Some(Value::Null) => true,
            Some(_) => fields.flag("confirmExecution")?,
        };
        Ok(ConfirmBatchRequest {
            batch_order_id: batch_order_id(fields)?,
            delay_seconds,
            confirm_execution,
        })
    }
}

/// `getBatchWithdrawOrder`'s request; `verbose` (0–3) changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOrderRequest {
    pub batch_order_id: String,
}

impl BatchOrderRequest {
    pub fn from_fields(fields: &Fields) -> Result<BatchOrderRequest, RequestError> {
        if fields.optional_u64(&["verbose"])?.is_some_and(|v| v > 3) {
            return Err(RequestError::FieldType {
                field: "verbose",
                expected: "0, 1, 2 or 3",
            });
        }
        Ok(BatchOrderRequest {
            batch_order_id: batch_order_id(fields)?,
        })
    }
}

/// `getBatchWithdrawOrderRecordList`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecordListRequest {
    pub batch_order_id: String,
    /// The `nextId` of the page before.
    pub next_id: Option<String>,
    pub limit: u32,
}

impl BatchRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<BatchRecordListRequest, RequestError> {
        let limit = match fields.optional_u64(&["limit"])? {
            None => PAGE_DEFAULT,
            Some(limit) => u32::try_from(limit)
                .ok()
                .filter(|limit| *limit <= PAGE_MAX)
                .ok_or(RequestError::FieldType {
                    field: "limit",
                    expected: "a whole number from 1 to 100",
                })?,
        };
        Ok(BatchRecordListRequest {
            batch_order_id: batch_order_id(fields)?,
            next_id: fields
                .optional_str(&["nextId"])?
                .map(|id| id.trim().to_owned()),
            limit,
        })
    }
}

/// A coin inside a BatchWithdrawOrder: snake_case, as [PROTO] spells it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BatchCoin {
    pub coin_id: u64,
    pub coin_symbol: String,
    /// USD price now; `"0"` when the price source has none.
    pub coin_price: String,
}

/// A BatchWithdrawOrder's `stats`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchStats {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub canceled: u64,
    pub processing: u64,
    /// The last executed task's `seq` ([PROTO]) …
    pub exec_seq: u64,
    /// … and its `orderId` (July SDK).
    pub exec_order_id: String,
}

/// BatchWithdrawOrder: what `confirmBatchWithdraw` and
/// `getBatchWithdrawOrder` answer. Every field always present.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchWithdrawOrder {
    pub batch_order_id: String,
    /// [PROTO]'s name …
    pub product_name: String,
    /// … and the July SDK's, the same text.
    pub task_name: String,
    pub bill_id: String,
    pub coin: BatchCoin,
    pub amount: String,
    pub network_fee: String,
    pub network_fee_coin: BatchCoin,
    /// `Init`, `Pending`, `Reviewing`, `Rejected`, `Processing` or
    /// `Completed`.
    pub status: String,
    pub reason: String,
    /// `Single` or `Batch`.
    pub mode: String,
    pub stats: BatchStats,
    pub created_at: i64,
    pub updated_at: i64,
}

/// BatchWithdrawTask as answered. Every field always present.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchWithdrawTask {
    /// The task's `seq`, or its place in the batch when it was sent without.
    pub seq: u64,
    /// Its withdrawal's `orderId`.
    pub order_id: String,
    pub address: String,
    pub memo: String,
    pub amount: String,
    pub remark: String,
    /// Its withdrawal's `recordId`; `""` before execution or when refused.
    pub record_id: String,
    /// `Init`, `Pending`, `WaitingApproval`, `Rejected`, `Processing`,
    /// `Success`, `Failed` or `Canceled`.
    pub status: String,
    pub network_fee: String,
    pub tx_id: String,
    pub reason: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `getBatchWithdrawOrderRecordList`'s answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchTaskList {
    /// `""` on the last page.
    pub next_id: String,
    pub records: Vec<BatchWithdrawTask>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    fn apply(body: &str) -> Result<ApplyBatchRequest, RequestError> {
        ApplyBatchRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default())
    }

    #[test]
    fn both_variants_of_a_batch_are_read() {
        let proto = apply(
            r#"{"batchOrderId":"b-001","coinId":"1280","chain":"ETH","productName":"payroll","mode":"Single","notifyUrl":"https://shop.example/b","orders":[{"seq":1,"address":" 0xabc ","amount":"1.5","memo":7,"remark":"Ann"},{"seq":"2","address":"0xdef","amount":2}]}"#,
        );
        assert_eq!(
            proto,
            Ok(ApplyBatchRequest {
                batch_order_id: "b-001".into(),
                coin_id: 1280,
                chain: "ETH".into(),
                task_name: "payroll".into(),
                orders: vec![
                    TaskRequest {
                        seq: Some(1),
                        order_id: None,
                        address: "0xabc".into(),
                        memo: Some("7".into()),
                        amount: "1.5".into(),
                        remark: "Ann".into(),
                    },
                    TaskRequest {
                        seq: Some(2),
                        order_id: None,
                        address: "0xdef".into(),
                        memo: None,
                        amount: "2".into(),
                        remark: String::new(),
                    },
                ],
                mode: "Single".into(),
                notify_url: Some("https://shop.example/b".into()),
            })
        );
        let july = apply(
            r#"{"batchOrderId":"b-002","coinId":1280,"chain":"ETH","taskName":"bonus","mode":"batch","orders":[{"orderId":"pay-1","address":"0xabc","amount":"3"}]}"#,
        );
        assert!(
            matches!(
                &july,
                Ok(read) if read.task_name == "bonus"
                    && read.mode == "Batch"
                    && read.orders[0].order_id.as_deref() == Some("pay-1")
                    && read.orders[0].seq.is_none()
            ),
            "{july:?}"
        );
    }

    #[test]
    fn a_malformed_batch_names_its_field() {
        let base = r#""batchOrderId":"b-001","coinId":1280,"chain":"ETH","mode":"Single""#;
        let refused = |extra: &str| apply(&format!("{{{base}{extra}}}")).err();
        assert_eq!(
            refused(r#","orders":[{"address":"0xabc","amount":"1"}]"#),
            Some(RequestError::MissingField {
                field: "seq or orderId"
            })
        );
        assert_eq!(
            refused(
                r#","orders":[{"seq":1,"address":"0xabc","amount":"1","memo":"12345678901234567"}]"#
            ),
            Some(RequestError::FieldTooLong {
                field: "memo",
                max_chars: MEMO_CHARS_MAX
            })
        );
        assert_eq!(
            refused(r#","orders":[1]"#),
            Some(RequestError::FieldType {
                field: "orders",
                expected: "an array of objects"
            })
        );
        let too_many = format!(
            r#","orders":[{}]"#,
            vec![r#"{"seq":1,"address":"a","amount":"1"}"#; TASKS_MAX + 1].join(",")
        );
        assert_eq!(
            refused(&too_many),
            Some(RequestError::TooManyItems {
                field: "orders",
                max_len: TASKS_MAX
            })
        );
        assert!(matches!(
            apply(r#"{"batchOrderId":"b-001","coinId":1280,"chain":"ETH","mode":"Now"}"#),
            Err(RequestError::FieldType { field: "mode", .. })
        ));
        assert!(matches!(
            apply(r#"{"batchOrderId":"b","coinId":1280,"chain":"ETH","mode":"Single"}"#),
            Err(RequestError::FieldLength {
                field: "batchOrderId",
                ..
            })
        ));
    }

    #[test]
    fn append_abort_and_address_checks_are_read() {
        let read = |body: &str| fields(body.as_bytes()).unwrap_or_default();
        assert_eq!(
            AppendBatchRequest::from_fields(&read(r#"{"batchOrderId":"b-001","orders":[]}"#)),
            Err(RequestError::MissingField { field: "orders" })
        );
        assert_eq!(
            AbortBatchRequest::from_fields(&read(
                r#"{"batchOrderId":"b-001","seqs":[1,"2"],"orderIds":[" pay-3 "]}"#
            )),
            Ok(AbortBatchRequest {
                batch_order_id: "b-001".into(),
                seqs: vec![1, 2],
                order_ids: vec!["pay-3".into()],
            })
        );
        assert_eq!(
            CheckAddressesRequest::from_fields(&read(
                r#"{"chain":"ETH","addressInfoList":[{"address":" 0xabc ","seq":"3","memo":""}]}"#
            )),
            Ok(CheckAddressesRequest {
                chain: "ETH".into(),
                addresses: vec![AddressInfo {
                    address: "0xabc".into(),
                    // An empty memo is no memo.
                    memo: None,
                    seq: 3,
                }],
            })
        );
        assert!(matches!(
            CheckAddressesRequest::from_fields(&read(
                r#"{"chain":"ETH","addressInfoList":[{"address":"0xabc","seq":0}]}"#
            )),
            Err(RequestError::FieldType { field: "seq", .. })
        ));
    }

    #[test]
    fn confirm_executes_unless_told_not_to() {
        let confirm = |body: &str| {
            ConfirmBatchRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default())
        };
        assert_eq!(
            confirm(r#"{"batchOrderId":"b-001"}"#),
            Ok(ConfirmBatchRequest {
                batch_order_id: "b-001".into(),
                delay_seconds: 0,
                confirm_execution: true
            })
        );
        assert!(matches!(
            confirm(r#"{"batchOrderId":"b-001","confirmExecution":false}"#),
            Ok(ConfirmBatchRequest {
                confirm_execution: false,
                ..
            })
        ));
        assert!(matches!(
            confirm(r#"{"batchOrderId":"b-001","delaySeconds":3601}"#),
            Err(RequestError::FieldType {
                field: "delaySeconds",
                ..
            })
        ));
    }

    #[test]
    fn an_order_carries_both_variants_names_and_snake_case_coins() {
        let coin = BatchCoin {
            coin_id: 1280,
            coin_symbol: "USDT".into(),
            coin_price: "1".into(),
        };
        let order = BatchWithdrawOrder {
            batch_order_id: "b-001".into(),
            product_name: "payroll".into(),
            task_name: "payroll".into(),
            bill_id: "1".into(),
            coin: coin.clone(),
            amount: "3".into(),
            network_fee: "0.5".into(),
            network_fee_coin: coin,
            status: "Completed".into(),
            reason: String::new(),
            mode: "Single".into(),
            stats: BatchStats {
                total: 2,
                succeeded: 1,
                failed: 1,
                canceled: 0,
                processing: 0,
                exec_seq: 2,
                exec_order_id: "b-001-2".into(),
            },
            created_at: 10,
            updated_at: 20,
        };
        assert_eq!(
            serde_json::to_string(&order).unwrap_or_default(),
            r#"{"batchOrderId":"b-001","productName":"payroll","taskName":"payroll","billId":"1","coin":{"coin_id":1280,"coin_symbol":"USDT","coin_price":"1"},"amount":"3","networkFee":"0.5","networkFeeCoin":{"coin_id":1280,"coin_symbol":"USDT","coin_price":"1"},"status":"Completed","reason":"","mode":"Single","stats":{"total":2,"succeeded":1,"failed":1,"canceled":0,"processing":0,"execSeq":2,"execOrderId":"b-001-2"},"createdAt":10,"updatedAt":20}"#
        );
    }
}
