//! `coin/all`, `support/token` and `token/chain` (spec §2.6–§2.8).

use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::resources::{
    CoinEntry, CoinList, NetworkEntry, NetworkList, SupportedToken, SupportedTokens,
    TokenChainRequest,
};
use ccgate_engine::Rejection;
use ccgate_ledger::{Coin, Token};

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

/// Takes no fields, but a body that is not a JSON object is still refused
/// like on every endpoint (decisions §2, 220005).
pub async fn coin_all(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> Result<Response, Failure> {
    Fields::parse(&body)?;
    let now = state.clock.now_unix_ms();
    let mut list = Vec::new();
    for coin in state.registry.coins() {
        list.push(CoinEntry {
            symbol: coin.symbol.clone(),
            crypto: coin.symbol.clone(),
            name: coin.name.clone(),
            logo: coin.logo.clone(),
            min: coin.min.to_decimal_string(coin.precision),
            price: state.prices.coin_price(&coin.id, now)?.to_string(),
            precision: coin.precision.get(),
            coin_id: coin.id.to_string(),
            status: coin.status.code(),
            tokens: coin
                .tokens
                .iter()
                .map(|token| network_entry(&state, coin, token))
                .collect(),
        });
    }
    success(&CoinList { list })
}

/// One entry per network, as the deprecated endpoint listed tokens. Takes no
/// fields; a body that is not a JSON object is refused as on `coin/all`.
pub async fn support_token(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> Result<Response, Failure> {
    Fields::parse(&body)?;
    let now = state.clock.now_unix_ms();
    let mut list = Vec::new();
    for coin in state.registry.coins() {
        let price = state.prices.coin_price(&coin.id, now)?.to_string();
        for token in &coin.tokens {
            list.push(SupportedToken {
                crypto: coin.symbol.clone(),
                name: coin.name.clone(),
                logo: token.logo.clone(),
                min: coin.min.to_decimal_string(coin.precision),
                price: price.clone(),
                token_id: token.id.to_string(),
            });
        }
    }
    success(&SupportedTokens { list })
}

/// The networks of the coin a token (or coin) id names.
pub async fn token_chain(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> Result<Response, Failure> {
    let request = TokenChainRequest::from_fields(&Fields::parse(&body)?)?;
    let coin = state
        .registry
        .resolve_coin(&request.token_id)
        .ok_or_else(|| Rejection::token_not_found(&request.token_id))?;
    let list = coin
        .tokens
        .iter()
        .map(|token| network_entry(&state, coin, token))
        .collect();
    success(&NetworkList { list })
}

fn network_entry(state: &AppState, coin: &Coin, token: &Token) -> NetworkEntry {
    let chain = state.registry.chain(token.chain.as_str());
    NetworkEntry {
        token_id: token.id.to_string(),
        crypto: token.symbol.clone(),
        logo: token.logo.clone(),
        name: chain.map(|c| c.name.clone()).unwrap_or_default(),
        is_support_memo: token.memo_supported,
        network: token.network.clone(),
        chain: token.chain.to_string(),
        contract: token.contract.clone(),
        chain_logo: chain.map(|c| c.logo.clone()).unwrap_or_default(),
        status: token.status.code(),
        precision: token.precision.get(),
        // Network fees are charged in the coin withdrawn.
        network_fee_crypto: coin.symbol.clone(),
        network_coin_id: coin.id.to_string(),
    }
}
