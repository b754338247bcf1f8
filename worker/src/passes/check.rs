//! The MFA check pass: finds people who registered and marks them Active.
//!
//! With Entra ID P1/P2 the registration-details report lists everyone registered in about one
//! request per 999 people; the pass matches those rows against the unfinished records. Without
//! the licence (Graph answers 403, surfaced as `GraphError::NotLicensed`) it reads each unfinished
//! person's methods in `$batch` requests of 20, resuming where the previous run stopped. It only
//! reads methods; it never changes or deletes them.
//!
//! When the app may read the directory audit log, `auto` (and `events`) use registration events
//! instead ([`super::events`]): a pass then costs in proportion to the registrations since the
//! last one, and the report or per-user reads only run as the slower reconciliation.

use futures::StreamExt;
use mfa_core::config::CheckMode;
use mfa_core::domain::{InviteStatus, MfaState, OnboardingRecord, StatusEvent, Upn};
use mfa_core::graph::GraphError;
use mfa_core::passes::{PassKind, PassOutcome};

use super::{who, MethodsRead};
use crate::context::{tally, RunCtx};

/// Where the per-user check resumes.
const CURSOR_KEY: &str = "check.cursor";
/// Which detection the last check used (shown on the dashboard).
pub const MODE_KEY: &str = "check.mode";
/// When the last complete read of the registration report started (RFC 3339).
pub const REPORT_READ_KEY: &str = "check.report.read_at";

pub(super) const UNFINISHED: [InviteStatus; 4] = [
    InviteStatus::Pending,
    InviteStatus::Sent,
    InviteStatus::Clicked,
    InviteStatus::AddedToGroup,
];

/// Runs the check pass in the configured mode (`auto` tries the report first).
pub async fn run(ctx: &mut RunCtx) -> anyhow::Result<PassOutcome> {
    let mut out = PassOutcome {
        pass: Some(PassKind::Check),
        ..Default::default()
    };
    let mode = ctx.settings.campaign.check_mode;
    if matches!(mode, CheckMode::Auto | CheckMode::Events) {
        match super::events::run(ctx, &mut out).await {
            Ok(()) => {
                ctx.events_checked = true;
                note_mode(ctx, "events").await?;
                return Ok(out);
            }
            Err(e) if mode == CheckMode::Auto && super::events::unavailable(&e) => {
                tracing::info!(error = %e, "directory audit log not usable; using the report or per-user reads");
                let why = match e.downcast_ref::<GraphError>() {
                    Some(GraphError::NotPermitted { .. }) => "not permitted".to_string(),
                    Some(other) => format!("not usable ({other})"),
                    None => "not usable".to_string(),
                };
                out.notes.push(format!(
                    "directory audit log {why}: report or per-user reads"
                ));
            }
            Err(e) => return Err(e),
        }
    }
    if mode != CheckMode::PerUser {
        if report_read_recently(ctx, &mut out).await? {
            note_mode(ctx, "report").await?;
            return Ok(out);
        }
        match by_report(ctx, &mut out).await {
            Ok(_) => {
                note_mode(ctx, "report").await?;
                return Ok(out);
            }
            Err(e) if mode == CheckMode::Auto && is_not_licensed(&e) => {
                tracing::info!("registration report not licensed; using per-user method reads");
                out.notes
                    .push("registration report not licensed: per-user reads".into());
            }
            Err(e) => return Err(e),
        }
    }
    by_user(ctx, &mut out).await?;
    note_mode(ctx, "per-user").await?;
    Ok(out)
}

/// The report-based check alone, when the mode allows it and the tenant is licensed; `None`
/// otherwise (the invitation pass then reads each invitee's methods).
pub async fn report_if_licensed(ctx: &mut RunCtx) -> anyhow::Result<Option<PassOutcome>> {
    if ctx.settings.campaign.check_mode == CheckMode::PerUser {
        return Ok(None);
    }
    // With events, the reconciliation has already found out whether the report is licensed.
    if ctx.events_checked
        && super::events::reconciliation(ctx).await?.source.as_deref() == Some("per-user")
    {
        return Ok(None);
    }
    let mut out = PassOutcome {
        pass: Some(PassKind::Check),
        ..Default::default()
    };
    if report_read_recently(ctx, &mut out).await? {
        return Ok(Some(out));
    }
    match by_report(ctx, &mut out).await {
        Ok(_) => Ok(Some(out)),
        Err(e) if is_not_licensed(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn is_not_licensed(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<GraphError>(),
        Some(GraphError::NotLicensed)
    )
}

pub(super) async fn note_mode(ctx: &RunCtx, mode: &str) -> anyhow::Result<()> {
    if !ctx.dry_run {
        ctx.store.set_meta(MODE_KEY, mode).await?;
    }
    Ok(())
}

/// Whether the report was read completely less than `MFA_REPORT_EVERY_MINUTES` ago: its data
/// lags hours, so reading it again would cost requests (one per 999 people, at the reports
/// limit of 5 per 10 s) and find nothing new. Registered people it listed are already Active,
/// so the run may treat everyone else as not registered.
async fn report_read_recently(ctx: &mut RunCtx, out: &mut PassOutcome) -> anyhow::Result<bool> {
    let every = ctx.extra.report_every;
    if every <= chrono::Duration::zero() {
        return Ok(false);
    }
    let last = ctx
        .store
        .get_meta(REPORT_READ_KEY)
        .await?
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.to_utc());
    let now = ctx.now();
    match last {
        // A clock set back (or a stamp from the future) reads the report again.
        Some(at) if at <= now && now - at < every => {
            ctx.registration_as_of = Some(at);
            out.notes.push(format!(
                "registration report read at {} (its data lags hours); next read from {}",
                at.format("%Y-%m-%d %H:%M UTC"),
                (at + every).format("%Y-%m-%d %H:%M UTC")
            ));
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Matches the whole report against unfinished records; returns how many became Active.
///
/// The unfinished records are read first (one status-indexed walk) and each report row is
/// matched in memory: a tenant's report lists everyone registered — most of them Active here,
/// or never in the campaign — and looking each of them up would cost the SharePoint store a
/// query per registered person on every read of the report (80,000 look-ups, 160,000 RU, at
/// the end of a 100,000-person campaign, against one read of the people still unfinished).
pub(super) async fn by_report(ctx: &mut RunCtx, out: &mut PassOutcome) -> anyhow::Result<u64> {
    let mut activated = 0;
    let started = ctx.now();
    let mut unfinished: std::collections::HashMap<String, OnboardingRecord> =
        std::collections::HashMap::new();
    let mut walk = super::StatusWalk::new(&UNFINISHED);
    while let Some(page) = walk.next(ctx).await? {
        unfinished.extend(page.into_iter().map(|r| (r.upn.to_string(), r)));
    }
    let mut pages = Box::pin(
        ctx.graph
            .registration_details(Some("isMfaRegistered eq true")),
    );
    while let Some(page) = pages.next().await {
        let page = page?;
        for row in page.value.iter().filter(|r| r.is_mfa_registered) {
            let Some(rec) = row
                .user_principal_name
                .as_deref()
                .and_then(|u| Upn::parse(u).ok())
                .and_then(|u| unfinished.remove(u.as_str()))
            else {
                continue;
            };
            if observe(ctx, rec, &MethodsRead::of_report(row), out).await? {
                activated += 1;
            }
        }
        if !ctx.has_time() {
            out.notes
                .push("time budget reached during the report".into());
            return Ok(activated);
        }
    }
    ctx.registration_as_of = Some(started);
    if !ctx.dry_run {
        ctx.store
            .set_meta(
                REPORT_READ_KEY,
                &started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .await?;
    }
    Ok(activated)
}

/// Whether the last [`by_report`] read the whole report.
pub(super) fn report_complete(ctx: &RunCtx) -> bool {
    ctx.registration_as_of.is_some()
}

/// One lap (at most) of per-user method reads; returns whether the lap finished and how many
/// people became Active.
pub(super) async fn by_user(
    ctx: &mut RunCtx,
    out: &mut PassOutcome,
) -> anyhow::Result<(bool, u64)> {
    let mut activated = 0;
    // One full lap over the unfinished people at most, starting where the last run stopped.
    let start = ctx
        .store
        .get_meta(CURSOR_KEY)
        .await?
        .and_then(|s| Upn::parse(&s).ok());
    let mut pos = start.clone();
    let mut second_lap = false;
    let finished = loop {
        if !ctx.has_read_time() {
            out.deferred += 1;
            break false;
        }
        let mut page = ctx
            .store
            .page_by_status(&UNFINISHED, pos.as_ref(), 200)
            .await?;
        let full = page.len() == 200;
        let mut lap_done = false;
        if second_lap {
            if let Some(s) = &start {
                let before = page.len();
                page.retain(|r| r.upn <= *s);
                lap_done = page.len() < before || !full;
            }
        }
        if page.is_empty() {
            if start.is_none() || second_lap {
                break true;
            }
            second_lap = true;
            pos = None;
            continue;
        }
        // A page is 200 reads, 400 s at the reports limit: check the budget every envelope so a
        // run ends near its budget (below the Functions timeout) and resumes right after the
        // last person it read.
        let mut out_of_time = false;
        for slice in page.chunks(mfa_core::graph::MAX_BATCH) {
            if !ctx.has_read_time() {
                out_of_time = true;
                break;
            }
            let last = slice.last().map(|r| r.upn.clone());
            activated += check_page(ctx, slice.to_vec(), out).await?;
            pos = last;
        }
        if out_of_time {
            out.deferred += 1;
            break false;
        }
        if lap_done {
            break true;
        }
    };
    if !ctx.dry_run {
        let saved = if finished {
            String::new()
        } else {
            pos.map(|p| p.to_string()).unwrap_or_default()
        };
        ctx.store.set_meta(CURSOR_KEY, &saved).await?;
    }
    Ok((finished, activated))
}

async fn check_page(
    ctx: &mut RunCtx,
    page: Vec<OnboardingRecord>,
    out: &mut PassOutcome,
) -> anyhow::Result<u64> {
    let mut activated = 0;
    let page: Vec<_> = ctx
        .keep_in_scope(page)
        .into_iter()
        .filter(|r| r.object_id.is_some())
        .collect();
    let ids: Vec<String> = page
        .iter()
        .filter_map(|r| r.object_id.as_ref().map(|o| o.to_string()))
        .collect();
    let results = ctx.graph.list_methods_batch(&ids).await;
    for (rec, methods) in page.into_iter().zip(results) {
        match methods {
            Ok(m) => {
                activated += u64::from(observe(ctx, rec, &MethodsRead::of_methods(&m), out).await?)
            }
            Err(e) => {
                tracing::warn!(upn = who(&rec), error = %e, "method read failed; next run retries");
                out.deferred += 1;
            }
        }
    }
    Ok(activated)
}

/// Records what a read of `rec`'s methods found: Active when it meets the campaign's target
/// ([`mark_active`]), otherwise the methods are kept (written only when they changed) and the
/// person stays in the campaign. True when this call made them Active.
pub(super) async fn observe(
    ctx: &mut RunCtx,
    mut rec: OnboardingRecord,
    seen: &MethodsRead,
    out: &mut PassOutcome,
) -> anyhow::Result<bool> {
    if seen.meets(rec.target_or(ctx.settings.campaign.target)) {
        return mark_active(ctx, rec, Some(seen), out).await;
    }
    let now = ctx.now();
    let changed = seen.note(&mut rec, now)?;
    if changed || rec.mfa_state == MfaState::Unknown {
        let saved = ctx.save(&rec).await?;
        tally(out, saved.is_some(), false);
    } else {
        out.examined += 1;
    }
    Ok(false)
}

/// Marks `rec` Active (registration date stamped, with the methods seen when known); true when
/// this call made the change.
pub(super) async fn mark_active(
    ctx: &mut RunCtx,
    mut rec: OnboardingRecord,
    seen: Option<&MethodsRead>,
    out: &mut PassOutcome,
) -> anyhow::Result<bool> {
    let now = ctx.now();
    for _attempt in 0..3 {
        if rec.status == InviteStatus::Active {
            return Ok(false);
        }
        if let Some(seen) = seen {
            seen.note(&mut rec, now)?;
        }
        rec.apply(StatusEvent::MfaRegistered, now)?;
        if ctx.dry_run {
            out.notes
                .push(format!("{}: registered, would mark Active", who(&rec)));
            tally(out, false, false);
            return Ok(true);
        }
        if let Some(_saved) = ctx.save(&rec).await? {
            tally(out, true, false);
            return Ok(true);
        }
        // Changed under us (a click, an open): re-read and decide again.
        match ctx.store.get_by_upn(&rec.upn).await? {
            Some(fresh) => rec = fresh,
            None => return Ok(false),
        }
    }
    out.deferred += 1;
    Ok(false)
}
