//! The passes. Each touches only people with something due, claims them under the run's lease,
//! and writes each person with compare-and-set.
//!
//! - [`invitation`]: Pending → resolve in Entra → already registered (Active) or invitation.
//! - [`check`]: MFA registration detection (report or per-user reads).
//! - [`events`]: detection from directory audit events, with a slower reconciliation.
//! - [`followup`]: group-add retries, deadline, escalation and reminders for people due.
//! - [`report`]: the admin summary email.
//! - [`directory_report`]: the directory section of the admin report.
//! - [`pilot`]: the pilot scope (`MFA_PILOT_GROUP`) every pass respects.
//! - [`phone`]: opt-in phone method prepopulation from the directory mobile number.
//! - [`enforce`]: opt-in legacy per-user MFA enforcement (Graph beta).

pub mod check;
pub mod directory_report;
pub mod enforce;
pub mod events;
pub mod followup;
pub mod invitation;
pub mod phone;
pub mod pilot;
pub mod report;

use mfa_core::domain::OnboardingRecord;
use mfa_core::graph::{AuthMethod, GraphError};

/// True when any of `methods` satisfies MFA.
pub fn has_mfa(methods: &[AuthMethod]) -> bool {
    methods.iter().any(AuthMethod::is_mfa_capable)
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
