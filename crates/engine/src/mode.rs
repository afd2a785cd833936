//! Which kind of money a deployment moves (docs/decisions.md §1). Decided
//! once from the configuration; every door (API, hosted page, admin API,
//! CLI) reads it from here instead of guessing from which chains exist.

use std::collections::BTreeSet;

use ccgate_ledger::Registry;
use ccgate_store::CreditedDeposits;

/// Live or simulated money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Devnet chains and the sandbox: nothing here is worth anything.
    Simulated,
    /// At least one chain follows a real node (or the operator said so).
    Live {
        /// The operator's explicit opt-in: chains without a node stay as
        /// devnets, their tokens belonging to separate devnet coins.
        devnet_beside_live: bool,
    },
}

impl Mode {
    pub fn is_live(self) -> bool {
        matches!(self, Mode::Live { .. })
    }

    /// As `/healthz` and the start-up lines spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Simulated => "simulated",
            Mode::Live { .. } => "live",
        }
    }
}

/// The credited deposits that made simulated money spendable as real money:
/// credited on a chain no node follows (`live_chains` are those that one
/// does), in a coin that has a network on a live chain. A live gateway
/// refuses a database that holds any (docs/decisions.md §1).
pub fn simulated_credits_in_live_coins<'a>(
    registry: &Registry,
    live_chains: &BTreeSet<String>,
    credited: &'a [CreditedDeposits],
) -> Vec<&'a CreditedDeposits> {
    let has_live_network = |coin_id: &str| {
        registry.resolve_coin(coin_id).is_some_and(|coin| {
            coin.tokens
                .iter()
                .any(|token| live_chains.contains(token.chain.as_str()))
        })
    };
    credited
        .iter()
        .filter(|credit| !live_chains.contains(&credit.chain) && has_live_network(&credit.coin_id))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn credited(chain: &str, coin_id: &str) -> CreditedDeposits {
        CreditedDeposits {
            chain: chain.to_owned(),
            coin_id: coin_id.to_owned(),
            count: 3,
        }
    }

    #[test]
    fn devnet_credits_of_a_coin_with_a_live_network_are_found() {
        let registry = Registry::builtin();
        let usdt = registry
            .coin_by_symbol("USDT")
            .unwrap()
            .id
            .as_str()
            .to_owned();
        let btc = registry
            .coin_by_symbol("BTC")
            .unwrap()
            .id
            .as_str()
            .to_owned();
        let live: BTreeSet<String> = ["ETH".to_owned()].into();
        let history = [
            credited("ETH", &usdt),
            credited("TRX", &usdt),
            credited("BTC", &btc),
        ];
        let found = simulated_credits_in_live_coins(&registry, &live, &history);
        // TRX's USDT sits in the balance ETH pays out; BTC has no live network.
        assert_eq!(found, vec![&history[1]]);
        assert!(simulated_credits_in_live_coins(&registry, &BTreeSet::new(), &history).is_empty());
    }
}
