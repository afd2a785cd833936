//! A token bucket per client IP (decisions §1: 100 requests/s by default);
//! behind trusted proxies the client is the forwarded one (decisions §5).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;

use crate::client_ip::{TrustedProxies, client_ip};
use crate::failure::Failure;

/// How many sources are remembered at once. Past it, sources whose bucket has
/// refilled (idle ones) are forgotten, which changes nothing for them.
const TRACKED_SOURCES_MAX: usize = 65_536;

#[derive(Debug)]
pub struct RateLimit {
    per_sec: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    trusted_proxies: TrustedProxies,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens in millionths, so refill needs no floating point.
    micro_tokens: u64,
    refilled_at: Instant,
}

const MICRO: u64 = 1_000_000;

impl RateLimit {
    /// Allows `per_sec` requests per second per client, with a burst of the
    /// same size; a request from one of `trusted_proxies` counts against the
    /// client it forwards for.
    pub fn new(per_sec: u32, trusted_proxies: TrustedProxies) -> RateLimit {
        RateLimit {
            per_sec: per_sec.max(1),
            buckets: Mutex::new(HashMap::new()),
            trusted_proxies,
        }
    }

    fn capacity(&self) -> u64 {
        u64::from(self.per_sec) * MICRO
    }

    /// Takes one token for `source` at `now`; false when the bucket is empty.
    pub fn try_acquire(&self, source: IpAddr, now: Instant) -> bool {
        let capacity = self.capacity();
        // A poisoned lock only means another request panicked mid-update of a
        // counter; the map is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= TRACKED_SOURCES_MAX && !buckets.contains_key(&source) {
            buckets.retain(|_, bucket| {
                refill(*bucket, now, self.per_sec, capacity).micro_tokens < capacity
            });
        }
        let bucket = buckets.entry(source).or_insert(Bucket {
            micro_tokens: capacity,
            refilled_at: now,
        });
        *bucket = refill(*bucket, now, self.per_sec, capacity);
        if bucket.micro_tokens >= MICRO {
            bucket.micro_tokens -= MICRO;
            true
        } else {
            false
        }
    }
}

fn refill(bucket: Bucket, now: Instant, per_sec: u32, capacity: u64) -> Bucket {
    let elapsed_micros = u64::try_from(
        now.saturating_duration_since(bucket.refilled_at)
            .as_micros(),
    )
    .unwrap_or(u64::MAX);
    let added = elapsed_micros.saturating_mul(u64::from(per_sec));
    Bucket {
        micro_tokens: bucket.micro_tokens.saturating_add(added).min(capacity),
        refilled_at: now,
    }
}

impl RateLimit {
    /// The refusal of `request` if its client has used up its rate; `None`
    /// lets it through.
    pub(crate) fn refusal<B>(&self, request: &Request<B>) -> Option<Response> {
        let info = request.extensions().get::<ConnectInfo<SocketAddr>>()?;
        let source = client_ip(info.0.ip(), request.headers(), &self.trusted_proxies);
        (!self.try_acquire(source, Instant::now())).then(|| {
            Failure::RateLimited {
                per_sec: self.per_sec,
            }
            .into_response_for(request.uri().path())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_source() {
        let limit = RateLimit::new(3, TrustedProxies::default());
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let t0 = Instant::now();
        assert!((0..3).all(|_| limit.try_acquire(a, t0)));
        assert!(!limit.try_acquire(a, t0));
        assert!(limit.try_acquire(b, t0), "sources are independent");
        assert!(!limit.try_acquire(a, t0 + Duration::from_millis(300)));
        assert!(limit.try_acquire(a, t0 + Duration::from_millis(340)));
        assert!((0..3).all(|_| limit.try_acquire(a, t0 + Duration::from_secs(10))));
        assert!(!limit.try_acquire(a, t0 + Duration::from_secs(10)));
    }

    #[test]
    fn memory_is_bounded() {
        let limit = RateLimit::new(1, TrustedProxies::default());
        let t0 = Instant::now();
        for i in 0..(TRACKED_SOURCES_MAX as u32 + 10) {
            limit.try_acquire(IpAddr::from(i.to_be_bytes()), t0);
        }
        let later = t0 + Duration::from_secs(5);
        limit.try_acquire([10, 0, 0, 1].into(), later);
        assert!(
            limit
                .buckets
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .len()
                < 100
        );
    }
}
