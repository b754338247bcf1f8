//! Wire shapes: query strings and form bodies as typed structs (read with
//! [`crate::routes::decode`]), a record as camelCase JSON ([`RecordView`]), and as a CSV row with
//! the old SharePoint list's column names ([`ExportRow`]).
//!
//! Query and form fields stay text: each endpoint parses them into domain types with its own
//! message (an invalid token is a page, not a 400). Unknown keys are ignored.

use chrono::{DateTime, SecondsFormat, Utc};
use mfa_core::domain::OnboardingRecord;
use serde::{Deserialize, Serialize};

/// `?token=…` of the public links, and the enrol form's `token` field.
#[derive(Debug, Default, Deserialize)]
pub struct TokenParams {
    /// The tracking token as sent.
    pub token: Option<String>,
}

/// The resend form: `email=…`.
#[derive(Debug, Default, Deserialize)]
pub struct ResendForm {
    /// The address as typed.
    pub email: Option<String>,
}

/// The admin API's query: the people filter of `users` and `export`, paging, and `staleDays`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminQuery {
    /// Days since the invitation after which a non-clicker needs attention (1–365).
    pub stale_days: Option<String>,
    /// Text to find in address or name.
    pub search: Option<String>,
    /// An `InviteStatus`.
    pub status: Option<String>,
    /// An upload batch id.
    pub batch_id: Option<String>,
    /// `notClicked`, `clickedNotRegistered`, `escalated`, `errors` or `queued`.
    pub attention: Option<String>,
    /// Zero-based page.
    pub page: Option<String>,
    /// Page size (1–1000).
    pub page_size: Option<String>,
    /// Export only: `true` to include the personal link tokens (`TrackingToken`), for a
    /// migration; left out otherwise.
    pub include_tokens: Option<String>,
}

/// The upload's query: `batchId`, `sendNow`, `mode` (snake_case spellings accepted).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadQuery {
    /// The batch id.
    #[serde(alias = "batch_id")]
    pub batch_id: Option<String>,
    /// `true`, `1`, `yes` or `on` to run the invitation pass now.
    #[serde(alias = "send_now")]
    pub send_now: Option<String>,
    /// `true`: a held upload (nobody emailed until the batch is released).
    pub hold: Option<String>,
    /// The strength this upload's people must reach (`any`, `beyond-phone`,
    /// `phishing-resistant`; absent: `MFA_TARGET_STRENGTH`).
    pub target: Option<String>,
    /// `keepHistory` (default) or `reset`.
    pub mode: Option<String>,
    /// `refuse` (default: any invalid row refuses the upload) or `skip` (store the valid rows).
    #[serde(alias = "invalid_rows")]
    pub invalid_rows: Option<String>,
}

/// One row of the export, a record as text. The fields are the columns, in order, and their
/// serde names are the header: the old list's internal names first (sheets built on the old export
/// keep working), then ours. A new column is a field here and its value in the `From` below.
#[derive(Debug, Default, Serialize)]
pub struct ExportRow {
    #[serde(rename = "Title")]
    pub title: Cell,
    #[serde(rename = "DisplayName")]
    pub display_name: Cell,
    #[serde(rename = "InviteStatus")]
    pub invite_status: Cell,
    #[serde(rename = "InGroup")]
    pub in_group: Cell,
    #[serde(rename = "MFARegistrationState")]
    pub mfa_registration_state: Cell,
    #[serde(rename = "MFARegistrationDate")]
    pub mfa_registration_date: Cell,
    #[serde(rename = "TrackingToken")]
    pub tracking_token: Cell,
    #[serde(rename = "ClickedLinkDate")]
    pub clicked_link_date: Cell,
    #[serde(rename = "AddedToGroupDate")]
    pub added_to_group_date: Cell,
    #[serde(rename = "InviteSentDate")]
    pub invite_sent_date: Cell,
    #[serde(rename = "LastReminderDate")]
    pub last_reminder_date: Cell,
    #[serde(rename = "ReminderCount")]
    pub reminder_count: Cell,
    #[serde(rename = "LastChecked")]
    pub last_checked: Cell,
    #[serde(rename = "EmailOpenedDate")]
    pub email_opened_date: Cell,
    #[serde(rename = "EscalatedToManager")]
    pub escalated_to_manager: Cell,
    #[serde(rename = "EscalationDate")]
    pub escalation_date: Cell,
    #[serde(rename = "ManagerUPN")]
    pub manager_upn: Cell,
    #[serde(rename = "Source")]
    pub source: Cell,
    #[serde(rename = "SourceBatchId")]
    pub source_batch_id: Cell,
    #[serde(rename = "ErrorDetails")]
    pub error_details: Cell,
    #[serde(rename = "CorrelationId")]
    pub correlation_id: Cell,
    #[serde(rename = "ObjectId")]
    pub object_id: Cell,
    #[serde(rename = "Department")]
    pub department: Cell,
    #[serde(rename = "JobTitle")]
    pub job_title: Cell,
    #[serde(rename = "ResendCount")]
    pub resend_count: Cell,
    #[serde(rename = "LastResendAt")]
    pub last_resend_at: Cell,
    #[serde(rename = "NextDueAt")]
    pub next_due_at: Cell,
    #[serde(rename = "CreatedAt")]
    pub created_at: Cell,
    #[serde(rename = "UpdatedAt")]
    pub updated_at: Cell,
    #[serde(rename = "Notes")]
    pub notes: Cell,
    #[serde(rename = "AdminHold")]
    pub admin_hold: Cell,
    #[serde(rename = "MfaStrength")]
    pub mfa_strength: Cell,
    #[serde(rename = "MfaMethods")]
    pub mfa_methods: Cell,
    #[serde(rename = "MfaTarget")]
    pub mfa_target: Cell,
}

impl From<&OnboardingRecord> for ExportRow {
    fn from(r: &OnboardingRecord) -> Self {
        Self {
            title: Cell::new(r.upn.to_string()),
            display_name: Cell::new(text(&r.display_name)),
            invite_status: Cell::new(r.status.to_string()),
            in_group: Cell::new(flag(r.in_group)),
            mfa_registration_state: Cell::new(r.mfa_state.as_str().to_string()),
            mfa_registration_date: Cell::new(date(r.mfa_registration_date)),
            tracking_token: Cell::new(r.token.to_string()),
            clicked_link_date: Cell::new(date(r.clicked_link_date)),
            added_to_group_date: Cell::new(date(r.added_to_group_date)),
            invite_sent_date: Cell::new(date(r.invite_sent_date)),
            last_reminder_date: Cell::new(date(r.last_reminder_date)),
            reminder_count: Cell::new(r.reminder_count.to_string()),
            last_checked: Cell::new(date(r.last_checked)),
            email_opened_date: Cell::new(date(r.email_opened_date)),
            escalated_to_manager: Cell::new(flag(r.escalated_to_manager)),
            escalation_date: Cell::new(date(r.escalation_date)),
            manager_upn: Cell::new(shown(&r.manager_upn)),
            source: Cell::new(r.source.to_string()),
            source_batch_id: Cell::new(r.batch_id.to_string()),
            error_details: Cell::new(text(&r.error_details)),
            correlation_id: Cell::new(r.correlation_id.to_string()),
            object_id: Cell::new(shown(&r.object_id)),
            department: Cell::new(text(&r.department)),
            job_title: Cell::new(text(&r.job_title)),
            resend_count: Cell::new(r.resend_count.to_string()),
            last_resend_at: Cell::new(date(r.last_resend_at)),
            next_due_at: Cell::new(date(r.next_due_at)),
            created_at: Cell::new(date(Some(r.created_at))),
            updated_at: Cell::new(date(Some(r.updated_at))),
            notes: Cell::new(text(&r.notes)),
            admin_hold: Cell::new(r.hold.map(|h| h.to_string()).unwrap_or_default()),
            mfa_strength: Cell::new(r.strength.map(|s| s.to_string()).unwrap_or_default()),
            mfa_methods: Cell::new(text(&r.methods)),
            mfa_target: Cell::new(r.target.map(|t| t.to_string()).unwrap_or_default()),
        }
    }
}

impl ExportRow {
    /// The header row: the field names, as [`csv::Writer::serialize`] writes them before the first
    /// row. For an export with no rows, which still starts with the header.
    pub fn header() -> csv::Result<csv::StringRecord> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(ExportRow::default())?;
        let text = writer
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        csv::Reader::from_reader(text.as_slice()).headers().cloned()
    }
}

/// One export cell: text that is safe to open in a spreadsheet (see [`neutralise`]).
#[derive(Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Cell(String);

impl Cell {
    /// The cell for `text`, neutralised.
    pub fn new(text: String) -> Self {
        Self(neutralise(text))
    }
}

fn date(d: Option<DateTime<Utc>>) -> String {
    d.map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn flag(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.to_string()
}

fn text(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn shown(v: &Option<impl ToString>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
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
    /// `ErrorDetails`: why processing stopped.
    pub error_details: Option<String>,
    /// Facts for the admin that stopped nothing (`Notes` in the export).
    pub notes: Option<String>,
    /// `AdminHold`: `Held` (a held upload) or `Excluded`; `None`: emailed as the campaign says.
    pub hold: Option<String>,
    /// `MfaStrength`: `none`, `phone-only`, `app` or `phishing-resistant` (`None`: not read yet).
    pub strength: Option<String>,
    /// `MfaMethods`: the methods last seen, strongest first, comma-separated.
    pub methods: Option<String>,
    /// `MfaTarget`: the strength this person's upload asked for (`None`: the campaign's).
    pub target: Option<String>,
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
            notes: r.notes.clone(),
            hold: r.hold.map(|h| h.to_string()),
            strength: r.strength.map(|s| s.to_string()),
            methods: r.methods.clone(),
            target: r.target.map(|t| t.to_string()),
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

    #[test]
    fn queries_and_forms_decode_into_their_types() {
        let decode = |s: &str| crate::routes::decode::<AdminQuery>(s.as_bytes());
        let q = decode("staleDays=5&pageSize=10&search=ann%20lee+x&batchId=wave-1&_=17")
            .expect("decodes");
        assert_eq!(q.stale_days.as_deref(), Some("5"));
        assert_eq!(q.page_size.as_deref(), Some("10"));
        assert_eq!(q.search.as_deref(), Some("ann lee x"));
        assert_eq!(q.batch_id.as_deref(), Some("wave-1"));
        assert!(q.page.is_none() && q.status.is_none());
        assert!(decode("").expect("empty").search.is_none());
        assert!(decode("page=1&page=2").is_err(), "a key twice is refused");

        let up: UploadQuery =
            crate::routes::decode(b"batch_id=b1&send_now=yes&mode=reset").expect("snake_case");
        assert_eq!(
            (
                up.batch_id.as_deref(),
                up.send_now.as_deref(),
                up.mode.as_deref()
            ),
            (Some("b1"), Some("yes"), Some("reset"))
        );
        let t: TokenParams =
            crate::routes::decode(b"token=4f9c%2Dab&utm_source=mail").expect("token");
        assert_eq!(t.token.as_deref(), Some("4f9c-ab"));
        let f: ResendForm = crate::routes::decode(b"email=ann%40contoso.com").expect("form");
        assert_eq!(f.email.as_deref(), Some("ann@contoso.com"));
    }

    /// The export's header is exactly the old list's columns, in order, then ours.
    #[test]
    fn export_header_keeps_the_columns_and_their_order() {
        let header = ExportRow::header().expect("header");
        assert_eq!(
            header.iter().collect::<Vec<_>>().join(","),
            "Title,DisplayName,InviteStatus,InGroup,MFARegistrationState,MFARegistrationDate,\
             TrackingToken,ClickedLinkDate,AddedToGroupDate,InviteSentDate,LastReminderDate,\
             ReminderCount,LastChecked,EmailOpenedDate,EscalatedToManager,EscalationDate,ManagerUPN,\
             Source,SourceBatchId,ErrorDetails,CorrelationId,ObjectId,Department,JobTitle,\
             ResendCount,LastResendAt,NextDueAt,CreatedAt,UpdatedAt,Notes,AdminHold,MfaStrength,MfaMethods,MfaTarget"
        );
    }
}
