//! Balance reconciliation of EVM deposit addresses, and rescans of one
//! transaction: the safety net under the block scan for native coin that
//! reached an address without a transaction of its own to it (a contract's
//! internal call on a node without traces, a `SELFDESTRUCT`, a withdrawal of
//! the beacon chain).
//!
//! The books' view of an address at height `h` is what was credited to it in
//! blocks up to `h`, plus the sweeps' gas top-ups mined by then, minus the
//! sweeps it had sent by then (their value and gas; an address's nonce at `h`
//! says how many). The node's balance at `h` above that is a deposit nobody
//! saw: the first block where it appears is found by bisection, its internal
//! transfers to the address traced where the node can, and it is credited
//! like any deposit — keyed by (txid, trace position) when traced, else by
//! (address, block range) under an `unknown:` txid. Either key is the same
//! whichever instance finds it, so several instances (or a rescan) credit it
//! once. Below the books is a shortfall: recorded for `ccgate doctor`, never
//! corrected.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ccgate_chain::evm::{BALANCE_SURPLUS_INDEX, MinedTx, UNKNOWN_TXID_PREFIX};
use ccgate_chain::{ChainAdapter, EvmChain};
use ccgate_ledger::{Amount, LedgerError};
use ccgate_store::{
    AddressDeposit, ChainTransfer, CreditStore, PayoutStore, ReconcileStore, ReconcileTarget,
};

use crate::deposits::DepositWatcher;
use crate::payouts::Payouts;
use crate::{EngineError, Rejection};

/// Surpluses one address may have credited per tick: each is a bisection of
/// its block range, and what is left waits for the next tick.
const SURPLUSES_PER_ADDRESS_MAX: usize = 4;

/// Receipts kept per reconciler, at most: an address swept many times would
/// otherwise cost a receipt call per sweep at every check.
const RECEIPTS_KEPT_MAX: usize = 100_000;

/// Balance reconciliation of one EVM chain's deposit addresses.
#[derive(Debug, Clone)]
pub struct Reconciler {
    chain: Arc<EvmChain>,
    watcher: Arc<DepositWatcher>,
    credits: Arc<dyn CreditStore>,
    books: Arc<dyn ReconcileStore>,
    payouts: Arc<dyn PayoutStore>,
    /// Receipts of sweeps and top-ups mined deep enough that no
    /// reorganisation within the confirmations moves them.
    receipts: Arc<Mutex<HashMap<String, MinedTx>>>,
}

/// What one reconciliation tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileTick {
    /// Addresses compared with the node.
    pub checked: usize,
    /// Deposits credited from surpluses.
    pub credited: usize,
    /// Addresses found holding less than the books.
    pub shortfalls: usize,
}

/// How an address's balance stands against the books at one height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Agrees,
    Surplus(Amount),
    Shortfall(Amount),
}

/// What the books say moved in and out of one address.
struct AddressBooks {
    deposits: Vec<AddressDeposit>,
    /// Per sweep signed from the address, by nonce: what it took from the
    /// native balance once mined (its gas, and its value if native).
    sweeps: Vec<(u64, Amount)>,
    /// Gas top-ups mined: (block, value).
    top_ups: Vec<(u64, Amount)>,
}

impl AddressBooks {
    /// The books' native balance of the address at `height`, when it had
    /// sent `nonce` transactions by then; `None` if it does not fit.
    fn standing(&self, balance: Amount, height: u64, nonce: u64) -> Option<Standing> {
        let mut inflow = 0u128;
        for deposit in self.deposits.iter().filter(|d| d.block_height <= height) {
            inflow = inflow.checked_add(deposit.amount.base_units())?;
        }
        for (_, value) in self.top_ups.iter().filter(|(block, _)| *block <= height) {
            inflow = inflow.checked_add(value.base_units())?;
        }
        let mut held = balance.base_units();
        for (_, cost) in self.sweeps.iter().filter(|(n, _)| *n < nonce) {
            held = held.checked_add(cost.base_units())?;
        }
        Some(match held.cmp(&inflow) {
            std::cmp::Ordering::Equal => Standing::Agrees,
            std::cmp::Ordering::Greater => {
                Standing::Surplus(Amount::from_base_units(held - inflow))
            }
            std::cmp::Ordering::Less => Standing::Shortfall(Amount::from_base_units(inflow - held)),
        })
    }

    fn credited(&self, transfer: &ChainTransfer) -> bool {
        self.deposits
            .iter()
            .any(|d| d.txid == transfer.txid && d.log_index == transfer.log_index)
    }

    /// The `unknown:` credit covering `height`, if a surplus there was
    /// credited without its transaction.
    fn unknown_credit_covering(&self, height: u64) -> Option<&AddressDeposit> {
        self.deposits.iter().find(|d| {
            unknown_range(&d.txid).is_some_and(|(from, to)| from <= height && height <= to)
        })
    }
}

/// The txid of a surplus credited without its transaction: the blocks it
/// appeared in and the address, so the key is one per surplus.
fn unknown_txid(from: u64, to: u64, address: &str) -> String {
    format!("{UNKNOWN_TXID_PREFIX}{from}-{to}:{address}")
}

fn unknown_range(txid: &str) -> Option<(u64, u64)> {
    let rest = txid.strip_prefix(UNKNOWN_TXID_PREFIX)?;
    let (range, _) = rest.split_once(':')?;
    let (from, to) = range.split_once('-')?;
    Some((from.parse().ok()?, to.parse().ok()?))
}

/// What a rescan found of one transfer in the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RescanOutcome {
    /// Credited by this rescan.
    Credited,
    /// Credited before (by the block scan, reconciliation or a rescan).
    AlreadyCredited,
    /// A surplus of the address in this block was credited before without
    /// its transaction; crediting this too would count it twice.
    CoveredByReconciliation { txid: String },
    /// Not to one of our addresses (or of a token the gateway does not take).
    NotOurs,
}

impl RescanOutcome {
    /// Its name on the admin API and in `ccgate evm rescan --json`.
    pub fn as_str(&self) -> &'static str {
        match self {
            RescanOutcome::Credited => "credited",
            RescanOutcome::AlreadyCredited => "already_credited",
            RescanOutcome::CoveredByReconciliation { .. } => "covered_by_reconciliation",
            RescanOutcome::NotOurs => "not_ours",
        }
    }
}

/// A rescan of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescanReport {
    pub txid: String,
    pub block_height: u64,
    /// Whether the node could list the value moved by contracts inside it.
    pub traced: bool,
    pub transfers: Vec<(ChainTransfer, RescanOutcome)>,
}

impl Reconciler {
    pub fn new(
        chain: Arc<EvmChain>,
        watcher: Arc<DepositWatcher>,
        credits: Arc<dyn CreditStore>,
        books: Arc<dyn ReconcileStore>,
        payouts: Arc<dyn PayoutStore>,
    ) -> Reconciler {
        Reconciler {
            chain,
            watcher,
            credits,
            books,
            payouts,
            receipts: Arc::default(),
        }
    }

    /// A sweep's or top-up's receipt: from memory once it was seen mined at
    /// or below `settled` (confirmed: a reorganisation within the
    /// confirmations cannot move it), else from the node.
    async fn receipt(&self, txid: &str, settled: u64) -> Result<Option<MinedTx>, EngineError> {
        if let Some(known) = self.kept_receipts().get(txid) {
            return Ok(Some(*known));
        }
        let mined = self.chain.mined_tx(txid).await?;
        if let Some(mined) = mined.filter(|mined| mined.block_height <= settled) {
            let mut kept = self.kept_receipts();
            if kept.len() >= RECEIPTS_KEPT_MAX {
                kept.clear();
            }
            kept.insert(txid.to_owned(), mined);
        }
        Ok(mined)
    }

    fn kept_receipts(&self) -> std::sync::MutexGuard<'_, HashMap<String, MinedTx>> {
        // A poisoned lock only means a check panicked mid-insert of plain
        // values; what is there is still right.
        self.receipts
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub fn chain(&self) -> &Arc<EvmChain> {
        &self.chain
    }

    /// The highest block reconciliation may look at: confirmed, and scanned
    /// (so every transfer of the block scan up to it is credited).
    async fn settled_height(&self, now_unix_ms: i64) -> Result<Option<u64>, EngineError> {
        let chain = self.chain.chain();
        let confirmed = chain.confirmed_height(self.chain.height(now_unix_ms).await?);
        let scanned = self.credits.chain_cursor(chain.code.as_str()).await?;
        Ok(confirmed.zip(scanned).map(|(c, s)| c.min(s)))
    }

    /// Compares up to `reconcile_addresses_per_tick` of the addresses that
    /// can be paid now with the node, least recently checked first.
    pub async fn tick(&self, now_unix_ms: i64) -> Result<ReconcileTick, EngineError> {
        let config = self.chain.config();
        let mut done = ReconcileTick::default();
        if config.reconcile_addresses_per_tick == 0 || self.chain.native_token().is_none() {
            return Ok(done);
        }
        let Some(settled) = self.settled_height(now_unix_ms).await? else {
            return Ok(done);
        };
        let active_since_secs = now_unix_ms
            .div_euclid(1000)
            .saturating_sub(i64::try_from(config.reconcile_active_secs).unwrap_or(i64::MAX));
        let targets = self
            .books
            .addresses_to_reconcile(
                self.chain.chain().code.as_str(),
                active_since_secs,
                config.reconcile_addresses_per_tick,
            )
            .await?;
        for target in targets {
            let (credited, shortfall) = self.reconcile(&target, settled, now_unix_ms).await?;
            done.checked += 1;
            done.credited += credited;
            done.shortfalls += usize::from(shortfall);
        }
        Ok(done)
    }

    /// Reconciles one address up to `settled`: (deposits credited, whether
    /// a shortfall was found).
    async fn reconcile(
        &self,
        target: &ReconcileTarget,
        settled: u64,
        now_unix_ms: i64,
    ) -> Result<(usize, bool), EngineError> {
        let code = self.chain.chain().code.as_str();
        let address = target.address.as_str();
        let mut agreed_at = target.checked_height;
        let mut credited = 0;
        for _ in 0..SURPLUSES_PER_ADDRESS_MAX {
            let books = self.address_books(address, settled).await?;
            let Some(standing) = self.standing(&books, address, settled).await? else {
                tracing::warn!(chain = %code, address, height = settled,
                    "the node has no balance at the settled height; reconciliation waits");
                return Ok((credited, false));
            };
            match standing {
                Standing::Agrees => {
                    self.books
                        .record_reconciled(code, address, settled, now_unix_ms)
                        .await?;
                    return Ok((credited, false));
                }
                Standing::Shortfall(shortfall) => {
                    tracing::error!(chain = %code, address, height = settled, base_units = shortfall.base_units(),
                        "a deposit address holds less than the books say; reported by `ccgate doctor`");
                    self.books
                        .record_shortfall(code, address, shortfall, settled, now_unix_ms)
                        .await?;
                    return Ok((credited, true));
                }
                Standing::Surplus(surplus) => {
                    let from = agreed_at.map_or(self.chain.first_block(), |h| h.saturating_add(1));
                    let (from, at, surplus) = self
                        .locate_surplus(&books, address, from, settled, surplus)
                        .await?;
                    credited += self
                        .credit_surplus(&books, address, from, at, surplus, now_unix_ms)
                        .await?;
                    agreed_at = Some(at);
                }
            }
        }
        Ok((credited, false))
    }

    /// What the books say of `address`; receipts mined at or below
    /// `settled` (confirmed) are kept for the next check.
    async fn address_books(
        &self,
        address: &str,
        settled: u64,
    ) -> Result<AddressBooks, EngineError> {
        let code = self.chain.chain().code.as_str();
        let native = self
            .chain
            .native_token()
            .ok_or_else(|| Rejection::Rescan(format!("chain {code} has no native coin")))?;
        let deposits = self
            .books
            .deposits_to_address(code, address, native.id.as_str())
            .await?;
        let mut sweeps = Vec::new();
        for record in self.books.sweeps_from(code, address).await? {
            let sweep = &record.sweep;
            // A sweep whose own transaction is not mined took nothing; if its
            // nonce is used all the same, the balance shows a shortfall.
            let cost = match self.receipt(&sweep.txid, settled).await? {
                Some(mined) if mined.succeeded && sweep.token_id == native.id.as_str() => mined
                    .gas
                    .checked_add(sweep.amount)
                    .ok_or(LedgerError::AmountOverflow)?,
                Some(mined) => mined.gas,
                None => Amount::ZERO,
            };
            sweeps.push((sweep.nonce, cost));
        }
        let mut top_ups = Vec::new();
        for payout in self.books.top_ups_to(code, address).await? {
            let replaced = self
                .payouts
                .replaced_payout_txids(code, &payout.payout_id)
                .await?;
            for txid in std::iter::once(&payout.txid).chain(&replaced) {
                if let Some(mined) = self.receipt(txid, settled).await? {
                    if mined.succeeded {
                        let value = self.chain.signed_value(&payout.txid, &payout.raw_tx)?;
                        top_ups.push((mined.block_height, value));
                    }
                    break;
                }
            }
        }
        Ok(AddressBooks {
            deposits,
            sweeps,
            top_ups,
        })
    }

    /// The address's standing at `height`; `None` if the node no longer has
    /// that height's state.
    async fn standing(
        &self,
        books: &AddressBooks,
        address: &str,
        height: u64,
    ) -> Result<Option<Standing>, EngineError> {
        let Some(balance) = self.chain.native_balance_at(address, height).await? else {
            return Ok(None);
        };
        // Without sweeps the nonce changes nothing: one node call saved.
        let nonce = if books.sweeps.is_empty() {
            0
        } else {
            match self.chain.nonce_at(address, height).await? {
                Some(nonce) => nonce,
                None => return Ok(None),
            }
        };
        books
            .standing(balance, height, nonce)
            .map(Some)
            .ok_or_else(|| LedgerError::AmountOverflow.into())
    }

    /// The first block in `from..=to` where the surplus appears, by
    /// bisection, and the surplus there: `(block, block, surplus)`. Where
    /// the node lacks the state to tell, the whole range and the surplus at
    /// its end: `(from, to, surplus)`.
    async fn locate_surplus(
        &self,
        books: &AddressBooks,
        address: &str,
        from: u64,
        to: u64,
        surplus_at_to: Amount,
    ) -> Result<(u64, u64, Amount), EngineError> {
        let (mut low, mut high, mut surplus) = (from.min(to), to, surplus_at_to);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.standing(books, address, middle).await? {
                Some(Standing::Surplus(found)) => {
                    high = middle;
                    surplus = found;
                }
                Some(_) => low = middle + 1,
                None => return Ok((from.min(to), to, surplus_at_to)),
            }
        }
        Ok((high, high, surplus))
    }

    /// Credits `surplus`, which appeared in blocks `from..=at`: as the
    /// internal transfers to the address that a trace of block `at` shows
    /// (each keyed as the block scan would key it), and what they do not
    /// explain under an `unknown:` txid.
    async fn credit_surplus(
        &self,
        books: &AddressBooks,
        address: &str,
        from: u64,
        at: u64,
        surplus: Amount,
        now_unix_ms: i64,
    ) -> Result<usize, EngineError> {
        let chain = self.chain.chain();
        let native = self
            .chain
            .native_token()
            .ok_or_else(|| Rejection::Rescan(format!("chain {} has no native coin", chain.code)))?
            .clone();
        let mut left = surplus;
        let mut transfers = Vec::new();
        if from == at
            && let Some(traced) = self.chain.internal_transfers_to(address, at).await?
        {
            for transfer in traced {
                if books.credited(&transfer) || transfer.amount > left {
                    continue;
                }
                left = left
                    .checked_sub(transfer.amount)
                    .ok_or(LedgerError::AmountOverflow)?;
                transfers.push(transfer);
            }
        }
        if !left.is_zero() {
            transfers.push(ChainTransfer {
                chain: chain.code.to_string(),
                txid: unknown_txid(from, at, address),
                log_index: BALANCE_SURPLUS_INDEX,
                block_height: at,
                block_time_ms: self.chain.block_time_ms(at).await?,
                from_address: String::new(),
                to_address: address.to_owned(),
                memo: String::new(),
                token_id: native.id.clone(),
                amount: left,
            });
        }
        tracing::warn!(chain = %chain.code, address, from_height = from, height = at, base_units = surplus.base_units(),
            traced = transfers.len() - usize::from(!left.is_zero()),
            "native coin reached a deposit address outside the block scan; credited");
        let outcomes = self
            .watcher
            .credit_found(chain, &transfers, now_unix_ms)
            .await?;
        Ok(outcomes.into_iter().filter(|o| *o == Some(true)).count())
    }

    /// Looks at one mined, confirmed transaction again — its native value,
    /// its token transfers and, where the node can trace, the value contracts
    /// moved inside it — and credits what is ours and was missed, once.
    pub async fn rescan(&self, txid: &str, now_unix_ms: i64) -> Result<RescanReport, EngineError> {
        let chain = self.chain.chain();
        let code = chain.code.as_str();
        let Some(mined) = self.chain.mined_tx(txid).await? else {
            return Err(Rejection::Rescan(format!(
                "the node of {code} has no receipt for {txid}: not mined (yet), or not a transaction of this chain"
            )).into());
        };
        let height = self.chain.height(now_unix_ms).await?;
        if chain
            .confirmed_height(height)
            .is_none_or(|confirmed| mined.block_height > confirmed)
        {
            return Err(Rejection::Rescan(format!(
                "{txid} is in block {} of {code}, which has {} of its {} confirmations: \
                 the watcher credits it once it has them",
                mined.block_height,
                height.saturating_sub(mined.block_height).saturating_add(1),
                chain.confirmations_required
            ))
            .into());
        }
        let (transfers, traced) = self.chain.transaction_transfers(txid).await?;
        // A sweep's gas top-up is value within custody, never a deposit.
        let transfers = Payouts::new(Arc::clone(&self.payouts))
            .without_sweep_top_ups(&self.chain, transfers)
            .await?;
        let mut outcomes: Vec<Option<RescanOutcome>> = vec![None; transfers.len()];
        let mut to_credit = Vec::new();
        let native = self.chain.native_token().map(|token| token.id.clone());
        for (index, transfer) in transfers.iter().enumerate() {
            if Some(&transfer.token_id) == native.as_ref() {
                let books = self
                    .address_books(&transfer.to_address, mined.block_height)
                    .await?;
                if books.credited(transfer) {
                    outcomes[index] = Some(RescanOutcome::AlreadyCredited);
                    continue;
                }
                if let Some(covering) = books.unknown_credit_covering(transfer.block_height) {
                    outcomes[index] = Some(RescanOutcome::CoveredByReconciliation {
                        txid: covering.txid.clone(),
                    });
                    continue;
                }
            }
            to_credit.push(index);
        }
        let batch: Vec<ChainTransfer> = to_credit.iter().map(|i| transfers[*i].clone()).collect();
        let credited = self
            .watcher
            .credit_found(chain, &batch, now_unix_ms)
            .await?;
        for (index, outcome) in to_credit.into_iter().zip(credited) {
            outcomes[index] = Some(match outcome {
                Some(true) => RescanOutcome::Credited,
                Some(false) => RescanOutcome::AlreadyCredited,
                None => RescanOutcome::NotOurs,
            });
        }
        Ok(RescanReport {
            txid: txid.to_owned(),
            block_height: mined.block_height,
            traced,
            transfers: transfers
                .into_iter()
                .zip(outcomes)
                .map(|(transfer, outcome)| (transfer, outcome.unwrap_or(RescanOutcome::NotOurs)))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deposit(block_height: u64, amount: u128, txid: &str) -> AddressDeposit {
        AddressDeposit {
            block_height,
            amount: Amount::from_base_units(amount),
            txid: txid.to_owned(),
            log_index: 0,
        }
    }

    #[test]
    fn the_books_count_deposits_and_top_ups_by_block_and_sweeps_by_nonce() {
        let books = AddressBooks {
            deposits: vec![deposit(10, 1_000, "0xa"), deposit(20, 500, "0xb")],
            sweeps: vec![(0, Amount::from_base_units(1_100))],
            top_ups: vec![(15, Amount::from_base_units(100))],
        };
        let balance = Amount::from_base_units;
        assert_eq!(
            books.standing(balance(1_000), 12, 0),
            Some(Standing::Agrees)
        );
        assert_eq!(
            books.standing(balance(1_100), 16, 0),
            Some(Standing::Agrees)
        );
        // Swept (nonce 1): value and gas gone, nothing unexplained.
        assert_eq!(books.standing(balance(0), 16, 1), Some(Standing::Agrees));
        assert_eq!(
            books.standing(balance(700), 20, 1),
            Some(Standing::Surplus(balance(200)))
        );
        assert_eq!(
            books.standing(balance(400), 20, 1),
            Some(Standing::Shortfall(balance(100)))
        );
    }

    #[test]
    fn an_unknown_credit_names_the_blocks_it_covers() {
        let txid = unknown_txid(7, 9, "0xAbC");
        assert_eq!(unknown_range(&txid), Some((7, 9)));
        assert_eq!(unknown_range("0x1234"), None);
        let books = AddressBooks {
            deposits: vec![deposit(9, 5, &txid)],
            sweeps: Vec::new(),
            top_ups: Vec::new(),
        };
        assert!(books.unknown_credit_covering(8).is_some());
        assert!(books.unknown_credit_covering(10).is_none());
    }
}
