//! Per-category throttling: a gate that a 429 closes for everyone, and an adaptive (AIMD)
//! concurrency limit.
//!
//! Graph throttles per service (identity, reports, Outlook per mailbox, SharePoint), so the client
//! keeps one gate-and-limiter state per [`Category`]. A request first waits (on the injected clock)
//! until the category's gate is open, then takes a concurrency permit. A 429 closes the gate until
//! the server's `Retry-After` instant and halves the concurrency limit; a run of successes as long
//! as the current limit raises it by one, never above the category's ceiling.
//!
//! Where Microsoft publishes a plain request rate (mail: 30 messages a minute per mailbox;
//! reports: 5 requests in 10 s), the category also has a rolling window so the client paces
//! itself below the limit instead of learning it from 429s: with several requests in flight, a
//! 429 means the others were already sent into a throttled service.
//!
//! The service stamps a request when it arrives, somewhere between the client's send and its
//! answer, so a window slot is held from the send until the answer and then counts from the
//! answer: the next request into a full window can never reach the service less than a window
//! after the one it replaces, however long either spent on the wire.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::settings::GraphSettings;
use crate::clock::SharedClock;

/// A Graph throttling scope. Each has its own gate, concurrency limit and counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Identity and access: users, groups, directory objects, authentication methods.
    Identity,
    /// Reports, including the authentication-methods registration report, and per-user
    /// authentication-method reads (Graph may count them against the reports limit).
    Reports,
    /// Outlook/Exchange, per sending mailbox (lower-cased UPN).
    Mail(String),
    /// SharePoint sites and lists.
    SharePoint,
    /// Anything else.
    Other,
}

impl Category {
    /// The mail category of `mailbox` (case-insensitive).
    pub fn mail(mailbox: &str) -> Self {
        Category::Mail(mailbox.to_ascii_lowercase())
    }

    /// Classifies a Graph path (with or without version prefix), used for `$batch` sub-requests.
    pub fn for_path(path: &str) -> Self {
        let path = path.split('?').next().unwrap_or_default();
        let segs: Vec<&str> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != "v1.0" && *s != "beta")
            .collect();
        match segs.as_slice() {
            // Graph may count per-user method reads against the reports limit: treat them so.
            ["reports", ..] | ["users", _, "authentication", "methods"] => Category::Reports,
            ["sites", ..] => Category::SharePoint,
            ["users", who, "sendMail"] => {
                Category::mail(&percent_encoding::percent_decode_str(who).decode_utf8_lossy())
            }
            ["users" | "groups" | "directoryObjects" | "me", ..] => Category::Identity,
            _ => Category::Other,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Category::Identity => f.write_str("identity"),
            Category::Reports => f.write_str("reports"),
            Category::Mail(m) => write!(f, "mail:{m}"),
            Category::SharePoint => f.write_str("sharepoint"),
            Category::Other => f.write_str("other"),
        }
    }
}

/// Counters of one category, for benchmarks and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CategoryStats {
    /// HTTP requests sent (each attempt counts; a `$batch` envelope counts once).
    pub requests: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// 429 responses seen (including `$batch` sub-responses).
    pub throttled: u64,
    /// Current concurrency limit.
    pub limit: usize,
    /// Most requests ever in flight at once.
    pub peak_in_flight: usize,
    /// Requests in flight now (holding a concurrency slot).
    pub in_flight: usize,
}

/// Counters of every category seen so far.
pub type GraphStats = BTreeMap<Category, CategoryStats>;

/// One send in a category's rate window: in flight (counts until answered) or answered at `at`.
#[derive(Debug, Clone, Copy)]
struct Sent {
    id: usize,
    at: DateTime<Utc>,
    answered: bool,
}

#[derive(Debug)]
struct Aimd {
    limit: usize,
    in_flight: usize,
    peak: usize,
    successes: usize,
}

/// State of one category: gate, AIMD limiter, counters.
#[derive(Debug)]
pub(crate) struct CategoryState {
    max: usize,
    rate: Option<(usize, chrono::Duration)>,
    sent: Mutex<VecDeque<Sent>>,
    next_slot: AtomicUsize,
    gate: Mutex<Option<DateTime<Utc>>>,
    aimd: Mutex<Aimd>,
    released: Notify,
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) throttled: AtomicU64,
}

/// A concurrency permit and the request's rate slot; dropping it (once the answer is in) frees
/// the concurrency slot and starts the rate slot's window at the clock's now.
#[derive(Debug)]
pub(crate) struct Permit {
    state: Arc<CategoryState>,
    rate: Option<RateSlot>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        drop(self.rate.take());
        {
            let mut a = self.state.aimd.lock();
            a.in_flight = a.in_flight.saturating_sub(1);
        }
        self.state.released.notify_waiters();
    }
}

/// A taken slot in a category's rate window. It counts as in flight until dropped, then as sent
/// at the clock's now (the latest instant the service can have stamped the request).
pub(crate) struct RateSlot {
    state: Arc<CategoryState>,
    clock: SharedClock,
    id: usize,
}

impl fmt::Debug for RateSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateSlot").field("id", &self.id).finish()
    }
}

impl Drop for RateSlot {
    fn drop(&mut self) {
        let now = self.clock.now();
        let mut sent = self.state.sent.lock();
        if let Some(s) = sent.iter_mut().find(|s| s.id == self.id) {
            s.at = s.at.max(now);
            s.answered = true;
        }
        drop(sent);
        self.state.released.notify_waiters();
    }
}

impl CategoryState {
    fn new(max: usize, rate: Option<(usize, Duration)>) -> Self {
        let max = max.max(1);
        Self {
            max,
            rate: rate
                .filter(|(n, _)| *n > 0)
                .map(|(n, per)| (n, chrono::Duration::from_std(per).unwrap_or_default())),
            sent: Mutex::new(VecDeque::new()),
            next_slot: AtomicUsize::new(0),
            gate: Mutex::new(None),
            aimd: Mutex::new(Aimd {
                limit: max,
                in_flight: 0,
                peak: 0,
                successes: 0,
            }),
            released: Notify::new(),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// The instant the gate reopens, if it is closed at `now`.
    pub(crate) fn closed_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (*self.gate.lock()).filter(|until| *until > now)
    }

    /// Waits until the gate is open (on the clock).
    pub(crate) async fn wait_gate(&self, clock: &SharedClock) {
        loop {
            let now = clock.now();
            match self.closed_until(now) {
                Some(until) => {
                    clock
                        .sleep((until - now).to_std().unwrap_or_default())
                        .await
                }
                None => return,
            }
        }
    }

    /// Waits for an open gate and a free slot; re-checks the gate after getting the slot, so a
    /// 429 seen while queueing still holds everyone back.
    /// Also takes a slot in the rate window, waiting for one to free.
    pub(crate) async fn acquire(self: &Arc<Self>, clock: &SharedClock) -> Permit {
        loop {
            self.wait_gate(clock).await;
            let mut permit = self.slot().await;
            let now = clock.now();
            if self.closed_until(now).is_some() {
                continue;
            }
            match self.try_take(clock, now) {
                Ok(rate) => {
                    permit.rate = rate;
                    return permit;
                }
                Err(free_at) => {
                    drop(permit);
                    clock
                        .sleep((free_at - now).to_std().unwrap_or_default())
                        .await;
                }
            }
        }
    }

    /// Takes a send slot in the category's rate window at `now` (`None` for categories without a
    /// published rate), or says when one is expected to free. Sends still in flight hold their
    /// slots; answered ones free a window after their answer.
    pub(crate) fn try_take(
        self: &Arc<Self>,
        clock: &SharedClock,
        now: DateTime<Utc>,
    ) -> Result<Option<RateSlot>, DateTime<Utc>> {
        let Some((max, per)) = self.rate else {
            return Ok(None);
        };
        let mut sent = self.sent.lock();
        sent.retain(|s| !s.answered || s.at + per > now);
        if sent.len() < max {
            let id = self.next_slot.fetch_add(1, Ordering::Relaxed);
            sent.push_back(Sent {
                id,
                at: now,
                answered: false,
            });
            Ok(Some(RateSlot {
                state: Arc::clone(self),
                clock: Arc::clone(clock),
                id,
            }))
        } else {
            // All in flight: look again a window from now (their answers will be later still).
            Err(sent
                .iter()
                .filter(|s| s.answered)
                .map(|s| s.at + per)
                .min()
                .unwrap_or(now + per))
        }
    }

    async fn slot(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut a = self.aimd.lock();
                if a.in_flight < a.limit {
                    a.in_flight += 1;
                    a.peak = a.peak.max(a.in_flight);
                    return Permit {
                        state: Arc::clone(self),
                        rate: None,
                    };
                }
            }
            notified.await;
        }
    }

    /// Closes the gate until `now + wait` (never shortens an existing closure) and halves the
    /// concurrency limit.
    pub(crate) fn on_throttled(&self, now: DateTime<Utc>, wait: Duration) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let until = chrono::Duration::from_std(wait)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now);
        {
            let mut gate = self.gate.lock();
            if gate.is_none_or(|g| g < until) {
                *gate = Some(until);
            }
        }
        let mut a = self.aimd.lock();
        a.limit = (a.limit / 2).max(1);
        a.successes = 0;
    }

    /// Counts a success; after a run as long as the limit, raises the limit by one.
    pub(crate) fn on_success(&self) {
        let raised = {
            let mut a = self.aimd.lock();
            a.successes += 1;
            if a.successes >= a.limit && a.limit < self.max {
                a.limit += 1;
                a.successes = 0;
                true
            } else {
                false
            }
        };
        if raised {
            self.released.notify_waiters();
        }
    }

    fn stats(&self) -> CategoryStats {
        let a = self.aimd.lock();
        CategoryStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            limit: a.limit,
            peak_in_flight: a.peak,
            in_flight: a.in_flight,
        }
    }
}

/// Every category's state, created on first use.
#[derive(Debug)]
pub(crate) struct Throttles {
    settings: GraphSettings,
    states: Mutex<HashMap<Category, Arc<CategoryState>>>,
}

impl Throttles {
    pub(crate) fn new(settings: &GraphSettings) -> Self {
        Self {
            settings: settings.clone(),
            states: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, category: &Category) -> Arc<CategoryState> {
        let mut states = self.states.lock();
        if let Some(s) = states.get(category) {
            return Arc::clone(s);
        }
        let max = match category {
            Category::Identity => self.settings.identity_concurrency,
            Category::Reports => self.settings.reports_concurrency,
            Category::Mail(_) => self.settings.mail_concurrency,
            Category::SharePoint => self.settings.sharepoint_concurrency,
            Category::Other => self.settings.other_concurrency,
        };
        let rate = match category {
            Category::Mail(_) => Some((self.settings.mail_per_minute, Duration::from_secs(60))),
            Category::Reports => Some((
                self.settings.reports_per_10_seconds,
                Duration::from_secs(10),
            )),
            _ => None,
        };
        let state = Arc::new(CategoryState::new(max, rate));
        states.insert(category.clone(), Arc::clone(&state));
        state
    }

    pub(crate) fn stats(&self) -> GraphStats {
        self.states
            .lock()
            .iter()
            .map(|(c, s)| (c.clone(), s.stats()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified() {
        assert_eq!(
            Category::for_path("/users/a@b.c?$select=id"),
            Category::Identity
        );
        assert_eq!(
            Category::for_path("/v1.0/groups/g/members/$ref"),
            Category::Identity
        );
        assert_eq!(
            Category::for_path("/v1.0/reports/authenticationMethods/userRegistrationDetails"),
            Category::Reports
        );
        assert_eq!(
            Category::for_path("/users/Sender%40x.com/sendMail"),
            Category::Mail("sender@x.com".into())
        );
        assert_eq!(
            Category::for_path("/sites/s/lists/l/items"),
            Category::SharePoint
        );
        assert_eq!(Category::for_path("/organization"), Category::Other);
    }

    fn manual(at: DateTime<Utc>) -> (crate::clock::ManualClock, SharedClock) {
        let c = crate::clock::ManualClock::new(at);
        let shared: SharedClock = Arc::new(c.clone());
        (c, shared)
    }

    #[test]
    fn rate_window_frees_a_slot_a_window_after_the_oldest_answer() {
        let s = Arc::new(CategoryState::new(4, Some((2, Duration::from_secs(10)))));
        let t = Utc::now();
        let (c, clock) = manual(t);
        let a = s.try_take(&clock, t).expect("first");
        drop(a);
        let b = s
            .try_take(&clock, t + chrono::Duration::seconds(3))
            .expect("second");
        c.advance_to(t + chrono::Duration::seconds(3));
        drop(b);
        let third = t + chrono::Duration::seconds(4);
        assert_eq!(
            s.try_take(&clock, third).map(|_| ()).unwrap_err(),
            t + chrono::Duration::seconds(10)
        );
        assert!(s
            .try_take(&clock, t + chrono::Duration::seconds(10))
            .is_ok());
        let unpaced = Arc::new(CategoryState::new(4, Some((0, Duration::from_secs(10)))));
        for _ in 0..100 {
            assert!(matches!(unpaced.try_take(&clock, t), Ok(None)));
        }
    }

    #[test]
    fn a_slot_counts_from_its_answer_not_its_send() {
        // The service stamps a request when it arrives; a slow answer means a late stamp. Pacing
        // from the send would let the next request in less than a window after that stamp.
        let s = Arc::new(CategoryState::new(4, Some((1, Duration::from_secs(10)))));
        let t = Utc::now();
        let (c, clock) = manual(t);
        let slot = s.try_take(&clock, t).expect("first").expect("paced");
        let later = t + chrono::Duration::seconds(12);
        assert_eq!(
            s.try_take(&clock, later).map(|_| ()).unwrap_err(),
            later + chrono::Duration::seconds(10),
            "still in flight: the slot is held"
        );
        c.advance_to(t + chrono::Duration::seconds(15));
        drop(slot);
        assert_eq!(
            s.try_take(&clock, t + chrono::Duration::seconds(20))
                .map(|_| ())
                .unwrap_err(),
            t + chrono::Duration::seconds(25),
            "a window after the answer at +15 s"
        );
        assert!(s
            .try_take(&clock, t + chrono::Duration::seconds(25))
            .is_ok());
    }

    #[test]
    fn aimd_halves_on_429_and_grows_after_successes() {
        let s = CategoryState::new(8, None);
        let now = Utc::now();
        s.on_throttled(now, Duration::from_secs(5));
        assert_eq!(s.stats().limit, 4);
        s.on_throttled(now, Duration::from_secs(1));
        assert_eq!(s.stats().limit, 2);
        assert_eq!(
            s.closed_until(now),
            Some(now + chrono::Duration::seconds(5)),
            "a shorter wait never reopens the gate early"
        );
        for _ in 0..2 {
            s.on_success();
        }
        assert_eq!(s.stats().limit, 3);
        for _ in 0..100 {
            s.on_success();
        }
        assert_eq!(s.stats().limit, 8, "never above the ceiling");
        for _ in 0..10 {
            s.on_throttled(now, Duration::ZERO);
        }
        assert_eq!(s.stats().limit, 1, "never below one");
    }
}
