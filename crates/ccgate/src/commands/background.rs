//! The loops `serve` runs beside the HTTP server: the deposit watcher, the
//! withdrawal worker and webhook delivery. Each can be stopped and awaited, so shutdown waits for
//! the tick in progress instead of cutting it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use ccgate_engine::EngineError;
use ccgate_engine::deposits::DepositWatcher;
use ccgate_engine::webhooks::{DeliveryConfig, WebhookSender};
use ccgate_server::AppState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the deposit watcher looks at the chains.
const WATCH_INTERVAL_MS: u64 = 200;
/// How often due webhooks are looked for.
const DELIVERY_INTERVAL_MS: u64 = 100;

pub fn spawn<B: Backend>(
    state: &AppState,
    backend: &B,
    delivery: DeliveryConfig,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let backend = Arc::new(backend.clone());
    let watcher = Arc::new(DepositWatcher::new(
        Arc::clone(&state.registry),
        Arc::clone(&state.chains),
        Arc::clone(&state.store),
        backend.clone(),
    ));
    let sender = WebhookSender::new(backend.clone(), Arc::clone(&state.store), backend, delivery)?
        .hand_back_when(stopped.clone());
    let clock = Arc::clone(&state.clock);
    let watch_clock = Arc::clone(&clock);
    let payout_clock = Arc::clone(&clock);
    let withdrawals = Arc::clone(&state.withdrawals);
    Ok(vec![
        tokio::spawn(every(
            WATCH_INTERVAL_MS,
            "deposit watcher",
            stopped.clone(),
            move || {
                let watcher = Arc::clone(&watcher);
                let now = watch_clock.now_unix_ms();
                async move { watcher.tick(now).await }
            },
        )),
        tokio::spawn(every(
            WATCH_INTERVAL_MS,
            "withdrawals",
            stopped.clone(),
            move || {
                let withdrawals = Arc::clone(&withdrawals);
                let now = payout_clock.now_unix_ms();
                async move { withdrawals.tick(now).await }
            },
        )),
        tokio::spawn(every(
            DELIVERY_INTERVAL_MS,
            "webhook delivery",
            stopped,
            move || {
                let sender = sender.clone();
                let now = clock.now_unix_ms();
                async move { sender.tick(now).await }
            },
        )),
    ])
}

/// Runs `tick` until told to stop: again at once while it finds work (a
/// backlog drains at full speed), every `interval_ms` while idle. A failing
/// tick is logged and retried at the next interval: the work it did not finish
/// is still in the database.
async fn every<F, Fut>(
    interval_ms: u64,
    name: &'static str,
    mut stopped: watch::Receiver<bool>,
    tick: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize, EngineError>>,
{
    let mut interval = tokio::time::interval(Duration::from_millis(interval_ms));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                loop {
                    match tick().await {
                        Ok(0) => break,
                        Ok(_) if *stopped.borrow() => return,
                        Ok(_) => continue,
                        Err(err) => {
                            tracing::error!(error = %err, loop_name = name, "background tick failed");
                            break;
                        }
                    }
                }
            }
            _ = stopped.changed() => return,
        }
    }
}
