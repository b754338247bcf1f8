//! Per-person outcomes of the opt-in directory passes (phone prepopulation and per-user MFA
//! enforcement), stored on the record so reports and the dashboard can count them.

use serde::{Deserialize, Serialize};

/// What the phone prepopulation pass did for one person (`PhoneOutcome` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PhoneOutcome {
    /// The directory mobile number was added as the person's `mobile` phone method.
    Provisioned,
    /// The person already had a phone method; it was left untouched.
    HasPhone,
    /// The person already had another MFA method; nothing was added.
    HasMfa,
    /// No mobile number in Entra ID: nothing to add.
    NoMobile,
    /// The directory number could not be normalised; reported, never guessed.
    InvalidNumber,
    /// Graph refused the method (the reason is in `PhoneDetail`).
    Failed,
}

impl PhoneOutcome {
    /// Every outcome, in report order.
    pub const ALL: [PhoneOutcome; 6] = [
        PhoneOutcome::Provisioned,
        PhoneOutcome::HasPhone,
        PhoneOutcome::HasMfa,
        PhoneOutcome::NoMobile,
        PhoneOutcome::InvalidNumber,
        PhoneOutcome::Failed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneOutcome::Provisioned => "Provisioned",
            PhoneOutcome::HasPhone => "HasPhone",
            PhoneOutcome::HasMfa => "HasMfa",
            PhoneOutcome::NoMobile => "NoMobile",
            PhoneOutcome::InvalidNumber => "InvalidNumber",
            PhoneOutcome::Failed => "Failed",
        }
    }

    /// Whether the person was eligible (no MFA method, a mobile number in Entra ID): the
    /// seed runbook's "targeted users without MFA and a mobile number".
    pub fn was_eligible(self) -> bool {
        matches!(
            self,
            PhoneOutcome::Provisioned | PhoneOutcome::InvalidNumber | PhoneOutcome::Failed
        )
    }

    /// Whether the person had no MFA method when the pass looked.
    pub fn was_without_mfa(self) -> bool {
        !matches!(self, PhoneOutcome::HasPhone | PhoneOutcome::HasMfa)
    }
}

named_enum!(PhoneOutcome, PerUserMfa);

/// Legacy per-user MFA state as this product last set or read it (`PerUserMfaState` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PerUserMfa {
    /// Not required.
    Disabled,
    /// Required from the next sign-in's registration.
    Enabled,
    /// Required at every sign-in.
    Enforced,
}

impl PerUserMfa {
    /// Every state.
    pub const ALL: [PerUserMfa; 3] = [
        PerUserMfa::Disabled,
        PerUserMfa::Enabled,
        PerUserMfa::Enforced,
    ];

    /// The name Graph and the store use.
    pub fn as_str(self) -> &'static str {
        match self {
            PerUserMfa::Disabled => "disabled",
            PerUserMfa::Enabled => "enabled",
            PerUserMfa::Enforced => "enforced",
        }
    }

    /// Whether this state is at least as strict as `other` (enforced ⊇ enabled ⊇ disabled).
    pub fn covers(self, other: PerUserMfa) -> bool {
        self >= other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        for o in PhoneOutcome::ALL {
            assert_eq!(o.as_str().parse::<PhoneOutcome>().ok(), Some(o));
        }
        for s in PerUserMfa::ALL {
            assert_eq!(
                s.as_str().to_uppercase().parse::<PerUserMfa>().ok(),
                Some(s)
            );
        }
        assert!("maybe".parse::<PerUserMfa>().is_err());
        assert!(PerUserMfa::Enforced.covers(PerUserMfa::Enabled));
        assert!(!PerUserMfa::Enabled.covers(PerUserMfa::Enforced));
        assert!(PhoneOutcome::InvalidNumber.was_eligible());
        assert!(!PhoneOutcome::NoMobile.was_eligible());
        assert!(PhoneOutcome::NoMobile.was_without_mfa());
        assert!(!PhoneOutcome::HasPhone.was_without_mfa());
    }
}
