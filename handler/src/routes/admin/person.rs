//! One person: `GET /api/admin/users/{upn}` (the record and the timeline of everything that
//! happened to them) and `POST /api/admin/users/{upn}/{action}` with `action` one of
//! `send-link` (a new link now), `exclude`, `include`, `reset` and `remove`.

use chrono::{DateTime, Utc};
use mfa_core::domain::{history_line, Hold, OnboardingRecord, StatusEvent, Upn};
use mfa_core::store::StoreError;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use super::control::start_invitations;
use crate::audit;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::models::RecordView;
use crate::respond;
use crate::state::SharedState;

/// Audit entries shown on a person's page.
const AUDIT_SHOWN: u64 = 100;

/// One line of a person's timeline.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    at: DateTime<Utc>,
    what: String,
    /// The admin, for admin actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<String>,
}

fn upn_of(raw: &str) -> Result<Upn, ApiError> {
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::BadRequest("the address is not valid UTF-8".into()))?;
    Upn::parse(&decoded).map_err(|e| ApiError::BadRequest(format!("not a valid address: {e}")))
}

async fn load(state: &SharedState, upn: &Upn) -> Result<OnboardingRecord, ApiError> {
    state
        .store
        .get_by_upn(upn)
        .await
        .map_err(ApiError::from)?
        .ok_or(ApiError::NotFound)
}

/// The person and their timeline, oldest first.
pub async fn show(
    raw: String,
    _admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let upn = upn_of(&raw)?;
    let rec = load(&state, &upn).await?;
    let audit = state
        .store
        .audit(Some(upn.as_str()), 0, AUDIT_SHOWN)
        .await
        .map_err(ApiError::from)?;
    Ok(respond::json(
        StatusCode::OK,
        &json!({
            "person": RecordView::from(&rec),
            "timeline": timeline(&rec, audit.items),
            "generatedAt": state.clock.now(),
        }),
    ))
}

/// What the record and the audit log say happened, oldest first. The record's history has every
/// lifecycle event (each email with its mailbox); the first open is the record's (opens are
/// counted in bulk, not one by one). An admin's action on the person is in both: it shows once,
/// as the history's line with the admin's name.
fn timeline(rec: &OnboardingRecord, audit: Vec<mfa_core::store::AuditEntry>) -> Vec<Event> {
    let mut events: Vec<Event> = rec
        .history_entries()
        .into_iter()
        .map(|(at, what)| Event { at, what, by: None })
        .collect();
    if events.is_empty() {
        // Written before the history existed: the upload is all we know for sure.
        events.push(Event {
            at: rec.created_at,
            what: format!("uploaded in batch {}", rec.batch_id),
            by: None,
        });
    }
    if let Some(at) = rec.email_opened_date {
        events.push(Event {
            at,
            what: "first opened an email (an estimate: images may be blocked)".into(),
            by: None,
        });
    }
    for e in audit {
        let told = e
            .action
            .strip_prefix("person.")
            .and_then(person_event)
            .map(|event| history_line(&event, Some(&by(&e.actor))));
        if let Some(line) = told {
            let same = events.iter_mut().find(|ev| {
                ev.by.is_none() && ev.what == line && (ev.at - e.at).num_seconds().abs() <= 60
            });
            if let Some(ev) = same {
                ev.by = Some(e.actor);
                continue;
            }
        }
        let what = match &e.detail {
            Some(d) => format!("admin: {} ({d})", e.action),
            None => format!("admin: {}", e.action),
        };
        events.push(Event {
            at: e.at,
            what,
            by: Some(e.actor),
        });
    }
    events.sort_by_key(|e| e.at);
    events
}

/// The history's note of who acted.
fn by(admin: &str) -> String {
    format!("by {admin}")
}

/// The record event of a person action (`remove` has none: the record goes).
fn person_event(action: &str) -> Option<StatusEvent> {
    match action {
        "send-link" => Some(StatusEvent::Requeued),
        "exclude" => Some(StatusEvent::Excluded),
        "include" => Some(StatusEvent::Included),
        "reset" => Some(StatusEvent::Reset),
        _ => None,
    }
}

/// An action on one person. Each is refused with 409 when it makes no sense for them now.
pub async fn act(
    raw: String,
    action: String,
    admin: Principal,
    state: SharedState,
) -> Result<Response, warp::Rejection> {
    let upn = upn_of(&raw)?;
    let action = action.to_ascii_lowercase();
    if !["send-link", "exclude", "include", "reset", "remove"].contains(&action.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "unknown action {action:?} (expected send-link, exclude, include, reset or remove)"
        ))
        .into());
    }
    let rec = load(&state, &upn).await?;
    let now = state.clock.now();
    if action == "remove" {
        state.store.delete(&upn).await.map_err(ApiError::from)?;
        audit::record(&state, &admin, "person.remove", Some(upn.to_string()), None).await;
        return Ok(respond::json(
            StatusCode::OK,
            &json!({ "ok": true, "action": action, "removed": true }),
        ));
    }
    match action.as_str() {
        "send-link" if rec.is_held() => {
            return Err(ApiError::Conflict(format!(
                "{upn} is {}: include them first",
                if rec.hold == Some(Hold::Excluded) {
                    "excluded"
                } else {
                    "in a held upload"
                }
            ))
            .into());
        }
        "send-link" if rec.status.is_complete() => {
            return Err(ApiError::Conflict(format!(
                "{upn} has registered MFA: reset them first to start over"
            ))
            .into());
        }
        "exclude" if rec.hold == Some(Hold::Excluded) => {
            return Err(ApiError::Conflict(format!("{upn} is already excluded")).into())
        }
        "include" if rec.hold.is_none() => {
            return Err(ApiError::Conflict(format!("{upn} is not excluded or held")).into())
        }
        _ => {}
    }
    let Some(event) = person_event(&action) else {
        return Err(ApiError::BadRequest(format!("unknown action {action:?}")).into());
    };
    let mut next = rec.clone();
    next.apply_with(event, now, Some(&by(&admin.name)))
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    if action == "send-link" {
        // A new link: the old one stops working, as with a self-service resend.
        next.token = mfa_core::domain::TrackingToken::generate();
        next.next_due_at = Some(now);
    }
    next.updated_at = now;
    let saved = match state.store.update(&next).await {
        Ok(saved) => saved,
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::Conflict(format!(
                "{upn} changed while you looked; reload and try again"
            ))
            .into())
        }
        Err(e) => return Err(ApiError::from(e).into()),
    };
    audit::record(
        &state,
        &admin,
        &format!("person.{action}"),
        Some(upn.to_string()),
        None,
    )
    .await;
    let sending = action == "send-link" && start_invitations(&state);
    Ok(respond::json(
        StatusCode::OK,
        &json!({
            "ok": true,
            "action": action,
            "person": RecordView::from(&saved),
            "invitationsStarted": sending,
        }),
    ))
}
