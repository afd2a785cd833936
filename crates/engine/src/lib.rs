//! The gateway's use cases and background loops, over the store and chain
//! interfaces (never a backend): deposit addresses, the deposit watcher that
//! credits confirmed transfers, and webhook delivery. Time is passed in, so
//! every loop can be driven one tick at a time.

pub mod addresses;
pub mod deposits;
pub mod devnet;
mod error;
mod ids;
pub mod orders;
pub mod webhooks;
pub mod withdrawals;

pub use error::EngineError;
pub use ids::RecordIds;
