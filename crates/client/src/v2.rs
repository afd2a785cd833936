//! A client for the CCPayment v2 merchant API (`/ccpayment/v2/<name>`): every
//! request signed with HMAC-SHA256 over `Appid + Timestamp + body`, answers
//! read from v2's envelope. v2 answers are not signed, so none is checked.

use ccgate_api::v2::addresses::{BlockHeights, Unbinding};
use ccgate_api::v2::coins::{
    AddressValidity, AllChainList, AssetList, ChainList, CoinList, CwalletUser, FiatList,
    MainCoinList, OneAsset, OneCoin, Prices,
};
use ccgate_api::v2::webhooks::Resent;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{
    ATTEMPTS_MAX, ClientError, Envelope, RETRY_PAUSE, RawAnswer, TIMEOUT_DEFAULT, unix_now,
};

/// A v2 signed-request client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct V2Client {
    base_url: String,
    app_id: String,
    app_secret: SecretString,
    http: reqwest::Client,
}

impl V2Client {
    /// `base_url` is e.g. `https://ccpayment.com` or `http://127.0.0.1:8080`
    /// (the `/ccpayment/v2/…` paths are added).
    pub fn new(
        base_url: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Result<V2Client, ClientError> {
        let base_url: String = base_url.into();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::Settings(
                "the base URL must start with http:// or https://".to_owned(),
            ));
        }
        Ok(V2Client {
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id: app_id.into(),
            app_secret: SecretString::from(app_secret.into()),
            http: reqwest::Client::builder()
                .timeout(TIMEOUT_DEFAULT)
                .build()?,
        })
    }

    /// Sends `body` as is (the bytes that are signed; empty is allowed) to
    /// `/ccpayment/v2/{endpoint}`.
    pub async fn call_raw(&self, endpoint: &str, body: &[u8]) -> Result<RawAnswer, ClientError> {
        let timestamp = unix_now().to_string();
        let signature = ccgate_api::v2::sign::sign(
            &self.app_id,
            self.app_secret.expose_secret(),
            &timestamp,
            body,
        );
        let url = format!(
            "{}/ccpayment/v2/{}",
            self.base_url,
            endpoint.trim_start_matches('/')
        );
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Appid", &self.app_id)
            .header("Timestamp", timestamp)
            .header("Sign", signature)
            .body(body.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(RawAnswer {
            status,
            body,
            signature_verified: None,
        })
    }

    /// A typed call: the envelope is opened and a code other than 10000 is
    /// [`ClientError::Api`]. Only calls `safe_to_repeat` (reads, and writes
    /// carrying an `orderId`, which the server makes idempotent) are retried
    /// after a connection failure.
    pub async fn call<Q: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: &Q,
        safe_to_repeat: bool,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(request)?;
        let attempts = if safe_to_repeat { ATTEMPTS_MAX } else { 1 };
        let mut attempt = 1;
        let answer = loop {
            match self.call_raw(endpoint, &body).await {
                Ok(answer) => break answer,
                Err(ClientError::Transport(err))
                    if attempt < attempts && (err.is_connect() || err.is_timeout()) =>
                {
                    attempt += 1;
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(err) => return Err(err),
            }
        };
        let envelope: Envelope<T> = match serde_json::from_slice(&answer.body) {
            Ok(envelope) => envelope,
            Err(_) if answer.status != 200 => {
                return Err(ClientError::Status {
                    status: answer.status,
                });
            }
            Err(err) => return Err(err.into()),
        };
        if envelope.code != ccgate_api::v2::V2Code::Success.number() {
            return Err(ClientError::Api {
                code: envelope.code,
                msg: envelope.msg,
                reason: envelope.reason,
            });
        }
        envelope.data.ok_or(ClientError::Api {
            code: envelope.code,
            msg: "the answer carries no data".to_owned(),
            reason: None,
        })
    }

    /// `getCoinList`: every coin with its networks, keyed by chain.
    pub async fn coin_list(&self) -> Result<CoinList, ClientError> {
        self.call("getCoinList", &json!({}), true).await
    }

    /// `getCoin`: one coin by its numeric id (USDT is 1280).
    pub async fn coin(&self, coin_id: u64) -> Result<OneCoin, ClientError> {
        self.call("getCoin", &json!({ "coinId": coin_id }), true)
            .await
    }

    /// `getCoinUSDTPrice`: prices keyed by coin id as a string.
    pub async fn usdt_prices(&self, coin_ids: &[u64]) -> Result<Prices, ClientError> {
        self.call("getCoinUSDTPrice", &json!({ "coinIds": coin_ids }), true)
            .await
    }

    /// `getFiatList`.
    pub async fn fiat_list(&self) -> Result<FiatList, ClientError> {
        self.call("getFiatList", &json!({}), true).await
    }

    /// `getChainList`, for the chains named (all when empty).
    pub async fn chain_list(&self, chains: &[&str]) -> Result<ChainList, ClientError> {
        self.call("getChainList", &json!({ "chains": chains }), true)
            .await
    }

    /// `all/chain`, for the chains named (all when empty).
    pub async fn all_chains(&self, chains: &[&str]) -> Result<AllChainList, ClientError> {
        self.call("all/chain", &json!({ "chains": chains }), true)
            .await
    }

    /// `getMainCoinList`: one row per coin and network.
    pub async fn main_coin_list(&self) -> Result<MainCoinList, ClientError> {
        self.call("getMainCoinList", &json!({ "appId": self.app_id }), true)
            .await
    }

    /// `checkWithdrawalAddressValidity`.
    pub async fn address_is_valid(&self, chain: &str, address: &str) -> Result<bool, ClientError> {
        let answer: AddressValidity = self
            .call(
                "checkWithdrawalAddressValidity",
                &json!({ "chain": chain, "address": address }),
                true,
            )
            .await?;
        Ok(answer.addr_is_valid)
    }

    /// `getCwalletUserId`.
    pub async fn cwallet_user(&self, cwallet_user_id: &str) -> Result<CwalletUser, ClientError> {
        self.call(
            "getCwalletUserId",
            &json!({ "cwalletUserId": cwallet_user_id }),
            true,
        )
        .await
    }

    /// `getAppCoinAssetList`: every coin the merchant holds.
    pub async fn assets(&self) -> Result<AssetList, ClientError> {
        self.call("getAppCoinAssetList", &json!({}), true).await
    }

    /// `getAppCoinAsset`: one coin's balance, `"0"` when none is held.
    pub async fn asset(&self, coin_id: u64) -> Result<OneAsset, ClientError> {
        self.call("getAppCoinAsset", &json!({ "coinId": coin_id }), true)
            .await
    }

    /// `addressUnbinding`: retires a paid permanent address from its
    /// `referenceId` (an EVM address on each EVM chain it is bound on); the
    /// next `getOrCreateAppDepositAddress` for that user and chain answers a
    /// new one, and payments to the old one are still credited. Not
    /// retried: a repeat after a lost answer would be refused 17003.
    pub async fn unbind_address(
        &self,
        chain: &str,
        address: &str,
    ) -> Result<Unbinding, ClientError> {
        self.call(
            "addressUnbinding",
            &json!({ "chain": chain, "address": address }),
            false,
        )
        .await
    }

    /// `getTradeBlockHeight`: the block of one of the merchant's deposits or
    /// chain withdrawals, and its chain's latest block.
    pub async fn block_heights(&self, record_id: &str) -> Result<BlockHeights, ClientError> {
        self.call(
            "getTradeBlockHeight",
            &json!({ "record_id": record_id }),
            true,
        )
        .await
    }

    /// `webhook/resend`: queues again the webhooks created in the hour from
    /// `start_unix_secs` (every one with `all_results`, else only those not
    /// acknowledged); returns how many. Not retried: a repeat counts against
    /// the per-minute limit.
    pub async fn resend_webhooks(
        &self,
        start_unix_secs: u64,
        all_results: bool,
    ) -> Result<u64, ClientError> {
        let result = if all_results { "AllResult" } else { "Failed" };
        let body = json!({ "startTimestamp": start_unix_secs, "webhookResult": result });
        let answer: Resent = self.call("webhook/resend", &body, false).await?;
        Ok(answer.resend_count)
    }
}
