//! How strong a person's registered sign-in methods are, and what a campaign asks for.
//!
//! These are product vocabulary, stored in both stores and shown in exports, so they live in
//! `domain` with the other stored names and parse once at the edge. Reading them off Graph's two
//! representations (`/authentication/methods` types and the registration report's
//! `methodsRegistered`) is Graph knowledge and lives in [`crate::graph::strength`].
//!
//! - [`Strength`]: the strongest class a person has, `none` < `phone-only` < `app` <
//!   `phishing-resistant`.
//! - [`TargetStrength`]: what a campaign requires (`MFA_TARGET_STRENGTH`), with
//!   [`TargetStrength::is_met_by`].
//! - [`MethodLabel`]: one short, stable name per kind of method (`sms`, `passkey-synced`, …), so
//!   a record can keep "strongest class + method list".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Lower-cased, trimmed, `_` and spaces read as `-`: how stored and configured names compare.
fn normalise(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace(['_', ' '], "-")
}

/// The strongest class of method a person has registered, weakest first (the order is the
/// comparison: `Strength::App > Strength::PhoneOnly`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Strength {
    /// Nothing that can be used as a second factor (a password, a Temporary Access Pass, or
    /// nothing at all).
    #[default]
    None,
    /// Only methods Microsoft delivers by phone or mail: SMS, voice, office or alternate phone,
    /// email. From 2027-02-01 a person with only SMS/voice must register a passkey at sign-in.
    PhoneOnly,
    /// An app or token: Microsoft Authenticator (push or passwordless phone sign-in), software
    /// or hardware OATH.
    App,
    /// A phishing-resistant credential: a passkey of any kind (in Authenticator, Windows Hello,
    /// synced), a FIDO2 security key, Windows Hello for Business, a macOS platform credential,
    /// certificate-based authentication.
    PhishingResistant,
}

impl Strength {
    /// Every class, weakest first.
    pub const ALL: [Strength; 4] = [
        Strength::None,
        Strength::PhoneOnly,
        Strength::App,
        Strength::PhishingResistant,
    ];

    /// The stored name: `none`, `phone-only`, `app`, `phishing-resistant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::None => "none",
            Strength::PhoneOnly => "phone-only",
            Strength::App => "app",
            Strength::PhishingResistant => "phishing-resistant",
        }
    }

    /// Parses a stored name (case-insensitive; `_` reads as `-`).
    pub fn parse(s: &str) -> Result<Self, UnknownStrength> {
        let n = normalise(s);
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == n)
            .ok_or_else(|| UnknownStrength(s.to_string()))
    }
}

/// A strength name that is not one of [`Strength::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strength {0:?} (expected none, phone-only, app or phishing-resistant)")]
pub struct UnknownStrength(pub String);

/// What a campaign requires of a person before they count as done (`MFA_TARGET_STRENGTH`, or per
/// batch).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "&'static str")]
pub enum TargetStrength {
    /// Any method at all (the behaviour before targets existed, and the default).
    #[default]
    Any,
    /// More than a phone: an app, a token or a phishing-resistant credential.
    BeyondPhone,
    /// Only a phishing-resistant credential.
    PhishingResistant,
}

impl TargetStrength {
    /// Every target, least demanding first.
    pub const ALL: [TargetStrength; 3] = [
        TargetStrength::Any,
        TargetStrength::BeyondPhone,
        TargetStrength::PhishingResistant,
    ];

    /// The configured and stored name: `any`, `beyond-phone`, `phishing-resistant`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStrength::Any => "any",
            TargetStrength::BeyondPhone => "beyond-phone",
            TargetStrength::PhishingResistant => "phishing-resistant",
        }
    }

    /// Parses a configured name (case-insensitive; `_` reads as `-`), refusing anything else
    /// with an error that lists the accepted values.
    pub fn parse(s: &str) -> Result<Self, UnknownTargetStrength> {
        let n = normalise(s);
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == n)
            .ok_or_else(|| UnknownTargetStrength(s.to_string()))
    }

    /// The weakest [`Strength`] that meets this target.
    pub fn minimum(self) -> Strength {
        match self {
            TargetStrength::Any => Strength::PhoneOnly,
            TargetStrength::BeyondPhone => Strength::App,
            TargetStrength::PhishingResistant => Strength::PhishingResistant,
        }
    }

    /// Whether a person whose strongest method is `s` meets this target: `any` is met by
    /// anything but [`Strength::None`], `beyond-phone` by [`Strength::App`] or stronger,
    /// `phishing-resistant` only by [`Strength::PhishingResistant`].
    pub fn is_met_by(self, s: Strength) -> bool {
        s >= self.minimum()
    }
}

/// A target name that is not one of [`TargetStrength::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown target strength {0:?} (expected any, beyond-phone or phishing-resistant)")]
pub struct UnknownTargetStrength(pub String);

/// One kind of registered method, by a short stable name for the stored method list. Declared
/// strongest first, so a sorted list reads strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum MethodLabel {
    /// A synced passkey (iCloud Keychain, Google Password Manager, a password manager).
    PasskeySynced,
    /// A device-bound passkey in Microsoft Authenticator.
    PasskeyAuthenticator,
    /// A device-bound passkey in Windows Hello (not Windows Hello for Business).
    PasskeyWindowsHello,
    /// Any other device-bound passkey, security keys included (`passKeyDeviceBound`).
    PasskeyDeviceBound,
    /// A FIDO2 security key, where Graph still names it so (`fido2`, `fido2SecurityKey`).
    Fido2,
    /// Windows Hello for Business.
    WindowsHello,
    /// A macOS platform credential (Secure Enclave key).
    PlatformCredential,
    /// Certificate-based authentication.
    Certificate,
    /// Microsoft Authenticator passwordless phone sign-in.
    AuthenticatorPasswordless,
    /// Microsoft Authenticator push notifications.
    AuthenticatorPush,
    /// A software OATH token (an authenticator app's codes).
    SoftwareOath,
    /// A hardware OATH token.
    HardwareOath,
    /// A mobile phone: SMS (and voice).
    Sms,
    /// An alternate mobile phone: voice calls only.
    Voice,
    /// An office phone: voice calls only.
    OfficePhone,
    /// Email one-time codes (password reset only, but counted as phone-only).
    Email,
}

impl MethodLabel {
    /// Every label, strongest first.
    pub const ALL: [MethodLabel; 16] = [
        MethodLabel::PasskeySynced,
        MethodLabel::PasskeyAuthenticator,
        MethodLabel::PasskeyWindowsHello,
        MethodLabel::PasskeyDeviceBound,
        MethodLabel::Fido2,
        MethodLabel::WindowsHello,
        MethodLabel::PlatformCredential,
        MethodLabel::Certificate,
        MethodLabel::AuthenticatorPasswordless,
        MethodLabel::AuthenticatorPush,
        MethodLabel::SoftwareOath,
        MethodLabel::HardwareOath,
        MethodLabel::Sms,
        MethodLabel::Voice,
        MethodLabel::OfficePhone,
        MethodLabel::Email,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodLabel::PasskeySynced => "passkey-synced",
            MethodLabel::PasskeyAuthenticator => "passkey-authenticator",
            MethodLabel::PasskeyWindowsHello => "passkey-windows-hello",
            MethodLabel::PasskeyDeviceBound => "passkey-device-bound",
            MethodLabel::Fido2 => "fido2",
            MethodLabel::WindowsHello => "windows-hello",
            MethodLabel::PlatformCredential => "platform-credential",
            MethodLabel::Certificate => "certificate",
            MethodLabel::AuthenticatorPasswordless => "authenticator-passwordless",
            MethodLabel::AuthenticatorPush => "authenticator-push",
            MethodLabel::SoftwareOath => "software-oath",
            MethodLabel::HardwareOath => "hardware-oath",
            MethodLabel::Sms => "sms",
            MethodLabel::Voice => "voice",
            MethodLabel::OfficePhone => "office-phone",
            MethodLabel::Email => "email",
        }
    }

    /// Parses a stored name (case-insensitive; `_` reads as `-`).
    pub fn parse(s: &str) -> Result<Self, UnknownMethodLabel> {
        let n = normalise(s);
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == n)
            .ok_or_else(|| UnknownMethodLabel(s.to_string()))
    }

    /// The class this kind of method belongs to.
    pub fn strength(self) -> Strength {
        use MethodLabel::*;
        match self {
            PasskeySynced | PasskeyAuthenticator | PasskeyWindowsHello | PasskeyDeviceBound
            | Fido2 | WindowsHello | PlatformCredential | Certificate => {
                Strength::PhishingResistant
            }
            AuthenticatorPasswordless | AuthenticatorPush | SoftwareOath | HardwareOath => {
                Strength::App
            }
            Sms | Voice | OfficePhone | Email => Strength::PhoneOnly,
        }
    }

    /// The strongest class among `labels` ([`Strength::None`] for none).
    pub fn strongest(labels: &[MethodLabel]) -> Strength {
        labels
            .iter()
            .map(|l| l.strength())
            .max()
            .unwrap_or(Strength::None)
    }

    /// `labels` sorted strongest first, each once: the stored method list.
    pub fn normalised(mut labels: Vec<MethodLabel>) -> Vec<MethodLabel> {
        labels.sort();
        labels.dedup();
        labels
    }

    /// The stored form of a method list: names joined by `,` (empty for none).
    pub fn join(labels: &[MethodLabel]) -> String {
        labels
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads a stored method list back (the inverse of [`MethodLabel::join`]); empty parts are
    /// skipped, an unknown name is refused.
    pub fn split(stored: &str) -> Result<Vec<MethodLabel>, UnknownMethodLabel> {
        stored
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(MethodLabel::parse)
            .collect()
    }
}

/// A method label that is not one of [`MethodLabel::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown method label {0:?}")]
pub struct UnknownMethodLabel(pub String);

/// `Display` (the name), `FromStr`/`TryFrom<String>` (through `parse`) and `From<T> for &str`
/// for the three name types.
macro_rules! named {
    ($($t:ty => $err:ty),+ $(,)?) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
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

        impl From<$t> for &'static str {
            fn from(v: $t) -> &'static str {
                v.as_str()
            }
        }
    )+};
}

named!(
    Strength => UnknownStrength,
    TargetStrength => UnknownTargetStrength,
    MethodLabel => UnknownMethodLabel,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strengths_are_ordered_and_named() {
        assert!(Strength::None < Strength::PhoneOnly);
        assert!(Strength::PhoneOnly < Strength::App);
        assert!(Strength::App < Strength::PhishingResistant);
        let names: Vec<&str> = Strength::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["none", "phone-only", "app", "phishing-resistant"]);
        for s in Strength::ALL {
            assert_eq!(s.to_string().parse::<Strength>(), Ok(s));
            assert_eq!(s.as_str().to_uppercase().parse::<Strength>(), Ok(s));
        }
        assert_eq!("Phone_Only".parse::<Strength>(), Ok(Strength::PhoneOnly));
        assert_eq!(Strength::default(), Strength::None);
    }

    #[test]
    fn targets_parse_with_a_clear_error() {
        let cases = [
            ("any", Ok(TargetStrength::Any), "plain"),
            (
                " Beyond-Phone ",
                Ok(TargetStrength::BeyondPhone),
                "trimmed, any case",
            ),
            (
                "beyond_phone",
                Ok(TargetStrength::BeyondPhone),
                "underscore",
            ),
            (
                "phishing-resistant",
                Ok(TargetStrength::PhishingResistant),
                "plain",
            ),
            ("", Err(()), "empty is not a target"),
            ("strong", Err(()), "not a name"),
            ("app", Err(()), "a strength, not a target"),
        ];
        for (input, want, why) in cases {
            let got = input.parse::<TargetStrength>();
            assert_eq!(got.as_ref().ok().copied(), want.ok(), "{why}: {input:?}");
            if let Err(e) = got {
                let msg = e.to_string();
                assert!(
                    msg.contains("any, beyond-phone or phishing-resistant"),
                    "{why}: the message lists the accepted values: {msg}"
                );
            }
        }
        assert_eq!(TargetStrength::default(), TargetStrength::Any);
    }

    #[test]
    fn targets_are_met_as_documented() {
        use Strength::*;
        use TargetStrength as T;
        let cases = [
            (T::Any, None, false),
            (T::Any, PhoneOnly, true),
            (T::Any, App, true),
            (T::Any, PhishingResistant, true),
            (T::BeyondPhone, None, false),
            (T::BeyondPhone, PhoneOnly, false),
            (T::BeyondPhone, App, true),
            (T::BeyondPhone, PhishingResistant, true),
            (T::PhishingResistant, None, false),
            (T::PhishingResistant, PhoneOnly, false),
            (T::PhishingResistant, App, false),
            (T::PhishingResistant, PhishingResistant, true),
        ];
        for (target, strength, met) in cases {
            assert_eq!(target.is_met_by(strength), met, "{target} by {strength}");
        }
    }

    #[test]
    fn serde_uses_the_stored_names() {
        let json = serde_json::to_string(&(
            Strength::PhishingResistant,
            TargetStrength::BeyondPhone,
            MethodLabel::PasskeySynced,
        ))
        .unwrap();
        assert_eq!(
            json,
            r#"["phishing-resistant","beyond-phone","passkey-synced"]"#
        );
        let back: (Strength, TargetStrength, MethodLabel) = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back,
            (
                Strength::PhishingResistant,
                TargetStrength::BeyondPhone,
                MethodLabel::PasskeySynced
            )
        );
        let err = serde_json::from_str::<TargetStrength>(r#""maximum""#).unwrap_err();
        assert!(err.to_string().contains("beyond-phone"), "{err}");
    }

    #[test]
    fn labels_round_trip_and_sort_strongest_first() {
        for l in MethodLabel::ALL {
            assert_eq!(l.as_str().parse::<MethodLabel>(), Ok(l));
        }
        let list = MethodLabel::normalised(vec![
            MethodLabel::Sms,
            MethodLabel::PasskeySynced,
            MethodLabel::AuthenticatorPush,
            MethodLabel::Sms,
        ]);
        assert_eq!(
            list,
            [
                MethodLabel::PasskeySynced,
                MethodLabel::AuthenticatorPush,
                MethodLabel::Sms
            ]
        );
        let stored = MethodLabel::join(&list);
        assert_eq!(stored, "passkey-synced,authenticator-push,sms");
        assert_eq!(MethodLabel::split(&stored), Ok(list));
        assert_eq!(MethodLabel::split(""), Ok(vec![]));
        assert!(MethodLabel::split("sms,carrier-pigeon").is_err());
        assert_eq!(
            MethodLabel::strongest(&[MethodLabel::Email, MethodLabel::HardwareOath]),
            Strength::App
        );
        assert_eq!(MethodLabel::strongest(&[]), Strength::None);
        // Declared strongest first, so sorting never puts a weaker class before a stronger one.
        for w in MethodLabel::ALL.windows(2) {
            assert!(w[0].strength() >= w[1].strength(), "{} / {}", w[0], w[1]);
        }
    }
}
