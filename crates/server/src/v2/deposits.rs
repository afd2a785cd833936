//! Permanent deposit addresses and deposit records in v2 (spec §2.3.1,
//! §2.3.3, §2.3.4, §2.3.6): v1's `payment/address/get` address
//! (`referenceId` is v1's `user_id`), the deposits credited to any of the
//! merchant's addresses, whichever dialect made them, and the operator's
//! EVM rescan for a transaction the merchant says was missed.

use ccgate_api::v2::deposits::{
    AppDepositRecord, DepositAddress, DepositAddressRequest, DepositRecordList,
    DepositRecordListRequest, DepositRecordRequest, OneDepositRecord,
};
use ccgate_api::v2::fields;
use ccgate_engine::domain::{DepositRecord, DepositRecordFilter, WebhookDialect};

use super::coins::{chain_by_symbol, chain_filter, coin_filter};
use super::{RecordWindow, V2Result, page};
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

/// `getOrCreateAppDepositAddress`: the same address on every call for one
/// `referenceId` and chain; one made here is notified in v2.
pub async fn deposit_address(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = DepositAddressRequest::from_fields(&fields(&body)?)?;
    let chain = chain_by_symbol(&state.registry, &request.chain)?;
    let address = state
        .addresses
        .permanent_address(
            &merchant.app_id,
            &request.reference_id,
            chain,
            request.notify_url.as_deref(),
            WebhookDialect::V2,
            state.clock.now_unix_ms().div_euclid(1000),
        )
        .await?;
    Ok(success(&DepositAddress {
        address: address.address,
        memo: String::new(),
    })?)
}

/// A credited deposit in v2's words (a wallet user's too, `wallet.rs`).
/// `coinUSDPrice` is the price now: ccgate keeps no price at receipt
/// (decisions §14).
pub(super) fn app_record(
    state: &AppState,
    record: &DepositRecord,
) -> Result<AppDepositRecord, Failure> {
    let Some((coin, token)) = state.registry.token(&record.token_id) else {
        return Err(Failure::Internal(format!(
            "deposit {} is of token {}, no longer configured",
            record.record_id, record.token_id
        )));
    };
    let price = state
        .prices
        .coin_price(&coin.id, state.clock.now_unix_ms())
        .map(|price| price.to_string())
        .unwrap_or_default();
    Ok(AppDepositRecord {
        record_id: record.record_id.clone(),
        reference_id: record.user_id.clone().unwrap_or_default(),
        order_id: record.merchant_order_id.clone().unwrap_or_default(),
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        chain: record.chain.clone(),
        contract: token.contract.clone(),
        coin_usd_price: price,
        from_address: record.from_address.clone(),
        to_address: record.to_address.clone(),
        to_memo: record.memo.clone(),
        amount: record.amount.to_decimal_string(coin.precision),
        service_fee: record.service_fee.to_decimal_string(coin.precision),
        tx_id: record.txid.clone(),
        tx_index: record.log_index,
        // Only credited deposits are records.
        status: "Success".to_owned(),
        arrived_at: record.credited_at,
        is_flagged_as_risky: false,
    })
}

/// `getAppDepositRecord`: one of the merchant's deposits by its record id.
pub async fn deposit_record(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = DepositRecordRequest::from_fields(&fields(&body)?)?;
    let filter = DepositRecordFilter {
        record_id: Some(request.record_id.clone()),
        ..DepositRecordFilter::of_merchant(&merchant.app_id)
    };
    let found = state.records.deposits(&filter).await?;
    let record = found
        .first()
        .ok_or_else(|| Failure::record_id_unknown(&request.record_id))?;
    Ok(success(&OneDepositRecord {
        record: app_record(&state, record)?,
    })?)
}

/// `getAppDepositRecordList`: newest first, a page at a time; `nextId` is
/// the last record id of a page that has more after it.
pub async fn deposit_record_list(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = DepositRecordListRequest::from_fields(&fields(&body)?)?;
    let coin_id = coin_filter(&state.registry, request.coin_id)?;
    let chain = chain_filter(&state.registry, request.chain.as_deref())?;
    let now_secs = state.clock.now_unix_ms().div_euclid(1000);
    let window = RecordWindow::new(now_secs, request.start_at, request.end_at);
    let filter = DepositRecordFilter {
        record_id: request.record_id,
        coin_id,
        user_id: request.reference_id,
        merchant_order_id: request.order_id,
        chain,
        to_address: request.to_address,
        since: Some(window.since),
        until: window.until,
        before_record_id: request.next_id,
        // One more than the page: whether another page follows.
        limit: request.limit.saturating_add(1),
        ..DepositRecordFilter::of_merchant(&merchant.app_id)
    };
    let found = state.records.deposits(&filter).await?;
    let (records, next_id) = page(
        found,
        request.limit,
        |record| &record.record_id,
        |record| app_record(&state, record),
    )?;
    Ok(success(&DepositRecordList { records, next_id })?)
}
