//! The invitation pass: Pending people are resolved in Entra ID (unknown or disabled accounts
//! are recorded as errors and not retried until re-uploaded), people who already have MFA become
//! Active without an email, everyone else gets their invitation.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use mfa_core::control;
use mfa_core::domain::{
    BatchId, InviteStatus, MailKind, ObjectId, OnboardingRecord, StatusEvent, Upn,
};
use mfa_core::graph::{GraphError, User};
use mfa_core::passes::{PassKind, PassOutcome};
use mfa_core::store::DueQuery;

use super::{directory_key, who, MethodsRead};
use crate::context::{tally, Email, Emailed, RunCtx};
use crate::mail::{compose, Template};

/// Invitations claimed from one batch before the next batch's turn while several batches wait:
/// one `$batch` of directory reads, and a share fine enough that a run's sending capacity is
/// split evenly.
const FAIR_SHARE: usize = 20;

/// Where a batch's due sequence continues: the last row's `(next_due_at, upn)`.
type Cursor = (DateTime<Utc>, Upn);

/// Runs the invitation pass. Batches with people waiting take turns (round robin, the batch
/// with the oldest waiting person first), so a large upload does not hold a later one back
/// until it is through; within a batch, people are invited in upload order.
pub async fn run(ctx: &mut RunCtx) -> anyhow::Result<PassOutcome> {
    let mut out = PassOutcome {
        pass: Some(PassKind::Invitation),
        ..Default::default()
    };
    super::release::run(ctx, &mut out).await?;
    let mut cap = DailyCap::read(ctx).await?;
    let pending = [InviteStatus::Pending];
    let mut turns: VecDeque<(BatchId, Option<Cursor>)> = ctx
        .store
        .due_batches(&pending, ctx.now())
        .await?
        .into_iter()
        .map(|b| (b, None))
        .collect();
    while ctx.has_time() {
        let Some((batch, after)) = turns.pop_front() else {
            break;
        };
        // The last batch waiting takes whole pages.
        let limit = if turns.is_empty() {
            ctx.extra.page
        } else {
            FAIR_SHARE.min(ctx.extra.page)
        };
        let query = DueQuery {
            statuses: pending.to_vec(),
            now: ctx.now(),
            after,
            limit,
            batch: Some(batch.clone()),
        };
        let page = ctx.claim_due(&query).await?;
        // An empty page: nothing more due in this batch (or all of it claimed by another run).
        let Some(last) = page.last() else { continue };
        turns.push_back((batch, last.next_due_at.map(|d| (d, last.upn.clone()))));
        let page = resolve(ctx, page, &mut out).await?;
        let mut people = page.into_iter();
        for mut rec in people.by_ref() {
            if !ctx.has_time() {
                out.deferred += 1;
                continue;
            }
            let first = rec.invite_sent_date.is_none();
            if first && cap.reached(ctx) {
                out.notes.push(format!(
                    "MFA_INVITES_PER_DAY reached ({} first invitations today); the rest wait for tomorrow",
                    cap.sent
                ));
                out.deferred += 1 + people.len() as u64;
                return Ok(out);
            }
            match invite(ctx, &mut rec, &mut out).await? {
                Step::Emailed if first => cap.count(ctx).await?,
                Step::Emailed | Step::Done => {}
                Step::StopPass => {
                    out.deferred += 1 + people.len() as u64;
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// Whether anyone is waiting for an invitation now (one indexed store read).
pub async fn anyone_due(ctx: &RunCtx) -> anyhow::Result<bool> {
    Ok(!ctx
        .store
        .due_batches(&[InviteStatus::Pending], ctx.now())
        .await?
        .is_empty())
}

enum Step {
    /// Invited (or would be, in a dry run).
    Emailed,
    /// Nothing sent; on to the next person.
    Done,
    StopPass,
}

/// `MFA_INVITES_PER_DAY`: first invitations sent today (counted in the store as they go, so
/// every run and process shares one count; a run that crosses midnight starts the new day's).
struct DailyCap {
    cap: Option<u32>,
    day: chrono::NaiveDate,
    sent: u64,
}

impl DailyCap {
    async fn read(ctx: &RunCtx) -> anyhow::Result<Self> {
        let cap = ctx.settings.campaign.invites_per_day;
        let now = ctx.now();
        let sent = match cap {
            Some(_) => control::invites_today(ctx.store.as_ref()).await?.on(now),
            None => 0,
        };
        Ok(Self {
            cap,
            day: now.date_naive(),
            sent,
        })
    }

    fn reached(&mut self, ctx: &RunCtx) -> bool {
        let today = ctx.now().date_naive();
        if today != self.day {
            self.day = today;
            self.sent = 0;
        }
        self.cap.is_some_and(|cap| self.sent >= u64::from(cap))
    }

    async fn count(&mut self, ctx: &RunCtx) -> anyhow::Result<()> {
        self.sent += 1;
        if self.cap.is_some() && !ctx.dry_run {
            control::count_invites(ctx.store.as_ref(), 1, ctx.now()).await?;
        }
        Ok(())
    }
}

/// Resolves people without an object id and reads methods for everyone on the page, in `$batch`
/// requests. Returns the people who still need an invitation.
async fn resolve(
    ctx: &mut RunCtx,
    page: Vec<OnboardingRecord>,
    out: &mut PassOutcome,
) -> anyhow::Result<Vec<OnboardingRecord>> {
    let keys: Vec<String> = page.iter().map(directory_key).collect();
    let users = ctx.graph.find_users(&keys, false).await;
    let mut ready = Vec::with_capacity(page.len());
    let mut ids = Vec::new();
    for (mut rec, user) in page.into_iter().zip(users) {
        match user {
            Ok(Some(user)) if user.account_enabled == Some(false) => {
                fail(ctx, &mut rec, "The account is disabled in Entra ID.", out).await?;
            }
            Ok(Some(user)) => match ObjectId::parse(&user.id) {
                Ok(id) => {
                    fill_from_directory(&mut rec, &user, id.clone());
                    ids.push(id.to_string());
                    ready.push(rec);
                }
                Err(_) => {
                    fail(
                        ctx,
                        &mut rec,
                        "Entra ID returned an unusable object id.",
                        out,
                    )
                    .await?
                }
            },
            Ok(None) => fail(ctx, &mut rec, "No such user in Entra ID.", out).await?,
            Err(e) => {
                tracing::warn!(upn = who(&rec), error = %e, "could not look the person up; will retry");
                out.deferred += 1;
            }
        }
    }
    let now = ctx.now();
    let mut invite = Vec::with_capacity(ready.len());
    if let Some(as_of) = ctx.registration_as_of {
        // The report read at `as_of` marked everyone registered then Active. People who became
        // due later (uploaded since) were not in the store to be matched, and people whose
        // methods the phone pass looked at or changed since may have a phone now: read theirs.
        let mut unknown = Vec::new();
        let mut unknown_ids = Vec::new();
        for (mut rec, id) in ready.into_iter().zip(ids) {
            let covered = rec.next_due_at.is_some_and(|d| d <= as_of)
                && rec.phone_checked_at.is_none_or(|t| t < as_of);
            if covered {
                rec.mfa_state = mfa_core::domain::MfaState::NotRegistered;
                invite.push(rec);
            } else {
                unknown.push(rec);
                unknown_ids.push(id);
            }
        }
        ready = unknown;
        ids = unknown_ids;
    }
    if ready.is_empty() {
        return Ok(invite);
    }
    let methods = ctx.graph.list_methods_batch(&ids).await;
    for (mut rec, methods) in ready.into_iter().zip(methods) {
        match methods {
            Ok(m)
                if MethodsRead::of_methods(&m)
                    .meets(rec.target_or(ctx.settings.campaign.target)) =>
            {
                MethodsRead::of_methods(&m).note(&mut rec, now)?;
                rec.apply(StatusEvent::MfaRegistered, now)?;
                RunCtx::release(&mut rec);
                rec.send_intent = None;
                if ctx.dry_run {
                    out.notes.push(format!(
                        "{}: already registered, would mark Active",
                        who(&rec)
                    ));
                }
                let saved = ctx.save(&rec).await?;
                tally(out, saved.is_some(), false);
            }
            // Nothing, or something below the target: invited (the upgrade invitation when
            // they have something already).
            Ok(m) => {
                MethodsRead::of_methods(&m).note(&mut rec, now)?;
                invite.push(rec);
            }
            // Without the methods we cannot tell; sending is the safe side (the check pass
            // will mark them Active when it sees their registration).
            Err(e) => {
                tracing::warn!(upn = who(&rec), error = %e, "could not read methods; inviting anyway");
                invite.push(rec);
            }
        }
    }
    Ok(invite)
}

fn fill_from_directory(rec: &mut OnboardingRecord, user: &User, id: ObjectId) {
    rec.object_id = Some(id);
    if rec.display_name.is_none() {
        rec.display_name.clone_from(&user.display_name);
    }
    if rec.department.is_none() {
        rec.department.clone_from(&user.department);
    }
    if rec.job_title.is_none() {
        rec.job_title.clone_from(&user.job_title);
    }
}

async fn fail(
    ctx: &RunCtx,
    rec: &mut OnboardingRecord,
    why: &str,
    out: &mut PassOutcome,
) -> anyhow::Result<()> {
    rec.record_error(why);
    RunCtx::release(rec);
    out.errors += 1;
    if ctx.dry_run {
        out.notes.push(format!("{}: {why}", who(rec)));
    }
    let saved = ctx.save(rec).await?;
    tally(out, saved.is_some(), false);
    Ok(())
}

async fn invite(
    ctx: &mut RunCtx,
    rec: &mut OnboardingRecord,
    out: &mut PassOutcome,
) -> anyhow::Result<Step> {
    let rendered = ctx.templates.render(
        Template::Invitation,
        &compose::invitation(&ctx.settings, rec),
    )?;
    let email = Email {
        kind: MailKind::Invitation,
        to: rec.upn.clone(),
        rendered,
        event: StatusEvent::InvitationSent,
    };
    let step = match ctx.email(rec, email, out).await? {
        Emailed::Sent => {
            RunCtx::release(rec);
            let saved = ctx.save(rec).await?;
            tally(out, saved.is_some(), true);
            Step::Emailed
        }
        Emailed::DryRun => {
            tally(out, false, false);
            Step::Emailed
        }
        Emailed::Conflict => Step::Done,
        Emailed::Deferred => Step::StopPass,
        Emailed::Failed(GraphError::BadRequest { message, .. }) => {
            rec.record_error(format!("The invitation could not be sent: {message}"));
            RunCtx::release(rec);
            out.errors += 1;
            let saved = ctx.save(rec).await?;
            tally(out, saved.is_some(), false);
            Step::Done
        }
        Emailed::Failed(e) => {
            tracing::error!(error = %e, "sending failed; stopping invitations for this run");
            out.notes.push(format!("sending failed: {e}"));
            Step::StopPass
        }
    };
    Ok(step)
}
