//! A token bucket: how many events per second a session may write before the server pushes back.

use std::time::Instant;

pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `rate` events per second on average, with bursts of up to `burst`.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(rate)),
            tokens: f64::from(burst.max(rate)),
            last: Instant::now(),
        }
    }

    /// Takes `n` tokens; false means over the limit. A batch larger than the burst passes when
    /// the bucket is full and leaves it in debt, so no batch size is refused for ever.
    pub fn try_take(&mut self, n: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        let n = n as f64;
        if self.tokens >= n.min(self.burst) {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_the_burst_then_the_rate() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 200);
        assert!(limiter.try_take(200, start));
        assert!(!limiter.try_take(1, start));
        assert!(limiter.try_take(50, start + Duration::from_millis(500)));
        assert!(!limiter.try_take(10, start + Duration::from_millis(500)));
    }

    #[test]
    fn a_batch_over_the_burst_passes_once_then_pays_its_debt() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(100, 100);
        assert!(limiter.try_take(300, start));
        assert!(!limiter.try_take(1, start + Duration::from_secs(2)));
        assert!(limiter.try_take(1, start + Duration::from_millis(2100)));
    }
}
