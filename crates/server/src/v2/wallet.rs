//! The wallet system (v2 spec §2.9–2.10, decisions §24): a merchant's
//! users' balances, deposit addresses and deposit records, and transfers
//! between them. Each handler parses, makes one engine call, renders.

use ccgate_api::v2::coins::AssetEntity;
use ccgate_api::v2::deposits::{AppDepositRecord, DepositAddress};
use ccgate_api::v2::fields;
use ccgate_api::v2::wallet::{
    BatchDetailRequest, BatchTransferRecord, BatchTransferRecordList,
    BatchTransferRecordListRequest, BatchTransferRequest, OneBatchTransferRecord,
    OneTransferRecord, OneUserDepositRecord, ToUser, TransferRecord, TransferRecordList,
    TransferRecordListRequest, TransferRequest, UserAddressRequest, UserAsset, UserAssetList,
    UserCoinRequest, UserDepositRecord, UserDepositRecordList, UserDepositRecordListRequest,
    UserRequest,
};
use ccgate_api::v2::withdrawals::{RecordRequest, WithdrawAccepted};
use ccgate_engine::domain::{
    BatchScope, DepositRecord, DepositRecordFilter, TransferFilter, UserBatchTransfer, UserTransfer,
};
use ccgate_engine::wallets::{BatchRequest, TransferRequest as Transfer};
use ccgate_ledger::{Amount, Coin, CoinId, MerchantId};

use super::coins::{chain_by_symbol, chain_filter, coin_by_number, coin_filter};
use super::deposits::app_record;
use super::{RecordWindow, V2Result, page};
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

fn entity(coin: &Coin, available: Amount) -> AssetEntity {
    AssetEntity {
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        available: available.to_decimal_string(coin.precision),
    }
}

pub(super) fn now_secs(state: &AppState) -> i64 {
    state.clock.now_unix_ms().div_euclid(1000)
}

/// The coin a stored record is in, and its USD price now (`""` without
/// one): ccgate keeps no price at the time (decisions §14).
fn coin_of<'s>(state: &'s AppState, coin_id: &CoinId) -> Result<(&'s Coin, String), Failure> {
    let coin = state.registry.coin(coin_id).ok_or_else(|| {
        Failure::Internal(format!(
            "a record is in coin {coin_id}, no longer configured"
        ))
    })?;
    let price = state
        .prices
        .coin_price(&coin.id, state.clock.now_unix_ms())
        .map(|price| price.to_string())
        .unwrap_or_default();
    Ok((coin, price))
}

/// `getUserCoinAssetList`: every coin the user holds (the App ID: the
/// merchant's own balances).
pub async fn asset_list(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = UserRequest::from_fields(&fields(&body)?)?;
    let assets = state
        .wallets
        .balances(&merchant.app_id, &request.user_id, None)
        .await?
        .into_iter()
        .map(|(coin, available)| entity(coin, available))
        .collect();
    Ok(success(&UserAssetList {
        user_id: request.user_id,
        assets,
    })?)
}

/// `getUserCoinAsset`: one coin's balance, `"0"` when none is held.
pub async fn asset(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = UserCoinRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let balances = state
        .wallets
        .balances(&merchant.app_id, &request.user_id, Some(coin))
        .await?;
    let available = balances.first().map_or(Amount::ZERO, |(_, value)| *value);
    Ok(success(&UserAsset {
        user_id: request.user_id,
        asset: entity(coin, available),
    })?)
}

/// `getOrCreateUserDepositAddress`: the user's permanent address on a chain.
pub async fn deposit_address(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = UserAddressRequest::from_fields(&fields(&body)?)?;
    let chain = chain_by_symbol(&state.registry, &request.chain)?;
    let address = state
        .wallets
        .deposit_address(
            &merchant.app_id,
            &request.user_id,
            chain,
            request.notify_url.as_deref(),
            now_secs(&state),
        )
        .await?;
    Ok(success(&DepositAddress {
        address: address.address,
        memo: String::new(),
    })?)
}

/// A deposit to a user's address as v2 shows it: as an AppDepositRecord
/// shows a merchant's, its `referenceId` being the user, without `orderId`
/// and `txIndex`.
fn user_deposit_record(
    state: &AppState,
    record: &DepositRecord,
) -> Result<UserDepositRecord, Failure> {
    let AppDepositRecord {
        record_id,
        reference_id,
        order_id: _,
        coin_id,
        coin_symbol,
        chain,
        contract,
        coin_usd_price,
        from_address,
        to_address,
        to_memo,
        amount,
        service_fee,
        tx_id,
        tx_index: _,
        status,
        arrived_at,
        is_flagged_as_risky,
    } = app_record(state, record)?;
    Ok(UserDepositRecord {
        user_id: reference_id,
        record_id,
        coin_id,
        coin_symbol,
        chain,
        contract,
        coin_usd_price,
        from_address,
        to_address,
        to_memo,
        amount,
        service_fee,
        tx_id,
        status,
        arrived_at,
        is_flagged_as_risky,
    })
}

/// `getUserDepositRecord`: one of the merchant's users' deposits.
pub async fn deposit_record(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = ccgate_api::v2::deposits::DepositRecordRequest::from_fields(&fields(&body)?)?;
    let filter = DepositRecordFilter {
        record_id: Some(request.record_id.clone()),
        ..DepositRecordFilter::of_merchant(&merchant.app_id)
    };
    let found = state.wallets.deposits(&filter).await?;
    let record = found
        .first()
        .ok_or_else(|| Failure::record_id_unknown(&request.record_id))?;
    Ok(success(&OneUserDepositRecord {
        record: user_deposit_record(&state, record)?,
    })?)
}

/// `getUserDepositRecordList`: one user's deposits, newest first.
pub async fn deposit_record_list(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = UserDepositRecordListRequest::from_fields(&fields(&body)?)?;
    let coin_id = coin_filter(&state.registry, request.coin_id)?;
    let chain = chain_filter(&state.registry, request.chain.as_deref())?;
    let window = RecordWindow::new(now_secs(&state), request.start_at, request.end_at);
    let filter = DepositRecordFilter {
        coin_id,
        user_id: Some(request.user_id),
        chain,
        to_address: request.to_address,
        since: Some(window.since),
        until: window.until,
        before_record_id: request.next_id,
        // One more than the page: whether another page follows.
        limit: request.limit.saturating_add(1),
        ..DepositRecordFilter::of_merchant(&merchant.app_id)
    };
    let found = state.wallets.deposits(&filter).await?;
    let (records, next_id) = page(
        found,
        request.limit,
        |record| &record.record_id,
        |record| user_deposit_record(&state, record),
    )?;
    Ok(success(&UserDepositRecordList { records, next_id })?)
}

/// `userTransfer`: instant and free, idempotent by `orderId`.
pub async fn transfer(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = TransferRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let done = state
        .wallets
        .transfer(
            &merchant.app_id,
            &Transfer {
                order_id: &request.order_id,
                from_user: &request.from_user_id,
                to_user: &request.to_user_id,
                coin,
                amount: &request.amount,
                remark: &request.remark,
            },
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(success(&WithdrawAccepted {
        record_id: done.record_id,
    })?)
}

fn transfer_record(state: &AppState, transfer: &UserTransfer) -> Result<TransferRecord, Failure> {
    let (coin, price) = coin_of(state, &transfer.coin_id)?;
    Ok(TransferRecord {
        record_id: transfer.record_id.clone(),
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        order_id: transfer.order_id.clone(),
        from_user_id: transfer.from_user.clone(),
        to_user_id: transfer.to_user.clone(),
        amount: transfer.amount.to_decimal_string(coin.precision),
        status: "Success".to_owned(),
        remark: transfer.remark.clone(),
        coin_usd_price: price,
    })
}

/// A record look-up's filter: by record id (any transfer, a batch's leg
/// included), by order id (single transfers, whose order ids are unique),
/// or both naming the one transfer.
fn looked_up(app_id: &MerchantId, request: &RecordRequest) -> (TransferFilter, String) {
    let mut filter = TransferFilter::of_merchant(app_id);
    let asked = match request {
        RecordRequest::RecordId(record_id) => {
            filter.record_id = Some(record_id.clone());
            record_id
        }
        RecordRequest::OrderId(order_id) => {
            filter.batch = BatchScope::Single;
            filter.order_ids = vec![order_id.clone()];
            order_id
        }
        RecordRequest::Both {
            record_id,
            order_id,
        } => {
            filter.record_id = Some(record_id.clone());
            filter.order_ids = vec![order_id.clone()];
            record_id
        }
    };
    (filter, asked.clone())
}

/// `getUserTransferRecord`.
pub async fn transfer_record_one(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = RecordRequest::from_fields(&fields(&body)?)?;
    let (filter, asked) = looked_up(&merchant.app_id, &request);
    let found = state.wallets.transfers(&filter).await?;
    let transfer = found
        .first()
        .ok_or_else(|| Failure::transfer_not_found(&asked))?;
    Ok(success(&OneTransferRecord {
        record: transfer_record(&state, transfer)?,
    })?)
}

/// `getUserTransferRecordList`: newest first, batch legs included.
pub async fn transfer_record_list(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = TransferRecordListRequest::from_fields(&fields(&body)?)?;
    let coin_id = coin_filter(&state.registry, request.coin_id)?;
    let window = RecordWindow::new(now_secs(&state), request.start_at, request.end_at);
    let filter = TransferFilter {
        order_ids: request.order_ids,
        from_user: request.from_user_id,
        to_user: request.to_user_id,
        coin_id,
        since: Some(window.since),
        until: window.until,
        after_record_id: request.next_id,
        limit: request.limit.saturating_add(1),
        ..TransferFilter::of_merchant(&merchant.app_id)
    };
    transfer_list(&state, &filter, request.limit).await
}

/// A page of transfers, read by `filter` one more than `limit`.
async fn transfer_list(state: &AppState, filter: &TransferFilter, limit: u32) -> V2Result {
    let found = state.wallets.transfers(filter).await?;
    let (records, next_id) = page(
        found,
        limit,
        |transfer| &transfer.record_id,
        |transfer| transfer_record(state, transfer),
    )?;
    Ok(success(&TransferRecordList { records, next_id })?)
}

/// `userBatchTransfer`: every leg or none (decisions §24).
pub async fn batch_transfer(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = BatchTransferRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let legs: Vec<(String, String)> = request
        .to_users
        .iter()
        .map(|to| (to.user_id.clone(), to.amount.clone()))
        .collect();
    let done = state
        .wallets
        .batch_transfer(
            &merchant.app_id,
            &BatchRequest {
                order_id: &request.order_id,
                from_user: &request.user_id,
                legs: &legs,
                coin,
                remark: &request.remark,
            },
            state.clock.now_unix_ms(),
        )
        .await?;
    Ok(success(&WithdrawAccepted {
        record_id: done.record_id,
    })?)
}

fn batch_record(
    state: &AppState,
    batch: &UserBatchTransfer,
) -> Result<BatchTransferRecord, Failure> {
    let (coin, price) = coin_of(state, &batch.coin_id)?;
    Ok(BatchTransferRecord {
        record_id: batch.record_id.clone(),
        user_id: batch.from_user.clone(),
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        order_id: batch.order_id.clone(),
        to_users: batch
            .legs
            .iter()
            .map(|leg| ToUser {
                user_id: leg.to_user.clone(),
                amount: leg.amount.to_decimal_string(coin.precision),
            })
            .collect(),
        status: "Success".to_owned(),
        remark: batch.remark.clone(),
        coin_usd_price: price,
    })
}

/// `getUserBatchTransferRecord`.
pub async fn batch_record_one(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = RecordRequest::from_fields(&fields(&body)?)?;
    let (mut filter, asked) = looked_up(&merchant.app_id, &request);
    // Batches' order ids are unique among batches.
    filter.batch = BatchScope::Any;
    let found = state.wallets.batch_transfers(&filter).await?;
    let batch = found
        .first()
        .ok_or_else(|| Failure::transfer_not_found(&asked))?;
    Ok(success(&OneBatchTransferRecord {
        record: batch_record(&state, batch)?,
    })?)
}

/// `getUserBatchTransferRecordList`: newest first.
pub async fn batch_record_list(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = BatchTransferRecordListRequest::from_fields(&fields(&body)?)?;
    let coin_id = coin_filter(&state.registry, request.coin_id)?;
    let window = RecordWindow::new(now_secs(&state), request.start_at, request.end_at);
    let filter = TransferFilter {
        order_ids: request.order_ids,
        from_user: request.user_id,
        coin_id,
        since: Some(window.since),
        until: window.until,
        after_record_id: request.next_id,
        limit: request.limit.saturating_add(1),
        ..TransferFilter::of_merchant(&merchant.app_id)
    };
    let found = state.wallets.batch_transfers(&filter).await?;
    let (records, next_id) = page(
        found,
        request.limit,
        |batch| &batch.record_id,
        |batch| batch_record(&state, batch),
    )?;
    Ok(success(&BatchTransferRecordList { records, next_id })?)
}

/// `getUserBatchTransferRecordDetail`: a batch's legs, in their order.
pub async fn batch_record_detail(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    let request = BatchDetailRequest::from_fields(&fields(&body)?)?;
    let mut batches = TransferFilter::of_merchant(&merchant.app_id);
    batches.record_id = Some(request.record_id.clone());
    if state.wallets.batch_transfers(&batches).await?.is_empty() {
        return Err(Failure::transfer_not_found(&request.record_id).into());
    }
    let filter = TransferFilter {
        batch: BatchScope::Legs(request.record_id),
        after_record_id: request.next_id,
        limit: request.limit.saturating_add(1),
        ..TransferFilter::of_merchant(&merchant.app_id)
    };
    transfer_list(&state, &filter, request.limit).await
}
