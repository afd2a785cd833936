//! Coins, prices, fiat currencies, chains and Cwallet users (v2 spec §2.1,
//! §2.7), from the same registry and price source as v1's `coin/all`.

use std::collections::BTreeMap;

use ccgate_api::v2::coins::{
    AddressRequest, AddressValidity, AllChainEntity, AllChainList, ChainEntity, ChainList,
    ChainsRequest, CoinEntity, CoinList, CoinRequest, CwalletUser, CwalletUserRequest, Fiat,
    FiatList, MainCoin, MainCoinList, NetworkEntity, OneCoin, Prices, PricesRequest,
};
use ccgate_api::v2::fields;
use ccgate_ledger::{
    AssetStatus, Chain, ChainFamily, Coin, CoinId, Registry, Token, fiat_numeric_id,
};

use super::{V2Failure, V2Result};
use crate::AppState;
use crate::auth::SignedCall;
use crate::failure::Failure;
use crate::routes::success;

/// A coin's status in v2's words: maintenance suspends withdrawals
/// (`Maintain`), delisting suspends deposits first (`Pre-delisting`).
fn coin_status(status: AssetStatus) -> &'static str {
    match status {
        AssetStatus::Normal => "Normal",
        AssetStatus::Maintenance => "Maintain",
        AssetStatus::Delisting => "Pre-delisting",
    }
}

/// A coin by its v2 id, or v2's `InvalidCoin`.
pub(super) fn coin_by_number(registry: &Registry, coin_id: u64) -> Result<&Coin, Failure> {
    registry
        .coin_by_numeric_id(coin_id)
        .ok_or_else(|| Failure::coin_not_found(&coin_id.to_string()))
}

/// A record list's optional `coinId` filter, as the store names the coin.
pub(super) fn coin_filter(
    registry: &Registry,
    coin_id: Option<u64>,
) -> Result<Option<CoinId>, Failure> {
    coin_id
        .map(|number| coin_by_number(registry, number).map(|coin| coin.id.clone()))
        .transpose()
}

/// A record list's optional `chain` filter, as the store names the chain.
pub(super) fn chain_filter(
    registry: &Registry,
    chain: Option<&str>,
) -> Result<Option<String>, Failure> {
    chain
        .map(|symbol| chain_by_symbol(registry, symbol).map(|chain| chain.code.to_string()))
        .transpose()
}

/// A chain by its symbol (any letter case), or v2's `InvalidChain`.
pub(super) fn chain_by_symbol<'r>(
    registry: &'r Registry,
    symbol: &str,
) -> Result<&'r Chain, Failure> {
    registry
        .chain(symbol)
        .ok_or_else(|| Failure::chain_not_supported(symbol))
}

/// A coin's network on `chain` (any letter case), or v2's `InvalidChain`
/// naming the coin.
pub(super) fn token_on_chain<'c>(coin: &'c Coin, chain: &str) -> Result<&'c Token, Failure> {
    coin.tokens
        .iter()
        .find(|token| token.chain.as_str().eq_ignore_ascii_case(chain))
        .ok_or_else(|| Failure::coin_not_on_chain(&coin.symbol, chain))
}

fn coin_entity(state: &AppState, coin: &Coin, now_unix_ms: i64) -> Result<CoinEntity, Failure> {
    let networks = coin
        .tokens
        .iter()
        .map(|token| {
            let chain = state.registry.chain(token.chain.as_str());
            let status = token.status.max(coin.status);
            let entity = NetworkEntity {
                chain: token.chain.to_string(),
                chain_full_name: chain.map(|c| c.name.clone()).unwrap_or_default(),
                contract: token.contract.clone(),
                precision: token.precision.get(),
                can_deposit: status == AssetStatus::Normal,
                can_withdraw: status != AssetStatus::Maintenance,
                // Every confirmed deposit is credited, however small.
                minimum_deposit_amount: "0".to_owned(),
                minimum_withdraw_amount: coin.min.to_decimal_string(coin.precision),
                maximum_withdraw_amount: "0".to_owned(),
                is_support_memo: token.memo_supported,
                protocol: token.network.clone(),
            };
            (token.chain.to_string(), entity)
        })
        .collect();
    Ok(CoinEntity {
        coin_id: coin.numeric_id,
        symbol: coin.symbol.clone(),
        coin_full_name: coin.name.clone(),
        logo_url: coin.logo.clone(),
        status: coin_status(coin.status).to_owned(),
        networks,
        price: state.prices.coin_price(&coin.id, now_unix_ms)?.to_string(),
    })
}

pub async fn coin_list(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    fields(&body)?;
    let now = state.clock.now_unix_ms();
    let coins = state
        .registry
        .coins()
        .map(|coin| coin_entity(&state, coin, now))
        .collect::<Result<_, _>>()?;
    Ok(success(&CoinList { coins })?)
}

pub async fn coin(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    let request = CoinRequest::from_fields(&fields(&body)?)?;
    let coin = coin_by_number(&state.registry, request.coin_id)?;
    let coin = coin_entity(&state, coin, state.clock.now_unix_ms())?;
    Ok(success(&OneCoin { coin })?)
}

/// USD prices stand for USDT prices. A coin id the gateway does not know is
/// priced `"0"`, as CCPayment answers for test coins (v2 spec §2.1.3).
pub async fn usdt_prices(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    let request = PricesRequest::from_fields(&fields(&body)?)?;
    let now = state.clock.now_unix_ms();
    let mut prices = BTreeMap::new();
    for coin_id in request.coin_ids {
        let price = match state.registry.coin_by_numeric_id(coin_id) {
            Some(coin) => state.prices.coin_price(&coin.id, now)?.to_string(),
            None => "0".to_owned(),
        };
        prices.insert(coin_id.to_string(), price);
    }
    Ok(success(&Prices { prices })?)
}

pub async fn fiat_list(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    fields(&body)?;
    let fiats = state
        .orders
        .fiat_rates()
        .iter()
        .filter_map(|(code, rate)| {
            Some(Fiat {
                fiat_id: fiat_numeric_id(code)?,
                symbol: code.clone(),
                logo_url: format!("https://resource.cwallet.com/fiat/{code}.png"),
                mark: code.chars().take(2).collect(),
                usd_rate: rate.to_string(),
            })
        })
        .collect();
    Ok(success(&FiatList { fiats })?)
}

/// The explorer's home (`https://etherscan.io/`) and its transaction URL
/// with `%s` for the txid, from the registry's `{txid}` template.
fn explorer(chain: &Chain) -> (String, String) {
    let Some(template) = chain.explorer_tx_url.as_deref() else {
        return (String::new(), String::new());
    };
    let home = template
        .find("://")
        .and_then(|scheme_end| {
            let host_start = scheme_end + "://".len();
            let host_len = template[host_start..].find('/')?;
            Some(format!("{}/", &template[..host_start + host_len]))
        })
        .unwrap_or_default();
    (home, template.replace("{txid}", "%s"))
}

fn chain_supports_memo(registry: &Registry, chain: &Chain) -> bool {
    registry
        .coins()
        .flat_map(|coin| &coin.tokens)
        .any(|token| token.chain == chain.code && token.memo_supported)
}

/// The chains a `chains` filter asks for (all when empty), as
/// `getChainList` lists them.
fn wanted_chains(state: &AppState, body: &[u8]) -> Result<Vec<ChainEntity>, V2Failure> {
    let request = ChainsRequest::from_fields(&fields(body)?)?;
    Ok(state
        .registry
        .chains()
        .filter(|chain| request.wants(chain.code.as_str()))
        .map(|chain| {
            let (explorer, base_url) = explorer(chain);
            ChainEntity {
                chain: chain.code.to_string(),
                chain_full_name: chain.name.clone(),
                explorer,
                logo_url: chain.logo.clone(),
                status: "Normal".to_owned(),
                confirmations: chain.confirmations_required,
                base_url,
                is_evm: chain.family == ChainFamily::Evm,
                support_memo: chain_supports_memo(&state.registry, chain),
            }
        })
        .collect())
}

pub async fn chain_list(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    let chains = wanted_chains(&state, &body)?;
    Ok(success(&ChainList { chains })?)
}

/// `getChainList`'s rows in the shape of CCPayment's internal list.
pub async fn all_chains(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    let chains = wanted_chains(&state, &body)?
        .into_iter()
        .map(AllChainEntity::from)
        .collect();
    Ok(success(&AllChainList { chains })?)
}

/// One row per coin and network. The `appId` field CCPayment's proto asks
/// for is this merchant's anyway, so it is not required.
pub async fn main_coin_list(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    fields(&body)?;
    let coin_chain_list = state
        .registry
        .coins()
        .flat_map(|coin| {
            coin.tokens.iter().map(move |token| MainCoin {
                coin_id: coin.numeric_id,
                symbol: coin.symbol.clone(),
                logo_url: coin.logo.clone(),
                status: coin_status(token.status.max(coin.status)).to_owned(),
                chain: token.chain.to_string(),
                network: token.network.clone(),
                chains: vec![token.chain.to_string()],
            })
        })
        .collect();
    Ok(success(&MainCoinList { coin_chain_list })?)
}

pub async fn address_validity(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    let request = AddressRequest::from_fields(&fields(&body)?)?;
    let chain = chain_by_symbol(&state.registry, &request.chain)?;
    let addr_is_valid =
        ccgate_chain::validate_address(chain.family, request.address.trim()).is_ok();
    Ok(success(&AddressValidity { addr_is_valid })?)
}

pub async fn cwallet_user(state: AppState, SignedCall { body, .. }: SignedCall) -> V2Result {
    let request = CwalletUserRequest::from_fields(&fields(&body)?)?;
    let account = state
        .merchants
        .cwallet(request.cwallet_user_id.trim())
        .await?
        .ok_or(Failure::UserNotFound)?;
    Ok(success(&CwalletUser {
        cwallet_user_id: account.c_id,
        cwallet_user_name: account.nickname,
    })?)
}
