//! Permanent deposit addresses and deposit records in v2 (spec §2.3.1,
//! §2.3.3, §2.3.4, §2.3.6): `getOrCreateAppDepositAddress`,
//! `getAppDepositRecord`, `getAppDepositRecordList` and
//! `rescanLostTransaction`. Field order is wire contract.

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

/// A merchant's id for its user: 3 to 64 characters (v2 spec §2.3.1).
pub const REFERENCE_ID_CHARS_MIN: usize = 3;
pub const REFERENCE_ID_CHARS_MAX: usize = 64;
/// Records on a page when `limit` is not given (v2 spec §1.8), and the most.
pub const RECORDS_PER_PAGE_DEFAULT: u32 = 20;
pub const RECORDS_PER_PAGE_MAX: u32 = 100;

/// `getOrCreateAppDepositAddress`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositAddressRequest {
    pub reference_id: String,
    pub chain: String,
    pub notify_url: Option<String>,
}

impl DepositAddressRequest {
    pub fn from_fields(fields: &Fields) -> Result<DepositAddressRequest, RequestError> {
        let reference_id = fields.required_str(&["referenceId"])?;
        let chars = reference_id.chars().count();
        if !(REFERENCE_ID_CHARS_MIN..=REFERENCE_ID_CHARS_MAX).contains(&chars) {
            return Err(RequestError::FieldLength {
                field: "referenceId",
                min_chars: REFERENCE_ID_CHARS_MIN,
                max_chars: REFERENCE_ID_CHARS_MAX,
            });
        }
        Ok(DepositAddressRequest {
            reference_id: reference_id.to_owned(),
            chain: fields.required_str(&["chain"])?.trim().to_owned(),
            notify_url: fields.optional_url("notifyUrl")?.map(str::to_owned),
        })
    }
}

/// `getOrCreateAppDepositAddress` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct DepositAddress {
    pub address: String,
    /// `""` on chains without memos.
    pub memo: String,
}

/// `getAppDepositRecord`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecordRequest {
    pub record_id: String,
}

impl DepositRecordRequest {
    pub fn from_fields(fields: &Fields) -> Result<DepositRecordRequest, RequestError> {
        Ok(DepositRecordRequest {
            record_id: fields.required_str(&["recordId"])?.trim().to_owned(),
        })
    }
}

/// A deposit to one of the merchant's addresses.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct AppDepositRecord {
    pub record_id: String,
    /// Set for a permanent address's deposit.
    pub reference_id: String,
    /// Set for an order's deposit: the merchant's order id.
    pub order_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    pub chain: String,
    pub contract: String,
    #[serde(rename = "coinUSDPrice")]
    pub coin_usd_price: String,
    pub from_address: String,
    pub to_address: String,
    pub to_memo: String,
    /// Received, before the service fee.
    pub amount: String,
    pub service_fee: String,
    pub tx_id: String,
    pub tx_index: u32,
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub arrived_at: i64,
    pub is_flagged_as_risky: bool,
}

/// `getAppDepositRecord` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct OneDepositRecord {
    pub record: AppDepositRecord,
}

/// `getAppDepositRecordList`'s request: every filter optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecordListRequest {
    pub coin_id: Option<u64>,
    /// From the proto's `recordIds` when it names one record.
    pub record_id: Option<String>,
    pub reference_id: Option<String>,
    pub order_id: Option<String>,
    pub chain: Option<String>,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    /// The cursor a previous page answered.
    pub next_id: Option<String>,
    pub to_address: Option<String>,
    pub limit: u32,
}

fn unix_secs(fields: &Fields, name: &'static str) -> Result<Option<i64>, RequestError> {
    fields
        .optional_u64(&[name])?
        .map(|secs| {
            i64::try_from(secs).map_err(|_| RequestError::FieldType {
                field: name,
                expected: "Unix seconds",
            })
        })
        .transpose()
}

/// The proto's id-list filters (`recordIds`, `referenceIds`, `orderIds`):
/// one id filters as its single-id field does; several are refused rather
/// than ignored, since an ignored filter would answer other records.
fn one_of_list(fields: &Fields, name: &'static str) -> Result<Option<String>, RequestError> {
    let ids = fields.optional_string_list(name, ID_LIST_MAX)?;
    match ids.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.trim().to_owned())),
        _ => Err(RequestError::FieldType {
            field: name,
            expected: "at most one id (ask once per id)",
        }),
    }
}

/// Ids one of the proto's list filters may carry (v2 spec §2.3.4).
const ID_LIST_MAX: usize = 50;

impl DepositRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<DepositRecordListRequest, RequestError> {
        let text = |name: &'static str| -> Result<Option<String>, RequestError> {
            Ok(fields.optional_str(&[name])?.map(|s| s.trim().to_owned()))
        };
        let limit = match fields.optional_u64(&["limit"])? {
            None => RECORDS_PER_PAGE_DEFAULT,
            Some(asked) if asked <= u64::from(RECORDS_PER_PAGE_MAX) => {
                u32::try_from(asked).unwrap_or(RECORDS_PER_PAGE_MAX)
            }
            Some(_) => {
                return Err(RequestError::FieldType {
                    field: "limit",
                    expected: "a whole number from 1 to 100",
                });
            }
        };
        Ok(DepositRecordListRequest {
            coin_id: fields.optional_u64(&["coinId"])?,
            record_id: one_of_list(fields, "recordIds")?,
            reference_id: match text("referenceId")? {
                Some(one) => Some(one),
                None => one_of_list(fields, "referenceIds")?,
            },
            order_id: match text("orderId")? {
                Some(one) => Some(one),
                None => one_of_list(fields, "orderIds")?,
            },
            chain: text("chain")?,
            start_at: unix_secs(fields, "startAt")?,
            end_at: unix_secs(fields, "endAt")?,
            next_id: text("nextId")?,
            to_address: text("toAddress")?,
            limit,
        })
    }
}

/// `getAppDepositRecordList` → `data`: `nextId` is `""` on the last page.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct DepositRecordList {
    pub records: Vec<AppDepositRecord>,
    pub next_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    #[test]
    fn an_address_request_is_bounded_like_the_spec() {
        let parse = |body: &str| {
            DepositAddressRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default())
        };
        assert_eq!(
            parse(
                r#"{"referenceId":"user-7","chain":"ETH","notifyUrl":"https://shop.example/?hook=1"}"#
            ),
            Ok(DepositAddressRequest {
                reference_id: "user-7".into(),
                chain: "ETH".into(),
                notify_url: Some("https://shop.example/?hook=1".into()),
            })
        );
        assert_eq!(
            parse(r#"{"referenceId":"ab","chain":"ETH"}"#),
            Err(RequestError::FieldLength {
                field: "referenceId",
                min_chars: 3,
                max_chars: 64
            })
        );
        assert_eq!(
            parse(r#"{"referenceId":"user-7"}"#),
            Err(RequestError::MissingField { field: "chain" })
        );
    }

    #[test]
    fn a_list_request_defaults_to_twenty_and_takes_numbers_as_strings() {
        let parse = |body: &str| {
            DepositRecordListRequest::from_fields(&fields(body.as_bytes()).unwrap_or_default())
        };
        let empty = parse("[]").map(|r| (r.limit, r.next_id, r.coin_id));
        assert_eq!(empty, Ok((20, None, None)));
        let full = parse(
            r#"{"coinId":"1280","startAt":1700000000,"endAt":"1700086400","nextId":"r-1","limit":1,"orderId":null}"#,
        );
        assert_eq!(
            full.map(|r| (
                r.coin_id, r.start_at, r.end_at, r.next_id, r.limit, r.order_id
            )),
            Ok((
                Some(1280),
                Some(1_700_000_000),
                Some(1_700_086_400),
                Some("r-1".into()),
                1,
                None
            ))
        );
        assert!(parse(r#"{"limit":101}"#).is_err());
        let one = parse(r#"{"recordIds":["r-9"],"orderIds":["o-1"]}"#);
        assert_eq!(
            one.map(|r| (r.record_id, r.order_id)),
            Ok((Some("r-9".into()), Some("o-1".into())))
        );
        assert!(parse(r#"{"referenceIds":["u-1","u-2"]}"#).is_err());
        assert_eq!(parse(r#"{"orderIds":[]}"#).map(|r| r.order_id), Ok(None));
    }
}
