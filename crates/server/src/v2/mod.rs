//! The v2 dialect at `/ccpayment/v2/<name>` (v2 spec §1): the same merchants,
//! secrets, ledger and engine as v1, another envelope and signature. The
//! pipeline reads the body within the limit, authenticates
//! `Appid`/`Timestamp`/`Sign` (HMAC-SHA256 over `Appid + Timestamp + body`)
//! over those exact bytes and hands the handler the bytes and the merchant.
//! Answers are not signed (no v2 client reads a response signature), and
//! every failure answers v2's envelope, HTTP 200, through
//! [`Failure::into_v2_response`] — the one place a failure becomes a v2 code.

mod addresses;
mod assets;
mod batch_withdrawals;
mod coins;
mod deposits;
mod orders;
mod rescan;
mod swaps;
mod user_withdrawals;
mod wallet;
mod webhooks;
mod withdrawals;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use ccgate_api::RequestError;
use ccgate_engine::{EngineError, Rejection};
use ccgate_pricefeed::PriceError;

use crate::AppState;
use crate::auth::{
    Authenticated, RawBody, SignatureScheme, check_signature, find_merchant, read_body,
};
use crate::failure::Failure;

pub use ccgate_api::v2::PATH_PREFIX;

/// How far back a record list looks when `startAt` is not given (v2 spec §1.8).
const DEFAULT_WINDOW_SECS: i64 = 90 * 86_400;

/// A record list's time range as the store reads it, in unix seconds:
/// from `startAt` (90 days back when absent), `endAt`'s second included.
struct RecordWindow {
    since: i64,
    until: Option<i64>,
}

impl RecordWindow {
    fn new(now_secs: i64, start_at: Option<i64>, end_at: Option<i64>) -> RecordWindow {
        RecordWindow {
            since: start_at.unwrap_or(now_secs.saturating_sub(DEFAULT_WINDOW_SECS)),
            until: end_at.map(|end| end.saturating_add(1)),
        }
    }
}

/// A list answer's `records` and `nextId`, from `found`, read one more than
/// a page of `limit` to tell whether another page follows: `nextId` is the
/// page's last record id when one does, else `""`.
fn page<T, R>(
    mut found: Vec<T>,
    limit: u32,
    id: impl Fn(&T) -> &str,
    render: impl Fn(&T) -> Result<R, Failure>,
) -> Result<(Vec<R>, String), Failure> {
    let page_len = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = found.len() > page_len;
    found.truncate(page_len);
    let next_id = match found.last() {
        Some(last) if more => id(last).to_owned(),
        _ => String::new(),
    };
    let records = found.iter().map(render).collect::<Result<_, _>>()?;
    Ok((records, next_id))
}

/// Every v2 endpoint (the path after [`PATH_PREFIX`]) and its handler: the
/// router is built from this table, and the metrics take their labels from it.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("getCoinList", post(coins::coin_list)),
        ("getCoin", post(coins::coin)),
        ("getCoinUSDTPrice", post(coins::usdt_prices)),
        ("getFiatList", post(coins::fiat_list)),
        ("getChainList", post(coins::chain_list)),
        ("all/chain", post(coins::all_chains)),
        ("getMainCoinList", post(coins::main_coin_list)),
        (
            "checkWithdrawalAddressValidity",
            post(coins::address_validity),
        ),
        ("getCwalletUserId", post(coins::cwallet_user)),
        ("getAppCoinAssetList", post(assets::asset_list)),
        ("getAppCoinAsset", post(assets::asset)),
        (
            "getOrCreateAppDepositAddress",
            post(deposits::deposit_address),
        ),
        ("addressUnbinding", post(addresses::unbind)),
        ("getAppDepositRecord", post(deposits::deposit_record)),
        (
            "getAppDepositRecordList",
            post(deposits::deposit_record_list),
        ),
        ("createAppOrderDepositAddress", post(orders::create_order)),
        ("getAppOrderInfo", post(orders::order_info)),
        ("createCheckoutUrl", post(orders::create_checkout)),
        ("createInvoiceUrl", post(orders::create_invoice)),
        ("getInvoiceOrderInfo", post(orders::invoice_info)),
        ("getAggregationFeeRecord", post(assets::aggregation_fees)),
        (
            "rescanLostTransaction",
            post(rescan::rescan_lost_transaction),
        ),
        ("getTradeBlockHeight", post(addresses::block_heights)),
        ("getPaymentBlockHeight", post(addresses::block_heights)),
        ("webhook/resend", post(webhooks::resend)),
        ("getWithdrawFee", post(withdrawals::withdraw_fee)),
        ("applyAppWithdrawToNetwork", post(withdrawals::to_network)),
        ("applyAppWithdrawToCwallet", post(withdrawals::to_cwallet)),
        ("getAppWithdrawRecord", post(withdrawals::record)),
        ("getAppWithdrawRecordList", post(withdrawals::record_list)),
        (
            "getAutoWithdrawRecordList",
            post(withdrawals::no_dashboard_records),
        ),
        (
            "getRiskyRefundRecordList",
            post(withdrawals::no_dashboard_records),
        ),
        (
            "checkWithdrawAddress",
            post(batch_withdrawals::check_addresses),
        ),
        ("applyBatchWithdraw", post(batch_withdrawals::apply)),
        ("appendBatchWithdraw", post(batch_withdrawals::append)),
        ("confirmBatchWithdraw", post(batch_withdrawals::confirm)),
        ("abortBatchWithdraw", post(batch_withdrawals::abort)),
        ("getBatchWithdrawOrder", post(batch_withdrawals::order)),
        (
            "getBatchWithdrawOrderRecordList",
            post(batch_withdrawals::record_list),
        ),
        ("getSwapCoinList", post(swaps::coin_list)),
        ("estimate", post(swaps::estimate)),
        ("swap", post(swaps::swap)),
        ("getSwapRecord", post(swaps::record)),
        ("getSwapRecordList", post(swaps::record_list)),
        ("userSwap", post(swaps::user_swap)),
        ("getUserSwapRecord", post(swaps::user_record)),
        ("getUserSwapRecordList", post(swaps::user_record_list)),
        ("getUserCoinAssetList", post(wallet::asset_list)),
        ("getUserCoinAsset", post(wallet::asset)),
        (
            "getOrCreateUserDepositAddress",
            post(wallet::deposit_address),
        ),
        ("getUserDepositRecord", post(wallet::deposit_record)),
        (
            "getUserDepositRecordList",
            post(wallet::deposit_record_list),
        ),
        ("userTransfer", post(wallet::transfer)),
        ("getUserTransferRecord", post(wallet::transfer_record_one)),
        (
            "getUserTransferRecordList",
            post(wallet::transfer_record_list),
        ),
        ("userBatchTransfer", post(wallet::batch_transfer)),
        ("getUserBatchTransferRecord", post(wallet::batch_record_one)),
        (
            "getUserBatchTransferRecordList",
            post(wallet::batch_record_list),
        ),
        (
            "getUserBatchTransferRecordDetail",
            post(wallet::batch_record_detail),
        ),
        (
            "applyUserWithdrawToNetwork",
            post(user_withdrawals::to_network),
        ),
        (
            "applyUserWithdrawToCwallet",
            post(user_withdrawals::to_cwallet),
        ),
        ("getUserWithdrawRecord", post(user_withdrawals::record)),
        (
            "getUserWithdrawRecordList",
            post(user_withdrawals::record_list),
        ),
    ]
}

/// A failure answered in the v2 envelope. Handlers return it so that `?`
/// works on every crate's error, as `Failure` does for v1.
#[derive(Debug)]
pub struct V2Failure(pub Failure);

impl IntoResponse for V2Failure {
    fn into_response(self) -> Response {
        self.0.into_v2_response()
    }
}

macro_rules! v2_failure_from {
    ($($error:ty),*) => {
        $(impl From<$error> for V2Failure {
            fn from(error: $error) -> V2Failure {
                V2Failure(Failure::from(error))
            }
        })*
    };
}

v2_failure_from!(Failure, RequestError, EngineError, Rejection, PriceError);

/// What a v2 handler answers.
pub type V2Result = Result<Response, V2Failure>;

pub async fn pipeline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let authenticated = async {
        let bytes = read_body(body, &parts.headers, state.config.body_limit_bytes).await?;
        let credentials = find_merchant(&state, &parts).await?;
        check_signature(&parts.headers, &credentials, &bytes, &V2_SIGNATURE)?;
        Ok::<_, Failure>((credentials, bytes))
    };
    match authenticated.await {
        Ok((credentials, bytes)) => {
            parts.extensions.insert(Authenticated(credentials));
            parts.extensions.insert(RawBody(bytes));
            next.run(Request::from_parts(parts, Body::empty())).await
        }
        Err(failure) => failure.into_v2_response(),
    }
}

/// v2's: a Timestamp in seconds (or milliseconds) within the window,
/// `HMAC-SHA256(AppSecret, Appid + Timestamp + body)`.
const V2_SIGNATURE: SignatureScheme = SignatureScheme {
    check_timestamp: ccgate_api::v2::sign::check_timestamp,
    verify: ccgate_api::v2::sign::verify,
};
