//! Injected time. Production code never calls `Utc::now()` or `tokio::time::sleep` directly:
//! it asks a [`Clock`], so tests, benchmarks and `worker run-once --now` can move time instead of
//! waiting for it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// A source of the current time that can also wait.
#[async_trait]
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Waits for `duration` of this clock's time to pass.
    async fn sleep(&self, duration: Duration);
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock, waiting with tokio timers.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock that only moves when told to. `sleep` jumps the clock forward to the end of the wait
/// (never backwards), so simulated days pass in microseconds while every deadline is still honoured.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing still at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `duration`.
    pub fn advance(&self, duration: Duration) {
        let step = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        let mut now = self.now.lock();
        *now = now.checked_add_signed(step).unwrap_or(*now);
    }

    /// Sets the clock to `instant` if that is later than now (time never runs backwards).
    pub fn advance_to(&self, instant: DateTime<Utc>) {
        let mut now = self.now.lock();
        if instant > *now {
            *now = instant;
        }
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }

    async fn sleep(&self, duration: Duration) {
        let start = self.now();
        let end = chrono::Duration::from_std(duration)
            .ok()
            .and_then(|d| start.checked_add_signed(d))
            .unwrap_or(start);
        self.advance_to(end);
        // Let other tasks observe the new time before we continue.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn manual_clock_sleep_moves_time_forward_only() {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid date");
        let clock = ManualClock::new(start);
        clock.sleep(Duration::from_secs(60)).await;
        assert_eq!(clock.now(), start + chrono::Duration::seconds(60));
        clock.advance_to(start);
        assert_eq!(
            clock.now(),
            start + chrono::Duration::seconds(60),
            "never backwards"
        );
        clock.advance(Duration::from_secs(3600));
        assert_eq!(clock.now(), start + chrono::Duration::seconds(3660));
    }
}

/// Wall time running `speed` times faster than real time from `start` (local demo mode:
/// reminders and escalations arrive while you watch). Sleeps last `1/speed` of their length.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    start: DateTime<Utc>,
    real_start: std::time::Instant,
    speed: f64,
}

impl ScaledClock {
    /// A clock at `start` that runs `speed` (≥ 1) times faster than real time.
    pub fn new(start: DateTime<Utc>, speed: f64) -> Self {
        Self {
            start,
            real_start: std::time::Instant::now(),
            speed: speed.max(1.0),
        }
    }
}

#[async_trait]
impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.real_start.elapsed().as_secs_f64() * self.speed;
        let step = chrono::Duration::milliseconds((elapsed * 1000.0) as i64);
        self.start.checked_add_signed(step).unwrap_or(self.start)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration.div_f64(self.speed)).await;
    }
}
