//! Registration detection from directory audit events, with a slower full reconciliation.
//!
//! Each check pass reads the "Authentication Methods" registration events logged since the
//! stored watermark minus `MFA_EVENTS_OVERLAP_MINUTES` (Entra writes events minutes after the
//! activity, so windows overlap; reading an event twice is harmless because Active is final).
//! Each tracked, unfinished person an event names becomes Active on the event's word when its
//! reason names a method that satisfies MFA and no deletion of security info follows it in the
//! window ([`Evidence`]); anyone else with a registration event (a method the event does not
//! name, a deletion, or every event under `MFA_EVENTS_CONFIRM=read`) gets one targeted read of
//! their methods (`$batch` of 20) and becomes Active when one is MFA-capable. A pass therefore
//! costs the audit pages plus a read only where the log is unclear. The watermark then moves to
//! the start of this pass, or to the earliest event whose confirmation failed or did not fit in
//! the time budget, so nothing is skipped.
//!
//! Every `MFA_RECONCILE_HOURS` (and on the first pass, when there is no watermark yet) a full
//! pass through the registration report (licensed tenants) or a lap of per-user reads (spread
//! over runs) catches whatever the events missed. What it finds is counted (meta
//! [`RECONCILE_KEY`]), logged and shown on the dashboard and in the admin report, so operators can
//! see whether events are reliable in their tenant. A reconciliation that fails (Graph error
//! after retries) is logged and tried again on the next pass; the events part stands.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use mfa_core::domain::{InviteStatus, Upn};
use mfa_core::graph::audit::{registration_filter, Evidence, MAX_PAGE};
use mfa_core::graph::GraphError;
use mfa_core::passes::PassOutcome;
use serde::{Deserialize, Serialize};

use super::check::{by_report, by_user, is_not_licensed, mark_active, observe, report_complete};
use super::{who, MethodsRead};
use crate::context::RunCtx;
use crate::settings::EventsConfirm;
use mfa_core::domain::TargetStrength;

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

    // Security-info events since `since`, summed up per person.
    let mut people: HashMap<Upn, Seen> = HashMap::new();
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
            let evidence = e.evidence();
            for t in e.target_users() {
                let Some(upn) = t
                    .user_principal_name
                    .as_deref()
                    .and_then(|u| Upn::parse(u).ok())
                else {
                    continue;
                };
                people
                    .entry(upn)
                    .or_insert_with(|| Seen::new(e.activity_date_time, t.id.clone()))
                    .add(e.activity_date_time, evidence);
            }
        }
    }

    // Tracked and unfinished: Active on the event's word when it is clear, else after one read.
    let confirm = ctx.extra.events_confirm;
    let upns: Vec<Upn> = people.keys().cloned().collect();
    let mut pending = Vec::new();
    let (mut by_event, mut by_read, mut not_yet) = (0u64, 0u64, 0u64);
    for chunk in upns.chunks(500) {
        let recs = ctx.store.get_many(chunk).await?;
        for rec in ctx.keep_in_scope(recs) {
            if rec.status == InviteStatus::Active {
                continue;
            }
            let Some(seen) = people.get(&rec.upn) else {
                continue;
            };
            match seen.verdict(confirm) {
                None => {}
                // An event says "registered" but not how strong: above `any`, the methods decide.
                Some(Verdict::Registered)
                    if rec.target_or(ctx.settings.campaign.target) == TargetStrength::Any =>
                {
                    by_event += u64::from(mark_active(ctx, rec, None, out).await?);
                }
                Some(Verdict::NotMfa) => {
                    not_yet += 1;
                    out.examined += 1;
                }
                Some(Verdict::Read | Verdict::Registered) => {
                    let id = rec.object_id.as_ref().map(|o| o.to_string());
                    let Some(id) = id.or_else(|| seen.id.clone()) else {
                        continue;
                    };
                    pending.push((rec, id, seen.first));
                }
            }
        }
    }
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
                // Registered something below the target (or not MFA at all: email, for SSPR): the
                // methods are kept and the person stays in the campaign.
                Ok(m) => {
                    if observe(ctx, rec, &MethodsRead::of_methods(&m), out).await? {
                        by_read += 1;
                    } else {
                        not_yet += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(upn = who(&rec), error = %e, "confirmation read failed; the next pass rereads its event");
                    out.deferred += 1;
                    hold = min_opt(hold, Some(at));
                }
            }
        }
    }
    let confirmed = by_event + by_read;
    let next = hold.map_or(started, |h| h.min(started));
    tracing::info!(
        since = %since,
        events,
        people = people.len(),
        confirmed,
        by_event,
        by_read,
        not_mfa = not_yet,
        "audit events read"
    );
    out.notes.push(format!(
        "events since {}: {events} read, {confirmed} confirmed Active ({by_event} by the event, {by_read} by a read)",
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
        if let Err(e) = reconcile(ctx, out, state.clone()).await {
            if !unavailable(&e) {
                return Err(e);
            }
            // The events are read and their watermark saved: a failed full pass must not undo
            // that (nor send `auto` to read the report again at once). It stays due; a first
            // one stays the baseline.
            tracing::warn!(error = %e, "reconciliation failed; it runs again next pass");
            out.notes
                .push(format!("reconciliation failed, runs again next pass: {e}"));
            if !ctx.dry_run {
                ctx.store
                    .set_meta(RECONCILE_KEY, &serde_json::to_string(&state)?)
                    .await?;
            }
        }
    }
    Ok(())
}

/// What one pass's events say about one person.
#[derive(Debug, Clone)]
struct Seen {
    /// Earliest event: the watermark holds here while the person's state is unsettled.
    first: DateTime<Utc>,
    /// Object id the event names (for a read when the record has none yet).
    id: Option<String>,
    /// Some registration was logged (deletions alone are not registrations).
    registered: bool,
    /// Latest registration of a method that satisfies MFA, by the event's reason.
    mfa_at: Option<DateTime<Utc>>,
    /// Latest deletion of security info.
    removed_at: Option<DateTime<Utc>>,
    /// A registration whose method the event does not name.
    unknown: bool,
}

/// What to do for one tracked, unfinished person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Active on the event's word.
    Registered,
    /// Only methods that are not MFA were registered: nothing to do.
    NotMfa,
    /// One read of their methods decides.
    Read,
}

impl Seen {
    fn new(at: DateTime<Utc>, id: Option<String>) -> Self {
        Self {
            first: at,
            id,
            registered: false,
            mfa_at: None,
            removed_at: None,
            unknown: false,
        }
    }

    fn add(&mut self, at: DateTime<Utc>, evidence: Evidence) {
        self.first = self.first.min(at);
        let latest = |t: Option<DateTime<Utc>>| Some(t.map_or(at, |t| t.max(at)));
        match evidence {
            Evidence::Mfa => self.mfa_at = latest(self.mfa_at),
            Evidence::Removed => self.removed_at = latest(self.removed_at),
            Evidence::Unknown => self.unknown = true,
            Evidence::NotMfa => {}
        }
        self.registered |= evidence != Evidence::Removed;
    }

    /// `None` when the person only deleted security info. A registration of an MFA method the
    /// event names, not followed by a deletion, is enough under [`EventsConfirm::Auto`];
    /// anything less clear (a method not named, a deletion in the window) is read.
    fn verdict(&self, confirm: EventsConfirm) -> Option<Verdict> {
        if !self.registered {
            return None;
        }
        if confirm == EventsConfirm::Read {
            return Some(Verdict::Read);
        }
        let after_removal = |at: DateTime<Utc>| self.removed_at.is_none_or(|r| r < at);
        Some(match self.mfa_at {
            Some(at) if after_removal(at) => Verdict::Registered,
            // An MFA registration not trusted here always has a deletion after it.
            _ if self.unknown || self.removed_at.is_some() => Verdict::Read,
            _ => Verdict::NotMfa,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minute)
    }

    fn seen(events: &[(i64, Evidence)]) -> Seen {
        let mut s = Seen::new(at(events[0].0), None);
        for (minute, evidence) in events {
            s.add(at(*minute), *evidence);
        }
        s
    }

    #[test]
    fn an_event_is_trusted_only_when_it_is_clear() {
        use Evidence::*;
        type Case = (&'static [(i64, Evidence)], Option<Verdict>);
        let cases: [Case; 9] = [
            (&[(1, Mfa)], Some(Verdict::Registered)),
            (&[(1, NotMfa), (2, Mfa)], Some(Verdict::Registered)),
            (&[(1, Removed), (2, Mfa)], Some(Verdict::Registered)),
            (&[(1, Unknown), (2, Mfa)], Some(Verdict::Registered)),
            (&[(1, NotMfa)], Some(Verdict::NotMfa)),
            (&[(1, Unknown)], Some(Verdict::Read)),
            (&[(1, Mfa), (2, Removed)], Some(Verdict::Read)),
            (&[(1, NotMfa), (2, Removed)], Some(Verdict::Read)),
            (&[(1, Removed)], None),
        ];
        for (events, want) in cases {
            let s = seen(events);
            assert_eq!(s.verdict(EventsConfirm::Auto), want, "{events:?}");
            let strict = want.map(|_| Verdict::Read);
            assert_eq!(s.verdict(EventsConfirm::Read), strict, "{events:?}");
        }
        // The watermark holds at the earliest event, whatever arrived first.
        assert_eq!(seen(&[(5, Mfa), (2, Removed), (9, Unknown)]).first, at(2));
    }
}
