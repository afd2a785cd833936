//! Merchant withdrawals in v2 (v2 spec §2.0, §2.5, §3.3.3): the requests of
//! `applyAppWithdrawToNetwork`, `applyAppWithdrawToCwallet`,
//! `getAppWithdrawRecord` and `getAppWithdrawRecordList`, the
//! AppWithdrawRecord they answer, the `ApiWithdrawal` webhook, and the
//! (always empty) auto-withdrawal and risky-refund lists. Field order is
//! wire contract.

use serde::{Deserialize, Serialize};

use super::coins::WithdrawFee;
use crate::RequestError;
use crate::request::Fields;
use crate::withdrawals::ADDRESS_CHARS_MAX;

/// A merchant's withdrawal `orderId`: 3 to 64 characters (v2 spec §2.5.1).
pub const ORDER_ID_CHARS: std::ops::RangeInclusive<usize> = 3..=64;
/// Longest `notifyUrl` ([PROTO]: URI ≤ 150).
pub const NOTIFY_URL_CHARS_MAX: usize = 150;
/// Order ids one record list may name (v2 spec §1.8).
pub const ORDER_IDS_MAX: usize = 20;
/// Record ids one auto-withdrawal or risky-refund list may name ([PROTO]'s
/// id lists are ≤ 100, v2 spec §1.8).
pub const RECORD_IDS_MAX: usize = 100;
/// Records one page of a list holds (v2 spec §1.8).
pub const PAGE_MAX: u32 = 20;
/// The `chain` of a Cwallet withdrawal's record (v2 spec §2.0).
pub const CWALLET_CHAIN: &str = "Cwallet OS";

fn order_id(fields: &Fields) -> Result<String, RequestError> {
    let order_id = fields.required_str(&["orderId"])?.trim();
    if !ORDER_ID_CHARS.contains(&order_id.chars().count()) {
        return Err(RequestError::FieldLength {
            field: "orderId",
            min_chars: *ORDER_ID_CHARS.start(),
            max_chars: *ORDER_ID_CHARS.end(),
        });
    }
    Ok(order_id.to_owned())
}

fn amount(fields: &Fields) -> Result<String, RequestError> {
    fields
        .optional_decimal_text("amount")?
        .map(|text| text.trim().to_owned())
        .ok_or(RequestError::MissingField { field: "amount" })
}

fn bounded(field: &'static str, text: &str) -> Result<String, RequestError> {
    if text.chars().count() > ADDRESS_CHARS_MAX {
        return Err(RequestError::FieldTooLong {
            field,
            max_chars: ADDRESS_CHARS_MAX,
        });
    }
    Ok(text.to_owned())
}

/// `applyAppWithdrawToNetwork`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkWithdrawRequest {
    pub order_id: String,
    pub coin_id: u64,
    pub chain: String,
    pub address: String,
    pub memo: Option<String>,
    /// Decimal text, checked against the coin by the engine.
    pub amount: String,
    /// `true`: the payee receives `amount` and the merchant pays the fee on
    /// top; `false`: the fee comes out of `amount`.
    pub merchant_pay_network_fee: bool,
    pub network_fee_inquiry_id: Option<String>,
    pub notify_url: Option<String>,
}

impl NetworkWithdrawRequest {
    pub fn from_fields(fields: &Fields) -> Result<NetworkWithdrawRequest, RequestError> {
        let notify_url = fields.optional_url("notifyUrl")?;
        if notify_url.is_some_and(|url| url.chars().count() > NOTIFY_URL_CHARS_MAX) {
            return Err(RequestError::FieldTooLong {
                field: "notifyUrl",
                max_chars: NOTIFY_URL_CHARS_MAX,
            });
        }
        let memo = fields
            .optional_text_or_number(&["memo"])?
            .map(|memo| bounded("memo", &memo))
            .transpose()?;
        Ok(NetworkWithdrawRequest {
            order_id: order_id(fields)?,
            coin_id: fields.required_u64("coinId")?,
            chain: fields.required_str(&["chain"])?.trim().to_owned(),
            address: bounded("address", fields.required_str(&["address"])?.trim())?,
            memo,
            amount: amount(fields)?,
            merchant_pay_network_fee: fields.flag("merchantPayNetworkFee")?,
            network_fee_inquiry_id: fields
                .optional_str(&["networkFeeInquiryID"])?
                .map(|id| bounded("networkFeeInquiryID", id.trim()))
                .transpose()?,
            notify_url: notify_url.map(str::to_owned),
        })
    }
}

/// `applyAppWithdrawToCwallet`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwalletWithdrawRequest {
    pub order_id: String,
    pub coin_id: u64,
    /// The Cwallet id.
    pub cwallet_user: String,
    pub amount: String,
}

impl CwalletWithdrawRequest {
    pub fn from_fields(fields: &Fields) -> Result<CwalletWithdrawRequest, RequestError> {
        Ok(CwalletWithdrawRequest {
            order_id: order_id(fields)?,
            coin_id: fields.required_u64("coinId")?,
            cwallet_user: bounded("cwalletUser", fields.required_str(&["cwalletUser"])?.trim())?,
            amount: amount(fields)?,
        })
    }
}

/// `{"recordId":"…"}`: what both withdrawal requests answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawAccepted {
    pub record_id: String,
}

/// `getAppWithdrawRecord`'s request: a record id, an order id, or both
/// (then both must name the one withdrawal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRequest {
    RecordId(String),
    OrderId(String),
    Both { record_id: String, order_id: String },
}

impl RecordRequest {
    pub fn from_fields(fields: &Fields) -> Result<RecordRequest, RequestError> {
        let record_id = fields.optional_str(&["recordId"])?.map(str::trim);
        let order_id = fields.optional_str(&["orderId"])?.map(str::trim);
        match (record_id, order_id) {
            (Some(record_id), Some(order_id)) => Ok(RecordRequest::Both {
                record_id: record_id.to_owned(),
                order_id: order_id.to_owned(),
            }),
            (Some(record_id), None) => Ok(RecordRequest::RecordId(record_id.to_owned())),
            (None, Some(order_id)) => Ok(RecordRequest::OrderId(order_id.to_owned())),
            (None, None) => Err(RequestError::MissingField {
                field: "recordId or orderId",
            }),
        }
    }
}

/// `getAppWithdrawRecordList`'s request: every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordListRequest {
    pub coin_id: Option<u64>,
    /// Empty: any.
    pub order_ids: Vec<String>,
    /// A chain symbol, or [`CWALLET_CHAIN`] for Cwallet withdrawals.
    pub chain: Option<String>,
    /// Unix seconds, inclusive.
    pub start_at: Option<i64>,
    /// Unix seconds, inclusive.
    pub end_at: Option<i64>,
    /// The `nextId` of the page before.
    pub next_id: Option<String>,
    pub to_address: Option<String>,
}

impl RecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<RecordListRequest, RequestError> {
        let seconds = |name: &'static str| -> Result<Option<i64>, RequestError> {
            fields
                .optional_u64(&[name])?
                .map(|value| {
                    i64::try_from(value).map_err(|_| RequestError::FieldType {
                        field: name,
                        expected: "unix seconds",
                    })
                })
                .transpose()
        };
        let text = |name: &'static str| -> Result<Option<String>, RequestError> {
            Ok(fields
                .optional_str(&[name])?
                .map(|text| text.trim().to_owned()))
        };
        Ok(RecordListRequest {
            coin_id: fields.optional_u64(&["coinId"])?,
            order_ids: fields.optional_string_list("orderIds", ORDER_IDS_MAX)?,
            chain: text("chain")?,
            start_at: seconds("startAt")?,
            end_at: seconds("endAt")?,
            next_id: text("nextId")?,
            to_address: text("toAddress")?,
        })
    }
}

/// The request of `getAutoWithdrawRecordList` and `getRiskyRefundRecordList`
/// (v2 spec §2.5.5–2.5.6): every filter optional. Read so that a malformed
/// one is refused as anywhere else, though no record can match it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardRecordListRequest {
    pub coin_id: Option<u64>,
    pub chain: Option<String>,
    pub record_ids: Vec<String>,
    pub start_at: Option<u64>,
    pub end_at: Option<u64>,
    pub to_address: Option<String>,
    pub next_id: Option<String>,
}

impl DashboardRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<DashboardRecordListRequest, RequestError> {
        let text = |name: &'static str| -> Result<Option<String>, RequestError> {
            Ok(fields.optional_str(&[name])?.map(str::to_owned))
        };
        Ok(DashboardRecordListRequest {
            coin_id: fields.optional_u64(&["coinId"])?,
            chain: text("chain")?,
            record_ids: fields.optional_string_list("recordIds", RECORD_IDS_MAX)?,
            start_at: fields.optional_u64(&["startAt"])?,
            end_at: fields.optional_u64(&["endAt"])?,
            to_address: text("toAddress")?,
            next_id: text("nextId")?,
        })
    }
}

/// `{"records":[],"nextId":""}`: a list of records of a kind the gateway
/// never makes (auto-withdrawals, risky refunds), empty by its type.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NoRecords {
    pub records: [super::Empty; 0],
    pub next_id: &'static str,
}

impl NoRecords {
    pub const EMPTY: NoRecords = NoRecords {
        records: [],
        next_id: "",
    };
}

/// AppWithdrawRecord (v2 spec §2.0): every field always present.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppWithdrawRecord {
    pub record_id: String,
    /// `Network` or `Cwallet`.
    pub withdraw_type: String,
    pub app_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    /// The chain symbol, or [`CWALLET_CHAIN`].
    pub chain: String,
    pub from_address: String,
    /// `""` for a Cwallet withdrawal.
    pub to_address: String,
    /// `""` for a network withdrawal.
    pub cwallet_user: String,
    pub order_id: String,
    /// `""` for a Cwallet withdrawal.
    pub tx_id: String,
    pub to_memo: String,
    /// `Processing`, `Success`, `Failed`, `WaitingApproval` or `Rejected`.
    pub status: String,
    pub amount: String,
    pub fee: WithdrawFee,
    pub reason: String,
    #[serde(rename = "coinUSDPrice")]
    pub coin_usd_price: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct OneRecord {
    pub record: AppWithdrawRecord,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RecordList {
    pub records: Vec<AppWithdrawRecord>,
    /// `""` on the last page.
    pub next_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    fn parse<T>(
        body: &str,
        from_fields: fn(&Fields) -> Result<T, RequestError>,
    ) -> Result<T, RequestError> {
        from_fields(&fields(body.as_bytes()).unwrap_or_default())
    }

    #[test]
    fn a_network_withdrawal_reads_every_field_and_defaults_the_optional_ones() {
        let full = parse(
            r#"{"orderId":"w-001","coinId":"1280","chain":"ETH","address":" 0xabc ","memo":7,"amount":"10.5","merchantPayNetworkFee":true,"networkFeeInquiryID":"q1","notifyUrl":"https://shop.example/hook?shop=1"}"#,
            NetworkWithdrawRequest::from_fields,
        );
        assert_eq!(
            full,
            Ok(NetworkWithdrawRequest {
                order_id: "w-001".into(),
                coin_id: 1280,
                chain: "ETH".into(),
                address: "0xabc".into(),
                memo: Some("7".into()),
                amount: "10.5".into(),
                merchant_pay_network_fee: true,
                network_fee_inquiry_id: Some("q1".into()),
                notify_url: Some("https://shop.example/hook?shop=1".into()),
            })
        );
        // Go's omitempty and PHP's nulls: absent, null, "" and false are "not given".
        let minimal = parse(
            r#"{"orderId":"w-002","coinId":1280,"chain":"TRX","address":"T1","amount":5,"memo":null,"merchantPayNetworkFee":false,"notifyUrl":""}"#,
            NetworkWithdrawRequest::from_fields,
        );
        let minimal = minimal.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(minimal.amount, "5");
        assert_eq!(
            (
                minimal.memo,
                minimal.merchant_pay_network_fee,
                minimal.network_fee_inquiry_id,
                minimal.notify_url
            ),
            (None, false, None, None)
        );
    }

    #[test]
    fn a_network_withdrawal_refuses_what_it_cannot_honour() {
        let base = r#""coinId":1280,"chain":"ETH","address":"0xabc","amount":"1""#;
        let refused = |body: String| parse(&body, NetworkWithdrawRequest::from_fields).err();
        assert_eq!(
            refused(format!(r#"{{"orderId":"ab",{base}}}"#)),
            Some(RequestError::FieldLength {
                field: "orderId",
                min_chars: 3,
                max_chars: 64
            })
        );
        assert!(refused(format!(r#"{{"orderId":"{}",{base}}}"#, "x".repeat(65))).is_some());
        assert_eq!(
            refused(r#"{"orderId":"abc","coinId":1280,"chain":"ETH","address":"0xabc"}"#.into()),
            Some(RequestError::MissingField { field: "amount" })
        );
        // A float would have to pass through f64: money never does.
        assert!(
            refused(
                r#"{"orderId":"abc","coinId":1280,"chain":"ETH","address":"0xabc","amount":1.5}"#
                    .into()
            )
            .is_some()
        );
        assert!(
            refused(format!(
                r#"{{"orderId":"abc",{base},"notifyUrl":"ftp://x.example/"}}"#
            ))
            .is_some()
        );
        let long_url = format!("https://x.example/{}", "a".repeat(140));
        assert_eq!(
            refused(format!(
                r#"{{"orderId":"abc",{base},"notifyUrl":"{long_url}"}}"#
            )),
            Some(RequestError::FieldTooLong {
                field: "notifyUrl",
                max_chars: NOTIFY_URL_CHARS_MAX
            })
        );
        assert!(
            refused(format!(
                r#"{{"orderId":"abc",{base},"merchantPayNetworkFee":"yes"}}"#
            ))
            .is_some()
        );
    }

    #[test]
    fn a_cwallet_withdrawal_needs_the_user() {
        let ok = parse(
            r#"{"orderId":"cw-1","coinId":1280,"cwalletUser":"9454818","amount":"2"}"#,
            CwalletWithdrawRequest::from_fields,
        );
        assert_eq!(
            ok,
            Ok(CwalletWithdrawRequest {
                order_id: "cw-1".into(),
                coin_id: 1280,
                cwallet_user: "9454818".into(),
                amount: "2".into(),
            })
        );
        let missing = parse(
            r#"{"orderId":"cw-1","coinId":1280,"amount":"2"}"#,
            CwalletWithdrawRequest::from_fields,
        );
        assert_eq!(
            missing,
            Err(RequestError::MissingField {
                field: "cwalletUser"
            })
        );
    }

    #[test]
    fn a_record_is_asked_for_by_either_id_but_not_by_none() {
        assert_eq!(
            parse(r#"{"recordId":"r1"}"#, RecordRequest::from_fields),
            Ok(RecordRequest::RecordId("r1".into()))
        );
        assert_eq!(
            parse(
                r#"{"orderId":"o1","recordId":""}"#,
                RecordRequest::from_fields
            ),
            Ok(RecordRequest::OrderId("o1".into()))
        );
        assert_eq!(
            parse(
                r#"{"orderId":"o1","recordId":"r1"}"#,
                RecordRequest::from_fields
            ),
            Ok(RecordRequest::Both {
                record_id: "r1".into(),
                order_id: "o1".into()
            })
        );
        for empty in ["[]", r#"{"recordId":"","orderId":null}"#] {
            assert!(parse(empty, RecordRequest::from_fields).is_err(), "{empty}");
        }
    }

    #[test]
    fn a_record_list_takes_its_filters_and_at_most_twenty_order_ids() {
        let request = parse(
            r#"{"coinId":"1280","orderIds":["a","b"],"chain":"Cwallet OS","startAt":1700000000,"endAt":"1800000000","nextId":"n1","toAddress":"0xabc"}"#,
            RecordListRequest::from_fields,
        );
        assert_eq!(
            request,
            Ok(RecordListRequest {
                coin_id: Some(1280),
                order_ids: vec!["a".into(), "b".into()],
                chain: Some(CWALLET_CHAIN.into()),
                start_at: Some(1_700_000_000),
                end_at: Some(1_800_000_000),
                next_id: Some("n1".into()),
                to_address: Some("0xabc".into()),
            })
        );
        assert_eq!(
            parse("", RecordListRequest::from_fields),
            Ok(RecordListRequest::default())
        );
        let ids: Vec<String> = (0..21).map(|i| format!("\"o{i}\"")).collect();
        assert_eq!(
            parse(
                &format!(r#"{{"orderIds":[{}]}}"#, ids.join(",")),
                RecordListRequest::from_fields
            ),
            Err(RequestError::TooManyItems {
                field: "orderIds",
                max_len: ORDER_IDS_MAX
            })
        );
    }

    #[test]
    fn dashboard_lists_read_their_filters_and_answer_nothing() {
        let request = parse(
            r#"{"coinId":1280,"chain":"ETH","recordIds":["r1"],"startAt":1,"endAt":"2","toAddress":"0xabc","nextId":""}"#,
            DashboardRecordListRequest::from_fields,
        );
        assert_eq!(
            request.map(|r| (r.coin_id, r.record_ids, r.end_at, r.next_id)),
            Ok((Some(1280), vec!["r1".to_owned()], Some(2), None))
        );
        assert!(parse(r#"{"coinId":"x"}"#, DashboardRecordListRequest::from_fields).is_err());
        assert_eq!(
            serde_json::to_string(&NoRecords::EMPTY).unwrap_or_default(),
            r#"{"records":[],"nextId":""}"#
        );
    }
}
