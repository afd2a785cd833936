//! Business time: "now" for order expiry, rate locks, devnet blocks,
//! confirmations, the webhook retry ladder and the times in answers. It is
//! injected so the sandbox can move it; request and webhook signature
//! timestamps always use the real clock instead (decisions §1), because the
//! SDKs checking them run on real time.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now_unix_ms(&self) -> i64;
}

/// The machine's real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> i64 {
        real_now_ms()
    }
}

pub fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Where a virtual clock stands: running `offset_ms` ahead of the real clock,
/// or stopped at `frozen_at_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockSetting {
    pub offset_ms: i64,
    pub frozen_at_ms: Option<i64>,
}

impl ClockSetting {
    pub fn now_at(&self, real_now_ms: i64) -> i64 {
        self.frozen_at_ms
            .unwrap_or_else(|| real_now_ms.saturating_add(self.offset_ms))
    }

    /// Stopped at `at_ms`.
    pub fn frozen(at_ms: i64) -> ClockSetting {
        ClockSetting {
            offset_ms: 0,
            frozen_at_ms: Some(at_ms),
        }
    }

    /// Running on from `at_ms` as the real clock ticks.
    pub fn running_from(at_ms: i64, real_now_ms: i64) -> ClockSetting {
        ClockSetting {
            offset_ms: at_ms.saturating_sub(real_now_ms),
            frozen_at_ms: None,
        }
    }
}

/// The sandbox's clock: the real clock shifted or stopped. Every process on
/// one database reads the same setting from it (the store keeps it), so the
/// server and the CLI agree on "now".
#[derive(Debug, Default)]
pub struct VirtualClock {
    setting: Mutex<ClockSetting>,
}

impl VirtualClock {
    pub fn new(setting: ClockSetting) -> VirtualClock {
        VirtualClock {
            setting: Mutex::new(setting),
        }
    }

    pub fn setting(&self) -> ClockSetting {
        *self.setting.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set(&self, setting: ClockSetting) {
        *self.setting.lock().unwrap_or_else(|p| p.into_inner()) = setting;
    }
}

impl Clock for VirtualClock {
    fn now_unix_ms(&self) -> i64 {
        self.setting().now_at(real_now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_runs_shifted_or_stands_still() {
        let running = ClockSetting::running_from(5_000, 1_000);
        assert_eq!(running.now_at(1_000), 5_000);
        assert_eq!(running.now_at(1_250), 5_250);
        let frozen = ClockSetting::frozen(9_000);
        assert_eq!(frozen.now_at(1_000), 9_000);
        assert_eq!(frozen.now_at(99_000), 9_000);
        assert_eq!(ClockSetting::default().now_at(42), 42);
    }

    #[test]
    fn the_virtual_clock_follows_its_setting() {
        let clock = VirtualClock::default();
        let real = real_now_ms();
        assert!(clock.now_unix_ms() >= real);
        clock.set(ClockSetting::frozen(7));
        assert_eq!(clock.now_unix_ms(), 7);
    }
}
