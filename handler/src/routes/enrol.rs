//! `GET /api/enrol?token=…` and `POST /api/enrol`: the personal link in every email.
//!
//! Scanner protection: mail gateways and Safe Links fetch every link, so a bare `GET` changes
//! nothing. It shows a branded page whose button posts the token back; only that `POST` counts as
//! the click. The click is recorded once with compare-and-set (re-reading on conflict), so of any
//! number of concurrent posts exactly one wins and adds the person to the group; the others, and
//! every later visit, see "already started" and change nothing.

use bytes::Bytes;
use mfa_core::domain::{InviteStatus, OnboardingRecord, StatusEvent, TrackingToken};
use mfa_core::store::StoreError;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::group::GroupError;
use crate::models::TokenParams;
use crate::pages::{Page, Tone};
use crate::state::SharedState;

/// Compare-and-set attempts before giving up.
const CAS_ATTEMPTS: usize = 8;

/// `GET`: shows the confirmation page (or the outcome, when there is nothing left to confirm).
pub async fn show(query: String, state: SharedState) -> Result<Response, warp::Rejection> {
    let page = match find(&state, token(query.as_bytes())).await {
        Ok(Found::Record(rec)) => match rec.status {
            InviteStatus::Active => already_registered(),
            _ if !rec.status.allows(&StatusEvent::LinkClicked) => already_started(&state),
            _ => confirm(&rec.token),
        },
        Ok(Found::Invalid) => invalid(),
        Ok(Found::Unknown) => not_recognised(),
        Err(e) => failure(&e),
    };
    Ok(state.pages.render(&page))
}

/// `POST`: records the click once, adds the person to the group, and starts the redirect.
pub async fn click(
    query: String,
    body: Bytes,
    fetch_site: Option<String>,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    if fetch_site.as_deref() == Some("cross-site") {
        tracing::warn!("enrol post from another site refused");
        return Ok(state.pages.render(&invalid()));
    }
    let token = token(&body).or_else(|| token(query.as_bytes()));
    let page = match record_click(&state, token).await {
        Ok(page) => page,
        Err(e) => failure(&e),
    };
    Ok(state.pages.render(&page))
}

/// The `token` of a query string or form body; none when it is missing or the text is not a
/// query (which shows as an invalid link).
fn token(encoded: &[u8]) -> Option<String> {
    super::decode::<TokenParams>(encoded).ok()?.token
}

enum Found {
    Invalid,
    Unknown,
    Record(Box<OnboardingRecord>),
}

async fn find(state: &SharedState, raw: Option<String>) -> Result<Found, StoreError> {
    let Some(token) = raw.and_then(|t| TrackingToken::parse(t.trim()).ok()) else {
        return Ok(Found::Invalid);
    };
    Ok(match state.store.get_by_token(&token).await? {
        Some(rec) => Found::Record(Box::new(rec)),
        None => Found::Unknown,
    })
}

async fn record_click(state: &SharedState, raw: Option<String>) -> Result<Page, StoreError> {
    let mut rec = match find(state, raw).await? {
        Found::Invalid => return Ok(invalid()),
        Found::Unknown => return Ok(not_recognised()),
        Found::Record(rec) => *rec,
    };
    let token = rec.token;
    for _ in 0..CAS_ATTEMPTS {
        if rec.status == InviteStatus::Active {
            return Ok(already_registered());
        }
        let now = state.clock.now();
        if rec.apply(StatusEvent::LinkClicked, now).is_err() {
            return Ok(already_started(state));
        }
        // Due now: a later worker pass checks registration (and adds to the group if we cannot).
        rec.next_due_at = Some(now);
        rec.updated_at = now;
        match state.store.update(&rec).await {
            Ok(saved) => {
                tracing::info!(correlation_id = %saved.correlation_id, "enrol link clicked");
                add_to_group(state, saved).await;
                return Ok(started(state));
            }
            Err(StoreError::Conflict { .. }) => match state.store.get_by_token(&token).await? {
                Some(fresh) => rec = fresh,
                None => return Ok(not_recognised()),
            },
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Backend(anyhow::anyhow!(
        "the click kept conflicting with other writers"
    )))
}

/// Adds the clicker to the group and records it. Failures leave the record `Clicked` and due,
/// for a later worker pass; the person still goes on to register.
async fn add_to_group(state: &SharedState, mut rec: OnboardingRecord) {
    if let Err(e) = &state.settings.core.group_id {
        tracing::warn!(correlation_id = %rec.correlation_id, reason = %e,
            "CLICK NOT FOLLOWED BY A GROUP ADD: the group feature is off; the record stays Clicked");
        return;
    }
    let object_id = match state
        .group
        .ensure_member(&rec.upn, rec.object_id.as_ref())
        .await
    {
        Ok(id) => id,
        Err(GroupError::NotConfigured) => {
            tracing::warn!(correlation_id = %rec.correlation_id,
                "CLICK NOT FOLLOWED BY A GROUP ADD: no group client; the record stays Clicked");
            return;
        }
        Err(e) => {
            tracing::error!(correlation_id = %rec.correlation_id, error = ?e,
                "adding a clicker to the group failed; the record stays Clicked and due");
            return;
        }
    };
    for _ in 0..CAS_ATTEMPTS {
        if rec.in_group && rec.object_id.as_ref() == Some(&object_id) {
            return;
        }
        rec.object_id = Some(object_id.clone());
        let now = state.clock.now();
        if !rec.in_group {
            // Refused only when the person became Active meanwhile; the object id is still kept.
            let _ = rec.apply(StatusEvent::GroupAdded, now);
        }
        rec.updated_at = now;
        match state.store.update(&rec).await {
            Ok(_) => return,
            Err(StoreError::Conflict { .. }) => match state.store.get_by_upn(&rec.upn).await {
                Ok(Some(fresh)) => rec = fresh,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = ?e, "re-reading after a group add failed");
                    return;
                }
            },
            Err(e) => {
                tracing::error!(error = ?e, "recording a group add failed");
                return;
            }
        }
    }
    tracing::error!(correlation_id = %rec.correlation_id, "recording a group add kept conflicting");
}

fn confirm(token: &TrackingToken) -> Page {
    let mut page = Page::new(
        StatusCode::OK,
        "confirm",
        Tone::Info,
        "Set Up Multi-Factor Authentication",
        "Press the button below to start setting up multi-factor authentication for your account.",
    );
    page.confirm_token = Some(token.to_string());
    page
}

fn started(state: &SharedState) -> Page {
    let mut page = Page::new(
        StatusCode::OK,
        "started",
        Tone::Info,
        "MFA Enrolment Started",
        "Thank you. Your account is ready for multi-factor authentication. Next, register your \
         sign-in methods (for example the Microsoft Authenticator app) on the Microsoft setup page.",
    );
    page.steps = true;
    page.redirect = Some((state.settings.core.campaign.setup_url.clone(), 6));
    page
}

fn already_started(state: &SharedState) -> Page {
    let mut page = Page::new(
        StatusCode::OK,
        "already-started",
        Tone::Info,
        "Continue Your Setup",
        "You have already confirmed this link, but your multi-factor authentication is not set up \
         yet. Continue on the Microsoft setup page to register your sign-in methods.",
    );
    page.redirect = Some((state.settings.core.campaign.setup_url.clone(), 5));
    page
}

fn already_registered() -> Page {
    Page::new(
        StatusCode::OK,
        "already-registered",
        Tone::Success,
        "Already Registered",
        "Your multi-factor authentication is already set up. There is nothing more to do.",
    )
}

fn invalid() -> Page {
    let mut page = Page::new(
        StatusCode::BAD_REQUEST,
        "invalid",
        Tone::Danger,
        "Invalid Link",
        "This link is incomplete. Open the link from your most recent email again, or enter your \
         work email address below and we will email you a new personal link.",
    );
    page.resend_form = true;
    page
}

fn not_recognised() -> Page {
    let mut page = Page::new(
        StatusCode::NOT_FOUND,
        "not-recognised",
        Tone::Warning,
        "Link Not Recognised",
        "This link is not valid any more; a newer email may have replaced it. Use the newest \
         email, or enter your work email address below and we will email you a new personal link.",
    );
    page.resend_form = true;
    page
}

fn failure(e: &StoreError) -> Page {
    tracing::error!(error = ?e, "enrol failed");
    Page::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error",
        Tone::Danger,
        "Something Went Wrong",
        "We could not process your link just now. Please try again in a few minutes.",
    )
}
