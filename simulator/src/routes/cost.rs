//! How each route is classed (service category), charged against the limits (resource units,
//! writes, requests) and which application permissions it needs.

use super::Route;
use crate::config::Limits;
use crate::http::SimRequest;
use crate::limits::{Category, Charge};

const USER_READ: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const GROUP_READ: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const GROUP_WRITE: &[&str] = &[
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const METHOD_READ: &[&str] = &[
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
];
const METHOD_WRITE: &[&str] = &["UserAuthenticationMethod.ReadWrite.All"];
/// Per-user MFA state (beta `authentication/requirements`).
const POLICY_READ: &[&str] = &[
    "Policy.Read.All",
    "Policy.ReadWrite.AuthenticationMethod",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
];
const POLICY_WRITE: &[&str] = &["Policy.ReadWrite.AuthenticationMethod"];
/// `GET /policies/authenticationMethodsPolicy`.
const AUTH_METHODS_POLICY_READ: &[&str] = &[
    "Policy.Read.All",
    "Policy.Read.AuthenticationMethod",
    "Policy.ReadWrite.AuthenticationMethod",
];
const REPORTS: &[&str] = &["AuditLog.Read.All"];
const MAIL: &[&str] = &["Mail.Send"];
const SITES_READ: &[&str] = &[
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Sites.Manage.All",
    "Sites.FullControl.All",
    "Sites.Selected",
];
const SITES_WRITE: &[&str] = &[
    "Sites.ReadWrite.All",
    "Sites.Manage.All",
    "Sites.FullControl.All",
    "Sites.Selected",
];
const SITES_MANAGE: &[&str] = &["Sites.Manage.All", "Sites.FullControl.All"];

/// How a route is classed and charged.
#[derive(Debug, Clone)]
pub(crate) struct RouteInfo {
    pub category: Category,
    pub permissions: &'static [&'static str],
    /// Throttle scope for "sent while throttled" detection.
    pub scope: String,
    pub charges: Vec<Charge>,
    /// Resource units reported in `x-ms-resource-unit` (identity only).
    pub resource_units: Option<u64>,
    /// Mailbox for the concurrency limit.
    pub mailbox: Option<String>,
}

impl Route {
    /// Category, permissions and charges of this route for the caller `app`.
    pub(crate) fn info(&self, req: &SimRequest, app: &str, limits: &Limits) -> RouteInfo {
        let select = req.param("$select").is_some();
        let expand = req.param("$expand").is_some();
        let identity = |base: u64, write: bool, perms: &'static [&'static str]| {
            let mut ru = base;
            if select {
                ru = ru.saturating_sub(1);
            }
            if expand {
                ru += 1;
            }
            let ru = ru.max(1);
            let mut charges = vec![Charge::new(
                format!("identity-ru:{app}"),
                limits.identity_ru_per_10_s,
                10,
                ru,
            )];
            if write {
                charges.push(Charge::new(
                    format!("identity-writes:{app}"),
                    limits.identity_writes_per_150_s,
                    150,
                    1,
                ));
                charges.push(Charge::new(
                    "identity-writes:tenant",
                    limits.identity_tenant_writes_per_5_min,
                    300,
                    1,
                ));
            }
            RouteInfo {
                category: Category::Identity,
                permissions: perms,
                scope: "identity".into(),
                charges,
                resource_units: Some(ru),
                mailbox: None,
            }
        };
        let reports = |perms: &'static [&'static str]| RouteInfo {
            category: Category::Reports,
            permissions: perms,
            scope: "reports".into(),
            charges: vec![Charge::new(
                format!("reports:{app}"),
                limits.reports_per_10_s,
                10,
                1,
            )],
            resource_units: None,
            mailbox: None,
        };
        let sp = |ru: u64, perms: &'static [&'static str]| RouteInfo {
            category: Category::SharePoint,
            permissions: perms,
            scope: "sharepoint".into(),
            charges: vec![Charge::new(
                format!("sharepoint-ru:{app}"),
                limits.sharepoint_ru_per_minute,
                60,
                ru,
            )],
            resource_units: None,
            mailbox: None,
        };
        match self {
            Route::User(_) | Route::Manager(_) => identity(1, false, USER_READ),
            Route::Users => identity(2, false, USER_READ),
            Route::Group(_) | Route::Groups => identity(1, false, GROUP_READ),
            Route::GroupMembers(_, _) => identity(2, false, GROUP_READ),
            Route::GroupPatch(_) | Route::GroupAddRef(_) | Route::GroupRemoveRef(_, _) => {
                identity(1, true, GROUP_WRITE)
            }
            Route::Methods(_) if limits.methods_reads_count_as_reports => reports(METHOD_READ),
            Route::Methods(_) => identity(1, false, METHOD_READ),
            Route::PhoneMethodsList(_) => identity(1, false, METHOD_READ),
            Route::Requirements(_, false) => identity(1, false, POLICY_READ),
            Route::Requirements(_, true) => identity(1, true, POLICY_WRITE),
            Route::PhoneMethods(_) | Route::TapCreate(_) => identity(1, true, METHOD_WRITE),
            Route::RegistrationReport => reports(REPORTS),
            Route::AuthMethodsPolicy => identity(1, false, AUTH_METHODS_POLICY_READ),
            // Also needs Directory.Read.All (checked by the route).
            Route::DirectoryAudits => reports(REPORTS),
            Route::SendMail(mb) => {
                let mb = mb.to_ascii_lowercase();
                RouteInfo {
                    category: Category::Mail,
                    permissions: MAIL,
                    scope: format!("mail:{mb}"),
                    charges: vec![Charge::new(
                        format!("mail-requests:{app}:{mb}"),
                        limits.mail_requests_per_10_min,
                        600,
                        1,
                    )],
                    resource_units: None,
                    mailbox: Some(mb),
                }
            }
            Route::Batch => RouteInfo {
                category: Category::Batch,
                permissions: &[],
                scope: "batch".into(),
                charges: vec![],
                resource_units: None,
                mailbox: None,
            },
            Route::Site(_) | Route::List(_) | Route::Columns(_, false) | Route::Lists(_, false) => {
                sp(1, SITES_READ)
            }
            Route::Item(_, _, false) => sp(1, SITES_READ),
            Route::Items(_, false) | Route::Delta(_) => sp(2, SITES_READ),
            Route::Items(_, true) | Route::Item(_, _, true) | Route::ItemFields(_, _) => {
                sp(2, SITES_WRITE)
            }
            Route::Lists(_, true) | Route::Columns(_, true) | Route::Column(_, _) => {
                sp(2, SITES_MANAGE)
            }
        }
    }
}
