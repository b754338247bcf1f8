//! Authentication methods (reports category: Graph may count method reads against the reports
//! limit), phone prepopulation and per-user MFA state (identity category).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::batch::BatchRequest;
use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::{segment, GraphRequest, Page};
use super::throttle::Category;

/// The kind of an authentication method, from its `@odata.type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MethodKind {
    /// Password.
    Password,
    /// Phone (SMS/voice).
    Phone,
    /// Microsoft Authenticator.
    MicrosoftAuthenticator,
    /// Software OATH token.
    SoftwareOath,
    /// Hardware OATH token.
    HardwareOath,
    /// FIDO2 security key or passkey of any kind ([`AuthMethod::passkey_type`],
    /// [`AuthMethod::aa_guid`] tell which).
    Fido2,
    /// Windows Hello for Business.
    WindowsHelloForBusiness,
    /// Email (self-service password reset only).
    Email,
    /// Temporary Access Pass.
    TemporaryAccessPass,
    /// Platform credential (macOS).
    PlatformCredential,
    /// A certificate for certificate-based authentication.
    X509Certificate,
    /// Anything else, with the type name without prefix/suffix.
    Unknown(String),
}

impl MethodKind {
    /// Parses `#microsoft.graph.{name}AuthenticationMethod`.
    pub fn from_odata_type(odata_type: &str) -> Self {
        let name = odata_type
            .trim_start_matches('#')
            .trim_start_matches("microsoft.graph.")
            .trim_end_matches("AuthenticationMethod");
        match name {
            "password" => MethodKind::Password,
            "phone" => MethodKind::Phone,
            "microsoftAuthenticator" => MethodKind::MicrosoftAuthenticator,
            "softwareOath" => MethodKind::SoftwareOath,
            "hardwareOath" => MethodKind::HardwareOath,
            "fido2" => MethodKind::Fido2,
            "windowsHelloForBusiness" => MethodKind::WindowsHelloForBusiness,
            "email" => MethodKind::Email,
            "temporaryAccessPass" => MethodKind::TemporaryAccessPass,
            "platformCredential" => MethodKind::PlatformCredential,
            "x509Certificate" => MethodKind::X509Certificate,
            other => MethodKind::Unknown(other.to_string()),
        }
    }

    /// Whether the method satisfies MFA: phone, Authenticator, software OATH, FIDO2, Windows Hello
    /// for Business, platform credential. Password, email and TAP do not.
    ///
    /// This is the rule the check pass has always used, kept as it was for its callers: the
    /// kinds recognised later ([`MethodKind::HardwareOath`], [`MethodKind::X509Certificate`])
    /// answer `false` here, as they did when they parsed as [`MethodKind::Unknown`]. How strong
    /// a person's methods are, hardware tokens and certificates included, is
    /// [`crate::graph::strength`]'s question.
    pub fn is_mfa_capable(&self) -> bool {
        matches!(
            self,
            MethodKind::Phone
                | MethodKind::MicrosoftAuthenticator
                | MethodKind::SoftwareOath
                | MethodKind::Fido2
                | MethodKind::WindowsHelloForBusiness
                | MethodKind::PlatformCredential
        )
    }
}

/// One registered authentication method.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthMethod {
    /// Method id.
    pub id: String,
    /// Kind.
    pub kind: MethodKind,
    /// Phone number, for phone methods.
    pub phone_number: Option<String>,
    /// The whole object as Graph sent it.
    pub raw: Value,
}

impl AuthMethod {
    /// Whether the method satisfies MFA (see [`MethodKind::is_mfa_capable`]).
    pub fn is_mfa_capable(&self) -> bool {
        self.kind.is_mfa_capable()
    }

    /// `passkeyType` of a FIDO2 method (`deviceBound`, `synced`); `None` when absent (other
    /// kinds, or a tenant that predates the property) or a newer value.
    pub fn passkey_type(&self) -> Option<PasskeyType> {
        match self.raw.get("passkeyType").and_then(Value::as_str)? {
            t if t.eq_ignore_ascii_case("deviceBound") => Some(PasskeyType::DeviceBound),
            t if t.eq_ignore_ascii_case("synced") => Some(PasskeyType::Synced),
            _ => None,
        }
    }

    /// `aaGuid` of a FIDO2 method (lower case): which authenticator holds the key.
    pub fn aa_guid(&self) -> Option<String> {
        self.raw
            .get("aaGuid")
            .and_then(Value::as_str)
            .map(|g| g.trim().to_ascii_lowercase())
            .filter(|g| !g.is_empty())
    }

    /// `phoneType` of a phone method (`mobile`, `alternateMobile`, `office`).
    pub fn phone_type(&self) -> Option<&str> {
        self.raw.get("phoneType").and_then(Value::as_str)
    }

    fn from_value(raw: Value) -> Self {
        let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            id: text("id").unwrap_or_default(),
            kind: MethodKind::from_odata_type(&text("@odata.type").unwrap_or_default()),
            phone_number: text("phoneNumber"),
            raw,
        }
    }
}

/// `passkeyType` of a FIDO2 method (Graph: `deviceBound`, `synced`, `unknownFutureValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PasskeyType {
    /// The private key never leaves one authenticator (security key, Authenticator app,
    /// Windows Hello).
    DeviceBound,
    /// The key is synced by a passkey provider (iCloud Keychain, Google Password Manager, …).
    Synced,
}

/// Phone method types Graph accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PhoneType {
    /// Mobile phone (SMS and voice).
    Mobile,
    /// Alternate mobile.
    AlternateMobile,
    /// Office phone.
    Office,
}

/// Legacy per-user MFA state (`/beta/users/{id}/authentication/requirements`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PerUserMfaState {
    /// Not required.
    Disabled,
    /// Required at next registration.
    Enabled,
    /// Required.
    Enforced,
    /// A value this build does not know (Graph's evolvable-enum sentinel and anything newer).
    #[serde(other)]
    UnknownFutureValue,
}

impl fmt::Display for PerUserMfaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PerUserMfaState::Disabled => "disabled",
            PerUserMfaState::Enabled => "enabled",
            PerUserMfaState::Enforced => "enforced",
            PerUserMfaState::UnknownFutureValue => "unknownFutureValue",
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Requirements {
    per_user_mfa_state: PerUserMfaState,
}

fn methods_from_page(page: Page<Value>) -> Vec<AuthMethod> {
    page.value.into_iter().map(AuthMethod::from_value).collect()
}

/// Checks Graph's phone format `+{country code} {number}[x{extension}]` before sending: one
/// space after a 1–3 digit country code, then digits only (Graph's documented examples are
/// `+1 5555551234` and `+1 5555551234x123`; it rejects numbers that do not match).
fn check_phone(number: &str) -> GraphResult<()> {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let ok = number.strip_prefix('+').is_some_and(|rest| {
        let Some((cc, local)) = rest.split_once(' ') else {
            return false;
        };
        let (local, ext) = match local.split_once('x') {
            Some((n, e)) => (n, Some(e)),
            None => (local, None),
        };
        (1..=3).contains(&cc.len()) && digits(cc) && digits(local) && ext.is_none_or(digits)
    });
    if ok {
        Ok(())
    } else {
        Err(GraphError::InvalidArgument(format!(
            "phone number must look like '+47 91234567': {number}"
        )))
    }
}

impl From<PerUserMfaState> for Option<crate::domain::PerUserMfa> {
    fn from(s: PerUserMfaState) -> Self {
        use crate::domain::PerUserMfa;
        match s {
            PerUserMfaState::Disabled => Some(PerUserMfa::Disabled),
            PerUserMfaState::Enabled => Some(PerUserMfa::Enabled),
            PerUserMfaState::Enforced => Some(PerUserMfa::Enforced),
            PerUserMfaState::UnknownFutureValue => None,
        }
    }
}

impl From<crate::domain::PerUserMfa> for PerUserMfaState {
    fn from(s: crate::domain::PerUserMfa) -> Self {
        use crate::domain::PerUserMfa;
        match s {
            PerUserMfa::Disabled => PerUserMfaState::Disabled,
            PerUserMfa::Enabled => PerUserMfaState::Enabled,
            PerUserMfa::Enforced => PerUserMfaState::Enforced,
        }
    }
}

impl GraphClient {
    /// The user's registered authentication methods (one page; Graph does not page this list).
    pub async fn list_methods(&self, user_id: &str) -> GraphResult<Vec<AuthMethod>> {
        let req = GraphRequest::get(format!(
            "/v1.0/users/{}/authentication/methods",
            segment(user_id)
        ))
        .category(Category::Reports);
        Ok(methods_from_page(self.send_json(req).await?))
    }

    /// Methods of many users through `$batch` (the fallback when the registration report is not
    /// licensed), one result per input in order.
    pub async fn list_methods_batch(
        &self,
        user_ids: &[String],
    ) -> Vec<GraphResult<Vec<AuthMethod>>> {
        let reqs = user_ids
            .iter()
            .map(|u| BatchRequest::get(format!("/users/{}/authentication/methods", segment(u))))
            .collect();
        self.batch(reqs)
            .await
            .into_iter()
            .map(|r| {
                r.and_then(|b| b.json::<Page<Value>>())
                    .map(methods_from_page)
            })
            .collect()
    }

    /// The user's phone methods (`GET …/authentication/phoneMethods`; at most one per type).
    pub async fn list_phone_methods(&self, user_id: &str) -> GraphResult<Vec<AuthMethod>> {
        let req = GraphRequest::get(format!(
            "/v1.0/users/{}/authentication/phoneMethods",
            segment(user_id)
        ))
        .category(Category::Reports);
        let mut methods = methods_from_page(self.send_json(req).await?);
        for m in &mut methods {
            if matches!(&m.kind, MethodKind::Unknown(t) if t.is_empty()) {
                m.kind = MethodKind::Phone;
            }
        }
        Ok(methods)
    }

    /// Pre-registers a phone method (`POST …/authentication/phoneMethods`, 201). Not resent after
    /// a timeout: a second create would be rejected as a duplicate.
    pub async fn create_phone_method(
        &self,
        user_id: &str,
        phone_number: &str,
        phone_type: PhoneType,
    ) -> GraphResult<AuthMethod> {
        check_phone(phone_number)?;
        let req = GraphRequest::post(
            format!(
                "/v1.0/users/{}/authentication/phoneMethods",
                segment(user_id)
            ),
            json!({"phoneNumber": phone_number, "phoneType": phone_type}),
        )
        .category(Category::Identity);
        let raw: Value = self.send_json(req).await?;
        let mut method = AuthMethod::from_value(raw);
        if method.kind == MethodKind::Unknown(String::new()) {
            method.kind = MethodKind::Phone;
        }
        Ok(method)
    }

    /// The user's legacy per-user MFA state (beta).
    pub async fn get_mfa_requirements(&self, user_id: &str) -> GraphResult<PerUserMfaState> {
        let req = GraphRequest::get(format!(
            "/beta/users/{}/authentication/requirements",
            segment(user_id)
        ))
        .category(Category::Identity);
        Ok(self
            .send_json::<Requirements>(req)
            .await?
            .per_user_mfa_state)
    }

    /// Sets the user's legacy per-user MFA state (beta, 204).
    pub async fn set_mfa_requirements(
        &self,
        user_id: &str,
        state: PerUserMfaState,
    ) -> GraphResult<()> {
        let req = GraphRequest::patch(
            format!(
                "/beta/users/{}/authentication/requirements",
                segment(user_id)
            ),
            json!({"perUserMfaState": state}),
        )
        .category(Category::Identity);
        self.send(req).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_mfa_capability() {
        let cases = [
            (
                "#microsoft.graph.passwordAuthenticationMethod",
                MethodKind::Password,
                false,
            ),
            (
                "#microsoft.graph.phoneAuthenticationMethod",
                MethodKind::Phone,
                true,
            ),
            (
                "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
                MethodKind::MicrosoftAuthenticator,
                true,
            ),
            (
                "#microsoft.graph.softwareOathAuthenticationMethod",
                MethodKind::SoftwareOath,
                true,
            ),
            (
                "#microsoft.graph.fido2AuthenticationMethod",
                MethodKind::Fido2,
                true,
            ),
            (
                "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod",
                MethodKind::WindowsHelloForBusiness,
                true,
            ),
            (
                "#microsoft.graph.emailAuthenticationMethod",
                MethodKind::Email,
                false,
            ),
            (
                "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
                MethodKind::TemporaryAccessPass,
                false,
            ),
            (
                "#microsoft.graph.platformCredentialAuthenticationMethod",
                MethodKind::PlatformCredential,
                true,
            ),
            (
                "#microsoft.graph.qrCodePinAuthenticationMethod",
                MethodKind::Unknown("qrCodePin".into()),
                false,
            ),
            // Recognised later; the legacy MFA rule still answers as it did for Unknown.
            (
                "#microsoft.graph.hardwareOathAuthenticationMethod",
                MethodKind::HardwareOath,
                false,
            ),
            (
                "#microsoft.graph.x509CertificateAuthenticationMethod",
                MethodKind::X509Certificate,
                false,
            ),
        ];
        for (t, kind, mfa) in cases {
            let parsed = MethodKind::from_odata_type(t);
            assert_eq!(parsed, kind, "{t}");
            assert_eq!(parsed.is_mfa_capable(), mfa, "{t}");
        }
    }

    #[test]
    fn passkey_details_are_read_from_the_object() {
        let m = AuthMethod::from_value(json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
            "id": "k1",
            "aaGuid": "90A3CCDF-635C-4729-A248-9B709135078F",
            "passkeyType": "deviceBound",
        }));
        assert_eq!(m.passkey_type(), Some(PasskeyType::DeviceBound));
        assert_eq!(
            m.aa_guid().as_deref(),
            Some("90a3ccdf-635c-4729-a248-9b709135078f")
        );
        let synced = AuthMethod::from_value(json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
            "passkeyType": "synced",
        }));
        assert_eq!(synced.passkey_type(), Some(PasskeyType::Synced));
        assert_eq!(synced.aa_guid(), None);
        let newer = AuthMethod::from_value(json!({"passkeyType": "unknownFutureValue"}));
        assert_eq!(newer.passkey_type(), None);
    }

    #[test]
    fn phone_format() {
        for ok in ["+47 91234567", "+1 4255550100x123", "+44 2079460958"] {
            assert!(check_phone(ok).is_ok(), "{ok}");
        }
        for bad in [
            "91234567",
            "+47",
            "+47 ",
            "+ 123",
            "+47 12a4",
            "tel:+4791234567",
            "+44 20 7946 0958",
            "+4791234567",
            "+1234 5550100",
            "+1 5550100x",
            "+1 5550100xab",
        ] {
            assert!(check_phone(bad).is_err(), "{bad}");
        }
    }
}
