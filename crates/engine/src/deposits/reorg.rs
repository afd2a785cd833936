//! Reorganisations: following a chain's recent blocks by their hashes and
//! rolling the watcher back to the fork point when they are replaced, and
//! the sandbox's devnet reorgs made on request. A payment merchants were told
//! is processing and that vanishes is notified `failed`; a credit in a
//! replaced block stands and is reported, never reversed.

use ccgate_chain::ChainAdapter;
use ccgate_ledger::Chain;
use ccgate_store::{
    BlockLink, ChainTransfer, DevnetReorg, NewWebhook, ReorgIncident, SandboxStore, TransferKey,
};

use super::DepositWatcher;
use crate::EngineError;

/// Recent blocks whose hashes are kept, at least: a reorganisation deeper
/// than this (or than twice the confirmations, if more) is still noticed,
/// but its fork point is taken as the oldest block kept.
const BLOCK_LINKS_KEPT_MIN: u64 = 64;

impl DepositWatcher {
    /// Links the new blocks up to `head` by their hashes. A block whose
    /// parent is not the block linked below it — or a linked block the node
    /// no longer has — means the chain was reorganised: the watcher is rolled
    /// back to the fork point, so the new branch is scanned again.
    pub(super) async fn follow_blocks(
        &self,
        adapter: &dyn ChainAdapter,
        head: u64,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let chain = adapter.chain();
        let code = chain.code.as_str();
        let kept = chain
            .confirmations_required
            .saturating_mul(2)
            .max(BLOCK_LINKS_KEPT_MIN);
        let mut below = self.stores.reorgs.latest_block_link(code).await?;
        let from = match &below {
            Some(latest) => latest.height.saturating_add(1),
            None => head.saturating_sub(kept).max(adapter.first_block()),
        }
        .max(head.saturating_sub(kept));
        if let Some(latest) = &below {
            // Same height: a replaced head is noticed when the next block comes.
            if latest.height == head {
                return Ok(());
            }
            // The block after the linked one names it as its parent: read to
            // be linked, it says whether the linked block is still there, so
            // that is not asked separately (one read of a block per scan).
            let next_tells = latest.height < head && from == latest.height.saturating_add(1);
            if !next_tells && !self.still_linked(adapter, latest).await? {
                return self
                    .roll_back(adapter, latest.height.min(head), kept, now_unix_ms)
                    .await;
            }
            if latest.height > head {
                return Ok(());
            }
        }
        let mut links = Vec::new();
        for height in from..=head {
            let Some(link) = adapter.block_link(height).await? else {
                // The node has no block past the linked one after all: then
                // the linked one itself is asked for.
                if let Some(latest) = below.as_ref().filter(|b| b.height + 1 == height)
                    && links.is_empty()
                    && !self.still_linked(adapter, latest).await?
                {
                    return self
                        .roll_back(adapter, latest.height, kept, now_unix_ms)
                        .await;
                }
                break;
            };
            if let Some(parent) = below.as_ref().filter(|b| b.height + 1 == height)
                && parent.hash != link.parent_hash
            {
                self.stores
                    .reorgs
                    .record_block_links(code, &links, head.saturating_sub(kept))
                    .await?;
                return self
                    .roll_back(adapter, parent.height, kept, now_unix_ms)
                    .await;
            }
            below = Some(link.clone());
            links.push(link);
        }
        self.stores
            .reorgs
            .record_block_links(code, &links, head.saturating_sub(kept))
            .await?;
        Ok(())
    }

    /// Whether the node still has `linked` at its height. Asked at the
    /// linked height itself: a head read before another instance linked
    /// further is only an older view, not a shorter chain.
    async fn still_linked(
        &self,
        adapter: &dyn ChainAdapter,
        linked: &BlockLink,
    ) -> Result<bool, EngineError> {
        Ok(adapter
            .block_link(linked.height)
            .await?
            .is_some_and(|node| node.hash == linked.hash))
    }

    /// Finds the fork point at or below `from_height` (the highest linked
    /// block the node still has) and rolls the watcher back to it.
    pub(super) async fn roll_back(
        &self,
        adapter: &dyn ChainAdapter,
        from_height: u64,
        kept: u64,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let chain = adapter.chain();
        let code = chain.code.as_str();
        let linked: Vec<BlockLink> = self
            .stores
            .reorgs
            .block_links_down_from(code, from_height, u32::try_from(kept).unwrap_or(u32::MAX))
            .await?;
        let mut fork = linked
            .last()
            .map_or(0, |oldest| oldest.height.saturating_sub(1));
        for link in &linked {
            if adapter
                .block_link(link.height)
                .await?
                .is_some_and(|node| node.hash == link.hash)
            {
                fork = link.height;
                break;
            }
        }
        // A payment merchants were told is processing and that the new
        // branch may not hold: notified `failed` under the same record (if
        // the new branch holds it after all, it is seen and credited again).
        let mut vanished = Vec::new();
        for payment in self
            .stores
            .reorgs
            .unconfirmed_payments_above(code, fork)
            .await?
        {
            vanished.extend(
                self.vanished_notice(chain, &payment.transfer, &payment.record_id, now_unix_ms)
                    .await?,
            );
        }
        let rolled = self
            .stores
            .reorgs
            .roll_back_chain(code, fork, now_unix_ms, &vanished)
            .await?;
        if !vanished.is_empty() {
            self.bell.ring();
        }
        if rolled.flagged_credits > 0 {
            tracing::error!(chain = %chain.code, fork_height = fork, credits = rolled.flagged_credits,
                "reorganisation deeper than the confirmations: blocks already credited were replaced; \
                 their credits stand and are reported (`ccgate doctor`) for the operator to look at");
        } else {
            tracing::warn!(chain = %chain.code, fork_height = fork,
                dropped = rolled.dropped_unconfirmed,
                "reorganisation: rolled back to the fork; unconfirmed payments in the replaced blocks dropped");
        }
        Ok(())
    }
}

/// How a devnet reorg rewrites its blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReorgMode {
    /// Every transfer of the rewritten blocks is mined again in the next
    /// block: they keep their txids and count their confirmations anew.
    Move,
    /// This transaction is gone (a double-spend won); the rest stay put.
    Drop(String),
    /// The rewritten blocks hold none of their transfers any more.
    Replace,
}

/// A reorg to make on a devnet chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorgRequest {
    pub chain: String,
    /// How many of the newest blocks are rewritten.
    pub depth: u64,
    pub mode: ReorgMode,
    /// Allow rewriting confirmed blocks (credits there are flagged, never reversed).
    pub force: bool,
}

/// What a reorg did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorgReport {
    pub chain: String,
    pub height: u64,
    pub from_height: u64,
    pub dropped: Vec<String>,
    /// Txids and the block they were mined again in.
    pub moved: Vec<(String, u64)>,
    /// `failed` webhooks queued for payments merchants were told were processing.
    pub vanished_notices: usize,
    pub incidents: Vec<ReorgIncident>,
}

impl DepositWatcher {
    /// Rewrites the newest `depth` blocks of a devnet chain: payments there
    /// are dropped or mined again, order states follow from what remains, a
    /// `processing` payment that vanishes is reported `failed` to a merchant
    /// who was told of it, and a credit in a rewritten block (only with
    /// `force`) is kept and recorded as an incident for the operator.
    pub async fn reorg(
        &self,
        sandbox: &dyn SandboxStore,
        request: &ReorgRequest,
        now_unix_ms: i64,
    ) -> Result<ReorgReport, EngineError> {
        let devnet = self.chains.devnet(&request.chain)?;
        let chain = devnet.chain();
        let code = chain.code.as_str();
        let height = devnet.height(now_unix_ms).await?;
        if request.depth == 0 || request.depth > height {
            return Err(EngineError::Sandbox(format!(
                "a reorg of {code} rewrites 1 to {height} blocks (its height), not {}",
                request.depth
            )));
        }
        let from_height = height - request.depth + 1;
        let reaches_confirmed = chain
            .confirmed_height(height)
            .is_some_and(|confirmed| from_height <= confirmed);
        if reaches_confirmed && !request.force {
            return Err(EngineError::Sandbox(format!(
                "a reorg of {} blocks reaches blocks with {code}'s {} confirmations, whose \
                 deposits may be credited; pass --force to rewrite them anyway (credits are kept \
                 and flagged, never reversed)",
                request.depth, chain.confirmations_required
            )));
        }
        let transfers = self
            .stores
            .devnet
            .devnet_transfers(code, from_height, height)
            .await?;
        if let ReorgMode::Drop(txid) = &request.mode
            && !transfers.iter().any(|t| &t.txid == txid)
        {
            return Err(EngineError::Sandbox(format!(
                "no transaction {} in the last {} blocks of {code}",
                txid.chars().take(80).collect::<String>(),
                request.depth
            )));
        }
        let mut reorg = DevnetReorg {
            chain: code.to_owned(),
            from_height,
            dropped: Vec::new(),
            moved: Vec::new(),
            vanished_webhooks: Vec::new(),
            incidents: Vec::new(),
        };
        for transfer in &transfers {
            let dropped = match &request.mode {
                ReorgMode::Move => false,
                ReorgMode::Replace => true,
                ReorgMode::Drop(txid) if *txid == transfer.txid => true,
                ReorgMode::Drop(_) => continue,
            };
            let key = TransferKey {
                txid: transfer.txid.clone(),
                log_index: transfer.log_index,
            };
            let new_height = height.saturating_add(1);
            if let Some(record_id) = sandbox.credited_record_id(code, &key).await? {
                let what = if dropped {
                    format!(
                        "credited, then dropped by a reorg of {} blocks: the credit stands; \
                         reconcile it by hand (`ccgate ledger adjust`)",
                        request.depth
                    )
                } else {
                    format!(
                        "credited, then mined again in block {new_height} by a reorg of {} \
                         blocks: the credit stands",
                        request.depth
                    )
                };
                tracing::warn!(chain = code, txid = %key.txid, record = %record_id, %what, "reorg touched a credit");
                reorg.incidents.push(ReorgIncident {
                    chain: code.to_owned(),
                    txid: key.txid.clone(),
                    log_index: key.log_index,
                    record_id,
                    what,
                    at_ms: now_unix_ms,
                });
            } else if dropped {
                self.report_vanished(chain, transfer, now_unix_ms, &mut reorg)
                    .await?;
            }
            if dropped {
                reorg.dropped.push(key);
            } else {
                reorg.moved.push((key, new_height));
            }
        }
        sandbox.apply_devnet_reorg(&reorg).await?;
        Ok(ReorgReport {
            chain: code.to_owned(),
            height,
            from_height,
            dropped: reorg.dropped.iter().map(|k| k.txid.clone()).collect(),
            moved: reorg
                .moved
                .iter()
                .map(|(k, h)| (k.txid.clone(), *h))
                .collect(),
            vanished_notices: reorg.vanished_webhooks.len(),
            incidents: reorg.incidents,
        })
    }

    /// A payment seen (and, if the merchant opted in, notified as
    /// `processing`) that a reorg removed: the same record is notified
    /// `failed`, so the merchant's view does not keep a payment that is gone.
    async fn report_vanished(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        now_unix_ms: i64,
        reorg: &mut DevnetReorg,
    ) -> Result<(), EngineError> {
        if let Some(record_id) = self
            .stores
            .credits
            .seen_record_id(&transfer.chain, &transfer.txid, transfer.log_index)
            .await?
        {
            reorg.vanished_webhooks.extend(
                self.vanished_notice(chain, transfer, &record_id, now_unix_ms)
                    .await?,
            );
        }
        Ok(())
    }

    /// The `failed` webhook for a seen payment a reorg removed, if its
    /// merchant opted into hearing of payments before they are final (and so
    /// was told `processing` under `record_id`).
    async fn vanished_notice(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        record_id: &str,
        now_unix_ms: i64,
    ) -> Result<Option<NewWebhook>, EngineError> {
        let reads = self.reads(std::slice::from_ref(transfer), false).await?;
        let Some(assessed) = self.assess(chain, transfer, &reads)? else {
            return Ok(None);
        };
        if !assessed.notify_pending {
            return Ok(None);
        }
        Ok(Some(self.webhook(
            chain,
            transfer,
            &assessed,
            record_id,
            crate::notices::PayStatus::Failed,
            now_unix_ms,
        )?))
    }
}
