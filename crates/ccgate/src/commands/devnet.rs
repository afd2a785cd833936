use std::sync::Arc;

use anyhow::{Context, bail};
use ccgate_chain::address::{bitcoin_p2wpkh_address, to_checksum_address, tron_address};
use ccgate_chain::{DevnetChain, DevnetPayment};
use ccgate_ledger::{Amount, Chain, ChainFamily, TokenId};
use serde_json::json;

use super::unix_now_ms;
use crate::config::Settings;
use crate::data_dir::DataDir;

fn devnet_chain(chain: &Chain, store: Arc<ccgate_store::SqliteStore>) -> DevnetChain {
    DevnetChain::new(chain.clone(), store.clone(), store)
}

fn find_chain<'s>(settings: &'s Settings, code: &str) -> anyhow::Result<&'s Chain> {
    let registry = &settings.registry;
    registry.chain(code).with_context(|| {
        let known: Vec<&str> = registry.chains().map(|c| c.code.as_str()).collect();
        format!(
            "chain {code:?} is not configured; known: {}",
            known.join(", ")
        )
    })
}

/// `ccgate devnet mine`: produce blocks on a simulated chain now.
pub async fn mine(
    data_dir: &DataDir,
    settings: &Settings,
    chain: &str,
    blocks: u64,
) -> anyhow::Result<()> {
    let chain = find_chain(settings, chain)?;
    let store = Arc::new(data_dir.open_store().await?);
    let height = devnet_chain(chain, store.clone())
        .mine(blocks, unix_now_ms())
        .await?;
    println!("{} height {height}", chain.code.as_str());
    store.close().await;
    Ok(())
}

/// What `ccgate devnet pay` is asked to send.
#[derive(Debug)]
pub struct PayRequest {
    pub to: String,
    pub token_id: String,
    pub amount: String,
    pub from: Option<String>,
    pub memo: Option<String>,
    pub json: bool,
}

/// `ccgate devnet pay`: a transfer in the next block of the token's chain.
pub async fn pay(
    data_dir: &DataDir,
    settings: &Settings,
    request: PayRequest,
) -> anyhow::Result<()> {
    let registry = &settings.registry;
    let (coin, token) = registry
        .token(&TokenId::new(request.token_id.as_str()))
        .or_else(|| {
            let coin = registry.coin(&ccgate_ledger::CoinId::new(request.token_id.as_str()))?;
            match coin.tokens.as_slice() {
                [only] => Some((coin, only)),
                _ => None,
            }
        })
        .with_context(|| {
            format!(
                "no token {:?} (pass a token id from `ccgate coins list`)",
                request.token_id
            )
        })?;
    let chain = find_chain(settings, token.chain.as_str())?;
    // Checked at the network's precision (what a wallet could send), kept at the coin's.
    Amount::parse_decimal(&request.amount, token.precision).with_context(|| {
        format!(
            "read --amount {:?} for {} on {}",
            request.amount, coin.symbol, chain.code
        )
    })?;
    let amount = Amount::parse_decimal(&request.amount, coin.precision)?;
    if amount.is_zero() {
        bail!("--amount must be greater than 0");
    }
    let from = request.from.unwrap_or_else(|| zero_address(chain.family));
    let store = Arc::new(data_dir.open_store().await?);
    let transfer = devnet_chain(chain, store.clone())
        .pay(
            DevnetPayment {
                to_address: request.to,
                from_address: from,
                memo: request.memo.unwrap_or_default(),
                token_id: token.id.clone(),
                amount,
            },
            unix_now_ms(),
        )
        .await?;
    if request.json {
        println!(
            "{}",
            json!({"chain": transfer.chain, "txid": transfer.txid, "block_height": transfer.block_height,
                   "confirmations_required": chain.confirmations_required})
        );
    } else {
        println!(
            "{} {} {} to {} in block {} (txid {}); credited after {} confirmations",
            chain.code.as_str(),
            amount.to_decimal_string(coin.precision),
            coin.symbol,
            transfer.to_address,
            transfer.block_height,
            transfer.txid,
            chain.confirmations_required
        );
    }
    store.close().await;
    Ok(())
}

/// The sender when none is given: the family's all-zero address.
fn zero_address(family: ChainFamily) -> String {
    let zero = [0u8; 20];
    match family {
        ChainFamily::Evm => to_checksum_address(&zero),
        ChainFamily::Tron => tron_address(&zero),
        ChainFamily::Bitcoin => bitcoin_p2wpkh_address(&zero),
    }
}
