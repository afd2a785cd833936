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
    /// The network: a `token_id` from [`Client::coin_all`].
    pub token_id: String,
    /// The price, in `denominated_currency`; at most 2 decimals for a fiat currency.
    pub product_price: String,
    /// Your id for the order; repeating a request with it returns the same order.
    pub merchant_order_id: String,
    /// A fiat code (`USD`) or `token`.
    pub denominated_currency: String,
    /// Seconds the order stays payable (default 24 h, at most 10 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_valid_period: Option<u64>,
    /// Where this order's webhooks go, instead of the merchant's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Echoed in the webhooks' `extend.custom_value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_value: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// `concise/url/get` (hosted checkout).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckoutUrl {
    /// The price in USD, at most 2 decimals.
    pub product_price: String,
    /// Your id for the order; repeating a request with it returns the same URL.
    pub merchant_order_id: String,
    /// Shown to the payer.
    pub product_name: String,
    /// Seconds the checkout stays payable (default 24 h, at most 10 days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_valid_period: Option<u64>,
    /// Where the page sends the payer once paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Where this order's webhooks go, instead of the merchant's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Echoed in the webhooks' `extend.custom_value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_value: Option<String>,
}

/// `withdraw`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Withdraw {
    /// The network (any token id of the coin for a Cwallet id).
    pub token_id: String,
    /// A chain address or a Cwallet id.
    pub address: String,
    /// The amount, at most the network's decimals.
    pub value: String,
    /// Your id for the withdrawal; repeating a request with it moves nothing more.
    pub merchant_order_id: String,
    /// Memo or tag, for chains that need one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// `true`: you pay the network fee on top; `false`: the payee receives `value` minus it.
    pub merchant_pays_fee: bool,
}

/// One element of `bill/info`: a deposit order or a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum BillInfoItem {
    /// A withdrawal's details.
    Withdrawal(WithdrawInfo),
    /// A deposit order with its payments and refunds.
    Order(BillInfo),
}

impl Client {
    /// `assets`: balances of every coin held, or of one coin (`coin_id` or a token id).
    pub async fn assets(&self, coin_id: Option<&str>) -> Result<AssetsData, ClientError> {
        self.call("assets", &json!({ "coin_id": coin_id.unwrap_or("") }), true)
            .await
    }

    /// `coin/all`: the coins with their networks and prices.
    pub async fn coin_all(&self) -> Result<CoinList, ClientError> {
        self.call("coin/all", &json!({}), true).await
    }

    /// `support/token`: one entry per network (deprecated by CCPayment, still served).
    pub async fn support_token(&self) -> Result<SupportedTokens, ClientError> {
        self.call("support/token", &json!({}), true).await
    }

    /// `token/chain`: the networks of a token's coin.
    pub async fn token_chain(&self, token_id: &str) -> Result<NetworkList, ClientError> {
        self.call("token/chain", &json!({ "token_id": token_id }), true)
            .await
    }

    /// `token/rate`: `amount` USD in units of the token at the current price.
    pub async fn token_rate(&self, amount: &str, token_id: &str) -> Result<TokenRate, ClientError> {
        self.call(
            "token/rate",
            &json!({ "amount": amount, "token_id": token_id }),
            true,
        )
        .await
    }

    /// `network/fee`: what a withdrawal costs (0 to a Cwallet id or an address of the gateway).
    pub async fn network_fee(
        &self,
        token_id: &str,
        address: Option<&str>,
    ) -> Result<NetworkFee, ClientError> {
        let body = json!({ "token_id": token_id, "address": address.unwrap_or("") });
        self.call("network/fee", &body, true).await
    }

    /// `get/network/height/info`: heights and required confirmations per chain.
    pub async fn chain_heights(&self) -> Result<Vec<ChainHeight>, ClientError> {
        self.call("get/network/height/info", &json!({}), true).await
    }

    /// `check/user`: whether a Cwallet id exists (`224083` otherwise).
    pub async fn check_user(&self, c_id: &str) -> Result<CwalletUser, ClientError> {
        self.call("check/user", &json!({ "c_id": c_id }), true)
            .await
    }

    /// `payment/address/get`: a permanent deposit address; the same (user,
    /// chain) always answers the same address.
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

    /// `bill/create`: a native checkout order with its own address.
    pub async fn create_order(&self, order: &CreateOrder) -> Result<BillCreated, ClientError> {
        self.call("bill/create", order, true).await
    }

    /// `concise/url/get`: a hosted checkout page's URL.
    pub async fn checkout_url(&self, checkout: &CheckoutUrl) -> Result<PaymentUrl, ClientError> {
        self.call("concise/url/get", checkout, true).await
    }

    /// `bill/info`: orders or withdrawals (one kind per call) by your ids, at most 100.
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

    /// `withdraw`: to a chain address, or instantly to a Cwallet id.
    pub async fn withdraw(&self, withdraw: &Withdraw) -> Result<Withdrawn, ClientError> {
        self.call("withdraw", withdraw, true).await
    }

    /// `webhook/resend`: queue a window (at most an hour) of unacknowledged
    /// webhooks for another attempt. Not repeated on a transport error: the server counts every call
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
