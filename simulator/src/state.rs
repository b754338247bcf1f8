//! The tenant model: users, managers, groups, authentication methods, sender mailboxes and the
//! outbox. Route handlers and the control API both work on it under one lock.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// Authentication method types Graph reports, named as in `#microsoft.graph.<kind>AuthenticationMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MethodKind {
    /// Password (every user has one).
    Password,
    /// Phone (SMS/voice).
    Phone,
    /// Microsoft Authenticator app.
    MicrosoftAuthenticator,
    /// Software OATH token.
    SoftwareOath,
    /// Hardware OATH token.
    HardwareOath,
    /// FIDO2 security key or passkey of any kind ([`AuthMethod::passkey_type`] and
    /// [`AuthMethod::aa_guid`] say which).
    Fido2,
    /// Windows Hello for Business.
    WindowsHelloForBusiness,
    /// Email (SSPR only).
    Email,
    /// Temporary Access Pass.
    TemporaryAccessPass,
    /// Platform credential (macOS).
    PlatformCredential,
    /// A certificate for certificate-based authentication.
    X509Certificate,
}

impl MethodKind {
    /// Every kind.
    pub const ALL: [MethodKind; 11] = [
        Self::Password,
        Self::Phone,
        Self::MicrosoftAuthenticator,
        Self::SoftwareOath,
        Self::HardwareOath,
        Self::Fido2,
        Self::WindowsHelloForBusiness,
        Self::Email,
        Self::TemporaryAccessPass,
        Self::PlatformCredential,
        Self::X509Certificate,
    ];

    /// The camelCase name used in `@odata.type` and the control API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Phone => "phone",
            Self::MicrosoftAuthenticator => "microsoftAuthenticator",
            Self::SoftwareOath => "softwareOath",
            Self::HardwareOath => "hardwareOath",
            Self::Fido2 => "fido2",
            Self::WindowsHelloForBusiness => "windowsHelloForBusiness",
            Self::Email => "email",
            Self::TemporaryAccessPass => "temporaryAccessPass",
            Self::PlatformCredential => "platformCredential",
            Self::X509Certificate => "x509Certificate",
        }
    }

    /// Parses the camelCase name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
    }

    /// Whether this method satisfies MFA (the report's `isMfaRegistered`). Certificates are not
    /// registered security info, so they do not count here.
    pub fn is_mfa_capable(self) -> bool {
        matches!(
            self,
            Self::Phone
                | Self::MicrosoftAuthenticator
                | Self::SoftwareOath
                | Self::HardwareOath
                | Self::Fido2
                | Self::WindowsHelloForBusiness
                | Self::PlatformCredential
        )
    }
}

/// One registered authentication method.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthMethod {
    /// Method id (GUID; the password method has the well-known id).
    pub id: String,
    /// Kind.
    pub kind: MethodKind,
    /// When it was registered (simulated time).
    pub created: DateTime<Utc>,
    /// Phone number for phone methods (`+CC number`).
    pub phone_number: Option<String>,
    /// `mobile`, `alternateMobile` or `office` for phone methods.
    pub phone_type: Option<String>,
    /// `passkeyType` of a FIDO2 method.
    pub passkey_type: Option<PasskeyType>,
    /// `aaGuid` of a FIDO2 method (lower case).
    pub aa_guid: Option<String>,
}

impl AuthMethod {
    /// A method of `kind` registered at `created`, with no phone or passkey details.
    pub fn new(id: impl Into<String>, kind: MethodKind, created: DateTime<Utc>) -> Self {
        Self {
            id: id.into(),
            kind,
            created,
            phone_number: None,
            phone_type: None,
            passkey_type: None,
            aa_guid: None,
        }
    }
}

/// `passkeyType` of a FIDO2 method (Graph: `deviceBound`, `synced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PasskeyType {
    /// Bound to one authenticator (security key, Authenticator app, Windows Hello).
    DeviceBound,
    /// Synced by a passkey provider.
    Synced,
}

/// Well-known AAGUIDs (which authenticator holds a passkey), for seeding passkeys of each kind.
pub mod aaguid {
    /// YubiKey 5 Series with NFC (a security key; the default for a FIDO2 method).
    pub const YUBIKEY_5_NFC: &str = "2fc0579f-8113-47ea-b116-bb5a8db9202a";
    /// Microsoft Authenticator for iOS.
    pub const AUTHENTICATOR_IOS: &str = "90a3ccdf-635c-4729-a248-9b709135078f";
    /// Microsoft Authenticator for Android.
    pub const AUTHENTICATOR_ANDROID: &str = "de1e552d-db1d-4423-a619-566b625cdc84";
    /// Windows Hello hardware authenticator.
    pub const WINDOWS_HELLO: &str = "08987058-cadc-4b81-b6e1-30de50dcbe96";
    /// iCloud Keychain (synced).
    pub const ICLOUD_KEYCHAIN: &str = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd";
    /// Google Password Manager (synced).
    pub const GOOGLE_PASSWORD_MANAGER: &str = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";
}

/// Details of a method to register beyond its kind (the control API's optional fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MethodOptions {
    /// `passkeyType` of a FIDO2 method; `deviceBound` when absent.
    pub passkey_type: Option<PasskeyType>,
    /// `aaGuid` of a FIDO2 method; [`aaguid::YUBIKEY_5_NFC`] (or iCloud Keychain for a synced
    /// passkey) when absent.
    pub aa_guid: Option<String>,
}

/// The passkeys people have, as presets of [`MethodOptions`] for a FIDO2 method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Passkey {
    /// A FIDO2 security key (device-bound).
    SecurityKey,
    /// A device-bound passkey in Microsoft Authenticator (iOS).
    Authenticator,
    /// A device-bound passkey in Windows Hello.
    WindowsHello,
    /// A synced passkey (iCloud Keychain).
    Synced,
}

impl Passkey {
    /// Every preset.
    pub const ALL: [Passkey; 4] = [
        Passkey::SecurityKey,
        Passkey::Authenticator,
        Passkey::WindowsHello,
        Passkey::Synced,
    ];

    /// The FIDO2 method details of this preset.
    pub fn options(self) -> MethodOptions {
        let (t, g) = match self {
            Passkey::SecurityKey => (PasskeyType::DeviceBound, aaguid::YUBIKEY_5_NFC),
            Passkey::Authenticator => (PasskeyType::DeviceBound, aaguid::AUTHENTICATOR_IOS),
            Passkey::WindowsHello => (PasskeyType::DeviceBound, aaguid::WINDOWS_HELLO),
            Passkey::Synced => (PasskeyType::Synced, aaguid::ICLOUD_KEYCHAIN),
        };
        MethodOptions {
            passkey_type: Some(t),
            aa_guid: Some(g.to_string()),
        }
    }
}

/// Whether `g` is a GUID in its 8-4-4-4-12 hexadecimal form.
pub(crate) fn is_guid(g: &str) -> bool {
    let parts: Vec<&str> = g.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Well-known id of the password method.
pub const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

/// A directory user.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Object id (GUID).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// UPN.
    pub user_principal_name: String,
    /// Primary SMTP address.
    pub mail: Option<String>,
    /// Whether sign-in is allowed.
    pub account_enabled: bool,
    /// Mobile phone as typed in the directory (any format).
    pub mobile_phone: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Manager's object id.
    pub manager_id: Option<String>,
    /// `Member` or `Guest`.
    pub user_type: String,
    /// Registered methods (the password method is implicit and not stored here).
    pub methods: Vec<AuthMethod>,
    /// Per-user MFA state (`disabled`, `enabled`, `enforced`).
    pub per_user_mfa_state: String,
    /// When the directory object was created.
    pub created: DateTime<Utc>,
}

/// Input for creating a user (only the UPN is required).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NewUser {
    /// Object id; generated when absent.
    pub id: Option<String>,
    /// UPN (required).
    pub user_principal_name: String,
    /// Display name; derived from the UPN when absent.
    pub display_name: Option<String>,
    /// Mail; defaults to the UPN.
    pub mail: Option<String>,
    /// Disabled when `Some(false)`.
    pub account_enabled: Option<bool>,
    /// Mobile phone.
    pub mobile_phone: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Manager id or UPN.
    pub manager: Option<String>,
    /// `Guest` for guests.
    pub user_type: Option<String>,
}

impl NewUser {
    /// A user with just a UPN.
    pub fn upn(upn: impl Into<String>) -> Self {
        Self {
            user_principal_name: upn.into(),
            ..Self::default()
        }
    }
}

/// A security group.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Member object ids in the order they were added.
    pub members: Vec<String>,
    /// Ids of groups nested in this one (their members are transitive members of this group).
    pub nested: Vec<String>,
    #[serde(skip)]
    member_set: HashSet<String>,
}

impl Group {
    /// Whether `user_id` is a direct member.
    pub fn has_member(&self, user_id: &str) -> bool {
        self.member_set.contains(user_id)
    }

    pub(crate) fn add_member(&mut self, user_id: &str) -> bool {
        if self.member_set.insert(user_id.to_string()) {
            self.members.push(user_id.to_string());
            true
        } else {
            false
        }
    }

    pub(crate) fn remove_member(&mut self, user_id: &str) -> bool {
        if self.member_set.remove(user_id) {
            self.members.retain(|m| m != user_id);
            true
        } else {
            false
        }
    }
}

/// A recipient of a sent mail.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recipient {
    /// SMTP address.
    pub address: String,
    /// Display name, if given.
    pub name: Option<String>,
}

/// A message accepted by `sendMail`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMail {
    /// Sending mailbox (as addressed in the URL, lower-case).
    pub sender: String,
    /// `toRecipients`.
    pub to: Vec<Recipient>,
    /// `ccRecipients`.
    pub cc: Vec<Recipient>,
    /// `bccRecipients`.
    pub bcc: Vec<Recipient>,
    /// Subject.
    pub subject: String,
    /// `HTML` or `Text`.
    pub content_type: String,
    /// Body content (the HTML part of a MIME message that has one).
    pub body: String,
    /// The plain-text alternative of a MIME `multipart/alternative` message.
    pub text_alternative: Option<String>,
    /// Sent as base64 MIME (`Content-Type: text/plain`) rather than JSON.
    pub mime: bool,
    /// `internetMessageHeaders` (name, value).
    pub headers: Vec<(String, String)>,
    /// `saveToSentItems` (defaults to true in Graph).
    pub save_to_sent_items: bool,
    /// Simulated time accepted.
    pub at: DateTime<Utc>,
}

/// The whole directory + mail state.
#[derive(Debug, Default)]
pub struct TenantState {
    pub(crate) users: HashMap<String, User>,
    pub(crate) user_order: Vec<String>,
    upn_index: HashMap<String, String>,
    pub(crate) groups: HashMap<String, Group>,
    pub(crate) group_order: Vec<String>,
    pub(crate) mailboxes: HashSet<String>,
    pub(crate) outbox: Vec<SentMail>,
    /// The authentication methods policy's registration campaign.
    pub(crate) campaign: crate::policy::RegistrationCampaign,
}

impl TenantState {
    /// Finds a user by object id or UPN (case-insensitive).
    pub fn user(&self, id_or_upn: &str) -> Option<&User> {
        let key = id_or_upn.to_ascii_lowercase();
        let id = self.upn_index.get(&key).map(String::as_str).unwrap_or(&key);
        self.users.get(id)
    }

    /// Mutable lookup by id or UPN.
    pub fn user_mut(&mut self, id_or_upn: &str) -> Option<&mut User> {
        let key = id_or_upn.to_ascii_lowercase();
        let id = self.upn_index.get(&key).cloned().unwrap_or(key);
        self.users.get_mut(&id)
    }

    /// Users in creation order.
    pub fn users_in_order(&self) -> impl Iterator<Item = &User> {
        self.user_order.iter().filter_map(|id| self.users.get(id))
    }

    /// Creates a user; fails when the UPN or id is taken or the manager is unknown.
    pub fn add_user(&mut self, new: NewUser, now: DateTime<Utc>) -> Result<User, String> {
        let upn = new.user_principal_name.trim().to_string();
        if upn.is_empty() || !upn.contains('@') {
            return Err(format!("invalid userPrincipalName '{upn}'"));
        }
        if self.upn_index.contains_key(&upn.to_ascii_lowercase()) {
            return Err(format!("userPrincipalName '{upn}' already exists"));
        }
        let id = new
            .id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
            .to_ascii_lowercase();
        if self.users.contains_key(&id) {
            return Err(format!("id '{id}' already exists"));
        }
        let manager_id = match new.manager {
            Some(m) => Some(
                self.user(&m)
                    .map(|u| u.id.clone())
                    .ok_or_else(|| format!("manager '{m}' not found"))?,
            ),
            None => None,
        };
        let display_name = new.display_name.unwrap_or_else(|| display_from_upn(&upn));
        let user = User {
            id: id.clone(),
            display_name,
            mail: Some(new.mail.unwrap_or_else(|| upn.clone())),
            user_principal_name: upn.clone(),
            account_enabled: new.account_enabled.unwrap_or(true),
            mobile_phone: new.mobile_phone,
            department: new.department,
            job_title: new.job_title,
            manager_id,
            user_type: new.user_type.unwrap_or_else(|| "Member".to_string()),
            methods: Vec::new(),
            per_user_mfa_state: "disabled".to_string(),
            created: now,
        };
        self.upn_index.insert(upn.to_ascii_lowercase(), id.clone());
        self.user_order.push(id.clone());
        self.users.insert(id, user.clone());
        Ok(user)
    }

    /// Finds a group by id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(&id.to_ascii_lowercase())
    }

    /// Mutable group lookup.
    pub fn group_mut(&mut self, id: &str) -> Option<&mut Group> {
        self.groups.get_mut(&id.to_ascii_lowercase())
    }

    /// Creates a group.
    pub fn add_group(&mut self, display_name: &str, id: Option<String>) -> Group {
        let id = id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
            .to_ascii_lowercase();
        let g = Group {
            id: id.clone(),
            display_name: display_name.to_string(),
            members: Vec::new(),
            nested: Vec::new(),
            member_set: HashSet::new(),
        };
        self.group_order.push(id.clone());
        self.groups.insert(id, g.clone());
        g
    }

    /// User ids in `group_id` directly or through nested groups, each once, in discovery
    /// order (nesting cycles are followed once).
    pub fn transitive_users(&self, group_id: &str) -> Vec<String> {
        let mut seen_groups = HashSet::new();
        let mut seen_users = HashSet::new();
        let mut out = Vec::new();
        let mut stack = vec![group_id.to_ascii_lowercase()];
        while let Some(gid) = stack.pop() {
            if !seen_groups.insert(gid.clone()) {
                continue;
            }
            let Some(g) = self.groups.get(&gid) else {
                continue;
            };
            for m in &g.members {
                if seen_users.insert(m.clone()) {
                    out.push(m.clone());
                }
            }
            stack.extend(g.nested.iter().rev().cloned());
        }
        out
    }

    /// Whether `upn` is a configured sender mailbox.
    pub fn is_mailbox(&self, upn: &str) -> bool {
        self.mailboxes.contains(&upn.to_ascii_lowercase())
    }
}

/// Builds "Given Family" from `given.family@domain`.
fn display_from_upn(upn: &str) -> String {
    let local = upn.split('@').next().unwrap_or(upn);
    local
        .split(['.', '_', '-'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_found_by_id_and_upn_case_insensitively() {
        let mut t = TenantState::default();
        let u = t
            .add_user(NewUser::upn("Ada.Lovelace@contoso.example"), Utc::now())
            .unwrap();
        assert_eq!(u.display_name, "Ada Lovelace");
        assert!(t.user("ada.lovelace@CONTOSO.example").is_some());
        assert!(t.user(&u.id.to_uppercase()).is_some());
        assert!(t
            .add_user(NewUser::upn("ada.lovelace@contoso.example"), Utc::now())
            .is_err());
    }
}
