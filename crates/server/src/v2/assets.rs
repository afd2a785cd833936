//! `getAppCoinAssetList`, `getAppCoinAsset` and `getAggregationFeeRecord`
//! (v2 spec §2.2): the merchant's balances, the same figures v1's `assets`
//! answers, and the consolidation fees it was charged (none).

use ccgate_api::v2::coins::{AssetEntity, AssetList, CoinRequest, OneAsset};
use ccgate_api::v2::fees::{AggregationFeeRecords, AggregationFeeRequest};
use ccgate_api::v2::fields;
use ccgate_ledger::{Amount, Coin};

use super::V2Result;
use super::coins::coin_by_number;
use crate::AppState;
use crate::auth::SignedCall;
use crate::routes::success;

fn entity(coin: &Coin, available: Amount) -> AssetEntity {
    AssetEntity {
        coin_id: coin.numeric_id,
        coin_symbol: coin.symbol.clone(),
        available: available.to_decimal_string(coin.precision),
    }
}

/// Every coin the merchant holds a balance of.
pub async fn asset_list(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    fields(&body)?;
    let assets = state
        .merchants
        .available_balances(&merchant.app_id, None)
        .await?
        .into_iter()
        .map(|(coin, available)| entity(coin, available))
        .collect();
    Ok(success(&AssetList { assets })?)
}

/// One coin's balance, `"0"` when none is held.
pub async fn asset(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = CoinRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let balances = state
        .merchants
        .available_balances(&merchant.app_id, Some(coin))
        .await?;
    let available = balances.first().map_or(Amount::ZERO, |(_, value)| *value);
    Ok(success(&OneAsset {
        asset: entity(coin, available),
    })?)
}

/// Always empty: the operator carries the gas of sweeps (decisions §13).
pub async fn aggregation_fees(_state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    AggregationFeeRequest::from_fields(&fields(&body)?)?;
    Ok(success(&AggregationFeeRecords {
        list: Vec::new(),
        next_id: String::new(),
    })?)
}
