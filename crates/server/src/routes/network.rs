//! `network/fee` and `get/network/height/info` (spec §2.11–§2.12).

use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::resources::{BlockRate, ChainHeight, NetworkFee, NetworkFeeRequest};

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

pub async fn network_fee(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> Result<Response, Failure> {
    let request = NetworkFeeRequest::from_fields(&Fields::parse(&body)?)?;
    // The quote is what `withdraw` charges (docs/decisions.md §9).
    let quote = state
        .withdrawals
        .fee_to(
            &request.token_id,
            request.address.as_deref(),
            state.clock.now_unix_ms(),
        )
        .await?;
    let (coin, token, fee) = (quote.coin, quote.token, quote.fee);
    success(&NetworkFee {
        token_id: token.id.to_string(),
        crypto: coin.symbol.clone(),
        fee: fee.to_decimal_string(coin.precision),
    })
}

/// Takes no fields, but a body that is not a JSON object is still refused
/// like on every endpoint (decisions §2, 220005).
pub async fn height_info(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> Result<Response, Failure> {
    Fields::parse(&body)?;
    let heights: Vec<ChainHeight> = state
        .network
        .heads(state.clock.now_unix_ms())
        .await?
        .into_iter()
        .map(|head| ChainHeight {
            chain: head.chain.code.to_string(),
            current_chain_height: head.height,
            tx_confirm_block_num: head.chain.confirmations_required,
            block_rate: BlockRate {
                block_time_ms: head.chain.block_time_ms,
            },
        })
        .collect();
    success(&heights)
}
