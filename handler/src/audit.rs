//! The admin audit log's one writer: every admin action calls [`record`] once it is done.

use mfa_core::store::AuditEntry;

use crate::auth::Principal;
use crate::state::SharedState;

/// Appends `action` on `target` by `admin` to the audit log. A failed write is logged as an
/// error (the action itself already happened and is not undone).
pub async fn record(
    state: &SharedState,
    admin: &Principal,
    action: &str,
    target: Option<String>,
    detail: Option<String>,
) {
    let entry = AuditEntry {
        id: uuid::Uuid::new_v4(),
        at: state.clock.now(),
        actor: admin.name.clone(),
        origin: admin.origin.clone(),
        action: action.to_string(),
        target,
        detail,
    };
    tracing::info!(admin = %entry.actor, origin = ?entry.origin, action, target = ?entry.target,
        detail = ?entry.detail, "admin action");
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(error = ?e, action, "the admin action was done but could not be written to the audit log");
    }
}
