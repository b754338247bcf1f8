//! The one retry loop of the Graph client: which failures may be sent again, how long to wait,
//! and when to give up. Requests ([`GraphClient::send`](super::GraphClient::send)), `$batch`
//! sub-requests and token fetches all run their attempts through a [`Retry`], and all ask
//! [`Fault::is_retryable`] whether a failure may be retried.
//!
//! The server's word wins: `Retry-After` (integer seconds or an HTTP-date) and, when SharePoint
//! also sends `RateLimit-Reset` (seconds), the greater of the two. When the server names no wait,
//! exponential backoff with full jitter: a uniform wait in `[0, min(cap, base × 2^attempt)]`
//! (Graph SDK defaults: base 3 s, cap 180 s).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::Method;

use super::settings::GraphSettings;
use crate::clock::SharedClock;

/// Whether sending a request with `method` twice has the effect of sending it once, so that a
/// resend after an answer that never came (a timeout, a 504) is safe. Everything but POST; a POST
/// that is safe to repeat (adding a group member) says so itself
/// ([`GraphRequest::idempotent`](super::GraphRequest::idempotent)).
pub fn is_idempotent(method: &Method) -> bool {
    *method != Method::POST
}

/// How one attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The server answered with this status, naming `server_wait` (`Retry-After` /
    /// `RateLimit-Reset`) or not.
    Status {
        /// HTTP status.
        status: u16,
        /// The wait the server asked for.
        server_wait: Option<Duration>,
    },
    /// No connection could be made: nothing was sent.
    Connect,
    /// The connection broke while the request or the answer was on the wire.
    Broken,
    /// No answer in time: the request may have been processed.
    Timeout,
}

impl Fault {
    /// The one definition of what is retried: 429 and 503 (throttled or unavailable: not
    /// processed), connection failures and broken connections always; a 504 or a timeout (the
    /// request may have been processed) only when the request is idempotent. Nothing else.
    pub fn is_retryable(&self, idempotent: bool) -> bool {
        match self {
            Fault::Status { status, .. } => match status {
                429 | 503 => true,
                504 => idempotent,
                _ => false,
            },
            Fault::Connect | Fault::Broken => true,
            Fault::Timeout => idempotent,
        }
    }

    /// The wait the server named, if any.
    pub fn server_wait(&self) -> Option<Duration> {
        match self {
            Fault::Status { server_wait, .. } => *server_wait,
            _ => None,
        }
    }

    /// Whether the server said "slow down" (a 429, or a 503 naming a wait): the category's gate
    /// closes for every caller.
    pub fn is_throttling(&self) -> bool {
        match self {
            Fault::Status {
                status,
                server_wait,
            } => *status == 429 || (*status == 503 && server_wait.is_some()),
            _ => false,
        }
    }

    /// The fault of a failed `reqwest` send, or `None` for a failure that is not the network's
    /// (building the request, decoding), which is never retried.
    pub fn of_transport(e: &reqwest::Error) -> Option<Fault> {
        if e.is_timeout() {
            Some(Fault::Timeout)
        } else if e.is_connect() {
            Some(Fault::Connect)
        } else if e.is_request() || e.is_body() {
            Some(Fault::Broken)
        } else {
            None
        }
    }
}

/// One call's way through its attempts: counts its retries and the clock time it has spent, and
/// decides (with its [`RetryPolicy`]) whether another attempt may follow and after what wait.
///
/// Every retried operation is the same loop: attempt; on a failure, ask
/// [`Fault::is_retryable`]; if it is, [`Retry::wait_for`] names the wait and [`Retry::again`]
/// spends it (sleeping on the clock) or says the budget is gone.
#[derive(Debug)]
pub struct Retry<'a> {
    policy: &'a RetryPolicy,
    clock: &'a SharedClock,
    started: DateTime<Utc>,
    retries: u32,
}

impl<'a> Retry<'a> {
    /// A call starting now.
    pub fn start(policy: &'a RetryPolicy, clock: &'a SharedClock) -> Self {
        Self {
            policy,
            clock,
            started: clock.now(),
            retries: 0,
        }
    }

    /// Retries made so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The wait before retrying after `fault`: the server's, else backoff for the next retry.
    pub fn wait_for(&self, fault: &Fault) -> Duration {
        fault
            .server_wait()
            .unwrap_or_else(|| self.policy.backoff(self.retries))
    }

    /// Whether another attempt may follow a wait of `wait` counted from `now` (the clock's time
    /// at the answer). If so, counts the retry, waits until `now + wait` on the clock and returns
    /// `true`; if the retries or the clock-time budget are spent, returns `false` at once.
    pub async fn again(&mut self, now: DateTime<Utc>, wait: Duration) -> bool {
        if !self.policy.allows(self.retries, self.started, now, wait) {
            return false;
        }
        self.retries += 1;
        sleep_until(self.clock, now, wait).await;
        true
    }
}

/// Waits on `clock` until `from + wait` (no wait if that has passed).
pub(crate) async fn sleep_until(clock: &SharedClock, from: DateTime<Utc>, wait: Duration) {
    let target = chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| from.checked_add_signed(d))
        .unwrap_or(from);
    let now = clock.now();
    if target > now {
        clock
            .sleep((target - now).to_std().unwrap_or_default())
            .await;
    }
}

/// Retries of one token fetch after its first attempt (so 3 attempts in all: with the 2 s
/// default token timeout and backoffs of at most 0.5 and 1 s, an endpoint that never answers
/// costs under 8 s, inside a timer invocation's 10 s).
pub const TOKEN_RETRIES: u32 = 2;

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

    /// The policy of token fetches: at most [`TOKEN_RETRIES`] retries, backoff from 500 ms
    /// capped at 4 s (a refused or unreachable endpoint costs a few seconds, not minutes), an
    /// endpoint's `Retry-After` honoured within a minute of clock time.
    pub fn for_tokens() -> Self {
        Self {
            max_retries: TOKEN_RETRIES,
            max_total_wait: Duration::from_secs(60),
            base: Duration::from_millis(500),
            cap: Duration::from_secs(4),
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
    fn one_definition_of_what_is_retried() {
        let status = |status| Fault::Status {
            status,
            server_wait: None,
        };
        // (fault, retried when idempotent, retried when not)
        let cases = [
            (status(429), true, true),
            (status(503), true, true),
            (status(504), true, false),
            (status(500), false, false),
            (status(502), false, false),
            (status(401), false, false),
            (status(404), false, false),
            (Fault::Connect, true, true),
            (Fault::Broken, true, true),
            (Fault::Timeout, true, false),
        ];
        for (fault, idempotent, not) in cases {
            assert_eq!(fault.is_retryable(true), idempotent, "{fault:?} idempotent");
            assert_eq!(fault.is_retryable(false), not, "{fault:?} not idempotent");
        }
        assert!(is_idempotent(&Method::GET) && is_idempotent(&Method::PATCH));
        assert!(!is_idempotent(&Method::POST));
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
