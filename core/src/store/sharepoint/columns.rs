//! The list's schema: the replaced system's columns, adopted under their internal names, plus
//! the columns this product adds for what the old list lacks.
//!
//! Internal names are the contract with an existing list: `Title` holds the UPN, statuses use
//! the old `InviteStatus` choices (including the legacy `Skipped Registered` and `Error`).
//! `DisplayName_` (named in the old docs but never created by its code) is read as a fallback
//! for `DisplayName` and never written.

use serde_json::{json, Value};

/// Column types the store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Single line of text (≤ 255 characters).
    Text,
    /// Multiple lines of text (cannot be indexed).
    Note,
    /// Number.
    Number,
    /// Yes/No.
    Boolean,
    /// Date and time (UTC, whole seconds).
    DateTime,
    /// One of fixed choices.
    Choice(&'static [&'static str]),
}

/// One column the store needs.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Internal name.
    pub name: &'static str,
    /// Type.
    pub kind: Kind,
    /// Whether queries filter on it (so it must be indexed).
    pub indexed: bool,
    /// Created by the replaced system (`false`: added by this product).
    pub legacy: bool,
}

/// `InviteStatus` choices: ours plus the replaced system's two extra values.
pub const STATUS_CHOICES: &[&str] = &[
    "Pending",
    "Sent",
    "Clicked",
    "AddedToGroup",
    "Active",
    "Skipped Registered",
    "Error",
];
/// `MFARegistrationState` choices.
pub const MFA_CHOICES: &[&str] = &["Unknown", "Not Registered", "Registered"];

/// Legacy status meaning "already registered when the old system looked" (read as Active).
pub const LEGACY_SKIPPED: &str = "Skipped Registered";
/// Legacy status meaning "processing failed" (read as Pending with `ErrorDetails`, not due).
pub const LEGACY_ERROR: &str = "Error";

/// Internal names used in code.
pub mod f {
    pub const TITLE: &str = "Title";
    pub const STATUS: &str = "InviteStatus";
    pub const MFA_STATE: &str = "MFARegistrationState";
    pub const IN_GROUP: &str = "InGroup";
    pub const INVITE_SENT: &str = "InviteSentDate";
    pub const CLICKED: &str = "ClickedLinkDate";
    pub const ADDED_TO_GROUP: &str = "AddedToGroupDate";
    pub const MFA_DATE: &str = "MFARegistrationDate";
    pub const LAST_CHECKED: &str = "LastChecked";
    pub const LAST_REMINDER: &str = "LastReminderDate";
    pub const OPENED: &str = "EmailOpenedDate";
    pub const ESCALATION_DATE: &str = "EscalationDate";
    pub const REMINDERS: &str = "ReminderCount";
    pub const BATCH: &str = "SourceBatchId";
    pub const TOKEN: &str = "TrackingToken";
    pub const CORRELATION: &str = "CorrelationId";
    pub const DISPLAY_NAME: &str = "DisplayName";
    pub const DISPLAY_NAME_DOCS: &str = "DisplayName_";
    pub const DEPARTMENT: &str = "Department";
    pub const JOB_TITLE: &str = "JobTitle";
    pub const MANAGER: &str = "ManagerUPN";
    pub const OBJECT_ID: &str = "ObjectId";
    pub const USER_TYPE: &str = "UserType";
    pub const NOTES: &str = "Notes";
    pub const ESCALATED: &str = "EscalatedToManager";
    pub const ERROR: &str = "ErrorDetails";
    pub const SOURCE: &str = "Source";
    pub const NEXT_DUE: &str = "NextDueAt";
    pub const RESENDS: &str = "ResendCount";
    pub const LAST_RESEND: &str = "LastResendAt";
    pub const SEND_INTENT: &str = "SendIntent";
    pub const SEND_INTENT_AT: &str = "SendIntentAt";
    pub const LEASE_OWNER: &str = "LeaseOwner";
    pub const LEASE_UNTIL: &str = "LeaseUntil";
    pub const CREATED_AT: &str = "CreatedAt";
    pub const UPDATED_AT: &str = "UpdatedAt";
    pub const ROW_VERSION: &str = "RowVersion";
    pub const PHONE_OUTCOME: &str = "PhoneOutcome";
    pub const PHONE_DETAIL: &str = "PhoneDetail";
    pub const PHONE_CHECKED_AT: &str = "PhoneCheckedAt";
    pub const PER_USER_MFA: &str = "PerUserMfaState";
    /// Our notes for the admin (the old list's own `Notes` column is the admins' and is never
    /// written).
    pub const PROCESSING_NOTES: &str = "ProcessingNotes";
    /// An admin's hold or exclusion (`Held`, `Excluded`; empty: none).
    pub const ADMIN_HOLD: &str = "AdminHold";
    /// One line per event in the person's timeline.
    pub const HISTORY: &str = "History";
    /// The strongest class of the methods last seen.
    pub const STRENGTH: &str = "MfaStrength";
    /// The methods last seen, strongest first.
    pub const METHODS: &str = "MfaMethods";
    /// The strength the person's upload asked for (empty: the campaign's).
    pub const TARGET: &str = "MfaTarget";
    /// SharePoint's own creation time (read-only), used for rows without `CreatedAt`.
    pub const SP_CREATED: &str = "Created";
}

const fn spec(name: &'static str, kind: Kind, indexed: bool, legacy: bool) -> Spec {
    Spec {
        name,
        kind,
        indexed,
        legacy,
    }
}

/// Every column of the people list. `Title` is built in (only its index is ensured).
pub const PEOPLE: &[Spec] = &[
    spec(f::TITLE, Kind::Text, true, true),
    spec(f::STATUS, Kind::Choice(STATUS_CHOICES), true, true),
    spec(f::MFA_STATE, Kind::Choice(MFA_CHOICES), true, true),
    spec(f::IN_GROUP, Kind::Boolean, false, true),
    spec(f::INVITE_SENT, Kind::DateTime, false, true),
    spec(f::CLICKED, Kind::DateTime, false, true),
    spec(f::ADDED_TO_GROUP, Kind::DateTime, false, true),
    spec(f::MFA_DATE, Kind::DateTime, false, true),
    spec(f::LAST_CHECKED, Kind::DateTime, false, true),
    spec(f::LAST_REMINDER, Kind::DateTime, false, true),
    spec(f::OPENED, Kind::DateTime, false, true),
    spec(f::ESCALATION_DATE, Kind::DateTime, false, true),
    spec(f::REMINDERS, Kind::Number, false, true),
    spec(f::BATCH, Kind::Text, false, true),
    spec(f::TOKEN, Kind::Text, true, true),
    spec(f::CORRELATION, Kind::Text, false, true),
    spec(f::DISPLAY_NAME, Kind::Text, false, true),
    spec(f::DEPARTMENT, Kind::Text, false, true),
    spec(f::JOB_TITLE, Kind::Text, false, true),
    spec(f::MANAGER, Kind::Text, false, true),
    spec(f::OBJECT_ID, Kind::Text, false, true),
    spec(f::USER_TYPE, Kind::Text, false, true),
    spec(f::NOTES, Kind::Note, false, true),
    spec(f::ESCALATED, Kind::Boolean, false, true),
    spec(f::ERROR, Kind::Note, false, false),
    spec(f::SOURCE, Kind::Text, false, false),
    spec(f::NEXT_DUE, Kind::DateTime, true, false),
    spec(f::RESENDS, Kind::Number, false, false),
    spec(f::LAST_RESEND, Kind::DateTime, false, false),
    spec(f::SEND_INTENT, Kind::Text, false, false),
    spec(f::SEND_INTENT_AT, Kind::DateTime, false, false),
    spec(f::LEASE_OWNER, Kind::Text, false, false),
    spec(f::LEASE_UNTIL, Kind::DateTime, false, false),
    spec(f::CREATED_AT, Kind::DateTime, false, false),
    spec(f::UPDATED_AT, Kind::DateTime, false, false),
    spec(f::ROW_VERSION, Kind::Number, false, false),
    spec(f::PHONE_OUTCOME, Kind::Text, false, false),
    spec(f::PHONE_DETAIL, Kind::Note, false, false),
    spec(f::PHONE_CHECKED_AT, Kind::DateTime, false, false),
    spec(f::PER_USER_MFA, Kind::Text, false, false),
    spec(f::PROCESSING_NOTES, Kind::Note, false, false),
    spec(f::ADMIN_HOLD, Kind::Text, false, false),
    spec(f::HISTORY, Kind::Note, false, false),
    spec(f::STRENGTH, Kind::Text, false, false),
    spec(f::METHODS, Kind::Text, false, false),
    spec(f::TARGET, Kind::Text, false, false),
];

/// Columns of the companion list holding meta values and the mail log.
pub mod meta {
    use super::{spec, Kind, Spec};

    /// The key (`meta:<key>` or `send:<mailbox>`), indexed.
    pub const KEY: &str = "Title";
    /// The value of a meta item.
    pub const VALUE: &str = "Value";
    /// When a mail was sent (mail log items), indexed for the window query.
    pub const AT: &str = "SentAt";
    /// Recipients of a mail log item.
    pub const RECIPIENTS: &str = "Recipients";
    /// Every column of the meta list.
    pub const COLUMNS: &[Spec] = &[
        spec(KEY, Kind::Text, true, false),
        spec(VALUE, Kind::Note, false, false),
        spec(AT, Kind::DateTime, true, false),
        spec(RECIPIENTS, Kind::Number, false, false),
    ];
}

impl Spec {
    /// The Graph column definition for `POST …/columns` or a list's `columns`.
    pub fn definition(&self) -> Value {
        let mut d = json!({"name": self.name, "displayName": self.display_name()});
        let (key, body) = match self.kind {
            Kind::Text => ("text", json!({"maxLength": 255})),
            Kind::Note => ("text", json!({"allowMultipleLines": true})),
            Kind::Number => ("number", json!({})),
            Kind::Boolean => ("boolean", json!({})),
            Kind::DateTime => ("dateTime", json!({"format": "dateTime"})),
            Kind::Choice(choices) => (
                "choice",
                json!({"choices": choices, "displayAs": "dropDownMenu"}),
            ),
        };
        d[key] = body;
        if self.indexed {
            d["indexed"] = json!(true);
        }
        d
    }

    fn display_name(&self) -> &'static str {
        match self.name {
            "Title" => "UPN",
            other => other,
        }
    }
}

/// Fields to `select` when reading whole records: every people column that exists on the list
/// (`present`), plus the old docs' `DisplayName_` and SharePoint's `Created`.
pub fn select_all(present: &[String]) -> Vec<String> {
    let mut out: Vec<String> = PEOPLE
        .iter()
        .map(|c| c.name)
        .chain([f::DISPLAY_NAME_DOCS, f::SP_CREATED])
        .filter(|n| *n == f::SP_CREATED || present.iter().any(|p| p.eq_ignore_ascii_case(n)))
        .map(str::to_string)
        .collect();
    out.dedup();
    out
}
