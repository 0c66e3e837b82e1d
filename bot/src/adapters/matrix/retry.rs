//! Retrying requests: the homeserver's own `retry_after_ms` on `M_LIMIT_EXCEEDED`, otherwise
//! exponential backoff with jitter, capped, for network errors and 5xx answers.

use super::api::ApiError;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long and how often a request is retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The first delay after a failure (doubled each time).
    pub base: Duration,
    /// The longest delay between two tries.
    pub cap: Duration,
    /// Give up after this long (None: never; the sync loop).
    pub give_up_after: Option<Duration>,
}

impl RetryPolicy {
    /// Sending a reply: keep trying for 10 minutes (a homeserver restart or upgrade).
    pub const SEND: RetryPolicy = RetryPolicy {
        base: Duration::from_millis(250),
        cap: Duration::from_secs(30),
        give_up_after: Some(Duration::from_secs(600)),
    };
    /// The sync loop: forever.
    pub const SYNC: RetryPolicy = RetryPolicy {
        base: Duration::from_millis(250),
        cap: Duration::from_secs(30),
        give_up_after: None,
    };
    /// Connecting at start: a minute, then the bot says why it cannot.
    pub const CONNECT: RetryPolicy = RetryPolicy {
        base: Duration::from_millis(250),
        cap: Duration::from_secs(10),
        give_up_after: Some(Duration::from_secs(60)),
    };
}

/// Exponential delays with "equal jitter": the n-th delay is uniform in
/// `[d/2, d]` with `d = min(cap, base * 2^n)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(policy: &RetryPolicy) -> Self {
        // different for every backoff: the clock, the process and a counter
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            ^ (u64::from(std::process::id()) << 32)
            ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Backoff {
            base: policy.base,
            cap: policy.cap,
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// The failures since the last [`Self::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// A uniform number in [0, 1) (xorshift64*).
    fn unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2f64.powi(self.attempt.min(30) as i32);
        let d = (self.base.as_secs_f64() * factor).min(self.cap.as_secs_f64());
        self.attempt = self.attempt.saturating_add(1);
        Duration::from_secs_f64(d * (0.5 + 0.5 * self.unit()))
    }

    /// How long to wait before retrying after `e`; None when retrying cannot help.
    pub fn delay_for(&mut self, e: &ApiError) -> Option<Duration> {
        if let Some(after) = e.retry_after() {
            // the homeserver said how long; a little jitter spreads the retries of many
            // conversations that were limited at once
            self.attempt = self.attempt.saturating_add(1);
            let extra = after.as_secs_f64() * 0.1 * self.unit();
            return Some(after + Duration::from_secs_f64(extra));
        }
        e.is_retryable().then(|| self.next_delay())
    }
}

/// Runs `op` until it succeeds, fails for good, or the policy gives up; `what` names the
/// request in the logs.
pub async fn retry<T, F, Fut>(what: &str, policy: RetryPolicy, mut op: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let started = Instant::now();
    let mut backoff = Backoff::new(&policy);
    loop {
        match op().await {
            Ok(v) => {
                if backoff.attempts() > 0 {
                    tracing::info!(
                        "matrix: {what} succeeded after {} retries",
                        backoff.attempts()
                    );
                }
                return Ok(v);
            }
            Err(e) => {
                let Some(delay) = backoff.delay_for(&e) else {
                    return Err(e);
                };
                if policy
                    .give_up_after
                    .is_some_and(|limit| started.elapsed() + delay > limit)
                {
                    return Err(e);
                }
                if backoff.attempts() == 1 || backoff.attempts().is_multiple_of(10) {
                    tracing::warn!(
                        "matrix: {what} failed ({e}); retrying in {:.1}s (attempt {})",
                        delay.as_secs_f64(),
                        backoff.attempts()
                    );
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_jitter_and_stay_under_the_cap() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            give_up_after: None,
        };
        let mut b = Backoff::new(&p);
        let mut prev_max = Duration::ZERO;
        for n in 0..20 {
            let d = b.next_delay();
            let full = (0.1 * 2f64.powi(n)).min(2.0);
            assert!(d.as_secs_f64() >= full / 2.0 - 1e-9, "{n}: {d:?}");
            assert!(d.as_secs_f64() <= full + 1e-9, "{n}: {d:?}");
            prev_max = prev_max.max(d);
        }
        assert!(prev_max <= Duration::from_secs(2));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
        // the jitter differs between tries
        let mut b = Backoff::new(&p);
        let ds: Vec<_> = (0..8)
            .map(|_| {
                b.reset();
                b.next_delay()
            })
            .collect();
        assert!(ds.windows(2).any(|w| w[0] != w[1]), "{ds:?}");
    }

    #[test]
    fn rate_limits_are_honoured_and_client_errors_not_retried() {
        let mut b = Backoff::new(&RetryPolicy::SEND);
        let limited = ApiError::Http {
            status: 429,
            errcode: "M_LIMIT_EXCEEDED".into(),
            message: "Too Many Requests".into(),
            retry_after: Some(Duration::from_millis(1500)),
            soft_logout: false,
        };
        let d = b.delay_for(&limited).unwrap();
        assert!(
            d >= Duration::from_millis(1500) && d <= Duration::from_millis(1650),
            "{d:?}"
        );
        let server = ApiError::Http {
            status: 502,
            errcode: String::new(),
            message: "Bad Gateway".into(),
            retry_after: None,
            soft_logout: false,
        };
        assert!(b.delay_for(&server).is_some());
        let forbidden = ApiError::Http {
            status: 403,
            errcode: "M_FORBIDDEN".into(),
            message: "not in room".into(),
            retry_after: None,
            soft_logout: false,
        };
        assert_eq!(b.delay_for(&forbidden), None);
    }
}
