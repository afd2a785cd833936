//! The v2 dialect in the OpenAPI document: every v2 route with its HMAC
//! headers, request fields, an example of success and of refusal (the
//! answer's schema derived from the success example), v2's code table and
//! its signature worked through by `ccgate_api::v2::sign`. An end-to-end test
//! (`crates/ccgate/tests/e2e/v2.rs`) sends every example request to the real
//! binary and checks the answers, so the examples cannot drift.

use ccgate_api::v2::{PATH_PREFIX, V2Code, sign};
use serde_json::{Map, Value, json};

use super::{RequestField, boolean, decimal, header, integer, list_of, object, string};

/// Fields whose value is a map keyed by data (a chain symbol, a coin id):
/// their schema names the values' shape, not the keys.
pub const MAP_FIELDS: [&str; 2] = ["networks", "prices"];

/// A v2 endpoint as documented.
pub struct Endpoint {
    pub name: &'static str,
    pub summary: &'static str,
    pub fields: Vec<RequestField>,
    pub request: Value,
    /// `data` of the success answer.
    pub data: Value,
    /// Why the error example is refused, its request, code and message.
    pub error: (&'static str, Value, V2Code, &'static str),
}

const USDT: u64 = 1280;
const USDT_LOGO: &str = "https://resource.cwallet.com/token/icon/usdt.png";
const TRX_LOGO: &str = "https://resource.cwallet.com/token/icon/trx.png";
/// A valid EIP-55 address.
const PAYEE_ADDRESS: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const TXID: &str = "0x3f6c1e0a0d8f5b9b2c7e4a61d2f0c9b8a7e6d5c4b3a29180f7e6d5c4b3a29180";

/// A record id no deposit or withdrawal has.
fn unknown_record() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a record id no deposit or withdrawal has",
        json!({"record_id": "20240101000000000000000000000000"}),
        V2Code::NotFound,
        "no deposit or withdrawal of this merchant has the record id \"20240101000000000000000000000000\"",
    )
}

fn usdt_on_tron() -> Value {
    json!({
        "chain": "TRX", "chainFullName": "Tron", "contract": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "precision": 6, "canDeposit": true, "canWithdraw": true, "minimumDepositAmount": "0",
        "minimumWithdrawAmount": "1", "maximumWithdrawAmount": "0", "isSupportMemo": false,
        "protocol": "TRC20",
    })
}

fn usdt_coin() -> Value {
    json!({
        "coinId": USDT, "symbol": "USDT", "coinFullName": "Tether USD", "logoUrl": USDT_LOGO,
        "status": "Normal", "networks": {"TRX": usdt_on_tron()}, "price": "1",
    })
}

fn tron() -> Value {
    json!({
        "chain": "TRX", "chainFullName": "Tron", "explorer": "https://tronscan.org/",
        "logoUrl": TRX_LOGO, "status": "Normal", "confirmations": 20,
        "baseUrl": "https://tronscan.org/#/transaction/%s", "isEVM": false, "supportMemo": false,
    })
}

fn unknown_coin() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a coinId this gateway does not know",
        json!({"coinId": 424242}),
        V2Code::InvalidCoin,
        "coin \"424242\" is not a coin or token id this gateway knows",
    )
}

fn not_an_object() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a body that is not a JSON object",
        json!([1]),
        V2Code::InvalidArgument,
        "the request body must be empty or a JSON object: found an array",
    )
}

const ORDER_ADDRESS: &str = "0xd7AB584654ED2aF936f6a3B094CF9728DCfAC3A5";
const DEPOSIT_RECORD_ID: &str = "202512061020351681607895159660417";

/// A deposit record as `getAppDepositRecord` answers it.
fn deposit_record() -> Value {
    json!({
        "recordId": DEPOSIT_RECORD_ID, "referenceId": "user-77", "orderId": "", "coinId": USDT,
        "coinSymbol": "USDT", "chain": "ETH", "contract": "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        "coinUSDPrice": "1", "fromAddress": PAYEE_ADDRESS, "toAddress": ORDER_ADDRESS, "toMemo": "",
        "amount": "1", "serviceFee": "0.0003", "txId": TXID, "txIndex": 0, "status": "Success",
        "arrivedAt": 1_765_016_060, "isFlaggedAsRisky": false,
    })
}

fn unknown_coin_on_eth() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a coinId this gateway does not know",
        json!({"orderId": "o-3002", "coinId": 424242, "chain": "ETH", "price": "10"}),
        V2Code::InvalidCoin,
        "coin \"424242\" is not a coin or token id this gateway knows",
    )
}

/// A withdrawal record as `getAppWithdrawRecord` answers it.
fn withdrawal_record() -> Value {
    json!({
        "recordId": "202512061013071681607895159659013", "withdrawType": "Network",
        "appId": "202302010636261620672405236006912", "coinId": USDT, "coinSymbol": "USDT",
        "chain": "ETH", "fromAddress": "", "toAddress": PAYEE_ADDRESS, "cwalletUser": "",
        "orderId": "w-2001", "txId": TXID, "toMemo": "", "status": "Processing", "amount": "10",
        "fee": {"coinId": USDT, "coinSymbol": "USDT", "amount": "3.5"}, "reason": "",
        "coinUSDPrice": "1",
    })
}

/// `getTradeBlockHeight` and its other path, `getPaymentBlockHeight`.
fn block_heights(name: &'static str, summary: &'static str) -> Endpoint {
    Endpoint {
        name,
        summary,
        fields: vec![("record_id", string(), true), ("recordId", string(), false)],
        request: json!({"record_id": DEPOSIT_RECORD_ID}),
        data: json!({
            "chain": "ETH", "txBlockHeight": 1, "currBlockHeight": 12, "reqConfirmations": 12,
        }),
        error: unknown_record(),
    }
}

fn no_records() -> Value {
    json!({"records": [], "nextId": ""})
}

fn not_a_coin_id() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a coinId that is not a number",
        json!({"coinId": "USDT"}),
        V2Code::InvalidArgument,
        "coinId must be a positive whole number",
    )
}

/// Every documented v2 endpoint, in the route table's order.
pub fn endpoints() -> Vec<Endpoint> {
    let coin_id = || ("coinId", integer(), true);
    let chains = || ("chains", list_of(string()), false);
    vec![
        Endpoint {
            name: "getCoinList",
            summary: "Coins with their networks (keyed by chain) and USD prices",
            fields: vec![],
            request: json!({}),
            data: json!({"coins": [usdt_coin()]}),
            error: not_an_object(),
        },
        Endpoint {
            name: "getCoin",
            summary: "One coin with its networks",
            fields: vec![coin_id()],
            request: json!({"coinId": USDT}),
            data: json!({"coin": usdt_coin()}),
            error: unknown_coin(),
        },
        Endpoint {
            name: "getCoinUSDTPrice",
            summary: "USDT prices of coins by id (\"0\" for an id the gateway does not know)",
            fields: vec![("coinIds", list_of(integer()), true)],
            request: json!({"coinIds": [USDT]}),
            data: json!({"prices": {"1280": "1"}}),
            error: (
                "no coinIds",
                json!({}),
                V2Code::InvalidArgument,
                "coinIds is required",
            ),
        },
        Endpoint {
            name: "getFiatList",
            summary: "The fiat currencies orders may be priced in, with their USD rates",
            fields: vec![],
            request: json!({}),
            data: json!({"fiats": [{"fiatId": 1033, "symbol": "USD", "logoUrl": "https://resource.cwallet.com/fiat/USD.png", "mark": "US", "usdRate": "1"}]}),
            error: not_an_object(),
        },
        Endpoint {
            name: "getChainList",
            summary: "Chains with explorer, confirmations and memo support",
            fields: vec![chains()],
            request: json!({"chains": ["TRX"]}),
            data: json!({"chains": [tron()]}),
            error: (
                "chains not a list of strings",
                json!({"chains": "TRX"}),
                V2Code::InvalidArgument,
                "chains must be an array of strings",
            ),
        },
        Endpoint {
            name: "all/chain",
            summary: "Chains, in the shape of CCPayment's internal list (confirmNum)",
            fields: vec![chains()],
            request: json!({"chains": ["TRX"]}),
            data: json!({"chains": [{"chain": "TRX", "chainFullName": "Tron", "explorer": "https://tronscan.org/", "logoUrl": TRX_LOGO, "status": "Normal", "confirmNum": 20, "isEVM": false}]}),
            error: not_an_object(),
        },
        Endpoint {
            name: "getMainCoinList",
            summary: "One row per coin and network (the proto's fields and the SDK's chains)",
            fields: vec![("appId", string(), false)],
            request: json!({}),
            data: json!({"coinChainList": [{"coinId": USDT, "symbol": "USDT", "logoUrl": USDT_LOGO, "status": "Normal", "chain": "TRX", "network": "TRC20", "chains": ["TRX"]}]}),
            error: not_an_object(),
        },
        Endpoint {
            name: "checkWithdrawalAddressValidity",
            summary: "Whether an address is valid on a chain",
            fields: vec![("chain", string(), true), ("address", string(), true)],
            request: json!({"chain": "ETH", "address": PAYEE_ADDRESS}),
            data: json!({"addrIsValid": true}),
            error: (
                "a network label instead of a chain symbol",
                json!({"chain": "ERC20", "address": PAYEE_ADDRESS}),
                V2Code::InvalidChain,
                "chain \"ERC20\" is not supported",
            ),
        },
        Endpoint {
            name: "getCwalletUserId",
            summary: "Whether a Cwallet id exists here, with its name",
            fields: vec![("cwalletUserId", string(), true)],
            request: json!({"cwalletUserId": "58457837"}),
            data: json!({"cwalletUserId": "58457837", "cwalletUserName": "n"}),
            error: (
                "an id nobody has",
                json!({"cwalletUserId": "1"}),
                V2Code::NotFound,
                "users do not exist",
            ),
        },
        Endpoint {
            name: "getAppCoinAssetList",
            summary: "The merchant's balances, every coin held",
            fields: vec![],
            request: json!({}),
            data: json!({"assets": [{"coinId": USDT, "coinSymbol": "USDT", "available": "50"}]}),
            error: not_an_object(),
        },
        Endpoint {
            name: "getAppCoinAsset",
            summary: "The merchant's balance of one coin (\"0\" when none is held)",
            fields: vec![coin_id()],
            request: json!({"coinId": USDT}),
            data: json!({"asset": {"coinId": USDT, "coinSymbol": "USDT", "available": "50"}}),
            error: unknown_coin(),
        },
        Endpoint {
            name: "getOrCreateAppDepositAddress",
            summary: "The permanent deposit address of one of the merchant's users on a chain (v1's payment/address/get)",
            fields: vec![
                ("referenceId", string(), true),
                ("chain", string(), true),
                ("notifyUrl", string(), false),
            ],
            request: json!({"referenceId": "user-77", "chain": "ETH"}),
            data: json!({"address": ORDER_ADDRESS, "memo": ""}),
            error: (
                "a network label instead of a chain symbol",
                json!({"referenceId": "user-77", "chain": "ERC20"}),
                V2Code::InvalidChain,
                "chain \"ERC20\" is not supported",
            ),
        },
        Endpoint {
            name: "addressUnbinding",
            summary: "Retire a paid permanent address: getOrCreateAppDepositAddress then makes a new one; payments to the old one are still credited",
            fields: vec![("chain", string(), true), ("address", string(), true)],
            request: json!({"chain": "ETH", "address": ORDER_ADDRESS}),
            data: json!({
                "unbound": [{"chain": "ETH", "address": ORDER_ADDRESS}],
                "unboundAt": 1_765_000_000, "userID": "", "referenceID": "user-77",
            }),
            error: (
                "an address that is not one of the merchant's",
                json!({"chain": "ETH", "address": PAYEE_ADDRESS}),
                V2Code::UnMatchedMerchantAddressDeprecated,
                "\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\" is not one of this merchant's deposit addresses",
            ),
        },
        Endpoint {
            name: "getAppDepositRecord",
            summary: "One deposit by its recordId",
            fields: vec![("recordId", string(), true)],
            request: json!({"recordId": DEPOSIT_RECORD_ID}),
            data: json!({"record": deposit_record()}),
            error: (
                "a recordId no deposit has",
                json!({"recordId": "20240101000000000000000000000000"}),
                V2Code::NotFound,
                "no deposit has the recordId \"20240101000000000000000000000000\"",
            ),
        },
        Endpoint {
            name: "getAppDepositRecordList",
            summary: "Deposits, newest first, 20 a page by default (nextId for the next)",
            fields: vec![
                coin_id_filter(),
                ("referenceId", string(), false),
                ("orderId", string(), false),
                ("chain", string(), false),
                ("startAt", integer(), false),
                ("endAt", integer(), false),
                ("nextId", string(), false),
                ("limit", integer(), false),
            ],
            request: json!({}),
            data: json!({"records": [deposit_record()], "nextId": ""}),
            error: not_a_coin_id(),
        },
        Endpoint {
            name: "createAppOrderDepositAddress",
            summary: "An order with its own address, priced in a fiat currency (fiatId) or in the coin",
            fields: vec![
                ("orderId", string(), true),
                coin_id(),
                ("chain", string(), true),
                ("price", decimal(), true),
                ("fiatId", integer(), false),
                ("expiredAt", integer(), false),
                ("buyerEmail", string(), false),
                ("generateCheckoutURL", boolean(), false),
                ("product", string(), false),
                ("returnUrl", string(), false),
                ("notifyUrl", string(), false),
            ],
            request: json!({"orderId": "o-3001", "coinId": USDT, "chain": "ETH", "price": "10"}),
            data: json!({"address": ORDER_ADDRESS, "amount": "10", "memo": "", "checkoutUrl": "", "confirmsNeeded": 12}),
            error: unknown_coin_on_eth(),
        },
        Endpoint {
            name: "getAppOrderInfo",
            summary: "An order (of either dialect, or a checkout) with its payments in the order's coin",
            fields: vec![("orderId", string(), true)],
            request: json!({"orderId": "o-3001"}),
            data: json!({
                "amountToPay": "10", "coinId": USDT, "coinSymbol": "USDT", "chain": "ETH",
                "toAddress": ORDER_ADDRESS, "toMemo": "", "createAt": 1_765_016_000, "rate": "1",
                "fiatId": 0, "fiatSymbol": "", "expiredAt": 1_765_102_400, "checkoutUrl": "",
                "buyerEmail": "", "paidList": [],
            }),
            error: (
                "an orderId no order has",
                json!({"orderId": "no-such-order"}),
                V2Code::NotFound,
                "no order has the orderId \"no-such-order\"",
            ),
        },
        Endpoint {
            name: "createCheckoutUrl",
            summary: "A hosted checkout where the payer picks coin and network (the WooCommerce plugin's call)",
            fields: vec![
                ("orderId", string(), true),
                ("price", decimal(), true),
                ("fiatSymbol", string(), false),
                ("priceFiatId", integer(), false),
                ("priceCoinId", integer(), false),
                ("product", string(), false),
                ("expiredAt", integer(), false),
                ("buyerEmail", string(), false),
                ("notifyUrl", string(), false),
                ("returnUrl", string(), false),
            ],
            request: json!({"orderId": "wc_order_Ab12cD34eF56gH78iJ9k-3001", "price": "12.50", "fiatSymbol": "USD", "product": "Tea Order #3001"}),
            data: json!({"checkoutUrl": "http://127.0.0.1:8080/pay/4x7QmZ2kP9aLw3Nd"}),
            error: (
                "a currency the gateway has no rate for",
                json!({"orderId": "c-3002", "price": "12.50", "fiatSymbol": "XXX"}),
                V2Code::InvalidArgument,
                "the denominated currency \"XXX\" is not supported",
            ),
        },
        Endpoint {
            name: "createInvoiceUrl",
            summary: "An invoice: a hosted page priced in a fiat currency (priceFiatId) or a coin (priceCoinId), paid in any coin",
            fields: vec![
                ("orderId", string(), true),
                ("price", decimal(), true),
                ("priceFiatId", integer(), false),
                ("priceCoinId", integer(), false),
                ("product", string(), false),
                ("returnUrl", string(), false),
                ("notifyUrl", string(), false),
                ("expiredAt", integer(), false),
                ("buyerEmail", string(), false),
            ],
            request: json!({"orderId": "inv-3001", "price": "9.2", "priceFiatId": 1033, "product": "Tea"}),
            data: json!({"invoiceUrl": "http://127.0.0.1:8080/pay/9bR2mT5kQ1xLw7Pd"}),
            error: (
                "neither a fiat nor a coin to price it in",
                json!({"orderId": "inv-3002", "price": "9.2"}),
                V2Code::InvalidArgument,
                "priceFiatId is required",
            ),
        },
        Endpoint {
            name: "getInvoiceOrderInfo",
            summary: "An invoice with its payments, each valued in the invoice's currency",
            fields: vec![("orderId", string(), true)],
            request: json!({"orderId": "inv-3001"}),
            data: json!({
                "orderId": "inv-3001", "createAt": 1_765_016_000, "product": "Tea", "price": "9.2",
                "priceCoinId": 0, "priceFiatId": 1033, "priceSymbol": "USD",
                "invoiceUrl": "http://127.0.0.1:8080/pay/9bR2mT5kQ1xLw7Pd", "buyerEmail": "",
                "expiredAt": 1_765_102_400, "totalPaidValue": "0", "paidList": [],
            }),
            error: (
                "an orderId no invoice has",
                json!({"orderId": "no-such-invoice"}),
                V2Code::NotFound,
                "no order has the orderId \"no-such-invoice\"",
            ),
        },
        Endpoint {
            name: "getAggregationFeeRecord",
            summary: "Consolidation fees charged to the merchant: always none here (the operator carries the gas of sweeps)",
            fields: vec![
                ("startAt", integer(), true),
                ("endAt", integer(), true),
                ("nextId", string(), false),
                ("limit", integer(), false),
                ("chain", string(), false),
                ("address", string(), false),
            ],
            request: json!({"startAt": 1_765_000_000, "endAt": 1_765_086_400}),
            data: json!({"list": [], "nextId": ""}),
            error: (
                "a window that ends before it starts",
                json!({"startAt": 1_765_086_400, "endAt": 1_765_000_000}),
                V2Code::InvalidArgument,
                "endAt must be a time at or after startAt",
            ),
        },
        Endpoint {
            name: "rescanLostTransaction",
            summary: "Look at one transaction to one of the merchant's deposit addresses again",
            fields: vec![
                ("chain", string(), true),
                ("toAddress", string(), true),
                ("txId", string(), true),
                ("memo", string(), false),
            ],
            request: json!({"chain": "ETH", "toAddress": "0xd7AB584654ED2aF936f6a3B094CF9728DCfAC3A5", "txId": TXID}),
            data: json!({"description": "ETH is a simulated chain here: every transfer to a deposit address is credited as it is mined, so there is nothing to rescan."}),
            error: (
                "an address that is not one of the merchant's",
                json!({"chain": "ETH", "toAddress": PAYEE_ADDRESS, "txId": TXID}),
                V2Code::AddressNotBelongCcp,
                "\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\" is not one of this merchant's deposit addresses on that chain",
            ),
        },
        block_heights(
            "getTradeBlockHeight",
            "The block of a deposit or chain withdrawal (record_id or recordId) and the chain's latest block",
        ),
        block_heights(
            "getPaymentBlockHeight",
            "getTradeBlockHeight under the path the proto names",
        ),
        Endpoint {
            name: "webhook/resend",
            summary: "Queue a window of webhooks for another attempt (v1's outbox and limits)",
            fields: vec![
                ("startTimestamp", integer(), true),
                ("endTimestamp", integer(), false),
                ("webhookResult", string(), false),
                ("transactionType", string(), false),
                ("recordIds", list_of(string()), false),
            ],
            request: json!({"startTimestamp": 1_765_000_000, "webhookResult": "AllResult"}),
            data: json!({"resendCount": 0}),
            error: (
                "a window over an hour",
                json!({"startTimestamp": 1_765_000_000, "endTimestamp": 1_765_090_000}),
                V2Code::InvalidArgument,
                "endTimestamp must be at most one hour after startTimestamp",
            ),
        },
        Endpoint {
            name: "getWithdrawFee",
            summary: "The network fee of a withdrawal, quoted for ten minutes (pass networkFeeInquiryID to be charged it)",
            fields: vec![coin_id(), ("chain", string(), true)],
            request: json!({"coinId": USDT, "chain": "ETH"}),
            data: json!({"fee": {"coinId": USDT, "coinSymbol": "USDT", "amount": "3.5"}, "networkFeeInquiryID": "b3c1f6a2d4e5f60718293a4b5c6d7e8f"}),
            error: (
                "a chain the coin is not on",
                json!({"coinId": USDT, "chain": "BTC"}),
                V2Code::InvalidChain,
                "USDT is not on chain \"BTC\"",
            ),
        },
        Endpoint {
            name: "applyAppWithdrawToNetwork",
            summary: "A withdrawal to a chain address (the network fee from the amount unless merchantPayNetworkFee)",
            fields: network_withdrawal_fields(),
            request: json!({"orderId": "w-2001", "coinId": USDT, "chain": "ETH", "address": PAYEE_ADDRESS, "amount": "10"}),
            data: json!({"recordId": "202512061013071681607895159659013"}),
            error: (
                "more than the balance",
                json!({"orderId": "w-2002", "coinId": USDT, "chain": "ETH", "address": PAYEE_ADDRESS, "amount": "1000000"}),
                V2Code::BalanceInsufficient,
                "the available USDT balance does not cover this withdrawal and its fee",
            ),
        },
        Endpoint {
            name: "applyAppWithdrawToCwallet",
            summary: "A withdrawal to a Cwallet id: instant, no fee, no webhook",
            fields: cwallet_withdrawal_fields(),
            request: json!({"orderId": "cw-2001", "coinId": USDT, "cwalletUser": "58457837", "amount": "5"}),
            data: json!({"recordId": "202512061013071681607895159659014"}),
            error: (
                "a Cwallet id nobody has",
                json!({"orderId": "cw-2002", "coinId": USDT, "cwalletUser": "1", "amount": "5"}),
                V2Code::NotFound,
                "no Cwallet user has the id \"1\"",
            ),
        },
        Endpoint {
            name: "getAppWithdrawRecord",
            summary: "One withdrawal by recordId or orderId, made in either dialect",
            fields: record_or_order_id(),
            request: json!({"orderId": "w-2001"}),
            data: json!({"record": withdrawal_record()}),
            error: (
                "an orderId no withdrawal has",
                json!({"orderId": "no-such-withdrawal"}),
                V2Code::NotFound,
                "no withdrawal of this merchant has the id \"no-such-withdrawal\"",
            ),
        },
        Endpoint {
            name: "getAppWithdrawRecordList",
            summary: "Withdrawals, newest first, 20 a page (nextId for the next)",
            fields: vec![
                coin_id_filter(),
                ("orderIds", list_of(string()), false),
                ("chain", string(), false),
                ("startAt", integer(), false),
                ("endAt", integer(), false),
                ("nextId", string(), false),
                ("toAddress", string(), false),
            ],
            request: json!({}),
            data: json!({"records": [withdrawal_record()], "nextId": ""}),
            error: not_a_coin_id(),
        },
        Endpoint {
            name: "getAutoWithdrawRecordList",
            summary: "Automatic withdrawals: none here (ccgate has no dashboard auto-withdrawal)",
            fields: dashboard_filters(),
            request: json!({}),
            data: no_records(),
            error: not_a_coin_id(),
        },
        Endpoint {
            name: "getRiskyRefundRecordList",
            summary: "Refunds of risky deposits: none here (ccgate flags no deposit as risky)",
            fields: dashboard_filters(),
            request: json!({}),
            data: no_records(),
            error: not_a_coin_id(),
        },
        Endpoint {
            name: "checkWithdrawAddress",
            summary: "Screens addresses for a batch: each one's refusal codes (empty: a withdrawal to it would be taken)",
            fields: vec![
                ("chain", string(), true),
                (
                    "addressInfoList",
                    list_of(object(&[
                        ("address", string()),
                        ("memo", string()),
                        ("seq", integer()),
                    ])),
                    true,
                ),
            ],
            request: json!({"chain": "ETH", "addressInfoList": [
                {"seq": 1, "address": PAYEE_ADDRESS},
                {"seq": 2, "address": "0x123"},
            ]}),
            data: json!({"addressInfoResults": [
                {"seq": 1, "codes": []},
                {"seq": 2, "codes": [V2Code::WithdrawAddrFormat.number()]},
            ]}),
            error: (
                "a chain this gateway does not know",
                json!({"chain": "NOPE", "addressInfoList": [{"seq": 1, "address": PAYEE_ADDRESS}]}),
                V2Code::InvalidChain,
                "chain NOPE is not supported",
            ),
        },
        Endpoint {
            name: "applyBatchWithdraw",
            summary: "A batch of withdrawals, stored until confirmed; tasks keyed by seq or orderId",
            fields: vec![
                ("batchOrderId", string(), true),
                coin_id(),
                ("chain", string(), true),
                ("taskName", string(), false),
                ("productName", string(), false),
                ("orders", list_of(batch_task_request()), false),
                ("mode", string(), true),
                ("notifyUrl", string(), false),
            ],
            request: json!({
                "batchOrderId": "b-3001", "coinId": USDT, "chain": "ETH", "taskName": "payroll",
                "mode": "Single", "orders": [
                    {"seq": 1, "address": PAYEE_ADDRESS, "amount": "5", "remark": "Ann"},
                    {"seq": 2, "address": PAYEE_ADDRESS, "amount": "5", "remark": "Bob"},
                ],
            }),
            data: json!({"batchOrderId": "b-3001", "billId": "202512061013071681607895159659100"}),
            error: (
                "a seq given twice",
                json!({
                    "batchOrderId": "b-3002", "coinId": USDT, "chain": "ETH", "mode": "Single",
                    "orders": [
                        {"seq": 1, "address": PAYEE_ADDRESS, "amount": "5"},
                        {"seq": 1, "address": PAYEE_ADDRESS, "amount": "6"},
                    ],
                }),
                V2Code::SeqDuplicate,
                "seq 1 appears twice in the batch; each task's seq and orderId must be unique",
            ),
        },
        Endpoint {
            name: "appendBatchWithdraw",
            summary: "More tasks (1–500) for a batch not confirmed yet; all or none",
            fields: vec![
                ("batchOrderId", string(), true),
                ("orders", list_of(batch_task_request()), true),
            ],
            request: json!({"batchOrderId": "b-3003", "orders": [
                {"seq": 2, "address": PAYEE_ADDRESS, "amount": "5", "remark": "Cid"},
            ]}),
            data: json!({"appended": 1, "total": 2, "batch_order_id": "b-3003"}),
            error: (
                "a batchOrderId no batch has",
                json!({"batchOrderId": "no-such-batch", "orders": [
                    {"seq": 1, "address": PAYEE_ADDRESS, "amount": "5"},
                ]}),
                V2Code::NotFound,
                "no batch withdrawal has the batchOrderId \"no-such-batch\"",
            ),
        },
        Endpoint {
            name: "confirmBatchWithdraw",
            summary: "Executes a batch, at once or delaySeconds later: each task becomes a withdrawal of its own",
            fields: vec![
                ("batchOrderId", string(), true),
                ("delaySeconds", integer(), false),
                ("confirmExecution", boolean(), false),
            ],
            request: json!({"batchOrderId": "b-3001"}),
            data: batch_order("Processing"),
            error: unknown_batch(),
        },
        Endpoint {
            name: "abortBatchWithdraw",
            summary: "Cancels a batch's tasks not sent yet (seqs or orderIds; none: all); sent ones go on",
            fields: vec![
                ("batchOrderId", string(), true),
                ("seqs", list_of(integer()), false),
                ("orderIds", list_of(string()), false),
            ],
            request: json!({"batchOrderId": "b-3003", "seqs": [1]}),
            data: json!({
                "batchOrderId": "b-3003", "status": "Init", "canceledSeqs": [1],
                "ignoredSeqs": [], "canceledOrderIds": ["b-3003-1"], "ignoredOrderIds": [],
            }),
            error: unknown_batch(),
        },
        Endpoint {
            name: "getBatchWithdrawOrder",
            summary: "A batch: its status derived from its tasks, and their counts",
            fields: vec![
                ("batchOrderId", string(), true),
                ("verbose", integer(), false),
            ],
            request: json!({"batchOrderId": "b-3001"}),
            data: batch_order("Processing"),
            error: unknown_batch(),
        },
        Endpoint {
            name: "getBatchWithdrawOrderRecordList",
            summary: "A batch's tasks in their order, each with its withdrawal",
            fields: vec![
                ("batchOrderId", string(), true),
                ("nextId", string(), false),
                ("limit", integer(), false),
            ],
            request: json!({"batchOrderId": "b-3001"}),
            data: json!({"nextId": "", "records": [batch_task()]}),
            error: unknown_batch(),
        },
        Endpoint {
            name: "getSwapCoinList",
            summary: "The coins that can be swapped now (priced by the price source, not under maintenance)",
            fields: vec![],
            request: json!({}),
            data: json!({"coins": [{"coinId": USDT, "symbol": "USDT", "logoUrl": USDT_LOGO}]}),
            error: not_an_object(),
        },
        Endpoint {
            name: "estimate",
            summary: "A swap quote at the current price less the operator's spread and fee; a swap of the same coins and amount honours it for 30 seconds",
            fields: swap_fields(false),
            request: json!({"coinIdIn": USDT, "amountIn": "10", "coinIdOut": MATIC}),
            data: swap_figures(),
            error: (
                "a coinId this gateway does not know",
                json!({"coinIdIn": 424242, "amountIn": "10", "coinIdOut": MATIC}),
                V2Code::InvalidCoin,
                "coin \"424242\" is not a coin or token id this gateway knows",
            ),
        },
        Endpoint {
            name: "swap",
            summary: "A swap out of the merchant's balance against the operator's treasury, at its live quote or the current price; refused below amountOutMinimum",
            fields: swap_fields(true),
            request: json!({"orderId": "s-2001", "coinIdIn": USDT, "amountIn": "10", "coinIdOut": MATIC}),
            data: swap_done(SWAP_RECORD_ID, "s-2001", &swap_figures()),
            error: (
                "a coin the treasury holds none of",
                json!({"orderId": "s-2002", "coinIdIn": USDT, "amountIn": "10", "coinIdOut": TRX}),
                V2Code::CoinUnavailableForSwap,
                "the treasury cannot cover this swap into TRX now",
            ),
        },
        Endpoint {
            name: "getSwapRecord",
            summary: "One swap by recordId or orderId",
            fields: record_or_order_id(),
            request: json!({"orderId": "s-1001"}),
            data: json!({"record": swap_record()}),
            error: (
                "an orderId no swap has",
                json!({"orderId": "no-such-swap"}),
                V2Code::NotFound,
                "no swap of this merchant has the id \"no-such-swap\"",
            ),
        },
        Endpoint {
            name: "getSwapRecordList",
            summary: "Swaps, newest first, 20 a page (nextId for the next); endAt at most three months after startAt",
            fields: swap_record_filters(),
            request: json!({}),
            data: json!({"records": [swap_record()], "nextId": ""}),
            error: a_range_over_three_months(),
        },
        Endpoint {
            name: "userSwap",
            summary: "A swap out of a wallet user's balance against the operator's treasury, as swap; extraFeeRate is the merchant's markup, paid to the merchant",
            fields: user_swap_fields(),
            request: json!({"orderId": "us-1001", "userId": "user-alice", "coinIdIn": USDT, "amountIn": "1", "coinIdOut": MATIC, "extraFeeRate": "0.01"}),
            data: swap_done(USER_SWAP_RECORD_ID, "us-1001", &user_swap_figures()),
            error: (
                "a userId the merchant never made",
                json!({"orderId": "us-1002", "userId": "nobody-01", "coinIdIn": USDT, "amountIn": "1", "coinIdOut": MATIC}),
                V2Code::UserIdNotFound,
                "no user of this merchant has the userId \"nobody-01\"",
            ),
        },
        Endpoint {
            name: "getUserSwapRecord",
            summary: "One of the users' swaps by recordId or orderId (the merchant's own are getSwapRecord's)",
            fields: record_or_order_id(),
            request: json!({"orderId": "us-1001"}),
            data: json!({"record": user_swap_record()}),
            error: (
                "an orderId no user's swap has",
                json!({"orderId": "s-1001"}),
                V2Code::NotFound,
                "no swap of this merchant has the id \"s-1001\"",
            ),
        },
        Endpoint {
            name: "getUserSwapRecordList",
            summary: "The users' swaps (of userId when given), newest first, 20 a page (nextId for the next); endAt at most three months after startAt",
            fields: [vec![("userId", string(), false)], swap_record_filters()].concat(),
            request: json!({"userId": "user-alice"}),
            data: json!({"records": [user_swap_record()], "nextId": ""}),
            error: a_range_over_three_months(),
        },
        Endpoint {
            name: "getUserCoinAssetList",
            summary: "A wallet user's balances, every coin held (the App ID as userId: the merchant's own)",
            fields: vec![("userId", string(), true)],
            request: json!({"userId": "user-alice"}),
            data: json!({"userId": "user-alice", "assets": [{"coinId": USDT, "coinSymbol": "USDT", "available": "8"}]}),
            error: unknown_user(),
        },
        Endpoint {
            name: "getUserCoinAsset",
            summary: "A wallet user's balance of one coin (\"0\" when none is held)",
            fields: vec![("userId", string(), true), coin_id()],
            request: json!({"userId": "user-alice", "coinId": USDT}),
            data: json!({"userId": "user-alice", "asset": {"coinId": USDT, "coinSymbol": "USDT", "available": "8"}}),
            error: (
                "a coinId this gateway does not know",
                json!({"userId": "user-alice", "coinId": 424242}),
                V2Code::InvalidCoin,
                "coin \"424242\" is not a coin or token id this gateway knows",
            ),
        },
        Endpoint {
            name: "getOrCreateUserDepositAddress",
            summary: "A wallet user's permanent deposit address on a chain, made with the user if new; deposits credit the user (UserDeposit webhook)",
            fields: vec![
                ("userId", string(), true),
                ("chain", string(), true),
                ("notifyUrl", string(), false),
            ],
            request: json!({"userId": "user-alice", "chain": "ETH"}),
            data: json!({"address": ORDER_ADDRESS, "memo": ""}),
            error: (
                "a userId starting with sys",
                json!({"userId": "sys-00001", "chain": "ETH"}),
                V2Code::InvalidArgument,
                "userId must be visible ASCII characters other than ':', not starting with \"sys\"",
            ),
        },
        Endpoint {
            name: "getUserDepositRecord",
            summary: "One deposit to a wallet user's address",
            fields: vec![("recordId", string(), true)],
            request: json!({"recordId": DEPOSIT_RECORD_ID}),
            data: json!({"record": user_deposit_record()}),
            error: (
                "a record id no user deposit has",
                json!({"recordId": "20240101000000000000000000000000"}),
                V2Code::NotFound,
                "no deposit has the recordId \"20240101000000000000000000000000\"",
            ),
        },
        Endpoint {
            name: "getUserDepositRecordList",
            summary: "A wallet user's deposits, newest first",
            fields: vec![
                ("userId", string(), true),
                coin_id_filter(),
                ("chain", string(), false),
                ("startAt", integer(), false),
                ("endAt", integer(), false),
                ("nextId", string(), false),
                ("toAddress", string(), false),
            ],
            request: json!({"userId": "user-alice"}),
            data: json!({"records": [user_deposit_record()], "nextId": ""}),
            error: unknown_user(),
        },
        Endpoint {
            name: "userTransfer",
            summary: "Moves a coin from one wallet user to another (the App ID: the merchant's own balance): instant, free, no webhook, idempotent by orderId",
            fields: transfer_fields(),
            request: json!({"orderId": "t-3001", "fromUserId": "user-alice", "toUserId": "user-bob01", "coinId": USDT, "amount": "1", "remark": "rent"}),
            data: json!({"recordId": TRANSFER_RECORD_ID}),
            error: (
                "a sender the merchant never made",
                json!({"orderId": "t-3002", "fromUserId": "nobody-01", "toUserId": "user-bob01", "coinId": USDT, "amount": "1"}),
                V2Code::UserIdNotFound,
                "no user of this merchant has the userId \"nobody-01\"",
            ),
        },
        Endpoint {
            name: "getUserTransferRecord",
            summary: "One transfer by recordId or orderId",
            fields: record_or_order_id(),
            request: json!({"orderId": "t-3001"}),
            data: json!({"record": transfer_record()}),
            error: unknown_transfer(),
        },
        Endpoint {
            name: "getUserTransferRecordList",
            summary: "Transfers, newest first, batches' legs included",
            fields: vec![
                ("fromUserId", string(), false),
                ("toUserId", string(), false),
                coin_id_filter(),
                ("startAt", integer(), false),
                ("endAt", integer(), false),
                ("nextId", string(), false),
                ("orderIds", list_of(string()), false),
            ],
            request: json!({"fromUserId": "user-alice", "toUserId": "user-bob01"}),
            data: json!({"records": [transfer_record()], "nextId": ""}),
            error: not_a_coin_id(),
        },
        Endpoint {
            name: "userBatchTransfer",
            summary: "Moves a coin from one wallet user to several, all or nothing (one record), idempotent by orderId",
            fields: vec![
                ("orderId", string(), true),
                ("userId", string(), true),
                (
                    "toUsers",
                    list_of(super::object(&[
                        ("userId", string()),
                        ("amount", decimal()),
                    ])),
                    true,
                ),
                coin_id(),
                ("remark", string(), false),
            ],
            request: json!({"orderId": "b-3001", "userId": "user-alice", "coinId": USDT, "toUsers": [{"userId": "user-bob01", "amount": "0.5"}, {"userId": "user-carol", "amount": "0.5"}]}),
            data: json!({"recordId": BATCH_RECORD_ID}),
            error: (
                "a sender the merchant never made",
                json!({"orderId": "b-3002", "userId": "nobody-01", "coinId": USDT, "toUsers": [{"userId": "user-bob01", "amount": "1"}]}),
                V2Code::UserIdNotFound,
                "no user of this merchant has the userId \"nobody-01\"",
            ),
        },
        Endpoint {
            name: "getUserBatchTransferRecord",
            summary: "One batch transfer by recordId or orderId",
            fields: record_or_order_id(),
            request: json!({"orderId": "b-3001"}),
            data: json!({"record": batch_record()}),
            error: unknown_transfer(),
        },
        Endpoint {
            name: "getUserBatchTransferRecordList",
            summary: "Batch transfers, newest first",
            fields: vec![
                ("orderIds", list_of(string()), false),
                ("userId", string(), false),
                coin_id_filter(),
                ("startAt", integer(), false),
                ("endAt", integer(), false),
                ("nextId", string(), false),
            ],
            request: json!({"userId": "user-alice"}),
            data: json!({"records": [batch_record()], "nextId": ""}),
            error: not_a_coin_id(),
        },
        Endpoint {
            name: "getUserBatchTransferRecordDetail",
            summary: "A batch transfer's legs, in the order given",
            fields: vec![("recordId", string(), true), ("nextId", string(), false)],
            request: json!({"recordId": BATCH_RECORD_ID}),
            data: json!({"records": [transfer_record()], "nextId": ""}),
            error: (
                "a record id no batch has",
                json!({"recordId": "20240101000000000000000000000000"}),
                V2Code::NotFound,
                "no transfer of this merchant has the id \"20240101000000000000000000000000\"",
            ),
        },
        Endpoint {
            name: "applyUserWithdrawToNetwork",
            summary: "A wallet user's withdrawal to a chain address, paid from the user's balance (the network fee from the amount unless merchantPayNetworkFee); UserWithdrawal webhook on Success or Failed",
            fields: of_a_user(network_withdrawal_fields()),
            request: json!({"userId": "user-alice", "orderId": "uw-4001", "coinId": USDT, "chain": "ETH", "address": PAYEE_ADDRESS, "amount": "5"}),
            data: json!({"recordId": USER_WITHDRAW_RECORD_ID}),
            error: (
                "a user the merchant never made",
                json!({"userId": "nobody-01", "orderId": "uw-4002", "coinId": USDT, "chain": "ETH", "address": PAYEE_ADDRESS, "amount": "5"}),
                V2Code::UserIdNotFound,
                "no user of this merchant has the userId \"nobody-01\"",
            ),
        },
        Endpoint {
            name: "applyUserWithdrawToCwallet",
            summary: "A wallet user's withdrawal to a Cwallet id: instant, no fee, no webhook",
            fields: of_a_user(cwallet_withdrawal_fields()),
            request: json!({"userId": "user-alice", "orderId": "ucw-4001", "coinId": USDT, "cwalletUser": "58457837", "amount": "1"}),
            data: json!({"recordId": "202512061020351681607895159660702"}),
            error: (
                "a Cwallet id nobody has",
                json!({"userId": "user-alice", "orderId": "ucw-4002", "coinId": USDT, "cwalletUser": "1", "amount": "1"}),
                V2Code::NotFound,
                "no Cwallet user has the id \"1\"",
            ),
        },
        Endpoint {
            name: "getUserWithdrawRecord",
            summary: "One of the wallet users' withdrawals by recordId or orderId",
            fields: record_or_order_id(),
            request: json!({"orderId": "uw-4001"}),
            data: json!({"record": user_withdraw_record()}),
            error: (
                "an orderId no user withdrawal has",
                json!({"orderId": "no-such-withdrawal"}),
                V2Code::NotFound,
                "no withdrawal of this merchant has the id \"no-such-withdrawal\"",
            ),
        },
        Endpoint {
            name: "getUserWithdrawRecordList",
            summary: "A wallet user's withdrawals, newest first",
            fields: vec![
                ("userId", string(), true),
                coin_id_filter(),
                ("chain", string(), false),
                ("toAddress", string(), false),
                ("startAt", integer(), false),
                ("endAt", integer(), false),
                ("nextId", string(), false),
                ("orderIds", list_of(string()), false),
            ],
            request: json!({"userId": "user-alice", "chain": "ETH"}),
            data: json!({"records": [user_withdraw_record()], "nextId": ""}),
            error: unknown_user(),
        },
    ]
}

/// `applyAppWithdrawToNetwork`'s fields.
fn network_withdrawal_fields() -> Vec<RequestField> {
    vec![
        ("orderId", string(), true),
        ("coinId", integer(), true),
        ("chain", string(), true),
        ("address", string(), true),
        ("memo", string(), false),
        ("amount", decimal(), true),
        ("merchantPayNetworkFee", boolean(), false),
        ("networkFeeInquiryID", string(), false),
        ("notifyUrl", string(), false),
    ]
}

/// `applyAppWithdrawToCwallet`'s fields.
fn cwallet_withdrawal_fields() -> Vec<RequestField> {
    vec![
        ("orderId", string(), true),
        ("coinId", integer(), true),
        ("cwalletUser", string(), true),
        ("amount", decimal(), true),
    ]
}

/// A wallet user's call's fields: the user's `userId`, then `fields`, those
/// of the merchant's own call.
fn of_a_user(fields: Vec<RequestField>) -> Vec<RequestField> {
    [vec![("userId", string(), true)], fields].concat()
}

const USER_WITHDRAW_RECORD_ID: &str = "202512061020351681607895159660701";

/// A wallet user's withdrawal as `getUserWithdrawRecord` answers it.
fn user_withdraw_record() -> Value {
    json!({
        "userId": "user-alice", "recordId": USER_WITHDRAW_RECORD_ID, "withdrawType": "Network",
        "coinId": USDT, "chain": "ETH", "orderId": "uw-4001", "txId": TXID, "coinSymbol": "USDT",
        "fromAddress": "", "toAddress": PAYEE_ADDRESS, "cwalletUser": "", "toMemo": "",
        "amount": "5", "status": "Processing",
        "fee": {"coinId": USDT, "coinSymbol": "USDT", "amount": "3.5"}, "coinUSDPrice": "1",
    })
}

/// A task of `applyBatchWithdraw`'s `orders`.
fn batch_task_request() -> Value {
    object(&[
        ("seq", integer()),
        ("orderId", string()),
        ("address", string()),
        ("memo", string()),
        ("amount", decimal()),
        ("remark", string()),
    ])
}

/// A BatchWithdrawOrder: both variants' names, snake_case coins.
fn batch_order(status: &str) -> Value {
    let coin = json!({"coin_id": USDT, "coin_symbol": "USDT", "coin_price": "1"});
    json!({
        "batchOrderId": "b-3001", "productName": "payroll", "taskName": "payroll",
        "billId": "202512061013071681607895159659100", "coin": coin, "amount": "10",
        "networkFee": "7", "networkFeeCoin": coin, "status": status, "reason": "",
        "mode": "Single",
        "stats": {"total": 2, "succeeded": 0, "failed": 0, "canceled": 0, "processing": 2,
                  "execSeq": 2, "execOrderId": "b-3001-2"},
        "createdAt": 1_765_016_000, "updatedAt": 1_765_016_001,
    })
}

/// A BatchWithdrawTask as answered.
fn batch_task() -> Value {
    json!({
        "seq": 1, "orderId": "b-3001-1", "address": PAYEE_ADDRESS, "memo": "", "amount": "5",
        "remark": "Ann", "recordId": "202512061013071681607895159659101", "status": "Processing",
        "networkFee": "3.5", "txId": "", "reason": "", "createdAt": 1_765_016_000,
        "updatedAt": 1_765_016_001,
    })
}

fn unknown_batch() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a batchOrderId no batch has",
        json!({"batchOrderId": "no-such-batch"}),
        V2Code::NotFound,
        "no batch withdrawal has the batchOrderId \"no-such-batch\"",
    )
}

const MATIC: u64 = 1329;
const TRX: u64 = 1482;
const SWAP_RECORD_ID: &str = "202512061031221681607895159661203";

fn swap_fields(with_order: bool) -> Vec<RequestField> {
    let mut fields = Vec::new();
    if with_order {
        fields.push(("orderId", string(), true));
    }
    fields.extend([
        ("coinIdIn", integer(), true),
        ("amountIn", decimal(), true),
        ("coinIdOut", integer(), true),
    ]);
    if with_order {
        fields.push(("amountOutMinimum", decimal(), false));
    } else {
        // A user quote's markup (decisions §25.1).
        fields.push(("extraFeeRate", decimal(), false));
    }
    fields
}

/// `userSwap`'s request fields: `swap`'s, its user and the markup.
fn user_swap_fields() -> Vec<RequestField> {
    let mut fields = of_a_user(swap_fields(true));
    fields.push(("extraFeeRate", decimal(), false));
    fields
}

/// `getSwapRecordList`'s filters (`getUserSwapRecordList`'s after its
/// `userId`).
fn swap_record_filters() -> Vec<RequestField> {
    vec![
        ("recordIds", list_of(string()), false),
        ("orderIds", list_of(string()), false),
        ("coinIdIn", integer(), false),
        ("coinIdOut", integer(), false),
        ("startAt", integer(), false),
        ("endAt", integer(), false),
        ("nextId", string(), false),
    ]
}

fn a_range_over_three_months() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a range over three months",
        json!({"startAt": 1_700_000_000, "endAt": 1_800_000_000}),
        V2Code::QueryDurationTooMax,
        "endAt may be at most 92 days after startAt",
    )
}

const USER_SWAP_RECORD_ID: &str = "202512061031221681607895159661204";

/// 1 USDT of user-alice's into MATIC with the merchant's 1 % markup: the
/// fee is the minimum, the markup 1 % of the output rounded up.
fn user_swap_figures() -> Value {
    json!({
        "coinIdIn": USDT, "coinIdOut": MATIC, "amountOut": "1.91923076923076923",
        "amountIn": "1", "swapRate": "1.91923076923076923", "feeRate": "0.005",
        "fee": "0.192307692307692308", "extraFee": "0.019192307692307693",
        "netAmountOut": "1.707730769230769229",
    })
}

/// A user's swap as `getUserSwapRecord` answers it.
fn user_swap_record() -> Value {
    json!({
        "recordId": USER_SWAP_RECORD_ID, "orderId": "us-1001", "coinInSymbol": "USDT",
        "coinIdIn": USDT, "coinOutSymbol": "MATIC", "coinIdOut": MATIC,
        "amountOut": "1.91923076923076923", "amountIn": "1", "amountOutMinimum": "",
        "netAmountOut": "1.707730769230769229", "userId": "user-alice",
        "extraFee": "0.019192307692307693", "extraFeeRate": "0.01",
        "swapRate": "1.91923076923076923", "feeRate": "0.005", "fee": "0.192307692307692308",
        "status": "Success", "createdAt": 1_765_016_482, "arrivedAt": 1_765_016_482,
    })
}

/// What `swap` and `userSwap` answer: the swap's ids and its `figures`, at
/// 1 and 0.52 USD.
fn swap_done(record_id: &str, order_id: &str, figures: &Value) -> Value {
    let mut done = json!({"recordId": record_id, "orderId": order_id});
    for (key, value) in figures.as_object().into_iter().flatten() {
        done[key] = value.clone();
    }
    done["amountOutMinimum"] = json!("");
    done["to_coin_price"] = json!("0.52");
    done["from_coin_price"] = json!("1");
    done
}

/// 10 USDT into MATIC at 1 and 0.52 USD, less the 0.2 % spread; the fee is
/// the minimum, 0.1 USD of MATIC, as 0.5 % of the output is less.
fn swap_figures() -> Value {
    json!({
        "coinIdIn": USDT, "coinIdOut": MATIC, "amountOut": "19.192307692307692307",
        "amountIn": "10", "swapRate": "1.91923076923076923", "feeRate": "0.005",
        "fee": "0.192307692307692308", "extraFee": "0", "netAmountOut": "18.999999999999999999",
    })
}

/// A swap record as `getSwapRecord` answers it.
fn swap_record() -> Value {
    json!({
        "recordId": SWAP_RECORD_ID, "orderId": "s-1001", "coinInSymbol": "USDT", "coinIdIn": USDT,
        "coinOutSymbol": "MATIC", "coinIdOut": MATIC, "amountOut": "19.192307692307692307",
        "amountIn": "10", "amountOutMinimum": "", "netAmountOut": "18.999999999999999999",
        "userId": "", "extraFee": "0", "extraFeeRate": "0", "swapRate": "1.91923076923076923",
        "feeRate": "0.005", "fee": "0.192307692307692308", "status": "Success",
        "createdAt": 1_765_016_482, "arrivedAt": 1_765_016_482,
    })
}

const TRANSFER_RECORD_ID: &str = "202512061020351681607895159660512";
const BATCH_RECORD_ID: &str = "202512061020351681607895159660513";

/// A user id the merchant never made.
fn unknown_user() -> (&'static str, Value, V2Code, &'static str) {
    (
        "a userId the merchant never made",
        json!({"userId": "nobody-01"}),
        V2Code::UserIdNotFound,
        "no user of this merchant has the userId \"nobody-01\"",
    )
}

fn unknown_transfer() -> (&'static str, Value, V2Code, &'static str) {
    (
        "an orderId no transfer has",
        json!({"orderId": "t-9999"}),
        V2Code::NotFound,
        "no transfer of this merchant has the id \"t-9999\"",
    )
}

fn transfer_fields() -> Vec<RequestField> {
    vec![
        ("orderId", string(), true),
        ("fromUserId", string(), true),
        ("toUserId", string(), true),
        ("coinId", integer(), true),
        ("amount", decimal(), true),
        ("remark", string(), false),
    ]
}

/// A deposit to a wallet user's address as `getUserDepositRecord` answers it.
fn user_deposit_record() -> Value {
    json!({
        "userId": "user-alice", "recordId": DEPOSIT_RECORD_ID, "coinId": USDT, "coinSymbol": "USDT",
        "chain": "ETH", "contract": "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        "coinUSDPrice": "1", "fromAddress": PAYEE_ADDRESS, "toAddress": ORDER_ADDRESS, "toMemo": "",
        "amount": "1", "serviceFee": "0.0003", "txId": TXID, "status": "Success",
        "arrivedAt": 1_765_016_060, "isFlaggedAsRisky": false,
    })
}

fn transfer_record() -> Value {
    json!({
        "recordId": TRANSFER_RECORD_ID, "coinId": USDT, "coinSymbol": "USDT", "orderId": "t-3001",
        "fromUserId": "user-alice", "toUserId": "user-bob01", "amount": "1", "status": "Success",
        "remark": "rent", "coinUSDPrice": "1",
    })
}

fn batch_record() -> Value {
    json!({
        "recordId": BATCH_RECORD_ID, "userId": "user-alice", "coinId": USDT, "coinSymbol": "USDT",
        "orderId": "b-3001",
        "toUsers": [{"userId": "user-bob01", "amount": "0.5"}, {"userId": "user-carol", "amount": "0.5"}],
        "status": "Success", "remark": "", "coinUSDPrice": "1",
    })
}

/// The fields of a `get…Record` call that takes either id.
fn record_or_order_id() -> Vec<RequestField> {
    vec![("recordId", string(), false), ("orderId", string(), false)]
}

fn coin_id_filter() -> RequestField {
    ("coinId", integer(), false)
}

/// The filters of the lists CCPayment fills from its dashboard.
fn dashboard_filters() -> Vec<RequestField> {
    vec![
        coin_id_filter(),
        ("chain", string(), false),
        ("recordIds", list_of(string()), false),
        ("startAt", integer(), false),
        ("endAt", integer(), false),
        ("toAddress", string(), false),
        ("nextId", string(), false),
    ]
}

/// The schema of a value shaped like `example`, every field required; the
/// fields of [`MAP_FIELDS`] are maps whose values are shaped like the
/// example's first.
pub fn schema_of(example: &Value) -> Value {
    match example {
        Value::Object(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|(name, value)| {
                    let schema = match value {
                        Value::Object(map) if MAP_FIELDS.contains(&name.as_str()) => json!({
                            "type": "object",
                            "additionalProperties": map.values().next().map_or_else(|| json!({}), schema_of),
                        }),
                        other => schema_of(other),
                    };
                    (name.clone(), schema)
                })
                .collect();
            let required: Vec<&String> = fields.keys().collect();
            json!({"type": "object", "required": required, "properties": properties})
        }
        Value::Array(items) => list_of(items.first().map_or_else(|| json!({}), schema_of)),
        Value::String(_) => string(),
        Value::Bool(_) => boolean(),
        Value::Number(_) => integer(),
        Value::Null => json!({}),
    }
}

fn signed_headers() -> Value {
    json!([
        header("Appid", "The merchant's Appid (the same as in v1)."),
        header(
            "Timestamp",
            "Unix seconds (13 digits are read as milliseconds); within 120 s of the server's clock."
        ),
        header(
            "Sign",
            "lower-case hex(HMAC-SHA256(key = AppSecret, Appid + Timestamp + raw body))."
        ),
    ])
}

fn error_answer(code: V2Code, msg: &str) -> Value {
    json!({"code": code.number(), "msg": msg, "reason": code.tip(), "data": {}})
}

/// The v2 paths, keyed by full path.
pub fn paths() -> Map<String, Value> {
    let error_schema = json!({
        "type": "object", "required": ["code", "msg", "reason", "data"],
        "properties": {
            "code": {"type": "integer", "enum": V2Code::ALL.iter().filter(|c| **c != V2Code::Success).map(|c| c.number()).collect::<Vec<_>>()},
            "msg": string(), "reason": string(), "data": {"type": "object"},
        },
    });
    endpoints()
        .into_iter()
        .map(|endpoint| {
            let properties: Map<String, Value> = endpoint
                .fields
                .iter()
                .map(|(name, schema, _)| ((*name).to_owned(), schema.clone()))
                .collect();
            let required: Vec<&str> = endpoint
                .fields
                .iter()
                .filter(|(_, _, required)| *required)
                .map(|(name, ..)| *name)
                .collect();
            let (why, error_request, code, msg) = endpoint.error;
            let summary = format!("{} ({}): {why}", code.number(), code.tip());
            let request = json!({
                "schema": {"type": "object", "properties": properties, "required": required},
                "examples": {
                    "success": {"summary": "success", "value": endpoint.request},
                    "error": {"summary": summary, "value": error_request},
                },
            });
            let answer = json!({
                "schema": {"oneOf": [
                    {"type": "object", "required": ["code", "msg", "data"], "properties": {
                        "code": {"const": 10000}, "msg": {"const": "success"},
                        "data": schema_of(&endpoint.data),
                    }},
                    error_schema,
                ]},
                "examples": {
                    "success": {"summary": "success", "value": {"code": 10000, "msg": "success", "data": endpoint.data}},
                    "error": {"summary": summary, "value": error_answer(code, msg)},
                },
            });
            let item = json!({"post": {
                "tags": ["v2"],
                "summary": endpoint.summary,
                "parameters": signed_headers(),
                "requestBody": {"required": false, "content": {"application/json": request}},
                "responses": {"200": {
                    "description": "The v2 envelope, unsigned: `code` 10000 with `data`; any other code is a refusal with `msg`, `reason` (CCPayment's tip name) and `data: {}`. HTTP 200 for every answer that reaches the API.",
                    "content": {"application/json": answer},
                }},
            }});
            (format!("{PATH_PREFIX}{}", endpoint.name), item)
        })
        .collect()
}

/// A webhook of `kind` carrying `message`, and when it is sent: the body is
/// made under the kind it is listed as.
fn described<T: serde::Serialize>(
    kind: &'static str,
    message: &T,
    when: &'static str,
) -> (&'static str, serde_json::Result<String>, &'static str) {
    (
        kind,
        ccgate_api::v2::webhooks::webhook_body(kind, message),
        when,
    )
}

/// v2's webhook bodies, keyed `v2<Type>`: each example serialised by the
/// very types and function the engine renders them with.
pub fn webhooks() -> Map<String, Value> {
    use ccgate_api::v2::Empty;
    use ccgate_api::v2::webhooks::{
        ACTIVATE_WEBHOOK_URL, API_DEPOSIT, API_WITHDRAWAL, ApiDepositMsg, ApiWithdrawalMsg,
        DIRECT_DEPOSIT, DirectDepositMsg, USER_DEPOSIT, USER_WITHDRAWAL, UserDepositMsg,
        UserWithdrawalMsg,
    };
    let deposit = ApiDepositMsg {
        record_id: DEPOSIT_RECORD_ID.to_owned(),
        order_id: "o-3001".to_owned(),
        coin_id: USDT,
        coin_symbol: "USDT".to_owned(),
        status: "Success".to_owned(),
        is_flagged_as_risky: false,
    };
    let direct = DirectDepositMsg {
        record_id: DEPOSIT_RECORD_ID.to_owned(),
        reference_id: "user-77".to_owned(),
        coin_id: USDT,
        coin_symbol: "USDT".to_owned(),
        status: "Success".to_owned(),
        is_flagged_as_risky: false,
    };
    let user_deposit = UserDepositMsg {
        record_id: DEPOSIT_RECORD_ID.to_owned(),
        user_id: "user-alice".to_owned(),
        coin_id: USDT,
        coin_symbol: "USDT".to_owned(),
        amount: "1".to_owned(),
        status: "Success".to_owned(),
        is_flagged_as_risky: false,
    };
    let withdrawal = ApiWithdrawalMsg {
        record_id: "202512061013071681607895159659013".to_owned(),
        order_id: "w-2001".to_owned(),
        coin_id: USDT,
        coin_symbol: "USDT".to_owned(),
        status: "Success".to_owned(),
    };
    let user_withdrawal = UserWithdrawalMsg {
        record_id: USER_WITHDRAW_RECORD_ID.to_owned(),
        order_id: "uw-4001".to_owned(),
        user_id: "user-alice".to_owned(),
        coin_id: USDT,
        coin_symbol: "USDT".to_owned(),
        status: "Success".to_owned(),
    };
    let bodies = [
        described(
            API_DEPOSIT,
            &deposit,
            "A payment to an order (createAppOrderDepositAddress, createCheckoutUrl, createInvoiceUrl) changed state: `Processing`, `Success`, or `Failed` after a reorganisation. Re-query getAppOrderInfo (or getInvoiceOrderInfo).",
        ),
        described(
            DIRECT_DEPOSIT,
            &direct,
            "A payment to a permanent address (getOrCreateAppDepositAddress) changed state. Re-query getAppDepositRecord.",
        ),
        described(
            USER_DEPOSIT,
            &user_deposit,
            "A payment to a wallet user's address (getOrCreateUserDepositAddress) changed state; `amount` is what arrived, before the service fee. Re-query getUserDepositRecord.",
        ),
        described(
            API_WITHDRAWAL,
            &withdrawal,
            "A network withdrawal changed state: `WaitingApproval`, `Rejected`, `Success` or `Failed`. Re-query getAppWithdrawRecord.",
        ),
        described(
            USER_WITHDRAWAL,
            &user_withdrawal,
            "A wallet user's network withdrawal (applyUserWithdrawToNetwork) changed state: `WaitingApproval`, `Rejected`, `Success` or `Failed` (a failed one's amount is back in the user's balance). Re-query getUserWithdrawRecord.",
        ),
        described(
            ACTIVATE_WEBHOOK_URL,
            &Empty {},
            "The test ping (`ccgate webhooks ping`) of a merchant whose webhook dialect is v2: answer `Success`.",
        ),
    ];
    bodies
        .into_iter()
        .filter_map(|(kind, body, when)| {
            let example: Value = serde_json::from_str(&body.ok()?).ok()?;
            let item = json!({"post": {
                "tags": ["v2"],
                "summary": kind,
                "description": format!("{when} Objects made through v2 are notified this way, to their notifyUrl (query string kept) or else the merchant's webhook URL, signed with the HMAC in the Appid, Timestamp and Sign headers. Acknowledge with HTTP 200 and a body containing `success` (any case)."),
                "parameters": signed_headers(),
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": schema_of(&example),
                    "example": example,
                }}},
                "responses": {"200": {"description": "Acknowledged: the body contains `success`."}},
            }});
            Some((format!("v2{kind}"), item))
        })
        .collect()
}

/// v2's code table.
pub fn codes() -> Vec<Value> {
    V2Code::ALL
        .iter()
        .map(|c| json!({"code": c.number(), "reason": c.tip(), "msg": c.default_msg()}))
        .collect()
}

/// How to sign a v2 request, worked through by this server's own code.
pub fn signature() -> Value {
    let example = |title: &str, body: &str| {
        let (app_id, secret, timestamp) = (
            "8MUCRK6RgzvEZ1ic",
            "f0ab2d8d1ae0b4a6a4ea2e7de2bcd1a1",
            "1765016000",
        );
        json!({
            "title": title, "app_id": app_id, "app_secret": secret, "timestamp": timestamp,
            "body": body, "signed_text": format!("{app_id}{timestamp}{body}"),
            "sign": sign::sign(app_id, secret, timestamp, body.as_bytes()),
        })
    };
    json!({
        "formula": "Sign = lower-case hex of HMAC-SHA256, keyed by the UTF-8 AppSecret, over the UTF-8 bytes of Appid + Timestamp + body",
        "rules": [
            "Plain concatenation, no separators; the secret is the key, not part of the message.",
            "The body is the raw bytes as sent; an empty body signs Appid + Timestamp alone. {} and [] also mean no parameters.",
            "The Timestamp must be within 120 s of the server's clock; 13 digits are read as milliseconds.",
            "Answers are not signed. Webhooks of objects made through v2 are signed the same way, in the same three headers.",
        ],
        "examples": [
            example("getCoin with a compact JSON body", r#"{"coinId":1280}"#),
            example("getCoinList without a body: the message is Appid + Timestamp", ""),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_v2_webhook_type_is_documented() {
        let documented: Vec<String> = webhooks().keys().cloned().collect();
        assert_eq!(
            documented,
            [
                "v2ActivateWebhookURL",
                "v2ApiDeposit",
                "v2ApiWithdrawal",
                "v2DirectDeposit",
                "v2UserDeposit",
                "v2UserWithdrawal"
            ]
        );
    }

    #[test]
    fn every_v2_route_is_documented_in_route_order() {
        let served: Vec<&str> = crate::v2::routes()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let documented: Vec<&str> = endpoints().iter().map(|e| e.name).collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn success_examples_fit_their_schemas_and_errors_carry_their_tip() {
        for endpoint in endpoints() {
            let schema = schema_of(&endpoint.data);
            let required = schema["required"]
                .as_array()
                .map(Vec::len)
                .unwrap_or_default();
            assert!(required > 0, "{}", endpoint.name);
            let (_, _, code, msg) = endpoint.error;
            assert_ne!(code, V2Code::Success, "{}", endpoint.name);
            assert!(!msg.is_empty());
        }
    }

    #[test]
    fn the_worked_signature_is_an_hmac_of_appid_timestamp_and_body() {
        let signature = signature();
        for example in signature["examples"].as_array().into_iter().flatten() {
            let text = |key: &str| example[key].as_str().unwrap_or_default().to_owned();
            assert!(sign::verify(
                &text("app_id"),
                &text("app_secret"),
                &text("timestamp"),
                text("body").as_bytes(),
                &text("sign"),
            ));
        }
    }
}
