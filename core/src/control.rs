//! The admin's controls over the whole campaign, kept in one meta value ([`CONTROL_KEY`]): the
//! pause switch with the history of past pauses (due times are moved by them), and the releases
//! of held uploads (when, how many a day, how far along).
//!
//! Every change is a compare-and-set of the whole value ([`update`]), so the handler (an admin
//! pausing) and the worker (a run releasing people) never overwrite each other.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, StoreResult};

/// Meta key of the campaign controls.
pub const CONTROL_KEY: &str = "campaign.control";
/// Meta key of the day's first-invitation count (`MFA_INVITES_PER_DAY`).
pub const INVITES_TODAY_KEY: &str = "campaign.invites-today";
/// Finished pauses kept (older ones cannot move anyone's due time any more: everyone has been
/// emailed since, or the campaign is long over).
const PAUSES_KEPT: usize = 200;
/// Attempts of a change that keeps losing races.
const ATTEMPTS: usize = 20;

/// The campaign controls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignControl {
    /// Set while the campaign is paused.
    #[serde(default)]
    pub paused: Option<Pause>,
    /// Finished pauses, oldest first.
    #[serde(default)]
    pub pauses: Vec<PastPause>,
    /// Releases of held uploads, by batch id.
    #[serde(default)]
    pub releases: BTreeMap<String, Release>,
}

/// The pause in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pause {
    /// Since when.
    pub since: DateTime<Utc>,
    /// Who paused.
    pub by: String,
}

/// A pause that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PastPause {
    /// Start.
    pub from: DateTime<Utc>,
    /// End (the resume).
    pub to: DateTime<Utc>,
}

/// The release of one held upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    /// From when its people may be invited.
    pub at: DateTime<Utc>,
    /// The most of its people released per UTC day (`None`: all at once).
    #[serde(default)]
    pub per_day: Option<u32>,
    /// Who released it.
    pub by: String,
    /// People released so far.
    #[serde(default)]
    pub released: u64,
    /// The UTC day of [`Self::released_that_day`].
    #[serde(default)]
    pub day: Option<NaiveDate>,
    /// People released on [`Self::day`].
    #[serde(default)]
    pub released_that_day: u64,
    /// Nobody in the batch is held any more.
    #[serde(default)]
    pub done: bool,
}

impl Release {
    /// How many more of its people may be released at `now` (`None`: no daily cap); zero before
    /// its time or once done.
    pub fn allowance(&self, now: DateTime<Utc>) -> Option<u64> {
        if self.done || now < self.at {
            return Some(0);
        }
        let today = now.date_naive();
        self.per_day.map(|cap| {
            let used = if self.day == Some(today) {
                self.released_that_day
            } else {
                0
            };
            u64::from(cap).saturating_sub(used)
        })
    }

    /// Counts `n` people released at `now`.
    pub fn count(&mut self, n: u64, now: DateTime<Utc>) {
        let today = now.date_naive();
        if self.day != Some(today) {
            self.day = Some(today);
            self.released_that_day = 0;
        }
        self.released_that_day += n;
        self.released += n;
    }
}

impl CampaignControl {
    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// How much of `[from, to]` the campaign spent paused (the pause in force counts up to
    /// `to`). Due times are moved by it: a reminder due a week after the last email is due a
    /// week plus this after it.
    pub fn paused_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let current = self.paused.as_ref().map(|p| PastPause {
            from: p.since,
            to: DateTime::<Utc>::MAX_UTC,
        });
        self.pauses
            .iter()
            .chain(current.iter())
            .map(|p| {
                let start = p.from.max(from);
                let end = p.to.min(to);
                if end > start {
                    end - start
                } else {
                    Duration::zero()
                }
            })
            .fold(Duration::zero(), |a, b| a + b)
    }

    /// Pauses at `now` (`false`: already paused).
    pub fn pause(&mut self, by: &str, now: DateTime<Utc>) -> bool {
        if self.paused.is_some() {
            return false;
        }
        self.paused = Some(Pause {
            since: now,
            by: by.to_string(),
        });
        true
    }

    /// Resumes at `now` (`false`: was not paused).
    pub fn resume(&mut self, now: DateTime<Utc>) -> bool {
        let Some(p) = self.paused.take() else {
            return false;
        };
        self.pauses.push(PastPause {
            from: p.since,
            to: now.max(p.since),
        });
        if self.pauses.len() > PAUSES_KEPT {
            self.pauses.remove(0);
        }
        true
    }
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Backend(anyhow::anyhow!(
        "the campaign controls ({CONTROL_KEY}) do not parse: {e}"
    ))
}

/// The controls as stored (defaults when never written).
pub async fn load(store: &dyn Store) -> StoreResult<CampaignControl> {
    match store.get_meta(CONTROL_KEY).await? {
        None => Ok(CampaignControl::default()),
        Some(raw) => serde_json::from_str(&raw).map_err(corrupt),
    }
}

/// Changes the controls with `change` (called again on the fresh value after a lost race) and
/// returns its result and the value written. `change` returning `None` writes nothing.
pub async fn update<T>(
    store: &dyn Store,
    mut change: impl FnMut(&mut CampaignControl) -> Option<T>,
) -> StoreResult<(Option<T>, CampaignControl)> {
    for _ in 0..ATTEMPTS {
        let raw = store.get_meta(CONTROL_KEY).await?;
        let mut control = match &raw {
            None => CampaignControl::default(),
            Some(r) => serde_json::from_str(r).map_err(corrupt)?,
        };
        let Some(result) = change(&mut control) else {
            return Ok((None, control));
        };
        let new = serde_json::to_string(&control).map_err(corrupt)?;
        if store
            .compare_and_set_meta(CONTROL_KEY, raw.as_deref(), Some(&new))
            .await?
        {
            return Ok((Some(result), control));
        }
    }
    Err(StoreError::Backend(anyhow::anyhow!(
        "the campaign controls keep changing; gave up"
    )))
}

/// The day's count of first invitations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitesToday {
    /// The UTC day.
    pub day: Option<NaiveDate>,
    /// First invitations sent that day.
    pub sent: u64,
}

impl InvitesToday {
    /// The count for `now`'s day.
    pub fn on(self, now: DateTime<Utc>) -> u64 {
        if self.day == Some(now.date_naive()) {
            self.sent
        } else {
            0
        }
    }
}

/// The stored first-invitation count.
pub async fn invites_today(store: &dyn Store) -> StoreResult<InvitesToday> {
    Ok(store
        .get_meta(INVITES_TODAY_KEY)
        .await?
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default())
}

/// Adds `n` first invitations sent at `now` to the day's count.
pub async fn count_invites(store: &dyn Store, n: u64, now: DateTime<Utc>) -> StoreResult<()> {
    if n == 0 {
        return Ok(());
    }
    for _ in 0..ATTEMPTS {
        let raw = store.get_meta(INVITES_TODAY_KEY).await?;
        let old: InvitesToday = raw
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        let new = InvitesToday {
            day: Some(now.date_naive()),
            sent: old.on(now) + n,
        };
        let text = serde_json::to_string(&new).map_err(corrupt)?;
        if store
            .compare_and_set_meta(INVITES_TODAY_KEY, raw.as_deref(), Some(&text))
            .await?
        {
            return Ok(());
        }
    }
    Err(StoreError::Backend(anyhow::anyhow!(
        "the invitation count keeps changing; gave up"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    #[test]
    fn pauses_move_time_only_where_they_overlap() {
        let mut c = CampaignControl::default();
        assert!(c.pause("ada", t("2026-12-01T00:00:00Z")));
        assert!(!c.pause("ada", t("2026-12-01T01:00:00Z")));
        // The pause in force counts up to the end of the interval asked about.
        assert_eq!(
            c.paused_between(t("2026-11-30T00:00:00Z"), t("2026-12-02T00:00:00Z")),
            Duration::days(1)
        );
        assert!(c.resume(t("2026-12-03T00:00:00Z")));
        assert!(!c.resume(t("2026-12-03T00:00:00Z")));
        assert_eq!(
            c.paused_between(t("2026-11-30T00:00:00Z"), t("2026-12-10T00:00:00Z")),
            Duration::days(2)
        );
        // Emailed in the middle of the pause: only the rest of it counts.
        assert_eq!(
            c.paused_between(t("2026-12-02T00:00:00Z"), t("2026-12-10T00:00:00Z")),
            Duration::days(1)
        );
        // Emailed after it: nothing moves.
        assert_eq!(
            c.paused_between(t("2026-12-04T00:00:00Z"), t("2026-12-10T00:00:00Z")),
            Duration::zero()
        );
    }

    #[test]
    fn release_allowance_follows_the_daily_cap() {
        let mut r = Release {
            at: t("2026-12-01T08:00:00Z"),
            per_day: Some(100),
            by: "ada".into(),
            released: 0,
            day: None,
            released_that_day: 0,
            done: false,
        };
        assert_eq!(r.allowance(t("2026-12-01T07:00:00Z")), Some(0));
        assert_eq!(r.allowance(t("2026-12-01T09:00:00Z")), Some(100));
        r.count(60, t("2026-12-01T09:00:00Z"));
        assert_eq!(r.allowance(t("2026-12-01T10:00:00Z")), Some(40));
        assert_eq!(r.allowance(t("2026-12-02T00:00:01Z")), Some(100));
        r.per_day = None;
        assert_eq!(r.allowance(t("2026-12-02T00:00:01Z")), None);
        r.done = true;
        assert_eq!(r.allowance(t("2026-12-02T00:00:01Z")), Some(0));
    }

    #[test]
    fn invites_today_resets_each_day() {
        let c = InvitesToday {
            day: Some(t("2026-12-01T00:00:00Z").date_naive()),
            sent: 7,
        };
        assert_eq!(c.on(t("2026-12-01T23:00:00Z")), 7);
        assert_eq!(c.on(t("2026-12-02T00:00:00Z")), 0);
    }
}
