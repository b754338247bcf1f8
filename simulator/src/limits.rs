//! Rolling-window counters and the throttler that enforces [`Limits`](crate::Limits) with the
//! simulated clock.

use crate::config::UNLIMITED;
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};

/// Service category of a request; limits, violations and the request log are classed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Category {
    /// Token endpoints.
    Auth,
    /// Users, groups, managers, authentication-method writes.
    Identity,
    /// Exchange (`sendMail`).
    Mail,
    /// Registration report and (by default) per-user method reads.
    Reports,
    /// SharePoint sites, lists and items.
    SharePoint,
    /// The `$batch` envelope itself.
    Batch,
    /// The simulator's own control API.
    Control,
    /// Anything else.
    Other,
}

/// A rolling window: at most `limit` units within any `span`.
#[derive(Debug, Clone)]
pub struct Window {
    limit: u64,
    span: Duration,
    events: VecDeque<(DateTime<Utc>, u64)>,
    total: u64,
}

impl Window {
    /// A new empty window.
    pub fn new(limit: u64, span: Duration) -> Self {
        Self {
            limit,
            span,
            events: VecDeque::new(),
            total: 0,
        }
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        while let Some(&(at, w)) = self.events.front() {
            if at + self.span <= now {
                self.events.pop_front();
                self.total -= w;
            } else {
                break;
            }
        }
    }

    /// Units used in the window ending now.
    pub fn used(&mut self, now: DateTime<Utc>) -> u64 {
        self.prune(now);
        self.total
    }

    /// The configured limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// `Ok` if `weight` more units fit now, else the whole seconds until they would.
    pub fn check(&mut self, now: DateTime<Utc>, weight: u64) -> Result<(), u64> {
        if self.limit >= UNLIMITED {
            return Ok(());
        }
        self.prune(now);
        if self.total + weight <= self.limit {
            return Ok(());
        }
        if weight > self.limit {
            return Err(ceil_secs(self.span));
        }
        let mut freed = 0;
        for &(at, w) in &self.events {
            freed += w;
            if self.total - freed + weight <= self.limit {
                return Err(ceil_secs(at + self.span - now).max(1));
            }
        }
        Err(ceil_secs(self.span))
    }

    /// Records `weight` units now.
    pub fn add(&mut self, now: DateTime<Utc>, weight: u64) {
        if self.limit >= UNLIMITED || weight == 0 {
            return;
        }
        self.total += weight;
        match self.events.back_mut() {
            Some((at, w)) if *at == now => *w += weight,
            _ => self.events.push_back((now, weight)),
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let ms = d.num_milliseconds().max(0) as u64;
    ms.div_ceil(1000)
}

/// One unit of charge against a named window.
#[derive(Debug, Clone)]
pub struct Charge {
    /// Window key, e.g. `identity-ru:{app}`.
    pub key: String,
    /// Window limit.
    pub limit: u64,
    /// Window span.
    pub span: Duration,
    /// Units this request costs.
    pub weight: u64,
}

impl Charge {
    /// A charge of `weight` against `key` (`limit` per `span_secs`).
    pub fn new(key: impl Into<String>, limit: u64, span_secs: i64, weight: u64) -> Self {
        Self {
            key: key.into(),
            limit,
            span: Duration::seconds(span_secs),
            weight,
        }
    }
}

/// All windows plus the per-client "throttled until" marks used to detect requests sent
/// before the given `Retry-After` elapsed.
#[derive(Debug, Default)]
pub struct Throttler {
    windows: HashMap<String, Window>,
    blocked_until: HashMap<String, DateTime<Utc>>,
}

impl Throttler {
    /// Applies all `charges` atomically: if every one fits they are all recorded and `Ok`
    /// is returned; otherwise nothing is recorded (unless `count_anyway`) and the largest
    /// retry-after in seconds is returned with the key of the window that imposed it.
    pub fn charge(
        &mut self,
        now: DateTime<Utc>,
        charges: &[Charge],
        count_anyway: bool,
    ) -> Result<(), (u64, String)> {
        let mut worst: Option<(u64, String)> = None;
        for c in charges {
            let w = self
                .windows
                .entry(c.key.clone())
                .or_insert_with(|| Window::new(c.limit, c.span));
            if let Err(secs) = w.check(now, c.weight) {
                if worst.as_ref().is_none_or(|(x, _)| secs > *x) {
                    worst = Some((secs, c.key.clone()));
                }
            }
        }
        if worst.is_none() || count_anyway {
            for c in charges {
                if let Some(w) = self.windows.get_mut(&c.key) {
                    w.add(now, c.weight);
                }
            }
        }
        worst.map_or(Ok(()), Err)
    }

    /// Fraction of the window's limit in use now (0.0 when unknown or unlimited).
    pub fn usage(&mut self, now: DateTime<Utc>, key: &str) -> f64 {
        match self.windows.get_mut(key) {
            Some(w) if w.limit() < UNLIMITED && w.limit() > 0 => {
                w.used(now) as f64 / w.limit() as f64
            }
            _ => 0.0,
        }
    }

    /// Remembers that `scope` (client + category) was told to wait until `until`.
    pub fn block(&mut self, scope: &str, until: DateTime<Utc>) {
        let e = self.blocked_until.entry(scope.to_string()).or_insert(until);
        if *e < until {
            *e = until;
        }
    }

    /// Whether `scope` is still inside a `Retry-After` it was given.
    pub fn is_blocked(&self, scope: &str, now: DateTime<Utc>) -> bool {
        self.blocked_until.get(scope).is_some_and(|t| now < *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_refuses_over_limit_and_reports_when_it_frees() {
        let t0 = Utc::now();
        let mut w = Window::new(3, Duration::seconds(60));
        for i in 0..3 {
            assert!(w.check(t0 + Duration::seconds(i), 1).is_ok());
            w.add(t0 + Duration::seconds(i), 1);
        }
        assert_eq!(w.check(t0 + Duration::seconds(10), 1), Err(50));
        assert!(w.check(t0 + Duration::seconds(60), 1).is_ok());
    }

    #[test]
    fn charges_are_all_or_nothing() {
        let t0 = Utc::now();
        let mut t = Throttler::default();
        let a = Charge::new("a", 10, 10, 1);
        let b = Charge::new("b", 1, 10, 1);
        assert!(t.charge(t0, &[a.clone(), b.clone()], false).is_ok());
        assert!(t.charge(t0, &[a.clone(), b], false).is_err());
        assert!((t.usage(t0, "a") - 0.1).abs() < 1e-9);
    }
}
