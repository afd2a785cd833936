use std::sync::Arc;

use anyhow::Context;
use ccgate_chain::DevnetChain;

use crate::config::Settings;
use crate::data_dir::DataDir;

/// `ccgate devnet mine`: produce blocks on a simulated chain now.
pub async fn mine(
    data_dir: &DataDir,
    settings: &Settings,
    chain: &str,
    blocks: u64,
) -> anyhow::Result<()> {
    let registry = &settings.registry;
    let chain = registry.chain(chain).with_context(|| {
        let known: Vec<&str> = registry.chains().map(|c| c.code.as_str()).collect();
        format!(
            "chain {chain:?} is not configured; known: {}",
            known.join(", ")
        )
    })?;
    let store = Arc::new(data_dir.open_store().await?);
    let devnet = DevnetChain::new(chain.clone(), store.clone());
    let height = devnet.mine(blocks, super::unix_now_ms()).await?;
    println!("{} height {height}", chain.code);
    store.close().await;
    Ok(())
}
