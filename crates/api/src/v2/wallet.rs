//! The wallet system in v2 (spec §2.9–2.10, decisions §24): a merchant's
//! users, their balances, deposit addresses and deposit records, and
//! transfers between them. Field order is wire contract. Record look-ups by
//! `recordId`/`orderId` take [`super::withdrawals::RecordRequest`], and the
//! `{"recordId"}` answers are [`super::withdrawals::WithdrawAccepted`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::coins::AssetEntity;
use super::deposits::{RECORDS_PER_PAGE_DEFAULT, RECORDS_PER_PAGE_MAX};
use super::withdrawals::ORDER_ID_CHARS;
use crate::RequestError;
use crate::request::Fields;

/// A `userId`: 5 to 64 characters (v2 spec §2.9).
pub const USER_ID_CHARS: std::ops::RangeInclusive<usize> = 5..=64;
/// A `remark`: at most 255 characters (v2 spec §2.10.1).
pub const REMARK_CHARS_MAX: usize = 255;
/// Recipients one `userBatchTransfer` may name (decisions §24).
pub const BATCH_RECIPIENTS_MAX: usize = 100;
/// Order ids one record list may name (v2 spec §1.8).
pub const ORDER_IDS_MAX: usize = 100;

/// A user id as the spec bounds it, in visible ASCII without `:` (the
/// ledger's account key ends in it; decisions §24), not starting `sys`.
pub fn user_id(fields: &Fields, name: &'static str) -> Result<String, RequestError> {
    checked_user_id(name, fields.required_str(&[name])?.trim())
}

fn checked_user_id(name: &'static str, text: &str) -> Result<String, RequestError> {
    if !USER_ID_CHARS.contains(&text.chars().count()) {
        return Err(RequestError::FieldLength {
            field: name,
            min_chars: *USER_ID_CHARS.start(),
            max_chars: *USER_ID_CHARS.end(),
        });
    }
    if !text.bytes().all(|b| b.is_ascii_graphic() && b != b':') || text.starts_with("sys") {
        return Err(RequestError::FieldType {
            field: name,
            expected: "visible ASCII characters other than ':', not starting with \"sys\"",
        });
    }
    Ok(text.to_owned())
}

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

fn remark(fields: &Fields) -> Result<String, RequestError> {
    let remark = fields.optional_str(&["remark"])?.unwrap_or_default();
    if remark.chars().count() > REMARK_CHARS_MAX {
        return Err(RequestError::FieldTooLong {
            field: "remark",
            max_chars: REMARK_CHARS_MAX,
        });
    }
    Ok(remark.to_owned())
}

fn amount(fields: &Fields) -> Result<String, RequestError> {
    fields
        .optional_decimal_text("amount")?
        .map(|text| text.trim().to_owned())
        .ok_or(RequestError::MissingField { field: "amount" })
}

pub(crate) fn text(fields: &Fields, name: &'static str) -> Result<Option<String>, RequestError> {
    Ok(fields.optional_str(&[name])?.map(|s| s.trim().to_owned()))
}

pub(crate) fn seconds(fields: &Fields, name: &'static str) -> Result<Option<i64>, RequestError> {
    fields
        .optional_u64(&[name])?
        .map(|value| {
            i64::try_from(value).map_err(|_| RequestError::FieldType {
                field: name,
                expected: "unix seconds",
            })
        })
        .transpose()
}

pub(crate) fn limit(fields: &Fields) -> Result<u32, RequestError> {
    match fields.optional_u64(&["limit"])? {
        None => Ok(RECORDS_PER_PAGE_DEFAULT),
        Some(asked) if asked <= u64::from(RECORDS_PER_PAGE_MAX) => {
            Ok(u32::try_from(asked).unwrap_or(RECORDS_PER_PAGE_MAX))
        }
        Some(_) => Err(RequestError::FieldType {
            field: "limit",
            expected: "a whole number from 1 to 100",
        }),
    }
}

/// `getUserCoinAssetList`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRequest {
    pub user_id: String,
}

impl UserRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserRequest, RequestError> {
        Ok(UserRequest {
            user_id: user_id(fields, "userId")?,
        })
    }
}

/// `getUserCoinAsset`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCoinRequest {
    pub user_id: String,
    pub coin_id: u64,
}

impl UserCoinRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserCoinRequest, RequestError> {
        Ok(UserCoinRequest {
            user_id: user_id(fields, "userId")?,
            coin_id: fields.required_u64("coinId")?,
        })
    }
}

/// `getUserCoinAssetList` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserAssetList {
    pub user_id: String,
    pub assets: Vec<AssetEntity>,
}

/// `getUserCoinAsset` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserAsset {
    pub user_id: String,
    pub asset: AssetEntity,
}

/// `getOrCreateUserDepositAddress`'s request; it answers
/// [`super::deposits::DepositAddress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAddressRequest {
    pub user_id: String,
    pub chain: String,
    pub notify_url: Option<String>,
}

impl UserAddressRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserAddressRequest, RequestError> {
        Ok(UserAddressRequest {
            user_id: user_id(fields, "userId")?,
            chain: fields.required_str(&["chain"])?.trim().to_owned(),
            notify_url: fields.optional_url("notifyUrl")?.map(str::to_owned),
        })
    }
}

/// A deposit to a user's address (v2 spec §2.0 UserDepositRecord).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct UserDepositRecord {
    pub user_id: String,
    pub record_id: String,
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
    /// `Processing`, `Success` or `Failed`.
    pub status: String,
    pub arrived_at: i64,
    pub is_flagged_as_risky: bool,
}

/// `getUserDepositRecord` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct OneUserDepositRecord {
    pub record: UserDepositRecord,
}

/// `getUserDepositRecordList`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDepositRecordListRequest {
    pub user_id: String,
    pub coin_id: Option<u64>,
    pub chain: Option<String>,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub next_id: Option<String>,
    pub to_address: Option<String>,
    pub limit: u32,
}

impl UserDepositRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserDepositRecordListRequest, RequestError> {
        Ok(UserDepositRecordListRequest {
            user_id: user_id(fields, "userId")?,
            coin_id: fields.optional_u64(&["coinId"])?,
            chain: text(fields, "chain")?,
            start_at: seconds(fields, "startAt")?,
            end_at: seconds(fields, "endAt")?,
            next_id: text(fields, "nextId")?,
            to_address: text(fields, "toAddress")?,
            limit: limit(fields)?,
        })
    }
}

/// `getUserDepositRecordList` → `data`: `nextId` is `""` on the last page.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct UserDepositRecordList {
    pub records: Vec<UserDepositRecord>,
    pub next_id: String,
}

/// `userTransfer`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub order_id: String,
    pub from_user_id: String,
    pub to_user_id: String,
    pub coin_id: u64,
    /// Decimal text, checked against the coin by the engine.
    pub amount: String,
    pub remark: String,
}

impl TransferRequest {
    pub fn from_fields(fields: &Fields) -> Result<TransferRequest, RequestError> {
        Ok(TransferRequest {
            order_id: order_id(fields)?,
            from_user_id: user_id(fields, "fromUserId")?,
            to_user_id: user_id(fields, "toUserId")?,
            coin_id: fields.required_u64("coinId")?,
            amount: amount(fields)?,
            remark: remark(fields)?,
        })
    }
}

/// A transfer between two users (v2 spec §2.0 TransferRecord).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct TransferRecord {
    pub record_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    pub order_id: String,
    pub from_user_id: String,
    pub to_user_id: String,
    pub amount: String,
    /// `Success`: a refused transfer leaves no record (decisions §24).
    pub status: String,
    pub remark: String,
    #[serde(rename = "coinUSDPrice")]
    pub coin_usd_price: String,
}

/// `getUserTransferRecord` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct OneTransferRecord {
    pub record: TransferRecord,
}

/// `getUserTransferRecordList`'s request: every filter optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecordListRequest {
    pub from_user_id: Option<String>,
    pub to_user_id: Option<String>,
    pub coin_id: Option<u64>,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub next_id: Option<String>,
    pub order_ids: Vec<String>,
    pub limit: u32,
}

/// An optional user id (a list's filter).
pub fn optional_user_id(
    fields: &Fields,
    name: &'static str,
) -> Result<Option<String>, RequestError> {
    fields
        .optional_str(&[name])?
        .map(|text| checked_user_id(name, text.trim()))
        .transpose()
}

impl TransferRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<TransferRecordListRequest, RequestError> {
        Ok(TransferRecordListRequest {
            from_user_id: optional_user_id(fields, "fromUserId")?,
            to_user_id: optional_user_id(fields, "toUserId")?,
            coin_id: fields.optional_u64(&["coinId"])?,
            start_at: seconds(fields, "startAt")?,
            end_at: seconds(fields, "endAt")?,
            next_id: text(fields, "nextId")?,
            order_ids: fields.optional_string_list("orderIds", ORDER_IDS_MAX)?,
            limit: limit(fields)?,
        })
    }
}

/// `getUserTransferRecordList` and `getUserBatchTransferRecordDetail` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct TransferRecordList {
    pub records: Vec<TransferRecord>,
    pub next_id: String,
}

/// One recipient of a batch transfer.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct ToUser {
    pub user_id: String,
    pub amount: String,
}

/// `userBatchTransfer`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTransferRequest {
    pub order_id: String,
    /// The sender.
    pub user_id: String,
    pub to_users: Vec<ToUser>,
    pub coin_id: u64,
    pub remark: String,
}

impl BatchTransferRequest {
    pub fn from_fields(fields: &Fields) -> Result<BatchTransferRequest, RequestError> {
        let wrong = RequestError::FieldType {
            field: "toUsers",
            expected: "an array of {\"userId\",\"amount\"} objects",
        };
        let items = match fields.get("toUsers") {
            None | Some(Value::Null) => {
                return Err(RequestError::MissingField { field: "toUsers" });
            }
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(RequestError::MissingField { field: "toUsers" });
            }
            Some(Value::Array(items)) if items.len() > BATCH_RECIPIENTS_MAX => {
                return Err(RequestError::TooManyItems {
                    field: "toUsers",
                    max_len: BATCH_RECIPIENTS_MAX,
                });
            }
            Some(Value::Array(items)) => items,
            Some(_) => return Err(wrong),
        };
        let mut to_users = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(map) = item else {
                return Err(wrong);
            };
            let one = Fields::parse(&serde_json::to_vec(map).map_err(|_| wrong.clone())?)
                .map_err(|_| wrong.clone())?;
            to_users.push(ToUser {
                user_id: user_id(&one, "userId")?,
                amount: amount(&one)?,
            });
        }
        Ok(BatchTransferRequest {
            order_id: order_id(fields)?,
            user_id: user_id(fields, "userId")?,
            to_users,
            coin_id: fields.required_u64("coinId")?,
            remark: remark(fields)?,
        })
    }
}

/// A batch transfer (v2 spec §2.10.5).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchTransferRecord {
    pub record_id: String,
    pub user_id: String,
    pub coin_id: u64,
    pub coin_symbol: String,
    pub order_id: String,
    pub to_users: Vec<ToUser>,
    /// `Success`: batches are all or nothing (decisions §24).
    pub status: String,
    pub remark: String,
    #[serde(rename = "coinUSDPrice")]
    pub coin_usd_price: String,
}

/// `getUserBatchTransferRecord` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct OneBatchTransferRecord {
    pub record: BatchTransferRecord,
}

/// `getUserBatchTransferRecordList`'s request: every filter optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTransferRecordListRequest {
    pub order_ids: Vec<String>,
    pub user_id: Option<String>,
    pub coin_id: Option<u64>,
    pub start_at: Option<i64>,
    pub end_at: Option<i64>,
    pub next_id: Option<String>,
    pub limit: u32,
}

impl BatchTransferRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<BatchTransferRecordListRequest, RequestError> {
        Ok(BatchTransferRecordListRequest {
            order_ids: fields.optional_string_list("orderIds", ORDER_IDS_MAX)?,
            user_id: optional_user_id(fields, "userId")?,
            coin_id: fields.optional_u64(&["coinId"])?,
            start_at: seconds(fields, "startAt")?,
            end_at: seconds(fields, "endAt")?,
            next_id: text(fields, "nextId")?,
            limit: limit(fields)?,
        })
    }
}

/// `getUserBatchTransferRecordList` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchTransferRecordList {
    pub records: Vec<BatchTransferRecord>,
    pub next_id: String,
}

/// `getUserBatchTransferRecordDetail`'s request; it answers a
/// [`TransferRecordList`] of the batch's legs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchDetailRequest {
    pub record_id: String,
    pub next_id: Option<String>,
    pub limit: u32,
}

impl BatchDetailRequest {
    pub fn from_fields(fields: &Fields) -> Result<BatchDetailRequest, RequestError> {
        Ok(BatchDetailRequest {
            record_id: fields.required_str(&["recordId"])?.trim().to_owned(),
            next_id: text(fields, "nextId")?,
            limit: limit(fields)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::fields;

    fn parse<T>(
        from_fields: fn(&Fields) -> Result<T, RequestError>,
        body: &str,
    ) -> Result<T, RequestError> {
        from_fields(&fields(body.as_bytes())?)
    }

    #[test]
    fn user_ids_are_bounded_like_the_spec() {
        let user = |body: &str| parse(UserRequest::from_fields, body).map(|r| r.user_id);
        assert_eq!(user(r#"{"userId":" alice "}"#), Ok("alice".into()));
        assert_eq!(user(r#"{"userId":"alice-01"}"#), Ok("alice-01".into()));
        assert_eq!(
            user(r#"{"userId":"bob@shop.example"}"#),
            Ok("bob@shop.example".into())
        );
        for refused in [
            r#"{"userId":"abcd"}"#,
            &format!(r#"{{"userId":"{}"}}"#, "a".repeat(65)),
            r#"{"userId":"system-1"}"#,
            r#"{"userId":"a:b:c:d"}"#,
            r#"{"userId":"alice bob"}"#,
            r#"{"userId":"ålice"}"#,
            "{}",
        ] {
            assert!(user(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_transfer_reads_every_field() {
        assert_eq!(
            parse(
                TransferRequest::from_fields,
                r#"{"orderId":"t-1","fromUserId":"alice-01","toUserId":"bob-01","coinId":"1280","amount":"1.5","remark":"rent"}"#
            ),
            Ok(TransferRequest {
                order_id: "t-1".into(),
                from_user_id: "alice-01".into(),
                to_user_id: "bob-01".into(),
                coin_id: 1280,
                amount: "1.5".into(),
                remark: "rent".into(),
            })
        );
        let long_remark = format!(
            r#"{{"orderId":"t-1","fromUserId":"alice-01","toUserId":"bob-01","coinId":1280,"amount":"1","remark":"{}"}}"#,
            "r".repeat(256)
        );
        assert!(parse(TransferRequest::from_fields, &long_remark).is_err());
        assert!(
            parse(
                TransferRequest::from_fields,
                r#"{"orderId":"t","fromUserId":"alice-01","toUserId":"bob-01","coinId":1280,"amount":"1"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn a_batch_reads_its_recipients() {
        let batch = parse(
            BatchTransferRequest::from_fields,
            r#"{"orderId":"b-1","userId":"alice-01","coinId":1280,"toUsers":[{"userId":"bob-01","amount":"1"},{"userId":"carol-01","amount":2}]}"#,
        );
        assert_eq!(
            batch.map(|b| b.to_users),
            Ok(vec![
                ToUser {
                    user_id: "bob-01".into(),
                    amount: "1".into()
                },
                ToUser {
                    user_id: "carol-01".into(),
                    amount: "2".into()
                },
            ])
        );
        for refused in [
            r#"{"orderId":"b-1","userId":"alice-01","coinId":1280,"toUsers":[]}"#,
            r#"{"orderId":"b-1","userId":"alice-01","coinId":1280,"toUsers":["bob-01"]}"#,
            r#"{"orderId":"b-1","userId":"alice-01","coinId":1280,"toUsers":[{"userId":"bob-01"}]}"#,
            r#"{"orderId":"b-1","userId":"alice-01","coinId":1280}"#,
        ] {
            assert!(
                parse(BatchTransferRequest::from_fields, refused).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn records_are_the_documented_bytes() {
        let transfer = TransferRecord {
            record_id: "20240312090316119190942031876096".into(),
            coin_id: 1280,
            coin_symbol: "USDT".into(),
            order_id: "t-1".into(),
            from_user_id: "alice-01".into(),
            to_user_id: "bob-01".into(),
            amount: "1.5".into(),
            status: "Success".into(),
            remark: "rent".into(),
            coin_usd_price: "1".into(),
        };
        assert_eq!(
            serde_json::to_string(&OneTransferRecord { record: transfer })
                .ok()
                .as_deref(),
            Some(
                r#"{"record":{"recordId":"20240312090316119190942031876096","coinId":1280,"coinSymbol":"USDT","orderId":"t-1","fromUserId":"alice-01","toUserId":"bob-01","amount":"1.5","status":"Success","remark":"rent","coinUSDPrice":"1"}}"#
            )
        );
        let batch = BatchTransferRecord {
            record_id: "r-1".into(),
            user_id: "alice-01".into(),
            coin_id: 1280,
            coin_symbol: "USDT".into(),
            order_id: "b-1".into(),
            to_users: vec![ToUser {
                user_id: "bob-01".into(),
                amount: "1".into(),
            }],
            status: "Success".into(),
            remark: String::new(),
            coin_usd_price: "1".into(),
        };
        assert_eq!(
            serde_json::to_string(&batch).ok().as_deref(),
            Some(
                r#"{"recordId":"r-1","userId":"alice-01","coinId":1280,"coinSymbol":"USDT","orderId":"b-1","toUsers":[{"userId":"bob-01","amount":"1"}],"status":"Success","remark":"","coinUSDPrice":"1"}"#
            )
        );
        let deposit = UserDepositRecord {
            user_id: "alice-01".into(),
            record_id: "r-2".into(),
            coin_id: 1280,
            coin_symbol: "USDT".into(),
            chain: "ETH".into(),
            contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7".into(),
            coin_usd_price: "1".into(),
            from_address: "0xfrom".into(),
            to_address: "0xto".into(),
            to_memo: String::new(),
            amount: "10".into(),
            service_fee: "0.003".into(),
            tx_id: "0xtx".into(),
            status: "Success".into(),
            arrived_at: 1_700_000_000,
            is_flagged_as_risky: false,
        };
        assert_eq!(
            serde_json::to_string(&deposit).ok().as_deref(),
            Some(
                r#"{"userId":"alice-01","recordId":"r-2","coinId":1280,"coinSymbol":"USDT","chain":"ETH","contract":"0xdAC17F958D2ee523a2206206994597C13D831ec7","coinUSDPrice":"1","fromAddress":"0xfrom","toAddress":"0xto","toMemo":"","amount":"10","serviceFee":"0.003","txId":"0xtx","status":"Success","arrivedAt":1700000000,"isFlaggedAsRisky":false}"#
            )
        );
        let assets = UserAssetList {
            user_id: "alice-01".into(),
            assets: vec![AssetEntity {
                coin_id: 1280,
                coin_symbol: "USDT".into(),
                available: "70".into(),
            }],
        };
        assert_eq!(
            serde_json::to_string(&assets).ok().as_deref(),
            Some(
                r#"{"userId":"alice-01","assets":[{"coinId":1280,"coinSymbol":"USDT","available":"70"}]}"#
            )
        );
    }
}
