//! Graph routes: [`resolve`] maps a method and path to a [`Route`]; each route knows its
//! service category, its cost against the limits, the permissions it needs, and its handler.

pub(crate) mod batch;
pub(crate) mod control;
pub(crate) mod groups;
pub(crate) mod mail;
pub(crate) mod methods;
pub(crate) mod reports;
pub(crate) mod sharepoint;
pub(crate) mod users;

use crate::config::Limits;
use crate::errors::GraphResult;
use crate::http::SimRequest;
use crate::limits::{Category, Charge};
use crate::shared::{Ctx, Shared};

/// Addressing of a SharePoint list item route.
#[derive(Debug, Clone)]
pub(crate) struct ListRef {
    pub site: String,
    pub list: String,
}

/// Every Graph operation the simulator answers.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    User(String),
    Users,
    Manager(String),
    Group(String),
    Groups,
    GroupPatch(String),
    GroupAddRef(String),
    GroupRemoveRef(String, String),
    GroupMembers(String),
    Methods(String),
    PhoneMethods(String),
    TapCreate(String),
    Requirements(String, bool),
    RegistrationReport,
    SendMail(String),
    Batch,
    Site(String),
    Lists(String, bool),
    List(ListRef),
    Columns(ListRef, bool),
    Column(ListRef, String),
    Items(ListRef, bool),
    Item(ListRef, String, bool),
    ItemFields(ListRef, String),
    Delta(ListRef),
}

/// Resolves `segs` (after the version segment) for `method`.
pub(crate) fn resolve(method: &str, version: &str, segs: &[String]) -> Option<Route> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = method;
    let lower: Vec<String> = s.iter().map(|x| x.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    Some(match (m, l.as_slice()) {
        ("POST", ["$batch"]) => Route::Batch,
        ("GET", ["users"]) => Route::Users,
        ("GET", ["users", _]) => Route::User(s[1].to_string()),
        ("GET", ["users", _, "manager"]) => Route::Manager(s[1].to_string()),
        ("GET", ["users", _, "authentication", "methods"]) => Route::Methods(s[1].to_string()),
        ("POST", ["users", _, "authentication", "phonemethods"]) => {
            Route::PhoneMethods(s[1].to_string())
        }
        ("POST", ["users", _, "authentication", "temporaryaccesspassmethods"]) => {
            Route::TapCreate(s[1].to_string())
        }
        ("GET", ["users", _, "authentication", "requirements"]) if version == "beta" => {
            Route::Requirements(s[1].to_string(), false)
        }
        ("PATCH", ["users", _, "authentication", "requirements"]) if version == "beta" => {
            Route::Requirements(s[1].to_string(), true)
        }
        ("POST", ["users", _, "sendmail"]) => Route::SendMail(s[1].to_string()),
        ("GET", ["groups"]) => Route::Groups,
        ("GET", ["groups", _]) => Route::Group(s[1].to_string()),
        ("PATCH", ["groups", _]) => Route::GroupPatch(s[1].to_string()),
        ("POST", ["groups", _, "members", "$ref"]) => Route::GroupAddRef(s[1].to_string()),
        ("DELETE", ["groups", _, "members", _, "$ref"]) => {
            Route::GroupRemoveRef(s[1].to_string(), s[3].to_string())
        }
        ("GET", ["groups", _, "members" | "transitivemembers"]) => {
            Route::GroupMembers(s[1].to_string())
        }
        ("GET", ["reports", "authenticationmethods", "userregistrationdetails"]) => {
            Route::RegistrationReport
        }
        (_, ["sites", ..]) => return resolve_sites(m, &s),
        _ => return None,
    })
}

/// `sites/{id}` or `sites/{host}:/sites/{path}:` followed by list routes.
fn resolve_sites(m: &str, s: &[&str]) -> Option<Route> {
    let mut i = 1;
    let mut site = s.get(1)?.to_string();
    if site.ends_with(':') {
        site.pop();
        i += 1;
        let mut path = Vec::new();
        while let Some(p) = s.get(i) {
            i += 1;
            if let Some(stripped) = p.strip_suffix(':') {
                path.push(stripped.to_string());
                break;
            }
            path.push(p.to_string());
        }
        site = format!("{site}:/{}", path.join("/"));
    } else {
        i += 1;
    }
    let rest: Vec<String> = s[i.min(s.len())..]
        .iter()
        .map(|x| x.to_ascii_lowercase())
        .collect();
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    let raw = &s[i.min(s.len())..];
    let lr = |list: &str| ListRef {
        site: site.clone(),
        list: list.to_string(),
    };
    Some(match (m, r.as_slice()) {
        ("GET", []) => Route::Site(site),
        ("GET", ["lists"]) => Route::Lists(site, false),
        ("POST", ["lists"]) => Route::Lists(site, true),
        ("GET", ["lists", _]) => Route::List(lr(raw[1])),
        ("GET", ["lists", _, "columns"]) => Route::Columns(lr(raw[1]), false),
        ("POST", ["lists", _, "columns"]) => Route::Columns(lr(raw[1]), true),
        ("PATCH", ["lists", _, "columns", _]) => Route::Column(lr(raw[1]), raw[3].to_string()),
        ("GET", ["lists", _, "items"]) => Route::Items(lr(raw[1]), false),
        ("POST", ["lists", _, "items"]) => Route::Items(lr(raw[1]), true),
        ("GET", ["lists", _, "items", "delta"])
        | ("GET", ["lists", _, "items", "microsoft.graph.delta()"]) => Route::Delta(lr(raw[1])),
        ("GET", ["lists", _, "items", _]) => Route::Item(lr(raw[1]), raw[3].to_string(), false),
        ("DELETE", ["lists", _, "items", _]) => Route::Item(lr(raw[1]), raw[3].to_string(), true),
        ("PATCH", ["lists", _, "items", _, "fields"]) => {
            Route::ItemFields(lr(raw[1]), raw[3].to_string())
        }
        _ => return None,
    })
}

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
            Route::GroupMembers(_) => identity(2, false, GROUP_READ),
            Route::GroupPatch(_) | Route::GroupAddRef(_) | Route::GroupRemoveRef(_, _) => {
                identity(1, true, GROUP_WRITE)
            }
            Route::Methods(_) if limits.methods_reads_count_as_reports => reports(METHOD_READ),
            Route::Methods(_) => identity(1, false, METHOD_READ),
            Route::Requirements(_, false) => identity(1, false, METHOD_READ),
            Route::PhoneMethods(_) | Route::TapCreate(_) | Route::Requirements(_, true) => {
                identity(1, true, METHOD_WRITE)
            }
            Route::RegistrationReport => reports(REPORTS),
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

    /// Runs the handler.
    pub(crate) async fn handle(
        &self,
        shared: &Shared,
        ctx: &Ctx,
        req: &SimRequest,
        version: &str,
    ) -> GraphResult {
        match self {
            Route::User(u) => users::get_user(shared, ctx, req, version, u),
            Route::Users => users::list_users(shared, req, version),
            Route::Manager(u) => users::get_manager(shared, req, version, u),
            Route::Group(g) => groups::get_group(shared, version, g),
            Route::Groups => groups::list_groups(shared, req, version),
            Route::GroupPatch(g) => groups::patch_group(shared, req, g),
            Route::GroupAddRef(g) => groups::add_ref(shared, req, g),
            Route::GroupRemoveRef(g, m) => groups::remove_ref(shared, g, m),
            Route::GroupMembers(g) => groups::members(shared, req, version, g),
            Route::Methods(u) => methods::list(shared, version, u),
            Route::PhoneMethods(u) => methods::add_phone(shared, ctx, req, version, u),
            Route::TapCreate(u) => methods::add_tap(shared, ctx, req, version, u),
            Route::Requirements(u, write) => methods::requirements(shared, req, u, *write),
            Route::RegistrationReport => reports::registration_details(shared, ctx, req, version),
            Route::SendMail(s) => mail::send_mail(shared, ctx, req, s),
            Route::Batch => batch::batch(shared, ctx, req, version).await,
            Route::Site(s) => sharepoint::get_site(shared, version, s),
            Route::Lists(s, create) => sharepoint::lists(shared, ctx, req, version, s, *create),
            Route::List(l) => sharepoint::get_list(shared, version, l, req),
            Route::Columns(l, create) => sharepoint::columns(shared, req, version, l, *create),
            Route::Column(l, c) => sharepoint::patch_column(shared, req, version, l, c),
            Route::Items(l, create) => sharepoint::items(shared, ctx, req, version, l, *create),
            Route::Item(l, id, delete) => {
                sharepoint::item(shared, ctx, req, version, l, id, *delete)
            }
            Route::ItemFields(l, id) => sharepoint::patch_fields(shared, ctx, req, version, l, id),
            Route::Delta(l) => sharepoint::delta(shared, ctx, req, version, l),
        }
    }
}
