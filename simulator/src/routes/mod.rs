//! Graph routes: [`resolve`] maps a method and path to a [`Route`]; each route knows its
//! service category, its cost against the limits, the permissions it needs, and its handler.

pub(crate) mod audit;
pub(crate) mod batch;
pub(crate) mod control;
mod cost;
pub(crate) mod groups;
pub(crate) mod mail;
pub(crate) mod methods;
pub(crate) mod outbox;
pub(crate) mod policies;
pub(crate) mod reports;
pub(crate) mod sharepoint;
pub(crate) mod users;

use crate::errors::GraphResult;
use crate::http::SimRequest;
use crate::shared::{Ctx, Shared};

pub(crate) use cost::RouteInfo;

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
    GroupMembers(String, bool),
    Methods(String),
    PhoneMethods(String),
    PhoneMethodsList(String),
    TapCreate(String),
    Requirements(String, bool),
    RegistrationReport,
    DirectoryAudits,
    AuthMethodsPolicy,
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
        ("GET", ["users", _, "authentication", "phonemethods"]) => {
            Route::PhoneMethodsList(s[1].to_string())
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
        ("GET", ["groups", _, "members"])
        | ("GET", ["groups", _, "members", "microsoft.graph.user"]) => {
            Route::GroupMembers(s[1].to_string(), false)
        }
        ("GET", ["groups", _, "transitivemembers"])
        | ("GET", ["groups", _, "transitivemembers", "microsoft.graph.user"]) => {
            Route::GroupMembers(s[1].to_string(), true)
        }
        ("GET", ["reports", "authenticationmethods", "userregistrationdetails"]) => {
            Route::RegistrationReport
        }
        ("GET", ["auditlogs", "directoryaudits"]) => Route::DirectoryAudits,
        ("GET", ["policies", "authenticationmethodspolicy"]) => Route::AuthMethodsPolicy,
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

impl Route {
    /// Runs the handler.
    pub(crate) async fn handle(
        &self,
        shared: &Shared,
        ctx: &Ctx,
        req: &SimRequest,
        version: &str,
    ) -> GraphResult {
        match self {
            Route::User(u) => users::get_user(shared, req, version, u, false),
            Route::Users => users::list_users(shared, req, version),
            Route::Manager(u) => users::get_user(shared, req, version, u, true),
            Route::Group(g) => groups::get_group(shared, version, g),
            Route::Groups => groups::list_groups(shared, req, version),
            Route::GroupPatch(g) => groups::patch_group(shared, req, g),
            Route::GroupAddRef(g) => groups::add_ref(shared, req, g),
            Route::GroupRemoveRef(g, m) => groups::remove_ref(shared, g, m),
            Route::GroupMembers(g, transitive) => {
                groups::members(shared, req, version, g, *transitive)
            }
            Route::Methods(u) => methods::list(shared, version, u),
            Route::PhoneMethods(u) => methods::add_phone(shared, ctx, req, version, u),
            Route::PhoneMethodsList(u) => methods::list_phone(shared, version, u),
            Route::TapCreate(u) => methods::add_tap(shared, ctx, req, version, u),
            Route::Requirements(u, write) => methods::requirements(shared, req, u, *write),
            Route::RegistrationReport => reports::registration_details(shared, ctx, req, version),
            Route::DirectoryAudits => audit::directory_audits(shared, ctx, req, version),
            Route::AuthMethodsPolicy => policies::authentication_methods_policy(shared, version),
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
