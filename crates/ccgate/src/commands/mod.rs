pub mod background;
pub mod bench;
pub mod bench_deposits;
pub mod bench_evm;
pub mod bench_ledger;
pub mod bench_withdrawals;
pub mod call;
pub mod coins;
pub mod cwallet;
pub mod devnet;
pub mod evm;
pub mod ledger;
pub mod listen;
pub mod merchant;
pub mod ops;
pub mod order;
pub mod sandbox;
pub mod serve;
pub mod webhooks;

use std::time::{SystemTime, UNIX_EPOCH};

/// Operator commands stamp their changes with the real clock.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
