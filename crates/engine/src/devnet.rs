//! Driving the simulated chains, for the CLI and the admin listener alike,
//! and the database that keeps their state (`DatabaseDevnet`).

use ccgate_chain::address::{bitcoin_p2wpkh_address, to_checksum_address, tron_address};
use std::sync::Arc;

use async_trait::async_trait;
use ccgate_chain::{ChainSet, DevnetPayment, DevnetState, DevnetStateError};
use ccgate_ledger::{
    Amount, ChainFamily, ChainTransfer, CoinId, DevnetChainState, Registry, TokenId,
};
use ccgate_store::DevnetStore;

use crate::{EngineError, Rejection};

/// A payment to put on a devnet chain, as typed by a person or a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRequest {
    pub to: String,
    /// A token id, or the coin id of a single-network coin.
    pub token_id: String,
    /// A decimal amount of the token.
    pub amount: String,
    pub from: Option<String>,
    pub memo: Option<String>,
}

/// What was paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    pub transfer: ChainTransfer,
    pub symbol: String,
    /// The amount as a decimal, at the coin's precision.
    pub amount: String,
    pub confirmations_required: u64,
}

/// Puts the transfer in the next block of the token's chain.
pub async fn pay(
    registry: &Registry,
    chains: &ChainSet,
    request: PayRequest,
    now_unix_ms: i64,
) -> Result<Paid, EngineError> {
    let (coin, token) = registry
        .token(&TokenId::new(request.token_id.as_str()))
        .or_else(|| {
            let coin = registry.coin(&CoinId::new(request.token_id.as_str()))?;
            match coin.tokens.as_slice() {
                [only] => Some((coin, only)),
                _ => None,
            }
        })
        .ok_or_else(|| Rejection::TokenNotFound(request.token_id.chars().take(64).collect()))?;
    let chain = registry
        .chain(token.chain.as_str())
        .ok_or_else(|| Rejection::UnknownChain(token.chain.to_string()))?;
    // Checked at the network's precision (what a wallet could send), kept at the coin's.
    let invalid = || {
        EngineError::from(Rejection::AmountInvalid(format!(
            "amount must be a positive decimal with at most {} decimal places for {} on {}",
            token.precision.get(),
            coin.symbol,
            chain.code
        )))
    };
    let on_network =
        Amount::parse_decimal(&request.amount, token.precision).map_err(|_| invalid())?;
    if on_network.is_zero() {
        return Err(invalid());
    }
    let amount = on_network.rescale(token.precision, coin.precision)?;
    let transfer = chains
        .devnet(chain.code.as_str())?
        .pay(
            DevnetPayment {
                to_address: request.to,
                from_address: request.from.unwrap_or_else(|| zero_address(chain.family)),
                memo: request.memo.unwrap_or_default(),
                token_id: token.id.clone(),
                amount,
            },
            now_unix_ms,
        )
        .await?;
    Ok(Paid {
        transfer,
        symbol: coin.symbol.clone(),
        amount: amount.to_decimal_string(coin.precision),
        confirmations_required: chain.confirmations_required,
    })
}

/// Produces `blocks` blocks now; returns the chain's code and new height.
pub async fn mine(
    chains: &ChainSet,
    chain: &str,
    blocks: u64,
    now_unix_ms: i64,
) -> Result<(String, u64), EngineError> {
    let devnet = chains.devnet(chain)?;
    let height = devnet.mine(blocks, now_unix_ms).await?;
    Ok((
        ccgate_chain::ChainAdapter::chain(devnet.as_ref())
            .code
            .to_string(),
        height,
    ))
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

/// The devnet's state kept in the gateway's database (`DevnetStore`), so
/// every process on the database (the server, `ccgate devnet mine`) sees
/// the same chains.
#[derive(Debug, Clone)]
pub struct DatabaseDevnet {
    store: Arc<dyn DevnetStore>,
}

impl DatabaseDevnet {
    pub fn new(store: Arc<dyn DevnetStore>) -> Arc<DatabaseDevnet> {
        Arc::new(DatabaseDevnet { store })
    }
}

#[async_trait]
impl DevnetState for DatabaseDevnet {
    async fn chain_state(
        &self,
        chain: &str,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, DevnetStateError> {
        Ok(self.store.devnet_chain(chain, now_unix_ms).await?)
    }

    async fn mine(
        &self,
        chain: &str,
        blocks: u64,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, DevnetStateError> {
        Ok(self.store.devnet_mine(chain, blocks, now_unix_ms).await?)
    }

    async fn add_transfer(&self, transfer: &ChainTransfer) -> Result<(), DevnetStateError> {
        Ok(self.store.devnet_add_transfer(transfer).await?)
    }

    async fn transfer(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<ChainTransfer>, DevnetStateError> {
        Ok(self.store.devnet_transfer(chain, txid).await?)
    }

    async fn transfers(
        &self,
        chain: &str,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, DevnetStateError> {
        Ok(self
            .store
            .devnet_transfers(chain, from_height, to_height)
            .await?)
    }

    async fn take_send_failure(&self, chain: &str) -> Result<bool, DevnetStateError> {
        Ok(self.store.devnet_take_send_failure(chain).await?)
    }
}
