//! The sandbox's control of business time: freeze, resume, and advance — an
//! advance walks the clock through every moment something falls due on the
//! way (a devnet block that a pending transfer or payout waits for, a webhook
//! retry), settling the background work at each, so what would have happened
//! over that time happens in order, and the call returns once it has.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ccgate_chain::{ChainAdapter, ChainSet};
use ccgate_ledger::MerchantId;
use ccgate_store::{CreditStore, SandboxStore, SnapshotStore, Store, StoredClock, WebhookFaults};
use tokio::sync::Mutex;

use crate::clock::{Clock, ClockSetting, VirtualClock, real_now_ms};
use crate::deposits::{ReorgReport, ReorgRequest};
use crate::{EngineError, Loops};

/// Rounds of ticks at one moment before an advance gives up settling: each
/// round does all the work then due, so more means a loop keeps finding work.
const SETTLE_ROUNDS_MAX: usize = 1_000;
/// The longest single advance: ten years keeps every business time far
/// inside what dates and heights are computed for.
const ADVANCE_MS_MAX: u64 = 3_650 * 86_400_000;
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
    credits: Arc<dyn CreditStore>,
    chains: Arc<ChainSet>,
    loops: Loops,
    /// Held by every background tick and by a whole advance, so an advance
    /// settles with no loop working behind its back.
    gate: Arc<Mutex<()>>,
    /// Saving and restoring the whole state, when the server has a place
    /// for snapshots.
    snapshots: Option<Snapshots>,
}

/// Where snapshots are kept, and what a restore must refresh.
#[derive(Debug)]
struct Snapshots {
    dir: PathBuf,
    store: Arc<dyn SnapshotStore>,
    /// The server's caching store, emptied after a restore.
    cache: Arc<dyn Store>,
}

/// A saved snapshot, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub name: String,
    pub bytes: u64,
    /// When it was saved, on the real clock.
    pub saved_at_unix: i64,
}

impl Sandbox {
    /// The clock as last stored (running on real time if never moved).
    pub async fn load_clock(store: &dyn SandboxStore) -> Result<Arc<VirtualClock>, EngineError> {
        Ok(Arc::new(VirtualClock::new(stored_setting(store).await?)))
    }

    pub fn new(
        clock: Arc<VirtualClock>,
        store: Arc<dyn SandboxStore>,
        credits: Arc<dyn CreditStore>,
        chains: Arc<ChainSet>,
        loops: Loops,
    ) -> Sandbox {
        Sandbox {
            clock,
            store,
            credits,
            chains,
            loops,
            gate: Arc::default(),
            snapshots: None,
        }
    }

    /// Snapshots are saved in `dir` (`NAME.db`) through `store`; a restore
    /// empties `cache`, the server's read cache.
    pub fn with_snapshots(
        mut self,
        dir: PathBuf,
        store: Arc<dyn SnapshotStore>,
        cache: Arc<dyn Store>,
    ) -> Sandbox {
        self.snapshots = Some(Snapshots { dir, store, cache });
        self
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
        if by_ms > ADVANCE_MS_MAX {
            return Err(EngineError::Sandbox(format!(
                "an advance moves the clock at most {} days at once",
                ADVANCE_MS_MAX / 86_400_000
            )));
        }
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
                + self.loops.batch_withdrawals.tick(now).await?
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
            let scanned = self.credits.chain_cursor(code).await?;
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

    /// Saves the whole state as snapshot `name` (replacing one of that
    /// name), with no loop working meanwhile.
    pub async fn save_snapshot(&self, name: &str) -> Result<SnapshotInfo, EngineError> {
        let snapshots = self.snapshots()?;
        let path = snapshot_path(&snapshots.dir, name)?;
        let _gate = self.gate.lock().await;
        tokio::fs::create_dir_all(&snapshots.dir)
            .await
            .map_err(|e| io_failed("create", &snapshots.dir, &e))?;
        // Written beside it, then renamed: a snapshot is whole or absent.
        let partial = snapshots.dir.join(format!(".{name}.partial"));
        remove_if_present(&partial).await?;
        snapshots.store.save_snapshot(&partial).await?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| io_failed("rename", &partial, &e))?;
        snapshot_info(name, &path).await
    }

    /// Replaces the whole state with snapshot `name`'s, with no loop working
    /// meanwhile; the read cache is emptied and the clock set as the
    /// snapshot has it (a frozen clock exactly where it stood).
    pub async fn restore_snapshot(&self, name: &str) -> Result<ClockView, EngineError> {
        // Payouts broadcast on a real chain since the snapshot would be
        // forgotten by the restore and could be paid a second time.
        if let Some(evm) = self.chains.evm_chains().next() {
            return Err(EngineError::Sandbox(format!(
                "snapshots cannot be restored while {} follows a real node: payouts broadcast \
                 since the snapshot would be forgotten and could be paid twice",
                evm.chain().code
            )));
        }
        let snapshots = self.snapshots()?;
        let path = snapshot_path(&snapshots.dir, name)?;
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Err(no_snapshot(name));
        }
        let _gate = self.gate.lock().await;
        snapshots.store.restore_snapshot(&path).await?;
        snapshots.cache.everything_changed();
        self.clock.set(stored_setting(self.store.as_ref()).await?);
        Ok(self.view())
    }

    /// Every saved snapshot, by name.
    pub async fn list_snapshots(&self) -> Result<Vec<SnapshotInfo>, EngineError> {
        let snapshots = self.snapshots()?;
        let mut listed = Vec::new();
        let mut entries = match tokio::fs::read_dir(&snapshots.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listed),
            Err(e) => return Err(io_failed("read", &snapshots.dir, &e)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| io_failed("read", &snapshots.dir, &e))?
        {
            let file_name = entry.file_name();
            let Some(name) = file_name
                .to_str()
                .and_then(|file| file.strip_suffix(SNAPSHOT_SUFFIX))
                .filter(|name| valid_name(name))
            else {
                continue;
            };
            listed.push(snapshot_info(name, &entry.path()).await?);
        }
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    pub async fn delete_snapshot(&self, name: &str) -> Result<(), EngineError> {
        let snapshots = self.snapshots()?;
        let path = snapshot_path(&snapshots.dir, name)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(no_snapshot(name)),
            Err(e) => Err(io_failed("delete", &path, &e)),
        }
    }

    fn snapshots(&self) -> Result<&Snapshots, EngineError> {
        self.snapshots.as_ref().ok_or_else(|| {
            EngineError::Sandbox("this sandbox has no place to keep snapshots".to_owned())
        })
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

const SNAPSHOT_SUFFIX: &str = ".db";
const SNAPSHOT_NAME_MAX: usize = 64;

/// The clock's setting as stored (running on real time if never moved): what
/// the server starts from and what operator commands read "now" from.
pub async fn stored_setting(store: &dyn SandboxStore) -> Result<ClockSetting, EngineError> {
    Ok(store
        .sandbox_clock()
        .await?
        .map(|stored| ClockSetting {
            offset_ms: stored.offset_ms,
            frozen_at_ms: stored.frozen_at_ms,
        })
        .unwrap_or_default())
}

/// Letters, digits, `-`, `_` and `.` (not first), at most 64: a file name
/// that stays inside the snapshots directory.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= SNAPSHOT_NAME_MAX
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn snapshot_path(dir: &Path, name: &str) -> Result<PathBuf, EngineError> {
    if !valid_name(name) {
        return Err(EngineError::Sandbox(format!(
            "snapshot name {name:?}: use letters, digits, '-', '_' and '.' (not first), at most \
             {SNAPSHOT_NAME_MAX}"
        )));
    }
    Ok(dir.join(format!("{name}{SNAPSHOT_SUFFIX}")))
}

async fn snapshot_info(name: &str, path: &Path) -> Result<SnapshotInfo, EngineError> {
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_failed("read", path, &e))?;
    let saved_at_unix = metadata
        .modified()
        .ok()
        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    Ok(SnapshotInfo {
        name: name.to_owned(),
        bytes: metadata.len(),
        saved_at_unix,
    })
}

async fn remove_if_present(path: &Path) -> Result<(), EngineError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_failed("delete", path, &e)),
    }
}

fn no_snapshot(name: &str) -> EngineError {
    EngineError::Sandbox(format!(
        "no snapshot {name:?} (`ccgate sandbox snapshot list`)"
    ))
}

fn io_failed(what: &str, path: &Path, error: &std::io::Error) -> EngineError {
    EngineError::Sandbox(format!("{what} {}: {error}", path.display()))
}
