use ccgate_chain::HotWallet;
use ccgate_chain::keys::evm_hot_wallet_key;
use ccgate_engine::addresses::load_deposit_seed;
use serde_json::json;

use crate::backend::Database;

/// `ccgate evm hot-wallet`: where payouts come from, for the operator to fund.
pub async fn hot_wallet(database: &Database, json: bool) -> anyhow::Result<()> {
    let seed = load_deposit_seed(database.deposits().as_ref()).await?;
    let wallet = HotWallet::new(&evm_hot_wallet_key(&seed)?, database.payouts())?;
    if json {
        println!("{}", json!({"address": wallet.address()}));
    } else {
        println!("EVM hot wallet: {}", wallet.address());
    }
    Ok(())
}
