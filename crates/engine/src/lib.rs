//! The gateway's use cases and background loops, over the store and chain
//! interfaces (never a backend): deposit addresses, the deposit watcher that
//! credits confirmed transfers, and webhook delivery. Time is passed in, so
//! every loop can be driven one tick at a time.

pub mod addresses;
pub mod amounts;
pub mod assemble;
pub mod batch_withdrawals;
pub mod clock;
pub mod console;
pub mod deposits;
pub mod devnet;
pub mod domain;
mod error;
pub mod faults;
mod ids;
pub mod merchants;
pub mod mode;
pub mod network;
pub mod notices;
pub mod orders;
pub mod outbound;
pub mod payouts;
pub mod reconcile;
pub mod records;
pub mod sandbox;
pub mod swaps;
pub mod sweeps;
pub mod triggers;
pub mod wallets;
pub mod webhooks;
pub mod withdrawals;

pub use error::{EngineError, Rejection};
pub use ids::RecordIds;

/// The background work, built once: `serve` runs it on intervals, and the
/// sandbox drives the same loops through its clock advances.
#[derive(Debug, Clone)]
pub struct Loops {
    pub watcher: std::sync::Arc<deposits::DepositWatcher>,
    pub withdrawals: std::sync::Arc<withdrawals::Withdrawals>,
    /// Executes batch withdrawals whose delay is over (decisions §29); run
    /// with the withdrawal worker, before it.
    pub batch_withdrawals: std::sync::Arc<batch_withdrawals::BatchWithdrawals>,
    pub sender: webhooks::WebhookSender,
}
