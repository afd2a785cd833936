//! `addressUnbinding` (v2 spec §2.3.5) and `getTradeBlockHeight` /
//! `getPaymentBlockHeight` (§2.8.1), decisions §16.

use axum::Extension;
use axum::extract::State;
use ccgate_api::v2::addresses::{
    BlockHeightRequest, BlockHeights, UnbindRequest, Unbinding, UnboundAddress,
};
use ccgate_api::v2::fields;
use ccgate_store::DepositRecordFilter;

use super::V2Result;
use super::coins::chain_by_symbol;
use crate::AppState;
use crate::auth::{Authenticated, RawBody};
use crate::failure::Failure;
use crate::routes::success;

/// `addressUnbinding`: the merchant's permanent address stops answering for
/// its `referenceId`; payments to it are still credited and listed.
pub async fn unbind(
    State(state): State<AppState>,
    Extension(Authenticated(merchant)): Extension<Authenticated>,
    Extension(RawBody(body)): Extension<RawBody>,
) -> V2Result {
    let request = UnbindRequest::from_fields(&fields(&body)?)?;
    let chain = chain_by_symbol(&state.registry, &request.chain)?;
    let unbound = state
        .addresses
        .unbind_permanent_address(
            &merchant.app_id,
            chain,
            state.registry.chains(),
            &request.address,
            state.clock.now_unix_ms().div_euclid(1000),
        )
        .await?;
    Ok(success(&Unbinding {
        unbound: unbound
            .chains
            .into_iter()
            .map(|chain| UnboundAddress {
                chain,
                address: unbound.address.clone(),
            })
            .collect(),
        unbound_at: unbound.unbound_at,
        // ccgate has no wallet system: every unbindable address is a
        // permanent address of a `referenceId`.
        user_id: String::new(),
        reference_id: unbound.user_id,
    })?)
}

/// `getTradeBlockHeight` (the SDKs' path) and `getPaymentBlockHeight` (the
/// proto's): where one of the merchant's credited deposits or chain
/// withdrawals is, against the chain's latest block.
pub async fn block_heights(
    State(state): State<AppState>,
    Extension(Authenticated(merchant)): Extension<Authenticated>,
    Extension(RawBody(body)): Extension<RawBody>,
) -> V2Result {
    let request = BlockHeightRequest::from_fields(&fields(&body)?)?;
    let record_id = &request.record_id;
    let deposit = state
        .deposit_records
        .deposit_records(&DepositRecordFilter {
            app_id: merchant.app_id.clone(),
            record_id: Some(record_id.clone()),
            coin_id: None,
            user_id: None,
            merchant_order_id: None,
            chain: None,
            to_address: None,
            since: None,
            until: None,
            before_record_id: None,
            limit: 1,
        })
        .await?;
    let (chain_code, tx_block_height) = if let Some(deposit) = deposit.first() {
        (deposit.chain.clone(), deposit.block_height)
    } else {
        // Refunds are the operator's, not the merchant's withdrawals
        // (decisions §15): unknown here as in `getAppWithdrawRecord`.
        let withdrawal = state
            .withdrawal_store
            .withdrawal_by_record_id(&merchant.app_id, record_id)
            .await?
            .filter(|found| !found.is_refund())
            .ok_or_else(|| Failure::record_unknown(record_id))?;
        if withdrawal.to_cwallet {
            return Err(Failure::no_block_height(
                record_id,
                "it is a Cwallet withdrawal, made on no chain",
            )
            .into());
        }
        let block = withdrawal.block_height.ok_or_else(|| {
            Failure::no_block_height(record_id, "it is not in a block yet; ask again later")
        })?;
        (withdrawal.chain, block)
    };
    let adapter = state.chains.get(&chain_code)?;
    let chain = adapter.chain();
    Ok(success(&BlockHeights {
        chain: chain.code.to_string(),
        tx_block_height,
        curr_block_height: adapter.height(state.clock.now_unix_ms()).await?,
        req_confirmations: u32::try_from(chain.confirmations_required).unwrap_or(u32::MAX),
    })?)
}
