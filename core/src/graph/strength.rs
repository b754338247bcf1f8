//! Reading a person's [`Strength`] and [`MethodLabel`]s off Graph's two views of what they have
//! registered:
//!
//! - `GET /users/{id}/authentication/methods` ([`AuthMethod`]s): one object per method, typed by
//!   `@odata.type`; a `fido2AuthenticationMethod` says which kind of passkey it is through
//!   `passkeyType` (`deviceBound`, `synced`) and `aaGuid` (which authenticator holds it).
//!   See [`labels_of_methods`].
//! - `GET /reports/authenticationMethods/userRegistrationDetails` ([`RegistrationDetails`]):
//!   one row per person with `methodsRegistered`. The passkey-era values (`passKeyDeviceBound`,
//!   `passKeyDeviceBoundAuthenticator`, `passKeyDeviceBoundWindowsHello`, `passKeySynced`,
//!   `macOsSecureEnclaveKey`) are members of an evolvable enumeration that Graph returns only to
//!   a request carrying `Prefer: include-unknown-enum-members` (otherwise `unknownFutureValue`);
//!   [`GraphClient::registration_details`](super::GraphClient::registration_details) always
//!   sends it. See [`labels_of_registered`].
//!
//! Sources for the names: Graph's `usageAuthMethod` enumeration (the report's method names and
//! which of them need the `Prefer` header),
//! <https://learn.microsoft.com/graph/api/resources/usageauthmethod?view=graph-rest-beta>;
//! `userRegistrationDetails`,
//! <https://learn.microsoft.com/graph/api/resources/userregistrationdetails>;
//! `fido2AuthenticationMethod` (`passkeyType`),
//! <https://learn.microsoft.com/graph/api/resources/fido2authenticationmethod>; the
//! Authenticator and Windows Hello AAGUIDs from Entra's "Enable passkeys in Microsoft
//! Authenticator" and passkey-profile pages.
//!
//! Unknown types and values are ignored (logged at debug level), never an error: a newer
//! method must not stop a pass. Passwords, Temporary Access Passes, security questions and app
//! passwords carry no strength and get no label.

use crate::domain::{MethodLabel, Strength};

use super::methods::{AuthMethod, MethodKind, PasskeyType};
use super::reports::RegistrationDetails;

/// AAGUIDs of Microsoft Authenticator's device-bound passkeys (Android, iOS).
pub const AUTHENTICATOR_AAGUIDS: [&str; 2] = [
    "de1e552d-db1d-4423-a619-566b625cdc84",
    "90a3ccdf-635c-4729-a248-9b709135078f",
];

/// AAGUIDs of Windows Hello passkeys (hardware, VBS hardware, software authenticator).
pub const WINDOWS_HELLO_AAGUIDS: [&str; 3] = [
    "08987058-cadc-4b81-b6e1-30de50dcbe96",
    "9ddd1817-af5a-4672-a2b9-3e3dd95000a9",
    "6028b017-b1d4-4c02-b4b3-afcdafc96bb2",
];

/// The label of one method from `/authentication/methods`, `None` for methods that carry no
/// strength (password, Temporary Access Pass, unknown types).
pub fn label_of_method(m: &AuthMethod) -> Option<MethodLabel> {
    Some(match &m.kind {
        MethodKind::Phone => match m.phone_type() {
            Some(t) if t.eq_ignore_ascii_case("alternateMobile") => MethodLabel::Voice,
            Some(t) if t.eq_ignore_ascii_case("office") => MethodLabel::OfficePhone,
            _ => MethodLabel::Sms,
        },
        MethodKind::Email => MethodLabel::Email,
        MethodKind::MicrosoftAuthenticator => MethodLabel::AuthenticatorPush,
        MethodKind::SoftwareOath => MethodLabel::SoftwareOath,
        MethodKind::HardwareOath => MethodLabel::HardwareOath,
        MethodKind::Fido2 => passkey_label(m.passkey_type(), m.aa_guid().as_deref()),
        MethodKind::WindowsHelloForBusiness => MethodLabel::WindowsHello,
        MethodKind::PlatformCredential => MethodLabel::PlatformCredential,
        MethodKind::X509Certificate => MethodLabel::Certificate,
        MethodKind::Password | MethodKind::TemporaryAccessPass => return None,
        MethodKind::Unknown(t) => {
            tracing::debug!(odata_type = %t, "authentication method type with no strength");
            return None;
        }
    })
}

/// Which kind of passkey a FIDO2 method is: synced by `passkeyType`, else device-bound and told
/// apart by the authenticator's AAGUID (a method without `passkeyType` is device-bound: Graph
/// added the property with synced passkeys).
fn passkey_label(kind: Option<PasskeyType>, aa_guid: Option<&str>) -> MethodLabel {
    if kind == Some(PasskeyType::Synced) {
        return MethodLabel::PasskeySynced;
    }
    match aa_guid {
        Some(g) if AUTHENTICATOR_AAGUIDS.contains(&g) => MethodLabel::PasskeyAuthenticator,
        Some(g) if WINDOWS_HELLO_AAGUIDS.contains(&g) => MethodLabel::PasskeyWindowsHello,
        _ => MethodLabel::PasskeyDeviceBound,
    }
}

/// The stored method list for `methods`: labels strongest first, each once.
pub fn labels_of_methods(methods: &[AuthMethod]) -> Vec<MethodLabel> {
    MethodLabel::normalised(methods.iter().filter_map(label_of_method).collect())
}

/// The strongest class among `methods`.
pub fn strength_of_methods(methods: &[AuthMethod]) -> Strength {
    MethodLabel::strongest(&labels_of_methods(methods))
}

/// `methodsRegistered` values that name no method with a strength: known, ignored quietly.
const NO_STRENGTH: [&str; 9] = [
    "none",
    "temporaryAccessPass",
    "securityQuestion",
    "appPassword",
    "password",
    "qrCode",
    "oneTimePasscode",
    "externalAuthMethod",
    "unknownFutureValue",
];

/// The label of one `methodsRegistered` value, `None` for values without a strength (see
/// [`NO_STRENGTH`]) and for values this build does not know.
pub fn label_of_registered(value: &str) -> Option<MethodLabel> {
    let v = value.trim();
    let known = [
        ("mobilePhone", MethodLabel::Sms),
        ("sms", MethodLabel::Sms),
        ("alternateMobilePhone", MethodLabel::Voice),
        ("officePhone", MethodLabel::OfficePhone),
        ("email", MethodLabel::Email),
        ("microsoftAuthenticatorPush", MethodLabel::AuthenticatorPush),
        (
            "microsoftAuthenticatorPasswordless",
            MethodLabel::AuthenticatorPasswordless,
        ),
        ("softwareOneTimePasscode", MethodLabel::SoftwareOath),
        ("hardwareOneTimePasscode", MethodLabel::HardwareOath),
        ("fido2", MethodLabel::Fido2),
        ("fido2SecurityKey", MethodLabel::Fido2),
        ("passKeyDeviceBound", MethodLabel::PasskeyDeviceBound),
        (
            "passKeyDeviceBoundAuthenticator",
            MethodLabel::PasskeyAuthenticator,
        ),
        (
            "passKeyDeviceBoundWindowsHello",
            MethodLabel::PasskeyWindowsHello,
        ),
        ("passKeySynced", MethodLabel::PasskeySynced),
        ("windowsHelloForBusiness", MethodLabel::WindowsHello),
        ("macOsSecureEnclaveKey", MethodLabel::PlatformCredential),
    ];
    if let Some((_, label)) = known.iter().find(|(n, _)| n.eq_ignore_ascii_case(v)) {
        return Some(*label);
    }
    if v.eq_ignore_ascii_case("unknownFutureValue") {
        // Graph hid a newer member: the request lacked `Prefer: include-unknown-enum-members`.
        tracing::debug!("methodsRegistered holds unknownFutureValue; was the Prefer header sent?");
    } else if !NO_STRENGTH.iter().any(|n| n.eq_ignore_ascii_case(v)) {
        tracing::debug!(value = %v, "methodsRegistered value with no strength");
    }
    None
}

/// The stored method list for a report row's `methodsRegistered`: labels strongest first, each
/// once.
pub fn labels_of_registered(values: &[String]) -> Vec<MethodLabel> {
    MethodLabel::normalised(
        values
            .iter()
            .filter_map(|v| label_of_registered(v))
            .collect(),
    )
}

/// The strongest class among `methodsRegistered` values.
pub fn strength_of_registered(values: &[String]) -> Strength {
    MethodLabel::strongest(&labels_of_registered(values))
}

impl RegistrationDetails {
    /// The strongest class of this person's `methodsRegistered`.
    pub fn strength(&self) -> Strength {
        strength_of_registered(&self.methods_registered)
    }

    /// This person's method list (labels strongest first).
    pub fn method_labels(&self) -> Vec<MethodLabel> {
        labels_of_registered(&self.methods_registered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn method(raw: Value) -> AuthMethod {
        let t = raw["@odata.type"].as_str().unwrap_or_default().to_string();
        AuthMethod {
            id: "m".into(),
            kind: MethodKind::from_odata_type(&t),
            phone_number: None,
            raw,
        }
    }

    fn of_type(name: &str) -> AuthMethod {
        method(json!({"@odata.type": format!("#microsoft.graph.{name}AuthenticationMethod")}))
    }

    fn fido2(passkey_type: Option<&str>, aa_guid: &str) -> AuthMethod {
        let mut v =
            json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "aaGuid": aa_guid});
        if let Some(t) = passkey_type {
            v["passkeyType"] = json!(t);
        }
        method(v)
    }

    fn phone(phone_type: &str) -> AuthMethod {
        method(
            json!({"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "phoneType": phone_type, "phoneNumber": "+47 91234567"}),
        )
    }

    const YUBIKEY: &str = "cb69481e-8ff7-4039-93ec-0a2729a1ef67";
    const ICLOUD: &str = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd";

    #[test]
    fn each_method_type_has_its_class() {
        use MethodLabel as L;
        use Strength as S;
        let cases: Vec<(&str, AuthMethod, Option<L>, S)> = vec![
            ("password", of_type("password"), None, S::None),
            ("TAP", of_type("temporaryAccessPass"), None, S::None),
            ("QR code + PIN", of_type("qrCodePin"), None, S::None),
            ("unknown type", of_type("carrierPigeon"), None, S::None),
            ("mobile phone", phone("mobile"), Some(L::Sms), S::PhoneOnly),
            (
                "alternate phone",
                phone("alternateMobile"),
                Some(L::Voice),
                S::PhoneOnly,
            ),
            (
                "office phone",
                phone("office"),
                Some(L::OfficePhone),
                S::PhoneOnly,
            ),
            ("email", of_type("email"), Some(L::Email), S::PhoneOnly),
            (
                "Authenticator",
                of_type("microsoftAuthenticator"),
                Some(L::AuthenticatorPush),
                S::App,
            ),
            (
                "software OATH",
                of_type("softwareOath"),
                Some(L::SoftwareOath),
                S::App,
            ),
            (
                "hardware OATH",
                of_type("hardwareOath"),
                Some(L::HardwareOath),
                S::App,
            ),
            (
                "security key",
                fido2(Some("deviceBound"), YUBIKEY),
                Some(L::PasskeyDeviceBound),
                S::PhishingResistant,
            ),
            (
                "FIDO2 key listed before passkeyType existed",
                fido2(None, YUBIKEY),
                Some(L::PasskeyDeviceBound),
                S::PhishingResistant,
            ),
            (
                "passkey in Authenticator (iOS)",
                fido2(Some("deviceBound"), AUTHENTICATOR_AAGUIDS[1]),
                Some(L::PasskeyAuthenticator),
                S::PhishingResistant,
            ),
            (
                "passkey in Authenticator (Android, upper case)",
                fido2(
                    Some("deviceBound"),
                    &AUTHENTICATOR_AAGUIDS[0].to_uppercase(),
                ),
                Some(L::PasskeyAuthenticator),
                S::PhishingResistant,
            ),
            (
                "passkey in Windows Hello",
                fido2(Some("deviceBound"), WINDOWS_HELLO_AAGUIDS[2]),
                Some(L::PasskeyWindowsHello),
                S::PhishingResistant,
            ),
            (
                "synced passkey",
                fido2(Some("synced"), ICLOUD),
                Some(L::PasskeySynced),
                S::PhishingResistant,
            ),
            (
                "Windows Hello for Business",
                of_type("windowsHelloForBusiness"),
                Some(L::WindowsHello),
                S::PhishingResistant,
            ),
            (
                "macOS platform credential",
                of_type("platformCredential"),
                Some(L::PlatformCredential),
                S::PhishingResistant,
            ),
            (
                "certificate",
                of_type("x509Certificate"),
                Some(L::Certificate),
                S::PhishingResistant,
            ),
        ];
        for (why, m, label, strength) in cases {
            assert_eq!(label_of_method(&m), label, "{why}");
            assert_eq!(
                strength_of_methods(std::slice::from_ref(&m)),
                strength,
                "{why}"
            );
        }
    }

    #[test]
    fn the_strongest_method_decides() {
        let cases: Vec<(&str, Vec<AuthMethod>, Strength, &str)> = vec![
            ("nothing", vec![], Strength::None, ""),
            (
                "password only",
                vec![of_type("password")],
                Strength::None,
                "",
            ),
            (
                "SMS alone",
                vec![of_type("password"), phone("mobile")],
                Strength::PhoneOnly,
                "sms",
            ),
            (
                "SMS and push",
                vec![phone("mobile"), of_type("microsoftAuthenticator")],
                Strength::App,
                "authenticator-push,sms",
            ),
            (
                "synced passkey and SMS",
                vec![phone("mobile"), fido2(Some("synced"), ICLOUD)],
                Strength::PhishingResistant,
                "passkey-synced,sms",
            ),
            (
                "two phones and email",
                vec![phone("office"), phone("mobile"), of_type("email")],
                Strength::PhoneOnly,
                "sms,office-phone,email",
            ),
        ];
        for (why, methods, strength, labels) in cases {
            assert_eq!(strength_of_methods(&methods), strength, "{why}");
            assert_eq!(
                MethodLabel::join(&labels_of_methods(&methods)),
                labels,
                "{why}"
            );
        }
    }

    #[test]
    fn each_registered_value_has_its_class() {
        use MethodLabel as L;
        use Strength as S;
        let cases = [
            ("mobilePhone", Some(L::Sms), S::PhoneOnly),
            ("alternateMobilePhone", Some(L::Voice), S::PhoneOnly),
            ("officePhone", Some(L::OfficePhone), S::PhoneOnly),
            ("email", Some(L::Email), S::PhoneOnly),
            (
                "microsoftAuthenticatorPush",
                Some(L::AuthenticatorPush),
                S::App,
            ),
            (
                "microsoftAuthenticatorPasswordless",
                Some(L::AuthenticatorPasswordless),
                S::App,
            ),
            ("softwareOneTimePasscode", Some(L::SoftwareOath), S::App),
            ("hardwareOneTimePasscode", Some(L::HardwareOath), S::App),
            ("fido2", Some(L::Fido2), S::PhishingResistant),
            ("fido2SecurityKey", Some(L::Fido2), S::PhishingResistant),
            (
                "passKeyDeviceBound",
                Some(L::PasskeyDeviceBound),
                S::PhishingResistant,
            ),
            (
                "passKeyDeviceBoundAuthenticator",
                Some(L::PasskeyAuthenticator),
                S::PhishingResistant,
            ),
            (
                "passKeyDeviceBoundWindowsHello",
                Some(L::PasskeyWindowsHello),
                S::PhishingResistant,
            ),
            (
                "passKeySynced",
                Some(L::PasskeySynced),
                S::PhishingResistant,
            ),
            (
                "windowsHelloForBusiness",
                Some(L::WindowsHello),
                S::PhishingResistant,
            ),
            (
                "macOsSecureEnclaveKey",
                Some(L::PlatformCredential),
                S::PhishingResistant,
            ),
            ("temporaryAccessPass", None, S::None),
            ("securityQuestion", None, S::None),
            ("appPassword", None, S::None),
            ("none", None, S::None),
            ("unknownFutureValue", None, S::None),
            ("somethingFromNextYear", None, S::None),
        ];
        for (value, label, strength) in cases {
            assert_eq!(label_of_registered(value), label, "{value}");
            assert_eq!(
                strength_of_registered(&[value.to_string()]),
                strength,
                "{value}"
            );
        }
    }

    #[test]
    fn a_report_row_gives_strength_and_list() {
        let row: RegistrationDetails = serde_json::from_value(json!({
            "id": "u1",
            "methodsRegistered": ["mobilePhone", "passKeySynced", "unknownFutureValue", "mobilePhone"],
        }))
        .unwrap();
        assert_eq!(row.strength(), Strength::PhishingResistant);
        assert_eq!(
            row.method_labels(),
            [MethodLabel::PasskeySynced, MethodLabel::Sms]
        );
        let sms_and_push = ["mobilePhone", "microsoftAuthenticatorPush"].map(String::from);
        assert_eq!(strength_of_registered(&sms_and_push), Strength::App);
        assert_eq!(strength_of_registered(&[]), Strength::None);
    }
}
