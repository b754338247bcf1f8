//! Sliding-window rate limits keyed by a string (an address, a client IP).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

/// Most keys remembered before old, idle ones are swept (bounds memory under a flood).
const SWEEP_AT: usize = 50_000;

/// At most `max` events per key in any `window`.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    seen: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl RateLimiter {
    /// A limiter allowing `max` events per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            seen: HashMap::new(),
        }
    }

    /// Records an event for `key` at `now` if it is within the limit; false when over it.
    pub fn allow(&mut self, key: &str, now: DateTime<Utc>) -> bool {
        if self.seen.len() >= SWEEP_AT {
            self.sweep(now);
        }
        let cutoff = now - self.window;
        let times = self.seen.entry(key.to_string()).or_default();
        while times.front().is_some_and(|t| *t <= cutoff) {
            times.pop_front();
        }
        if times.len() >= self.max as usize {
            return false;
        }
        times.push_back(now);
        true
    }

    fn sweep(&mut self, now: DateTime<Utc>) {
        let cutoff = now - self.window;
        self.seen
            .retain(|_, times| times.back().is_some_and(|t| *t > cutoff));
        if self.seen.len() >= SWEEP_AT {
            // Still full of live keys: forget them all rather than grow without bound.
            self.seen.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_per_window_then_recovers() {
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let mut rl = RateLimiter::new(3, Duration::hours(24));
        assert!(rl.allow("a", t0));
        assert!(rl.allow("a", t0));
        assert!(rl.allow("a", t0));
        assert!(!rl.allow("a", t0 + Duration::hours(1)), "4th in a day");
        assert!(rl.allow("b", t0), "other keys are independent");
        assert!(rl.allow("a", t0 + Duration::hours(25)), "window passed");
    }
}
