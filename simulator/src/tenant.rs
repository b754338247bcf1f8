//! [`Tenant`]: the control handle tests and the `/_sim/` API use to shape the tenant and read
//! what the product did (outbox, request log, violations).

use crate::auth;
use crate::clock::SimClock;
use crate::config::{Licence, Limits};
use crate::faults::FaultRule;
use crate::log::{RequestRecord, Violation};
use crate::policy::RegistrationCampaign;
use crate::shared::Shared;
use crate::sharepoint::List;
use crate::state::{
    aaguid, is_guid, AuthMethod, Group, MethodKind, MethodOptions, NewUser, Passkey, PasskeyType,
    SentMail, User,
};
use std::sync::Arc;

/// Column values of a list item.
pub type Fields = serde_json::Map<String, serde_json::Value>;

/// Errors from control operations.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The named user, group, site or list does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The input is not acceptable.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Turns a failed lookup into [`SimError::NotFound`] naming the key that was looked up.
trait OrNotFound<T> {
    fn or_not_found(self, key: &str) -> Result<T, SimError>;
}

impl<T> OrNotFound<T> for Option<T> {
    fn or_not_found(self, key: &str) -> Result<T, SimError> {
        self.ok_or_else(|| SimError::NotFound(key.to_string()))
    }
}

/// Fixed ids Graph uses for the three phone method types.
pub(crate) fn phone_method_id(phone_type: &str) -> &'static str {
    match phone_type {
        "alternateMobile" => "b6332ec1-7057-4abe-9331-3d72feddfe41",
        "office" => "e37fc753-ff3b-4958-9484-eaa9425c82bc",
        _ => "3179e48a-750b-4051-897c-87b9720928f7",
    }
}

/// Control handle over a running simulator (cheap to clone).
#[derive(Clone)]
pub struct Tenant {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant").finish_non_exhaustive()
    }
}

impl Tenant {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The simulator's clock.
    pub fn clock(&self) -> SimClock {
        self.shared.clock.clone()
    }

    /// Primary domain of the tenant.
    pub fn domain(&self) -> String {
        self.shared.config.domain.clone()
    }

    /// Creates a user.
    pub fn add_user(&self, new: NewUser) -> Result<User, SimError> {
        let now = self.shared.clock.now();
        self.shared
            .tenant
            .lock()
            .add_user(new, now)
            .map_err(SimError::Invalid)
    }

    /// A user by id or UPN.
    pub fn user(&self, id_or_upn: &str) -> Option<User> {
        self.shared.tenant.lock().user(id_or_upn).cloned()
    }

    /// Every user in creation order.
    pub fn users(&self) -> Vec<User> {
        self.shared
            .tenant
            .lock()
            .users_in_order()
            .cloned()
            .collect()
    }

    /// Sets (or clears) a user's manager.
    pub fn set_manager(&self, user: &str, manager: Option<&str>) -> Result<(), SimError> {
        let mut t = self.shared.tenant.lock();
        let manager_id = match manager {
            Some(m) => Some(t.user(m).map(|u| u.id.clone()).or_not_found(m)?),
            None => None,
        };
        let u = t.user_mut(user).or_not_found(user)?;
        u.manager_id = manager_id;
        Ok(())
    }

    /// Enables or disables sign-in (disabled users drop out of the registration report).
    pub fn set_account_enabled(&self, user: &str, enabled: bool) -> Result<(), SimError> {
        let mut t = self.shared.tenant.lock();
        let u = t.user_mut(user).or_not_found(user)?;
        u.account_enabled = enabled;
        Ok(())
    }

    /// Creates a security group.
    pub fn add_group(&self, display_name: &str) -> Group {
        self.shared.tenant.lock().add_group(display_name, None)
    }

    /// A group by id.
    pub fn group(&self, id: &str) -> Option<Group> {
        self.shared.tenant.lock().group(id).cloned()
    }

    /// Direct members of a group.
    pub fn group_members(&self, group_id: &str) -> Result<Vec<User>, SimError> {
        let t = self.shared.tenant.lock();
        let g = t.group(group_id).or_not_found(group_id)?;
        Ok(g.members
            .iter()
            .filter_map(|m| t.user(m).cloned())
            .collect())
    }

    /// Adds a user to a group directly (not through Graph; no limits, no log).
    pub fn add_group_member(&self, group_id: &str, user: &str) -> Result<bool, SimError> {
        let mut t = self.shared.tenant.lock();
        let uid = t.user(user).map(|u| u.id.clone()).or_not_found(user)?;
        Ok(t.group_mut(group_id)
            .or_not_found(group_id)?
            .add_member(&uid))
    }

    /// Nests group `child` inside group `parent` (its members become transitive members).
    pub fn nest_group(&self, parent: &str, child: &str) -> Result<(), SimError> {
        let mut t = self.shared.tenant.lock();
        let child_id = t.group(child).map(|g| g.id.clone()).or_not_found(child)?;
        let g = t.group_mut(parent).or_not_found(parent)?;
        if !g.nested.contains(&child_id) {
            g.nested.push(child_id);
        }
        Ok(())
    }

    /// Users in a group directly or through nested groups.
    pub fn transitive_members(&self, group_id: &str) -> Result<Vec<User>, SimError> {
        let t = self.shared.tenant.lock();
        t.group(group_id).or_not_found(group_id)?;
        Ok(t.transitive_users(group_id)
            .iter()
            .filter_map(|id| t.user(id).cloned())
            .collect())
    }

    /// Sets (or clears) a user's directory mobile number.
    pub fn set_mobile_phone(&self, user: &str, number: Option<&str>) -> Result<(), SimError> {
        let mut t = self.shared.tenant.lock();
        let u = t.user_mut(user).or_not_found(user)?;
        u.mobile_phone = number.map(str::to_string);
        Ok(())
    }

    /// A user's per-user MFA state (`disabled`, `enabled`, `enforced`).
    pub fn per_user_mfa_state(&self, user: &str) -> Option<String> {
        self.user(user).map(|u| u.per_user_mfa_state)
    }

    /// Makes `upn` a mailbox the app may send from; creates a disabled (shared-mailbox) user
    /// object when none exists.
    pub fn add_mailbox(&self, upn: &str) -> Result<(), SimError> {
        let now = self.shared.clock.now();
        let mut t = self.shared.tenant.lock();
        if t.user(upn).is_none() {
            let mut new = NewUser::upn(upn);
            new.account_enabled = Some(false);
            t.add_user(new, now).map_err(SimError::Invalid)?;
        }
        t.mailboxes.insert(upn.to_ascii_lowercase());
        Ok(())
    }

    /// Registers an authentication method for a user now (phone uses the directory mobile
    /// number when it is in `+CC number` form, else a placeholder; a FIDO2 method is a
    /// device-bound security key). See [`Tenant::register_method`].
    pub fn register_mfa(&self, user: &str, kind: MethodKind) -> Result<AuthMethod, SimError> {
        self.register_method(user, kind, MethodOptions::default())
    }

    /// Registers a passkey of the given kind (a FIDO2 method with its `passkeyType` and
    /// `aaGuid`) for a user now.
    pub fn register_passkey(&self, user: &str, passkey: Passkey) -> Result<AuthMethod, SimError> {
        self.register_method(user, MethodKind::Fido2, passkey.options())
    }

    /// Registers an authentication method for a user now, as the person would through their
    /// security info, and writes the audit events Entra writes for it
    /// ([`crate::audit::registration_entries`]). `options` apply to FIDO2 methods only:
    /// `passkeyType` defaults to `deviceBound`, `aaGuid` to a YubiKey (or iCloud Keychain for a
    /// synced passkey).
    pub fn register_method(
        &self,
        user: &str,
        kind: MethodKind,
        options: MethodOptions,
    ) -> Result<AuthMethod, SimError> {
        let now = self.shared.clock.now();
        if kind == MethodKind::Password {
            return Err(SimError::Invalid(
                "every user already has a password".into(),
            ));
        }
        if kind != MethodKind::Fido2 && options != MethodOptions::default() {
            return Err(SimError::Invalid(format!(
                "passkeyType and aaGuid apply to fido2 methods, not {}",
                kind.name()
            )));
        }
        let mut m = AuthMethod::new(uuid::Uuid::new_v4().to_string(), kind, now);
        if kind == MethodKind::Fido2 {
            let passkey_type = options.passkey_type.unwrap_or(PasskeyType::DeviceBound);
            let default_guid = match passkey_type {
                PasskeyType::Synced => aaguid::ICLOUD_KEYCHAIN,
                PasskeyType::DeviceBound => aaguid::YUBIKEY_5_NFC,
            };
            let guid = options
                .aa_guid
                .unwrap_or_else(|| default_guid.to_string())
                .to_ascii_lowercase();
            if !is_guid(&guid) {
                return Err(SimError::Invalid(format!("aaGuid '{guid}' is not a GUID")));
            }
            m.passkey_type = Some(passkey_type);
            m.aa_guid = Some(guid);
        }
        let mut t = self.shared.tenant.lock();
        let u = t.user_mut(user).or_not_found(user)?;
        if kind == MethodKind::Phone {
            if u.methods
                .iter()
                .any(|m| m.phone_type.as_deref() == Some("mobile"))
            {
                return Err(SimError::Invalid(
                    "user already has a mobile phone method".into(),
                ));
            }
            let number = u
                .mobile_phone
                .clone()
                .filter(|n| crate::routes::methods::valid_phone(n))
                .unwrap_or_else(|| "+1 5550100".to_string());
            m.id = phone_method_id("mobile").to_string();
            m.phone_number = Some(number);
            m.phone_type = Some("mobile".to_string());
        }
        u.methods.push(m.clone());
        let (id, upn) = (u.id.clone(), u.user_principal_name.clone());
        drop(t);
        self.shared
            .audit
            .lock()
            .record(crate::audit::registration_entries(&m), now, &id, &upn);
        Ok(m)
    }

    /// The authentication methods policy's registration campaign as Graph serves it.
    pub fn registration_campaign(&self) -> RegistrationCampaign {
        self.shared.tenant.lock().campaign.clone()
    }

    /// Replaces the registration campaign (what an admin would set in the Entra admin center);
    /// refuses what Graph would refuse.
    pub fn set_registration_campaign(
        &self,
        campaign: RegistrationCampaign,
    ) -> Result<(), SimError> {
        campaign.validate().map_err(SimError::Invalid)?;
        self.shared.tenant.lock().campaign = campaign;
        Ok(())
    }

    /// Every directory audit event recorded so far (visible or not yet), oldest first.
    pub fn audit_events(&self) -> Vec<crate::audit::AuditEvent> {
        self.shared.audit.lock().events.clone()
    }

    /// Sets the ingestion delay of audit events recorded from now on.
    pub fn set_audit_delay(&self, delay: std::time::Duration) {
        self.shared.audit.lock().delay = delay;
    }

    /// The next `n` registrations record no audit event (events Entra lost or never wrote).
    pub fn lose_next_audit_events(&self, n: usize) {
        self.shared.audit.lock().lose_next = n;
    }

    /// Allows or denies every app access to the directory audit log (denied: 403
    /// `Authorization_RequestDenied`, as for an app without `AuditLog.Read.All` +
    /// `Directory.Read.All`).
    pub fn set_audit_log_readable(&self, readable: bool) {
        self.shared.audit.lock().readable = readable;
    }

    /// Removes a user's methods of `kind` (all non-password methods when `None`), logging a
    /// `User deleted security info` event for each; returns how many.
    pub fn remove_methods(&self, user: &str, kind: Option<MethodKind>) -> Result<usize, SimError> {
        let now = self.shared.clock.now();
        let mut t = self.shared.tenant.lock();
        let u = t.user_mut(user).or_not_found(user)?;
        let (kept, removed): (Vec<_>, Vec<_>) = std::mem::take(&mut u.methods)
            .into_iter()
            .partition(|m| m.kind == MethodKind::Password || kind.is_some_and(|k| k != m.kind));
        u.methods = kept;
        let (id, upn) = (u.id.clone(), u.user_principal_name.clone());
        drop(t);
        let mut audit = self.shared.audit.lock();
        for m in &removed {
            let reason = crate::audit::reason(m, false);
            let entry = crate::audit::Entry::new(
                crate::audit::AUTH_METHODS_SERVICE,
                crate::audit::USER_DELETED,
                reason,
            );
            audit.record(vec![entry], now, &id, &upn);
        }
        Ok(removed.len())
    }

    /// Every message accepted by `sendMail`, oldest first.
    pub fn outbox(&self) -> Vec<SentMail> {
        self.shared.tenant.lock().outbox.clone()
    }

    /// Messages accepted by `sendMail` from position `from` on (oldest first), so a long run can
    /// read only what is new instead of cloning the whole outbox each time.
    pub fn outbox_since(&self, from: usize) -> Vec<SentMail> {
        let tenant = self.shared.tenant.lock();
        tenant
            .outbox
            .get(from..)
            .map(<[SentMail]>::to_vec)
            .unwrap_or_default()
    }

    /// Every logged request, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().iter().cloned().collect()
    }

    /// How many requests are in the log (without copying it).
    pub fn request_count(&self) -> usize {
        self.shared.log.lock().len()
    }

    /// Every recorded violation, oldest first.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.violations.lock().clone()
    }

    /// Empties the outbox, the request log and the violation log.
    pub fn clear_logs(&self) {
        self.shared.tenant.lock().outbox.clear();
        self.shared.log.lock().clear();
        self.shared.violations.lock().clear();
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.faults.lock().add(rule);
    }

    /// How many requests each fault rule has hit, in the order the rules were added.
    pub fn fault_hits(&self) -> Vec<u64> {
        self.shared.faults.lock().hit_counts()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().clear();
    }

    /// Issues a managed-identity token in process, without HTTP: what the managed-identity
    /// endpoint would answer (same identity, permissions and lifetime in simulated time). For
    /// clients in the same process (local mode, tests, benchmarks) that cannot point the Azure
    /// SDK's credential at the simulator. Returns the token and when it expires.
    pub fn issue_token(&self) -> (String, chrono::DateTime<chrono::Utc>) {
        auth::issue_managed_identity(&self.shared)
    }

    /// Expires every token issued so far (the next Graph call answers 401).
    pub fn expire_all_tokens(&self) {
        auth::expire_all(&self.shared);
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.shared.limits.lock().clone()
    }

    /// Replaces the limits (windows already counted keep their old sizes).
    pub fn set_limits(&self, limits: Limits) {
        *self.shared.limits.lock() = limits;
        *self.shared.throttle.lock() = Default::default();
    }

    /// Changes the tenant's licence.
    pub fn set_licence(&self, licence: Licence) {
        *self.shared.licence.lock() = licence;
    }

    /// Creates a SharePoint site `/sites/{name}`; returns its Graph id (`host,guid,guid`).
    pub fn add_site(&self, name: &str) -> String {
        let prefix = self
            .shared
            .config
            .domain
            .split('.')
            .next()
            .unwrap_or("contoso");
        let host = format!("{prefix}.sharepoint.com");
        let now = self.shared.clock.now();
        self.shared.sharepoint.lock().add_site(&host, name, now).id
    }

    /// Inserts items into a list directly (no limits, no log), validating like `POST items`.
    /// Returns the new item ids.
    pub fn insert_items(
        &self,
        site: &str,
        list: &str,
        items: Vec<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Vec<u64>, SimError> {
        let now = self.shared.clock.now();
        self.with_list(site, list, |l| {
            let mut ids = Vec::with_capacity(items.len());
            for fields in items {
                let values = l.validate(&fields).map_err(SimError::Invalid)?;
                ids.push(l.create(values, now).map_err(SimError::Invalid)?.id);
            }
            Ok(ids)
        })
    }

    /// Every item of a list as `(id, fields)`, ascending by id.
    pub fn list_items(&self, site: &str, list: &str) -> Result<Vec<(u64, Fields)>, SimError> {
        self.with_list(site, list, |l| {
            Ok(l.items.values().map(|i| (i.id, i.fields.clone())).collect())
        })
    }

    /// Runs `f` on a list of a site (by id or name / id or title) under the SharePoint lock.
    fn with_list<R>(
        &self,
        site: &str,
        list: &str,
        f: impl FnOnce(&mut List) -> Result<R, SimError>,
    ) -> Result<R, SimError> {
        let mut sp = self.shared.sharepoint.lock();
        let l = sp
            .site_mut(site)
            .or_not_found(site)?
            .list_mut(list)
            .or_not_found(list)?;
        f(l)
    }
}
