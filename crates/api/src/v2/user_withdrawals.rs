//! Wallet users' withdrawals in v2 (spec §2.0, §2.9.6–2.9.9, decisions §28):
//! the requests of `applyUserWithdrawToNetwork`, `applyUserWithdrawToCwallet`,
//! `getUserWithdrawRecord` and `getUserWithdrawRecordList`, and the
//! UserWithdrawRecord they answer. A user's withdrawal asks what a
//! merchant's does, with the user named; it answers
//! [`super::withdrawals::WithdrawAccepted`] and is looked up by
//! [`super::withdrawals::RecordRequest`]. Field order is wire contract.

use serde::{Deserialize, Serialize};

use super::coins::WithdrawFee;
use super::wallet::{ORDER_IDS_MAX, limit, seconds, text, user_id};
use super::withdrawals::{CwalletWithdrawRequest, NetworkWithdrawRequest};
use crate::RequestError;
use crate::request::Fields;

/// `applyUserWithdrawToNetwork`'s request: the user, and what a merchant's
/// network withdrawal asks (`merchantPayNetworkFee`, which the spec shows in
/// an example only, is honoured: the user pays the fee on top).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNetworkWithdrawRequest {
    pub user_id: String,
    pub withdrawal: NetworkWithdrawRequest,
}

impl UserNetworkWithdrawRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserNetworkWithdrawRequest, RequestError> {
        Ok(UserNetworkWithdrawRequest {
            user_id: user_id(fields, "userId")?,
            withdrawal: NetworkWithdrawRequest::from_fields(fields)?,
        })
    }
}

/// `applyUserWithdrawToCwallet`'s request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCwalletWithdrawRequest {
    pub user_id: String,
    pub withdrawal: CwalletWithdrawRequest,
}

impl UserCwalletWithdrawRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserCwalletWithdrawRequest, RequestError> {
        Ok(UserCwalletWithdrawRequest {
            user_id: user_id(fields, "userId")?,
            withdrawal: CwalletWithdrawRequest::from_fields(fields)?,
        })
    }
}

/// `getUserWithdrawRecordList`'s request: the user, then optional filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWithdrawRecordListRequest {
    pub user_id: String,
    pub coin_id: Option<u64>,
    /// A chain symbol, or [`super::withdrawals::CWALLET_CHAIN`].
    pub chain: Option<String>,
    pub to_address: Option<String>,
    /// Unix seconds, inclusive.
    pub start_at: Option<i64>,
    /// Unix seconds, inclusive.
    pub end_at: Option<i64>,
    pub next_id: Option<String>,
    /// Empty: any.
    pub order_ids: Vec<String>,
    pub limit: u32,
}

impl UserWithdrawRecordListRequest {
    pub fn from_fields(fields: &Fields) -> Result<UserWithdrawRecordListRequest, RequestError> {
        Ok(UserWithdrawRecordListRequest {
            user_id: user_id(fields, "userId")?,
            coin_id: fields.optional_u64(&["coinId"])?,
            chain: text(fields, "chain")?,
            to_address: text(fields, "toAddress")?,
            start_at: seconds(fields, "startAt")?,
            end_at: seconds(fields, "endAt")?,
            next_id: text(fields, "nextId")?,
            order_ids: fields.optional_string_list("orderIds", ORDER_IDS_MAX)?,
            limit: limit(fields)?,
        })
    }
}

/// UserWithdrawRecord (v2 spec §2.0): every field always present, in the
/// spec's order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserWithdrawRecord {
    pub user_id: String,
    pub record_id: String,
    /// `Network` or `Cwallet`.
    pub withdraw_type: String,
    pub coin_id: u64,
    /// The chain symbol, or [`super::withdrawals::CWALLET_CHAIN`].
    pub chain: String,
    pub order_id: String,
    /// `""` for a Cwallet withdrawal, and until it is sent.
    pub tx_id: String,
    pub coin_symbol: String,
    pub from_address: String,
    /// `""` for a Cwallet withdrawal.
    pub to_address: String,
    /// `""` for a network withdrawal.
    pub cwallet_user: String,
    pub to_memo: String,
    /// What was asked for (the fee beside it).
    pub amount: String,
    /// `Processing`, `Success`, `Failed`, `WaitingApproval` or `Rejected`.
    pub status: String,
    pub fee: WithdrawFee,
    #[serde(rename = "coinUSDPrice")]
    pub coin_usd_price: String,
}

/// `getUserWithdrawRecord` → `data`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct OneUserWithdrawRecord {
    pub record: UserWithdrawRecord,
}

/// `getUserWithdrawRecordList` → `data`: `nextId` is `""` on the last page.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct UserWithdrawRecordList {
    pub records: Vec<UserWithdrawRecord>,
    pub next_id: String,
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
    fn a_user_withdrawal_is_a_merchant_withdrawal_with_the_user_named() {
        let network = parse(
            UserNetworkWithdrawRequest::from_fields,
            r#"{"userId":"alice-01","orderId":"uw-1","coinId":1280,"chain":"ETH","address":"0xabc","amount":"2","notifyUrl":"https://shop.example/hook"}"#,
        );
        assert_eq!(
            network.map(|r| (r.user_id, r.withdrawal.order_id, r.withdrawal.notify_url)),
            Ok((
                "alice-01".into(),
                "uw-1".into(),
                Some("https://shop.example/hook".into())
            ))
        );
        let cwallet = parse(
            UserCwalletWithdrawRequest::from_fields,
            r#"{"userId":"alice-01","orderId":"uw-2","coinId":"1280","cwalletUser":"9454818","amount":1}"#,
        );
        assert_eq!(
            cwallet.map(|r| (r.user_id, r.withdrawal.cwallet_user, r.withdrawal.amount)),
            Ok(("alice-01".into(), "9454818".into(), "1".into()))
        );
        for refused in [
            r#"{"orderId":"uw-2","coinId":1280,"cwalletUser":"9454818","amount":"1"}"#,
            r#"{"userId":"sys-alice","orderId":"uw-2","coinId":1280,"cwalletUser":"9454818","amount":"1"}"#,
            r#"{"userId":"alice-01","orderId":"u","coinId":1280,"cwalletUser":"9454818","amount":"1"}"#,
        ] {
            assert!(
                parse(UserCwalletWithdrawRequest::from_fields, refused).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_record_list_needs_the_user_and_reads_its_filters() {
        let request = parse(
            UserWithdrawRecordListRequest::from_fields,
            r#"{"userId":"alice-01","coinId":"1280","chain":"Cwallet OS","startAt":1,"endAt":2,"orderIds":["a"],"limit":5,"nextId":""}"#,
        );
        assert_eq!(
            request,
            Ok(UserWithdrawRecordListRequest {
                user_id: "alice-01".into(),
                coin_id: Some(1280),
                chain: Some("Cwallet OS".into()),
                to_address: None,
                start_at: Some(1),
                end_at: Some(2),
                next_id: None,
                order_ids: vec!["a".into()],
                limit: 5,
            })
        );
        assert!(parse(UserWithdrawRecordListRequest::from_fields, "{}").is_err());
    }

    #[test]
    fn a_record_is_the_documented_bytes() {
        let record = UserWithdrawRecord {
            user_id: "alice-01".into(),
            record_id: "r-1".into(),
            withdraw_type: "Network".into(),
            coin_id: 1280,
            chain: "ETH".into(),
            order_id: "uw-1".into(),
            tx_id: "0xtx".into(),
            coin_symbol: "USDT".into(),
            from_address: String::new(),
            to_address: "0xto".into(),
            cwallet_user: String::new(),
            to_memo: String::new(),
            amount: "2".into(),
            status: "Success".into(),
            fee: WithdrawFee {
                coin_id: 1280,
                coin_symbol: "USDT".into(),
                amount: "0.5".into(),
            },
            coin_usd_price: "1".into(),
        };
        assert_eq!(
            serde_json::to_string(&OneUserWithdrawRecord { record })
                .ok()
                .as_deref(),
            Some(
                r#"{"record":{"userId":"alice-01","recordId":"r-1","withdrawType":"Network","coinId":1280,"chain":"ETH","orderId":"uw-1","txId":"0xtx","coinSymbol":"USDT","fromAddress":"","toAddress":"0xto","cwalletUser":"","toMemo":"","amount":"2","status":"Success","fee":{"coinId":1280,"coinSymbol":"USDT","amount":"0.5"},"coinUSDPrice":"1"}}"#
            )
        );
    }
}
