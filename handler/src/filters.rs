//! The route table: one function per route returning `impl Filter + Clone`, the state
//! injector, and body limits. Handlers live in [`crate::routes`].
//!
//! Bodies are read with [`body::capped`] (never `content_length_limit`, which demands a
//! `Content-Length` the host does not always send). Admin routes are grouped under one prefix so
//! their errors, too, carry the CORS headers the portal needs to read them.

use std::convert::Infallible;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::auth::Principal;
use crate::body::{self, FORM_LIMIT, INVOCATION_LIMIT};
use crate::cors;
use crate::error::recover;
use crate::respond::finalize;
use crate::routes::{admin, enrol, health, invoke, portal, resend, track_open, upload};
use crate::state::SharedState;

/// Injects the shared state.
pub fn with_state(
    state: SharedState,
) -> impl Filter<Extract = (SharedState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// The raw query string, empty when there is none.
pub fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// The request's `Origin`.
fn origin() -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    warp::header::optional::<String>("origin")
        .or(warp::any().map(|| None))
        .unify()
}

/// Admin authentication: yields the caller or rejects with 401.
pub fn admin_auth(
    state: SharedState,
) -> impl Filter<Extract = (Principal,), Error = Rejection> + Clone {
    warp::addr::remote()
        .and(warp::header::headers_cloned())
        .and(with_state(state))
        .and_then(|remote, headers, state: SharedState| async move {
            let mut principal = state
                .admin
                .check(remote, &headers)
                .await
                .map_err(warp::reject::custom)?;
            principal.origin = crate::routes::resend::client_ip(remote, &headers);
            Ok::<_, Rejection>(principal)
        })
}

/// `GET`, or `HEAD` answered the same way (hyper sends no body for `HEAD`): link checkers ask
/// with `HEAD` and report anything but the `GET` answer as a broken link.
fn get_or_head() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::get().or(warp::head()).unify()
}

/// `GET /`.
pub fn readiness() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path::end().and(warp::get()).and_then(health::ready)
}

/// `GET /portal` and `GET /portal/*`: the admin portal's static files.
pub fn portal_files(
    state: SharedState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    portal::files(state.settings.portal_dir.clone())
}

/// `GET` (and `HEAD`) `/api/track-open`.
pub fn track_open(
    state: SharedState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    // A `HEAD` is answered with the pixel's headers and counts no open (a link checker, not a
    // mail client showing the email).
    let counted = warp::get()
        .map(|| true)
        .or(warp::head().map(|| false))
        .unify();
    warp::path!("api" / "track-open")
        .and(counted)
        .and(raw_query())
        .and(with_state(state))
        .and_then(track_open::track_open)
}

/// `GET` (and `HEAD`) `/api/enrol`.
pub fn enrol_get(
    state: SharedState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "enrol")
        .and(get_or_head())
        .and(raw_query())
        .and(with_state(state))
        .and_then(enrol::show)
}

/// `POST /api/enrol`.
pub fn enrol_post(
    state: SharedState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "enrol")
        .and(warp::post())
        .and(raw_query())
        .and(body::capped(FORM_LIMIT, body::FORM_DEADLINE))
        .and(warp::header::optional::<String>("sec-fetch-site"))
        .and(with_state(state))
        .and_then(enrol::click)
}

/// `GET` (and `HEAD`) `/api/resend`.
pub fn resend_get(
    state: SharedState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "resend")
        .and(get_or_head())
        .and(with_state(state))
        .and_then(resend::form)
}

/// `POST /api/resend`.
pub fn resend_post(
    state: SharedState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("api" / "resend")
        .and(warp::post())
        .and(body::capped(FORM_LIMIT, body::FORM_DEADLINE))
        .and(warp::addr::remote())
        .and(warp::header::headers_cloned())
        .and(with_state(state))
        .and_then(resend::submit)
}

/// `POST /api/upload-users` (and its CORS preflight), with admin auth and CORS.
pub fn upload_users(state: SharedState) -> BoxedFilter<(Response,)> {
    let cap = state.settings.core.upload_max_bytes;
    let upload = warp::path::end()
        .and(warp::post())
        .and(raw_query())
        .and(warp::header::optional::<String>("content-type"))
        .and(admin_auth(state.clone()))
        .and(body::capped(cap, body::LARGE_DEADLINE))
        .and(with_state(state.clone()))
        .and_then(upload::upload);
    with_cors(
        warp::path!("api" / "upload-users" / ..).boxed(),
        upload.boxed(),
        state,
    )
}

/// `/api/admin/...`: report, users and one person, export, run, preview, campaign controls,
/// batch release, the audit log, and CORS preflight.
pub fn admin_api(state: SharedState) -> BoxedFilter<(Response,)> {
    let auth = || admin_auth(state.clone());
    let st = || with_state(state.clone());
    let report = warp::path!("report")
        .and(warp::get())
        .and(raw_query())
        .and(auth())
        .and(st())
        .and_then(admin::report::report);
    let users = warp::path!("users")
        .and(warp::get())
        .and(raw_query())
        .and(auth())
        .and(st())
        .and_then(admin::users::users);
    let export = warp::path!("export")
        .and(warp::get())
        .and(raw_query())
        .and(auth())
        .and(st())
        .and_then(admin::export::export);
    let run = warp::path!("run")
        .and(warp::post())
        .and(auth())
        .and(body::capped(INVOCATION_LIMIT, body::LARGE_DEADLINE))
        .and(st())
        .and_then(admin::run::run);
    let person = warp::path!("users" / String)
        .and(warp::get())
        .and(auth())
        .and(st())
        .and_then(admin::person::show);
    let person_action = warp::path!("users" / String / String)
        .and(warp::post())
        .and(auth())
        .and(st())
        .and_then(admin::person::act);
    let campaign = warp::path!("campaign")
        .and(warp::get())
        .and(auth())
        .and(st())
        .and_then(admin::control::campaign);
    let pause = warp::path!("campaign" / "pause")
        .and(warp::post())
        .and(auth())
        .and(st())
        .and_then(admin::control::pause);
    let resume = warp::path!("campaign" / "resume")
        .and(warp::post())
        .and(auth())
        .and(st())
        .and_then(admin::control::resume);
    let release = warp::path!("batches" / String / "release")
        .and(warp::post())
        .and(auth())
        .and(body::capped(FORM_LIMIT, body::FORM_DEADLINE))
        .and(st())
        .and_then(admin::control::release);
    let audit = warp::path!("audit")
        .and(warp::get())
        .and(raw_query())
        .and(auth())
        .and(st())
        .and_then(admin::audit::audit);
    let preview = warp::path!("preview")
        .and(warp::get())
        .and(auth())
        .and(st())
        .and_then(admin::preview::preview);
    let sample = warp::path!("preview" / "email")
        .and(warp::get())
        .and(raw_query())
        .and(auth())
        .and(st())
        .and_then(admin::preview::sample);
    let find = warp::path!("find-people")
        .and(warp::post())
        .and(auth())
        .and(body::capped(FORM_LIMIT, body::FORM_DEADLINE))
        .and(st())
        .and_then(admin::find::find_people);
    let inner = report
        .or(find)
        .unify()
        .or(users)
        .unify()
        .or(person)
        .unify()
        .or(person_action)
        .unify()
        .or(export)
        .unify()
        .or(run)
        .unify()
        .or(campaign)
        .unify()
        .or(pause)
        .unify()
        .or(resume)
        .unify()
        .or(release)
        .unify()
        .or(audit)
        .unify()
        .or(preview)
        .unify()
        .or(sample)
        .unify();
    let inner = inner.or(imports_api(state.clone())).unify();
    with_cors(
        warp::path!("api" / "admin" / ..).boxed(),
        inner.boxed(),
        state,
    )
}

/// `GET /api/admin/imports` and `GET /api/admin/imports/{id}` (inside [`admin_api`]).
fn imports_api(state: SharedState) -> BoxedFilter<(Response,)> {
    let list = warp::path!("imports")
        .and(warp::get())
        .and(admin_auth(state.clone()))
        .and(with_state(state.clone()))
        .and_then(admin::imports::list);
    let one = warp::path!("imports" / String)
        .and(warp::get())
        .and(admin_auth(state.clone()))
        .and(with_state(state))
        .and_then(admin::imports::one);
    list.or(one).unify().boxed()
}

/// Wraps an admin route group: preflight, errors as responses, CORS headers on every answer.
fn with_cors(
    prefix: BoxedFilter<()>,
    inner: BoxedFilter<(Response,)>,
    state: SharedState,
) -> BoxedFilter<(Response,)> {
    let allowed = state.settings.core.portal_origin.clone();
    let allowed_pre = allowed.clone();
    let preflight = warp::options()
        .and(origin())
        .map(move |o: Option<String>| cors::preflight(allowed_pre.as_deref(), o.as_deref()));
    prefix
        .and(origin())
        .and(preflight.or(inner).unify().recover(recover).unify())
        .map(move |o: Option<String>, resp: Response| {
            cors::apply(allowed.as_deref(), o.as_deref(), resp)
        })
        .boxed()
}

/// Every `/api/...` route, with errors turned into responses and security headers added.
pub fn api(state: SharedState) -> BoxedFilter<(Response,)> {
    track_open(state.clone())
        .or(enrol_get(state.clone()))
        .unify()
        .or(enrol_post(state.clone()))
        .unify()
        .or(resend_get(state.clone()))
        .unify()
        .or(resend_post(state.clone()))
        .unify()
        .or(upload_users(state.clone()))
        .unify()
        .or(admin_api(state))
        .unify()
        .recover(recover)
        .unify()
        .map(finalize)
        .boxed()
}

/// `POST /{function-name}`: timer and non-forwarded HTTP invocations from the host.
pub fn invocation(
    state: SharedState,
    api: BoxedFilter<(Response,)>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let cap = state
        .settings
        .core
        .upload_max_bytes
        .saturating_add(INVOCATION_LIMIT);
    warp::path!(String)
        .and(warp::post())
        .and(body::capped(cap, body::LARGE_DEADLINE))
        .and(with_state(state))
        .and(warp::any().map(move || api.clone()))
        .and_then(invoke::invoke)
}

/// The whole application.
pub fn routes(state: SharedState) -> BoxedFilter<(Response,)> {
    let api = api(state.clone());
    readiness()
        .or(portal_files(state.clone()))
        .unify()
        .or(invocation(state, api.clone()))
        .unify()
        .or(api)
        .unify()
        .recover(recover)
        .unify()
        .map(finalize)
        .with(warp::trace(|info| {
            let invocation = info
                .request_headers()
                .get("x-azure-functions-invocationid")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            tracing::info_span!("request", method = %info.method(), path = %info.path(), %invocation)
        }))
        .map(warp::Reply::into_response)
        .boxed()
}
