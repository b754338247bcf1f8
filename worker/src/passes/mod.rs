//! The passes. Each touches only people with something due, claims them under the run's lease,
//! and writes each person with compare-and-set.
//!
//! - [`invitation`]: Pending → resolve in Entra → already registered (Active) or invitation.
//! - [`check`]: MFA registration detection (report or per-user reads).
//! - [`events`]: detection from directory audit events, with a slower reconciliation.
//! - [`find`]: the people below a strength, from the registration report (no CSV).
//! - [`followup`]: group-add retries, deadline, escalation and reminders for people due.
//! - [`release`]: held uploads released by an admin become due (before invitations).
//! - [`report`]: the admin summary email.
//! - [`directory_report`]: the directory section of the admin report.
//! - [`pilot`]: the pilot scope (`MFA_PILOT_GROUP`) every pass respects.
//! - [`phone`]: opt-in phone method prepopulation from the directory mobile number.
//! - [`enforce`]: opt-in legacy per-user MFA enforcement (Graph beta).

pub mod check;
pub mod directory_report;
pub mod enforce;
pub mod events;
pub mod find;
pub mod followup;
pub mod invitation;
pub mod phone;
pub mod pilot;
pub mod release;
pub mod report;

use chrono::{DateTime, Utc};
use mfa_core::domain::{InviteStatus, OnboardingRecord, Upn};
use mfa_core::domain::{MethodLabel, StatusEvent, Strength, TargetStrength};
use mfa_core::graph::{labels_of_methods, AuthMethod, GraphError, RegistrationDetails};

use crate::context::RunCtx;

/// People read per store page by the passes that walk everyone in some statuses.
const STORE_PAGE: usize = 200;
/// People per `$batch` of Graph requests.
pub const GRAPH_GROUP: usize = 20;

/// A walk over everyone in some statuses, in UPN order, a store page at a time, for the passes
/// that look at people regardless of due times (phone prepopulation, per-user enforcement).
#[derive(Debug)]
pub struct StatusWalk {
    statuses: &'static [InviteStatus],
    after: Option<Upn>,
    done: bool,
}

impl StatusWalk {
    /// A walk from the start.
    pub fn new(statuses: &'static [InviteStatus]) -> Self {
        Self {
            statuses,
            after: None,
            done: false,
        }
    }

    /// The next page, without the people outside the pilot scope (so possibly empty); `None`
    /// at the end.
    pub async fn next(
        &mut self,
        ctx: &mut RunCtx,
    ) -> anyhow::Result<Option<Vec<OnboardingRecord>>> {
        if self.done {
            return Ok(None);
        }
        let page = ctx
            .store
            .page_by_status(self.statuses, self.after.as_ref(), STORE_PAGE)
            .await?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        self.after = Some(last.upn.clone());
        self.done = page.len() < STORE_PAGE;
        Ok(Some(ctx.keep_in_scope(page)))
    }
}

/// How people are looked up in Entra ID: by object id once known, else by UPN.
pub fn directory_key(rec: &OnboardingRecord) -> String {
    rec.object_id
        .as_ref()
        .map_or_else(|| rec.upn.to_string(), |o| o.to_string())
}

/// True when any of `methods` satisfies MFA (the phone pass's "already has MFA").
pub fn has_mfa(methods: &[AuthMethod]) -> bool {
    methods.iter().any(AuthMethod::is_mfa_capable)
}

/// What a read of someone's registered methods found: the methods (strongest first), their
/// class, and whether any satisfies MFA at all (the `any` target's test).
#[derive(Debug, Clone)]
pub struct MethodsRead {
    /// The methods, as stored.
    pub labels: Vec<MethodLabel>,
    /// Their strongest class.
    pub strength: Strength,
    /// At least one MFA-capable method (`isMfaRegistered` in the report).
    pub mfa_capable: bool,
}

impl MethodsRead {
    /// From `/authentication/methods`.
    pub fn of_methods(methods: &[AuthMethod]) -> Self {
        let labels = labels_of_methods(methods);
        Self {
            strength: MethodLabel::strongest(&labels),
            labels,
            mfa_capable: methods.iter().any(AuthMethod::is_mfa_capable),
        }
    }

    /// From a registration report row.
    pub fn of_report(row: &RegistrationDetails) -> Self {
        let labels = row.method_labels();
        Self {
            strength: MethodLabel::strongest(&labels),
            labels,
            mfa_capable: row.is_mfa_registered,
        }
    }

    /// Whether it meets the campaign's target (`MFA_TARGET_STRENGTH`): for `any`, an
    /// MFA-capable method; above it, a method of that class or stronger.
    pub fn meets(&self, target: TargetStrength) -> bool {
        match target {
            TargetStrength::Any => self.mfa_capable,
            _ => target.is_met_by(self.strength),
        }
    }

    /// Records the methods on `rec` when they differ from what it holds. Returns whether it
    /// changed.
    pub fn note(&self, rec: &mut OnboardingRecord, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let stored = MethodLabel::join(&self.labels);
        if rec.strength == Some(self.strength) && rec.methods.as_deref() == Some(stored.as_str()) {
            rec.last_checked = Some(now);
            return Ok(false);
        }
        rec.apply(
            StatusEvent::MethodsSeen {
                methods: self.labels.clone(),
            },
            now,
        )?;
        Ok(true)
    }
}

/// A Graph error that is the person's fault (unknown, bad address), not the service's.
pub fn is_permanent(e: &GraphError) -> bool {
    matches!(
        e,
        GraphError::NotFound { .. } | GraphError::BadRequest { .. }
    )
}

/// Short description for logs and notes without personal data beyond the UPN.
pub fn who(rec: &OnboardingRecord) -> &str {
    rec.upn.as_str()
}
