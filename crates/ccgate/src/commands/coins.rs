use std::process::ExitCode;

use ccgate_ledger::Coin;
use clap::Subcommand;
use serde_json::json;

use super::Globals;
use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum CoinsCommand {
    /// Coins with their networks, fees and prices; chains; fiat rates.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// Needs the configuration only: no data directory, no database.
pub fn run(globals: Globals, command: CoinsCommand) -> anyhow::Result<ExitCode> {
    let settings = globals.settings()?;
    match command {
        CoinsCommand::List { json } => list(&settings, json),
    }
    Ok(ExitCode::SUCCESS)
}

/// `ccgate coins list`: the effective registry, after the configuration.
fn list(settings: &Settings, json: bool) {
    let live = settings.price_feed.is_some();
    let price = |coin: &Coin| match (live, settings.prices.price(&coin.id)) {
        (true, _) => "live".to_owned(),
        (false, Some(price)) => price.to_string(),
        (false, None) => "-".to_owned(),
    };
    let registry = &settings.registry;
    if json {
        let chains: Vec<_> = registry
            .chains()
            .map(|c| {
                json!({"code": c.code.as_str(), "name": c.name, "family": c.family.as_str(),
                       "confirmations": c.confirmations_required, "block_time_ms": c.block_time_ms})
            })
            .collect();
        let coins: Vec<_> = registry
            .coins()
            .map(|coin| {
                let tokens: Vec<_> = coin
                    .tokens
                    .iter()
                    .map(|t| {
                        json!({"token_id": t.id.as_str(), "chain": t.chain.as_str(), "network": t.network,
                               "contract": t.contract, "precision": t.precision.get(), "status": t.status.code(),
                               "fee": t.network_fee.to_decimal_string(coin.precision)})
                    })
                    .collect();
                json!({"coin_id": coin.id.as_str(), "symbol": coin.symbol, "name": coin.name,
                       "precision": coin.precision.get(), "min": coin.min.to_decimal_string(coin.precision),
                       "status": coin.status.code(), "price": price(coin), "tokens": tokens})
            })
            .collect();
        let fiat: serde_json::Map<String, serde_json::Value> = settings
            .fiat_rates
            .iter()
            .map(|(code, rate)| (code.clone(), json!(rate.to_string())))
            .collect();
        println!(
            "{}",
            json!({"chains": chains, "coins": coins, "fiat": fiat})
        );
        return;
    }
    println!(
        "{:<8} {:<38} {:>4} {:>12}  NETWORKS (chain/network: fee)",
        "COIN", "COIN_ID", "PREC", "USD"
    );
    for coin in registry.coins() {
        let networks: Vec<String> = coin
            .tokens
            .iter()
            .map(|t| {
                format!(
                    "{}/{}: {}",
                    t.chain,
                    t.network,
                    t.network_fee.to_decimal_string(coin.precision)
                )
            })
            .collect();
        println!(
            "{:<8} {:<38} {:>4} {:>12}  {}",
            coin.symbol,
            coin.id.as_str(),
            coin.precision.get(),
            price(coin),
            networks.join(", ")
        );
    }
    println!(
        "\n{:<8} {:<16} {:<8} {:>6} {:>14}",
        "CHAIN", "NAME", "FAMILY", "CONF", "BLOCK_TIME_MS"
    );
    for chain in registry.chains() {
        println!(
            "{:<8} {:<16} {:<8} {:>6} {:>14}",
            chain.code.as_str(),
            chain.name,
            chain.family.as_str(),
            chain.confirmations_required,
            chain.block_time_ms
        );
    }
    let fiat: Vec<String> = settings
        .fiat_rates
        .iter()
        .map(|(c, r)| format!("{c} {r}"))
        .collect();
    println!("\nFiat per USD: {}", fiat.join(", "));
}
