//! Domain types. Each parses its input once, at the edge, and cannot hold an invalid value.
//!
//! - [`Upn`]: validated, lower-cased sign-in name or mail address.
//! - [`TrackingToken`]: the random token in a person's links.
//! - [`InviteStatus`] and [`StatusEvent`]: the lifecycle, with every transition in one place.
//! - [`OnboardingRecord`]: one person's row; [`NewPerson`]: what an upload supplies.
//! - [`PhoneOutcome`], [`PerUserMfa`]: outcomes of the opt-in directory passes.
//! - [`BatchId`], [`ObjectId`], [`Source`], [`MfaState`], [`MailKind`]: the smaller columns.

mod directory;
mod ids;
mod record;
mod status;
mod token;
mod upn;

pub use directory::{PerUserMfa, PhoneOutcome};
pub use ids::{BatchId, BatchIdError, ObjectId, ObjectIdError, Source, UnknownSource};
pub use record::{MailKind, NewPerson, OnboardingRecord, MAX_TEXT};
pub use status::{InviteStatus, MfaState, StatusEvent, TransitionError, UnknownStatus};
pub use token::{TokenError, TrackingToken};
pub use upn::{Upn, UpnError, MAX_LEN as UPN_MAX_LEN};

#[cfg(test)]
mod tests;
