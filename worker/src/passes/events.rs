//! Registration detection from directory audit events, with a slower full reconciliation.
//!
//! Each check pass reads the "Authentication Methods" registration events logged since the
//! stored watermark minus `MFA_EVENTS_OVERLAP_MINUTES` (Entra writes events minutes after the
//! activity, so windows overlap; reading an event twice is harmless because Active is final).
//! Each tracked, unfinished person an event names gets one targeted read of their methods
//! (`$batch` of 20) and becomes Active when one is MFA-capable. The watermark then moves to the
//! start of this pass, or to the earliest event whose confirmation failed or did not fit in the
//! time budget, so nothing is skipped.
//!
//! Every `MFA_RECONCILE_HOURS` (and on the first pass, when there is no watermark yet) a full
//! pass through the registration report (licensed tenants) or a lap of per-user reads (spread
//! over runs) catches whatever the events missed. What it finds is counted (meta
//! [`RECONCILE_KEY`]), logged and shown on the dashboard and in the admin report, so operators can
//! see whether events are reliable in their tenant.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use mfa_core::domain::{InviteStatus, Upn};
use mfa_core::graph::audit::{registration_filter, MAX_PAGE};
use mfa_core::graph::GraphError;
use mfa_core::passes::PassOutcome;
use serde::{Deserialize, Serialize};

use super::check::{by_report, by_user, is_not_licensed, mark_active, report_complete};
use super::{has_mfa, who};
use crate::context::RunCtx;

/// Where the next audit-event query starts (before the overlap), RFC 3339.
pub const WATERMARK_KEY: &str = "check.events.watermark";
/// Reconciliation bookkeeping ([`Reconciliation`] as JSON).
pub const RECONCILE_KEY: &str = "check.reconcile";

/// What reconciliation has found that the events missed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    /// When the last full reconciliation finished.
    pub last_at: Option<DateTime<Utc>>,
    /// What it read: `report` or `per-user`.
    pub source: Option<String>,
    /// Registrations the last full reconciliation found that events had missed.
    pub last_found: u64,
    /// Found so far by a reconciliation still in progress (per-user laps span runs).
    pub running_found: u64,
    /// Found since events were first used.
    pub total_found: u64,
    /// A per-user lap is under way (it continues in the next run).
    #[serde(default)]
    pub in_progress: bool,
    /// The lap under way is the first one (registrations from before events were read).
    #[serde(default)]
    pub baseline: bool,
}

/// Whether `auto` should fall back from events to the report or per-user reads after `e`: any
/// Graph error does (no permission, not licensed, an endpoint this service does not offer, a
/// filter it refuses, an outage that outlasted the retries): the report covers everyone, and
/// the events watermark stays where it was, so the next events pass reads the window again.
/// Store errors are not Graph's and fail the pass.
pub fn unavailable(e: &anyhow::Error) -> bool {
    e.downcast_ref::<GraphError>().is_some()
}

/// Reads the reconciliation state from the store (default when absent or unreadable).
pub async fn reconciliation(ctx: &RunCtx) -> anyhow::Result<Reconciliation> {
    Ok(ctx
        .store
        .get_meta(RECONCILE_KEY)
        .await?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

fn parse_instant(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.to_utc())
}

/// The events check, then reconciliation when it is due.
pub async fn run(ctx: &mut RunCtx, out: &mut PassOutcome) -> anyhow::Result<()> {
    let started = ctx.now();
    let stored = ctx.store.get_meta(WATERMARK_KEY).await?;
    let watermark = parse_instant(stored.clone());
    let since = watermark.unwrap_or(started) - ctx.extra.events_overlap;

    // Registration events since `since`, one entry per person (earliest event kept).
    let mut people: HashMap<Upn, (DateTime<Utc>, Option<String>)> = HashMap::new();
    let mut events = 0u64;
    let mut pages = Box::pin(
        ctx.graph
            .directory_audits(&registration_filter(since), MAX_PAGE),
    );
    while let Some(page) = pages.next().await {
        for e in page.map_err(anyhow::Error::from)?.value {
            if !e.succeeded() {
                continue;
            }
            events += 1;
            for t in e.target_users() {
                let Some(upn) = t
                    .user_principal_name
                    .as_deref()
                    .and_then(|u| Upn::parse(u).ok())
                else {
                    continue;
                };
                let entry = people
                    .entry(upn)
                    .or_insert((e.activity_date_time, t.id.clone()));
                entry.0 = entry.0.min(e.activity_date_time);
            }
        }
    }

    // Tracked and unfinished: confirm with one read each, then Active.
    let upns: Vec<Upn> = people.keys().cloned().collect();
    let mut pending = Vec::new();
    for chunk in upns.chunks(500) {
        let recs = ctx.store.get_many(chunk).await?;
        for rec in ctx.keep_in_scope(recs) {
            if rec.status == InviteStatus::Active {
                continue;
            }
            let (at, event_id) = people.get(&rec.upn).cloned().unwrap_or((started, None));
            let Some(id) = rec.object_id.as_ref().map(|o| o.to_string()).or(event_id) else {
                continue;
            };
            pending.push((rec, id, at));
        }
    }
    let mut confirmed = 0u64;
    let mut not_yet = 0u64;
    let mut hold: Option<DateTime<Utc>> = None;
    while !pending.is_empty() {
        if !ctx.has_read_time() {
            out.deferred += pending.len() as u64;
            hold = min_opt(hold, pending.iter().map(|c| c.2).min());
            out.notes
                .push("time budget reached while confirming registrations".into());
            break;
        }
        let chunk: Vec<_> = pending.drain(..pending.len().min(20)).collect();
        let ids: Vec<String> = chunk.iter().map(|c| c.1.clone()).collect();
        let results = ctx.graph.list_methods_batch(&ids).await;
        for ((rec, _, at), methods) in chunk.into_iter().zip(results) {
            match methods {
                Ok(m) if has_mfa(&m) => confirmed += u64::from(mark_active(ctx, rec, out).await?),
                // Registered something that is not MFA (email, for SSPR): nothing to do.
                Ok(_) => {
                    not_yet += 1;
                    out.examined += 1;
                }
                Err(e) => {
                    tracing::warn!(upn = who(&rec), error = %e, "confirmation read failed; the next pass rereads its event");
                    out.deferred += 1;
                    hold = min_opt(hold, Some(at));
                }
            }
        }
    }
    let next = hold.map_or(started, |h| h.min(started));
    tracing::info!(
        since = %since,
        events,
        people = people.len(),
        confirmed,
        not_mfa = not_yet,
        "audit events read"
    );
    out.notes.push(format!(
        "events since {}: {events} read, {confirmed} confirmed Active",
        since.to_rfc3339()
    ));
    if !ctx.dry_run {
        let next = next.to_rfc3339();
        if !ctx
            .store
            .compare_and_set_meta(WATERMARK_KEY, stored.as_deref(), Some(&next))
            .await?
        {
            tracing::warn!("event watermark changed by another run; left as it is");
        }
    }

    let state = reconciliation(ctx).await?;
    let due = watermark.is_none()
        || state.in_progress
        || state
            .last_at
            .is_none_or(|at| started - at >= ctx.extra.reconcile_interval);
    if due && ctx.has_time() {
        let mut state = state;
        if watermark.is_none() {
            state.baseline = true;
        }
        reconcile(ctx, out, state).await?;
    }
    Ok(())
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A full pass (report if licensed, else per-user reads) counting what the events missed. The
/// first one (`state.baseline`) finds people who registered before events were read: those are
/// not counted as missed.
async fn reconcile(
    ctx: &mut RunCtx,
    out: &mut PassOutcome,
    mut state: Reconciliation,
) -> anyhow::Result<()> {
    let baseline = state.baseline;
    let (source, finished, found) = match by_report(ctx, out).await {
        Ok(found) => ("report", report_complete(ctx), found),
        Err(e) if is_not_licensed(&e) => {
            let (finished, found) = by_user(ctx, out).await?;
            ("per-user", finished, found)
        }
        Err(e) => return Err(e),
    };
    let counted = if baseline { 0 } else { found };
    state.running_found += counted;
    state.total_found += counted;
    state.in_progress = !finished;
    if finished {
        state.baseline = false;
        state.last_at = Some(ctx.now());
        state.source = Some(source.to_string());
        state.last_found = state.running_found;
        state.running_found = 0;
    }
    if counted > 0 {
        tracing::warn!(
            found = counted,
            source,
            total = state.total_found,
            "reconciliation found registrations the audit events missed"
        );
    } else {
        tracing::info!(
            source,
            finished,
            baseline,
            "reconciliation found nothing the events missed"
        );
    }
    out.notes.push(if baseline {
        format!("baseline ({source}): {found} registered before events were read")
    } else {
        format!("reconciliation ({source}): {counted} registrations found that events missed")
    });
    if !ctx.dry_run {
        ctx.store
            .set_meta(RECONCILE_KEY, &serde_json::to_string(&state)?)
            .await?;
    }
    Ok(())
}

/// One line for people: which detection the last check used and, for events, what the last
/// reconciliation found that they missed. `None` before the first check.
pub async fn detection_text(ctx: &RunCtx) -> anyhow::Result<Option<String>> {
    let Some(mode) = ctx.store.get_meta(super::check::MODE_KEY).await? else {
        return Ok(None);
    };
    let mut text = match mode.as_str() {
        "events" => "directory audit events".to_string(),
        "report" => "registration report".to_string(),
        "per-user" => "per-user method reads".to_string(),
        other => other.to_string(),
    };
    if mode == "events" {
        let r = reconciliation(ctx).await?;
        match (r.last_at, r.source.as_deref()) {
            (Some(at), Some(source)) => text.push_str(&format!(
                "; last reconciliation {} ({source}) found {} registration(s) the events missed ({} in total)",
                at.format("%Y-%m-%d %H:%M UTC"),
                r.last_found,
                r.total_found
            )),
            _ => text.push_str("; no reconciliation finished yet"),
        }
    }
    Ok(Some(text))
}
