//! The loops `serve` runs beside the HTTP server: the deposit watcher, the
//! withdrawal worker, webhook delivery and, per EVM chain with a node, the
//! sweeper and balance reconciliation. Each can be stopped and awaited, so
//! shutdown waits for the tick in progress instead of cutting it. In sandbox
//! mode each tick holds the sandbox's gate, so a clock advance (which drives
//! the same loops itself) never runs beside one. Webhook delivery is no tick
//! outside the sandbox: its dispatcher keeps claiming as deliveries finish
//! (`WebhookSender::run`), so no delivery waits for a batch to end.

use ccgate_engine::sweeps::Sweeper;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use ccgate_chain::EvmChain;
use ccgate_chain::evm::NewHeads;
use ccgate_engine::assemble::{Assembly, build_loops};
use ccgate_engine::clock::{Clock, SystemClock};
use ccgate_engine::console::Console;
use ccgate_engine::outbound::OutboundPolicy;
use ccgate_engine::reconcile::Reconciler;
use ccgate_engine::webhooks::{DeliveryConfig, OutboxBell};
use ccgate_engine::{EngineError, Loops};
use ccgate_server::Services;
use tokio::sync::{Mutex, Notify, watch};
use tokio::task::JoinHandle;

/// How often the deposit watcher looks at the chains.
const WATCH_INTERVAL_MS: u64 = 200;
/// How often due webhooks are looked for (besides whenever a delivery
/// finishes).
const DELIVERY_INTERVAL_MS: u64 = 100;
/// How often deposit addresses' balances are read for sweeping: each look
/// asks the node for every credited address's balances.
const SWEEP_INTERVAL_MS: u64 = 1_000;
/// How often expired dashboard sessions and old failed logins are deleted.
const CONSOLE_PURGE_INTERVAL_MS: u64 = 60_000;

/// The loops over `assembly`'s chains and `backend`; delivery reaches only what
/// `outbound` allows and hands its claims back once `stopped` turns `true`.
pub fn loops<B: Backend>(
    assembly: &Assembly,
    backend: &B,
    delivery: DeliveryConfig,
    outbound: OutboundPolicy,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<Loops> {
    // A credit's webhook goes out as soon as the credit commits.
    let bell = OutboxBell::default();
    // And as soon as another instance's does, on a shared PostgreSQL.
    tokio::spawn(backend.ring_on_outbox_inserts(bell.clone()));
    Ok(build_loops(
        assembly, backend, bell, delivery, outbound, stopped,
    )?)
}

/// The loops as `serve` runs them (no sweepers, no sandbox), with default
/// delivery and the simulated outbound policy: what a bench measures.
pub fn spawn_as_serve<B: Backend>(
    state: &Services,
    parts: &Assembly,
    backend: &B,
    stopped: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let loops = loops(
        parts,
        backend,
        DeliveryConfig::default(),
        OutboundPolicy::simulated(),
        stopped.clone(),
    )?;
    let heads: Vec<_> = parts.chains.evm_chains().cloned().collect();
    Ok(spawn(&loops, &[], &[], &heads, &state.clock, stopped, None))
}

/// Runs `loops`, `sweepers` and `reconcilers` on their intervals, on
/// `clock`'s time, until `stopped`; follows the heads of the `heads` chains,
/// waking the deposit watcher as each new block arrives.
pub fn spawn(
    loops: &Loops,
    sweepers: &[Sweeper],
    reconcilers: &[Reconciler],
    heads: &[Arc<EvmChain>],
    clock: &Arc<dyn Clock>,
    stopped: &watch::Receiver<bool>,
    gate: Option<Arc<Mutex<()>>>,
) -> Vec<JoinHandle<()>> {
    let every = |interval_ms, name| Every {
        interval_ms,
        name,
        stopped: stopped.clone(),
        clock: Arc::clone(clock),
        gate: gate.clone(),
        woken_by: None,
    };
    let watcher = Arc::clone(&loops.watcher);
    let withdrawals = Arc::clone(&loops.withdrawals);
    let batches = Arc::clone(&loops.batch_withdrawals);
    let sender = loops.sender.clone();
    let new_head = Arc::new(Notify::new());
    let following = {
        let clock = Arc::clone(clock);
        NewHeads {
            moved: Arc::clone(&new_head),
            now_unix_ms: Arc::new(move || clock.now_unix_ms()),
        }
    };
    let mut handles: Vec<JoinHandle<()>> = heads
        .iter()
        .map(|chain| {
            tokio::spawn(Arc::clone(chain).follow_heads(following.clone(), stopped.clone()))
        })
        .collect();
    let watching = Every {
        woken_by: Some(new_head),
        ..every(WATCH_INTERVAL_MS, "deposit watcher")
    };
    handles.extend([
        tokio::spawn(watching.run(move |now| {
            let watcher = Arc::clone(&watcher);
            async move { watcher.tick(now).await }
        })),
        tokio::spawn(every(WATCH_INTERVAL_MS, "withdrawals").run(move |now| {
            let withdrawals = Arc::clone(&withdrawals);
            let batches = Arc::clone(&batches);
            async move { Ok(batches.tick(now).await? + withdrawals.tick(now).await?) }
        })),
    ]);
    handles.push(if gate.is_some() {
        // The sandbox settles every due webhook at each moment of an advance:
        // a delivery never runs outside the gate, so none is missed.
        tokio::spawn(
            every(DELIVERY_INTERVAL_MS, "webhook delivery").run(move |now| {
                let sender = sender.clone();
                async move { sender.tick(now).await }
            }),
        )
    } else {
        tokio::spawn(sender.run(
            Arc::clone(clock),
            Duration::from_millis(DELIVERY_INTERVAL_MS),
        ))
    });
    for sweeper in sweepers {
        let sweeper = sweeper.clone();
        handles.push(tokio::spawn(every(SWEEP_INTERVAL_MS, "sweeper").run(
            move |now| {
                let sweeper = sweeper.clone();
                async move {
                    let done = sweeper.tick(now).await?;
                    Ok(done.sent + done.topped_up + done.settled)
                }
            },
        )));
    }
    for reconciler in reconcilers {
        let reconciler = reconciler.clone();
        let interval_ms = reconciler.chain().config().reconcile_interval_ms;
        handles.push(tokio::spawn(every(interval_ms, "reconciliation").run(
            move |now| {
                let reconciler = reconciler.clone();
                async move { Ok(reconciler.tick(now).await?.credited) }
            },
        )));
    }
    handles
}

/// Deletes expired dashboard sessions and failed logins past the throttle's
/// window every minute, a bounded batch at a time (decisions §36), until
/// `stopped`. On the real clock, as sessions live: a sandbox moving its
/// business clock a day ahead logs nobody out. Not under the sandbox's
/// gate: it touches nothing a clock advance drives.
pub fn purge_console(console: Arc<Console>, stopped: &watch::Receiver<bool>) -> JoinHandle<()> {
    let every = Every {
        interval_ms: CONSOLE_PURGE_INTERVAL_MS,
        name: "dashboard purge",
        stopped: stopped.clone(),
        clock: Arc::new(SystemClock),
        gate: None,
        woken_by: None,
    };
    tokio::spawn(every.run(move |now| {
        let console = Arc::clone(&console);
        async move { console.purge_expired(now).await }
    }))
}

struct Every {
    interval_ms: u64,
    name: &'static str,
    stopped: watch::Receiver<bool>,
    clock: Arc<dyn Clock>,
    gate: Option<Arc<Mutex<()>>>,
    /// Runs a tick at once when this is notified, besides every interval.
    woken_by: Option<Arc<Notify>>,
}

impl Every {
    /// Runs `tick` until told to stop: again at once while it finds work (a
    /// backlog drains at full speed), every `interval_ms` while idle. A failing
    /// tick is logged and retried at the next interval: the work it did not
    /// finish is still in the database.
    async fn run<F, Fut>(mut self, tick: F)
    where
        F: Fn(i64) -> Fut,
        Fut: Future<Output = Result<usize, EngineError>>,
    {
        let mut interval = tokio::time::interval(Duration::from_millis(self.interval_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let woken_by = self.woken_by.clone();
        let woken = || async {
            match &woken_by {
                Some(notify) => notify.notified().await,
                None => std::future::pending().await,
            }
        };
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                () = woken() => {}
                _ = self.stopped.changed() => return,
            }
            loop {
                let done = {
                    let _held = match &self.gate {
                        Some(gate) => Some(gate.lock().await),
                        None => None,
                    };
                    // Read under the gate: an advance may have moved it.
                    tick(self.clock.now_unix_ms()).await
                };
                match done {
                    Ok(0) => break,
                    Ok(_) if *self.stopped.borrow() => return,
                    Ok(_) => continue,
                    Err(err) => {
                        tracing::error!(error = %err, loop_name = self.name, "background tick failed");
                        break;
                    }
                }
            }
        }
    }
}
