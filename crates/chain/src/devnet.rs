//! The simulated chain ("devnet"): one per configured chain code. Its height
//! is derived from when it started, its block time and the blocks mined on
//! demand, all kept in the database, so heights survive restarts and several
//! processes (the server, `ccgate devnet mine`) agree on them without a
//! background writer.

use std::sync::Arc;

use async_trait::async_trait;
use ccgate_ledger::{Amount, Chain, ChainFamily, ChainTransfer, DevnetChainState, Token, TokenId};
use sha2::{Digest, Sha256};

use crate::adapter::{ChainAdapter, ChainError, DevnetStateError, PayoutState, Sent};
use crate::address::validate_address;

/// The height of a devnet chain at its start.
pub const GENESIS_HEIGHT: u64 = 1;
/// The sender of the gateway's payouts on the devnet.
const HOT_WALLET: &str = "devnet-hot-wallet";
/// The most blocks one `mine` call may add.
pub const MINE_BLOCKS_MAX: u64 = 1_000_000;

/// The devnet's "node": where its simulated chains keep their clocks and
/// their blocks' transfers. The chain crate owns no persistence, so whoever
/// wires the gateway hands one in (`engine::devnet::DatabaseDevnet` keeps it
/// in the gateway's database, so every process sees the same chain).
#[async_trait]
pub trait DevnetState: Send + Sync + std::fmt::Debug {
    /// The chain's state, created with `now_unix_ms` as its genesis when the
    /// chain has none yet.
    async fn chain_state(
        &self,
        chain: &str,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, DevnetStateError>;
    /// Adds `blocks` mined on demand; the new state.
    async fn mine(
        &self,
        chain: &str,
        blocks: u64,
        now_unix_ms: i64,
    ) -> Result<DevnetChainState, DevnetStateError>;
    /// Puts a transfer on the chain; refused when its txid is there already.
    async fn add_transfer(&self, transfer: &ChainTransfer) -> Result<(), DevnetStateError>;
    async fn transfer(
        &self,
        chain: &str,
        txid: &str,
    ) -> Result<Option<ChainTransfer>, DevnetStateError>;
    /// In blocks `from_height..=to_height`, in block order.
    async fn transfers(
        &self,
        chain: &str,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, DevnetStateError>;
    /// Whether the operator asked the next send to fail; asking consumes it.
    async fn take_send_failure(&self, chain: &str) -> Result<bool, DevnetStateError>;
}

#[derive(Debug, Clone)]
pub struct DevnetChain {
    chain: Chain,
    state: Arc<dyn DevnetState>,
}

/// A transfer to put on a devnet chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetPayment {
    pub to_address: String,
    pub from_address: String,
    pub memo: String,
    pub token_id: TokenId,
    /// In the coin's base units.
    pub amount: Amount,
}

impl DevnetChain {
    pub fn new(chain: Chain, state: Arc<dyn DevnetState>) -> DevnetChain {
        DevnetChain { chain, state }
    }

    /// Puts a transfer in the next block (the current height + 1), as a
    /// wallet's payment would land; the deposit watcher sees it once that block
    /// exists and credits it at the chain's required confirmations.
    pub async fn pay(
        &self,
        payment: DevnetPayment,
        now_unix_ms: i64,
    ) -> Result<ChainTransfer, ChainError> {
        self.pay_as(payment, rand::random(), now_unix_ms).await
    }

    /// `pay` with the transaction hash given, so that sending the same
    /// payout again (after a crash) finds the first one instead of paying twice.
    async fn pay_as(
        &self,
        payment: DevnetPayment,
        hash: [u8; 32],
        now_unix_ms: i64,
    ) -> Result<ChainTransfer, ChainError> {
        validate_address(self.chain.family, &payment.to_address)?;
        let next_block = self.height(now_unix_ms).await?.saturating_add(1);
        let txid = txid_text(self.chain.family, &hash);
        let transfer = ChainTransfer {
            chain: self.chain.code.to_string(),
            txid,
            log_index: 0,
            block_height: next_block,
            block_time_ms: now_unix_ms,
            from_address: payment.from_address,
            to_address: payment.to_address,
            memo: payment.memo,
            token_id: payment.token_id,
            amount: payment.amount,
        };
        self.state
            .add_transfer(&transfer)
            .await
            .map_err(ChainError::Devnet)?;
        Ok(transfer)
    }

    /// Produces `blocks` blocks now, on top of those produced by time; returns
    /// the new height.
    pub async fn mine(&self, blocks: u64, now_unix_ms: i64) -> Result<u64, ChainError> {
        if blocks > MINE_BLOCKS_MAX {
            return Err(ChainError::TooManyBlocks {
                max: MINE_BLOCKS_MAX,
            });
        }
        let state = self
            .state
            .mine(self.chain.code.as_str(), blocks, now_unix_ms)
            .await
            .map_err(ChainError::Devnet)?;
        Ok(height_at(state, self.chain.block_time_ms, now_unix_ms))
    }
}

impl DevnetChain {
    /// Pays `amount` of `token` to `to` from the devnet's hot wallet, in the
    /// next block. Sending the same `payout_id` again returns the first
    /// payment instead of paying twice (its txid is derived from the id).
    pub async fn send(
        &self,
        payout_id: &str,
        to: &str,
        token: &Token,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<Sent, ChainError> {
        let hash: [u8; 32] = Sha256::digest(format!("devnet payout {payout_id}").as_bytes()).into();
        let txid = txid_text(self.chain.family, &hash);
        if let Some(sent) = self
            .state
            .transfer(self.chain.code.as_str(), &txid)
            .await
            .map_err(ChainError::Devnet)?
        {
            return Ok(Sent {
                txid: sent.txid,
                block_height: Some(sent.block_height),
            });
        }
        if self
            .state
            .take_send_failure(self.chain.code.as_str())
            .await
            .map_err(ChainError::Devnet)?
        {
            return Err(ChainError::SendFailed(
                "the devnet was told to fail this send (`ccgate devnet fail-next-withdrawal`)"
                    .to_owned(),
            ));
        }
        let paid = self
            .pay_as(
                DevnetPayment {
                    to_address: to.to_owned(),
                    from_address: HOT_WALLET.to_owned(),
                    memo: String::new(),
                    token_id: token.id.clone(),
                    amount,
                },
                hash,
                now_unix_ms,
            )
            .await;
        let transfer = match paid {
            Ok(transfer) => transfer,
            // Another instance on the same database sent this payout between
            // the look-up above and this write: the payout id's unique txid
            // refused the second transfer, and the first one is the send.
            Err(refused) => self
                .state
                .transfer(self.chain.code.as_str(), &txid)
                .await
                .map_err(ChainError::Devnet)?
                .ok_or(refused)?,
        };
        Ok(Sent {
            txid: transfer.txid,
            block_height: Some(transfer.block_height),
        })
    }

    /// Where payout `txid` stands: in its block once paid.
    pub async fn payout_state(&self, txid: &str) -> Result<PayoutState, ChainError> {
        Ok(
            match self
                .state
                .transfer(self.chain.code.as_str(), txid)
                .await
                .map_err(ChainError::Devnet)?
            {
                Some(transfer) => PayoutState::Included {
                    txid: transfer.txid,
                    block_height: transfer.block_height,
                    gas: None,
                },
                None => PayoutState::Pending {
                    txid: txid.to_owned(),
                },
            },
        )
    }

    /// When the next block produced by time appears after `now_unix_ms`.
    pub async fn next_block_at(&self, now_unix_ms: i64) -> Result<i64, ChainError> {
        let state = self
            .state
            .chain_state(self.chain.code.as_str(), now_unix_ms)
            .await
            .map_err(ChainError::Devnet)?;
        Ok(next_block_at(state, self.chain.block_time_ms, now_unix_ms))
    }
}

/// The first moment after `now_unix_ms` at which [`height_at`] grows.
pub fn next_block_at(state: DevnetChainState, block_time_ms: u64, now_unix_ms: i64) -> i64 {
    let block_time = i64::try_from(block_time_ms.max(1)).unwrap_or(i64::MAX);
    let elapsed = now_unix_ms.saturating_sub(state.genesis_unix_ms).max(0);
    let blocks = elapsed / block_time;
    state
        .genesis_unix_ms
        .saturating_add(blocks.saturating_add(1).saturating_mul(block_time))
}

/// A transaction hash as the family writes it.
fn txid_text(family: ChainFamily, hash: &[u8; 32]) -> String {
    match family {
        ChainFamily::Evm => format!("0x{}", hex::encode(hash)),
        ChainFamily::Tron | ChainFamily::Bitcoin => hex::encode(hash),
    }
}

/// `GENESIS_HEIGHT` + mined blocks + one block per elapsed block time.
pub fn height_at(state: DevnetChainState, block_time_ms: u64, now_unix_ms: i64) -> u64 {
    let elapsed_ms = u64::try_from(now_unix_ms.saturating_sub(state.genesis_unix_ms)).unwrap_or(0);
    GENESIS_HEIGHT
        .saturating_add(state.mined_blocks)
        .saturating_add(elapsed_ms / block_time_ms.max(1))
}

#[async_trait]
impl ChainAdapter for DevnetChain {
    fn chain(&self) -> &Chain {
        &self.chain
    }

    async fn height(&self, now_unix_ms: i64) -> Result<u64, ChainError> {
        let state = self
            .state
            .chain_state(self.chain.code.as_str(), now_unix_ms)
            .await
            .map_err(ChainError::Devnet)?;
        Ok(height_at(state, self.chain.block_time_ms, now_unix_ms))
    }

    async fn transfers(
        &self,
        from_height: u64,
        to_height: u64,
    ) -> Result<Vec<ChainTransfer>, ChainError> {
        self.state
            .transfers(self.chain.code.as_str(), from_height, to_height)
            .await
            .map_err(ChainError::Devnet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_grows_with_time_and_mining() {
        let state = DevnetChainState {
            genesis_unix_ms: 1_000_000,
            mined_blocks: 0,
        };
        assert_eq!(height_at(state, 12_000, 1_000_000), 1);
        assert_eq!(height_at(state, 12_000, 1_011_999), 1);
        assert_eq!(height_at(state, 12_000, 1_012_000), 2);
        assert_eq!(
            height_at(state, 12_000, 999_000),
            1,
            "a clock behind genesis"
        );
        let mined = DevnetChainState {
            mined_blocks: 10,
            ..state
        };
        assert_eq!(height_at(mined, 12_000, 1_024_000), 13);
    }

    #[test]
    fn the_next_block_is_where_the_height_grows() {
        let state = DevnetChainState {
            genesis_unix_ms: 1_000_000,
            mined_blocks: 3,
        };
        for now in [
            999_000, 1_000_000, 1_005_000, 1_011_999, 1_012_000, 1_030_000,
        ] {
            let next = next_block_at(state, 12_000, now);
            assert!(next > now);
            assert_eq!(
                height_at(state, 12_000, next),
                height_at(state, 12_000, now.max(1_000_000)) + 1,
                "at {now}"
            );
            assert_eq!(
                height_at(state, 12_000, next - 1),
                height_at(state, 12_000, now)
            );
        }
    }
}
