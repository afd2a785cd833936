//! `token/rate` (spec §2.9): a USD amount in token units at the current price.

use axum::response::Response;
use ccgate_api::request::Fields;
use ccgate_api::resources::{TokenRate, TokenRateRequest};
use ccgate_engine::Rejection;
use ccgate_engine::amounts::positive_decimal;
use ccgate_ledger::Rounding;

use super::success;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;

/// USD amounts carry at most this many decimal places (cents and far below).
const USD_AMOUNT_PLACES_MAX: u8 = 18;

pub async fn token_rate(
    state: AppState,
    SignedCall { body, .. }: SignedCall,
) -> Result<Response, Failure> {
    let request = TokenRateRequest::from_fields(&Fields::parse(&body)?)?;
    let amount = positive_decimal("amount", &request.amount)?;
    if amount.scale() > USD_AMOUNT_PLACES_MAX {
        return Err(Failure::AmountInvalid {
            field: "amount",
            max_places: USD_AMOUNT_PLACES_MAX,
        });
    }
    let coin = state
        .registry
        .resolve_coin(&request.token_id)
        .ok_or_else(|| Rejection::token_not_found(&request.token_id))?;
    let price = state
        .prices
        .coin_price(&coin.id, state.clock.now_unix_ms())?;
    let value = amount
        .checked_div(price, coin.precision, Rounding::HalfUp)
        .map_err(|_| Rejection::AmountInvalid("amount is too large".to_owned()))?;
    success(&TokenRate {
        price: price.to_string(),
        value: value.to_decimal_string(coin.precision),
    })
}
