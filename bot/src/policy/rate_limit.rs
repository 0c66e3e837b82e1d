//! Token buckets per user and for everyone together.

use crate::config::security::{Rate, RateLimitConfig};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Bucket {
            tokens: rate.capacity as f64,
            last: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let per_sec = 1.0 / rate.refill.as_secs_f64();
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * per_sec).min(rate.capacity as f64);
        self.last = now;
    }

    /// How long until one token is there (zero when there is one).
    fn wait(&self, rate: Rate) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            rate.refill.mul_f64(1.0 - self.tokens)
        }
    }
}

/// Which limit was hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    User(Duration),
    Global(Duration),
}

#[derive(Debug, Default)]
pub struct Limiter {
    config: RateLimitConfig,
    users: Mutex<HashMap<String, Bucket>>,
    global: Mutex<Option<Bucket>>,
}

impl Limiter {
    pub fn new(config: RateLimitConfig) -> Self {
        Limiter {
            config,
            ..Default::default()
        }
    }

    /// Takes a token from the user's bucket and the global one, or says how long to wait.
    /// Nothing is taken when either is empty.
    pub fn take(&self, user: &str, now: Instant) -> Result<(), Limited> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let mut global = self.global.lock().unwrap_or_else(|e| e.into_inner());
        let mut ub = None;
        if let Some(rate) = self.config.per_user {
            let b = users
                .entry(user.to_string())
                .or_insert_with(|| Bucket::full(rate, now));
            b.refill(rate, now);
            let w = b.wait(rate);
            if !w.is_zero() {
                return Err(Limited::User(w));
            }
            ub = Some(rate);
        }
        if let Some(rate) = self.config.global {
            let b = global.get_or_insert_with(|| Bucket::full(rate, now));
            b.refill(rate, now);
            let w = b.wait(rate);
            if !w.is_zero() {
                return Err(Limited::Global(w));
            }
            b.tokens -= 1.0;
        }
        if ub.is_some() {
            if let Some(b) = users.get_mut(user) {
                b.tokens -= 1.0;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_empty_and_refill() {
        let l = Limiter::new(RateLimitConfig {
            per_user: Some(Rate {
                capacity: 2,
                refill: Duration::from_secs(10),
            }),
            global: Some(Rate {
                capacity: 3,
                refill: Duration::from_secs(1),
            }),
        });
        let t = Instant::now();
        assert!(l.take("a", t).is_ok());
        assert!(l.take("a", t).is_ok());
        match l.take("a", t) {
            Err(Limited::User(w)) => assert_eq!(w, Duration::from_secs(10)),
            other => panic!("{other:?}"),
        }
        assert!(l.take("b", t).is_ok());
        assert!(matches!(l.take("c", t), Err(Limited::Global(_))));
        assert!(l.take("a", t + Duration::from_secs(10)).is_ok());
    }
}
