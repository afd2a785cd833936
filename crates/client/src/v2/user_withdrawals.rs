//! Wallet users' withdrawals (v2 spec §2.9.6–2.9.9): a merchant's
//! withdrawal paid from one of its users' balances, on a chain (notified as
//! `UserWithdrawal`) or to a Cwallet id (instant, no webhook).

use ccgate_api::v2::user_withdrawals::OneUserWithdrawRecord;
pub use ccgate_api::v2::user_withdrawals::{UserWithdrawRecord, UserWithdrawRecordList};
use ccgate_api::v2::withdrawals::WithdrawAccepted;
use serde::Serialize;

use super::{OrderIdOnly, RecordIdOnly, V2Client, is_false};
use crate::ClientError;

/// `applyUserWithdrawToNetwork`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserNetworkWithdrawal {
    /// Whose balance pays.
    pub user_id: String,
    /// The merchant's id for the withdrawal, 3 to 64 characters, in the one
    /// namespace of its own and its users' withdrawals: what makes a repeat
    /// the same withdrawal.
    pub order_id: String,
    /// The coin by number.
    pub coin_id: u64,
    /// The chain symbol.
    pub chain: String,
    /// A chain address.
    pub address: String,
    /// Decimal text in the coin.
    pub amount: String,
    /// For chains that need one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// `true`: the payee gets `amount` and the fee is debited from the user
    /// on top; `false`: the fee comes out of `amount`.
    #[serde(skip_serializing_if = "is_false")]
    pub merchant_pay_network_fee: bool,
    /// A [`V2Client::withdraw_fee`] quote's id, to be charged exactly its fee.
    #[serde(
        rename = "networkFeeInquiryID",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_fee_inquiry_id: Option<String>,
    /// Where this withdrawal's webhooks go (at most 150 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// `applyUserWithdrawToCwallet`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserCwalletWithdrawal {
    /// Whose balance pays.
    pub user_id: String,
    /// The merchant's id for the withdrawal, 3 to 64 characters.
    pub order_id: String,
    /// The coin by number.
    pub coin_id: u64,
    /// The payee's Cwallet id.
    pub cwallet_user: String,
    /// Decimal text in the coin.
    pub amount: String,
}

/// `getUserWithdrawRecordList`'s query: the user, then optional filters.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserWithdrawRecordQuery {
    /// Whose withdrawals.
    pub user_id: String,
    /// The coin by number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id: Option<u64>,
    /// A chain symbol, or `"Cwallet OS"` for Cwallet withdrawals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Only withdrawals to this address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
    /// Unix seconds, inclusive (90 days ago when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<i64>,
    /// Unix seconds, inclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_at: Option<i64>,
    /// The page after this one: the previous answer's `next_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_id: Option<String>,
    /// Only these order ids (at most 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_ids: Vec<String>,
    /// Records a page (20 when `None`, at most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl V2Client {
    /// `applyUserWithdrawToNetwork`: answers the withdrawal's record id.
    /// Retried: the same `orderId`, user and parameters answer the same
    /// withdrawal and debit nothing more.
    pub async fn user_withdraw_to_network(
        &self,
        request: &UserNetworkWithdrawal,
    ) -> Result<String, ClientError> {
        let answer: WithdrawAccepted = self
            .call("applyUserWithdrawToNetwork", request, true)
            .await?;
        Ok(answer.record_id)
    }

    /// `applyUserWithdrawToCwallet`: instant, no webhook; answers the record
    /// id. Retried like [`V2Client::user_withdraw_to_network`].
    pub async fn user_withdraw_to_cwallet(
        &self,
        request: &UserCwalletWithdrawal,
    ) -> Result<String, ClientError> {
        let answer: WithdrawAccepted = self
            .call("applyUserWithdrawToCwallet", request, true)
            .await?;
        Ok(answer.record_id)
    }

    /// `getUserWithdrawRecord` by record id (a `UserWithdrawal` webhook's
    /// `recordId`, or what a withdrawal call answered).
    pub async fn user_withdraw_record(
        &self,
        record_id: &str,
    ) -> Result<UserWithdrawRecord, ClientError> {
        self.one_record::<OneUserWithdrawRecord>(
            "getUserWithdrawRecord",
            &RecordIdOnly { record_id },
        )
        .await
    }

    /// `getUserWithdrawRecord` by the merchant's order id.
    pub async fn user_withdraw_record_by_order_id(
        &self,
        order_id: &str,
    ) -> Result<UserWithdrawRecord, ClientError> {
        self.one_record::<OneUserWithdrawRecord>("getUserWithdrawRecord", &OrderIdOnly { order_id })
            .await
    }

    /// `getUserWithdrawRecordList`: one user's withdrawals, newest first.
    pub async fn user_withdraw_records(
        &self,
        query: &UserWithdrawRecordQuery,
    ) -> Result<UserWithdrawRecordList, ClientError> {
        self.call("getUserWithdrawRecordList", query, true).await
    }
}
