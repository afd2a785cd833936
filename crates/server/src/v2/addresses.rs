//! `addressUnbinding` (v2 spec §2.3.5) and `getTradeBlockHeight` /
//! `getPaymentBlockHeight` (§2.8.1), decisions §16.

use ccgate_api::v2::addresses::{
    BlockHeightRequest, BlockHeights, UnbindRequest, Unbinding, UnboundAddress,
};
use ccgate_api::v2::fields;
use ccgate_engine::records::RecordBlock;

use super::V2Result;
use super::coins::chain_by_symbol;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

/// `addressUnbinding`: the merchant's permanent address stops answering for
/// its `referenceId`; payments to it are still credited and listed.
pub async fn unbind(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
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
        // A wallet user's address names its user as `userID`, a
        // `referenceId`'s as `referenceID` (v2 spec §2.3.5, decisions §35).
        user_id: if unbound.wallet_user {
            unbound.user_id.clone()
        } else {
            String::new()
        },
        reference_id: if unbound.wallet_user {
            String::new()
        } else {
            unbound.user_id
        },
    })?)
}

/// `getTradeBlockHeight` (the SDKs' path) and `getPaymentBlockHeight` (the
/// proto's): where one of the merchant's credited deposits or chain
/// withdrawals is, against the chain's latest block.
pub async fn block_heights(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = BlockHeightRequest::from_fields(&fields(&body)?)?;
    let record_id = &request.record_id;
    let block = state
        .records
        .block_of(&merchant.app_id, record_id, state.clock.now_unix_ms())
        .await?;
    match block {
        RecordBlock::InBlock {
            chain,
            block_height,
            head_height,
            confirmations_required,
        } => Ok(success(&BlockHeights {
            chain,
            tx_block_height: block_height,
            curr_block_height: head_height,
            req_confirmations: u32::try_from(confirmations_required).unwrap_or(u32::MAX),
        })?),
        RecordBlock::NoChain => Err(Failure::no_block_height(
            record_id,
            "it is a Cwallet withdrawal, made on no chain",
        )
        .into()),
        RecordBlock::NotInBlockYet => Err(Failure::no_block_height(
            record_id,
            "it is not in a block yet; ask again later",
        )
        .into()),
        RecordBlock::Unknown => Err(Failure::record_unknown(record_id).into()),
    }
}
