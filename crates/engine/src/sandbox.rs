//! The sandbox's control of business time: freeze, resume, and advance — an
//! advance walks the clock through every moment something falls due on the
//! way (a devnet block that a pending transfer or payout waits for, a webhook
//! retry), settling the background work at each, so what would have happened
//! over that time happens in order, and the call returns once it has.

use std::sync::Arc;

use ccgate_chain::{ChainAdapter, ChainSet};
use ccgate_ledger::MerchantId;
use ccgate_store::{DepositStore, SandboxStore, StoredClock, WebhookFaults};
use tokio::sync::Mutex;

use crate::clock::{Clock, ClockSetting, VirtualClock, real_now_ms};
use crate::deposits::{ReorgReport, ReorgRequest};
use crate::{EngineError, Loops};

/// Rounds of ticks at one moment before an advance gives up settling: each
/// round does all the work then due, so more means a loop keeps finding work.
const SETTLE_ROUNDS_MAX: usize = 1_000;
/// Moments one advance may stop at; a longer one says so instead of hanging.
const ADVANCE_STEPS_MAX: usize = 100_000;

/// Where the clock stands, as the admin API and the CLI show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockView {
    pub now_ms: i64,
    pub frozen: bool,
    /// How far business time is ahead of the real clock.
    pub offset_ms: i64,
}

/// What an advance went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    pub clock: ClockView,
    /// Moments the clock stopped at on the way (each one settled).
    pub steps: usize,
    /// Deposits credited, withdrawals moved and webhook attempts made.
    pub work_done: usize,
}

#[derive(Debug)]
pub struct Sandbox {
    clock: Arc<VirtualClock>,
    store: Arc<dyn SandboxStore>,
    deposits: Arc<dyn DepositStore>,
    chains: Arc<ChainSet>,
    loops: Loops,
    /// Held by every background tick and by a whole advance, so an advance
    /// settles with no loop working behind its back.
    gate: Arc<Mutex<()>>,
}

impl Sandbox {
    /// The clock as last stored (running on real time if never moved).
    pub async fn load_clock(store: &dyn SandboxStore) -> Result<Arc<VirtualClock>, EngineError> {
        let setting = store
            .sandbox_clock()
            .await?
            .map(|stored| ClockSetting {
                offset_ms: stored.offset_ms,
                frozen_at_ms: stored.frozen_at_ms,
            })
            .unwrap_or_default();
        Ok(Arc::new(VirtualClock::new(setting)))
    }

    pub fn new(
        clock: Arc<VirtualClock>,
        store: Arc<dyn SandboxStore>,
        deposits: Arc<dyn DepositStore>,
        chains: Arc<ChainSet>,
        loops: Loops,
    ) -> Sandbox {
        Sandbox {
            clock,
            store,
            deposits,
            chains,
            loops,
            gate: Arc::default(),
        }
    }

    /// What background ticks hold while they work.
    pub fn gate(&self) -> Arc<Mutex<()>> {
        Arc::clone(&self.gate)
    }

    pub fn view(&self) -> ClockView {
        let setting = self.clock.setting();
        let real = real_now_ms();
        let now_ms = setting.now_at(real);
        ClockView {
            now_ms,
            frozen: setting.frozen_at_ms.is_some(),
            offset_ms: now_ms.saturating_sub(real),
        }
    }

    /// Stops business time where it is.
    pub async fn freeze(&self) -> Result<ClockView, EngineError> {
        let _gate = self.gate.lock().await;
        self.store_setting(ClockSetting::frozen(self.clock.now_unix_ms()))
            .await?;
        Ok(self.view())
    }

    /// Lets business time run on from where it stands.
    pub async fn resume(&self) -> Result<ClockView, EngineError> {
        let _gate = self.gate.lock().await;
        let now = self.clock.now_unix_ms();
        self.store_setting(ClockSetting::running_from(now, real_now_ms()))
            .await?;
        Ok(self.view())
    }

    /// Moves business time `by_ms` forward through every moment something
    /// falls due, settling the work due at each; a frozen clock stays frozen
    /// at the end, a running one runs on from there.
    pub async fn advance(&self, by_ms: u64) -> Result<Advanced, EngineError> {
        let _gate = self.gate.lock().await;
        let before = self.clock.setting();
        let start = self.clock.now_unix_ms();
        let target = start.saturating_add(i64::try_from(by_ms).unwrap_or(i64::MAX));
        let mut now = start;
        // Held still while stepping: the loops see one moment at a time.
        self.clock.set(ClockSetting::frozen(now));
        let mut steps = 0;
        let mut work_done = 0;
        let walked = async {
            loop {
                work_done += self.settle(now).await?;
                if now >= target {
                    return Ok(());
                }
                if steps == ADVANCE_STEPS_MAX {
                    return Err(EngineError::Sandbox(format!(
                        "an advance stops at {ADVANCE_STEPS_MAX} moments at most; advance in shorter steps"
                    )));
                }
                let due = self.next_due_after(now).await?;
                now = due.map_or(target, |due| due.min(target)).max(now + 1);
                self.clock.set(ClockSetting::frozen(now));
                steps += 1;
            }
        }
        .await;
        let end = if before.frozen_at_ms.is_some() {
            ClockSetting::frozen(now)
        } else {
            ClockSetting::running_from(now, real_now_ms())
        };
        self.store_setting(end).await?;
        walked?;
        Ok(Advanced {
            clock: self.view(),
            steps,
            work_done,
        })
    }

    /// Runs every loop at `now` until none finds work.
    async fn settle(&self, now: i64) -> Result<usize, EngineError> {
        let mut done = 0;
        for _ in 0..SETTLE_ROUNDS_MAX {
            let round = self.loops.watcher.tick(now).await?
                + self.loops.withdrawals.tick(now).await?
                + self.loops.sender.tick(now).await?;
            if round == 0 {
                return Ok(done);
            }
            done += round;
        }
        Err(EngineError::Sandbox(format!(
            "work was still being found after {SETTLE_ROUNDS_MAX} rounds at one moment"
        )))
    }

    /// The next moment after `now` at which something falls due: a webhook
    /// attempt, or a devnet block that a transfer not yet confirmed (a
    /// payment or a payout) waits for. `None` when nothing is waiting.
    async fn next_due_after(&self, now: i64) -> Result<Option<i64>, EngineError> {
        let mut next = self
            .store
            .next_webhook_due_ms()
            .await?
            .filter(|due| *due > now);
        for devnet in self.chains.devnets() {
            let code = devnet.chain().code.as_str();
            let Some(last) = self.store.devnet_last_transfer_height(code).await? else {
                continue;
            };
            let scanned = self.deposits.chain_cursor(code).await?;
            if scanned.is_some_and(|scanned| scanned >= last) {
                continue;
            }
            let block_at = devnet.next_block_at(now).await?;
            next = Some(next.map_or(block_at, |due| due.min(block_at)));
        }
        Ok(next)
    }

    /// A devnet reorg with no loop running beside it.
    pub async fn reorg(&self, request: &ReorgRequest) -> Result<ReorgReport, EngineError> {
        let _gate = self.gate.lock().await;
        self.loops
            .watcher
            .reorg(self.store.as_ref(), request, self.clock.now_unix_ms())
            .await
    }

    /// Injects faults (`delay=5s`, `drop=0.3`… see [`crate::faults`]) into
    /// the merchant's webhook deliveries: the next `count` of them, or all
    /// until cleared. Replaces any it had; `seed` starts their random draws.
    pub async fn set_webhook_faults(
        &self,
        app_id: &MerchantId,
        words: &[String],
        count: Option<u32>,
        seed: u64,
    ) -> Result<WebhookFaults, EngineError> {
        if count == Some(0) {
            return Err(EngineError::Sandbox(
                "--count must be at least 1 (leave it out to affect every delivery until cleared)"
                    .to_owned(),
            ));
        }
        if i64::try_from(seed).is_err() {
            return Err(EngineError::Sandbox(format!(
                "the seed must be at most {}",
                i64::MAX
            )));
        }
        let faults = WebhookFaults {
            remaining: count,
            seed,
            ..crate::faults::parse_faults(words)?
        };
        self.store.set_webhook_faults(app_id, &faults).await?;
        Ok(faults)
    }

    /// Stops injecting faults into the merchant's deliveries; `false` if it
    /// had none.
    pub async fn clear_webhook_faults(&self, app_id: &MerchantId) -> Result<bool, EngineError> {
        Ok(self.store.clear_webhook_faults(app_id).await?)
    }

    async fn store_setting(&self, setting: ClockSetting) -> Result<(), EngineError> {
        self.store
            .set_sandbox_clock(StoredClock {
                offset_ms: setting.offset_ms,
                frozen_at_ms: setting.frozen_at_ms,
            })
            .await?;
        self.clock.set(setting);
        Ok(())
    }
}
