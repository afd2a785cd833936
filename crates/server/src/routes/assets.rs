//! `POST /ccpayment/v1/assets` (spec §2.10).

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use ccgate_api::assets::{AssetBalance, AssetsData, AssetsRequest};
use ccgate_api::request::Fields;
use ccgate_ledger::{Amount, Coin, MerchantId};

use super::success;
use crate::AppState;
use crate::auth::{Authenticated, RawBody};
use crate::failure::Failure;

pub async fn assets(
    State(state): State<AppState>,
    Extension(Authenticated(merchant)): Extension<Authenticated>,
    Extension(RawBody(body)): Extension<RawBody>,
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
    for (coin, value) in available_balances(&state, &merchant.app_id, wanted).await? {
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

/// A merchant's available balance of `wanted`, zero included; with no coin
/// wanted, of every coin it holds a non-zero balance of, in registry order.
/// Both dialects' balance endpoints answer from here.
pub(crate) async fn available_balances<'r>(
    state: &'r AppState,
    app_id: &MerchantId,
    wanted: Option<&'r Coin>,
) -> Result<Vec<(&'r Coin, Amount)>, Failure> {
    let held = state.store.merchant_balances(app_id).await?;
    let available = |coin: &Coin| -> Result<Amount, Failure> {
        match held.iter().find(|b| b.coin == coin.id) {
            None => Ok(Amount::ZERO),
            Some(b) => b.balance.available().ok_or_else(|| {
                Failure::Internal(format!("merchant balance of {} is negative", coin.id))
            }),
        }
    };
    let coins: Vec<&Coin> = match wanted {
        Some(coin) => vec![coin],
        None => state
            .registry
            .coins()
            .filter(|coin| held.iter().any(|b| b.coin == coin.id))
            .collect(),
    };
    let mut balances = Vec::with_capacity(coins.len());
    for coin in coins {
        let value = available(coin)?;
        if wanted.is_none() && value.is_zero() {
            continue;
        }
        balances.push((coin, value));
    }
    Ok(balances)
}
