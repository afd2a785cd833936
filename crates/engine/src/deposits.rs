//! The deposit watcher: follows each chain, and credits every transfer to one
//! of our addresses once it has the chain's required confirmations — in one
//! DB transaction with its journal entry and its webhook, and at most once.

use std::sync::Arc;

use ccgate_api::deposits::{DIRECT_DEPOSIT, DirectDepositWebhook};
use ccgate_api::orders::{API_DEPOSIT, ApiDepositExtend, ApiDepositWebhook};
use ccgate_chain::{ChainAdapter, ChainSet};
use ccgate_ledger::{
    Account, Amount, Chain, Coin, Direction, JournalEntry, Posting, Registry, Token,
};
use ccgate_store::{
    BlockLink, ChainTransfer, DepositAddress, DepositCredit, DepositStore, DevnetReorg, EntryMeta,
    NewDeposit, NewWebhook, ReorgIncident, ReorgStore, SandboxStore, SeenTransfer, Store,
    TransferKey,
};

use crate::webhooks::OutboxBell;
use crate::{EngineError, RecordIds};

/// Blocks one tick looks at per chain, so a long backlog is worked off in
/// bounded steps.
const SCAN_BLOCKS_PER_TICK_MAX: u64 = 1_000;
/// Deposits credited per DB transaction: one commit (one durable write) for a
/// block's worth of deposits, bounded so one transaction stays short.
const CREDITS_PER_COMMIT_MAX: usize = 2_000;
/// Recent blocks whose hashes are kept, at least: a reorganisation deeper
/// than this (or than twice the confirmations, if more) is still noticed,
/// but its fork point is taken as the oldest block kept.
const BLOCK_LINKS_KEPT_MIN: u64 = 64;
/// Service fees are parts per million.
const PPM: u128 = 1_000_000;
/// The service fee when a merchant has none set (decisions §5: 0.03 %).
pub const SERVICE_FEE_PPM_DEFAULT: u32 = 300;
const DEPOSIT_KIND: &str = "deposit";

#[derive(Debug)]
pub struct DepositWatcher {
    registry: Arc<Registry>,
    chains: Arc<ChainSet>,
    store: Arc<dyn Store>,
    deposits: Arc<dyn DepositStore>,
    reorgs: Arc<dyn ReorgStore>,
    ids: RecordIds,
    /// Rung after each commit that queued webhooks.
    bell: OutboxBell,
}

/// `amount × ppm / 10^6`, rounded down (the merchant is never charged more
/// than the rate), without overflowing for any u128 amount.
pub fn service_fee(amount: Amount, fee_ppm: u32) -> Amount {
    let units = amount.base_units();
    let ppm = u128::from(fee_ppm.min(1_000_000));
    Amount::from_base_units(units / PPM * ppm + units % PPM * ppm / PPM)
}

impl DepositWatcher {
    pub fn new(
        registry: Arc<Registry>,
        chains: Arc<ChainSet>,
        store: Arc<dyn Store>,
        deposits: Arc<dyn DepositStore>,
        reorgs: Arc<dyn ReorgStore>,
    ) -> DepositWatcher {
        DepositWatcher {
            registry,
            chains,
            store,
            deposits,
            reorgs,
            ids: RecordIds::default(),
            bell: OutboxBell::default(),
        }
    }

    /// Rings `bell` whenever a credit (or a notice) queued webhooks, so their
    /// delivery starts at once.
    pub fn ringing(mut self, bell: OutboxBell) -> DepositWatcher {
        self.bell = bell;
        self
    }

    /// One pass over every chain; returns how many deposits were credited.
    pub async fn tick(&self, now_unix_ms: i64) -> Result<usize, EngineError> {
        let mut credited = 0;
        for adapter in self.chains.adapters() {
            credited += self.scan(adapter.as_ref(), now_unix_ms).await?;
        }
        Ok(credited)
    }

    async fn scan(
        &self,
        adapter: &dyn ChainAdapter,
        now_unix_ms: i64,
    ) -> Result<usize, EngineError> {
        let chain = adapter.chain();
        let code = chain.code.as_str();
        let height = adapter.height(now_unix_ms).await?;
        if adapter.reorgs_possible() {
            self.follow_blocks(adapter, height, now_unix_ms).await?;
        }
        let confirmed_up_to = chain.confirmed_height(height);
        let mut credited = 0;
        if let Some(confirmed_up_to) = confirmed_up_to {
            let from = match self.deposits.chain_cursor(code).await? {
                Some(scanned) => scanned.saturating_add(1),
                None => adapter.first_block(),
            };
            if from <= confirmed_up_to {
                let to = confirmed_up_to.min(from.saturating_add(SCAN_BLOCKS_PER_TICK_MAX - 1));
                let transfers = adapter.transfers(from, to).await?;
                credited += self
                    .credit_range(chain, &transfers, to, now_unix_ms)
                    .await?;
            }
        }
        // Blocks past the confirmed height: payments seen, not yet credited.
        let unconfirmed_from = confirmed_up_to
            .map_or(0, |h| h.saturating_add(1))
            .max(adapter.first_block());
        let seen_from = match self.deposits.seen_cursor(code).await? {
            Some(seen) => unconfirmed_from.max(seen.saturating_add(1)),
            None => unconfirmed_from,
        };
        if seen_from <= height {
            let to = height.min(seen_from.saturating_add(SCAN_BLOCKS_PER_TICK_MAX - 1));
            for transfer in adapter.transfers(seen_from, to).await? {
                self.see(chain, &transfer, now_unix_ms).await?;
            }
            self.deposits.set_seen_cursor(code, to).await?;
        }
        Ok(credited)
    }

    /// Links the new blocks up to `head` by their hashes. A block whose
    /// parent is not the block linked below it — or a linked block the node
    /// no longer has — means the chain was reorganised: the watcher is rolled
    /// back to the fork point, so the new branch is scanned again.
    async fn follow_blocks(
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
        let mut below = self.reorgs.latest_block_link(code).await?;
        if let Some(latest) = &below {
            // Same height: a replaced head is noticed when the next block comes.
            if latest.height == head {
                return Ok(());
            }
            // Asked at the linked height itself: a head read before another
            // instance linked further is only an older view, not a shorter chain.
            let still_there = adapter
                .block_link(latest.height)
                .await?
                .is_some_and(|node| node.hash == latest.hash);
            if !still_there {
                return self
                    .roll_back(adapter, latest.height.min(head), kept, now_unix_ms)
                    .await;
            }
            if latest.height > head {
                return Ok(());
            }
        }
        let from = match &below {
            Some(latest) => latest.height.saturating_add(1),
            None => head.saturating_sub(kept).max(adapter.first_block()),
        }
        .max(head.saturating_sub(kept));
        let mut links = Vec::new();
        for height in from..=head {
            let Some(link) = adapter.block_link(height).await? else {
                break;
            };
            if let Some(parent) = below.as_ref().filter(|b| b.height + 1 == height)
                && parent.hash != link.parent_hash
            {
                self.reorgs
                    .record_block_links(code, &links, head.saturating_sub(kept))
                    .await?;
                return self
                    .roll_back(adapter, parent.height, kept, now_unix_ms)
                    .await;
            }
            below = Some(link.clone());
            links.push(link);
        }
        self.reorgs
            .record_block_links(code, &links, head.saturating_sub(kept))
            .await?;
        Ok(())
    }

    /// Finds the fork point at or below `from_height` (the highest linked
    /// block the node still has) and rolls the watcher back to it.
    async fn roll_back(
        &self,
        adapter: &dyn ChainAdapter,
        from_height: u64,
        kept: u64,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let chain = adapter.chain();
        let code = chain.code.as_str();
        let linked: Vec<BlockLink> = self
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
        for payment in self.reorgs.unconfirmed_payments_above(code, fork).await? {
            vanished.extend(
                self.vanished_notice(chain, &payment.transfer, &payment.record_id, now_unix_ms)
                    .await?,
            );
        }
        let rolled = self
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

    /// What a transfer is to us: whose address, which coin, and the split of
    /// its amount. `None` if it is not ours or not creditable.
    async fn assess<'r>(
        &'r self,
        chain: &Chain,
        transfer: &ChainTransfer,
    ) -> Result<Option<Assessed<'r>>, EngineError> {
        let Some(address) = self
            .deposits
            .deposit_address(&transfer.chain, &transfer.to_address)
            .await?
        else {
            return Ok(None);
        };
        let Some((coin, token)) = self.registry.token(&transfer.token_id) else {
            tracing::warn!(chain = %chain.code, txid = %transfer.txid, token = %transfer.token_id,
                "a deposit of a token not in the registry is left uncredited");
            return Ok(None);
        };
        if token.chain != chain.code || transfer.amount.is_zero() {
            return Ok(None);
        }
        let settings = self.deposits.merchant_settings(&address.app_id).await?;
        let fee_ppm = settings
            .as_ref()
            .map_or(SERVICE_FEE_PPM_DEFAULT, |s| s.service_fee_ppm);
        let fee = service_fee(transfer.amount, fee_ppm);
        let credit = transfer
            .amount
            .checked_sub(fee)
            .ok_or(ccgate_ledger::LedgerError::AmountOverflow)?;
        Ok(Some(Assessed {
            address,
            coin,
            token,
            fee,
            credit,
            notify_pending: settings.is_some_and(|s| s.notify_pending),
        }))
    }

    /// The webhook reporting a transfer in state `pay_status`: API Deposit for
    /// an order's address, Direct Deposit for a permanent one.
    async fn webhook(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        assessed: &Assessed<'_>,
        record_id: &str,
        pay_status: &str,
        now_unix_ms: i64,
    ) -> Result<NewWebhook, EngineError> {
        let Assessed {
            address,
            coin,
            token,
            fee,
            credit,
            ..
        } = assessed;
        let print = |amount: Amount| amount.to_decimal_string(coin.precision);
        let (order_type, payload, url) = match &address.order_id {
            Some(order_id) => {
                let order = self.deposits.order(order_id).await?.ok_or_else(|| {
                    ccgate_store::StoreError::Corrupt(format!(
                        "address of a missing order {order_id}"
                    ))
                })?;
                let payload = serde_json::to_string(&ApiDepositWebhook {
                    pay_status: pay_status.to_owned(),
                    order_type: API_DEPOSIT.to_owned(),
                    record_id: record_id.to_owned(),
                    order_id: order.order_id.clone(),
                    product_price: order.product_price.clone(),
                    denominated_currency: order.denominated_currency.clone(),
                    order_amount: print(order.order_amount),
                    fiat_rate: order.fiat_rate.clone(),
                    paid_amount: print(transfer.amount),
                    token_rate: order.token_rate.clone(),
                    chain: chain.code.to_string(),
                    txid: transfer.txid.clone(),
                    contract: token.contract.clone(),
                    crypto: coin.symbol.clone(),
                    extend: ApiDepositExtend {
                        merchant_order_id: order.merchant_order_id.clone(),
                        custom_value: order.custom_value.clone(),
                    },
                })?;
                (API_DEPOSIT, payload, order.notify_url)
            }
            None => {
                let payload = serde_json::to_string(&DirectDepositWebhook {
                    pay_status: pay_status.to_owned(),
                    order_type: DIRECT_DEPOSIT.to_owned(),
                    record_id: record_id.to_owned(),
                    paid_amount: print(transfer.amount),
                    credit_amount: print(*credit),
                    chain: chain.code.to_string(),
                    from_address: transfer.from_address.clone(),
                    to_address: transfer.to_address.clone(),
                    contract: token.contract.clone(),
                    crypto: coin.symbol.clone(),
                    txid: transfer.txid.clone(),
                    service_fee: print(*fee),
                    memo: transfer.memo.clone(),
                    user_id: address.user_id.clone().unwrap_or_default(),
                })?;
                (DIRECT_DEPOSIT, payload, address.notify_url.clone())
            }
        };
        Ok(NewWebhook {
            app_id: address.app_id.clone(),
            record_id: record_id.to_owned(),
            order_type,
            url,
            payload,
            created_at_ms: now_unix_ms,
        })
    }

    /// A payment to us in a block without its confirmations yet: noted once
    /// (its order is Processing), and notified if the merchant opted in.
    async fn see(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let Some(assessed) = self.assess(chain, transfer).await? else {
            return Ok(());
        };
        let record_id = self.ids.next(now_unix_ms);
        let webhook = if assessed.notify_pending {
            Some(
                self.webhook(
                    chain,
                    transfer,
                    &assessed,
                    &record_id,
                    "processing",
                    now_unix_ms,
                )
                .await?,
            )
        } else {
            None
        };
        self.deposits
            .record_seen_transfer(
                &SeenTransfer {
                    chain: transfer.chain.clone(),
                    txid: transfer.txid.clone(),
                    log_index: transfer.log_index,
                    record_id,
                    app_id: assessed.address.app_id.clone(),
                    order_id: assessed.address.order_id.clone(),
                    block_height: transfer.block_height,
                    block_time_ms: transfer.block_time_ms,
                    seen_at_ms: now_unix_ms,
                    from_address: transfer.from_address.clone(),
                    to_address: transfer.to_address.clone(),
                    memo: transfer.memo.clone(),
                    token_id: transfer.token_id.clone(),
                    amount: transfer.amount,
                },
                webhook.as_ref(),
            )
            .await?;
        if webhook.is_some() {
            self.bell.ring();
        }
        Ok(())
    }

    /// Credits the confirmed transfers of blocks up to `to` and moves the
    /// chain's cursor there: a group commit per batch of transfers, the last
    /// one moving the cursor, so a crash in between only means some blocks
    /// are looked at again (crediting skips what it credited before).
    async fn credit_range(
        &self,
        chain: &Chain,
        transfers: &[ChainTransfer],
        to: u64,
        now_unix_ms: i64,
    ) -> Result<usize, EngineError> {
        let mut credits = Vec::new();
        for transfer in transfers {
            if let Some(credit) = self.prepare_credit(chain, transfer, now_unix_ms).await? {
                credits.push(credit);
            }
        }
        let mut batches = credits.chunks(CREDITS_PER_COMMIT_MAX).peekable();
        if batches.peek().is_none() {
            // Nothing ours in these blocks: crediting is idempotent, so a crash
            // before this line only means the same blocks are looked at again.
            self.deposits
                .set_chain_cursor(chain.code.as_str(), to)
                .await?;
            return Ok(0);
        }
        let mut credited = 0;
        while let Some(batch) = batches.next() {
            let scanned_height = batches.peek().is_none().then_some(to);
            let applied = self
                .deposits
                .credit_deposits(chain.code.as_str(), scanned_height, batch)
                .await?;
            if applied.iter().any(|now| *now) {
                self.bell.ring();
            }
            for (credit, _) in batch.iter().zip(applied).filter(|(_, now)| *now) {
                credited += 1;
                let deposit = &credit.deposit;
                self.store.balances_changed(&deposit.app_id);
                tracing::info!(chain = %chain.code, txid = %deposit.transfer.txid,
                    merchant = %deposit.app_id, record = %deposit.record_id, "deposit credited");
            }
        }
        Ok(credited)
    }

    /// Credits transfers found outside the block scan (balance
    /// reconciliation, a rescan): the same assessment, fees, journal entry and
    /// webhook as the scan's, at most once per (chain, txid, log index), and
    /// the chain's cursor stays where it is. Per transfer: `None` if it is not
    /// ours, else whether this call credited it (`false`: credited before).
    pub async fn credit_found(
        &self,
        chain: &Chain,
        transfers: &[ChainTransfer],
        now_unix_ms: i64,
    ) -> Result<Vec<Option<bool>>, EngineError> {
        let mut credits = Vec::new();
        let mut ours = Vec::with_capacity(transfers.len());
        for transfer in transfers {
            let credit = self.prepare_credit(chain, transfer, now_unix_ms).await?;
            ours.push(credit.is_some());
            credits.extend(credit);
        }
        let applied = if credits.is_empty() {
            Vec::new()
        } else {
            self.deposits
                .credit_deposits(chain.code.as_str(), None, &credits)
                .await?
        };
        if applied.iter().any(|now| *now) {
            self.bell.ring();
        }
        for (credit, _) in credits.iter().zip(&applied).filter(|(_, now)| **now) {
            let deposit = &credit.deposit;
            self.store.balances_changed(&deposit.app_id);
            tracing::info!(chain = %chain.code, txid = %deposit.transfer.txid,
                merchant = %deposit.app_id, record = %deposit.record_id,
                "deposit found outside the block scan credited");
        }
        let mut applied = applied.into_iter();
        Ok(ours
            .into_iter()
            .map(|ours| if ours { applied.next() } else { None })
            .collect())
    }

    /// What crediting `transfer` writes, or `None` if it is not ours to credit.
    async fn prepare_credit(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        now_unix_ms: i64,
    ) -> Result<Option<DepositCredit>, EngineError> {
        let Some(assessed) = self.assess(chain, transfer).await? else {
            return Ok(None);
        };
        let Assessed {
            address,
            coin,
            fee,
            credit,
            ..
        } = &assessed;
        let mut postings = vec![Posting {
            account: Account::ChainCustody(chain.code.clone()),
            coin: coin.id.clone(),
            direction: Direction::Debit,
            amount: transfer.amount,
        }];
        for (account, amount) in [
            (Account::MerchantAvailable(address.app_id.clone()), *credit),
            (Account::OperatorFees, *fee),
        ] {
            if !amount.is_zero() {
                postings.push(Posting {
                    account,
                    coin: coin.id.clone(),
                    direction: Direction::Credit,
                    amount,
                });
            }
        }
        let entry = JournalEntry::new(postings)?;
        // The id given when the payment was first seen, so both notifications
        // carry the same record.
        let record_id = match self
            .deposits
            .seen_record_id(&transfer.chain, &transfer.txid, transfer.log_index)
            .await?
        {
            Some(seen) => seen,
            None => self.ids.next(now_unix_ms),
        };
        let webhook = self
            .webhook(
                chain,
                transfer,
                &assessed,
                &record_id,
                "success",
                now_unix_ms,
            )
            .await?;
        let now_secs = now_unix_ms.div_euclid(1000);
        Ok(Some(DepositCredit {
            deposit: NewDeposit {
                record_id,
                transfer: transfer.clone(),
                app_id: address.app_id.clone(),
                user_id: address.user_id.clone(),
                order_id: address.order_id.clone(),
                coin_id: coin.id.clone(),
                service_fee: *fee,
                credit_amount: *credit,
                credited_at: now_secs,
            },
            entry,
            meta: EntryMeta {
                kind: DEPOSIT_KIND,
                reason: format!("{} {} #{}", chain.code, transfer.txid, transfer.log_index),
                created_at: now_secs,
            },
            webhook,
        }))
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
            .deposits
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
            .deposits
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
        let Some(assessed) = self.assess(chain, transfer).await? else {
            return Ok(None);
        };
        if !assessed.notify_pending {
            return Ok(None);
        }
        Ok(Some(
            self.webhook(chain, transfer, &assessed, record_id, "failed", now_unix_ms)
                .await?,
        ))
    }
}

/// A transfer to one of our addresses, with what it means for the merchant.
struct Assessed<'r> {
    address: DepositAddress,
    coin: &'r Coin,
    token: &'r Token,
    fee: Amount,
    credit: Amount,
    notify_pending: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fee(units: u128, ppm: u32) -> u128 {
        service_fee(Amount::from_base_units(units), ppm).base_units()
    }

    #[test]
    fn service_fee_rounds_down_and_never_overflows() {
        // The documentation's example: 0.03 % of 666 USDT (6 places) is 0.1998.
        assert_eq!(fee(666_000_000, 300), 199_800);
        assert_eq!(fee(3_333, 300), 0);
        assert_eq!(fee(10_000, 300), 3);
        assert_eq!(fee(u128::MAX, 1_000_000), u128::MAX);
        assert_eq!(
            fee(u128::MAX, 300),
            u128::MAX / 1_000_000 * 300 + u128::MAX % 1_000_000 * 300 / 1_000_000
        );
        assert_eq!(fee(5, 0), 0);
    }
}
