use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use time::OffsetDateTime;
use time::macros::format_description;

/// 33-digit ids like CCPayment's (decisions §3): `yyyyMMddHHmmss` (UTC),
/// milliseconds, a per-process sequence, and random digits, so ids sort by
/// time and two processes (the server and the CLI) never collide in practice.
#[derive(Debug, Default)]
pub struct RecordIds {
    sequence: AtomicU64,
}

impl RecordIds {
    pub fn next(&self, now_unix_ms: i64) -> String {
        let secs = now_unix_ms.div_euclid(1000);
        let millis = now_unix_ms.rem_euclid(1000);
        let stamp = OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| {
                t.format(format_description!(
                    "[year][month][day][hour][minute][second]"
                ))
                .ok()
            })
            .unwrap_or_else(|| "19700101000000".to_owned());
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed) % 1_000_000;
        let random: u64 = rand::rng().random_range(0..10_000_000_000);
        format!("{stamp}{millis:03}{sequence:06}{random:010}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_33_digits_and_ordered_within_a_process() {
        let ids = RecordIds::default();
        let first = ids.next(1_689_761_539_123);
        let second = ids.next(1_689_761_539_123);
        assert_eq!(first.len(), 33);
        assert!(first.starts_with("20230719101219123"));
        assert!(first.bytes().all(|b| b.is_ascii_digit()));
        assert!(first < second);
        assert!(ids.next(1_689_761_540_000) > second);
    }
}
