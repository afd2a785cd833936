//! Swaps in v2 (v2 spec §2.11, docs/decisions.md §25, §25.1): the requests
//! of `estimate`, `swap`, `userSwap` and the record endpoints, and what they
//! and `getSwapCoinList` answer. Field order is wire contract;
//! the snake_case `to_coin_price`/`from_coin_price` are the spec's.

use serde::{Deserialize, Serialize};

use crate::RequestError;
use crate::request::Fields;

use super::wallet::{optional_user_id, user_id};
use super::withdrawals::{ORDER_ID_CHARS, RecordRequest};

/// Ids one swap record list may name per kind (v2 spec §1.8).
pub const IDS_MAX: usize = 20;
/// Records one page holds (v2 spec §1.8).
pub const PAGE_MAX: u32 = 20;
/// Longest `endAt − startAt` of a swap record list: three months (v2 spec
/// §1.8), counted as 92 days.
pub const RANGE_SECS_MAX: u64 = 92 * 24 * 3600;
/// The status of every swap record: a swap is done when it commits.
pub const SUCCESS: &str = "Success";

/// A `coinIdIn`-style field, or the SDK's alias for it (v2 spec §7).
fn coin(fields: &Fields, names: &[&'static str]) -> Result<u64, RequestError> {
    fields
        .optional_u64(names)?
        .ok_or(RequestError::MissingField { field: names[0] })
}

/// `extraFeeRate`: the merchant's markup on a user's swap, decimal text.
fn extra_fee_rate(fields: &Fields) -> Result<Option<String>, RequestError> {
    Ok(fields
        .optional_decimal_text("extraFeeRate")?
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty()))
}

fn amount_in(fields: &Fields) -> Result<String, RequestError> {
    for name in ["amountIn", "fromAmount"] {
        if let Some(text) = fields.optional_decimal_text(name)? {
            return Ok(text.trim().to_owned());
        }
    }
    Err(RequestError::MissingField { field: "amountIn" })
}

/// `estimate`'s request: what to quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimateRequest {
    pub coin_id_in: u64,
    pub amount_in: String,
    pub coin_id_out: u64,
    /// A user quote's markup (`"0.01"` = 1 %).
    pub extra_fee_rate: Option<String>,
}

impl EstimateRequest {
    pub fn from_fields(fields: &Fields) -> Result<EstimateRequest, RequestError> {
        Ok(EstimateRequest {
            coin_id_in: coin(fields, &["coinIdIn", "fromCoinId"])?,
            amount_in: amount_in(fields)?,
            coin_id_out: coin(fields, &["coinIdOut", "toCoinId"])?,
            extra_fee_rate: extra_fee_rate(fields)?,
        })
    }
}

/// `swap`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapRequest {
    pub order_id: String,
    pub coin_id_in: u64,
    pub amount_in: String,
    pub coin_id_out: u64,
    /// The least `netAmountOut` the caller takes (decimal text).
    pub amount_out_minimum: Option<String>,
}

impl SwapRequest {
    pub fn from_fields(fields: &Fields) -> Result<SwapRequest, RequestError> {
        let order_id = fields.required_str(&["orderId"])?.trim();
        if !ORDER_ID_CHARS.contains(&order_id.chars().count()) {
            return Err(RequestError::FieldLength {
                field: "orderId",
                min_chars: *ORDER_ID_CHARS.start(),
                max_chars: *ORDER_ID_CHARS.end(),
            });
        }
        Ok(SwapRequest {
            order_id: order_id.to_owned(),
            coin_id_in: coin(fields, &["coinIdIn", "fromCoinId"])?,
            amount_in: amount_in(fields)?,
            coin_id_out: coin(fields, &["coinIdOut", "toCoinId"])?,
            amount_out_minimum: fields
                .optional_decimal_text("amountOutMinimum")?
                .map(|text| text.trim().to_owned()),
        })
    }
}

/// `userSwap`'s request: a swap paid by one of the merchant's users, with
/// the merchant's markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSwapRequest {
    pub user_id: String,
    pub swap: SwapRequest,
    pub extra_fee_rate: Option<String>,
}

impl UserSwapRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserSwapRequest, RequestError> {
        Ok(UserSwapRequest {
            user_id: user_id(fields, "userId")?,
            swap: SwapRequest::from_fields(fields)?,
            extra_fee_rate: extra_fee_rate(fields)?,
        })
    }
}

/// `getSwapRecord`'s request: a record id or an order id, as
/// `getAppWithdrawRecord`'s.
pub type SwapRecordRequest = RecordRequest;

/// `getSwapRecordList`'s request: every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwapRecordListRequest {
    pub record_ids: Vec<String>,
    pub order_ids: Vec<String>,
    pub coin_id_in: Option<u64>,
    pub coin_id_out: Option<u64>,
    /// Unix seconds, inclusive.
    pub start_at: Option<u64>,
    /// Unix seconds, inclusive.
    pub end_at: Option<u64>,
    /// The `nextId` of the page before.
    pub next_id: Option<String>,
    /// `getUserSwapRecordList`: one user's swaps only.
    pub user_id: Option<String>,
}

impl SwapRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<SwapRecordListRequest, RequestError> {
        Ok(SwapRecordListRequest {
            record_ids: fields.optional_string_list("recordIds", IDS_MAX)?,
            order_ids: fields.optional_string_list("orderIds", IDS_MAX)?,
            coin_id_in: fields.optional_u64(&["coinIdIn"])?,
            coin_id_out: fields.optional_u64(&["coinIdOut"])?,
            start_at: fields.optional_u64(&["startAt"])?,
            end_at: fields.optional_u64(&["endAt"])?,
            next_id: fields
                .optional_str(&["nextId"])?
                .map(|text| text.trim().to_owned())
                .filter(|text| !text.is_empty()),
            user_id: optional_user_id(fields, "userId")?,
        })
    }
}

/// One coin of `getSwapCoinList`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SwapCoin {
    pub coin_id: u64,
    pub symbol: String,
    pub logo_url: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SwapCoinList {
    pub coins: Vec<SwapCoin>,
}

/// `estimate`'s answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub coin_id_in: u64,
    pub coin_id_out: u64,
    pub amount_out: String,
    pub amount_in: String,
    pub swap_rate: String,
    pub fee_rate: String,
    pub fee: String,
    pub extra_fee: String,
    pub net_amount_out: String,
}

/// `swap`'s answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SwapDone {
    pub record_id: String,
    pub order_id: String,
    pub coin_id_in: u64,
    pub coin_id_out: u64,
    pub amount_out: String,
    pub amount_in: String,
    /// `""` when none was sent.
    pub amount_out_minimum: String,
    pub swap_rate: String,
    pub fee: String,
    pub fee_rate: String,
    pub extra_fee: String,
    pub net_amount_out: String,
    /// The USD price of the output coin the swap was made at.
    #[serde(rename = "to_coin_price")]
    pub to_coin_price: String,
    #[serde(rename = "from_coin_price")]
    pub from_coin_price: String,
}

/// SwapRecord (v2 spec §2.0): every field always present.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SwapRecord {
    pub record_id: String,
    pub order_id: String,
    pub coin_in_symbol: String,
    pub coin_id_in: u64,
    pub coin_out_symbol: String,
    pub coin_id_out: u64,
    pub amount_out: String,
    pub amount_in: String,
    pub amount_out_minimum: String,
    pub net_amount_out: String,
    /// `""` on a merchant's own swap.
    pub user_id: String,
    pub extra_fee: String,
    pub extra_fee_rate: String,
    pub swap_rate: String,
    pub fee_rate: String,
    pub fee: String,
    /// Always [`SUCCESS`]: a refused swap leaves no record.
    pub status: String,
    pub created_at: i64,
    pub arrived_at: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct OneSwapRecord {
    pub record: SwapRecord,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SwapRecordList {
    pub records: Vec<SwapRecord>,
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
    fn an_estimate_reads_the_real_names_and_the_sdks_aliases() {
        let plain = EstimateRequest {
            coin_id_in: 1280,
            amount_in: "100".into(),
            coin_id_out: 1329,
            extra_fee_rate: None,
        };
        let expected = Ok(plain.clone());
        assert_eq!(
            parse(
                r#"{"coinIdIn":1280,"amountIn":"100","coinIdOut":"1329","extraFeeRate":"0.01"}"#,
                EstimateRequest::from_fields
            ),
            Ok(EstimateRequest {
                extra_fee_rate: Some("0.01".into()),
                ..plain
            })
        );
        assert_eq!(
            parse(
                r#"{"fromCoinId":1280,"fromAmount":100,"toCoinId":1329}"#,
                EstimateRequest::from_fields
            ),
            expected
        );
        assert_eq!(
            parse(
                r#"{"coinIdIn":1280,"amountIn":"1"}"#,
                EstimateRequest::from_fields
            ),
            Err(RequestError::MissingField { field: "coinIdOut" })
        );
        // A float would pass through f64: money never does.
        assert!(
            parse(
                r#"{"coinIdIn":1280,"amountIn":1.5,"coinIdOut":1329}"#,
                EstimateRequest::from_fields
            )
            .is_err()
        );
    }

    #[test]
    fn a_swap_needs_its_order_id_and_takes_a_minimum() {
        assert_eq!(
            parse(
                r#"{"orderId":" s-1 ","coinIdIn":1280,"amountIn":"10","coinIdOut":1329,"amountOutMinimum":"19.5"}"#,
                SwapRequest::from_fields
            ),
            Ok(SwapRequest {
                order_id: "s-1".into(),
                coin_id_in: 1280,
                amount_in: "10".into(),
                coin_id_out: 1329,
                amount_out_minimum: Some("19.5".into()),
            })
        );
        assert_eq!(
            parse(
                r#"{"orderId":"ab","coinIdIn":1280,"amountIn":"10","coinIdOut":1329}"#,
                SwapRequest::from_fields
            ),
            Err(RequestError::FieldLength {
                field: "orderId",
                min_chars: 3,
                max_chars: 64
            })
        );
        let minimal = parse(
            r#"{"orderId":"s-2","coinIdIn":1280,"amountIn":"10","coinIdOut":1329,"amountOutMinimum":""}"#,
            SwapRequest::from_fields,
        );
        assert_eq!(minimal.map(|r| r.amount_out_minimum), Ok(None));
    }

    #[test]
    fn a_user_swap_names_its_user_and_takes_a_markup() {
        let request = parse(
            r#"{"orderId":"u-1","userId":"alice1","coinIdIn":1280,"amountIn":"10","coinIdOut":1329,"extraFeeRate":"0.01"}"#,
            UserSwapRequest::from_fields,
        )
        .expect("a user swap request");
        assert_eq!(request.user_id, "alice1");
        assert_eq!(request.swap.order_id, "u-1");
        assert_eq!(request.extra_fee_rate.as_deref(), Some("0.01"));
        assert_eq!(
            parse(
                r#"{"orderId":"u-1","coinIdIn":1280,"amountIn":"10","coinIdOut":1329}"#,
                UserSwapRequest::from_fields
            ),
            Err(RequestError::MissingField { field: "userId" })
        );
        assert_eq!(
            parse(r#"{"userId":"alice1"}"#, SwapRecordListRequest::from_fields).map(|r| r.user_id),
            Ok(Some("alice1".into()))
        );
        assert!(parse(r#"{"userId":"sys-1"}"#, SwapRecordListRequest::from_fields).is_err());
    }

    #[test]
    fn a_record_list_takes_at_most_twenty_ids_of_each_kind() {
        assert_eq!(
            parse(
                r#"{"recordIds":["r1"],"orderIds":["o1","o2"],"coinIdIn":1280,"startAt":1,"endAt":"2","nextId":""}"#,
                SwapRecordListRequest::from_fields
            ),
            Ok(SwapRecordListRequest {
                record_ids: vec!["r1".into()],
                order_ids: vec!["o1".into(), "o2".into()],
                coin_id_in: Some(1280),
                coin_id_out: None,
                start_at: Some(1),
                end_at: Some(2),
                next_id: None,
                user_id: None,
            })
        );
        let ids: Vec<String> = (0..21).map(|i| format!("\"r{i}\"")).collect();
        assert_eq!(
            parse(
                &format!(r#"{{"recordIds":[{}]}}"#, ids.join(",")),
                SwapRecordListRequest::from_fields
            ),
            Err(RequestError::TooManyItems {
                field: "recordIds",
                max_len: IDS_MAX
            })
        );
    }

    #[test]
    fn answers_keep_the_spec_names_and_order() {
        let done = SwapDone {
            record_id: "r".into(),
            order_id: "o".into(),
            coin_id_in: 1280,
            coin_id_out: 1329,
            amount_out: "2".into(),
            amount_in: "1".into(),
            amount_out_minimum: String::new(),
            swap_rate: "2".into(),
            fee: "0.01".into(),
            fee_rate: "0.005".into(),
            extra_fee: "0".into(),
            net_amount_out: "1.99".into(),
            to_coin_price: "0.5".into(),
            from_coin_price: "1".into(),
        };
        assert_eq!(
            serde_json::to_string(&done).unwrap_or_default(),
            r#"{"recordId":"r","orderId":"o","coinIdIn":1280,"coinIdOut":1329,"amountOut":"2","amountIn":"1","amountOutMinimum":"","swapRate":"2","fee":"0.01","feeRate":"0.005","extraFee":"0","netAmountOut":"1.99","to_coin_price":"0.5","from_coin_price":"1"}"#
        );
    }
}
