//! The contract between whatever triggers worker passes (Functions timers through the handler,
//! the admin API's "run now", the `worker` binary) and the worker that runs them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One kind of pass over the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PassKind {
    /// Pending people → resolve in Entra → invitation email.
    Invitation,
    /// Detect MFA registration for people not yet Active.
    Check,
    /// Periodic reminders.
    Reminder,
    /// Manager escalation after the configured number of reminders.
    Escalation,
    /// Optional deadline: add non-clickers to the group.
    Deadline,
    /// Admin summary email.
    Report,
    /// Opt-in (`MFA_PHONE_PREPOPULATE`): add the directory mobile number as the `mobile` phone
    /// method of people without any MFA method.
    Phone,
    /// Opt-in (`MFA_PER_USER_MFA`, Graph beta): set the legacy per-user MFA state.
    Enforce,
}

impl PassKind {
    /// Every pass.
    pub const ALL: [PassKind; 8] = [
        PassKind::Invitation,
        PassKind::Check,
        PassKind::Reminder,
        PassKind::Escalation,
        PassKind::Deadline,
        PassKind::Report,
        PassKind::Phone,
        PassKind::Enforce,
    ];

    /// The passes the `orchestrator-timer` runs, in order.
    pub const ORCHESTRATOR: [PassKind; 5] = [
        PassKind::Check,
        PassKind::Escalation,
        PassKind::Reminder,
        PassKind::Invitation,
        PassKind::Deadline,
    ];

    /// The opt-in directory passes. When enabled by their setting, the worker runs `phone`
    /// before and `enforce` after the orchestrator's passes in every run that includes the
    /// check pass; asked for by name they run on their own.
    pub const DIRECTORY: [PassKind; 2] = [PassKind::Phone, PassKind::Enforce];

    /// The name used on the command line and in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            PassKind::Invitation => "invitation",
            PassKind::Check => "check",
            PassKind::Reminder => "reminder",
            PassKind::Escalation => "escalation",
            PassKind::Deadline => "deadline",
            PassKind::Report => "report",
            PassKind::Phone => "phone",
            PassKind::Enforce => "enforce",
        }
    }
}

impl fmt::Display for PassKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown pass name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown pass {0:?} (expected invitation, check, reminder, escalation, deadline, report, phone or enforce)"
)]
pub struct UnknownPass(pub String);

impl FromStr for PassKind {
    type Err = UnknownPass;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PassKind::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPass(s.to_string()))
    }
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    /// Passes, run in this order.
    pub passes: Vec<PassKind>,
    /// Override of "now" (tests, `worker run-once --now`); `None` uses the clock.
    pub now: Option<DateTime<Utc>>,
    /// Report what would happen; send and write nothing.
    pub dry_run: bool,
    /// What triggered the run (for logs): `timer`, `admin`, `upload`, `cli`.
    pub trigger: String,
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassOutcome {
    /// Which pass.
    pub pass: Option<PassKind>,
    /// People looked at.
    pub examined: u64,
    /// People whose record changed.
    pub changed: u64,
    /// Emails sent.
    pub emails_sent: u64,
    /// People left for a later run (sending limits, time budget).
    pub deferred: u64,
    /// People with a recorded error.
    pub errors: u64,
    /// Human-readable notes (what a dry run would do, why a pass was skipped).
    pub notes: Vec<String>,
    /// In a dry run: the emails it would send, counted by kind (`invitation`, `reminder`,
    /// `escalation`, `report`) and then by the upload batch of the people they are about.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub planned: BTreeMap<String, BTreeMap<String, u64>>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Unique id of the run (also its lease owner).
    pub run_id: String,
    /// Per pass, in order.
    pub passes: Vec<PassOutcome>,
    /// True when the time budget ran out before all work was done.
    pub budget_exhausted: bool,
}

/// What the passes last recorded that admins see on the dashboard and in the admin report. The
/// worker keeps it in its own bookkeeping; triggers read it through [`PassRunner::state`] and
/// show the JSON parts as the worker wrote them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassState {
    /// The registration detection the last check pass used (`events`, `report`, `per-user`);
    /// `None` before the first check.
    pub detection_mode: Option<String>,
    /// With audit events: what the last full reconciliation found that the events had missed
    /// (`{"lastAt","source","lastFound","runningFound","totalFound","inProgress","baseline"}`).
    pub reconciliation: Option<serde_json::Value>,
    /// With a pilot group: its scope as last counted
    /// (`{"groupId","groupName","members","inScope","outOfScope","at"}`).
    pub pilot: Option<serde_json::Value>,
    /// Microsoft's registration campaign (the nudge to register Authenticator or passkeys at
    /// sign-in), as the last report read it from `authenticationMethodsPolicy` (read-only):
    /// `{"state","snoozeDays","includeTargets","at"}`, or `{"unknown": "<why>","at"}`.
    #[serde(default)]
    pub registration_campaign: Option<serde_json::Value>,
    /// Everyone in the tenant by strength as the last report read the registration report
    /// (Entra ID P1): `{"byStrength","guests","disabled","examined","at"}`, or
    /// `{"unknown": "<why>","at"}`.
    #[serde(default)]
    pub tenant_strength: Option<serde_json::Value>,
}

/// Runs passes. Implemented by the worker; called by the handler's timers and admin API.
#[async_trait]
pub trait PassRunner: Send + Sync {
    /// Runs the requested passes and reports what they did.
    async fn run(&self, request: RunRequest) -> anyhow::Result<RunReport>;

    /// What the passes last recorded for admins to see (detection mode, reconciliation, pilot).
    async fn state(&self) -> anyhow::Result<PassState>;

    /// An email as it would be sent now, rendered with the templates in use (`upn`: whom it is
    /// about; the report is about nobody). Nothing is stored or sent. `None`: no such person.
    async fn sample_email(
        &self,
        kind: crate::domain::MailKind,
        upn: Option<&crate::domain::Upn>,
    ) -> anyhow::Result<Option<SampleEmail>>;

    /// Everyone in the tenant, or in `group` (transitively), who does not meet `below`, from
    /// the registration report (Entra ID P1), leaving out guests and disabled accounts. Reads
    /// only; nothing is stored.
    async fn find_people(
        &self,
        below: crate::domain::TargetStrength,
        group: Option<String>,
    ) -> anyhow::Result<FoundPeople>;
}

/// A run refused because another run holds the run lease (callers answer "busy", not "failed").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("another worker run is in progress; try again when it has finished")]
pub struct RunBusy;

/// The people of the tenant (or of one group) below a strength, found from the registration
/// report: what an admin adds as one batch without a CSV.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundPeople {
    /// Rows of the report read (the tenant's users, or the group's).
    pub examined: u64,
    /// Guests left out.
    pub guests: u64,
    /// Disabled accounts left out.
    pub disabled: u64,
    /// The rest, by the strength of what they have registered.
    pub by_strength: BTreeMap<String, u64>,
    /// The people below the chosen strength, by UPN.
    pub below: Vec<crate::domain::Upn>,
    /// Where the methods came from: `report` (the registration report, Entra ID P1) or
    /// `per-user` (each user's methods, without P1).
    pub source: String,
    /// False when the per-user reads ran out of time or some failed: the counts cover only the
    /// people read.
    pub complete: bool,
}

/// A rendered sample email (the admin's preview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleEmail {
    /// `invitation`, `reminder`, `escalation` or `report`.
    pub kind: String,
    /// Whom it would go to.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
    /// The template files it is made of and whether each is built in or an override.
    pub templates: Vec<TemplateSource>,
}

/// One template file behind a sample email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSource {
    /// The file name (`invitation.html.hbs`, …).
    pub file: String,
    /// `built-in`, or `override` (from `MFA_TEMPLATE_DIR`).
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_including_the_directory_passes() {
        for p in PassKind::ALL {
            assert_eq!(p.as_str().parse::<PassKind>(), Ok(p));
            assert_eq!(
                serde_json::to_value(p).ok(),
                Some(serde_json::json!(p.as_str()))
            );
        }
        assert_eq!(" Phone ".parse::<PassKind>(), Ok(PassKind::Phone));
        let err = "sms".parse::<PassKind>().expect_err("unknown");
        assert!(err.to_string().contains("phone or enforce"), "{err}");
        assert!(!PassKind::ORCHESTRATOR
            .iter()
            .any(|p| PassKind::DIRECTORY.contains(p)));
    }
}
