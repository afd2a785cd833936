use std::time::{SystemTime, UNIX_EPOCH};

/// Business time ("now" for prices' age and chain heights), injected so the
/// sandbox and tests can choose it. Request timestamps are always checked
/// against the real clock instead (decisions §1).
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now_unix_ms(&self) -> i64;
}

/// The machine's real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}
