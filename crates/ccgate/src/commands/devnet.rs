use std::sync::Arc;

use ccgate_chain::ChainSet;
use ccgate_engine::devnet::{self, PayRequest};
use ccgate_store::Store;
use serde_json::json;

use super::unix_now_ms;
use crate::config::Settings;
use crate::data_dir::DataDir;

async fn open(
    data_dir: &DataDir,
    settings: &Settings,
) -> anyhow::Result<(Arc<ccgate_store::SqliteStore>, ChainSet)> {
    let store = Arc::new(data_dir.open_store().await?);
    let chains = ChainSet::simulated(&settings.registry, store.clone(), store.clone());
    Ok((store, chains))
}

/// `ccgate devnet mine`: produce blocks on a simulated chain now.
pub async fn mine(
    data_dir: &DataDir,
    settings: &Settings,
    chain: &str,
    blocks: u64,
) -> anyhow::Result<()> {
    let (store, chains) = open(data_dir, settings).await?;
    let (code, height) = devnet::mine(&chains, chain, blocks, unix_now_ms()).await?;
    println!("{code} height {height}");
    store.close().await;
    Ok(())
}

/// `ccgate devnet pay`: a transfer in the next block of the token's chain.
pub async fn pay(
    data_dir: &DataDir,
    settings: &Settings,
    request: PayRequest,
    json: bool,
) -> anyhow::Result<()> {
    let (store, chains) = open(data_dir, settings).await?;
    let paid = devnet::pay(&settings.registry, &chains, request, unix_now_ms()).await?;
    let transfer = &paid.transfer;
    if json {
        println!(
            "{}",
            json!({"chain": transfer.chain, "txid": transfer.txid, "block_height": transfer.block_height,
                   "confirmations_required": paid.confirmations_required})
        );
    } else {
        println!(
            "{} {} {} to {} in block {} (txid {}); credited after {} confirmations",
            transfer.chain,
            paid.amount,
            paid.symbol,
            transfer.to_address,
            transfer.block_height,
            transfer.txid,
            paid.confirmations_required
        );
    }
    store.close().await;
    Ok(())
}

/// `ccgate devnet fail-next-withdrawal`.
pub async fn fail_next_withdrawal(
    data_dir: &DataDir,
    settings: &Settings,
    chain: &str,
    count: u32,
) -> anyhow::Result<()> {
    let (store, chains) = open(data_dir, settings).await?;
    let code = ccgate_chain::ChainAdapter::chain(chains.devnet(chain)?.as_ref())
        .code
        .to_string();
    store.devnet_fail_next_sends(&code, count).await?;
    println!("The next {count} withdrawal(s) sent on {code} will fail.");
    store.close().await;
    Ok(())
}
