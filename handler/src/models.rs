//! Wire shapes of the admin API: a record as camelCase JSON, and as a CSV row with the old
//! SharePoint list's column names.

use chrono::{DateTime, SecondsFormat, Utc};
use mfa_core::domain::OnboardingRecord;
use serde::Serialize;

/// The export's columns: the old list's internal names first (sheets built on the old export keep
/// working), then ours.
pub const EXPORT_COLUMNS: [&str; 29] = [
    "Title",
    "DisplayName",
    "InviteStatus",
    "InGroup",
    "MFARegistrationState",
    "MFARegistrationDate",
    "TrackingToken",
    "ClickedLinkDate",
    "AddedToGroupDate",
    "InviteSentDate",
    "LastReminderDate",
    "ReminderCount",
    "LastChecked",
    "EmailOpenedDate",
    "EscalatedToManager",
    "EscalationDate",
    "ManagerUPN",
    "Source",
    "SourceBatchId",
    "ErrorDetails",
    "CorrelationId",
    "ObjectId",
    "Department",
    "JobTitle",
    "ResendCount",
    "LastResendAt",
    "NextDueAt",
    "CreatedAt",
    "UpdatedAt",
];

fn date(d: Option<DateTime<Utc>>) -> String {
    d.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn flag(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.to_string()
}

/// Makes a cell safe to open in a spreadsheet: a value starting with `=`, `+`, `-`, `@`, tab or
/// carriage return is prefixed with `'` so it is shown as text, not run as a formula.
pub fn neutralise(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// A record as one export row, in [`EXPORT_COLUMNS`] order, every cell neutralised.
pub fn export_row(r: &OnboardingRecord) -> Vec<String> {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    [
        r.upn.to_string(),
        text(&r.display_name),
        r.status.to_string(),
        flag(r.in_group),
        r.mfa_state.as_str().to_string(),
        date(r.mfa_registration_date),
        r.token.to_string(),
        date(r.clicked_link_date),
        date(r.added_to_group_date),
        date(r.invite_sent_date),
        date(r.last_reminder_date),
        r.reminder_count.to_string(),
        date(r.last_checked),
        date(r.email_opened_date),
        flag(r.escalated_to_manager),
        date(r.escalation_date),
        r.manager_upn
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        r.source.to_string(),
        r.batch_id.to_string(),
        text(&r.error_details),
        r.correlation_id.to_string(),
        r.object_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        text(&r.department),
        text(&r.job_title),
        r.resend_count.to_string(),
        date(r.last_resend_at),
        date(r.next_due_at),
        date(Some(r.created_at)),
        date(Some(r.updated_at)),
    ]
    .into_iter()
    .map(neutralise)
    .collect()
}

/// A record in the admin API's JSON (camelCase, every column).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    /// `Title`.
    pub upn: String,
    /// `DisplayName`.
    pub display_name: Option<String>,
    /// `Department`.
    pub department: Option<String>,
    /// `JobTitle`.
    pub job_title: Option<String>,
    /// `InviteStatus`.
    pub invite_status: String,
    /// `InGroup`.
    pub in_group: bool,
    /// `MFARegistrationState`.
    pub mfa_registration_state: String,
    /// `MFARegistrationDate`.
    pub mfa_registration_date: Option<DateTime<Utc>>,
    /// `TrackingToken`.
    pub tracking_token: String,
    /// `ClickedLinkDate`.
    pub clicked_link_date: Option<DateTime<Utc>>,
    /// `AddedToGroupDate`.
    pub added_to_group_date: Option<DateTime<Utc>>,
    /// `InviteSentDate`.
    pub invite_sent_date: Option<DateTime<Utc>>,
    /// `LastReminderDate`.
    pub last_reminder_date: Option<DateTime<Utc>>,
    /// `ReminderCount`.
    pub reminder_count: u32,
    /// `LastChecked`.
    pub last_checked: Option<DateTime<Utc>>,
    /// `EmailOpenedDate`.
    pub email_opened_date: Option<DateTime<Utc>>,
    /// `EscalatedToManager`.
    pub escalated_to_manager: bool,
    /// `EscalationDate`.
    pub escalation_date: Option<DateTime<Utc>>,
    /// `ManagerUPN`.
    pub manager_upn: Option<String>,
    /// `Source`.
    pub source: String,
    /// `SourceBatchId`.
    pub source_batch_id: String,
    /// `ErrorDetails`.
    pub error_details: Option<String>,
    /// `CorrelationId`.
    pub correlation_id: String,
    /// `ObjectId`.
    pub object_id: Option<String>,
    /// When the worker next looks at the person.
    pub next_due_at: Option<DateTime<Utc>>,
    /// Self-service resends.
    pub resend_count: u32,
    /// Latest self-service resend.
    pub last_resend_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
}

impl From<&OnboardingRecord> for RecordView {
    fn from(r: &OnboardingRecord) -> Self {
        Self {
            upn: r.upn.to_string(),
            display_name: r.display_name.clone(),
            department: r.department.clone(),
            job_title: r.job_title.clone(),
            invite_status: r.status.to_string(),
            in_group: r.in_group,
            mfa_registration_state: r.mfa_state.as_str().to_string(),
            mfa_registration_date: r.mfa_registration_date,
            tracking_token: r.token.to_string(),
            clicked_link_date: r.clicked_link_date,
            added_to_group_date: r.added_to_group_date,
            invite_sent_date: r.invite_sent_date,
            last_reminder_date: r.last_reminder_date,
            reminder_count: r.reminder_count,
            last_checked: r.last_checked,
            email_opened_date: r.email_opened_date,
            escalated_to_manager: r.escalated_to_manager,
            escalation_date: r.escalation_date,
            manager_upn: r.manager_upn.as_ref().map(ToString::to_string),
            source: r.source.to_string(),
            source_batch_id: r.batch_id.to_string(),
            error_details: r.error_details.clone(),
            correlation_id: r.correlation_id.to_string(),
            object_id: r.object_id.as_ref().map(ToString::to_string),
            next_due_at: r.next_due_at,
            resend_count: r.resend_count,
            last_resend_at: r.last_resend_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad.to_string()).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("Ann".into()), "Ann");
    }
}
