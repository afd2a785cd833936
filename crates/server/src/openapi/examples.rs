//! The examples the document carries: a request and its answer per endpoint
//! (one success, one error), every webhook body, and the signature worked
//! through. The endpoint examples are sent to the real binary by an
//! end-to-end test (`crates/ccgate/tests/e2e/openapi.rs`), which checks each
//! answer has its example's keys and code; the webhook bodies are built from
//! the very `Serialize` types the engine sends; the signatures are computed by
//! `ccgate_api::sign`. So none of them can drift from the server.

use ccgate_api::Code;
use ccgate_api::deposits::{DIRECT_DEPOSIT, DirectDepositWebhook};
use ccgate_api::orders::{
    API_DEPOSIT, ApiDepositExtend, ApiDepositWebhook, INVOICE, InvoiceExtend, InvoiceWebhook,
    REFUND, RefundWebhook,
};
use ccgate_api::sign;
use ccgate_api::withdrawals::{API_WITHDRAWAL, WithdrawWebhook};
use serde_json::{Value, json};

/// USDT on Ethereum in the built-in registry: what the examples pay with.
const USDT_ERC20: &str = "2728e271-9f5d-4c05-8aa7-4a87b1afcc95";
const USDT_COIN: &str = "8e5741cf-6e51-4892-9d04-3d40e1dd0128";
const USDT_ERC20_CONTRACT: &str = "0xdAC17F958D2ee523a2206206994597C13D831ec7";
const USDT_LOGO: &str = "https://resource.cwallet.com/token/icon/usdt.png";
const ETH_LOGO: &str = "https://resource.cwallet.com/token/icon/eth.png";
/// A valid EIP-55 address: the examples' payee.
const PAYEE_ADDRESS: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const ORDER_ID: &str = "202512061012191681607895159656448";
const WITHDRAWAL_ORDER_ID: &str = "202512061013071681607895159659012";
const WITHDRAWAL_RECORD_ID: &str = "202512061013071681607895159659013";
const DEPOSIT_RECORD_ID: &str = "202512061020351681607895159660417";
const ORDER_ADDRESS: &str = "0xd7AB584654ED2aF936f6a3B094CF9728DCfAC3A5";
const TXID: &str = "0x3f6c1e0a0d8f5b9b2c7e4a61d2f0c9b8a7e6d5c4b3a29180f7e6d5c4b3a29180";
/// The example Cwallet id; Cwallet ids are random, so the end-to-end test
/// asks `check/user` about one it created instead.
pub const EXAMPLE_C_ID: &str = "58457837";
/// The example order's merchant_order_id: `bill/create` makes it and
/// `bill/info` reads it back.
const MERCHANT_ORDER_ID: &str = "order-1001";
const CREATED: i64 = 1_765_016_000;

/// A request body and the answer it gets.
#[derive(Debug, Clone)]
pub struct Example {
    pub summary: String,
    pub request: Value,
    pub answer: Value,
}

/// One success and one error per endpoint.
#[derive(Debug, Clone)]
pub struct Examples {
    pub success: Example,
    pub error: Example,
}

fn success(request: Value, data: Value) -> Example {
    Example {
        summary: "success".to_owned(),
        request,
        answer: json!({"code": Code::Success.number(), "msg": Code::Success.default_msg(), "data": data}),
    }
}

fn error(why: &str, request: Value, code: Code, msg: &str) -> Example {
    Example {
        summary: format!(
            "{} ({}): {why}",
            code.number(),
            code.reason().unwrap_or_default()
        ),
        request,
        answer: json!({"code": code.number(), "msg": msg, "reason": code.reason()}),
    }
}

fn examples(success: Example, error: Example) -> Examples {
    Examples { success, error }
}

fn network() -> Value {
    json!({
        "token_id": USDT_ERC20, "crypto": "USDT", "logo": USDT_LOGO, "name": "Ethereum",
        "is_support_memo": false, "network": "ERC20", "chain": "ETH",
        "contract": USDT_ERC20_CONTRACT, "chain_logo": ETH_LOGO, "status": 1, "precision": 6,
        "network_fee_crypto": "USDT", "network_coin_id": USDT_COIN,
    })
}

/// A body the pipeline refuses before the endpoint reads it: not an object.
fn not_an_object() -> Example {
    error(
        "the body is not a JSON object",
        json!([]),
        Code::InvalidJson,
        "the request body must be empty or a JSON object: found an array",
    )
}

/// The examples of the endpoint at `/ccpayment/v1/{endpoint}`; `public_url`
/// is where hosted checkouts live.
pub fn of_endpoint(endpoint: &str, public_url: &str) -> Option<Examples> {
    let withdraw_request = |value: &str, merchant_order_id: &str| json!({"token_id": USDT_ERC20, "address": PAYEE_ADDRESS, "value": value, "merchant_order_id": merchant_order_id});
    Some(match endpoint {
        "assets" => examples(
            success(
                json!({}),
                json!({"list": [{"coin_id": USDT_COIN, "crypto": "USDT", "name": "Tether USD", "value": "50", "price": "1", "logo": USDT_LOGO}]}),
            ),
            error(
                "an unknown coin_id",
                json!({"coin_id": "no-such-coin"}),
                Code::CoinNotFound,
                "coin \"no-such-coin\" is not a coin or token id this gateway knows",
            ),
        ),
        "coin/all" => examples(
            success(
                json!({}),
                json!({"list": [{
                    "symbol": "USDT", "crypto": "USDT", "name": "Tether USD", "logo": USDT_LOGO,
                    "min": "1", "price": "1", "precision": 18, "coin_id": USDT_COIN, "status": 1,
                    "tokens": [network()],
                }]}),
            ),
            not_an_object(),
        ),
        "support/token" => examples(
            success(
                json!({}),
                json!({"list": [{"crypto": "USDT", "name": "Tether USD", "logo": USDT_LOGO, "min": "1", "price": "1", "token_id": USDT_ERC20}]}),
            ),
            not_an_object(),
        ),
        "token/chain" => examples(
            success(
                json!({"token_id": USDT_ERC20}),
                json!({"list": [network()]}),
            ),
            error(
                "token_id missing",
                json!({}),
                Code::ParamInvalid,
                "token_id is required",
            ),
        ),
        "token/rate" => examples(
            success(
                json!({"amount": "10", "token_id": USDT_ERC20}),
                json!({"price": "1", "value": "10"}),
            ),
            error(
                "a negative amount",
                json!({"amount": "-1", "token_id": USDT_ERC20}),
                Code::AmountInvalid,
                "amount must be a positive decimal number",
            ),
        ),
        "network/fee" => examples(
            success(
                json!({"token_id": USDT_ERC20}),
                json!({"token_id": USDT_ERC20, "crypto": "USDT", "fee": "3.5"}),
            ),
            error(
                "an unknown token_id",
                json!({"token_id": "no-such-token"}),
                Code::CoinNotFound,
                "\"no-such-token\" is not a token id this gateway knows",
            ),
        ),
        "get/network/height/info" => examples(
            success(
                json!({}),
                json!([{"chain": "ETH", "current_chain_height": 21_350_112, "tx_confirm_block_num": 12, "block_rate": 12}]),
            ),
            not_an_object(),
        ),
        "check/user" => examples(
            success(
                json!({"c_id": EXAMPLE_C_ID}),
                json!({"c_id": EXAMPLE_C_ID, "nickname": "Alice"}),
            ),
            error(
                "no such Cwallet id",
                json!({"c_id": "1234567"}),
                Code::ToUserNotFound,
                Code::ToUserNotFound.default_msg(),
            ),
        ),
        "payment/address/get" => examples(
            success(
                json!({"user_id": "user-1", "chain": "ETH"}),
                json!({"address": "0xaa83aa278dc2515b9c21Ab98c6e3B77644199875", "memo": ""}),
            ),
            error(
                "a chain this gateway does not serve",
                json!({"user_id": "user-1", "chain": "DOGE"}),
                Code::ChainNotSupported,
                "chain \"DOGE\" is not supported",
            ),
        ),
        "bill/create" => examples(
            success(
                json!({"token_id": USDT_ERC20, "product_price": "5", "merchant_order_id": MERCHANT_ORDER_ID}),
                json!({
                    "order_id": ORDER_ID, "amount": "5", "logo": USDT_LOGO, "network": "ERC20",
                    "pay_address": ORDER_ADDRESS, "crypto": "USDT", "token_id": USDT_ERC20,
                    "memo": "", "order_valid_period": 86_400,
                }),
            ),
            error(
                "the same merchant_order_id again with another price",
                json!({"token_id": USDT_ERC20, "product_price": "6", "merchant_order_id": MERCHANT_ORDER_ID}),
                Code::DuplicateMerchantOrderId,
                &format!(
                    "merchant_order_id \"{MERCHANT_ORDER_ID}\" was already used with different parameters"
                ),
            ),
        ),
        "concise/url/get" => examples(
            success(
                json!({"product_price": "5", "merchant_order_id": "checkout-1001", "product_name": "Tea"}),
                json!({"payment_url": format!("{}/pay/dfcc64db47dcf8d166fa218111040078", public_url.trim_end_matches('/'))}),
            ),
            error(
                "product_name missing",
                json!({"product_price": "5", "merchant_order_id": "checkout-1002"}),
                Code::ParamInvalid,
                "product_name is required",
            ),
        ),
        "bill/info" => examples(
            success(
                json!({"merchant_order_ids": [MERCHANT_ORDER_ID]}),
                json!([{
                    "order_detail": {
                        "order_id": ORDER_ID, "product_price": "5", "denominated_currency": "USD",
                        "product_name": "", "merchant_order_id": MERCHANT_ORDER_ID, "chain": "ETH",
                        "contract": USDT_ERC20_CONTRACT, "crypto": "USDT", "order_amount": "5",
                        "status": "Pending", "token_rate": "1", "created": CREATED,
                        "paid_amount": "0", "underpaid": false, "overpaid": false,
                    },
                    "trade_list": [],
                    "refund_list": [],
                }]),
            ),
            error(
                "merchant_order_ids missing",
                json!({}),
                Code::ParamInvalid,
                "merchant_order_ids is required",
            ),
        ),
        "withdraw" => examples(
            success(
                withdraw_request("10", "withdrawal-1001"),
                json!({
                    "order_id": WITHDRAWAL_ORDER_ID, "record_id": WITHDRAWAL_RECORD_ID,
                    "network_fee": "3.5", "net_receivable": "6.5", "network_fee_crypto": "USDT",
                    "network_coin_id": USDT_COIN, "network_fee_value": "3.5",
                }),
            ),
            error(
                "more than the balance",
                withdraw_request("100000", "withdrawal-1002"),
                Code::InsufficientBalance,
                "the available USDT balance does not cover this withdrawal and its fee",
            ),
        ),
        "webhook/resend" => examples(
            success(
                json!({"start_timestamp": CREATED, "end_timestamp": CREATED + 3_600}),
                json!({"resend_count": 0}),
            ),
            error(
                "a window that ends before it starts",
                json!({"start_timestamp": CREATED, "end_timestamp": CREATED - 60}),
                Code::ParamInvalid,
                "end_timestamp must be at most one hour after start_timestamp",
            ),
        ),
        _ => return None,
    })
}

/// A webhook kind: its key in the document, its title, when it is sent,
/// and an example body as the engine serialises it.
pub struct WebhookExample {
    pub key: &'static str,
    pub order_type: &'static str,
    pub when: &'static str,
    pub body: Value,
    /// The body as the engine sends it: compact, in the type's field order
    /// (a `Value` sorts its keys).
    pub text: String,
    /// Fields left out when they have no value.
    pub optional: &'static [&'static str],
}

/// Every webhook body ccgate sends.
pub fn webhooks() -> Vec<WebhookExample> {
    vec![
        webhook(
            "apiDeposit",
            API_DEPOSIT,
            "A payment to an order (bill/create or a hosted checkout): `success` once confirmed; `processing` while it confirms and `failed` if its block is replaced, for merchants who opted in.",
            &["custom_value"],
            ApiDepositWebhook {
                pay_status: "success".into(),
                order_type: API_DEPOSIT.into(),
                record_id: DEPOSIT_RECORD_ID.into(),
                order_id: ORDER_ID.into(),
                product_price: "5".into(),
                denominated_currency: "USD".into(),
                order_amount: "5".into(),
                fiat_rate: "1".into(),
                paid_amount: "5".into(),
                token_rate: "1".into(),
                chain: "ETH".into(),
                txid: TXID.into(),
                contract: USDT_ERC20_CONTRACT.into(),
                crypto: "USDT".into(),
                extend: ApiDepositExtend {
                    merchant_order_id: MERCHANT_ORDER_ID.into(),
                    custom_value: Some("cart-42".into()),
                },
            },
        ),
        webhook(
            "directDeposit",
            DIRECT_DEPOSIT,
            "A payment to a permanent address (payment/address/get), credited after the service fee.",
            &[],
            DirectDepositWebhook {
                pay_status: "success".into(),
                order_type: DIRECT_DEPOSIT.into(),
                record_id: DEPOSIT_RECORD_ID.into(),
                paid_amount: "100".into(),
                credit_amount: "99.97".into(),
                chain: "ETH".into(),
                from_address: PAYEE_ADDRESS.into(),
                to_address: "0xaa83aa278dc2515b9c21Ab98c6e3B77644199875".into(),
                contract: USDT_ERC20_CONTRACT.into(),
                crypto: "USDT".into(),
                txid: TXID.into(),
                service_fee: "0.03".into(),
                memo: String::new(),
                user_id: "user-1".into(),
            },
        ),
        webhook(
            "withdrawal",
            API_WITHDRAWAL,
            "A withdrawal resolved: `success` when confirmed on chain (or at once to a Cwallet id, txid `internal transfer`), `failed` when the chain refused it and the amount is back in the balance.",
            &["network_fee_value"],
            WithdrawWebhook {
                pay_status: "success".into(),
                order_type: API_WITHDRAWAL.into(),
                order_id: WITHDRAWAL_ORDER_ID.into(),
                record_id: WITHDRAWAL_RECORD_ID.into(),
                withdraw_amount: "10".into(),
                net_receivable: "6.5".into(),
                network_fee: "3.5".into(),
                network_fee_crypto: "USDT".into(),
                network_coin_id: USDT_COIN.into(),
                network_fee_value: Some("3.5".into()),
                chain: "ETH".into(),
                contract: USDT_ERC20_CONTRACT.into(),
                crypto: "USDT".into(),
                to_address: PAYEE_ADDRESS.into(),
                memo: String::new(),
                txid: TXID.into(),
                merchant_order_id: "withdrawal-1001".into(),
                merchant_pays_fee: false,
            },
        ),
        webhook(
            "invoice",
            INVOICE,
            "A payment to an invoice made on the dashboard (decisions §32), as CCPayment's console invoices are notified: `credit_amount` is `\"\"` until credited; `invoice_id` and `merchant_order_id` are the invoice's reference.",
            &[],
            InvoiceWebhook {
                pay_status: "success".into(),
                order_type: INVOICE.into(),
                record_id: DEPOSIT_RECORD_ID.into(),
                order_id: ORDER_ID.into(),
                product_price: "5".into(),
                order_amount: "5".into(),
                fiat_rate: "1".into(),
                denominated_currency: "USD".into(),
                paid_amount: "5".into(),
                credit_amount: "4.9985".into(),
                token_rate: "1".into(),
                chain: "ETH".into(),
                contract: USDT_ERC20_CONTRACT.into(),
                crypto: "USDT".into(),
                txid: TXID.into(),
                network_fee: "0".into(),
                service_fee: "0.0015".into(),
                memo: String::new(),
                extend: InvoiceExtend {
                    invoice_id: "lesson-42".into(),
                    user_email: String::new(),
                    merchant_order_id: "lesson-42".into(),
                },
            },
        ),
        webhook(
            "refund",
            REFUND,
            "A refund of an order (made by the operator: `ccgate order refund`) resolved, like a withdrawal.",
            &[],
            RefundWebhook {
                pay_status: "success".into(),
                order_type: REFUND.into(),
                record_id: "202512061031221681607895159662290".into(),
                amount: "5".into(),
                net_receivable: "1.5".into(),
                network_fee: "3.5".into(),
                network_crypto: "USDT".into(),
                network_coin_id: USDT_COIN.into(),
                chain: "ETH".into(),
                contract: USDT_ERC20_CONTRACT.into(),
                crypto: "USDT".into(),
                to_address: PAYEE_ADDRESS.into(),
                memo: String::new(),
                txid: TXID.into(),
                merchant_order_id: MERCHANT_ORDER_ID.into(),
            },
        ),
    ]
}

fn webhook(
    key: &'static str,
    order_type: &'static str,
    when: &'static str,
    optional: &'static [&'static str],
    body: impl serde::Serialize,
) -> WebhookExample {
    // The webhook types hold strings, booleans and nested structs: they always
    // serialise, and a test checks every example is a full object.
    let text = serde_json::to_string(&body).unwrap_or_default();
    WebhookExample {
        key,
        order_type,
        when,
        body: serde_json::from_str(&text).unwrap_or_default(),
        text,
        optional,
    }
}

/// The fixed credentials of the signature examples: those of the spec's
/// test vectors (`shared/spec/vectors.json`), so a reader can check them
/// against any other implementation.
pub const SIGN_EXAMPLE_APP_ID: &str = "202302010636261620672405236006912";
pub const SIGN_EXAMPLE_APP_SECRET: &str = "c4600b8125b7ed23b5b7b8ee4acb42f4";
pub const SIGN_EXAMPLE_TIMESTAMP: &str = "1677152490";

/// One message signed: what it is, the bytes hashed and the Sign they give.
pub fn signature_example(title: &str, body: &str) -> Value {
    json!({
        "title": title,
        "app_id": SIGN_EXAMPLE_APP_ID,
        "app_secret": SIGN_EXAMPLE_APP_SECRET,
        "timestamp": SIGN_EXAMPLE_TIMESTAMP,
        "body": body,
        "signed_text": format!("{SIGN_EXAMPLE_APP_ID}{SIGN_EXAMPLE_APP_SECRET}{SIGN_EXAMPLE_TIMESTAMP}{body}"),
        "sign": sign::sign(SIGN_EXAMPLE_APP_ID, SIGN_EXAMPLE_APP_SECRET, SIGN_EXAMPLE_TIMESTAMP, body.as_bytes()),
    })
}

/// The request, empty-body and response cases, worked through.
pub fn signature_examples() -> Vec<Value> {
    vec![
        signature_example(
            "A request: POST /ccpayment/v1/assets with a compact JSON body",
            r#"{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128"}"#,
        ),
        signature_example(
            "A request without a body (coin/all as the Node and PHP SDKs send it): the body part is empty",
            "",
        ),
        signature_example(
            "A response: the server signs its exact answer bytes with the same secret",
            r#"{"code":10000,"msg":"success","data":{"list":[{"coin_id":"8e5741cf-6e51-4892-9d04-3d40e1dd0128","crypto":"USDT","name":"Tether USD","value":"127.9514","price":"1","logo":"https://resource.cwallet.com/token/icon/usdt.png"}]}}"#,
        ),
    ]
}
