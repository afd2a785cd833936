//! Swaps in v2 (v2 spec §2.11, docs/decisions.md §25, §25.1): the coins
//! that can be swapped, quotes, the merchant's and its users' swaps against
//! the operator's treasury and their records. Each handler parses, calls the
//! engine's `Swaps` once and renders.

use ccgate_api::RequestError;
use ccgate_api::v2::fields;
use ccgate_api::v2::swaps::{
    Estimate, EstimateRequest, OneSwapRecord, PAGE_MAX, RANGE_SECS_MAX, SUCCESS, SwapCoin,
    SwapCoinList, SwapDone, SwapRecord, SwapRecordList, SwapRecordListRequest, SwapRecordRequest,
    SwapRequest, UserSwapRequest,
};
use ccgate_engine::domain::{MerchantCredentials, Swap, SwapOwner, SwapPricing, SwapQuery};
use ccgate_engine::swaps::{Described, SwapAsk, SwapParty};
use ccgate_ledger::{Amount, Coin};

use super::V2Result;
use super::coins::coin_by_number;
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

/// Whose swaps a record endpoint reads: `getSwapRecord(List)` the
/// merchant's own, `getUserSwapRecord(List)` its users' (decisions §25.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    Merchant,
    Users,
}

impl Whose {
    fn owns(self, swap: &Swap) -> bool {
        match self {
            Whose::Merchant => swap.user_id.is_none(),
            Whose::Users => swap.user_id.is_some(),
        }
    }
}

pub async fn coin_list(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    // Nothing to read, but a body that is not an object is refused as anywhere.
    fields(&body)?;
    let coins = state
        .swaps
        .coins(state.clock.now_unix_ms())
        .into_iter()
        .map(|coin| SwapCoin {
            coin_id: coin.numeric_id,
            symbol: coin.symbol.clone(),
            logo_url: coin.logo.clone(),
        })
        .collect();
    Ok(success(&SwapCoinList { coins })?)
}

pub async fn estimate(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = EstimateRequest::from_fields(&fields(&body)?)?;
    let ask = SwapAsk {
        coin_in: coin_by_number(&state.registry, request.coin_id_in)?,
        coin_out: coin_by_number(&state.registry, request.coin_id_out)?,
        amount_in: &request.amount_in,
        extra_fee_rate: request.extra_fee_rate.as_deref(),
    };
    let pricing = state
        .swaps
        .estimate(&merchant.app_id, &ask, state.clock.now_unix_ms())
        .await?;
    let shown = state.swaps.describe(&pricing)?;
    let [amount_in, amount_out, fee, net_out, extra_fee] = amounts(&shown, &pricing);
    Ok(success(&Estimate {
        coin_id_in: shown.coin_in.numeric_id,
        coin_id_out: shown.coin_out.numeric_id,
        amount_out,
        amount_in,
        swap_rate: shown.swap_rate,
        fee_rate: shown.fee_rate,
        fee,
        extra_fee,
        net_amount_out: net_out,
    })?)
}

pub async fn swap(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = SwapRequest::from_fields(&fields(&body)?)?;
    let party = SwapParty::Merchant(merchant.app_id.clone());
    swap_for(&state, &party, &request, None).await
}

pub async fn user_swap(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    let request = UserSwapRequest::from_fields(&fields(&body)?)?;
    let party = SwapParty::User(merchant.app_id.clone(), request.user_id.clone());
    swap_for(
        &state,
        &party,
        &request.swap,
        request.extra_fee_rate.as_deref(),
    )
    .await
}

/// `swap` and `userSwap`: one engine call, the same answer.
async fn swap_for(
    state: &AppState,
    party: &SwapParty,
    request: &SwapRequest,
    extra_fee_rate: Option<&str>,
) -> V2Result {
    let ask = SwapAsk {
        coin_in: coin_by_number(&state.registry, request.coin_id_in)?,
        coin_out: coin_by_number(&state.registry, request.coin_id_out)?,
        amount_in: &request.amount_in,
        extra_fee_rate,
    };
    let swap = state
        .swaps
        .swap(
            party,
            &request.order_id,
            &ask,
            request.amount_out_minimum.as_deref(),
            state.clock.now_unix_ms(),
        )
        .await?;
    let shown = state.swaps.describe(&swap.terms)?;
    let [amount_in, amount_out, fee, net_out, extra_fee] = amounts(&shown, &swap.terms);
    Ok(success(&SwapDone {
        record_id: swap.record_id.clone(),
        order_id: swap.merchant_order_id.clone(),
        coin_id_in: shown.coin_in.numeric_id,
        coin_id_out: shown.coin_out.numeric_id,
        amount_out,
        amount_in,
        amount_out_minimum: minimum(shown.coin_out, &swap),
        swap_rate: shown.swap_rate,
        fee,
        fee_rate: shown.fee_rate,
        extra_fee,
        net_amount_out: net_out,
        to_coin_price: swap.terms.price_out.clone(),
        from_coin_price: swap.terms.price_in.clone(),
    })?)
}

pub async fn record(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    record_of(&state, &merchant, &body, Whose::Merchant).await
}

pub async fn user_record(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    record_of(&state, &merchant, &body, Whose::Users).await
}

async fn record_of(
    state: &AppState,
    merchant: &MerchantCredentials,
    body: &[u8],
    whose: Whose,
) -> V2Result {
    let request = SwapRecordRequest::from_fields(&fields(body)?)?;
    let swaps = &state.swaps;
    let app_id = &merchant.app_id;
    let (found, asked) = match &request {
        SwapRecordRequest::RecordId(record_id) => {
            (swaps.by_record_id(app_id, record_id).await?, record_id)
        }
        SwapRecordRequest::OrderId(order_id) => (
            swaps.by_merchant_order_id(app_id, order_id).await?,
            order_id,
        ),
        // Both given: they must name the one swap.
        SwapRecordRequest::Both {
            record_id,
            order_id,
        } => (
            swaps
                .by_record_id(app_id, record_id)
                .await?
                .filter(|found| found.merchant_order_id == *order_id),
            record_id,
        ),
    };
    let swap = found
        .filter(|swap| whose.owns(swap))
        .ok_or_else(|| Failure::swap_not_found(asked))?;
    Ok(success(&OneSwapRecord {
        record: swap_record(state, &swap)?,
    })?)
}

pub async fn record_list(state: AppState, SignedCall { merchant, body }: SignedCall) -> V2Result {
    record_list_of(&state, &merchant, &body, Whose::Merchant).await
}

pub async fn user_record_list(
    state: AppState,
    SignedCall { merchant, body }: SignedCall,
) -> V2Result {
    record_list_of(&state, &merchant, &body, Whose::Users).await
}

async fn record_list_of(
    state: &AppState,
    merchant: &MerchantCredentials,
    body: &[u8],
    whose: Whose,
) -> V2Result {
    let request = SwapRecordListRequest::from_fields(&fields(body)?)?;
    let owner = match whose {
        Whose::Merchant => SwapOwner::Merchant,
        Whose::Users => SwapOwner::Users(request.user_id.clone()),
    };
    let coin = |number: Option<u64>| {
        number
            .map(|number| coin_by_number(&state.registry, number).map(|coin| coin.id.clone()))
            .transpose()
    };
    if let (Some(start), Some(end)) = (request.start_at, request.end_at)
        && end.saturating_sub(start) > RANGE_SECS_MAX
    {
        return Err(Failure::QueryRangeTooLong {
            max_days: RANGE_SECS_MAX / 86_400,
        }
        .into());
    }
    let seconds = |value: Option<u64>, field: &'static str| {
        value
            .map(|value| {
                i64::try_from(value).map_err(|_| RequestError::FieldType {
                    field,
                    expected: "unix seconds",
                })
            })
            .transpose()
    };
    // The cursor is the last record of the page before; one that is not
    // this merchant's swap cannot have come from a list.
    let after = match &request.next_id {
        None => None,
        Some(next_id) => {
            let last = state
                .swaps
                .by_record_id(&merchant.app_id, next_id)
                .await?
                .filter(|last| whose.owns(last))
                .ok_or(RequestError::FieldType {
                    field: "nextId",
                    expected: "the nextId of the page before",
                })?;
            Some((last.created_at, last.record_id))
        }
    };
    let query = SwapQuery {
        record_ids: request.record_ids,
        merchant_order_ids: request.order_ids,
        coin_in: coin(request.coin_id_in)?,
        coin_out: coin(request.coin_id_out)?,
        created_from: seconds(request.start_at, "startAt")?,
        created_to: seconds(request.end_at, "endAt")?,
        after,
        // One more than a page tells whether another page follows.
        limit: PAGE_MAX + 1,
        owner,
    };
    let mut swaps = state.swaps.list(&merchant.app_id, &query).await?;
    let page = PAGE_MAX as usize;
    let next_id = if swaps.len() > page {
        swaps.truncate(page);
        swaps
            .last()
            .map(|last| last.record_id.clone())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let records = swaps
        .iter()
        .map(|swap| swap_record(state, swap))
        .collect::<Result<_, _>>()?;
    Ok(success(&SwapRecordList { records, next_id })?)
}

/// `amountIn`, `amountOut`, `fee`, `netAmountOut` and `extraFee` (the
/// merchant's markup, `"0"` on its own swaps) as decimal text.
fn amounts(shown: &Described<'_>, pricing: &SwapPricing) -> [String; 5] {
    let inward = |amount: Amount| amount.to_decimal_string(shown.coin_in.precision);
    let outward = |amount: Amount| amount.to_decimal_string(shown.coin_out.precision);
    [
        inward(pricing.amount_in),
        outward(pricing.amount_out),
        outward(pricing.fee),
        outward(shown.net_out),
        outward(pricing.extra_fee),
    ]
}

fn minimum(coin_out: &Coin, swap: &Swap) -> String {
    swap.amount_out_minimum
        .map(|minimum| minimum.to_decimal_string(coin_out.precision))
        .unwrap_or_default()
}

fn swap_record(state: &AppState, swap: &Swap) -> Result<SwapRecord, Failure> {
    let shown = state.swaps.describe(&swap.terms)?;
    let [amount_in, amount_out, fee, net_out, extra_fee] = amounts(&shown, &swap.terms);
    Ok(SwapRecord {
        record_id: swap.record_id.clone(),
        order_id: swap.merchant_order_id.clone(),
        coin_in_symbol: shown.coin_in.symbol.clone(),
        coin_id_in: shown.coin_in.numeric_id,
        coin_out_symbol: shown.coin_out.symbol.clone(),
        coin_id_out: shown.coin_out.numeric_id,
        amount_out,
        amount_in,
        amount_out_minimum: minimum(shown.coin_out, swap),
        net_amount_out: net_out,
        user_id: swap.user_id.clone().unwrap_or_default(),
        extra_fee,
        extra_fee_rate: shown.extra_fee_rate.clone(),
        swap_rate: shown.swap_rate,
        fee_rate: shown.fee_rate,
        fee,
        status: SUCCESS.to_owned(),
        created_at: swap.created_at,
        // Done the moment it commits.
        arrived_at: swap.created_at,
    })
}
