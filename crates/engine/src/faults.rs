//! Webhook fault injection (sandbox only): what an operator writes
//! (`delay=5s drop=0.3 duplicate=0.2 reorder bad-signature status=500`), and
//! the repeatable draw that decides, per delivery, which probabilistic faults
//! fire.
//!
//! The draw is seeded, so a test can rely on its outcomes: the `n`-th delivery
//! under a fault set (`n` from 0) draws, for each probabilistic fault `k`
//! (`drop` = 1, `duplicate` = 2), `splitmix64(seed + n × 0x9E3779B97F4A7C15 +
//! k) mod 1 000 000`, and the fault fires when that is below its probability
//! in millionths — so `drop=1` always drops and `drop=0` never does.

use std::time::Duration;

use ccgate_store::{TakenFault, WebhookFaults};

use crate::EngineError;

/// Probabilities are kept in millionths: exact, and no float anywhere.
const PPM_ONE: u32 = 1_000_000;
/// The longest `delay=`: a delivery holds its claim while it waits.
pub const DELAY_MAX: Duration = Duration::from_secs(60);
const DROP_DRAW: u64 = 1;
const DUPLICATE_DRAW: u64 = 2;

/// Reads the operator's fault words into a fault set (`remaining` and
/// `seed` come separately).
pub fn parse_faults(words: &[String]) -> Result<WebhookFaults, EngineError> {
    if words.is_empty() {
        return Err(invalid(
            "name at least one fault: delay=5s, drop=0.3, duplicate=0.2, reorder, bad-signature or status=500",
        ));
    }
    let mut faults = WebhookFaults::default();
    for word in words {
        let word = word.trim();
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim())),
            None => (word, None),
        };
        match (name, value) {
            ("delay", Some(value)) => {
                let delay = humantime::parse_duration(value).map_err(|e| {
                    invalid(format!(
                        "delay={value} is not a duration like 5s or 250ms: {e}"
                    ))
                })?;
                if delay > DELAY_MAX {
                    return Err(invalid(format!(
                        "delay={value} is longer than the {} s a delivery may be held",
                        DELAY_MAX.as_secs()
                    )));
                }
                faults.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            }
            ("drop", Some(value)) => faults.drop_ppm = parse_probability(name, value)?,
            ("duplicate", Some(value)) => faults.duplicate_ppm = parse_probability(name, value)?,
            ("reorder", None) => faults.reorder = true,
            ("bad-signature", None) => faults.bad_signature = true,
            ("status", Some(value)) => {
                let status: u16 = value
                    .parse()
                    .ok()
                    .filter(|status| (400..=599).contains(status))
                    .ok_or_else(|| {
                        invalid(format!(
                            "status={value}: give an HTTP error status, 400 to 599"
                        ))
                    })?;
                faults.status = Some(status);
            }
            _ => {
                return Err(invalid(format!(
                    "unknown fault {word:?}: use delay=5s, drop=0.3, duplicate=0.2, reorder, \
                     bad-signature or status=500"
                )));
            }
        }
    }
    Ok(faults)
}

/// `0`, `1` or a decimal fraction between them with at most 6 places, in
/// millionths.
fn parse_probability(name: &str, value: &str) -> Result<u32, EngineError> {
    let refused = || {
        invalid(format!(
            "{name}={value}: give a probability from 0 to 1, such as 0.3"
        ))
    };
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 6 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused());
    }
    let whole: u32 = match whole {
        "0" | "" => 0,
        "1" => 1,
        _ => return Err(refused()),
    };
    let millionths: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<6}").parse().map_err(|_| refused())?
    };
    let ppm = whole * PPM_ONE + millionths;
    if ppm > PPM_ONE || (whole == 0 && fraction.is_empty() && value != "0") {
        return Err(refused());
    }
    Ok(ppm)
}

/// `0.3` for 300 000 millionths.
fn probability_text(ppm: u32) -> String {
    let whole = ppm / PPM_ONE;
    let fraction = format!("{:06}", ppm % PPM_ONE);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// The fault words of a set, as an operator would write them.
pub fn describe(faults: &WebhookFaults) -> Vec<String> {
    let mut words = Vec::new();
    if faults.delay_ms > 0 {
        words.push(format!(
            "delay={}",
            humantime::format_duration(Duration::from_millis(faults.delay_ms))
        ));
    }
    if faults.drop_ppm > 0 {
        words.push(format!("drop={}", probability_text(faults.drop_ppm)));
    }
    if faults.duplicate_ppm > 0 {
        words.push(format!(
            "duplicate={}",
            probability_text(faults.duplicate_ppm)
        ));
    }
    if faults.reorder {
        words.push("reorder".to_owned());
    }
    if faults.bad_signature {
        words.push("bad-signature".to_owned());
    }
    if let Some(status) = faults.status {
        words.push(format!("status={status}"));
    }
    words
}

/// What happens to one delivery, decided before it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryFaults {
    pub delay: Duration,
    pub dropped: bool,
    pub duplicated: bool,
    pub reordered: bool,
    pub bad_signature: bool,
    pub status: Option<u16>,
}

impl DeliveryFaults {
    pub fn draw(taken: &TakenFault) -> DeliveryFaults {
        let faults = &taken.faults;
        let fires = |ppm: u32, draw: u64| {
            let roll = splitmix64(
                faults
                    .seed
                    .wrapping_add(taken.sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                    .wrapping_add(draw),
            ) % u64::from(PPM_ONE);
            roll < u64::from(ppm)
        };
        DeliveryFaults {
            delay: Duration::from_millis(faults.delay_ms),
            dropped: fires(faults.drop_ppm, DROP_DRAW),
            duplicated: fires(faults.duplicate_ppm, DUPLICATE_DRAW),
            reordered: faults.reorder,
            bad_signature: faults.bad_signature,
            status: faults.status,
        }
    }

    /// What was done to the delivery, for its attempt's outcome (`dropped`,
    /// `delayed 5s, sent twice`…); empty when nothing fired.
    pub fn labels(&self) -> Vec<String> {
        let mut labels = Vec::new();
        if self.reordered {
            labels.push("reordered (batch sent newest first)".to_owned());
        }
        if self.dropped {
            labels.push("dropped (not sent)".to_owned());
            return labels;
        }
        if !self.delay.is_zero() {
            labels.push(format!(
                "delayed {}",
                humantime::format_duration(self.delay)
            ));
        }
        if self.bad_signature {
            labels.push("bad signature".to_owned());
        }
        if self.duplicated {
            labels.push("sent twice".to_owned());
        }
        if let Some(status) = self.status {
            labels.push(format!("treated as HTTP {status}"));
        }
        labels
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a fixed, documented mix, so the
/// draws never change with a library version.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::Sandbox(message.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn fault_words_read_exactly_and_describe_back() {
        let faults = parse_faults(&words(
            "delay=5s drop=0.3 duplicate=1 reorder bad-signature status=500",
        ))
        .unwrap();
        assert_eq!(faults.delay_ms, 5_000);
        assert_eq!(faults.drop_ppm, 300_000);
        assert_eq!(faults.duplicate_ppm, 1_000_000);
        assert!(faults.reorder && faults.bad_signature);
        assert_eq!(faults.status, Some(500));
        assert_eq!(
            describe(&faults),
            words("delay=5s drop=0.3 duplicate=1 reorder bad-signature status=500")
        );
        for refused in [
            "",
            "drop=1.5",
            "drop=-0.1",
            "drop=0.1234567",
            "drop=.",
            "drop",
            "status=200",
            "status=abc",
            "delay=2h",
            "reorder=1",
            "explode",
        ] {
            assert!(parse_faults(&words(refused)).is_err(), "{refused:?}");
        }
        assert_eq!(parse_probability("drop", "0").unwrap(), 0);
        assert_eq!(parse_probability("drop", ".25").unwrap(), 250_000);
        assert_eq!(parse_probability("drop", "1.000").unwrap(), 1_000_000);
    }

    #[test]
    fn draws_are_repeatable_and_certainties_are_certain() {
        let taken = |drop_ppm, seed, sequence| TakenFault {
            faults: WebhookFaults {
                drop_ppm,
                seed,
                ..WebhookFaults::default()
            },
            sequence,
        };
        for sequence in 0..1_000 {
            assert!(DeliveryFaults::draw(&taken(PPM_ONE, 7, sequence)).dropped);
            assert!(!DeliveryFaults::draw(&taken(0, 7, sequence)).dropped);
        }
        let run = |seed| -> Vec<bool> {
            (0..64)
                .map(|n| DeliveryFaults::draw(&taken(300_000, seed, n)).dropped)
                .collect()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let dropped = (0..10_000)
            .filter(|n| DeliveryFaults::draw(&taken(300_000, 1, *n)).dropped)
            .count();
        assert!((2_700..3_300).contains(&dropped), "{dropped} of 10 000");
    }
}
