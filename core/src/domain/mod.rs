//! Domain types. Each parses its input once, at the edge, and cannot hold an invalid value.
//!
//! - [`Upn`]: validated, lower-cased sign-in name or mail address.
//! - [`TrackingToken`]: the random token in a person's links.
//! - [`InviteStatus`] and [`StatusEvent`]: the lifecycle, with every transition in one place.
//! - [`OnboardingRecord`]: one person's row; [`NewPerson`]: what an upload supplies.
//! - [`PhoneOutcome`], [`PerUserMfa`]: outcomes of the opt-in directory passes.
//! - [`BatchId`], [`ObjectId`], [`Source`], [`MfaState`], [`MailKind`]: the smaller columns.
//! - [`Strength`], [`TargetStrength`], [`MethodLabel`]: how strong a person's methods are and
//!   what a campaign asks for (classified from Graph in [`crate::graph::strength`]).

/// `Display` (the name) and case-insensitive `FromStr` (refusing with [`UnknownStatus`]) for
/// enums with `ALL` and `as_str`.
macro_rules! named_enum {
    ($($t:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::domain::UnknownStatus;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
                    .ok_or_else(|| $crate::domain::UnknownStatus(s.to_string()))
            }
        }
    )+};
}

/// `FromStr`, `TryFrom<String>` (both through `parse`) and `From<T> for String` (through
/// `Display`) for the validated string types.
macro_rules! parsed_string {
    ($t:ty, $err:ty) => {
        impl std::str::FromStr for $t {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, $err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, $err> {
                Self::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    };
}

mod directory;
mod ids;
mod record;
mod status;
mod strength;
mod token;
mod upn;

pub use directory::{PerUserMfa, PhoneOutcome};
pub use ids::{BatchId, BatchIdError, ObjectId, ObjectIdError, Source, UnknownSource};
pub use record::{history_line, MailKind, NewPerson, OnboardingRecord, MAX_HISTORY, MAX_TEXT};
pub use status::{Hold, InviteStatus, MfaState, StatusEvent, TransitionError, UnknownStatus};
pub use strength::{
    MethodLabel, Strength, TargetStrength, UnknownMethodLabel, UnknownStrength,
    UnknownTargetStrength,
};
pub use token::{TokenError, TrackingToken};
pub use upn::{Upn, UpnError, MAX_LEN as UPN_MAX_LEN};

#[cfg(test)]
mod tests;
