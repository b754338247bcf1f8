//! The simulator's clock: every window, expiry and timestamp reads it, so tests can make
//! simulated days pass in milliseconds.

use chrono::{DateTime, TimeZone, Utc};
use parking_lot::Mutex;
use std::fmt;
use std::sync::Arc;

/// A source of "now" that the simulator's clock adds its offset to.
type Source = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Clock shared by every part of the simulator (cheap to clone; clones share state).
///
/// The clock is a time source plus an offset: a manual clock has a frozen source, a system
/// clock follows wall time, and `from_fn` follows whatever the caller supplies (for example
/// the product's own manual clock). `set` and `advance` move the offset in every case.
#[derive(Clone)]
pub struct SimClock {
    source: Source,
    offset: Arc<Mutex<chrono::Duration>>,
}

impl fmt::Debug for SimClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimClock")
            .field("now", &self.now())
            .finish()
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::manual_default()
    }
}

impl SimClock {
    /// A manual clock frozen at `start`; it only moves through `set` and `advance`.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self::from_fn(Arc::new(move || start))
    }

    /// A manual clock starting at 2026-01-05 09:00 UTC (a Monday morning).
    pub fn manual_default() -> Self {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        Self::manual(start)
    }

    /// A clock that follows wall time.
    pub fn system() -> Self {
        Self::from_fn(Arc::new(Utc::now))
    }

    /// A clock that follows `source` (plus any offset applied later with `set`/`advance`).
    pub fn from_fn(source: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Self {
        Self {
            source,
            offset: Arc::new(Mutex::new(chrono::Duration::zero())),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        (self.source)() + *self.offset.lock()
    }

    /// Jump to `at` (forwards or backwards).
    pub fn set(&self, at: DateTime<Utc>) {
        let base = (self.source)();
        *self.offset.lock() = at - base;
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let step = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut offset = self.offset.lock();
        *offset = offset.checked_add(&step).unwrap_or(*offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = SimClock::manual_default();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(90));
        assert_eq!((clock.now() - t0).num_seconds(), 90);
        let shared = clock.clone();
        shared.set(t0);
        assert_eq!(clock.now(), t0);
    }

    #[test]
    fn from_fn_follows_the_source() {
        let cell = Arc::new(Mutex::new(Utc::now()));
        let src = cell.clone();
        let clock = SimClock::from_fn(Arc::new(move || *src.lock()));
        let t = *cell.lock() + chrono::Duration::hours(5);
        *cell.lock() = t;
        assert_eq!(clock.now(), t);
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), t + chrono::Duration::seconds(1));
    }
}
