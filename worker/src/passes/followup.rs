//! Follow-up for people already invited, when their next action is due: retry a failed group
//! add after a click, apply the optional deadline, escalate to the manager once after the
//! configured number of reminders, and send reminders at the configured interval.
//!
//! Escalations and reminders go before new invitations in a run, but while invitations are
//! queued they may use at most `100 - MFA_INVITE_SHARE_PERCENT` % of the run's sending capacity,
//! so neither starves.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use mfa_core::domain::{InviteStatus, MailKind, ObjectId, OnboardingRecord, StatusEvent, Upn};
use mfa_core::graph::User;
use mfa_core::passes::{PassKind, PassOutcome};
use mfa_core::store::DueQuery;

use super::who;
use crate::context::{tally, Email, Emailed, RunCtx};
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

/// A manager gets at most one escalation digest in this time.
const DIGEST_EVERY: chrono::Duration = chrono::Duration::days(1);

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
    let mut digests = Digests::default();
    let mut after = None;
    'pages: while ctx.has_time() {
        let query = DueQuery {
            statuses: INVITED.to_vec(),
            now: ctx.now(),
            after: after.clone(),
            limit: ctx.extra.page,
            batch: None,
        };
        let mut page = ctx.claim_due(&query).await?;
        let Some(last) = page.last() else { break };
        after = last.next_due_at.map(|d| (d, last.upn.clone()));
        // Group adds for the whole page, 20 per request; managers 15 per request.
        let added = add_to_group(ctx, &mut page, actions, &mut deadline).await?;
        let managers = if actions.escalation {
            Managers::read(ctx, &page).await
        } else {
            Managers::default()
        };
        let mut page = page.into_iter().zip(added);
        while let Some((mut rec, mut changed)) = page.next() {
            if !ctx.has_time() {
                // Out of time: keep the group adds already made for the rest of the page.
                for (mut rec, changed) in std::iter::once((rec, changed)).chain(page) {
                    if changed {
                        rec.next_due_at = Some(ctx.next_due(&rec));
                        RunCtx::release(&mut rec);
                        ctx.save(&rec).await?;
                    }
                }
                break 'pages;
            }
            let wants_reminder = ctx.now() >= ctx.reminder_at(&rec);
            // A reminder first (when due), then the escalation it may make owed, in one visit.
            let mut visit = Visit::Continue;
            if actions.reminder && wants_reminder && !ctx.owes_escalation(&rec) {
                visit = if email_budget == Some(0) {
                    Visit::Stop
                } else {
                    let email = reminder(ctx, &rec)?;
                    let emailed = ctx.email(&mut rec, email, &mut reminders).await?;
                    follow(
                        &rec,
                        emailed,
                        &mut reminders,
                        &mut email_budget,
                        &mut changed,
                    )
                };
            }
            // The escalation it owes goes into its manager's digest, sent after the walk.
            let mut manager = None;
            if visit == Visit::Continue && actions.escalation && ctx.owes_escalation(&rec) {
                match escalation_target(ctx, &managers, &mut rec, &mut escalations).await? {
                    Some(target) => manager = Some(target),
                    // Skipped, with a note: saved below.
                    None if rec.escalation_date.is_some() => changed = true,
                    // The manager could not be looked up now.
                    None => visit = Visit::Stop,
                }
            }
            if visit == Visit::Leave {
                continue;
            }
            if let Some(manager) = manager {
                // Held under the run's lease, due time untouched (so the walk does not meet them
                // again), until their manager's digest goes out.
                let saved = if changed {
                    ctx.save(&rec).await?
                } else {
                    Some(rec.clone())
                };
                match saved {
                    Some(saved) => digests.add(manager, saved),
                    None => reminders
                        .notes
                        .push(format!("{}: changed meanwhile; next run", who(&rec))),
                }
            } else if changed || ctx.control.is_paused() {
                // (Paused: nothing was sent; they are due again when their reminder would be,
                // counted with the pause so far, rather than met again by every run.)
                rec.next_due_at = Some(ctx.next_due(&rec));
                RunCtx::release(&mut rec);
                if ctx.save(&rec).await?.is_none() {
                    reminders
                        .notes
                        .push(format!("{}: changed meanwhile; next run", who(&rec)));
                }
            }
            if visit == Visit::Stop {
                reminders.deferred += 1;
                break 'pages;
            }
        }
    }
    send_digests(ctx, digests, &mut escalations, &mut email_budget).await?;
    Ok(vec![escalations, reminders, deadline])
}

/// Whom an escalation goes to: the manager (or the fallback address) and their name.
type Target = (Upn, Option<String>);

/// The escalations owed in this pass, one digest per manager.
#[derive(Debug, Default)]
struct Digests(BTreeMap<Upn, (Option<String>, Vec<OnboardingRecord>)>);

impl Digests {
    fn add(&mut self, (manager, name): Target, rec: OnboardingRecord) {
        let entry = self.0.entry(manager).or_insert_with(|| (name, Vec::new()));
        entry.1.push(rec);
    }
}

/// Lets go of people held for a digest that is not sent now: due at `at` (or as they were).
async fn release_all(
    ctx: &RunCtx,
    people: Vec<OnboardingRecord>,
    at: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    for mut rec in people {
        if at.is_some() {
            rec.next_due_at = at;
        }
        RunCtx::release(&mut rec);
        ctx.save(&rec).await?;
    }
    Ok(())
}

/// Meta key of the last digest to `manager`.
fn digest_key(manager: &Upn) -> String {
    format!("escalation.digest:{manager}")
}

/// Sends each manager one email about every report whose escalation is owed, at most one per
/// manager per day: reports of a manager told less than a day ago wait for the next digest.
async fn send_digests(
    ctx: &mut RunCtx,
    digests: Digests,
    out: &mut PassOutcome,
    email_budget: &mut Option<u64>,
) -> anyhow::Result<()> {
    let mut stop = false;
    for (manager, (name, people)) in digests.0 {
        if stop {
            out.deferred += people.len() as u64;
            release_all(ctx, people, None).await?;
            continue;
        }
        let now = ctx.now();
        let key = digest_key(&manager);
        let last = ctx
            .store
            .get_meta(&key)
            .await?
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|d| d.to_utc());
        if let Some(next) = last.map(|l| l + DIGEST_EVERY).filter(|n| *n > now) {
            out.examined += people.len() as u64;
            release_all(ctx, people, Some(next)).await?;
            continue;
        }
        if *email_budget == Some(0) || !ctx.has_time() {
            out.deferred += people.len() as u64;
            release_all(ctx, people, None).await?;
            continue;
        }
        let name = name.unwrap_or_else(|| manager.to_string());
        let rendered = ctx.templates.render(
            Template::Escalation,
            &compose::escalation(&ctx.settings, &people, &name),
        )?;
        let email = Email {
            kind: MailKind::Escalation,
            to: manager.clone(),
            rendered,
            event: StatusEvent::Escalated {
                manager: manager.clone(),
            },
        };
        let (emailed, people) = ctx.email_about(people, email, out).await?;
        match emailed {
            Emailed::Sent => {
                *email_budget = email_budget.map(|b| b.saturating_sub(1));
                out.emails_sent += 1;
                ctx.store.set_meta(&key, &now.to_rfc3339()).await?;
                for mut rec in people {
                    RunCtx::release(&mut rec);
                    let saved = ctx.save(&rec).await?;
                    out.examined += 1;
                    out.changed += u64::from(saved.is_some());
                }
            }
            Emailed::DryRun => out.examined += people.len() as u64,
            Emailed::Conflict => {}
            Emailed::Deferred => {
                out.deferred += people.len() as u64;
                release_all(ctx, people, None).await?;
                stop = true;
            }
            Emailed::Failed(e) => {
                tracing::error!(manager = %manager, error = %e, "escalation digest not sent");
                out.errors += 1;
                release_all(ctx, people, None).await?;
                stop = true;
            }
        }
    }
    Ok(())
}

/// How the rest of a person's visit goes after an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    /// Go on (and save what changed).
    Continue,
    /// Someone else changed the person: leave them to the next run.
    Leave,
    /// No capacity, or the mail service refused: save what changed and stop the pass.
    Stop,
}

/// Counts an email's outcome in `out` and says how the visit goes on.
fn follow(
    rec: &OnboardingRecord,
    emailed: Emailed,
    out: &mut PassOutcome,
    email_budget: &mut Option<u64>,
    changed: &mut bool,
) -> Visit {
    match emailed {
        Emailed::Sent => {
            *changed = true;
            *email_budget = email_budget.map(|b| b.saturating_sub(1));
            tally(out, true, true);
            Visit::Continue
        }
        Emailed::DryRun => {
            out.examined += 1;
            Visit::Continue
        }
        Emailed::Conflict => {
            out.notes
                .push(format!("{}: changed meanwhile; next run", who(rec)));
            Visit::Leave
        }
        Emailed::Deferred => Visit::Stop,
        Emailed::Failed(e) => {
            tracing::error!(upn = who(rec), error = %e, "follow-up email not sent");
            out.errors += 1;
            Visit::Stop
        }
    }
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
    ctx.deadline_at(rec).is_some_and(|d| d <= now)
}

/// Adds to the group everyone on `page` who clicked without being added (the click's own add
/// failed) or whose deadline has come, 20 per request; one flag per person: whether their record
/// changed.
async fn add_to_group(
    ctx: &RunCtx,
    page: &mut [OnboardingRecord],
    actions: Actions,
    out: &mut PassOutcome,
) -> anyhow::Result<Vec<bool>> {
    let mut changed = vec![false; page.len()];
    let Ok(group) = ctx.settings.group_id.as_ref() else {
        return Ok(changed);
    };
    let now = ctx.now();
    let mut wanted = Vec::new();
    for (i, rec) in page.iter_mut().enumerate() {
        if rec.in_group {
            continue;
        }
        let why = if rec.status == InviteStatus::Clicked {
            "after the click"
        } else if actions.deadline && past_deadline(ctx, rec, now) {
            "deadline reached"
        } else {
            continue;
        };
        let Some(id) = object_id(ctx, rec).await? else {
            continue;
        };
        if ctx.dry_run {
            out.notes
                .push(format!("{}: would add to the group ({why})", who(rec)));
            continue;
        }
        wanted.push((i, id.to_string()));
    }
    if wanted.is_empty() {
        return Ok(changed);
    }
    let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
    let results = ctx.graph.add_group_members_bound(group, &ids).await;
    for ((i, _), result) in wanted.into_iter().zip(results) {
        let rec = &mut page[i];
        match result {
            Ok(_) => {
                rec.apply(StatusEvent::GroupAdded, ctx.now())?;
                out.changed += 1;
                changed[i] = true;
            }
            Err(e) => {
                tracing::warn!(upn = who(rec), error = %e, "group add failed; next run retries")
            }
        }
    }
    Ok(changed)
}

/// The managers of the page's people who owe an escalation, read before the walk, 15 per
/// request (`$expand=manager`). Someone not read here (no object id yet, a failed read, owed
/// only after this visit's reminder) is looked up alone.
#[derive(Debug, Default)]
struct Managers(HashMap<String, Option<User>>);

impl Managers {
    async fn read(ctx: &RunCtx, page: &[OnboardingRecord]) -> Self {
        let ids: Vec<String> = page
            .iter()
            .filter(|r| ctx.owes_escalation(r))
            .filter_map(|r| r.object_id.as_ref().map(ToString::to_string))
            .collect();
        if ids.is_empty() {
            return Self::default();
        }
        let found = ctx.graph.find_managers(&ids).await;
        Self(
            ids.into_iter()
                .zip(found)
                .filter_map(|(id, manager)| match manager {
                    Ok(m) => Some((id, m)),
                    Err(e) => {
                        tracing::debug!(user = %id, error = %e, "manager not read with the page");
                        None
                    }
                })
                .collect(),
        )
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

/// Reminder number `reminder_count + 1`, rendered.
fn reminder(ctx: &RunCtx, rec: &OnboardingRecord) -> anyhow::Result<Email> {
    let number = rec.reminder_count + 1;
    let rendered = ctx.templates.render(
        Template::Reminder,
        &compose::reminder(&ctx.settings, rec, number),
    )?;
    Ok(Email {
        kind: MailKind::Reminder,
        to: rec.upn.clone(),
        rendered,
        event: StatusEvent::ReminderSent,
    })
}

/// Whom the person's escalation goes to: their manager (or the fallback address). `None`:
/// nobody — either the escalation was skipped with a note for the admin (no manager, not in the
/// directory; `escalation_date` is then set), or the manager could not be looked up now (the
/// next run retries).
async fn escalation_target(
    ctx: &RunCtx,
    managers: &Managers,
    rec: &mut OnboardingRecord,
    out: &mut PassOutcome,
) -> anyhow::Result<Option<Target>> {
    let Some(id) = object_id(ctx, rec).await? else {
        skip_escalation(ctx, rec, out, NOT_IN_DIRECTORY)?;
        return Ok(None);
    };
    let read = match managers.0.get(id.as_str()) {
        Some(m) => Ok(m.clone()),
        None => ctx.graph.get_manager(id.as_str()).await,
    };
    let manager = match read {
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
    if target.is_none() {
        skip_escalation(ctx, rec, out, NO_MANAGER)?;
    }
    Ok(target)
}

/// The note kept when a person has no manager (and no fallback is set).
pub const NO_MANAGER: &str = "No manager in Entra ID: escalation not sent.";
/// The note kept when the person is no longer in the directory at escalation time.
pub const NOT_IN_DIRECTORY: &str = "Escalation not sent: the person was not found in Entra ID.";

/// Records that the escalation cannot be sent: a note for the admin, not an error (the person's
/// other follow-ups and every other pass go on).
fn skip_escalation(
    ctx: &RunCtx,
    rec: &mut OnboardingRecord,
    out: &mut PassOutcome,
    note: &str,
) -> anyhow::Result<()> {
    out.notes.push(format!("{}: {note}", who(rec)));
    let note = note.to_string();
    rec.apply(StatusEvent::EscalationSkipped { note }, ctx.now())?;
    Ok(())
}
