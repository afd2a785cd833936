//! The v2 dialect at `/ccpayment/v2/<name>` (v2 spec §1): the same merchants,
//! secrets, ledger and engine as v1, another envelope and signature. The
//! pipeline reads the body within the limit, authenticates
//! `Appid`/`Timestamp`/`Sign` (HMAC-SHA256 over `Appid + Timestamp + body`)
//! over those exact bytes and hands the handler the bytes and the merchant
//! (served by [`crate::endpoint::v2`]).
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

use crate::endpoint::{Endpoint, v2};
use crate::failure::Failure;

/// What a v2 handler answers, and how it fails (beside `Failure`, which both
/// dialects' front door uses).
pub use crate::failure::{V2Failure, V2Result};
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
pub fn routes() -> Vec<(&'static str, Endpoint)> {
    vec![
        ("getCoinList", v2(coins::coin_list)),
        ("getCoin", v2(coins::coin)),
        ("getCoinUSDTPrice", v2(coins::usdt_prices)),
        ("getFiatList", v2(coins::fiat_list)),
        ("getChainList", v2(coins::chain_list)),
        ("all/chain", v2(coins::all_chains)),
        ("getMainCoinList", v2(coins::main_coin_list)),
        (
            "checkWithdrawalAddressValidity",
            v2(coins::address_validity),
        ),
        ("getCwalletUserId", v2(coins::cwallet_user)),
        ("getAppCoinAssetList", v2(assets::asset_list)),
        ("getAppCoinAsset", v2(assets::asset)),
        (
            "getOrCreateAppDepositAddress",
            v2(deposits::deposit_address),
        ),
        ("addressUnbinding", v2(addresses::unbind)),
        ("getAppDepositRecord", v2(deposits::deposit_record)),
        ("getAppDepositRecordList", v2(deposits::deposit_record_list)),
        ("createAppOrderDepositAddress", v2(orders::create_order)),
        ("getAppOrderInfo", v2(orders::order_info)),
        ("createCheckoutUrl", v2(orders::create_checkout)),
        ("createInvoiceUrl", v2(orders::create_invoice)),
        ("getInvoiceOrderInfo", v2(orders::invoice_info)),
        ("getAggregationFeeRecord", v2(assets::aggregation_fees)),
        ("rescanLostTransaction", v2(rescan::rescan_lost_transaction)),
        ("getTradeBlockHeight", v2(addresses::block_heights)),
        ("getPaymentBlockHeight", v2(addresses::block_heights)),
        ("webhook/resend", v2(webhooks::resend)),
        ("getWithdrawFee", v2(withdrawals::withdraw_fee)),
        ("applyAppWithdrawToNetwork", v2(withdrawals::to_network)),
        ("applyAppWithdrawToCwallet", v2(withdrawals::to_cwallet)),
        ("getAppWithdrawRecord", v2(withdrawals::record)),
        ("getAppWithdrawRecordList", v2(withdrawals::record_list)),
        (
            "getAutoWithdrawRecordList",
            v2(withdrawals::no_dashboard_records),
        ),
        (
            "getRiskyRefundRecordList",
            v2(withdrawals::no_dashboard_records),
        ),
        (
            "checkWithdrawAddress",
            v2(batch_withdrawals::check_addresses),
        ),
        ("applyBatchWithdraw", v2(batch_withdrawals::apply)),
        ("appendBatchWithdraw", v2(batch_withdrawals::append)),
        ("confirmBatchWithdraw", v2(batch_withdrawals::confirm)),
        ("abortBatchWithdraw", v2(batch_withdrawals::abort)),
        ("getBatchWithdrawOrder", v2(batch_withdrawals::order)),
        (
            "getBatchWithdrawOrderRecordList",
            v2(batch_withdrawals::record_list),
        ),
        ("getSwapCoinList", v2(swaps::coin_list)),
        ("estimate", v2(swaps::estimate)),
        ("swap", v2(swaps::swap)),
        ("getSwapRecord", v2(swaps::record)),
        ("getSwapRecordList", v2(swaps::record_list)),
        ("userSwap", v2(swaps::user_swap)),
        ("getUserSwapRecord", v2(swaps::user_record)),
        ("getUserSwapRecordList", v2(swaps::user_record_list)),
        ("getUserCoinAssetList", v2(wallet::asset_list)),
        ("getUserCoinAsset", v2(wallet::asset)),
        ("getOrCreateUserDepositAddress", v2(wallet::deposit_address)),
        ("getUserDepositRecord", v2(wallet::deposit_record)),
        ("getUserDepositRecordList", v2(wallet::deposit_record_list)),
        ("userTransfer", v2(wallet::transfer)),
        ("getUserTransferRecord", v2(wallet::transfer_record_one)),
        (
            "getUserTransferRecordList",
            v2(wallet::transfer_record_list),
        ),
        ("userBatchTransfer", v2(wallet::batch_transfer)),
        ("getUserBatchTransferRecord", v2(wallet::batch_record_one)),
        (
            "getUserBatchTransferRecordList",
            v2(wallet::batch_record_list),
        ),
        (
            "getUserBatchTransferRecordDetail",
            v2(wallet::batch_record_detail),
        ),
        (
            "applyUserWithdrawToNetwork",
            v2(user_withdrawals::to_network),
        ),
        (
            "applyUserWithdrawToCwallet",
            v2(user_withdrawals::to_cwallet),
        ),
        ("getUserWithdrawRecord", v2(user_withdrawals::record)),
        (
            "getUserWithdrawRecordList",
            v2(user_withdrawals::record_list),
        ),
    ]
}
