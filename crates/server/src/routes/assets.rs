//! `POST /ccpayment/v1/assets` (spec §2.10).

use axum::response::Response;
use ccgate_api::assets::{AssetBalance, AssetsData, AssetsRequest};
use ccgate_api::request::Fields;

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

pub async fn assets(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> Result<Response, Failure> {
    let request = AssetsRequest::from_fields(&Fields::parse(&body)?)?;
    let wanted = match &request.coin_id {
        Some(id) => Some(
            state
                .registry
                .resolve_coin(id)
                .ok_or_else(|| Failure::coin_not_found(id))?,
        ),
        None => None,
    };
    let now = state.clock.now_unix_ms();
    let mut list = Vec::new();
    for (coin, value) in state
        .merchants
        .available_balances(&merchant.app_id, wanted)
        .await?
    {
        let price = state.prices.coin_price(&coin.id, now)?;
        list.push(AssetBalance {
            coin_id: coin.id.to_string(),
            crypto: coin.symbol.clone(),
            name: coin.name.clone(),
            value: value.to_decimal_string(coin.precision),
            price: price.to_string(),
            logo: coin.logo.clone(),
        });
    }
    success(&AssetsData { list })
}
