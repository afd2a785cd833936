//! The deposit watcher: follows each chain, and credits every transfer to one
//! of our addresses once it has the chain's required confirmations — in one
//! DB transaction with its journal entry and its webhook, and at most once.
//! `reorg` follows replaced blocks (and makes the sandbox's devnet reorgs);
//! `notice` renders the webhooks.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ccgate_chain::{ChainAdapter, ChainSet};
use ccgate_ledger::{
    Account, Amount, Chain, Coin, Direction, JournalEntry, MerchantId, Posting, Registry, Token,
};
use ccgate_store::{
    AddressStore, ChainTransfer, CreditStore, DepositAddress, DepositCredit, DevnetStore,
    EntryMeta, MerchantSettings, MerchantSettingsStore, NewDeposit, NewWebhook, Order, OrderStore,
    PayoutStore, ReorgStore, SeenTransfer, Store,
};

mod notice;
mod reorg;

pub use reorg::{ReorgMode, ReorgReport, ReorgRequest};

use crate::notices::PayStatus;
use crate::payouts::Payouts;
use crate::webhooks::OutboxBell;
use crate::{EngineError, RecordIds};

/// Blocks one tick looks at per chain, so a long backlog is worked off in
/// bounded steps.
const SCAN_BLOCKS_PER_TICK_MAX: u64 = 1_000;
/// Deposits credited per DB transaction: one commit (one durable write) for a
/// block's worth of deposits, bounded so one transaction stays short.
const CREDITS_PER_COMMIT_MAX: usize = 2_000;
/// Service fees are parts per million.
const PPM: u128 = 1_000_000;
/// The service fee when a merchant has none set (decisions §5: 0.03 %).
pub const SERVICE_FEE_PPM_DEFAULT: u32 = 300;
const DEPOSIT_KIND: &str = "deposit";

#[derive(Debug)]
pub struct DepositWatcher {
    registry: Arc<Registry>,
    chains: Arc<ChainSet>,
    stores: WatcherStores,
    ids: RecordIds,
    /// Rung after each commit that queued webhooks.
    bell: OutboxBell,
}

/// The stores the watcher reads and writes, one per aggregate.
#[derive(Debug, Clone)]
pub struct WatcherStores {
    /// Told when a credit changes a merchant's balances, so that a cache in
    /// front of the ledger forgets them.
    pub ledger: Arc<dyn Store>,
    pub addresses: Arc<dyn AddressStore>,
    pub orders: Arc<dyn OrderStore>,
    pub settings: Arc<dyn MerchantSettingsStore>,
    pub credits: Arc<dyn CreditStore>,
    pub devnet: Arc<dyn DevnetStore>,
    pub reorgs: Arc<dyn ReorgStore>,
    /// To tell the hot wallet's gas top-ups of deposit addresses (value
    /// within custody) from deposits.
    pub payouts: Arc<dyn PayoutStore>,
}

impl WatcherStores {
    /// Every store on one `backend`, the ledger reached through `ledger`
    /// (the backend itself, or a cache in front of it).
    pub fn on<B>(ledger: Arc<dyn Store>, backend: &Arc<B>) -> WatcherStores
    where
        B: AddressStore
            + OrderStore
            + MerchantSettingsStore
            + CreditStore
            + DevnetStore
            + ReorgStore
            + PayoutStore,
    {
        WatcherStores {
            ledger,
            addresses: Arc::clone(backend) as Arc<dyn AddressStore>,
            orders: Arc::clone(backend) as Arc<dyn OrderStore>,
            settings: Arc::clone(backend) as Arc<dyn MerchantSettingsStore>,
            credits: Arc::clone(backend) as Arc<dyn CreditStore>,
            devnet: Arc::clone(backend) as Arc<dyn DevnetStore>,
            reorgs: Arc::clone(backend) as Arc<dyn ReorgStore>,
            payouts: Arc::clone(backend) as Arc<dyn PayoutStore>,
        }
    }
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
        stores: WatcherStores,
    ) -> DepositWatcher {
        DepositWatcher {
            registry,
            chains,
            stores,
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
            let from = match self.stores.credits.chain_cursor(code).await? {
                Some(scanned) => scanned.saturating_add(1),
                None => adapter.first_block(),
            };
            if from <= confirmed_up_to {
                let to = confirmed_up_to.min(from.saturating_add(SCAN_BLOCKS_PER_TICK_MAX - 1));
                let transfers = self.transfers(adapter, from, to).await?;
                credited += self
                    .credit_range(chain, &transfers, to, now_unix_ms)
                    .await?;
            }
        }
        // Blocks past the confirmed height: payments seen, not yet credited.
        let unconfirmed_from = confirmed_up_to
            .map_or(0, |h| h.saturating_add(1))
            .max(adapter.first_block());
        let seen_from = match self.stores.credits.seen_cursor(code).await? {
            Some(seen) => unconfirmed_from.max(seen.saturating_add(1)),
            None => unconfirmed_from,
        };
        if seen_from <= height {
            let to = height.min(seen_from.saturating_add(SCAN_BLOCKS_PER_TICK_MAX - 1));
            let transfers = self.transfers(adapter, seen_from, to).await?;
            let reads = self.reads(&transfers, false).await?;
            let mut seen = Vec::new();
            for transfer in &transfers {
                seen.extend(self.see(chain, transfer, &reads, now_unix_ms)?);
            }
            // One commit for the range's payments, not one per payment.
            let recorded = self.stores.credits.record_seen_transfers(&seen).await?;
            if seen
                .iter()
                .zip(&recorded)
                .any(|((_, webhook), now)| *now && webhook.is_some())
            {
                self.bell.ring();
            }
            self.stores.credits.set_seen_cursor(code, to).await?;
        }
        Ok(credited)
    }

    /// The transfers in blocks `from..=to` that may be deposits: on an EVM
    /// chain, not the sweeps' gas top-ups.
    async fn transfers(
        &self,
        adapter: &dyn ChainAdapter,
        from: u64,
        to: u64,
    ) -> Result<Vec<ChainTransfer>, EngineError> {
        let transfers = adapter.transfers(from, to).await?;
        match self.chains.evm(adapter.chain().code.as_str()) {
            Some(evm) => {
                Payouts::new(Arc::clone(&self.stores.payouts))
                    .without_sweep_top_ups(evm, transfers)
                    .await
            }
            None => Ok(transfers),
        }
    }

    /// What crediting or noting `transfers` reads, read for all of them at
    /// once (issue #16 §5): one statement per few hundred for the addresses
    /// that are ours and, if `seen_ids`, for the record ids given when they
    /// were seen; one read per merchant for its settings and per order for
    /// the order — not one of each per transfer.
    pub(crate) async fn reads(
        &self,
        transfers: &[ChainTransfer],
        seen_ids: bool,
    ) -> Result<BlockReads, EngineError> {
        let mut reads = BlockReads::default();
        let mut by_chain: HashMap<&str, HashSet<&str>> = HashMap::new();
        for transfer in transfers {
            by_chain
                .entry(transfer.chain.as_str())
                .or_default()
                .insert(transfer.to_address.as_str());
        }
        for (chain, addresses) in by_chain {
            let addresses: Vec<&str> = addresses.into_iter().collect();
            for address in self
                .stores
                .addresses
                .deposit_addresses(chain, &addresses)
                .await?
            {
                reads
                    .addresses
                    .insert((chain.to_owned(), address.address.clone()), address);
            }
        }
        let ours: Vec<&ChainTransfer> = transfers
            .iter()
            .filter(|transfer| reads.address(transfer).is_some())
            .collect();
        let merchants: HashSet<MerchantId> = reads
            .addresses
            .values()
            .map(|address| address.app_id.clone())
            .collect();
        for app_id in merchants {
            let settings = self.stores.settings.merchant_settings(&app_id).await?;
            reads.settings.insert(app_id, settings);
        }
        let orders: HashSet<String> = reads
            .addresses
            .values()
            .filter_map(|address| address.order_id.clone())
            .collect();
        for order_id in orders {
            if let Some(order) = self.stores.orders.order(&order_id).await? {
                reads.orders.insert(order_id, order);
            }
        }
        if seen_ids && !ours.is_empty() {
            let mut by_chain: HashMap<&str, HashSet<&str>> = HashMap::new();
            for transfer in &ours {
                by_chain
                    .entry(transfer.chain.as_str())
                    .or_default()
                    .insert(transfer.txid.as_str());
            }
            for (chain, txids) in by_chain {
                let txids: Vec<&str> = txids.into_iter().collect();
                for (txid, log_index, record_id) in
                    self.stores.credits.seen_record_ids(chain, &txids).await?
                {
                    reads
                        .seen
                        .insert((chain.to_owned(), txid, log_index), record_id);
                }
            }
        }
        Ok(reads)
    }

    /// What a transfer is to us: whose address, which coin, and the split of
    /// its amount. `None` if it is not ours or not creditable.
    fn assess<'r>(
        &'r self,
        chain: &Chain,
        transfer: &ChainTransfer,
        reads: &BlockReads,
    ) -> Result<Option<Assessed<'r>>, EngineError> {
        let Some(address) = reads.address(transfer).cloned() else {
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
        let settings = reads.settings.get(&address.app_id).and_then(Option::as_ref);
        let fee_ppm = settings.map_or(SERVICE_FEE_PPM_DEFAULT, |s| s.service_fee_ppm);
        let fee = service_fee(transfer.amount, fee_ppm);
        let credit = transfer
            .amount
            .checked_sub(fee)
            .ok_or(ccgate_ledger::LedgerError::AmountOverflow)?;
        let order = address
            .order_id
            .as_ref()
            .and_then(|order_id| reads.orders.get(order_id).cloned());
        Ok(Some(Assessed {
            address,
            order,
            coin,
            token,
            fee,
            credit,
            notify_pending: settings.is_some_and(|s| s.notify_pending),
        }))
    }

    /// A payment to us in a block without its confirmations yet, as it is
    /// noted (once: its order is Processing), with its webhook if the
    /// merchant opted in; `None` if it is not ours.
    fn see(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        reads: &BlockReads,
        now_unix_ms: i64,
    ) -> Result<Option<(SeenTransfer, Option<NewWebhook>)>, EngineError> {
        let Some(assessed) = self.assess(chain, transfer, reads)? else {
            return Ok(None);
        };
        let record_id = self.ids.next(now_unix_ms);
        let webhook = if assessed.notify_pending {
            Some(self.webhook(
                chain,
                transfer,
                &assessed,
                &record_id,
                PayStatus::Processing,
                now_unix_ms,
            )?)
        } else {
            None
        };
        Ok(Some((
            SeenTransfer {
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
            webhook,
        )))
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
        let reads = self.reads(transfers, true).await?;
        let mut credits = Vec::new();
        for transfer in transfers {
            if let Some(credit) = self.prepare_credit(chain, transfer, &reads, now_unix_ms)? {
                credits.push(credit);
            }
        }
        let mut batches = credits.chunks(CREDITS_PER_COMMIT_MAX).peekable();
        if batches.peek().is_none() {
            // Nothing ours in these blocks: crediting is idempotent, so a crash
            // before this line only means the same blocks are looked at again.
            self.stores
                .credits
                .set_chain_cursor(chain.code.as_str(), to)
                .await?;
            return Ok(0);
        }
        let mut credited = 0;
        while let Some(batch) = batches.next() {
            let scanned_height = batches.peek().is_none().then_some(to);
            let applied = self.commit_credits(chain, scanned_height, batch).await?;
            credited += applied.iter().filter(|now| **now).count();
        }
        Ok(credited)
    }

    /// Commits `batch` (and the chain's cursor, if `scanned_height`) in one
    /// DB transaction; per credit, whether it was new. What changed is told:
    /// the balances' cache, the log, and delivery (the bell).
    async fn commit_credits(
        &self,
        chain: &Chain,
        scanned_height: Option<u64>,
        batch: &[DepositCredit],
    ) -> Result<Vec<bool>, EngineError> {
        let applied = self
            .stores
            .credits
            .credit_deposits(chain.code.as_str(), scanned_height, batch)
            .await?;
        if applied.iter().any(|now| *now) {
            self.bell.ring();
        }
        for (credit, _) in batch.iter().zip(&applied).filter(|(_, now)| **now) {
            let deposit = &credit.deposit;
            self.stores.ledger.balances_changed(&deposit.app_id);
            tracing::info!(chain = %chain.code, txid = %deposit.transfer.txid,
                merchant = %deposit.app_id, record = %deposit.record_id, "deposit credited");
        }
        Ok(applied)
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
        let reads = self.reads(transfers, true).await?;
        let mut credits = Vec::new();
        let mut ours = Vec::with_capacity(transfers.len());
        for transfer in transfers {
            let credit = self.prepare_credit(chain, transfer, &reads, now_unix_ms)?;
            ours.push(credit.is_some());
            credits.extend(credit);
        }
        let applied = if credits.is_empty() {
            Vec::new()
        } else {
            self.commit_credits(chain, None, &credits).await?
        };
        let mut applied = applied.into_iter();
        Ok(ours
            .into_iter()
            .map(|ours| if ours { applied.next() } else { None })
            .collect())
    }

    /// What crediting `transfer` writes, or `None` if it is not ours to credit.
    fn prepare_credit(
        &self,
        chain: &Chain,
        transfer: &ChainTransfer,
        reads: &BlockReads,
        now_unix_ms: i64,
    ) -> Result<Option<DepositCredit>, EngineError> {
        let Some(assessed) = self.assess(chain, transfer, reads)? else {
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
            (credited_account(address), *credit),
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
        let record_id = match reads.seen.get(&(
            transfer.chain.clone(),
            transfer.txid.clone(),
            transfer.log_index,
        )) {
            Some(seen) => seen.clone(),
            None => self.ids.next(now_unix_ms),
        };
        let webhook = self.webhook(
            chain,
            transfer,
            &assessed,
            &record_id,
            PayStatus::Success,
            now_unix_ms,
        )?;
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

/// What [`DepositWatcher::reads`] read for a batch of transfers.
#[derive(Debug, Default)]
pub(crate) struct BlockReads {
    /// Ours among the transfers' addresses, by (chain, address).
    addresses: HashMap<(String, String), DepositAddress>,
    /// Each of their merchants' settings (`None`: never set).
    settings: HashMap<MerchantId, Option<MerchantSettings>>,
    /// Their orders, by order id.
    orders: HashMap<String, Order>,
    /// The record id of each transfer seen before, by (chain, txid, log index).
    seen: HashMap<(String, String, u32), String>,
}

impl BlockReads {
    fn address(&self, transfer: &ChainTransfer) -> Option<&DepositAddress> {
        // Keyed by owned strings; a lookup per transfer clones the two.
        self.addresses
            .get(&(transfer.chain.clone(), transfer.to_address.clone()))
    }
}

/// Whom a deposit to `address` credits: a wallet user's address credits the
/// user (decisions §24), any other the merchant.
fn credited_account(address: &DepositAddress) -> Account {
    match (&address.user_id, address.wallet_user) {
        (Some(user_id), true) => Account::User(address.app_id.clone(), user_id.clone()),
        _ => Account::MerchantAvailable(address.app_id.clone()),
    }
}

/// A transfer to one of our addresses, with what it means for the merchant.
struct Assessed<'r> {
    address: DepositAddress,
    /// The address's order, if it is an order's and the order was found.
    order: Option<Order>,
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
