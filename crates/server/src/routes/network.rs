//! `network/fee` and `get/network/height/info` (spec §2.11–§2.12).

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::resources::{BlockRate, ChainHeight, NetworkFee, NetworkFeeRequest};
use ccgate_ledger::Amount;

use super::{success, token_for_network};
use crate::AppState;
use crate::auth::RawBody;
use crate::failure::Failure;

pub async fn network_fee(
    State(state): State<AppState>,
    Extension(RawBody(body)): Extension<RawBody>,
) -> Result<Response, Failure> {
    let request = NetworkFeeRequest::from_fields(&Fields::parse(&body)?)?;
    let (coin, token) = token_for_network(&state.registry, &request.token_id)?;
    let adapter = state.chains.get(token.chain.as_str())?;
    // The quote is what `withdraw` charges (docs/decisions.md §9): nothing to
    // a Cwallet id, which never touches the chain; the network fee to any
    // chain address, this gateway's own deposit addresses included, since
    // such a withdrawal is sent on the chain like any other.
    let to_cwallet = match request.address.as_deref().map(str::trim) {
        Some(address) => state.store.cwallet(address).await?.is_some(),
        None => false,
    };
    let fee = if to_cwallet {
        Amount::ZERO
    } else {
        state
            .withdrawals
            .network_fee(adapter.as_ref(), coin, token, state.clock.now_unix_ms())
    };
    success(&NetworkFee {
        token_id: token.id.to_string(),
        crypto: coin.symbol.clone(),
        fee: fee.to_decimal_string(coin.precision),
    })
}

/// Takes no fields, but a body that is not a JSON object is still refused
/// like on every endpoint (decisions §2, 220005).
pub async fn height_info(
    State(state): State<AppState>,
    Extension(RawBody(body)): Extension<RawBody>,
) -> Result<Response, Failure> {
    Fields::parse(&body)?;
    let now = state.clock.now_unix_ms();
    let mut heights = Vec::new();
    for adapter in state.chains.adapters() {
        let chain = adapter.chain();
        heights.push(ChainHeight {
            chain: chain.code.to_string(),
            current_chain_height: adapter.height(now).await?,
            tx_confirm_block_num: chain.confirmations_required,
            block_rate: BlockRate {
                block_time_ms: chain.block_time_ms,
            },
        });
    }
    success(&heights)
}
