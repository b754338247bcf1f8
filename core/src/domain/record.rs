//! One person's onboarding record: every column of the seed's SharePoint list plus what the worker
//! needs to be efficient.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    BatchId, Hold, InviteStatus, MethodLabel, MfaState, ObjectId, PerUserMfa, PhoneOutcome, Source,
    StatusEvent, Strength, TargetStrength, TrackingToken, TransitionError, Upn,
};

/// The kinds of email the system sends to or about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailKind {
    /// The first email with the personal link (also after a resend).
    Invitation,
    /// A periodic reminder.
    Reminder,
    /// The note to the person's manager.
    Escalation,
    /// The progress report to the admins (about nobody in particular).
    Report,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 4] = [
        MailKind::Invitation,
        MailKind::Reminder,
        MailKind::Escalation,
        MailKind::Report,
    ];

    /// Stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Invitation => "Invitation",
            MailKind::Reminder => "Reminder",
            MailKind::Escalation => "Escalation",
            MailKind::Report => "Report",
        }
    }

    /// The value of the `x-mfa-onboarding` header the email carries.
    pub fn header_value(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::Reminder => "reminder",
            MailKind::Escalation => "escalation",
            MailKind::Report => "report",
        }
    }

    /// Parses [`MailKind::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One person's row. Field names follow the old list's columns (shown in brackets) so the export
/// and the SharePoint backend map one to one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnboardingRecord {
    /// `Title`: the person's UPN, the record's key.
    pub upn: Upn,
    /// `DisplayName_`: from the upload or from Entra ID.
    pub display_name: Option<String>,
    /// `Department`, when known.
    pub department: Option<String>,
    /// `JobTitle`, when known.
    pub job_title: Option<String>,
    /// `InviteStatus`.
    pub status: InviteStatus,
    /// `InGroup`: member of the Conditional Access group.
    pub in_group: bool,
    /// `MFARegistrationState`.
    pub mfa_state: MfaState,
    /// `MFARegistrationDate`: when registration was first detected.
    pub mfa_registration_date: Option<DateTime<Utc>>,
    /// `TrackingToken`: the token in the person's current links.
    pub token: TrackingToken,
    /// `ClickedLinkDate`.
    pub clicked_link_date: Option<DateTime<Utc>>,
    /// `AddedToGroupDate`.
    pub added_to_group_date: Option<DateTime<Utc>>,
    /// `InviteSentDate`: the latest invitation.
    pub invite_sent_date: Option<DateTime<Utc>>,
    /// `LastReminderDate`.
    pub last_reminder_date: Option<DateTime<Utc>>,
    /// `ReminderCount`: reminders sent (the invitation itself is not counted).
    pub reminder_count: u32,
    /// `LastChecked`: the last MFA check that looked at this person.
    pub last_checked: Option<DateTime<Utc>>,
    /// `EmailOpenedDate`: first open seen (an estimate: image loading is not reliable).
    pub email_opened_date: Option<DateTime<Utc>>,
    /// `EscalatedToManager`.
    pub escalated_to_manager: bool,
    /// `EscalationDate`.
    pub escalation_date: Option<DateTime<Utc>>,
    /// `ManagerUPN`: whom the escalation went to.
    pub manager_upn: Option<Upn>,
    /// `Source`.
    pub source: Source,
    /// `SourceBatchId`: the upload that first added the person.
    pub batch_id: BatchId,
    /// `ErrorDetails`: why processing stopped for this person (unknown or disabled account, …).
    /// Set only with nothing due: the person is retried when uploaded again.
    pub error_details: Option<String>,
    /// `ProcessingNotes`: facts an admin should see that did not stop processing (no manager to
    /// escalate to, …), one per line, newest last. Never read as an error.
    #[serde(default)]
    pub notes: Option<String>,
    /// `CorrelationId`: ties the record to the upload and the log lines about it.
    pub correlation_id: Uuid,
    /// `ObjectId`: the Entra object id, once resolved.
    pub object_id: Option<ObjectId>,
    /// When the worker next has something to do for this person (`None`: nothing until an
    /// external event).
    pub next_due_at: Option<DateTime<Utc>>,
    /// Self-service resends requested.
    pub resend_count: u32,
    /// The latest self-service resend.
    pub last_resend_at: Option<DateTime<Utc>>,
    /// An email about to be sent (recorded before the send, cleared after): after a crash the
    /// worker reconciles instead of sending twice.
    pub send_intent: Option<MailKind>,
    /// When [`Self::send_intent`] was recorded.
    pub send_intent_at: Option<DateTime<Utc>>,
    /// Which worker run holds this person, if any.
    pub lease_owner: Option<String>,
    /// Until when that run holds them.
    pub lease_until: Option<DateTime<Utc>>,
    /// `PhoneOutcome`: what the opt-in phone prepopulation pass did (`None`: not looked at).
    #[serde(default)]
    pub phone_outcome: Option<PhoneOutcome>,
    /// `PhoneDetail`: the reason behind [`Self::phone_outcome`] (the number that could not be
    /// normalised, Graph's refusal) or the number provisioned.
    #[serde(default)]
    pub phone_detail: Option<String>,
    /// `PhoneCheckedAt`: when the phone pass last looked (unsuccessful outcomes are retried
    /// some time after it, in case the directory was fixed).
    #[serde(default)]
    pub phone_checked_at: Option<DateTime<Utc>>,
    /// `PerUserMfaState`: the legacy per-user MFA state the opt-in enforcement pass last set
    /// or read (`None`: not looked at).
    #[serde(default)]
    pub per_user_mfa: Option<PerUserMfa>,
    /// `MfaStrength`: the strongest class of the methods last seen (`None`: not read yet).
    #[serde(default)]
    pub strength: Option<Strength>,
    /// `MfaTarget`: the strength this person must reach, when their upload set one (`None`: the
    /// campaign's `MFA_TARGET_STRENGTH`).
    #[serde(default)]
    pub target: Option<TargetStrength>,
    /// `MfaMethods`: the methods last seen, strongest first ([`MethodLabel::join`]).
    #[serde(default)]
    pub methods: Option<String>,
    /// `AdminHold`: why nobody emails the person for now (a held upload, an exclusion), apart
    /// from their status. `None`: emailed as the campaign says.
    #[serde(default)]
    pub hold: Option<Hold>,
    /// `History`: what happened to the person, one line per event (`<RFC 3339 time>\t<what>`),
    /// oldest first, the oldest dropped past [`MAX_HISTORY`] characters. Written with the record,
    /// so it costs no extra write.
    #[serde(default)]
    pub history: Option<String>,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
    /// Row version for compare-and-set: every successful write increments it.
    pub version: u64,
}

/// The most characters kept in [`OnboardingRecord::error_details`] and
/// [`OnboardingRecord::notes`].
pub const MAX_TEXT: usize = 1000;

/// The most characters kept in [`OnboardingRecord::history`] (about 60 events).
pub const MAX_HISTORY: usize = 6000;

fn truncate_chars(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
}

/// A person as uploaded: only what an admin can supply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPerson {
    /// Their UPN or mail address.
    pub upn: Upn,
    /// Display name, if the file had one.
    pub display_name: Option<String>,
    /// Department, if given.
    pub department: Option<String>,
    /// Job title, if given.
    pub job_title: Option<String>,
}

impl NewPerson {
    /// A person known only by address.
    pub fn new(upn: Upn) -> Self {
        Self {
            upn,
            display_name: None,
            department: None,
            job_title: None,
        }
    }
}

impl OnboardingRecord {
    /// A fresh Pending record for an uploaded person, due for an invitation at `now`.
    pub fn new_pending(
        person: NewPerson,
        batch_id: BatchId,
        source: Source,
        correlation_id: Uuid,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            upn: person.upn,
            display_name: person.display_name,
            department: person.department,
            job_title: person.job_title,
            status: InviteStatus::Pending,
            in_group: false,
            mfa_state: MfaState::Unknown,
            mfa_registration_date: None,
            token: TrackingToken::generate(),
            clicked_link_date: None,
            added_to_group_date: None,
            invite_sent_date: None,
            last_reminder_date: None,
            reminder_count: 0,
            last_checked: None,
            email_opened_date: None,
            escalated_to_manager: false,
            escalation_date: None,
            manager_upn: None,
            source,
            batch_id,
            error_details: None,
            notes: None,
            correlation_id,
            object_id: None,
            next_due_at: Some(now),
            resend_count: 0,
            last_resend_at: None,
            send_intent: None,
            send_intent_at: None,
            lease_owner: None,
            lease_until: None,
            phone_outcome: None,
            phone_detail: None,
            phone_checked_at: None,
            per_user_mfa: None,
            strength: None,
            target: None,
            methods: None,
            hold: None,
            history: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// Applies a lifecycle event: moves the status (per [`InviteStatus::apply`]), stamps the
    /// date columns that go with it and adds it to the history. This is the only place that pairs
    /// events with columns.
    pub fn apply(&mut self, event: StatusEvent, now: DateTime<Utc>) -> Result<(), TransitionError> {
        self.apply_with(event, now, None)
    }

    /// [`Self::apply`] with a detail for the history line (the mailbox an email went from, who
    /// acted).
    pub fn apply_with(
        &mut self,
        event: StatusEvent,
        now: DateTime<Utc>,
        detail: Option<&str>,
    ) -> Result<(), TransitionError> {
        let next = self.status.apply(&event)?;
        let line = history_line(&event, detail);
        match event {
            StatusEvent::InvitationSent => self.invite_sent_date = Some(now),
            StatusEvent::LinkClicked => {
                self.clicked_link_date.get_or_insert(now);
            }
            StatusEvent::GroupAdded => {
                self.in_group = true;
                self.added_to_group_date.get_or_insert(now);
            }
            StatusEvent::MfaRegistered => {
                self.mfa_state = MfaState::Registered;
                self.mfa_registration_date.get_or_insert(now);
                self.last_checked = Some(now);
                self.next_due_at = None;
            }
            StatusEvent::Requeued => {
                self.error_details = None;
                self.next_due_at = if self.hold.is_some() { None } else { Some(now) };
            }
            StatusEvent::Reset => self.reset_history(now),
            StatusEvent::ReminderSent => {
                self.reminder_count = self.reminder_count.saturating_add(1);
                self.last_reminder_date = Some(now);
            }
            StatusEvent::Escalated { manager } => {
                self.escalated_to_manager = true;
                self.escalation_date = Some(now);
                self.manager_upn = Some(manager);
            }
            StatusEvent::EscalationSkipped { note } => {
                self.escalation_date = Some(now);
                self.add_note(note);
            }
            StatusEvent::Held => {
                self.hold = Some(Hold::Held);
                self.next_due_at = None;
            }
            StatusEvent::Released { at } => {
                if self.hold == Some(Hold::Held) {
                    self.hold = None;
                    self.next_due_at = Some(at);
                }
            }
            StatusEvent::Excluded => {
                self.hold = Some(Hold::Excluded);
                self.next_due_at = None;
            }
            StatusEvent::MethodsSeen { methods } => {
                let strength = MethodLabel::strongest(&methods);
                self.strength = Some(strength);
                self.methods = Some(MethodLabel::join(&methods));
                self.mfa_state = if strength == Strength::None {
                    MfaState::NotRegistered
                } else {
                    MfaState::Registered
                };
                self.last_checked = Some(now);
            }
            StatusEvent::Included => {
                if self.hold.is_some() {
                    self.hold = None;
                    if !next.is_complete() {
                        self.next_due_at = Some(now);
                    }
                }
            }
        }
        self.status = next;
        self.add_history(now, &line);
        Ok(())
    }

    /// Adds a line to the history (see [`Self::history`]).
    pub fn add_history(&mut self, at: DateTime<Utc>, what: &str) {
        let mut line = format!(
            "{}\t{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            what.replace(['\r', '\n', '\t'], " ")
        );
        truncate_chars(&mut line, MAX_TEXT);
        let mut text = self.history.take().unwrap_or_default();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&line);
        while text.chars().count() > MAX_HISTORY {
            match text.find('\n') {
                Some(i) => text.drain(..=i),
                None => break,
            };
        }
        self.history = Some(text);
    }

    /// The history as `(time, what)` pairs, oldest first (lines that do not parse are skipped).
    pub fn history_entries(&self) -> Vec<(DateTime<Utc>, String)> {
        self.history
            .as_deref()
            .unwrap_or("")
            .lines()
            .filter_map(|l| {
                let (at, what) = l.split_once('\t')?;
                let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
                Some((at, what.to_string()))
            })
            .collect()
    }

    /// The strength this person must reach: their upload's, else the campaign's `default`.
    pub fn target_or(&self, default: TargetStrength) -> TargetStrength {
        self.target.unwrap_or(default)
    }

    /// True while an admin's hold or exclusion keeps every email from the person.
    pub fn is_held(&self) -> bool {
        self.hold.is_some()
    }

    fn reset_history(&mut self, now: DateTime<Utc>) {
        self.token = TrackingToken::generate();
        self.in_group = false;
        self.mfa_state = MfaState::Unknown;
        self.mfa_registration_date = None;
        self.clicked_link_date = None;
        self.added_to_group_date = None;
        self.invite_sent_date = None;
        self.last_reminder_date = None;
        self.reminder_count = 0;
        self.last_checked = None;
        self.email_opened_date = None;
        self.escalated_to_manager = false;
        self.escalation_date = None;
        self.manager_upn = None;
        self.error_details = None;
        self.notes = None;
        self.resend_count = 0;
        self.last_resend_at = None;
        self.send_intent = None;
        self.send_intent_at = None;
        // An admin's hold outlives a restart: a held or excluded person stays unmailed.
        self.next_due_at = if self.hold.is_some() { None } else { Some(now) };
    }

    /// Records why processing stopped for this person (unknown or disabled account, an
    /// invitation the mail service refused). They are not retried until re-uploaded.
    pub fn record_error(&mut self, details: impl Into<String>) {
        let mut details: String = details.into();
        truncate_chars(&mut details, MAX_TEXT);
        self.error_details = Some(details);
        self.next_due_at = None;
    }

    /// Adds a fact the admin should see without stopping anything (a note repeated verbatim is
    /// kept once). The oldest lines go first when the notes grow past [`MAX_TEXT`] characters.
    pub fn add_note(&mut self, note: impl Into<String>) {
        let mut note: String = note.into().replace(['\r', '\n'], " ");
        truncate_chars(&mut note, MAX_TEXT);
        let mut lines: Vec<String> = self
            .notes
            .as_deref()
            .map(|n| n.lines().map(str::to_string).collect())
            .unwrap_or_default();
        lines.retain(|l| *l != note);
        lines.push(note);
        while lines.len() > 1
            && lines.iter().map(|l| l.chars().count() + 1).sum::<usize>() > MAX_TEXT
        {
            lines.remove(0);
        }
        self.notes = Some(lines.join("\n"));
    }

    /// True while a worker run other than `owner` holds this person at `now`.
    pub fn is_leased_by_other(&self, owner: &str, now: DateTime<Utc>) -> bool {
        matches!((&self.lease_owner, self.lease_until), (Some(o), Some(until)) if o != owner && until > now)
    }
}

/// The history line [`OnboardingRecord::apply_with`] writes for `event` with `detail`.
pub fn history_line(event: &StatusEvent, detail: Option<&str>) -> String {
    let mut line = event_line(event);
    if let Some(d) = detail.filter(|d| !d.is_empty()) {
        line.push_str(" (");
        line.push_str(d);
        line.push(')');
    }
    line
}

/// The history line of an event.
fn event_line(event: &StatusEvent) -> String {
    match event {
        StatusEvent::InvitationSent => "invitation sent".into(),
        StatusEvent::LinkClicked => "link clicked".into(),
        StatusEvent::GroupAdded => "added to the security group".into(),
        StatusEvent::MfaRegistered => "MFA registration detected".into(),
        StatusEvent::Requeued => "queued for a new invitation".into(),
        StatusEvent::Reset => "restarted from the beginning".into(),
        StatusEvent::ReminderSent => "reminder sent".into(),
        StatusEvent::Escalated { manager } => format!("manager {manager} told"),
        StatusEvent::EscalationSkipped { note } => format!("escalation skipped: {note}"),
        StatusEvent::Held => "held: not emailed until the upload is released".into(),
        StatusEvent::Released { at } => format!(
            "released: invited from {}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        StatusEvent::Excluded => "excluded: never emailed again".into(),
        StatusEvent::Included => "included again".into(),
        StatusEvent::MethodsSeen { methods } => {
            let strength = MethodLabel::strongest(methods);
            if methods.is_empty() {
                "no MFA method registered".into()
            } else {
                format!("methods: {} ({strength})", MethodLabel::join(methods))
            }
        }
    }
}
