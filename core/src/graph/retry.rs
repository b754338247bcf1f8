//! Retry policy: which responses are retried, how long to wait, and when to give up.
//!
//! The server's word wins: `Retry-After` (integer seconds or an HTTP-date) and, when SharePoint
//! also sends `RateLimit-Reset` (seconds), the greater of the two. When the server names no wait,
//! exponential backoff with full jitter: a uniform wait in `[0, min(cap, base × 2^attempt)]`
//! (Graph SDK defaults: base 3 s, cap 180 s).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;

use super::settings::GraphSettings;

/// How many times and how long a call may retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Most clock time one call may spend waiting in total.
    pub max_total_wait: Duration,
    /// Backoff base when no wait is named.
    pub base: Duration,
    /// Cap of one backoff wait.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The policy named by the settings.
    pub fn from_settings(s: &GraphSettings) -> Self {
        Self {
            max_retries: s.max_retries,
            max_total_wait: s.max_total_wait,
            base: s.backoff_base,
            cap: s.backoff_cap,
        }
    }

    /// Full-jitter exponential backoff for retry number `attempt` (0 for the first retry).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .checked_mul(2u32.saturating_pow(attempt.min(31)))
            .unwrap_or(self.cap)
            .min(self.cap);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }

    /// Whether a call that started at `started` may wait `wait` more after `retries_done` retries.
    pub fn allows(
        &self,
        retries_done: u32,
        started: DateTime<Utc>,
        now: DateTime<Utc>,
        wait: Duration,
    ) -> bool {
        let spent = (now - started).to_std().unwrap_or_default();
        retries_done < self.max_retries && spent.saturating_add(wait) <= self.max_total_wait
    }
}

/// Whether this status is retried: 429 (throttled), 503 (unavailable, SharePoint throttling),
/// 504 (gateway timeout).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// The wait the server asks for, from `Retry-After` (seconds or HTTP-date, relative to `now`)
/// and `RateLimit-Reset` (seconds), whichever is greater; `None` when neither is usable.
pub fn server_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    server_wait_from(get("retry-after"), get("ratelimit-reset"), now)
}

/// [`server_wait`] over raw header values (also used for `$batch` sub-response headers).
pub fn server_wait_from(
    retry_after: Option<&str>,
    ratelimit_reset: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let a = retry_after.and_then(|v| parse_retry_after(v, now));
    let b = ratelimit_reset.and_then(|v| v.trim().parse::<u64>().ok().map(Duration::from_secs));
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Parses a `Retry-After` value: delta seconds, or an HTTP-date (IMF-fixdate) relative to `now`
/// (a date in the past means "now": zero).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
        return None;
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).single().unwrap()
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("7", t0()), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 12:00:42 GMT", t0()),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", t0()),
            Some(Duration::ZERO),
            "past date means now"
        );
        assert_eq!(parse_retry_after("soon", t0()), None);
        assert_eq!(parse_retry_after("-3", t0()), None);
    }

    #[test]
    fn greater_of_retry_after_and_ratelimit_reset() {
        assert_eq!(
            server_wait_from(Some("2"), Some("9"), t0()),
            Some(Duration::from_secs(9))
        );
        assert_eq!(
            server_wait_from(Some("12"), Some("9"), t0()),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            server_wait_from(None, Some("4"), t0()),
            Some(Duration::from_secs(4))
        );
        assert_eq!(server_wait_from(None, None, t0()), None);
    }

    #[test]
    fn backoff_is_bounded_by_exponential_ceiling_and_cap() {
        let p = RetryPolicy {
            max_retries: 10,
            max_total_wait: Duration::from_secs(1000),
            base: Duration::from_secs(3),
            cap: Duration::from_secs(180),
        };
        for attempt in 0..20 {
            let ceiling = Duration::from_secs(3 * 2u64.pow(attempt.min(10))).min(p.cap);
            for _ in 0..50 {
                assert!(p.backoff(attempt) <= ceiling);
            }
        }
    }

    #[test]
    fn budget_counts_retries_and_time() {
        let p = RetryPolicy {
            max_retries: 2,
            max_total_wait: Duration::from_secs(60),
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
        };
        assert!(p.allows(0, t0(), t0(), Duration::from_secs(60)));
        assert!(!p.allows(0, t0(), t0(), Duration::from_secs(61)));
        assert!(!p.allows(2, t0(), t0(), Duration::ZERO));
        let later = t0() + chrono::Duration::seconds(50);
        assert!(!p.allows(1, t0(), later, Duration::from_secs(11)));
    }
}
