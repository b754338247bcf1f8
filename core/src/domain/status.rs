//! The invitation lifecycle. Every allowed status change is defined here, in
//! [`InviteStatus::apply`], and nowhere else.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

use super::Upn;

/// Where a person is in the onboarding journey (`Pending → Sent → Clicked → AddedToGroup → Active`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InviteStatus {
    /// Uploaded; no invitation sent yet (or re-queued for a new one).
    Pending,
    /// The invitation email has been sent.
    Sent,
    /// The person followed their personal link.
    Clicked,
    /// The person is in the Conditional Access group.
    AddedToGroup,
    /// MFA registration confirmed: onboarding complete.
    Active,
}

/// Something that happened to a person, which may move their status. Events that do not move
/// the status (a reminder, an escalation) are here too, so that every date and count they stamp
/// is stamped in one place ([`super::OnboardingRecord::apply`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusEvent {
    /// Their invitation email was accepted by the mail service.
    InvitationSent,
    /// They confirmed a visit to their personal link.
    LinkClicked,
    /// They were added to the security group (after a click, or by the deadline rule).
    GroupAdded,
    /// An MFA-capable method was found on their account.
    MfaRegistered,
    /// They asked for a new link, or an admin re-uploaded a failed record: send a new invitation.
    Requeued,
    /// An admin explicitly restarted their onboarding from the beginning.
    Reset,
    /// A reminder was accepted by the mail service.
    ReminderSent,
    /// Their manager was told (the escalation email was accepted).
    Escalated {
        /// Whom the escalation went to.
        manager: Upn,
    },
    /// The escalation was owed but could not be sent (no manager, not in the directory): it is
    /// not owed again, and the reason is kept as a note for the admin.
    EscalationSkipped {
        /// Why, for the admin.
        note: String,
    },
    /// An admin held the person's upload: nobody emails them until it is released.
    Held,
    /// Their held upload was released: due for their invitation from `at`.
    Released {
        /// When they may be invited.
        at: DateTime<Utc>,
    },
    /// An admin excluded them: never emailed again (until included).
    Excluded,
    /// An admin included them again after an exclusion.
    Included,
    /// Their registered methods were read (strongest first); whether that meets the campaign's
    /// target is the caller's decision ([`StatusEvent::MfaRegistered`] when it does).
    MethodsSeen {
        /// The methods, as stored.
        methods: Vec<super::MethodLabel>,
    },
}

impl StatusEvent {
    /// The event's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            StatusEvent::InvitationSent => "InvitationSent",
            StatusEvent::LinkClicked => "LinkClicked",
            StatusEvent::GroupAdded => "GroupAdded",
            StatusEvent::MfaRegistered => "MfaRegistered",
            StatusEvent::Requeued => "Requeued",
            StatusEvent::Reset => "Reset",
            StatusEvent::ReminderSent => "ReminderSent",
            StatusEvent::Escalated { .. } => "Escalated",
            StatusEvent::EscalationSkipped { .. } => "EscalationSkipped",
            StatusEvent::Held => "Held",
            StatusEvent::Released { .. } => "Released",
            StatusEvent::Excluded => "Excluded",
            StatusEvent::Included => "Included",
            StatusEvent::MethodsSeen { .. } => "MethodsSeen",
        }
    }
}

/// A status change that the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{event} is not allowed while the status is {from}")]
pub struct TransitionError {
    /// The status the record had.
    pub from: InviteStatus,
    /// The refused event's name ([`StatusEvent::name`]).
    pub event: &'static str,
}

impl InviteStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [InviteStatus; 5] = [
        InviteStatus::Pending,
        InviteStatus::Sent,
        InviteStatus::Clicked,
        InviteStatus::AddedToGroup,
        InviteStatus::Active,
    ];

    /// The status after `event`, or why that event is not allowed now.
    ///
    /// The rules: progress only moves forward, and may skip steps (a person can register MFA
    /// before clicking, or be added to the group by the deadline rule without clicking; a click can
    /// arrive before the worker recorded the send, after a crash). A click counts once. Nothing
    /// leaves `Active` except an explicit admin `Reset`; `Requeued` goes back to `Pending` from any
    /// unfinished status. Follow-ups (reminders, escalations) need someone invited and
    /// unfinished, and leave the status as it is. An admin's hold, release, exclusion and
    /// inclusion never move the status: they only decide whether the person may be emailed.
    pub fn apply(self, event: &StatusEvent) -> Result<InviteStatus, TransitionError> {
        use InviteStatus::*;
        use StatusEvent::*;
        let refused = Err(TransitionError {
            from: self,
            event: event.name(),
        });
        match (self, event) {
            (_, Held | Released { .. } | Excluded | Included | MethodsSeen { .. }) => Ok(self),
            (_, Reset) => Ok(Pending),
            (Active, _) => refused,
            (_, MfaRegistered) => Ok(Active),
            (_, Requeued) => Ok(Pending),
            (Pending, InvitationSent) => Ok(Sent),
            (_, InvitationSent) => refused,
            (Pending | Sent, LinkClicked) => Ok(Clicked),
            (_, LinkClicked) => refused,
            (Pending | Sent | Clicked, GroupAdded) => Ok(AddedToGroup),
            (AddedToGroup, GroupAdded) => refused,
            (Pending, ReminderSent | Escalated { .. } | EscalationSkipped { .. }) => refused,
            (_, ReminderSent | Escalated { .. } | EscalationSkipped { .. }) => Ok(self),
        }
    }

    /// Whether `event` is allowed now.
    pub fn allows(self, event: &StatusEvent) -> bool {
        self.apply(event).is_ok()
    }

    /// Position in the lifecycle (0 = Pending … 4 = Active).
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// True once onboarding is complete.
    pub fn is_complete(self) -> bool {
        self == InviteStatus::Active
    }

    /// The name used in the store, exports and the old SharePoint list.
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "Pending",
            InviteStatus::Sent => "Sent",
            InviteStatus::Clicked => "Clicked",
            InviteStatus::AddedToGroup => "AddedToGroup",
            InviteStatus::Active => "Active",
        }
    }
}

named_enum!(InviteStatus);

/// An unknown status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown invite status {0:?} (expected Pending, Sent, Clicked, AddedToGroup or Active)")]
pub struct UnknownStatus(pub String);

/// Why nobody emails a person for now, whatever their status: an admin's decision, apart from
/// the lifecycle (`AdminHold` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Hold {
    /// Their upload is held until an admin releases it (a wave not started yet).
    Held,
    /// An admin excluded them: never emailed again until included.
    Excluded,
}

impl Hold {
    /// Both holds.
    pub const ALL: [Hold; 2] = [Hold::Held, Hold::Excluded];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Hold::Held => "Held",
            Hold::Excluded => "Excluded",
        }
    }
}

named_enum!(Hold);

/// What the last MFA check found (`MFARegistrationState` in the old list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum MfaState {
    /// Not checked yet.
    #[default]
    Unknown,
    /// Checked: no MFA-capable method.
    NotRegistered,
    /// Checked: at least one MFA-capable method.
    Registered,
}

impl MfaState {
    /// The name used in the store and the old list (`Not Registered` has a space there).
    pub fn as_str(self) -> &'static str {
        match self {
            MfaState::Unknown => "Unknown",
            MfaState::NotRegistered => "Not Registered",
            MfaState::Registered => "Registered",
        }
    }
}

impl FromStr for MfaState {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace(' ', "").as_str() {
            "" | "unknown" => Ok(MfaState::Unknown),
            "notregistered" => Ok(MfaState::NotRegistered),
            "registered" => Ok(MfaState::Registered),
            _ => Err(UnknownStatus(s.to_string())),
        }
    }
}
