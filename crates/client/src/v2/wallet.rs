//! The wallet system's calls (v2 spec §2.9–2.10): a merchant's users'
//! balances, deposit addresses and deposit records, and transfers between
//! users (the merchant's App ID as a user id is the merchant's own balance).

use ccgate_api::v2::deposits::DepositAddress;
pub use ccgate_api::v2::wallet::{
    BatchTransferRecord, BatchTransferRecordList, ToUser, TransferRecord, TransferRecordList,
    UserAsset, UserAssetList, UserDepositRecord, UserDepositRecordList,
};
use ccgate_api::v2::wallet::{OneBatchTransferRecord, OneTransferRecord, OneUserDepositRecord};
use ccgate_api::v2::withdrawals::WithdrawAccepted;
use serde::Serialize;
use serde_json::json;

use super::{OrderIdOnly, RecordIdOnly, V2Client};
use crate::ClientError;

/// `getOrCreateUserDepositAddress`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserAddressRequest {
    /// 5 to 64 visible characters, not starting `sys`.
    pub user_id: String,
    /// The chain symbol (`ETH`, `TRX`…).
    pub chain: String,
    /// Where this address's webhooks go instead of the merchant's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// `getUserDepositRecordList`'s query: the user, then optional filters.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserDepositRecordQuery {
    /// Whose deposits.
    pub user_id: String,
    /// The coin by number (USDT is 1280).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id: Option<u64>,
    /// The chain symbol (`ETH`, `TRX`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Unix seconds, inclusive (90 days ago when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<i64>,
    /// Unix seconds, inclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_at: Option<i64>,
    /// The page after this one: the previous answer's `next_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_id: Option<String>,
    /// Records a page (20 when `None`, at most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `userTransfer`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserTransferRequest {
    /// The merchant's id for the transfer, 3 to 64 characters: repeating it
    /// with the same parameters answers the same transfer.
    pub order_id: String,
    /// The sender (the App ID: the merchant itself).
    pub from_user_id: String,
    /// The recipient (the App ID: the merchant itself).
    pub to_user_id: String,
    /// The coin by number (USDT is 1280).
    pub coin_id: u64,
    /// Decimal text in the coin.
    pub amount: String,
    /// At most 255 characters.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remark: String,
}

/// `getUserTransferRecordList`'s query: every filter optional.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserTransferQuery {
    /// The sender (the App ID: the merchant itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_user_id: Option<String>,
    /// The recipient (the App ID: the merchant itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_user_id: Option<String>,
    /// The coin by number (USDT is 1280).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id: Option<u64>,
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

/// `userBatchTransfer`'s request: one sender, every recipient paid or none.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserBatchTransferRequest {
    /// The merchant's id, 3 to 64 characters.
    pub order_id: String,
    /// The sender.
    pub user_id: String,
    /// The recipients and their amounts.
    pub to_users: Vec<ToUser>,
    /// The coin by number (USDT is 1280).
    pub coin_id: u64,
    /// At most 255 characters.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remark: String,
}

/// `getUserBatchTransferRecordList`'s query: every filter optional.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserBatchTransferQuery {
    /// Only these order ids (at most 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_ids: Vec<String>,
    /// Only this sender's batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The coin by number (USDT is 1280).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id: Option<u64>,
    /// The page after this one: the previous answer's `next_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_id: Option<String>,
    /// Records a page (20 when `None`, at most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl V2Client {
    /// `getUserCoinAssetList`: every coin the user holds.
    pub async fn user_assets(&self, user_id: &str) -> Result<UserAssetList, ClientError> {
        self.call("getUserCoinAssetList", &json!({ "userId": user_id }), true)
            .await
    }

    /// `getUserCoinAsset`: the user's balance of one coin (`"0"` if none).
    pub async fn user_asset(&self, user_id: &str, coin_id: u64) -> Result<UserAsset, ClientError> {
        self.call(
            "getUserCoinAsset",
            &json!({ "userId": user_id, "coinId": coin_id }),
            true,
        )
        .await
    }

    /// `getOrCreateUserDepositAddress`: the user's permanent address on the
    /// chain (the same on every call, so retried); deposits to it credit the
    /// user and are notified as `UserDeposit`.
    pub async fn user_deposit_address(
        &self,
        request: &UserAddressRequest,
    ) -> Result<DepositAddress, ClientError> {
        self.call("getOrCreateUserDepositAddress", request, true)
            .await
    }

    /// `getUserDepositRecord`: one of the users' deposits (a `UserDeposit`
    /// webhook's `recordId`).
    pub async fn user_deposit_record(
        &self,
        record_id: &str,
    ) -> Result<UserDepositRecord, ClientError> {
        self.one_record::<OneUserDepositRecord>("getUserDepositRecord", &RecordIdOnly { record_id })
            .await
    }

    /// `getUserDepositRecordList`: one user's deposits, newest first.
    pub async fn user_deposit_records(
        &self,
        query: &UserDepositRecordQuery,
    ) -> Result<UserDepositRecordList, ClientError> {
        self.call("getUserDepositRecordList", query, true).await
    }

    /// `userTransfer`: instant, no webhook; answers the record id. Retried:
    /// the same `orderId` and parameters answer the same transfer.
    pub async fn user_transfer(
        &self,
        request: &UserTransferRequest,
    ) -> Result<String, ClientError> {
        let answer: WithdrawAccepted = self.call("userTransfer", request, true).await?;
        Ok(answer.record_id)
    }

    /// `getUserTransferRecord` by record id.
    pub async fn user_transfer_record(
        &self,
        record_id: &str,
    ) -> Result<TransferRecord, ClientError> {
        self.one_record::<OneTransferRecord>("getUserTransferRecord", &RecordIdOnly { record_id })
            .await
    }

    /// `getUserTransferRecord` by the merchant's order id.
    pub async fn user_transfer_record_by_order_id(
        &self,
        order_id: &str,
    ) -> Result<TransferRecord, ClientError> {
        self.one_record::<OneTransferRecord>("getUserTransferRecord", &OrderIdOnly { order_id })
            .await
    }

    /// `getUserTransferRecordList`: newest first, batches' legs included.
    pub async fn user_transfer_records(
        &self,
        query: &UserTransferQuery,
    ) -> Result<TransferRecordList, ClientError> {
        self.call("getUserTransferRecordList", query, true).await
    }

    /// `userBatchTransfer`: all or nothing; answers the batch's record id.
    /// Retried like [`V2Client::user_transfer`].
    pub async fn user_batch_transfer(
        &self,
        request: &UserBatchTransferRequest,
    ) -> Result<String, ClientError> {
        let answer: WithdrawAccepted = self.call("userBatchTransfer", request, true).await?;
        Ok(answer.record_id)
    }

    /// `getUserBatchTransferRecord` by the batch's order id.
    pub async fn user_batch_transfer_record_by_order_id(
        &self,
        order_id: &str,
    ) -> Result<BatchTransferRecord, ClientError> {
        self.one_record::<OneBatchTransferRecord>(
            "getUserBatchTransferRecord",
            &OrderIdOnly { order_id },
        )
        .await
    }

    /// `getUserBatchTransferRecordList`: newest first.
    pub async fn user_batch_transfer_records(
        &self,
        query: &UserBatchTransferQuery,
    ) -> Result<BatchTransferRecordList, ClientError> {
        self.call("getUserBatchTransferRecordList", query, true)
            .await
    }

    /// `getUserBatchTransferRecordDetail`: the batch's legs, in order.
    pub async fn user_batch_transfer_detail(
        &self,
        record_id: &str,
    ) -> Result<TransferRecordList, ClientError> {
        self.call(
            "getUserBatchTransferRecordDetail",
            &RecordIdOnly { record_id },
            true,
        )
        .await
    }
}
