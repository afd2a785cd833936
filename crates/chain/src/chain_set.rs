//! The set of adapters the gateway runs with: one per configured chain, the
//! devnet's or an EVM node's.

use std::collections::BTreeMap;
use std::sync::Arc;

use ccgate_ledger::Registry;
use ccgate_store::DevnetStore;

use crate::adapter::{ChainAdapter, ChainError};
use crate::devnet::DevnetChain;
use crate::evm::{EvmChain, EvmNodeConfig, HotWallet};

/// The adapters by chain code, in registry order.
#[derive(Debug, Clone)]
pub struct ChainSet {
    adapters: Vec<Arc<dyn ChainAdapter>>,
    by_code: BTreeMap<String, usize>,
    /// The simulated ones, for the devnet's own operations (pay, mine).
    devnets: BTreeMap<String, Arc<DevnetChain>>,
    /// The ones behind a real node.
    evm: BTreeMap<String, Arc<EvmChain>>,
}

impl ChainSet {
    /// Every configured chain simulated by the devnet.
    pub fn simulated(registry: &Registry, devnet_store: Arc<dyn DevnetStore>) -> ChainSet {
        let devnets = registry
            .chains()
            .map(|chain| {
                let devnet = DevnetChain::new(chain.clone(), Arc::clone(&devnet_store));
                (chain.code.as_str().to_ascii_uppercase(), Arc::new(devnet))
            })
            .collect();
        ChainSet::assemble(registry, devnets, BTreeMap::new())
    }

    /// The chains with a node configured (`evm`, by chain code) follow that
    /// node, paying out from `hot_wallet` (`None` in processes that never
    /// pay out); every other one is simulated by the devnet.
    pub fn new(
        registry: &Registry,
        devnet_store: Arc<dyn DevnetStore>,
        evm: &BTreeMap<String, EvmNodeConfig>,
        hot_wallet: Option<HotWallet>,
    ) -> Result<ChainSet, ChainError> {
        let mut devnets = BTreeMap::new();
        let mut nodes = BTreeMap::new();
        for chain in registry.chains() {
            let code = chain.code.as_str().to_ascii_uppercase();
            match evm.get(&code) {
                Some(config) => {
                    let adapter =
                        EvmChain::new(chain.clone(), config.clone(), registry, hot_wallet.clone())?;
                    nodes.insert(code, Arc::new(adapter));
                }
                None => {
                    let devnet = DevnetChain::new(chain.clone(), Arc::clone(&devnet_store));
                    devnets.insert(code, Arc::new(devnet));
                }
            }
        }
        if let Some(code) = evm.keys().find(|code| registry.chain(code).is_none()) {
            return Err(ChainError::UnknownChain(code.clone()));
        }
        Ok(ChainSet::assemble(registry, devnets, nodes))
    }

    fn assemble(
        registry: &Registry,
        devnets: BTreeMap<String, Arc<DevnetChain>>,
        evm: BTreeMap<String, Arc<EvmChain>>,
    ) -> ChainSet {
        let adapters: Vec<Arc<dyn ChainAdapter>> = registry
            .chains()
            .filter_map(|chain| {
                let code = chain.code.as_str().to_ascii_uppercase();
                match (devnets.get(&code), evm.get(&code)) {
                    (_, Some(node)) => Some(Arc::clone(node) as Arc<dyn ChainAdapter>),
                    (Some(devnet), None) => Some(Arc::clone(devnet) as Arc<dyn ChainAdapter>),
                    (None, None) => None,
                }
            })
            .collect();
        let by_code = adapters
            .iter()
            .enumerate()
            .map(|(index, adapter)| (adapter.chain().code.as_str().to_ascii_uppercase(), index))
            .collect();
        ChainSet {
            adapters,
            by_code,
            devnets,
            evm,
        }
    }

    /// The chains behind a real EVM node.
    pub fn evm_chains(&self) -> impl Iterator<Item = &Arc<EvmChain>> {
        self.evm.values()
    }

    /// The simulated chain with this code, case-insensitively.
    pub fn devnet(&self, code: &str) -> Result<&Arc<DevnetChain>, ChainError> {
        self.devnets
            .get(&code.to_ascii_uppercase())
            .ok_or_else(|| ChainError::UnknownChain(code.chars().take(32).collect()))
    }

    /// The simulated chains, in chain-code order.
    pub fn devnets(&self) -> impl Iterator<Item = &Arc<DevnetChain>> {
        self.devnets.values()
    }

    pub fn adapters(&self) -> impl Iterator<Item = &Arc<dyn ChainAdapter>> {
        self.adapters.iter()
    }

    /// By chain code, case-insensitively.
    pub fn get(&self, code: &str) -> Result<&Arc<dyn ChainAdapter>, ChainError> {
        self.by_code
            .get(&code.to_ascii_uppercase())
            .and_then(|index| self.adapters.get(*index))
            .ok_or_else(|| ChainError::UnknownChain(code.chars().take(32).collect()))
    }
}
