//! Sweeping (CCPayment's "token aggregation"): what deposit addresses hold is
//! moved to the EVM hot wallet — the native coin directly (its balance less
//! the gas), a token after the hot wallet sent the address the gas for it
//! (a payout, `payouts`). Each sweep transaction is signed by the address's
//! own key (by the chain adapter), stored here before its broadcast
//! (insert-once per `<address>:<nonce>`), and settled from its receipt: the
//! gas it and its top-up cost is posted to the journal as a network cost
//! (operator:network_costs ← custody), in the DB transaction that marks it
//! settled. Value moving between our own addresses stays in custody, so the
//! gas is the only entry.

use std::collections::BTreeSet;
use std::sync::Arc;

use ccgate_chain::keys::DepositSeed;
use ccgate_chain::{ChainAdapter, ChainError, DepositSigner, EvmChain};
use ccgate_ledger::{Account, Amount, JournalEntry, TokenId};
use ccgate_store::{
    EntryMeta, SignedSweep, SweepDue, SweepInsert, SweepRecord, SweepSettlement, SweepStore,
    TOP_UP_PAYOUT_PREFIX,
};

use crate::EngineError;
use crate::payouts::Payouts;

/// Deposit addresses read from the store per page.
const ADDRESSES_PER_PAGE: u32 = 500;
/// Deposit addresses a sweep tick reads from the node, at most: only those
/// credited since their last look are due, least recently looked at first,
/// so the node calls per tick stay bounded however many addresses exist.
pub const SWEEP_ADDRESSES_PER_TICK: u32 = 200;

/// After a sweep of a token from an address reverted (a token that refuses
/// the transfer once mined: paused, the address blacklisted…), the next
/// attempt waits this long, doubled for each further revert in a row…
const REVERT_BACK_OFF_FIRST_MS: i64 = 60_000;
/// …up to this: a token that always reverts costs one sweep's gas a day.
const REVERT_BACK_OFF_MAX_MS: i64 = 86_400_000;
/// Reverts in a row counted: enough for the wait to reach its maximum.
const REVERTS_COUNTED_MAX: u32 = 12;

/// One token's balance at one deposit address, and whether it is worth a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingBalance {
    pub address: String,
    pub derivation_index: u32,
    pub token_id: TokenId,
    pub symbol: String,
    /// In the coin's base units.
    pub balance: Amount,
    /// The configured minimum (`sweep_min`); `None`: this token is not swept.
    pub threshold: Option<Amount>,
    /// A sweep of this address is signed and not settled yet.
    pub in_flight: bool,
}

impl WaitingBalance {
    pub fn above_threshold(&self) -> bool {
        self.threshold
            .is_some_and(|min| !self.balance.is_zero() && self.balance >= min)
    }
}

/// What one sweeping tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepTick {
    /// Sweeps signed and broadcast.
    pub sent: usize,
    /// Top-ups of gas sent to deposit addresses.
    pub topped_up: usize,
    /// Sweeps whose receipt settled them (gas posted).
    pub settled: usize,
    /// Deposit addresses whose balances were read from the node.
    pub looked_at: usize,
}

/// The sweeping loop of one EVM chain: what signs (the deposit seed), where
/// sweeps are kept, and the hot wallet's payouts (gas top-ups).
#[derive(Debug, Clone)]
pub struct Sweeper {
    chain: Arc<EvmChain>,
    seed: Arc<DepositSeed>,
    sweeps: Arc<dyn SweepStore>,
    payouts: Payouts,
}

impl Sweeper {
    pub fn new(
        chain: Arc<EvmChain>,
        seed: Arc<DepositSeed>,
        sweeps: Arc<dyn SweepStore>,
        payouts: Payouts,
    ) -> Self {
        Sweeper {
            chain,
            seed,
            sweeps,
            payouts,
        }
    }

    fn code(&self) -> &str {
        self.chain.chain().code.as_str()
    }

    /// Settles the sweeps whose receipts arrived, then looks at the deposit
    /// addresses credited since the last look that found nothing to sweep
    /// (at most `SWEEP_ADDRESSES_PER_TICK`, none with a sweep in flight): a
    /// token above its threshold is swept (or its gas topped up first), one
    /// sweep per address at a time; an address with nothing above is not
    /// read again until its next credit.
    pub async fn tick(&self, now_unix_ms: i64) -> Result<SweepTick, EngineError> {
        let mut done = SweepTick {
            settled: self.settle_open_sweeps(now_unix_ms).await?,
            ..SweepTick::default()
        };
        let code = self.code();
        let in_flight: BTreeSet<String> = self
            .sweeps
            .open_sweeps(code)
            .await?
            .into_iter()
            .map(|sweep| sweep.from_address)
            .collect();
        for due in self
            .sweeps
            .addresses_due_for_sweep(code, SWEEP_ADDRESSES_PER_TICK)
            .await?
        {
            // Looked at again once its sweep settled.
            if in_flight.contains(&due.address) {
                continue;
            }
            done.looked_at += 1;
            let cleared = self.sweep_address(&due, now_unix_ms, &mut done).await?;
            self.sweeps
                .record_sweep_look(code, &due.address, due.credits, cleared, now_unix_ms)
                .await?;
        }
        Ok(done)
    }

    /// Reads one due address's balances and sweeps the first token above
    /// its threshold; `true` when none is (nothing left to sweep).
    async fn sweep_address(
        &self,
        due: &SweepDue,
        now_unix_ms: i64,
        done: &mut SweepTick,
    ) -> Result<bool, EngineError> {
        // A token backing off after reverts keeps the address due.
        let mut cleared = true;
        // Only the tokens that are swept: a token without a `sweep_min` costs
        // no node call here.
        let sweep_min = &self.chain.config().sweep_min;
        let swept = |token: &ccgate_ledger::Token| sweep_min.contains_key(&token.id);
        for (token, balance) in self.chain.balances(&due.address, swept).await? {
            let waiting = WaitingBalance {
                address: due.address.clone(),
                derivation_index: due.derivation_index,
                token_id: token.id.clone(),
                symbol: token.symbol.clone(),
                balance,
                threshold: sweep_min.get(&token.id).copied(),
                in_flight: false,
            };
            if !waiting.above_threshold() {
                continue;
            }
            let history = self
                .sweeps
                .sweeps_of(
                    self.code(),
                    &waiting.address,
                    waiting.token_id.as_str(),
                    REVERTS_COUNTED_MAX,
                )
                .await?;
            if let Some(retry_at_ms) = revert_back_off_until(&history, now_unix_ms) {
                tracing::debug!(chain = %self.code(), address = %waiting.address,
                    token_id = %waiting.token_id, retry_at_ms, "sweep backing off after reverts");
                cleared = false;
                continue;
            }
            // One address the node refuses to sweep (a token that reverts
            // its transfers…) must not hold back the others.
            match self.sweep(&waiting, now_unix_ms).await {
                Ok(SweepStep::Sent) => done.sent += 1,
                Ok(SweepStep::ToppedUp) => done.topped_up += 1,
                Ok(SweepStep::Waiting) => {}
                Err(err) => {
                    tracing::warn!(chain = %self.code(), address = %waiting.address,
                        token_id = %waiting.token_id, error = %err, "sweep not started");
                }
            }
            return Ok(false);
        }
        Ok(cleared)
    }

    async fn settle_open_sweeps(&self, now_unix_ms: i64) -> Result<usize, EngineError> {
        let chain = &self.chain;
        let mut settled = 0;
        let open = self.sweeps.open_sweeps(self.code()).await?;
        if open.is_empty() {
            return Ok(0);
        }
        let confirmed = chain
            .chain()
            .confirmed_height(chain.height(now_unix_ms).await?);
        for sweep in open {
            let Some(mined) = chain.mined_tx(&sweep.txid).await? else {
                chain
                    .broadcast_if_unknown(&sweep.txid, &sweep.raw_tx)
                    .await?;
                continue;
            };
            // Settled, and its gas posted, only at the chain's confirmations:
            // a reorganisation before them may drop it (its bytes then go
            // out again), and it stays in flight until then.
            if confirmed.is_none_or(|confirmed| confirmed < mined.block_height) {
                continue;
            }
            let top_up_gas = match &sweep.top_up_payout_id {
                Some(payout_id) => self.top_up_gas(payout_id).await?,
                None => Amount::ZERO,
            };
            let native = chain.native_token().ok_or_else(|| {
                ChainError::Config(format!(
                    "chain {} has no native coin configured to pay gas",
                    self.code()
                ))
            })?;
            let gas_cost = mined
                .gas
                .checked_add(top_up_gas)
                .ok_or(ChainError::AmountOverflow)?;
            if !mined.succeeded {
                tracing::warn!(chain = %self.code(), sweep_id = %sweep.sweep_id,
                    txid = %sweep.txid, token_id = %sweep.token_id,
                    "sweep reverted on chain (its gas is still paid); the next sweep of this token from this address waits, longer after each revert");
            }
            let settlement = SweepSettlement {
                succeeded: mined.succeeded,
                gas_cost,
                settled_at_ms: now_unix_ms,
            };
            let entry = if gas_cost.is_zero() {
                None
            } else {
                Some(JournalEntry::transfer(
                    Account::OperatorNetworkCosts,
                    Account::ChainCustody(chain.chain().code.clone()),
                    native.coin_id.clone(),
                    gas_cost,
                )?)
            };
            let meta = EntryMeta {
                kind: "sweep_gas",
                reason: format!("gas of sweep {} ({})", sweep.sweep_id, sweep.txid),
                created_at: now_unix_ms / 1000,
            };
            if self
                .sweeps
                .settle_sweep(
                    &sweep.chain,
                    &sweep.sweep_id,
                    &settlement,
                    entry.as_ref().map(|entry| (entry, &meta)),
                )
                .await?
            {
                settled += 1;
            }
        }
        Ok(settled)
    }

    async fn sweep(
        &self,
        balance: &WaitingBalance,
        now_unix_ms: i64,
    ) -> Result<SweepStep, EngineError> {
        let chain = &self.chain;
        let signer = DepositSigner::new(&self.seed, balance.derivation_index, &balance.address)?;
        chain.hot_wallet()?;
        let nonce = chain.pending_nonce(&balance.address).await?;
        // Another instance may have swept this address since the balances
        // were read: its sweep is stored before its broadcast, so after the
        // nonce it took is counted, either its row is open here or its
        // receipt is in the balance read now. Either way nothing stale is
        // signed at the next nonce.
        if self
            .sweeps
            .open_sweeps(self.code())
            .await?
            .iter()
            .any(|open| open.from_address == balance.address)
        {
            return Ok(SweepStep::Waiting);
        }
        let current = chain
            .balances(&balance.address, |token| token.id == balance.token_id)
            .await?
            .into_iter()
            .map(|(_, amount)| amount)
            .next()
            .unwrap_or(Amount::ZERO);
        if !(WaitingBalance {
            balance: current,
            ..balance.clone()
        })
        .above_threshold()
        {
            return Ok(SweepStep::Waiting);
        }
        let sweep_id = format!("{}:{nonce}", balance.address);
        let top_up_id = format!("{TOP_UP_PAYOUT_PREFIX}{sweep_id}");
        let Some(mut draft) = chain
            .draft_sweep(&signer, &balance.token_id, current, nonce)
            .await?
        else {
            return Ok(SweepStep::Waiting);
        };
        if let Some(shortfall) = chain.sweep_gas_shortfall(&draft)? {
            match self.payouts.signed(chain, &top_up_id).await? {
                None => {
                    self.send_top_up(&top_up_id, &balance.address, shortfall, now_unix_ms)
                        .await?;
                    return Ok(SweepStep::ToppedUp);
                }
                Some(top_up) => {
                    if !chain.is_mined(&top_up.txid).await? {
                        chain
                            .broadcast_if_unknown(&top_up.txid, &top_up.raw_tx)
                            .await?;
                        return Ok(SweepStep::Waiting);
                    }
                    // The top-up arrived but the fee rose since: sign
                    // within what the address holds.
                    draft.fit_fee_to_balance();
                }
            }
        }
        let signed = chain.sign_sweep(&signer, &draft).await?;
        // Only a top-up that was sent belongs to this sweep's cost.
        let top_up_payout_id = if draft.moves_token() {
            self.payouts
                .signed(chain, &top_up_id)
                .await?
                .map(|_| top_up_id)
        } else {
            None
        };
        let sweep = SignedSweep {
            chain: self.code().to_owned(),
            sweep_id,
            from_address: balance.address.clone(),
            to_address: draft.to_address().to_owned(),
            token_id: balance.token_id.to_string(),
            amount: draft.amount(),
            nonce,
            txid: signed.txid,
            raw_tx: signed.raw_tx,
            top_up_payout_id,
            created_at_ms: now_unix_ms,
        };
        let (sweep, fresh) = match self.sweeps.insert_signed_sweep(&sweep).await? {
            SweepInsert::Inserted => (sweep, true),
            SweepInsert::Existing(first) => (*first, false),
            // Another instance signed this address's nonce for another sweep
            // id: impossible with ids made of the nonce, but never sent twice.
            SweepInsert::NonceTaken => return Ok(SweepStep::Waiting),
        };
        if let Some(refusal) = chain.broadcast_raw(&sweep.txid, &sweep.raw_tx).await?
            && fresh
        {
            tracing::warn!(chain = %self.code(), sweep_id = %sweep.sweep_id, %refusal,
                "the node refused the sweep; forgotten, tried again next tick");
            self.sweeps
                .forget_signed_sweep(&sweep.chain, &sweep.sweep_id)
                .await?;
            return Ok(SweepStep::Waiting);
        }
        Ok(SweepStep::Sent)
    }

    /// Sends the address the native coin its token sweep's gas needs, as a
    /// payout of the hot wallet (its nonce shared with withdrawals').
    async fn send_top_up(
        &self,
        top_up_id: &str,
        to: &str,
        amount: Amount,
        now_unix_ms: i64,
    ) -> Result<(), EngineError> {
        let native = self.chain.native_token().cloned().ok_or_else(|| {
            ChainError::Config(format!(
                "chain {} has no native coin configured to pay gas",
                self.code()
            ))
        })?;
        self.payouts
            .sign_and_send(&self.chain, top_up_id, to, &native, amount, now_unix_ms)
            .await
    }

    /// The gas a sweep's top-up paid; it is mined before its sweep is signed.
    async fn top_up_gas(&self, payout_id: &str) -> Result<Amount, EngineError> {
        let Some(top_up) = self.payouts.signed(&self.chain, payout_id).await? else {
            return Ok(Amount::ZERO);
        };
        Ok(self
            .chain
            .mined_tx(&top_up.txid)
            .await?
            .map_or(Amount::ZERO, |mined| mined.gas))
    }
}

/// What `Sweeper::sweep` did for one balance.
enum SweepStep {
    Sent,
    ToppedUp,
    /// Nothing this tick (a top-up not mined yet, a balance the gas eats).
    Waiting,
}

/// Every token balance at `chain`'s credited deposit addresses, with its
/// threshold and whether a sweep of the address is in flight.
pub async fn waiting_balances(
    chain: &EvmChain,
    sweeps: &dyn SweepStore,
) -> Result<Vec<WaitingBalance>, EngineError> {
    let code = chain.chain().code.as_str();
    let in_flight: BTreeSet<String> = sweeps
        .open_sweeps(code)
        .await?
        .into_iter()
        .map(|sweep| sweep.from_address)
        .collect();
    let mut waiting = Vec::new();
    let mut after = String::new();
    loop {
        let page = sweeps
            .credited_deposit_addresses(code, &after, ADDRESSES_PER_PAGE)
            .await?;
        let full_page = page.len() == ADDRESSES_PER_PAGE as usize;
        for (address, derivation_index) in page {
            for (token, balance) in chain.balances(&address, |_| true).await? {
                waiting.push(WaitingBalance {
                    address: address.clone(),
                    derivation_index,
                    token_id: token.id.clone(),
                    symbol: token.symbol.clone(),
                    balance,
                    threshold: chain.config().sweep_min.get(&token.id).copied(),
                    in_flight: in_flight.contains(&address),
                });
            }
            after = address;
        }
        if !full_page {
            return Ok(waiting);
        }
    }
}

/// When the sweeps of one token from one address (newest first) ended in
/// reverts, the moment before which it is not swept again; `None` when the
/// latest did not revert, or the wait is over.
fn revert_back_off_until(history: &[SweepRecord], now_unix_ms: i64) -> Option<i64> {
    let reverts: Vec<i64> = history
        .iter()
        .map_while(|record| match &record.settled {
            Some(settled) if !settled.succeeded => Some(settled.settled_at_ms),
            _ => None,
        })
        .collect();
    let last_revert_ms = *reverts.first()?;
    let doublings = u32::try_from(reverts.len() - 1).unwrap_or(u32::MAX).min(20);
    let wait_ms = REVERT_BACK_OFF_FIRST_MS
        .saturating_mul(1_i64 << doublings)
        .min(REVERT_BACK_OFF_MAX_MS);
    let retry_at_ms = last_revert_ms.saturating_add(wait_ms);
    (now_unix_ms < retry_at_ms).then_some(retry_at_ms)
}

#[cfg(test)]
mod tests {
    use ccgate_ledger::Amount;

    use super::*;

    fn record(settled: Option<(bool, i64)>) -> SweepRecord {
        SweepRecord {
            sweep: SignedSweep {
                chain: "ETH".to_owned(),
                sweep_id: "0xA:0".to_owned(),
                from_address: "0xA".to_owned(),
                to_address: "0xHot".to_owned(),
                token_id: "usdt".to_owned(),
                amount: Amount::from_base_units(1),
                nonce: 0,
                txid: "0x1".to_owned(),
                raw_tx: "0x02".to_owned(),
                top_up_payout_id: None,
                created_at_ms: 0,
            },
            settled: settled.map(|(succeeded, settled_at_ms)| SweepSettlement {
                succeeded,
                gas_cost: Amount::from_base_units(1),
                settled_at_ms,
            }),
        }
    }

    #[test]
    fn reverted_sweeps_back_off_doubling_up_to_a_day() {
        let reverted = |at| record(Some((false, at)));
        // Nothing reverted, or the latest sweep succeeded: no wait.
        assert_eq!(revert_back_off_until(&[], 0), None);
        assert_eq!(
            revert_back_off_until(&[record(Some((true, 0))), reverted(0)], 1),
            None
        );
        // One revert: a minute after it.
        assert_eq!(
            revert_back_off_until(&[reverted(1_000)], 1_000),
            Some(61_000)
        );
        assert_eq!(revert_back_off_until(&[reverted(1_000)], 61_000), None);
        // Three in a row: four minutes after the latest; a success further
        // down breaks the run.
        let history = [
            reverted(500_000),
            reverted(300_000),
            reverted(100_000),
            record(Some((true, 0))),
            reverted(0),
        ];
        assert_eq!(
            revert_back_off_until(&history, 500_000),
            Some(500_000 + 240_000)
        );
        // Many: never more than a day.
        let many: Vec<SweepRecord> = (0..12).map(|_| reverted(0)).collect();
        assert_eq!(revert_back_off_until(&many, 0), Some(86_400_000));
        // A sweep in flight is the newest: nothing to wait for here (the
        // address is busy anyway).
        assert_eq!(revert_back_off_until(&[record(None), reverted(0)], 0), None);
    }
}
