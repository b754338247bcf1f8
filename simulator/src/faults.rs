//! Injectable faults: rules that match requests and answer with a status, a delay or a dropped
//! connection. Random choices use the simulator's seeded RNG, so runs are reproducible.

use crate::limits::Category;
use rand::Rng;

/// Which requests a rule applies to (all given conditions must hold).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultMatcher {
    /// Substring of the request path (e.g. `/sendMail`).
    pub path_contains: Option<String>,
    /// HTTP method (case-insensitive).
    pub method: Option<String>,
    /// Service category.
    pub category: Option<Category>,
}

/// When a matching request is hit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultTrigger {
    /// Every matching request.
    Always,
    /// Each matching request with this probability (seeded RNG).
    Probability(f64),
    /// The first N matching requests.
    FirstN(u64),
    /// Every Nth matching request (the Nth, 2Nth, ...).
    EveryNth(u64),
}

/// What happens to a hit request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum FaultAction {
    /// Answer with this status (Graph error body) and optional `Retry-After` seconds.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// Wait this many real milliseconds, then handle normally (to trigger client timeouts).
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Drop the connection without a response.
    CloseConnection,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Which requests.
    #[serde(default)]
    pub matcher: FaultMatcher,
    /// When.
    pub trigger: FaultTrigger,
    /// What.
    pub action: FaultAction,
}

impl FaultRule {
    /// Convenience: answer `status` (with `Retry-After`) to every request whose path contains `path`.
    pub fn status_on_path(path: &str, status: u16, retry_after: Option<u64>) -> Self {
        Self {
            matcher: FaultMatcher {
                path_contains: Some(path.to_string()),
                ..FaultMatcher::default()
            },
            trigger: FaultTrigger::Always,
            action: FaultAction::Status {
                status,
                retry_after,
            },
        }
    }

    /// Returns a copy with a different trigger.
    pub fn with_trigger(mut self, trigger: FaultTrigger) -> Self {
        self.trigger = trigger;
        self
    }

    fn matches(&self, method: &str, path: &str, category: Category) -> bool {
        let m = &self.matcher;
        m.path_contains
            .as_ref()
            .is_none_or(|p| path.to_ascii_lowercase().contains(&p.to_ascii_lowercase()))
            && m.method
                .as_ref()
                .is_none_or(|x| x.eq_ignore_ascii_case(method))
            && m.category.is_none_or(|c| c == category)
    }
}

/// The active rules, how many requests each has matched and how many it hit.
#[derive(Debug, Default)]
pub struct FaultSet {
    rules: Vec<(FaultRule, u64, u64)>,
}

impl FaultSet {
    /// Adds a rule.
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push((rule, 0, 0));
    }

    /// How many requests each rule has hit so far, in the order the rules were added.
    pub fn hit_counts(&self) -> Vec<u64> {
        self.rules.iter().map(|(_, _, hit)| *hit).collect()
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The actions of every rule this request hits, in rule order.
    pub fn hits(
        &mut self,
        method: &str,
        path: &str,
        category: Category,
        rng: &mut impl Rng,
    ) -> Vec<FaultAction> {
        let mut out = Vec::new();
        for (rule, seen, hits) in &mut self.rules {
            if !rule.matches(method, path, category) {
                continue;
            }
            *seen += 1;
            let hit = match rule.trigger {
                FaultTrigger::Always => true,
                FaultTrigger::Probability(p) => rng.gen_bool(p.clamp(0.0, 1.0)),
                FaultTrigger::FirstN(n) => *seen <= n,
                FaultTrigger::EveryNth(n) => n > 0 && *seen % n == 0,
            };
            if hit {
                *hits += 1;
                out.push(rule.action.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn first_n_and_every_nth() {
        let mut set = FaultSet::default();
        set.add(
            FaultRule::status_on_path("/users", 503, None).with_trigger(FaultTrigger::FirstN(2)),
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let hits: Vec<usize> = (0..4)
            .map(|_| {
                set.hits("GET", "/v1.0/users/x", Category::Identity, &mut rng)
                    .len()
            })
            .collect();
        assert_eq!(hits, vec![1, 1, 0, 0]);
        set.clear();
        set.add(
            FaultRule::status_on_path("/users", 503, None).with_trigger(FaultTrigger::EveryNth(3)),
        );
        let hits: Vec<usize> = (0..6)
            .map(|_| {
                set.hits("GET", "/v1.0/users/x", Category::Identity, &mut rng)
                    .len()
            })
            .collect();
        assert_eq!(hits, vec![0, 0, 1, 0, 0, 1]);
        assert_eq!(set.hit_counts(), vec![2]);
    }
}
