//! Follow-up for people already invited, when their next action is due: retry a failed group
//! add after a click, apply the optional deadline, escalate to the manager once after the
//! configured number of reminders, and send reminders at the configured interval.
//!
//! Escalations and reminders go before new invitations in a run, but while invitations are
//! queued they may use at most `100 - MFA_INVITE_SHARE_PERCENT` % of the run's sending capacity,
//! so neither starves.

use chrono::{DateTime, Utc};
use mfa_core::domain::{InviteStatus, MailKind, ObjectId, OnboardingRecord, StatusEvent, Upn};
use mfa_core::passes::{PassKind, PassOutcome};
use mfa_core::store::DueQuery;

use super::who;
use crate::context::{tally, RunCtx, SendOutcome};
use crate::mail::{compose, Template};

/// Which follow-up actions this run performs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actions {
    /// Send reminders.
    pub reminder: bool,
    /// Escalate to managers.
    pub escalation: bool,
    /// Apply the deadline rule.
    pub deadline: bool,
}

const INVITED: [InviteStatus; 3] = [
    InviteStatus::Sent,
    InviteStatus::Clicked,
    InviteStatus::AddedToGroup,
];

/// Runs the follow-up actions for everyone due.
pub async fn run(ctx: &mut RunCtx, actions: Actions) -> anyhow::Result<Vec<PassOutcome>> {
    let mut reminders = PassOutcome {
        pass: Some(PassKind::Reminder),
        ..Default::default()
    };
    let mut escalations = PassOutcome {
        pass: Some(PassKind::Escalation),
        ..Default::default()
    };
    let mut deadline = PassOutcome {
        pass: Some(PassKind::Deadline),
        ..Default::default()
    };
    let mut email_budget = email_budget(ctx).await?;
    let mut after = None;
    'pages: while ctx.has_time() {
        let query = DueQuery {
            statuses: INVITED.to_vec(),
            now: ctx.now(),
            after: after.clone(),
            limit: ctx.extra.page,
            batch: None,
        };
        let page = ctx.claim_due(&query).await?;
        let Some(last) = page.last() else { break };
        after = last.next_due_at.map(|d| (d, last.upn.clone()));
        for mut rec in page {
            if !ctx.has_time() {
                break 'pages;
            }
            let now = ctx.now();
            let mut changed = false;
            if rec.status == InviteStatus::Clicked && !rec.in_group {
                changed |= add_to_group(ctx, &mut rec, &mut deadline, "after the click").await?;
            }
            if actions.deadline && !rec.in_group && past_deadline(ctx, &rec, now) {
                changed |= add_to_group(ctx, &mut rec, &mut deadline, "deadline reached").await?;
            }
            let last_email = rec
                .last_reminder_date
                .max(rec.invite_sent_date)
                .unwrap_or(now);
            let wants_reminder = now >= last_email + ctx.settings.campaign.reminder_interval;
            let mut stop = false;
            // A reminder first (when due), then the escalation it may make owed, in one visit.
            if actions.reminder && wants_reminder && !owes_escalation(ctx, &rec) {
                if email_budget == Some(0) {
                    stop = true;
                } else if remind(ctx, &mut rec, &mut reminders).await?.is_some() {
                    changed = true;
                    email_budget = email_budget.map(|b| b.saturating_sub(1));
                } else {
                    stop = true;
                }
            }
            if !stop && actions.escalation && owes_escalation(ctx, &rec) {
                if email_budget == Some(0) {
                    stop = true;
                } else {
                    match escalate(ctx, &mut rec, &mut escalations).await? {
                        Some(true) => {
                            changed = true;
                            email_budget = email_budget.map(|b| b.saturating_sub(1));
                        }
                        Some(false) => changed = true,
                        None => stop = true,
                    }
                }
            }
            if changed {
                reschedule(ctx, &mut rec, actions);
                RunCtx::release(&mut rec);
                let saved = ctx.save(&rec).await?;
                if saved.is_none() {
                    reminders
                        .notes
                        .push(format!("{}: changed meanwhile; next run", who(&rec)));
                }
            }
            if stop {
                reminders.deferred += 1;
                break 'pages;
            }
        }
    }
    Ok(vec![escalations, reminders, deadline])
}

/// True when the person has had enough reminders and no escalation yet.
fn owes_escalation(ctx: &RunCtx, rec: &OnboardingRecord) -> bool {
    rec.reminder_count >= ctx.settings.campaign.escalate_after_reminders
        && rec.escalation_date.is_none()
}

/// While invitations are waiting, follow-ups may use only part of the run's capacity.
async fn email_budget(ctx: &mut RunCtx) -> anyhow::Result<Option<u64>> {
    let share = u64::from(ctx.extra.invite_share_percent);
    if share == 0 {
        return Ok(None);
    }
    let now = ctx.now();
    let pending = ctx
        .store
        .due(&DueQuery {
            statuses: vec![InviteStatus::Pending],
            now,
            after: None,
            limit: 1,
            batch: None,
        })
        .await?;
    if pending.is_empty() {
        return Ok(None);
    }
    let capacity = ctx.limiter.capacity(now, ctx.deadline);
    Ok(Some(capacity * (100 - share) / 100))
}

fn past_deadline(ctx: &RunCtx, rec: &OnboardingRecord, now: DateTime<Utc>) -> bool {
    ctx.extra
        .deadline_for(rec.invite_sent_date)
        .is_some_and(|d| d <= now)
}

/// When this person next needs attention, from their last email (or now, if an escalation is
/// owed right away).
fn reschedule(ctx: &RunCtx, rec: &mut OnboardingRecord, actions: Actions) {
    let now = ctx.now();
    let owed_escalation = actions.escalation && owes_escalation(ctx, rec);
    let last_email = rec
        .last_reminder_date
        .max(rec.invite_sent_date)
        .unwrap_or(now);
    rec.next_due_at = Some(if owed_escalation {
        now
    } else {
        ctx.next_followup(rec, last_email)
    });
    if rec.next_due_at.is_some_and(|d| d <= now) && !owed_escalation {
        rec.next_due_at = Some(now + ctx.settings.campaign.reminder_interval);
    }
}

async fn add_to_group(
    ctx: &RunCtx,
    rec: &mut OnboardingRecord,
    out: &mut PassOutcome,
    why: &str,
) -> anyhow::Result<bool> {
    let Ok(group) = ctx.settings.group_id.as_ref() else {
        return Ok(false);
    };
    let Some(id) = object_id(ctx, rec).await? else {
        return Ok(false);
    };
    if ctx.dry_run {
        out.notes
            .push(format!("{}: would add to the group ({why})", who(rec)));
        return Ok(false);
    }
    match ctx.graph.add_group_member(group, id.as_str()).await {
        Ok(_) => {
            rec.apply(StatusEvent::GroupAdded, ctx.now())?;
            out.changed += 1;
            Ok(true)
        }
        Err(e) => {
            tracing::warn!(upn = who(rec), error = %e, "group add failed; next run retries");
            Ok(false)
        }
    }
}

async fn object_id(ctx: &RunCtx, rec: &mut OnboardingRecord) -> anyhow::Result<Option<ObjectId>> {
    if let Some(id) = &rec.object_id {
        return Ok(Some(id.clone()));
    }
    let user = ctx.graph.get_user(rec.upn.as_str()).await.ok().flatten();
    let id = user.and_then(|u| ObjectId::parse(&u.id).ok());
    rec.object_id.clone_from(&id);
    Ok(id)
}

/// Sends reminder number `reminder_count + 1`. `None`: no capacity, stop for this run.
async fn remind(
    ctx: &mut RunCtx,
    rec: &mut OnboardingRecord,
    out: &mut PassOutcome,
) -> anyhow::Result<Option<()>> {
    let number = rec.reminder_count + 1;
    let rendered = ctx.templates.render(
        Template::Reminder,
        &compose::reminder(&ctx.settings, rec, number),
    )?;
    if ctx.dry_run {
        out.notes
            .push(format!("{}: would send reminder #{number}", who(rec)));
        out.examined += 1;
        return Ok(Some(()));
    }
    if !record_intent(ctx, rec, MailKind::Reminder).await? {
        return Ok(Some(()));
    }
    let correlation = rec.correlation_id.to_string();
    match ctx
        .send(
            vec![rec.upn.to_string()],
            rendered,
            "reminder",
            &correlation,
        )
        .await?
    {
        SendOutcome::Sent { .. } => {
            rec.reminder_count = number;
            rec.last_reminder_date = Some(ctx.now());
            clear_intent(rec);
            tally(out, true, true);
            Ok(Some(()))
        }
        SendOutcome::Deferred => {
            clear_intent(rec);
            ctx.save(rec).await?;
            Ok(None)
        }
        SendOutcome::Failed(e) => {
            clear_intent(rec);
            tracing::error!(upn = who(rec), error = %e, "reminder not sent");
            out.errors += 1;
            ctx.save(rec).await?;
            Ok(None)
        }
    }
}

/// Escalates once. `Some(true)`: email sent; `Some(false)`: recorded without an email (no
/// manager); `None`: no capacity, stop for this run.
async fn escalate(
    ctx: &mut RunCtx,
    rec: &mut OnboardingRecord,
    out: &mut PassOutcome,
) -> anyhow::Result<Option<bool>> {
    let Some(id) = object_id(ctx, rec).await? else {
        rec.escalation_date = Some(ctx.now());
        rec.error_details =
            Some("Escalation not sent: the person was not found in Entra ID.".into());
        out.errors += 1;
        return Ok(Some(false));
    };
    let manager = match ctx.graph.get_manager(id.as_str()).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(upn = who(rec), error = %e, "manager lookup failed; next run retries");
            return Ok(None);
        }
    };
    let target = manager
        .as_ref()
        .and_then(|m| m.mail.as_deref().or(m.user_principal_name.as_deref()))
        .and_then(|a| Upn::parse(a).ok())
        .map(|a| (a, manager.as_ref().and_then(|m| m.display_name.clone())))
        .or_else(|| {
            ctx.settings
                .campaign
                .escalation_fallback
                .clone()
                .map(|f| (f, None))
        });
    let Some((to, name)) = target else {
        rec.escalation_date = Some(ctx.now());
        rec.error_details = Some("No manager in Entra ID: escalation not sent.".into());
        out.errors += 1;
        out.notes
            .push(format!("{}: no manager to escalate to", who(rec)));
        return Ok(Some(false));
    };
    let name = name.unwrap_or_else(|| to.to_string());
    let rendered = ctx.templates.render(
        Template::Escalation,
        &compose::escalation(&ctx.settings, rec, &name),
    )?;
    if ctx.dry_run {
        out.notes
            .push(format!("{}: would escalate to {to}", who(rec)));
        out.examined += 1;
        return Ok(Some(false));
    }
    if !record_intent(ctx, rec, MailKind::Escalation).await? {
        return Ok(Some(false));
    }
    let correlation = rec.correlation_id.to_string();
    match ctx
        .send(vec![to.to_string()], rendered, "escalation", &correlation)
        .await?
    {
        SendOutcome::Sent { .. } => {
            rec.escalated_to_manager = true;
            rec.escalation_date = Some(ctx.now());
            rec.manager_upn = Some(to);
            clear_intent(rec);
            tally(out, true, true);
            Ok(Some(true))
        }
        SendOutcome::Deferred => {
            clear_intent(rec);
            ctx.save(rec).await?;
            Ok(None)
        }
        SendOutcome::Failed(e) => {
            clear_intent(rec);
            tracing::error!(upn = who(rec), error = %e, "escalation not sent");
            out.errors += 1;
            ctx.save(rec).await?;
            Ok(None)
        }
    }
}

/// Writes the intent to email before sending. False when the record changed meanwhile.
async fn record_intent(
    ctx: &RunCtx,
    rec: &mut OnboardingRecord,
    kind: MailKind,
) -> anyhow::Result<bool> {
    if rec.send_intent.is_some() {
        tracing::warn!(
            upn = who(rec),
            "an earlier run stopped while emailing this person; sending again"
        );
    }
    rec.send_intent = Some(kind);
    rec.send_intent_at = Some(ctx.now());
    match ctx.save(rec).await? {
        Some(saved) => {
            *rec = saved;
            Ok(true)
        }
        None => Ok(false),
    }
}

fn clear_intent(rec: &mut OnboardingRecord) {
    rec.send_intent = None;
    rec.send_intent_at = None;
}
