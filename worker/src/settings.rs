//! Settings only the worker reads (the shared ones are in `mfa_core::config`). Documented in
//! `docs/configuration.md`.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use mfa_core::config::{ConfigError, Vars};
use url::Url;

use crate::directory::DirectorySettings;

/// When the admin report email goes out (`MFA_REPORT_SCHEDULE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSchedule {
    /// Every time the reports timer fires (daily by default).
    Daily,
    /// Only on [`WorkerSettings::report_weekday`].
    Weekly,
    /// Never (the dashboard only).
    Off,
}

/// How a registration event becomes Active (`MFA_EVENTS_CONFIRM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsConfirm {
    /// The event itself when its reason names an MFA-capable method and no deletion follows it
    /// in the window; one read of the person's methods otherwise (default).
    Auto,
    /// One read of the person's methods for every event, whatever it says.
    Read,
}

/// Worker-only settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Directory with template overrides (`MFA_TEMPLATE_DIR`).
    pub template_dir: Option<PathBuf>,
    /// `MFA_REPORT_SCHEDULE` (default daily).
    pub report_schedule: ReportSchedule,
    /// Day of the weekly report (`MFA_REPORT_WEEKDAY`, default Monday).
    pub report_weekday: Weekday,
    /// People invited this many days ago without a click are "needing attention"
    /// (`MFA_ATTENTION_DAYS`, default 3).
    pub attention_days: i64,
    /// Link to the dashboard in report emails (`MFA_PORTAL_URL`).
    pub portal_url: Option<Url>,
    /// Fixed deadline after which people who have not clicked are added to the group anyway
    /// (`MFA_DEADLINE`, a date or RFC 3339 instant, UTC).
    pub deadline: Option<DateTime<Utc>>,
    /// Per-person deadline, days after their first invitation (`MFA_DEADLINE_DAYS`).
    pub deadline_days: Option<i64>,
    /// Share of a run's sending capacity kept for new invitations while reminders and
    /// escalations are queued (`MFA_INVITE_SHARE_PERCENT`, default 25).
    pub invite_share_percent: u32,
    /// People claimed per store round trip (`MFA_WORKER_PAGE`, default 20, at most 1000).
    pub page: usize,
    /// How far each audit-event query reaches back before the last one's end, so events Entra
    /// writes late are still read (`MFA_EVENTS_OVERLAP_MINUTES`, default 30).
    pub events_overlap: chrono::Duration,
    /// Whether registration events are trusted when they name the method
    /// (`MFA_EVENTS_CONFIRM`, `auto` by default, or `read`).
    pub events_confirm: EventsConfirm,
    /// Full reconciliation interval while events drive the check (`MFA_RECONCILE_HOURS`,
    /// default 24).
    pub reconcile_interval: chrono::Duration,
    /// Least time between two reads of the registration report when it is the check's source
    /// (`MFA_REPORT_EVERY_MINUTES`, default 60; 0 reads it on every check). Its data lags up
    /// to a few hours, so reading it more often only costs requests.
    pub report_every: chrono::Duration,
    /// Most of a run the check pass may take while mail is due (`MFA_CHECK_SHARE_PERCENT`,
    /// default 50; 100 = no limit): its confirmation and per-user reads wait on the reports
    /// limit and would otherwise hold invitations and reminders back.
    pub check_share_percent: u32,
    /// The opt-in directory passes and the pilot group (`crate::directory`).
    pub directory: DirectorySettings,
}

impl WorkerSettings {
    /// Reads the worker settings from `vars`.
    pub fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let number = |name: &'static str,
                      default: i64,
                      range: std::ops::RangeInclusive<i64>|
         -> Result<i64, ConfigError> {
            match v.get(name) {
                None => Ok(default),
                Some(s) => s
                    .parse::<i64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        ConfigError::new(
                            name,
                            format!("expected a whole number in {range:?}, got {s:?}"),
                        )
                    }),
            }
        };
        let report_schedule = v.one_of(
            "MFA_REPORT_SCHEDULE",
            ReportSchedule::Daily,
            &[
                ("daily", ReportSchedule::Daily),
                ("weekly", ReportSchedule::Weekly),
                ("off", ReportSchedule::Off),
                ("none", ReportSchedule::Off),
            ],
        )?;
        let events_confirm = v.one_of(
            "MFA_EVENTS_CONFIRM",
            EventsConfirm::Auto,
            &[("auto", EventsConfirm::Auto), ("read", EventsConfirm::Read)],
        )?;
        let report_weekday = match v.get("MFA_REPORT_WEEKDAY") {
            None => Weekday::Mon,
            Some(s) => s.parse::<Weekday>().map_err(|_| {
                ConfigError::new(
                    "MFA_REPORT_WEEKDAY",
                    format!("expected a weekday like Mon, got {s:?}"),
                )
            })?,
        };
        let portal_url = v
            .get("MFA_PORTAL_URL")
            .map(|s| {
                Url::parse(s)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        ConfigError::new(
                            "MFA_PORTAL_URL",
                            format!("expected an http(s) URL, got {s:?}"),
                        )
                    })
            })
            .transpose()?;
        let deadline = v
            .get("MFA_DEADLINE")
            .map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map(|d| d.to_utc())
                    .or_else(|_| {
                        NaiveDate::parse_from_str(s, "%Y-%m-%d")
                            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                    })
                    .map_err(|_| {
                        ConfigError::new(
                            "MFA_DEADLINE",
                            format!("expected a date (2026-12-31) or RFC 3339 instant, got {s:?}"),
                        )
                    })
            })
            .transpose()?;
        let deadline_days = match v.get("MFA_DEADLINE_DAYS") {
            None => None,
            Some(_) => Some(number("MFA_DEADLINE_DAYS", 0, 1..=365)?),
        };
        Ok(Self {
            template_dir: v.get("MFA_TEMPLATE_DIR").map(PathBuf::from),
            report_schedule,
            report_weekday,
            attention_days: number("MFA_ATTENTION_DAYS", 3, 1..=365)?,
            portal_url,
            deadline,
            deadline_days,
            invite_share_percent: number("MFA_INVITE_SHARE_PERCENT", 25, 0..=100)? as u32,
            page: number("MFA_WORKER_PAGE", 20, 1..=1000)? as usize,
            events_overlap: chrono::Duration::minutes(number(
                "MFA_EVENTS_OVERLAP_MINUTES",
                30,
                1..=1440,
            )?),
            events_confirm,
            reconcile_interval: chrono::Duration::hours(number(
                "MFA_RECONCILE_HOURS",
                24,
                1..=720,
            )?),
            report_every: chrono::Duration::minutes(number(
                "MFA_REPORT_EVERY_MINUTES",
                60,
                0..=1440,
            )?),
            check_share_percent: number("MFA_CHECK_SHARE_PERCENT", 50, 10..=100)? as u32,
            directory: DirectorySettings::from_vars(
                v,
                deadline.is_some() || deadline_days.is_some(),
            )?,
        })
    }

    /// The instant from which `invited_at`'s person is past their deadline, if any applies.
    pub fn deadline_for(&self, first_invited: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let per_person = self
            .deadline_days
            .zip(first_invited)
            .map(|(d, at)| at + chrono::Duration::days(d));
        match (self.deadline, per_person) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let s = WorkerSettings::from_vars(&Vars::default()).expect("defaults");
        assert_eq!(s.report_schedule, ReportSchedule::Daily);
        assert_eq!(
            (s.attention_days, s.invite_share_percent, s.page),
            (3, 25, 20)
        );
        assert!(s.deadline_for(None).is_none());
        assert_eq!(
            (s.events_overlap, s.reconcile_interval),
            (chrono::Duration::minutes(30), chrono::Duration::hours(24))
        );
        assert_eq!(s.report_every, chrono::Duration::minutes(60));
        assert_eq!(s.check_share_percent, 50);
        assert_eq!(s.events_confirm, EventsConfirm::Auto);
        let read = Vars::from_pairs([("MFA_EVENTS_CONFIRM", "Read")]);
        assert_eq!(
            WorkerSettings::from_vars(&read).map(|s| s.events_confirm),
            Ok(EventsConfirm::Read)
        );
        let cases = [
            ("MFA_REPORT_SCHEDULE", "hourly"),
            ("MFA_REPORT_WEEKDAY", "Someday"),
            ("MFA_ATTENTION_DAYS", "0"),
            ("MFA_DEADLINE", "next week"),
            ("MFA_DEADLINE_DAYS", "-1"),
            ("MFA_INVITE_SHARE_PERCENT", "150"),
            ("MFA_PORTAL_URL", "ftp://x"),
            ("MFA_WORKER_PAGE", "0"),
            ("MFA_EVENTS_OVERLAP_MINUTES", "0"),
            ("MFA_RECONCILE_HOURS", "never"),
            ("MFA_REPORT_EVERY_MINUTES", "-5"),
            ("MFA_CHECK_SHARE_PERCENT", "5"),
            ("MFA_EVENTS_CONFIRM", "trust"),
        ];
        for (var, value) in cases {
            let err = WorkerSettings::from_vars(&Vars::from_pairs([(var, value)])).expect_err(var);
            assert_eq!(err.variable, var, "{value}");
        }
        let s = WorkerSettings::from_vars(&Vars::from_pairs([
            ("MFA_DEADLINE", "2026-12-31"),
            ("MFA_DEADLINE_DAYS", "14"),
        ]))
        .expect("deadline");
        let invited = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .expect("date")
            .to_utc();
        assert_eq!(
            s.deadline_for(Some(invited)).map(|d| d.to_rfc3339()),
            Some("2026-12-15T00:00:00+00:00".into())
        );
    }
}
