//! One typed method per v1 endpoint.

use ccgate_api::assets::AssetsData;
use ccgate_api::deposits::PermanentAddress;
use ccgate_api::orders::{BillCreated, BillInfo, PaymentUrl};
use ccgate_api::resources::{
    ChainHeight, CoinList, CwalletUser, NetworkFee, NetworkList, SupportedTokens, TokenRate,
};
use ccgate_api::webhooks::ResendData;
use ccgate_api::withdrawals::{WithdrawInfo, Withdrawn};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Client, ClientError};

/// `bill/create` (native checkout).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateOrder {
    pub token_id: String,
    pub product_price: String,
    pub merchant_order_id: String,
    /// A fiat code (`USD`) or `token`.
    pub denominated_currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_valid_period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// `concise/url/get` (hosted checkout).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckoutUrl {
    pub product_price: String,
    pub merchant_order_id: String,
    pub product_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_valid_period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_value: Option<String>,
}

/// `withdraw`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Withdraw {
    pub token_id: String,
    /// A chain address or a Cwallet id.
    pub address: String,
    pub value: String,
    pub merchant_order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    pub merchant_pays_fee: bool,
}

/// One element of `bill/info`: a deposit order or a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum BillInfoItem {
    Withdrawal(WithdrawInfo),
    Order(BillInfo),
}

impl Client {
    pub async fn assets(&self, coin_id: Option<&str>) -> Result<AssetsData, ClientError> {
        self.call("assets", &json!({ "coin_id": coin_id.unwrap_or("") }), true)
            .await
    }

    pub async fn coin_all(&self) -> Result<CoinList, ClientError> {
        self.call("coin/all", &json!({}), true).await
    }

    pub async fn support_token(&self) -> Result<SupportedTokens, ClientError> {
        self.call("support/token", &json!({}), true).await
    }

    pub async fn token_chain(&self, token_id: &str) -> Result<NetworkList, ClientError> {
        self.call("token/chain", &json!({ "token_id": token_id }), true)
            .await
    }

    pub async fn token_rate(&self, amount: &str, token_id: &str) -> Result<TokenRate, ClientError> {
        self.call(
            "token/rate",
            &json!({ "amount": amount, "token_id": token_id }),
            true,
        )
        .await
    }

    pub async fn network_fee(
        &self,
        token_id: &str,
        address: Option<&str>,
    ) -> Result<NetworkFee, ClientError> {
        let body = json!({ "token_id": token_id, "address": address.unwrap_or("") });
        self.call("network/fee", &body, true).await
    }

    pub async fn chain_heights(&self) -> Result<Vec<ChainHeight>, ClientError> {
        self.call("get/network/height/info", &json!({}), true).await
    }

    pub async fn check_user(&self, c_id: &str) -> Result<CwalletUser, ClientError> {
        self.call("check/user", &json!({ "c_id": c_id }), true)
            .await
    }

    /// The same (user, chain) always answers the same address.
    pub async fn permanent_address(
        &self,
        user_id: &str,
        chain: &str,
    ) -> Result<PermanentAddress, ClientError> {
        self.call(
            "payment/address/get",
            &json!({ "user_id": user_id, "chain": chain }),
            true,
        )
        .await
    }

    pub async fn create_order(&self, order: &CreateOrder) -> Result<BillCreated, ClientError> {
        self.call("bill/create", order, true).await
    }

    pub async fn checkout_url(&self, checkout: &CheckoutUrl) -> Result<PaymentUrl, ClientError> {
        self.call("concise/url/get", checkout, true).await
    }

    pub async fn bill_info(
        &self,
        merchant_order_ids: &[&str],
    ) -> Result<Vec<BillInfoItem>, ClientError> {
        self.call(
            "bill/info",
            &json!({ "merchant_order_ids": merchant_order_ids }),
            true,
        )
        .await
    }

    pub async fn withdraw(&self, withdraw: &Withdraw) -> Result<Withdrawn, ClientError> {
        self.call("withdraw", withdraw, true).await
    }

    /// Not repeated on a transport error: the server counts every call
    /// against the per-minute limit.
    pub async fn resend_webhooks(
        &self,
        start_timestamp: u64,
        end_timestamp: Option<u64>,
    ) -> Result<ResendData, ClientError> {
        let body = json!({ "start_timestamp": start_timestamp, "end_timestamp": end_timestamp });
        self.call("webhook/resend", &body, false).await
    }
}
