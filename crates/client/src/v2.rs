//! A client for the CCPayment v2 merchant API (`/ccpayment/v2/<name>`): every
//! request signed with HMAC-SHA256 over `Appid + Timestamp + body`, answers
//! read from v2's envelope. v2 answers are not signed, so none is checked.
//!
//! Each endpoint a merchant's code calls has a typed method: its request is a
//! small struct here (camelCase on the wire, an optional field left out when
//! `None`), its answer the gateway's own wire type, re-exported here. Money is
//! decimal text both ways, never a float.
//!
//! ```no_run
//! # async fn run() -> Result<(), ccgate_client::ClientError> {
//! use ccgate_client::v2::{OrderRequest, V2Client};
//!
//! let client = V2Client::new("http://127.0.0.1:8080", "202302010636261620672405236006912", "c4600b8125b7ed23b5b7b8ee4acb42f4")?;
//! let order = client
//!     .create_order(&OrderRequest {
//!         order_id: "order-1".into(),
//!         coin_id: 1280,
//!         chain: "ETH".into(),
//!         price: "10".into(),
//!         ..OrderRequest::default()
//!     })
//!     .await?;
//! println!("pay {} USDT to {}", order.amount, order.address);
//! let paid = client.order_info("order-1").await?;
//! println!("{} payment(s)", paid.paid_list.len());
//! # Ok(()) }
//! ```

use ccgate_api::v2::addresses::{BlockHeights, Unbinding};
use ccgate_api::v2::batch_withdrawals::{
    AddressesChecked, BatchAborted, BatchAppended, BatchApplied, BatchTaskList, BatchWithdrawOrder,
};
use ccgate_api::v2::coins::{
    AddressValidity, AllChainList, AssetList, ChainList, CoinList, CwalletUser, FiatList,
    MainCoinList, OneAsset, OneCoin, Prices,
};
pub use ccgate_api::v2::coins::{FeeQuote, WithdrawFee};
use ccgate_api::v2::deposits::OneDepositRecord;
pub use ccgate_api::v2::deposits::{AppDepositRecord, DepositAddress, DepositRecordList};
pub use ccgate_api::v2::orders::{
    CheckoutUrl, InvoiceInfo, InvoicePayInfo, InvoiceUrl, OrderDepositAddress, OrderInfo,
    OrderPayInfo,
};
use ccgate_api::v2::swaps::{
    Estimate, OneSwapRecord, SwapCoinList, SwapDone, SwapRecord, SwapRecordList,
};
use ccgate_api::v2::user_withdrawals::OneUserWithdrawRecord;
use ccgate_api::v2::wallet::{OneBatchTransferRecord, OneTransferRecord, OneUserDepositRecord};
use ccgate_api::v2::webhooks::Resent;
pub use ccgate_api::v2::withdrawals::{AppWithdrawRecord, RecordList as WithdrawRecordList};
use ccgate_api::v2::withdrawals::{OneRecord, WithdrawAccepted};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::connection::{Connection, opened, with_retries};

mod user_withdrawals;
mod wallet;
use crate::{ClientError, RawAnswer, TIMEOUT_DEFAULT};
pub use user_withdrawals::{
    UserCwalletWithdrawal, UserNetworkWithdrawal, UserWithdrawRecord, UserWithdrawRecordList,
    UserWithdrawRecordQuery,
};
pub use wallet::{
    BatchTransferRecord, BatchTransferRecordList, ToUser, TransferRecord, TransferRecordList,
    UserAddressRequest, UserAsset, UserAssetList, UserBatchTransferQuery, UserBatchTransferRequest,
    UserDepositRecord, UserDepositRecordList, UserDepositRecordQuery, UserTransferQuery,
    UserTransferRequest,
};

/// A v2 signed-request client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct V2Client {
    connection: Connection,
}

impl V2Client {
    /// `base_url` is e.g. `https://ccpayment.com` or `http://127.0.0.1:8080`
    /// (the `/ccpayment/v2/…` paths are added).
    pub fn new(
        base_url: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Result<V2Client, ClientError> {
        Ok(V2Client {
            connection: Connection::new(
                base_url.into(),
                app_id.into(),
                app_secret.into(),
                TIMEOUT_DEFAULT,
            )?,
        })
    }

    /// Sends `body` as is (the bytes that are signed; empty is allowed) to
    /// `/ccpayment/v2/{endpoint}`.
    pub async fn call_raw(&self, endpoint: &str, body: &[u8]) -> Result<RawAnswer, ClientError> {
        let response = self
            .connection
            .post(
                ccgate_api::v2::PATH_PREFIX,
                endpoint,
                body,
                ccgate_api::v2::sign::sign,
            )
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
        let answer = with_retries(safe_to_repeat, || self.call_raw(endpoint, &body)).await?;
        // v2 answers are not signed: nothing to check.
        opened(&answer, ccgate_api::v2::V2Code::Success.number(), || Ok(()))
    }

    /// A `get…Record` call, by record id or order id (`key`): a read, so
    /// retried; the record is taken out of its `One` answer.
    async fn one_record<One: OneRecordAnswer>(
        &self,
        endpoint: &str,
        key: &impl Serialize,
    ) -> Result<One::Record, ClientError> {
        let answer: One = self.call(endpoint, key, true).await?;
        Ok(answer.into_record())
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
        self.call(
            "getMainCoinList",
            &json!({ "appId": self.connection.app_id }),
            true,
        )
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

    /// `createAppOrderDepositAddress`: an order in one coin on one chain, its
    /// address and amount. Retried after a connection failure: the same
    /// `orderId` and parameters answer the same order.
    pub async fn create_order(
        &self,
        request: &OrderRequest,
    ) -> Result<OrderDepositAddress, ClientError> {
        self.call("createAppOrderDepositAddress", request, true)
            .await
    }

    /// `getAppOrderInfo`: an order (of either dialect, or a checkout) by the
    /// merchant's order id, with its payments; the status is the caller's to
    /// derive from `paid_list` against `amount_to_pay` and `expired_at`.
    pub async fn order_info(&self, order_id: &str) -> Result<OrderInfo, ClientError> {
        self.call("getAppOrderInfo", &OrderIdOnly { order_id }, true)
            .await
    }

    /// `createCheckoutUrl`: a hosted page where the payer picks the network;
    /// answers its URL. Retried: the same `orderId` and parameters answer the
    /// same checkout.
    pub async fn create_checkout_url(
        &self,
        request: &CheckoutRequest,
    ) -> Result<String, ClientError> {
        let answer: CheckoutUrl = self.call("createCheckoutUrl", request, true).await?;
        Ok(answer.checkout_url)
    }

    /// `createInvoiceUrl`: the same hosted checkout, answered as an invoice
    /// URL. Retried like [`V2Client::create_checkout_url`].
    pub async fn create_invoice_url(
        &self,
        request: &InvoiceRequest,
    ) -> Result<String, ClientError> {
        let answer: InvoiceUrl = self.call("createInvoiceUrl", request, true).await?;
        Ok(answer.invoice_url)
    }

    /// `getInvoiceOrderInfo`: a checkout in its own currency, each payment
    /// valued at its locked rate.
    pub async fn invoice_info(&self, order_id: &str) -> Result<InvoiceInfo, ClientError> {
        self.call("getInvoiceOrderInfo", &OrderIdOnly { order_id }, true)
            .await
    }

    /// `getOrCreateAppDepositAddress`: the user's permanent address on the
    /// chain, the same on every call (so retried).
    pub async fn deposit_address(
        &self,
        request: &DepositAddressRequest,
    ) -> Result<DepositAddress, ClientError> {
        self.call("getOrCreateAppDepositAddress", request, true)
            .await
    }

    /// `getAppDepositRecord`: one credited deposit by its record id (the
    /// `recordId` of an `ApiDeposit` or `DirectDeposit` webhook).
    pub async fn deposit_record(&self, record_id: &str) -> Result<AppDepositRecord, ClientError> {
        self.one_record::<OneDepositRecord>("getAppDepositRecord", &RecordIdOnly { record_id })
            .await
    }

    /// `getAppDepositRecordList`: credited deposits, newest first; pass the
    /// answer's `next_id` as the next query's to page on (`""`: last page).
    pub async fn deposit_records(
        &self,
        query: &DepositRecordQuery,
    ) -> Result<DepositRecordList, ClientError> {
        self.call("getAppDepositRecordList", query, true).await
    }

    /// `getWithdrawFee`: the network fee now, with a quote id that a network
    /// withdrawal may pass within ten minutes to be charged exactly that fee.
    pub async fn withdraw_fee(&self, coin_id: u64, chain: &str) -> Result<FeeQuote, ClientError> {
        self.call("getWithdrawFee", &CoinOnChain { coin_id, chain }, true)
            .await
    }

    /// `applyAppWithdrawToNetwork`: answers the withdrawal's record id.
    /// Retried: the same `orderId` and parameters answer the same withdrawal
    /// and debit nothing more.
    pub async fn withdraw_to_network(
        &self,
        request: &NetworkWithdrawal,
    ) -> Result<String, ClientError> {
        let answer: WithdrawAccepted = self
            .call("applyAppWithdrawToNetwork", request, true)
            .await?;
        Ok(answer.record_id)
    }

    /// `applyAppWithdrawToCwallet`: instant, no webhook; answers the record
    /// id. Retried like [`V2Client::withdraw_to_network`].
    pub async fn withdraw_to_cwallet(
        &self,
        request: &CwalletWithdrawal,
    ) -> Result<String, ClientError> {
        let answer: WithdrawAccepted = self
            .call("applyAppWithdrawToCwallet", request, true)
            .await?;
        Ok(answer.record_id)
    }

    /// `getAppWithdrawRecord` by record id (an `ApiWithdrawal` webhook's
    /// `recordId`, or what a withdrawal call answered).
    pub async fn withdraw_record(&self, record_id: &str) -> Result<AppWithdrawRecord, ClientError> {
        self.one_record::<OneRecord>("getAppWithdrawRecord", &RecordIdOnly { record_id })
            .await
    }

    /// `getAppWithdrawRecord` by the merchant's order id.
    pub async fn withdraw_record_by_order_id(
        &self,
        order_id: &str,
    ) -> Result<AppWithdrawRecord, ClientError> {
        self.one_record::<OneRecord>("getAppWithdrawRecord", &OrderIdOnly { order_id })
            .await
    }

    /// `getAppWithdrawRecordList`: newest first, 20 a page; pass the answer's
    /// `next_id` as the next query's to page on (`""`: last page).
    pub async fn withdraw_records(
        &self,
        query: &WithdrawRecordQuery,
    ) -> Result<WithdrawRecordList, ClientError> {
        self.call("getAppWithdrawRecordList", query, true).await
    }

    /// `applyBatchWithdraw`: stores the batch (nothing moves until
    /// [`V2Client::confirm_batch_withdrawal`]). Retried: the same
    /// `batchOrderId` and tasks answer the same batch.
    pub async fn apply_batch_withdrawal(
        &self,
        request: &BatchWithdrawal,
    ) -> Result<BatchApplied, ClientError> {
        self.call("applyBatchWithdraw", request, true).await
    }

    /// `confirmBatchWithdraw`: executes every task not executed yet, each a
    /// withdrawal of its own, and answers the batch. Retried: a repeat
    /// executes nothing twice.
    pub async fn confirm_batch_withdrawal(
        &self,
        batch_order_id: &str,
    ) -> Result<BatchWithdrawOrder, ClientError> {
        self.confirm_batch_withdrawal_after(batch_order_id, 0).await
    }

    /// `confirmBatchWithdraw` with `delaySeconds` (0–3600): the tasks start
    /// that long after the first confirmation (the batch says `Pending`
    /// meanwhile, and may still be aborted).
    pub async fn confirm_batch_withdrawal_after(
        &self,
        batch_order_id: &str,
        delay_seconds: u64,
    ) -> Result<BatchWithdrawOrder, ClientError> {
        self.call(
            "confirmBatchWithdraw",
            &json!({"batchOrderId": batch_order_id, "delaySeconds": delay_seconds}),
            true,
        )
        .await
    }

    /// `appendBatchWithdraw`: more tasks (1–500) for a batch not confirmed
    /// yet; all or none. Not retried: a repeat names its keys twice (14027).
    pub async fn append_batch_withdrawal(
        &self,
        batch_order_id: &str,
        orders: &[BatchWithdrawalTask],
    ) -> Result<BatchAppended, ClientError> {
        self.call(
            "appendBatchWithdraw",
            &json!({"batchOrderId": batch_order_id, "orders": orders}),
            false,
        )
        .await
    }

    /// `abortBatchWithdraw`: cancels the named tasks not sent yet (by
    /// `seqs`, or by `order_ids`; both empty: the whole batch). Retried: a
    /// canceled task is reported canceled again.
    pub async fn abort_batch_withdrawal(
        &self,
        batch_order_id: &str,
        seqs: &[u64],
        order_ids: &[&str],
    ) -> Result<BatchAborted, ClientError> {
        self.call(
            "abortBatchWithdraw",
            &json!({"batchOrderId": batch_order_id, "seqs": seqs, "orderIds": order_ids}),
            true,
        )
        .await
    }

    /// `checkWithdrawAddress`: for each `(seq, address, memo)`, the codes a
    /// withdrawal on `chain` to it would be refused with (empty: none).
    pub async fn check_withdraw_addresses(
        &self,
        chain: &str,
        addresses: &[(u64, &str, Option<&str>)],
    ) -> Result<AddressesChecked, ClientError> {
        let list: Vec<_> = addresses
            .iter()
            .map(|(seq, address, memo)| json!({"seq": seq, "address": address, "memo": memo}))
            .collect();
        self.call(
            "checkWithdrawAddress",
            &json!({"chain": chain, "addressInfoList": list}),
            true,
        )
        .await
    }

    /// `getBatchWithdrawOrder`: the batch, its status derived from its tasks.
    pub async fn batch_withdrawal(
        &self,
        batch_order_id: &str,
    ) -> Result<BatchWithdrawOrder, ClientError> {
        self.call(
            "getBatchWithdrawOrder",
            &BatchOrderIdOnly { batch_order_id },
            true,
        )
        .await
    }

    /// `getBatchWithdrawOrderRecordList`: a page of the batch's tasks in
    /// their order (`limit` at most 100, 20 when `None`); pass the answer's
    /// `next_id` to page on (`""`: last page).
    pub async fn batch_withdrawal_tasks(
        &self,
        batch_order_id: &str,
        next_id: Option<&str>,
        limit: Option<u32>,
    ) -> Result<BatchTaskList, ClientError> {
        self.call(
            "getBatchWithdrawOrderRecordList",
            &BatchTaskPage {
                batch_order_id,
                next_id,
                limit,
            },
            true,
        )
        .await
    }

    /// `getSwapCoinList`: the coins that can be swapped now.
    pub async fn swap_coins(&self) -> Result<SwapCoinList, ClientError> {
        self.call("getSwapCoinList", &json!({}), true).await
    }

    /// `estimate`: what swapping `amount_in` of one coin into another gives
    /// at the current price; honoured by a [`V2Client::swap`] of the same
    /// coins and amount for the gateway's stated time (30 s by default).
    pub async fn estimate_swap(
        &self,
        coin_id_in: u64,
        amount_in: &str,
        coin_id_out: u64,
    ) -> Result<Estimate, ClientError> {
        let request = SwapAsk {
            order_id: None,
            coin_id_in,
            amount_in,
            coin_id_out,
            amount_out_minimum: None,
        };
        self.call("estimate", &request, true).await
    }

    /// `swap`: pays `amount_in` out of the merchant's balance for the other
    /// coin, refused (16003) if that gives less than `amount_out_minimum`.
    /// Retried: the same `orderId` and coins answer the same swap.
    pub async fn swap(&self, request: &SwapAsk<'_>) -> Result<SwapDone, ClientError> {
        self.call("swap", request, true).await
    }

    /// `getSwapRecord` by record id.
    pub async fn swap_record(&self, record_id: &str) -> Result<SwapRecord, ClientError> {
        self.one_record::<OneSwapRecord>("getSwapRecord", &RecordIdOnly { record_id })
            .await
    }

    /// `getSwapRecord` by the merchant's order id.
    pub async fn swap_record_by_order_id(&self, order_id: &str) -> Result<SwapRecord, ClientError> {
        self.one_record::<OneSwapRecord>("getSwapRecord", &OrderIdOnly { order_id })
            .await
    }

    /// `getSwapRecordList`: newest first, 20 a page; pass the answer's
    /// `next_id` as the next query's to page on (`""`: last page).
    pub async fn swap_records(
        &self,
        query: &SwapRecordQuery,
    ) -> Result<SwapRecordList, ClientError> {
        self.call("getSwapRecordList", query, true).await
    }

    /// `userSwap`: pays `amount_in` out of one of the merchant's users'
    /// balance for the other coin, less the merchant's markup
    /// (`extra_fee_rate`), which the merchant receives. 11015 for a user the
    /// merchant never made. Retried: the same `orderId`, user, coins and
    /// markup answer the same swap.
    pub async fn user_swap(&self, request: &UserSwapAsk<'_>) -> Result<SwapDone, ClientError> {
        self.call("userSwap", request, true).await
    }

    /// `getUserSwapRecord` by record id: a user's swap (never the
    /// merchant's own).
    pub async fn user_swap_record(&self, record_id: &str) -> Result<SwapRecord, ClientError> {
        self.one_record::<OneSwapRecord>("getUserSwapRecord", &RecordIdOnly { record_id })
            .await
    }

    /// `getUserSwapRecord` by the merchant's order id.
    pub async fn user_swap_record_by_order_id(
        &self,
        order_id: &str,
    ) -> Result<SwapRecord, ClientError> {
        self.one_record::<OneSwapRecord>("getUserSwapRecord", &OrderIdOnly { order_id })
            .await
    }

    /// `getUserSwapRecordList`: the users' swaps (of `query.user_id` when
    /// set), newest first, 20 a page.
    pub async fn user_swap_records(
        &self,
        query: &SwapRecordQuery,
    ) -> Result<SwapRecordList, ClientError> {
        self.call("getUserSwapRecordList", query, true).await
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchOrderIdOnly<'a> {
    batch_order_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchTaskPage<'a> {
    batch_order_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

/// `applyBatchWithdraw`'s request (the July SDK's names; ccgate also reads
/// [PROTO]'s `productName`).
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchWithdrawal {
    /// The merchant's id for the batch, 3 to 64 characters: what makes a
    /// repeat the same batch.
    pub batch_order_id: String,
    /// The coin by number.
    pub coin_id: u64,
    /// The chain symbol every task pays out on.
    pub chain: String,
    /// The batch's name (`""`: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub task_name: String,
    /// `Single` or `Batch`.
    pub mode: String,
    /// At most 500.
    pub orders: Vec<BatchWithdrawalTask>,
    /// Where the tasks' `ApiWithdrawal` webhooks go (at most 120 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// One task of a [`BatchWithdrawal`]: `seq` or `order_id` (or both) names it.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchWithdrawalTask {
    /// A whole number > 0, unique in the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Its withdrawal's `orderId` (else `<batchOrderId>-<seq>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The payee's chain address.
    pub address: String,
    /// Decimal text in the coin; the payee bears the network fee.
    pub amount: String,
    /// For chains that need one (at most 16 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// The merchant's note (at most 64 characters; `""`: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remark: String,
}

/// A swap (`swap`) or, without an order id, a quote (`estimate`).
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SwapAsk<'a> {
    /// The merchant's id of the swap (3–64 characters); `None` for a quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<&'a str>,
    /// The v2 `coinId` paid with.
    pub coin_id_in: u64,
    /// Decimal text in the input coin.
    pub amount_in: &'a str,
    /// The v2 `coinId` bought.
    pub coin_id_out: u64,
    /// The least `netAmountOut` taken, typically an estimate's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_out_minimum: Option<&'a str>,
}

/// A user's swap (`userSwap`): a [`SwapAsk`] with its order id, paid by
/// `user_id`, with the merchant's markup.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct UserSwapAsk<'a> {
    /// The merchant's user (5–64 characters).
    pub user_id: &'a str,
    /// The swap itself; its `order_id` is required here.
    #[serde(flatten)]
    pub swap: SwapAsk<'a>,
    /// The merchant's markup, e.g. `"0.01"` = 1 % of `amountOut`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_fee_rate: Option<&'a str>,
}

/// `getSwapRecordList`'s and `getUserSwapRecordList`'s filters; every one
/// optional.
#[derive(Serialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct SwapRecordQuery {
    /// At most 20.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub record_ids: Vec<String>,
    /// At most 20.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_ids: Vec<String>,
    /// Paid with this coin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id_in: Option<u64>,
    /// Bought this coin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id_out: Option<u64>,
    /// Unix seconds, inclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<i64>,
    /// Unix seconds, inclusive; at most three months after `start_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_at: Option<i64>,
    /// The `next_id` of the page before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_id: Option<String>,
    /// `getUserSwapRecordList` only: this user's swaps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// The answer of a `get…Record` call: one record, under `record`.
trait OneRecordAnswer: DeserializeOwned {
    type Record;
    fn into_record(self) -> Self::Record;
}

macro_rules! one_record_answers {
    ($($answer:ty => $record:ty),* $(,)?) => {$(
        impl OneRecordAnswer for $answer {
            type Record = $record;
            fn into_record(self) -> $record {
                self.record
            }
        }
    )*};
}

one_record_answers! {
    OneDepositRecord => AppDepositRecord,
    OneRecord => AppWithdrawRecord,
    OneSwapRecord => SwapRecord,
    OneUserDepositRecord => UserDepositRecord,
    OneTransferRecord => TransferRecord,
    OneBatchTransferRecord => BatchTransferRecord,
    OneUserWithdrawRecord => UserWithdrawRecord,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderIdOnly<'a> {
    order_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordIdOnly<'a> {
    record_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CoinOnChain<'a> {
    coin_id: u64,
    chain: &'a str,
}

/// `createAppOrderDepositAddress`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OrderRequest {
    /// The merchant's id for the order, 3 to 64 characters.
    pub order_id: String,
    /// The coin by number (USDT is 1280).
    pub coin_id: u64,
    /// The chain symbol (`ETH`, `TRX`, `BSC`…).
    pub chain: String,
    /// Decimal text: in `fiat_id`'s currency when set (at most 2 decimals),
    /// else in the coin.
    pub price: String,
    /// The fiat currency the price is in, by number (USD is 1033).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiat_id: Option<u64>,
    /// Unix seconds; 24 hours from creation when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<i64>,
    /// At most 120 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Kept and answered; nobody is mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    /// Also make a hosted page for the order (`checkout_url` in the answer).
    #[serde(rename = "generateCheckoutURL", skip_serializing_if = "is_false")]
    pub generate_checkout_url: bool,
    /// The page's "Back to the shop" link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Accepted for compatibility; the page has no "leave" button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_url: Option<String>,
    /// Where this order's webhooks go instead of the merchant's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// What a checkout is priced in: one of them, never two.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub enum CheckoutPrice {
    /// A fiat currency by ISO code (`EUR`), as the WooCommerce plugin sends it.
    #[serde(rename = "fiatSymbol")]
    FiatSymbol(String),
    /// A fiat currency by number (USD is 1033).
    #[serde(rename = "priceFiatId")]
    FiatId(u64),
    /// A coin by number: the payer then pays in that coin only.
    #[serde(rename = "priceCoinId")]
    CoinId(u64),
}

/// `createCheckoutUrl`'s request. Made by [`CheckoutRequest::new`], then
/// its optional fields set as needed.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutRequest {
    /// The merchant's id for the order, 3 to 64 characters.
    pub order_id: String,
    /// Decimal text in the pricing currency.
    pub price: String,
    /// What `price` is in.
    #[serde(flatten)]
    pub priced_in: CheckoutPrice,
    /// What is sold (cut to 120 characters by the server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Unix seconds; 24 hours from creation when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<i64>,
    /// Kept and answered; nobody is mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    /// Where this checkout's webhooks go instead of the merchant's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// The paid page's "Back to the shop" link, kept byte for byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Accepted for compatibility; the page has no "leave" button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_url: Option<String>,
}

impl CheckoutRequest {
    /// A checkout for `order_id` at `price`, with nothing optional set.
    pub fn new(
        order_id: impl Into<String>,
        price: impl Into<String>,
        priced_in: CheckoutPrice,
    ) -> CheckoutRequest {
        CheckoutRequest {
            order_id: order_id.into(),
            price: price.into(),
            priced_in,
            product: None,
            expired_at: None,
            buyer_email: None,
            notify_url: None,
            return_url: None,
            close_url: None,
        }
    }
}

/// What an invoice is priced in (v2 spec: `priceFiatId` or `priceCoinId`,
/// not both).
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoicePrice {
    /// A fiat currency by number (USD is 1033).
    #[serde(rename = "priceFiatId")]
    FiatId(u64),
    /// A coin by number.
    #[serde(rename = "priceCoinId")]
    CoinId(u64),
}

/// `createInvoiceUrl`'s request. Made by [`InvoiceRequest::new`].
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRequest {
    /// The merchant's id for the invoice, 3 to 64 characters.
    pub order_id: String,
    /// Decimal text in the pricing currency.
    pub price: String,
    /// What `price` is in.
    #[serde(flatten)]
    pub priced_in: InvoicePrice,
    /// What is sold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Unix seconds; 24 hours from creation when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<i64>,
    /// Kept and answered; nobody is mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    /// Where this invoice's webhooks go instead of the merchant's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// The paid page's "Back to the shop" link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

impl InvoiceRequest {
    /// An invoice for `order_id` at `price`, with nothing optional set.
    pub fn new(
        order_id: impl Into<String>,
        price: impl Into<String>,
        priced_in: InvoicePrice,
    ) -> InvoiceRequest {
        InvoiceRequest {
            order_id: order_id.into(),
            price: price.into(),
            priced_in,
            product: None,
            expired_at: None,
            buyer_email: None,
            notify_url: None,
            return_url: None,
        }
    }
}

/// `getOrCreateAppDepositAddress`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DepositAddressRequest {
    /// The merchant's id for the address's owner, 3 to 64 characters.
    pub reference_id: String,
    /// The chain symbol.
    pub chain: String,
    /// Where this address's webhooks go; only the call that makes the
    /// address sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
}

/// `getAppDepositRecordList`'s filters: every one optional.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DepositRecordQuery {
    /// Only this coin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id: Option<u64>,
    /// Only this permanent address owner's deposits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// Only this order's payments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Only this chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Unix seconds; 90 days ago when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<i64>,
    /// Unix seconds, the last included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_at: Option<i64>,
    /// The previous page's `next_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_id: Option<String>,
    /// Only deposits to this address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
    /// 1 to 100 a page; 20 when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `applyAppWithdrawToNetwork`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkWithdrawal {
    /// The merchant's id for the withdrawal, 3 to 64 characters: what makes
    /// a repeat the same withdrawal.
    pub order_id: String,
    /// The coin by number.
    pub coin_id: u64,
    /// The chain symbol.
    pub chain: String,
    /// A chain address (never a Cwallet id).
    pub address: String,
    /// Decimal text in the coin.
    pub amount: String,
    /// For chains that need one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// `true`: the payee gets `amount` and the fee is debited on top;
    /// `false`: the fee comes out of `amount`.
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

/// `applyAppWithdrawToCwallet`'s request.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CwalletWithdrawal {
    /// The merchant's id for the withdrawal, 3 to 64 characters.
    pub order_id: String,
    /// The coin by number.
    pub coin_id: u64,
    /// The payee's Cwallet id.
    pub cwallet_user: String,
    /// Decimal text in the coin.
    pub amount: String,
}

/// `getAppWithdrawRecordList`'s filters: every one optional, combined.
#[derive(Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawRecordQuery {
    /// Only this coin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coin_id: Option<u64>,
    /// Only these order ids (at most 20).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_ids: Vec<String>,
    /// A chain symbol, or `"Cwallet OS"` for Cwallet withdrawals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Unix seconds, inclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_at: Option<i64>,
    /// Unix seconds, inclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_at: Option<i64>,
    /// The previous page's `next_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_id: Option<String>,
    /// Only withdrawals to this address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_address: Option<String>,
}

// serde's `skip_serializing_if` takes the field by reference.
fn is_false(flag: &bool) -> bool {
    !*flag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire<T: Serialize>(request: &T) -> String {
        serde_json::to_string(request).expect("a request serialises")
    }

    #[test]
    fn requests_are_camel_case_and_leave_out_what_is_not_set() {
        let order = OrderRequest {
            order_id: "o-1".into(),
            coin_id: 1280,
            chain: "ETH".into(),
            price: "10".into(),
            ..OrderRequest::default()
        };
        assert_eq!(
            wire(&order),
            r#"{"orderId":"o-1","coinId":1280,"chain":"ETH","price":"10"}"#
        );
        let with_page = OrderRequest {
            fiat_id: Some(1033),
            generate_checkout_url: true,
            ..order
        };
        assert_eq!(
            wire(&with_page),
            r#"{"orderId":"o-1","coinId":1280,"chain":"ETH","price":"10","fiatId":1033,"generateCheckoutURL":true}"#
        );
        let withdrawal = NetworkWithdrawal {
            order_id: "w-1".into(),
            coin_id: 1280,
            chain: "ETH".into(),
            address: "0xabc".into(),
            amount: "5".into(),
            network_fee_inquiry_id: Some("123".into()),
            ..NetworkWithdrawal::default()
        };
        assert_eq!(
            wire(&withdrawal),
            r#"{"orderId":"w-1","coinId":1280,"chain":"ETH","address":"0xabc","amount":"5","networkFeeInquiryID":"123"}"#
        );
        assert_eq!(wire(&WithdrawRecordQuery::default()), "{}");
        assert_eq!(
            wire(&DepositRecordQuery {
                reference_id: Some("u-1".into()),
                limit: Some(5),
                ..DepositRecordQuery::default()
            }),
            r#"{"referenceId":"u-1","limit":5}"#
        );
    }

    #[test]
    fn a_checkout_and_an_invoice_name_exactly_one_price_field() {
        let mut checkout =
            CheckoutRequest::new("c-1", "9.20", CheckoutPrice::FiatSymbol("EUR".into()));
        checkout.return_url = Some("https://shop.example/back?x=1".into());
        assert_eq!(
            wire(&checkout),
            r#"{"orderId":"c-1","price":"9.20","fiatSymbol":"EUR","returnUrl":"https://shop.example/back?x=1"}"#
        );
        let in_coin = CheckoutRequest::new("c-2", "2.5", CheckoutPrice::CoinId(1280));
        assert_eq!(
            wire(&in_coin),
            r#"{"orderId":"c-2","price":"2.5","priceCoinId":1280}"#
        );
        let invoice = InvoiceRequest::new("i-1", "12", InvoicePrice::FiatId(1033));
        assert_eq!(
            wire(&invoice),
            r#"{"orderId":"i-1","price":"12","priceFiatId":1033}"#
        );
    }
}
