//! One RU budget across processes: every process sharing the list has a small budget of its
//! own, and the rest of the tier is a **pool** that one process at a time holds.
//!
//! SharePoint counts resource units per app and tenant, so handler instances and the worker
//! spend one budget. A static split would leave the import (or the worker's pass) a fraction of
//! the tier; instead the pool goes where the work is:
//!
//! - [`split`]: each of `processes` keeps a tenth of its even share for itself, at least 60
//!   RU/min (one `$batch` of 20 writes plus the keeper's reserve) while that leaves half the
//!   tier to the pool; the pool is the rest.
//! - A process whose requests wait for RUs (*busy*) takes the pool when it is free (a write with
//!   the eTag it read, on the meta value [`POOL_KEY`]) and spends it while its lease lasts
//!   ([`LEASE`], renewed every half lease, every tick when it is not short of RUs). It spends
//!   the pool only until [`MARGIN`] before the lease ends.
//! - A busy process that finds the pool held asks for it (the ask changes the value, so the
//!   holder's next renewal fails and reads it). The holder hands it over after
//!   [`HOLD_AT_LEAST`], or at once when it is not short of RUs itself or spends less than ¾ of
//!   the pool's rate; it gives the pool up unasked when it has charged nothing to it for a
//!   while. A free pool someone asked for is theirs to take.
//! - Handing over waits for the requests in flight charged to the pool, then writes the pool's
//!   last minute of spend (per second) into the value; the next holder counts it in its pool
//!   window ([`super::pacer`]), so the pool never spends more than its share of any minute
//!   across holders.
//! - A holder that dies stops spending at its lease's end: whoever takes a lapsed pool counts
//!   the whole pool as spent at that instant, so it waits at most a minute.
//! - The keeper's reads and writes spend the own budget's reserve, so a process whose queue has
//!   filled its budget still renews and hands over in time.
//!
//! Together: at most `processes × own + pool = tier` RUs in any minute, as long as no more than
//! `processes` processes share the list and their clocks agree within a second. The Graph client
//! still honours every 429/503 and its `Retry-After`, should the tenant's budget be smaller
//! than configured.

use std::sync::{Arc, Weak};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::list::SpList;
use super::meta;
use super::pacer::{KEEPER_RESERVE, LARGEST};
use crate::store::StoreResult;

/// Meta key of the pool's state.
pub const POOL_KEY: &str = "sharepoint.ru-pool";
/// How long the pool is held without renewing.
pub const LEASE: Duration = Duration::seconds(40);
/// The pool is spent only until this long before its lease ends.
pub const MARGIN: Duration = Duration::seconds(5);
/// A holder keeps the pool at least this long before handing it to a process that asked.
pub const HOLD_AT_LEAST: Duration = Duration::seconds(45);
/// An ask older than this is forgotten.
const ASK_FRESH: Duration = Duration::seconds(30);
/// How often a process looks at its demand.
const TICK: StdDuration = StdDuration::from_secs(5);
/// How often a busy process that does not hold the pool reads its state.
const LOOK: Duration = Duration::seconds(10);
/// A process "needs more" when a request waited for RUs this recently.
const BUSY: Duration = Duration::seconds(10);

/// `(own, pool)`: each process's own RU per minute and the pool's, for a tier shared by
/// `processes` processes. One process keeps the whole tier.
pub fn split(tier: u32, processes: u32) -> (u32, u32) {
    if processes <= 1 {
        return (tier, 0);
    }
    let own = (tier / (10 * processes))
        .max((LARGEST + KEEPER_RESERVE).min(tier / (2 * processes)))
        .max(1);
    (own, tier.saturating_sub(own * processes))
}

/// The pool's state, stored as JSON in the meta value [`POOL_KEY`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolState {
    /// The process holding the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// The holder's lease ends (or, when free, when it was given up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// A busy process waiting for the pool, and when it asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_by: Option<String>,
    /// When it asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_at: Option<DateTime<Utc>>,
    /// The last holder's spend in its last minute: `[unix second, RU]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spent: Vec<(i64, u32)>,
}

impl PoolState {
    /// The state stored as `raw` (a missing or unreadable value is a free pool).
    pub fn parse(raw: Option<&str>) -> Self {
        raw.and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default()
    }

    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn held_by_other(&self, me: &str, now: DateTime<Utc>) -> bool {
        self.holder.as_deref().is_some_and(|h| h != me) && self.until.is_some_and(|u| u > now)
    }

    fn fresh_ask_by_other(&self, me: &str, now: DateTime<Utc>) -> bool {
        self.asked_by.as_deref().is_some_and(|a| a != me)
            && self.asked_at.is_some_and(|at| now - at < ASK_FRESH)
    }

    /// What the next holder counts as already spent in its window.
    fn seed(&self, pool: u32) -> Vec<(DateTime<Utc>, u32)> {
        match (&self.holder, self.until) {
            // Lapsed: the dead holder may have spent the whole pool up to its lease's end.
            (Some(_), Some(until)) => vec![(until, pool)],
            // Handed over: its spend at each bucket's end, plus a second for clocks that differ.
            _ => self
                .spent
                .iter()
                .filter_map(|(s, ru)| Utc.timestamp_opt(s + 2, 0).single().map(|t| (t, *ru)))
                .collect(),
        }
    }
}

/// Per-second buckets of a window's spend.
fn buckets(spent: &[(DateTime<Utc>, u32)]) -> Vec<(i64, u32)> {
    let mut out: Vec<(i64, u32)> = Vec::new();
    for (t, ru) in spent {
        let s = t.timestamp();
        match out.last_mut() {
            Some((last, sum)) if *last == s => *sum += ru,
            _ => out.push((s, *ru)),
        }
    }
    out
}

/// The pool's state item as last read or written by us.
#[derive(Debug, Clone, Default)]
struct Known {
    /// The meta item's id and eTag (none before the key exists, or when a write's answer did not
    /// echo the new eTag).
    item: Option<(String, String)>,
    /// The value as stored.
    raw: Option<String>,
    state: PoolState,
}

/// The loop that takes, renews, asks for and hands over the pool for one process. Its requests
/// spend the own budget's reserve ([`super::pacer::reserve`]), so a process whose queue fills
/// its budget still renews and hands over in time. It writes with the eTag of what it last read
/// or wrote, so a renewal costs one update (2 RU), and reads only to learn what changed.
pub(super) struct PoolKeeper {
    meta: SpList,
    me: String,
    pool: u32,
    known: Known,
    held_since: Option<DateTime<Utc>>,
    /// When a busy process that does not hold the pool last looked at it.
    looked_at: Option<DateTime<Utc>>,
}

impl PoolKeeper {
    /// Runs the keeper for `meta`'s pacer while `alive` upgrades (the store is open).
    pub(super) fn spawn(meta: SpList, me: String, pool: u32, alive: Weak<()>) {
        let mut keeper = Self {
            meta,
            me,
            pool,
            known: Known::default(),
            held_since: None,
            looked_at: None,
        };
        tokio::spawn(async move {
            let clock = keeper.meta.graph.clock().clone();
            loop {
                clock.sleep(TICK).await;
                if alive.upgrade().is_none() {
                    if keeper.held_since.is_some() {
                        keeper.release().await;
                    }
                    return;
                }
                if let Err(e) = keeper.tick().await {
                    tracing::warn!(error = ?e, "SharePoint RU pool: could not read or write its state");
                }
            }
        });
    }

    fn now(&self) -> DateTime<Utc> {
        self.meta.graph.clock().now()
    }

    async fn read(&mut self) -> StoreResult<PoolState> {
        let found = meta::items(&self.meta, POOL_KEY).await?;
        let first = found.first();
        let raw = first.and_then(meta::value_of);
        self.known = Known {
            item: first.and_then(|it| Some((it.id.clone(), it.etag.clone()?))),
            state: PoolState::parse(raw.as_deref()),
            raw,
        };
        Ok(self.known.state.clone())
    }

    /// Writes `next` if the state is still what we last read or wrote.
    async fn write(&mut self, next: PoolState) -> StoreResult<bool> {
        let text = next.text();
        let written = match self.known.item.clone() {
            Some((id, etag)) => meta::replace(&self.meta, &id, &etag, &text)
                .await?
                .map(|etag| etag.map(|e| (id, e))),
            // No eTag known: settle it by comparing the value.
            None => {
                let expected = self.known.raw.clone();
                let ok =
                    meta::compare_and_set(&self.meta, POOL_KEY, expected.as_deref(), Some(&text))
                        .await?;
                ok.then_some(None)
            }
        };
        match written {
            Some(item) => {
                self.known = Known {
                    item,
                    raw: Some(text),
                    state: next,
                };
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn tick(&mut self) -> StoreResult<()> {
        let pacer = Arc::clone(&self.meta.pacer);
        let now = self.now();
        let demand = pacer.demand();
        let recent = |t: Option<DateTime<Utc>>| t.is_some_and(|t| now - t < BUSY);
        let busy = recent(demand.waited_at);
        if let Some(since) = self.held_since {
            if !busy && !recent(demand.pool_used_at) {
                // Done with it: our own budget is enough.
                self.release().await;
                return Ok(());
            }
            let until = self.known.state.until.unwrap_or(now);
            if busy && until - now >= LEASE / 2 {
                return Ok(());
            }
            // Renew (a holder that is not short of RUs every tick, so that it hears an ask at
            // once); a write that finds the state changed means someone asked (or took a
            // lapsed pool).
            let mut next = self.known.state.clone();
            next.until = Some(self.now() + LEASE);
            if self.write(next.clone()).await? {
                pacer.pool_extended(next.until.unwrap_or(now) - MARGIN);
                return Ok(());
            }
            let mut state = self.read().await?;
            let now = self.now();
            if state.holder.as_deref() != Some(&self.me) {
                tracing::warn!("SharePoint RU pool: our lease lapsed and the pool was taken");
                pacer.pool_lost();
                self.held_since = None;
                return Ok(());
            }
            if state.fresh_ask_by_other(&self.me, now)
                && (!busy || now - since >= HOLD_AT_LEAST || self.spends_little(since, now))
            {
                self.release().await;
                return Ok(());
            }
            state.until = Some(now + LEASE);
            if self.write(state.clone()).await? {
                pacer.pool_extended(now + LEASE - MARGIN);
            }
            return Ok(());
        }
        // Having asked, look every tick: the pool may be ours.
        let asked = self.known.state.asked_by.as_deref() == Some(&self.me)
            && self
                .known
                .state
                .asked_at
                .is_some_and(|at| now - at < ASK_FRESH);
        if !busy || !asked && self.looked_at.is_some_and(|t| now - t < LOOK) {
            return Ok(());
        }
        self.looked_at = Some(now);
        let mut state = self.read().await?;
        let now = self.now();
        let ours_to_take = state.holder.as_deref() == Some(&self.me)
            || !state.held_by_other(&self.me, now) && !state.fresh_ask_by_other(&self.me, now);
        if ours_to_take {
            let seed = if state.holder.as_deref() == Some(&self.me) {
                Vec::new()
            } else {
                state.seed(self.pool)
            };
            let asked_by = state.asked_by.take().filter(|a| *a != self.me);
            let next = PoolState {
                holder: Some(self.me.clone()),
                until: Some(now + LEASE),
                asked_at: asked_by.as_ref().and(state.asked_at),
                asked_by,
                spent: Vec::new(),
            };
            if self.write(next).await? {
                let seeded: u32 = seed.iter().map(|(_, ru)| ru).sum();
                tracing::info!(pool = self.pool, seeded, me = %self.me, "SharePoint RU pool taken");
                pacer.pool_granted(self.pool, now + LEASE - MARGIN, seed);
                self.held_since = Some(now);
            }
        } else if state.held_by_other(&self.me, now) && !state.fresh_ask_by_other(&self.me, now) {
            let fresh_mine = state.asked_by.as_deref() == Some(&self.me)
                && state.asked_at.is_some_and(|at| now - at < ASK_FRESH / 2);
            if !fresh_mine {
                state.asked_by = Some(self.me.clone());
                state.asked_at = Some(now);
                if self.write(state).await? {
                    tracing::debug!(me = %self.me, "SharePoint RU pool asked for");
                }
            }
        }
        Ok(())
    }

    /// Whether, holding the pool since `since`, we spent less than ¾ of its rate (after a first
    /// [`HOLD_AT_LEAST`]/4, while the previous holder's spend leaves the window): our queue is
    /// short, so a process that asked should have it now rather than after [`HOLD_AT_LEAST`].
    fn spends_little(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let held = now - since;
        let rate = f64::from(self.pool) * held.num_milliseconds() as f64 / 60_000.0;
        held >= HOLD_AT_LEAST / 4 && f64::from(self.meta.pacer.demand().pool_charged) < rate * 0.75
    }

    /// Hands the pool over (to the process that asked, when its ask is fresh; else to nobody).
    async fn release(&mut self) {
        let clock = self.meta.graph.clock().clone();
        let spent = self.meta.pacer.hand_over(&clock).await;
        self.held_since = None;
        let now = self.now();
        for _ in 0..3 {
            let state = self.known.state.clone();
            if state.holder.as_deref() != Some(&self.me) {
                break;
            }
            let next = PoolState {
                holder: None,
                until: Some(now),
                asked_by: state.asked_by.clone(),
                asked_at: state.asked_at,
                spent: buckets(&spent),
            };
            match self.write(next).await {
                Ok(true) => {
                    let spent: u32 = spent.iter().map(|(_, ru)| ru).sum();
                    tracing::info!(spent, me = %self.me, "SharePoint RU pool handed over");
                    return;
                }
                Ok(false) => {
                    if self.read().await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "SharePoint RU pool: could not hand it over");
                    break;
                }
            }
        }
        // Not recorded: the pool's spend stays with us, and the lease lapses (the next holder
        // then counts the whole pool as spent).
        self.meta.pacer.restore(spent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_the_tier() {
        assert_eq!(split(5000, 1), (5000, 0));
        assert_eq!(split(5000, 4), (125, 4500));
        assert_eq!(split(1250, 4), (60, 1010));
        assert_eq!(split(6250, 4), (156, 5626));
        // Many instances: smaller own budgets, the pool still half the tier or more.
        assert_eq!(split(1250, 40), (15, 650));
        for (tier, n) in [(1250, 10), (2500, 7), (6250, 100), (1250, 100)] {
            let (own, pool) = split(tier, n);
            assert!(own * n + pool <= tier && pool >= tier / 2, "{tier} {n}");
        }
    }

    #[test]
    fn a_lapsed_pool_counts_as_spent_at_its_end_and_a_handed_one_by_its_buckets() {
        let t = Utc.timestamp_opt(1_800_000_000, 0).single().expect("time");
        let lapsed = PoolState {
            holder: Some("a".into()),
            until: Some(t),
            ..PoolState::default()
        };
        assert_eq!(lapsed.seed(900), vec![(t, 900)]);
        let spent = vec![
            (t, 2),
            (t + Duration::milliseconds(300), 40),
            (t + Duration::seconds(3), 6),
        ];
        let handed = PoolState {
            holder: None,
            until: Some(t + Duration::seconds(4)),
            spent: buckets(&spent),
            ..PoolState::default()
        };
        assert_eq!(
            handed.spent,
            vec![(t.timestamp(), 42), (t.timestamp() + 3, 6)]
        );
        let seed = handed.seed(900);
        assert_eq!(seed.iter().map(|(_, ru)| ru).sum::<u32>(), 48);
        assert!(seed.iter().all(|(at, _)| *at >= t + Duration::seconds(1)));
        let parsed = PoolState::parse(Some(&handed.text()));
        assert_eq!(parsed, handed);
        assert_eq!(PoolState::parse(Some("not json")), PoolState::default());
    }
}
