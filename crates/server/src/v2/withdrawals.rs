//! Merchant withdrawals in v2 (v2 spec §2.1.8, §2.5): the same engine,
//! store and ledger as v1's `withdraw` and `bill/info`, so a withdrawal made
//! in either dialect is read in both (docs/decisions.md §15).

use ccgate_api::RequestError;
use ccgate_api::v2::coins::{CoinOnChainRequest, FeeQuote, WithdrawFee};
use ccgate_api::v2::fields;
use ccgate_api::v2::withdrawals::{
    AppWithdrawRecord, CWALLET_CHAIN, CwalletWithdrawRequest, DashboardRecordListRequest,
    NetworkWithdrawRequest, NoRecords, OneRecord, PAGE_MAX, RecordList, RecordListRequest,
    RecordRequest, WithdrawAccepted,
};
use ccgate_engine::domain::{
    Approval, DestinationFilter, WebhookDialect, Withdrawal, WithdrawalQuery, WithdrawalStatus,
};
use ccgate_engine::notices::v2_status;
use ccgate_engine::withdrawals::{Asset, Destination, WithdrawalRequest};
use ccgate_ledger::{Amount, Coin, MerchantId, Registry};

use super::coins::{chain_by_symbol, coin_by_number, coin_filter, token_on_chain};
use super::{V2Result, page};
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

/// What a rejected withdrawal's record gives as its `reason`.
pub(super) const REJECTED_REASON: &str =
    "rejected by the operator; the amount was returned to the balance";
/// What a failed withdrawal's record gives as its `reason`.
pub(super) const FAILED_REASON: &str =
    "the network did not carry the payout; the amount was returned to the balance";

pub async fn withdraw_fee(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = CoinOnChainRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let token = token_on_chain(coin, &request.chain)?;
    let quote = state
        .withdrawals
        .quote_fee(&merchant.app_id, coin, token, state.clock.now_unix_ms())
        .await?;
    Ok(success(&FeeQuote {
        fee: fee(coin, quote.fee),
        network_fee_inquiry_id: quote.inquiry_id,
    })?)
}

pub async fn to_network(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = NetworkWithdrawRequest::from_fields(&fields(&body)?)?;
    let withdrawal = network_withdrawal(&state.registry, request)?;
    accept(&state, &merchant.app_id, &withdrawal).await
}

/// Instant and free, and without a webhook (v2 spec §3.3.8).
pub async fn to_cwallet(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = CwalletWithdrawRequest::from_fields(&fields(&body)?)?;
    let withdrawal = cwallet_withdrawal(&state.registry, request)?;
    accept(&state, &merchant.app_id, &withdrawal).await
}

/// What a v2 network withdrawal asks of the engine, the merchant's or a
/// wallet user's.
pub(super) fn network_withdrawal(
    registry: &Registry,
    request: NetworkWithdrawRequest,
) -> Result<WithdrawalRequest<'_>, Failure> {
    let coin = coin_by_number(registry, request.coin_id)?;
    let token = token_on_chain(coin, &request.chain)?;
    Ok(WithdrawalRequest {
        asset: Asset::Network(coin, token),
        destination: Destination::ChainAddress(request.address),
        value: request.amount,
        merchant_order_id: request.order_id,
        memo: request.memo,
        merchant_pays_fee: request.merchant_pay_network_fee,
        dialect: WebhookDialect::V2,
        notify_url: request.notify_url,
        fee_quote_id: request.network_fee_inquiry_id,
        batch_task: None,
    })
}

/// What a v2 Cwallet withdrawal asks of the engine, the merchant's or a
/// wallet user's.
pub(super) fn cwallet_withdrawal(
    registry: &Registry,
    request: CwalletWithdrawRequest,
) -> Result<WithdrawalRequest<'_>, Failure> {
    let coin = coin_by_number(registry, request.coin_id)?;
    Ok(WithdrawalRequest {
        asset: Asset::Coin(coin),
        destination: Destination::Cwallet(request.cwallet_user),
        value: request.amount,
        merchant_order_id: request.order_id,
        memo: None,
        merchant_pays_fee: false,
        dialect: WebhookDialect::V2,
        notify_url: None,
        fee_quote_id: None,
        batch_task: None,
    })
}

async fn accept(
    state: &AppState,
    app_id: &MerchantId,
    request: &WithdrawalRequest<'_>,
) -> V2Result {
    let accepted = state
        .withdrawals
        .request(app_id, request, state.clock.now_unix_ms())
        .await?;
    Ok(success(&WithdrawAccepted {
        record_id: accepted.withdrawal.record_id,
    })?)
}

pub async fn record(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = RecordRequest::from_fields(&fields(&body)?)?;
    let records = &state.records;
    let app_id = &merchant.app_id;
    let (found, asked) = match &request {
        RecordRequest::RecordId(record_id) => (
            records.withdrawal_by_record_id(app_id, record_id).await?,
            record_id,
        ),
        RecordRequest::OrderId(order_id) => (
            records
                .withdrawal_by_merchant_order_id(app_id, order_id)
                .await?,
            order_id,
        ),
        // Both given: they must name the one withdrawal.
        RecordRequest::Both {
            record_id,
            order_id,
        } => (
            records
                .withdrawal_by_record_id(app_id, record_id)
                .await?
                .filter(|found| found.merchant_order_id == *order_id),
            record_id,
        ),
    };
    // Refunds are the operator's, notified as v1 `Refund`; not the
    // merchant's withdrawals (docs/decisions.md §15); nor are its wallet
    // users' (§28).
    let withdrawal = found
        .filter(|found| !found.is_refund() && found.user_id.is_none())
        .ok_or_else(|| Failure::withdrawal_not_found(asked))?;
    let record = app_withdraw_record(&state, &withdrawal)?;
    Ok(success(&OneRecord { record })?)
}

pub async fn record_list(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = RecordListRequest::from_fields(&fields(&body)?)?;
    let coin_id = coin_filter(&state.registry, request.coin_id)?;
    let destination = destination_filter(&state.registry, request.chain.as_deref())?;
    // The cursor is the last record of the page before; one that is not
    // this merchant's withdrawal cannot have come from a list.
    let after = match &request.next_id {
        None => None,
        Some(next_id) => {
            let last = state
                .records
                .withdrawal_by_record_id(&merchant.app_id, next_id)
                .await?
                .ok_or(RequestError::FieldType {
                    field: "nextId",
                    expected: "the nextId of the page before",
                })?;
            Some((last.created_at, last.record_id))
        }
    };
    let withdrawals = state
        .records
        .withdrawals(
            &merchant.app_id,
            &WithdrawalQuery {
                // The merchant's own: its users' are theirs (decisions §28).
                user_id: None,
                coin_id,
                destination,
                merchant_order_ids: request.order_ids,
                to_address: request.to_address,
                created_from: request.start_at,
                created_to: request.end_at,
                after,
                // One more than a page tells whether another page follows.
                limit: PAGE_MAX + 1,
            },
        )
        .await?;
    let (records, next_id) = page(
        withdrawals,
        PAGE_MAX,
        |withdrawal| &withdrawal.record_id,
        |withdrawal| app_withdraw_record(&state, withdrawal),
    )?;
    Ok(success(&RecordList { records, next_id })?)
}

/// `getAutoWithdrawRecordList` and `getRiskyRefundRecordList`: the gateway
/// has no dashboard auto-withdrawals and flags no deposit as risky, so there
/// is never a record (docs/decisions.md §15); the filters are still read.
pub async fn no_dashboard_records(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> V2Result {
    let request = DashboardRecordListRequest::from_fields(&fields(&body)?)?;
    if let Some(number) = request.coin_id {
        coin_by_number(&state.registry, number)?;
    }
    Ok(success(&NoRecords::EMPTY)?)
}

/// A withdrawal list's `chain` filter: a chain symbol, or
/// [`CWALLET_CHAIN`] for Cwallet withdrawals only.
pub(super) fn destination_filter(
    registry: &Registry,
    chain: Option<&str>,
) -> Result<Option<DestinationFilter>, Failure> {
    Ok(match chain {
        None => None,
        Some(chain) if chain.eq_ignore_ascii_case(CWALLET_CHAIN) => {
            Some(DestinationFilter::Cwallet)
        }
        Some(chain) => Some(DestinationFilter::Chain(
            chain_by_symbol(registry, chain)?.code.to_string(),
        )),
    })
}

fn fee(coin: &Coin, amount: Amount) -> WithdrawFee {
    WithdrawFee {
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        amount: amount.to_decimal_string(coin.precision),
    }
}

/// A withdrawal as v2 shows it, whichever dialect made it (a wallet user's
/// too, `user_withdrawals.rs`). `amount` is what was asked for (v1's
/// `value`), the fee beside it.
pub(super) fn app_withdraw_record(
    state: &AppState,
    withdrawal: &Withdrawal,
) -> Result<AppWithdrawRecord, Failure> {
    let (coin, _) = state
        .registry
        .token(&withdrawal.token_id)
        .ok_or_else(|| Failure::Internal(format!("token {} vanished", withdrawal.token_id)))?;
    // The gateway keeps no price per withdrawal: the current one, "0"
    // when the price source has none to give (a record is still readable).
    let coin_usd_price = state
        .prices
        .coin_price(&coin.id, state.clock.now_unix_ms())
        .map_or_else(|_| "0".to_owned(), |price| price.to_string());
    let (withdraw_type, chain, to_address, cwallet_user, tx_id) = if withdrawal.to_cwallet {
        (
            "Cwallet",
            CWALLET_CHAIN.to_owned(),
            String::new(),
            withdrawal.to_address.clone(),
            String::new(),
        )
    } else {
        (
            "Network",
            withdrawal.chain.clone(),
            withdrawal.to_address.clone(),
            String::new(),
            withdrawal.txid.clone(),
        )
    };
    let status = v2_status(withdrawal).to_owned();
    Ok(AppWithdrawRecord {
        record_id: withdrawal.record_id.clone(),
        withdraw_type: withdraw_type.to_owned(),
        app_id: withdrawal.app_id.as_str().to_owned(),
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        chain,
        // The hot wallet is the gateway's business; CCPayment leaves it
        // empty where it has none to show.
        from_address: String::new(),
        to_address,
        cwallet_user,
        order_id: withdrawal.merchant_order_id.clone(),
        tx_id,
        to_memo: withdrawal.memo.clone(),
        status,
        amount: withdrawal.value.to_decimal_string(coin.precision),
        fee: fee(coin, withdrawal.network_fee),
        reason: match (withdrawal.approval, withdrawal.status) {
            (Approval::Rejected, _) => REJECTED_REASON.to_owned(),
            (_, WithdrawalStatus::Failed) => FAILED_REASON.to_owned(),
            _ => String::new(),
        },
        coin_usd_price,
    })
}
