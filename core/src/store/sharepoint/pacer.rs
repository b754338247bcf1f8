//! The store's resource-unit pacing: every SharePoint request first takes its RUs here.
//!
//! SharePoint charges resource units (RU) per app and tenant per minute: a single item read 1, a
//! query page, create, update or delete 2 (each `$batch` sub-request on its own). The pacer keeps
//! this process's requests inside its share of the tier, on the Graph client's clock, so the
//! store stays under the budget instead of learning it from 429s (which the Graph client still
//! honours, `$batch` sub-requests included).
//!
//! Rules, each over rolling windows of answered and in-flight RUs:
//!
//! - **A minute's budget.** A request's RUs are taken before it is sent and held as in flight
//!   until it is answered; then they count **from the answer**, since SharePoint charged them
//!   somewhere between the two. Counting from the send could free them before they leave
//!   SharePoint's window, and the next request would be refused.
//! - **Spread over the minute.** In any [`SLICE`] at most a sixth of the budget plus one
//!   `$batch` ([`slice_cap`]). A long queue then spends the budget evenly instead of in one burst
//!   followed by a minute of waiting: the same throughput, waits of seconds for a request that
//!   arrives behind the queue, and a spend that can move with the pool (below) without leaving
//!   the next holder a minute of nothing.
//! - **Own budget and pool apart.** When several processes share the list
//!   ([`super::pool`]), each has its own budget and one at a time also holds the pool. A request
//!   is charged to the own budget when it fits there, else to the pool while it is held. The two
//!   are counted in separate windows, so handing the pool over moves exactly the pool's last
//!   minute of spend, and the process keeps its own.
//! - **The keeper's reserve.** The last [`reserve`] RUs of the own budget are for the pool's
//!   keeper ([`Class::Keeper`]): a process whose queue fills its budget can still renew, ask
//!   for or hand over the pool.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::list::RU_WRITE;
use crate::clock::SharedClock;

/// The short window: a sixth of the minute.
pub const SLICE: chrono::Duration = chrono::Duration::seconds(10);
/// The most RUs one request takes: a `$batch` of writes.
pub const LARGEST: u32 = crate::graph::MAX_BATCH as u32 * RU_WRITE;
/// The most of an own budget kept for the pool's keeper (see [`reserve`]).
pub const KEEPER_RESERVE: u32 = 20;

/// RUs spendable in any [`SLICE`] for a minute's `budget`: its share of the minute, plus room
/// for one `$batch` so that whole requests can use the share (at least the budget when that is
/// smaller, so a small budget is paced by the minute alone).
pub fn slice_cap(budget: u32) -> u32 {
    let share = budget.div_ceil(6);
    (share + LARGEST).min(budget).max(share)
}

/// The part of an own budget only the pool's keeper spends: [`KEEPER_RESERVE`], at most half
/// of it.
pub fn reserve(own: u32) -> u32 {
    KEEPER_RESERVE.min(own / 2)
}

/// Who is asking: the store's requests, or the pool's keeper (which may spend the reserve).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Class {
    /// The store's own requests.
    #[default]
    Regular,
    /// The pool keeper's reads and writes of the pool's state.
    Keeper,
}

/// One rolling window of spend.
#[derive(Debug, Default)]
struct Window {
    /// Answered requests' RUs, oldest first.
    spent: VecDeque<(DateTime<Utc>, u32)>,
    /// RUs of requests sent and not answered yet.
    in_flight: u32,
}

/// Whether a request fits a window now, or when it might.
enum Fit {
    Now,
    /// It might fit at this instant (or, when `None`, once a request in flight is answered).
    Later(Option<DateTime<Utc>>),
}

impl Window {
    fn expire(&mut self, now: DateTime<Utc>) {
        let window = now - chrono::Duration::minutes(1);
        while self.spent.front().is_some_and(|(t, _)| *t <= window) {
            self.spent.pop_front();
        }
    }

    fn in_window(&self) -> u32 {
        self.spent.iter().map(|(_, c)| *c).sum()
    }

    /// RUs answered in the last [`SLICE`], and when the oldest of them leaves it.
    fn in_slice(&self, now: DateTime<Utc>) -> (u32, Option<DateTime<Utc>>) {
        let from = now - SLICE;
        let mut sum = 0;
        let mut oldest = None;
        for (t, c) in self.spent.iter().rev().take_while(|(t, _)| *t > from) {
            sum += c;
            oldest = Some(*t + SLICE);
        }
        (sum, oldest)
    }

    /// Whether `cost` fits `budget` a minute (and its slice's cap) at `now`.
    fn fit(&self, now: DateTime<Utc>, cost: u32, budget: u32) -> Fit {
        let cap = slice_cap(budget);
        let in_window = self.in_window();
        let (in_slice, slice_frees) = self.in_slice(now);
        if in_window + self.in_flight + cost <= budget && in_slice + self.in_flight + cost <= cap {
            return Fit::Now;
        }
        if cost > budget {
            // Never here: the request waits for the pool (granted with a notification).
            return Fit::Later(None);
        }
        // What frees first: answered RUs leaving the minute or the slice (whichever rule
        // refused; both, the later), or (when the answered RUs alone would allow it) a request
        // in flight being answered.
        let minute_frees = (in_window + cost > budget)
            .then(|| {
                self.spent
                    .front()
                    .map(|(t, _)| *t + chrono::Duration::minutes(1))
            })
            .flatten();
        let slice_frees = (in_slice + cost > cap).then_some(slice_frees).flatten();
        Fit::Later(minute_frees.max(slice_frees))
    }

    fn merge(&mut self, more: impl IntoIterator<Item = (DateTime<Utc>, u32)>) {
        let mut all: Vec<_> = self.spent.drain(..).chain(more).collect();
        all.sort_by_key(|(t, _)| *t);
        self.spent = all.into();
    }
}

#[derive(Debug, Default)]
struct State {
    own: Window,
    pool: Window,
    /// The pool's RUs per minute, spendable until the instant given (while we hold it).
    grant: Option<(u32, DateTime<Utc>)>,
    /// The pool is being handed over: nothing more is charged to it.
    handing_over: bool,
    /// When a store request last had to wait (this process wanted more than it had).
    waited_at: Option<DateTime<Utc>>,
    /// When a request was last charged to the pool.
    pool_used_at: Option<DateTime<Utc>>,
    /// RUs charged to the pool since it was granted (the previous holder's spend not counted).
    pool_charged: u32,
}

/// This process's RU budget (and, while it holds it, the shared pool's).
#[derive(Debug)]
pub struct Pacer {
    own: u32,
    /// Shared with other processes through the pool (else this process has the whole tier).
    shared: bool,
    /// The part of `own` only the keeper spends ([`reserve`]; 0 when not shared).
    reserve: u32,
    state: Mutex<State>,
    /// Woken when a request in flight is answered, or the pool comes or goes.
    answered: tokio::sync::Notify,
}

/// RUs taken for one request; they count in their window from when this is dropped (the
/// request answered, or given up).
#[must_use = "hold the permit until the request is answered"]
pub struct Permit<'a> {
    pacer: &'a Pacer,
    clock: SharedClock,
    cost: u32,
    pool: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let now = self.clock.now();
        {
            let mut s = self.pacer.state.lock();
            let w = if self.pool { &mut s.pool } else { &mut s.own };
            w.in_flight = w.in_flight.saturating_sub(self.cost);
            w.spent.push_back((now, self.cost));
        }
        self.pacer.answered.notify_waiters();
    }
}

/// What a process asked of its pacer lately ([`Pacer::demand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// When a store request last had to wait for RUs.
    pub waited_at: Option<DateTime<Utc>>,
    /// When a request was last charged to the pool.
    pub pool_used_at: Option<DateTime<Utc>>,
    /// RUs charged to the pool since it was granted.
    pub pool_charged: u32,
}

impl Pacer {
    /// A pacer allowing `own` RU per minute; when `shared` with other processes (through the
    /// pool), [`reserve`] of it only for the pool's keeper.
    pub fn new(own: u32, shared: bool) -> Self {
        let own = own.max(1);
        Self {
            own,
            shared,
            reserve: if shared { reserve(own) } else { 0 },
            state: Mutex::new(State::default()),
            answered: tokio::sync::Notify::new(),
        }
    }

    /// Waits until `cost` RUs fit this process's own budget or the pool it holds (a minute's
    /// budget and a slice's cap, answered and in flight counted), and takes them until the
    /// returned permit is dropped.
    pub async fn take(&self, clock: &SharedClock, cost: u32, class: Class) -> Permit<'_> {
        let own = match class {
            Class::Regular => self.own - self.reserve,
            Class::Keeper => self.own,
        };
        loop {
            // Registered before the check, so an answer between the check and the wait wakes us.
            let answered = self.answered.notified();
            let now = clock.now();
            let wait = {
                let mut s = self.state.lock();
                s.own.expire(now);
                s.pool.expire(now);
                let own_fit = match s.own.fit(now, cost, own) {
                    // Larger than the whole budget: a process alone (no pool to wait for)
                    // sends it when its window is empty.
                    Fit::Later(_)
                        if cost > own
                            && !self.shared
                            && s.own.spent.is_empty()
                            && s.own.in_flight == 0 =>
                    {
                        Fit::Now
                    }
                    fit => fit,
                };
                let pool = s
                    .grant
                    .filter(|(_, until)| now < *until && !s.handing_over)
                    .map(|(ru, _)| ru);
                let pool_fit = pool.map(|ru| s.pool.fit(now, cost, ru));
                let charge = match (&own_fit, &pool_fit) {
                    (Fit::Now, _) => Some(false),
                    (_, Some(Fit::Now)) => Some(true),
                    _ => None,
                };
                if let Some(to_pool) = charge {
                    let w = if to_pool { &mut s.pool } else { &mut s.own };
                    w.in_flight += cost;
                    if to_pool {
                        s.pool_used_at = Some(now);
                        s.pool_charged += cost;
                    }
                    return Permit {
                        pacer: self,
                        clock: clock.clone(),
                        cost,
                        pool: to_pool,
                    };
                }
                if class == Class::Regular {
                    s.waited_at = Some(now);
                }
                // The earlier of the two windows' frees; an answer (or the pool arriving,
                // renewed or handed over: all notify) wakes us sooner. The pool's lapse is not
                // waited for.
                let at = |fit: &Fit| match fit {
                    Fit::Now => None,
                    Fit::Later(at) => *at,
                };
                [Some(&own_fit), pool_fit.as_ref()]
                    .into_iter()
                    .flatten()
                    .filter_map(at)
                    .min()
                    .map(|at| (at - now).to_std().unwrap_or_default())
            };
            match wait {
                None => answered.await,
                Some(wait) => {
                    tracing::debug!(?wait, "pacing SharePoint requests to the RU budget");
                    tokio::select! {
                        () = clock.sleep(wait.clamp(Duration::from_millis(100), Duration::from_secs(3600))) => {}
                        () = answered => {}
                    }
                }
            }
        }
    }

    /// When a request last waited, and when one was last charged to the pool.
    pub fn demand(&self) -> Demand {
        let s = self.state.lock();
        Demand {
            waited_at: s.waited_at,
            pool_used_at: s.pool_used_at,
            pool_charged: s.pool_charged,
        }
    }

    /// The pool is ours: `ru` more per minute until `until`, with the previous holder's spend of
    /// it (`seed`: when each RU was answered) counted in its window.
    pub(super) fn pool_granted(
        &self,
        ru: u32,
        until: DateTime<Utc>,
        seed: impl IntoIterator<Item = (DateTime<Utc>, u32)>,
    ) {
        {
            let mut s = self.state.lock();
            s.pool.merge(seed);
            s.grant = Some((ru, until));
            s.pool_charged = 0;
        }
        self.answered.notify_waiters();
    }

    /// The pool's lease now lasts until `until`.
    pub(super) fn pool_extended(&self, until: DateTime<Utc>) {
        if let Some((_, u)) = self.state.lock().grant.as_mut() {
            *u = until;
        }
        self.answered.notify_waiters();
    }

    /// The pool was lost (its lease lapsed and another process took it).
    pub(super) fn pool_lost(&self) {
        let mut s = self.state.lock();
        s.grant = None;
        s.pool = Window::default();
    }

    /// Gives the pool up: charges nothing more to it, waits for its requests in flight, and
    /// returns its last minute's spend (which leaves with the pool; [`Pacer::restore`] puts it
    /// back if the hand-over could not be recorded).
    pub(super) async fn hand_over(&self, clock: &SharedClock) -> Vec<(DateTime<Utc>, u32)> {
        self.state.lock().handing_over = true;
        loop {
            let answered = self.answered.notified();
            {
                let mut s = self.state.lock();
                if s.pool.in_flight == 0 {
                    s.pool.expire(clock.now());
                    s.grant = None;
                    s.handing_over = false;
                    return s.pool.spent.drain(..).collect();
                }
            }
            answered.await;
        }
    }

    /// Puts the pool's spend taken by [`Pacer::hand_over`] back (the pool is still ours in the
    /// shared state until its lease lapses, and we may take it again).
    pub(super) fn restore(&self, spent: Vec<(DateTime<Utc>, u32)>) {
        self.state.lock().pool.merge(spent);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::clock::ManualClock;

    fn start() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).single().expect("time")
    }

    #[test]
    fn a_slice_holds_its_share_and_one_batch() {
        assert_eq!(slice_cap(1250), 209 + 40);
        assert_eq!(slice_cap(1130), 189 + 40);
        assert_eq!(slice_cap(5000), 834 + 40);
        // A small budget is paced by the minute alone.
        assert_eq!(slice_cap(40), 40);
        assert_eq!(slice_cap(60), 50);
        assert_eq!(slice_cap(1), 1);
        assert_eq!(reserve(60), 20);
        assert_eq!(reserve(15), 7);
    }

    /// Runs `n` requests of `cost` one after another, each answered 200 ms after it is sent;
    /// returns when each was answered and whether it went to the pool.
    async fn queue(
        pacer: &Pacer,
        clock: &SharedClock,
        until: DateTime<Utc>,
        cost: u32,
    ) -> Vec<(DateTime<Utc>, bool)> {
        let mut answered = Vec::new();
        while clock.now() < until {
            let permit = pacer.take(clock, cost, Class::Regular).await;
            let pool = permit.pool;
            clock.sleep(Duration::from_millis(200)).await;
            answered.push((clock.now(), pool));
            drop(permit);
        }
        answered
    }

    fn spent(at: &[(DateTime<Utc>, bool)], from: DateTime<Utc>, len: chrono::Duration) -> u32 {
        at.iter()
            .filter(|(t, _)| *t > from && *t <= from + len)
            .count() as u32
            * LARGEST
    }

    /// A queue of `$batch`es as deep as the import's: never more than a slice's cap in any ten
    /// seconds or the budget in any minute, and (after the first minute) the budget's rate.
    #[tokio::test]
    async fn a_deep_queue_spends_the_budget_evenly() {
        let clock: SharedClock = Arc::new(ManualClock::new(start()));
        let pacer = Pacer::new(1130, false);
        let at = queue(
            &pacer,
            &clock,
            start() + chrono::Duration::minutes(10),
            LARGEST,
        )
        .await;
        let minute = chrono::Duration::minutes(1);
        for (t, _) in &at {
            assert!(
                spent(&at, *t - SLICE, SLICE) <= slice_cap(1130),
                "a burst at {t}"
            );
            assert!(spent(&at, *t - minute, minute) <= 1130, "over at {t}");
        }
        let steady = spent(&at, start() + minute, minute * 8);
        assert!(
            f64::from(steady) >= 0.95 * 8.0 * 1130.0,
            "{steady} RU in 8 minutes at 1,130 a minute"
        );
    }

    /// With the pool: the own budget first (less the keeper's reserve), then the pool; the keeper
    /// still gets its reserve when the queue has filled everything; handing over returns the
    /// pool's spend only.
    #[tokio::test]
    async fn own_budget_then_pool_and_the_keeper_gets_its_reserve() {
        let clock: SharedClock = Arc::new(ManualClock::new(start()));
        let pacer = Pacer::new(60, true);
        let minute = chrono::Duration::minutes(1);
        pacer.pool_granted(1000, start() + minute * 5, []);
        let at = queue(&pacer, &clock, start() + minute * 3, LARGEST).await;
        let own: Vec<_> = at.iter().copied().filter(|(_, p)| !*p).collect();
        let pool: Vec<_> = at.iter().copied().filter(|(_, p)| *p).collect();
        // In any minute at most 40 own (the reserve untouched) and 1,000 pool.
        for (t, _) in &at {
            assert!(spent(&own, *t - minute, minute) <= 40, "own over at {t}");
            assert!(
                spent(&pool, *t - minute, minute) <= 1000,
                "pool over at {t}"
            );
        }
        assert!(spent(&pool, start(), minute * 3) >= 2 * 1000);
        // The queue has filled the regular budget; the keeper's small request goes at once.
        let before = clock.now();
        drop(pacer.take(&clock, RU_WRITE, Class::Keeper).await);
        assert_eq!(clock.now(), before, "the keeper waited");
        assert!(pacer.demand().pool_used_at.is_some());
        let handed: u32 = pacer.hand_over(&clock).await.iter().map(|(_, c)| c).sum();
        let last_minute = spent(&pool, clock.now() - minute, minute);
        assert_eq!(handed, last_minute, "the pool's last minute leaves with it");
        // Without the pool, a request larger than the regular budget waits for the pool.
        let waiting = tokio::time::timeout(
            Duration::from_millis(50),
            pacer.take(&clock, LARGEST + 2, Class::Regular),
        )
        .await;
        assert!(waiting.is_err(), "a request larger than the budget went");
    }

    /// A request larger than the own budget: a process alone sends it when its window is empty;
    /// a process sharing the tier waits for the pool, even with an empty window (its own budget
    /// is all it may spend without it).
    #[tokio::test]
    async fn a_request_over_the_budget_waits_for_the_pool_when_shared() {
        let clock: SharedClock = Arc::new(ManualClock::new(start()));
        let alone = Pacer::new(30, false);
        drop(alone.take(&clock, LARGEST, Class::Regular).await);
        let shared = Pacer::new(30, true);
        let waiting = tokio::time::timeout(
            Duration::from_millis(50),
            shared.take(&clock, LARGEST, Class::Regular),
        )
        .await;
        assert!(
            waiting.is_err(),
            "went over the own budget without the pool"
        );
        shared.pool_granted(1000, start() + chrono::Duration::minutes(1), []);
        let permit = shared.take(&clock, LARGEST, Class::Regular).await;
        assert!(permit.pool, "charged to the pool");
    }
}
