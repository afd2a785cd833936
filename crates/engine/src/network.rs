//! The chains as the API and the operator see them: their heights, which
//! ones follow a node, the devnets the operator may drive, and the figures
//! an operator scrapes (outbox, journal, how far each chain's scan lags).

use std::sync::Arc;

use ccgate_chain::ChainSet;
use ccgate_ledger::{Amount, Chain, Coin, Registry, TokenId};
use ccgate_store::{CreditStore, OutboxStore, Store, WebhookCounts};

use crate::EngineError;
use crate::devnet::{self, Paid, PayRequest};

#[derive(Debug)]
pub struct Network {
    registry: Arc<Registry>,
    chains: Arc<ChainSet>,
    store: Arc<dyn Store>,
    /// How far each chain's deposits were scanned.
    credits: Arc<dyn CreditStore>,
    outbox: Arc<dyn OutboxStore>,
}

/// One chain's head now.
#[derive(Debug, Clone)]
pub struct ChainHead<'a> {
    pub chain: &'a Chain,
    pub height: u64,
}

/// One chain's figures for `/metrics`; what could not be read is the error
/// that kept it, for the log.
#[derive(Debug)]
pub struct ChainFigures {
    pub chain: String,
    pub height: Result<u64, EngineError>,
    /// Confirmed blocks not scanned yet (when the height was read).
    pub scan_lag: Option<Result<u64, EngineError>>,
}

/// What the EVM hot wallet holds on one chain, per token.
#[derive(Debug, Clone)]
pub struct HotWalletHoldings {
    pub address: String,
    pub holdings: Vec<(TokenId, Amount)>,
}

/// What `/metrics` reports beside the server's own counters.
#[derive(Debug)]
pub struct Figures {
    pub webhooks: Result<WebhookCounts, EngineError>,
    pub journal_entries: Result<u64, EngineError>,
    pub chains: Vec<ChainFigures>,
}

impl Network {
    pub fn new(
        registry: Arc<Registry>,
        chains: Arc<ChainSet>,
        store: Arc<dyn Store>,
        credits: Arc<dyn CreditStore>,
        outbox: Arc<dyn OutboxStore>,
    ) -> Network {
        Network {
            registry,
            chains,
            store,
            credits,
            outbox,
        }
    }

    /// Every configured chain's head now, in the chain set's order.
    pub async fn heads(&self, now_unix_ms: i64) -> Result<Vec<ChainHead<'_>>, EngineError> {
        let mut heads = Vec::new();
        for adapter in self.chains.adapters() {
            heads.push(ChainHead {
                chain: adapter.chain(),
                height: adapter.height(now_unix_ms).await?,
            });
        }
        Ok(heads)
    }

    /// The head of `chain` now.
    pub async fn height(&self, chain: &Chain, now_unix_ms: i64) -> Result<u64, EngineError> {
        Ok(self
            .chains
            .get(chain.code.as_str())?
            .height(now_unix_ms)
            .await?)
    }

    /// Whether `chain` is a real one, whose transactions an explorer shows
    /// (not a devnet).
    pub fn on_explorer(&self, chain: &Chain) -> bool {
        self.chains.devnet(chain.code.as_str()).is_err()
    }

    /// The chains that follow a node, by code.
    pub fn live_chains(&self) -> Vec<&str> {
        self.chains
            .evm_chains()
            .map(|chain| {
                ccgate_chain::ChainAdapter::chain(chain.as_ref())
                    .code
                    .as_str()
            })
            .collect()
    }

    /// The native coin (gas) of `chain`, when it follows a node.
    pub fn native_coin(&self, chain: &str) -> Option<&Coin> {
        let node = self.chains.evm_chains().find(|node| {
            ccgate_chain::ChainAdapter::chain(node.as_ref())
                .code
                .as_str()
                == chain
        })?;
        let token = node.native_token()?;
        self.registry.token(&token.id).map(|(coin, _)| coin)
    }

    /// Whether any devnet runs here (a live gateway has none).
    pub fn has_devnets(&self) -> bool {
        self.chains.devnets().next().is_some()
    }

    /// Puts a payment in the next block of a devnet.
    pub async fn devnet_pay(
        &self,
        request: PayRequest,
        now_unix_ms: i64,
    ) -> Result<Paid, EngineError> {
        devnet::pay(&self.registry, &self.chains, request, now_unix_ms).await
    }

    /// Mines `blocks` empty blocks on a devnet: its code and new height.
    pub async fn devnet_mine(
        &self,
        chain: &str,
        blocks: u64,
        now_unix_ms: i64,
    ) -> Result<(String, u64), EngineError> {
        devnet::mine(&self.chains, chain, blocks, now_unix_ms).await
    }

    /// What the EVM hot wallet holds on each chain that follows a node
    /// (devnets have none): the chain's code, and its address and holdings
    /// or why they could not be read.
    pub async fn hot_wallets(&self) -> Vec<(String, Result<HotWalletHoldings, EngineError>)> {
        let mut found = Vec::new();
        for chain in self.chains.evm_chains() {
            let code = ccgate_chain::ChainAdapter::chain(chain.as_ref())
                .code
                .to_string();
            let holdings = match chain.hot_wallet() {
                Err(err) => Err(err.into()),
                Ok(wallet) => {
                    let address = wallet.address();
                    match chain.holdings(&address).await {
                        Ok(holdings) => Ok(HotWalletHoldings { address, holdings }),
                        Err(err) => Err(err.into()),
                    }
                }
            };
            found.push((code, holdings));
        }
        found
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), EngineError> {
        Ok(self.store.ping().await?)
    }

    /// The figures `/metrics` reports; each read on its own, so one that
    /// fails leaves the others.
    pub async fn figures(&self, now_unix_ms: i64) -> Figures {
        let webhooks = self
            .outbox
            .webhook_counts()
            .await
            .map_err(EngineError::from);
        let journal_entries = self.store.journal_len().await.map_err(EngineError::from);
        let mut chains = Vec::new();
        for adapter in self.chains.adapters() {
            let chain = adapter.chain();
            let height = adapter.height(now_unix_ms).await.map_err(EngineError::from);
            let scan_lag = match &height {
                Err(_) => None,
                Ok(height) => {
                    let confirmed = chain.confirmed_height(*height);
                    Some(
                        self.credits
                            .chain_cursor(chain.code.as_str())
                            .await
                            .map_err(EngineError::from)
                            .map(|credited| match (confirmed, credited) {
                                (None, _) => 0,
                                (Some(confirmed), None) => confirmed.saturating_add(1),
                                (Some(confirmed), Some(credited)) => {
                                    confirmed.saturating_sub(credited)
                                }
                            }),
                    )
                }
            };
            chains.push(ChainFigures {
                chain: chain.code.to_string(),
                height,
                scan_lag,
            });
        }
        Figures {
            webhooks,
            journal_entries,
            chains,
        }
    }
}
