//! What one run carries through its passes: its id and lease, its time budget, the sending
//! limiter, the dry-run switch, and the helpers every pass uses to send and to write.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use mfa_core::clock::SharedClock;
use mfa_core::config::Settings;
use mfa_core::control::{self, CampaignControl};
use mfa_core::domain::{Hold, MailKind, OnboardingRecord, StatusEvent, Upn};
use mfa_core::graph::{GraphClient, GraphError, Mail};
use mfa_core::passes::PassOutcome;
use mfa_core::store::{DueQuery, Lease, SendLogEntry, SharedStore, StoreError};

use crate::mail::{Rendered, SendLimiter, Templates};
use crate::passes::pilot::{self, PilotScope};
use crate::settings::WorkerSettings;

/// Everything a run shares with its passes.
pub struct RunCtx {
    /// The store.
    pub store: SharedStore,
    /// Microsoft Graph.
    pub graph: GraphClient,
    /// The run's clock (the worker's, shifted when a run is given its own "now").
    pub clock: SharedClock,
    /// Shared settings.
    pub settings: Arc<Settings>,
    /// Worker settings.
    pub extra: Arc<WorkerSettings>,
    /// Email templates.
    pub templates: Arc<Templates>,
    /// This run's claim on the people it processes.
    pub lease: Lease,
    /// No new work starts after this instant.
    pub deadline: DateTime<Utc>,
    /// Report only; send and write nothing.
    pub dry_run: bool,
    /// This run escalates (the escalation pass is on and mail can be sent): a person who owes
    /// an escalation is due at once ([`Self::next_due`]).
    pub escalating: bool,
    /// Sending limits across all mailboxes.
    pub limiter: SendLimiter,
    /// Set once a pass ran out of time.
    pub budget_exhausted: bool,
    /// Start of the complete registration-report read this run trusts (read in this run, or
    /// less than `MFA_REPORT_EVERY_MINUTES` ago): people tracked and due by then who are not
    /// Active were not registered as of the report, so the invitation pass reads methods only for
    /// people who became due later (a newer upload).
    pub registration_as_of: Option<DateTime<Utc>>,
    /// Set when this run's check used directory audit events: registered people not yet in
    /// the events are unknown, so the invitation pass still wants the (hourly) report.
    pub events_checked: bool,
    /// While the check pass runs with mail due: when its one-by-one reads (event confirmations,
    /// per-user laps) stop, leaving the rest of the run to the mail passes.
    pub reads_until: Option<DateTime<Utc>>,
    /// The pilot group's members, resolved once per run when `MFA_PILOT_GROUP` is set: passes
    /// then touch nobody else.
    pub pilot: Option<Arc<PilotScope>>,
    /// People this run left alone because they are outside the pilot.
    pub out_of_scope: HashSet<Upn>,
    /// The admin's campaign controls (pause, past pauses, releases), as last read.
    pub control: CampaignControl,
    /// When [`Self::control`] was read (wall clock, and the run's clock): a run re-reads it
    /// before a send once either has moved [`CONTROL_FRESH`] on (a run that waits for sending
    /// capacity waits on its clock), so a pause stops a run already going.
    pub control_read: Option<(std::time::Instant, DateTime<Utc>)>,
}

/// How old the campaign controls may be when a run decides to send.
pub const CONTROL_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// How an attempt to send ended.
#[derive(Debug)]
pub enum SendOutcome {
    /// Accepted by Exchange (202).
    Sent {
        /// The mailbox it went from.
        mailbox: Upn,
    },
    /// No capacity left in this run (limits or time): try again next run.
    Deferred,
    /// Refused: the error says whether it is the message's fault or the mailbox's.
    Failed(GraphError),
}

impl RunCtx {
    /// Now, by the run's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// True while the run may start more work.
    pub fn has_time(&mut self) -> bool {
        let ok = self.now() < self.deadline;
        if !ok {
            self.budget_exhausted = true;
        }
        ok
    }

    /// True while the check pass may start more one-by-one reads: the run has time and the
    /// check's share of it ([`Self::reads_until`]) is not used up.
    pub fn has_read_time(&mut self) -> bool {
        let now = self.now();
        self.reads_until.is_none_or(|until| now < until) && self.has_time()
    }

    /// True while the campaign is paused, by controls at most [`CONTROL_FRESH`] old.
    pub async fn paused(&mut self) -> anyhow::Result<bool> {
        let now = self.now();
        let fresh = Duration::from_std(CONTROL_FRESH).unwrap_or_default();
        if self
            .control_read
            .is_none_or(|(wall, run)| wall.elapsed() >= CONTROL_FRESH || now - run >= fresh)
        {
            self.control = control::load(self.store.as_ref()).await?;
            self.control_read = Some((std::time::Instant::now(), now));
        }
        Ok(self.control.is_paused())
    }

    /// `t` moved by the time the campaign spent paused since it: the reference point of every
    /// due time counted from a person's last email, so resuming sends no burst of reminders.
    pub fn shifted(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        t + self.control.paused_between(t, self.now())
    }

    /// When the person's next reminder is due: the reminder interval after their last email
    /// (moved by pauses).
    pub fn reminder_at(&self, rec: &OnboardingRecord) -> DateTime<Utc> {
        let last_email = rec
            .last_reminder_date
            .max(rec.invite_sent_date)
            .unwrap_or_else(|| self.now());
        self.shifted(last_email) + self.settings.campaign.reminder_interval
    }

    /// When the optional deadline rule adds the person to the group without a click (moved by
    /// pauses).
    pub fn deadline_at(&self, rec: &OnboardingRecord) -> Option<DateTime<Utc>> {
        let first = rec.invite_sent_date?;
        let d = self.extra.deadline_for(Some(first))?;
        Some(d + self.control.paused_between(first, self.now()))
    }

    /// Whether the pilot scope (if any) includes `rec`.
    pub fn in_scope(&self, rec: &OnboardingRecord) -> bool {
        self.pilot.as_ref().is_none_or(|p| p.contains(rec))
    }

    /// `page` without the people outside the pilot scope (who are counted, not touched).
    pub fn keep_in_scope(&mut self, page: Vec<OnboardingRecord>) -> Vec<OnboardingRecord> {
        match &self.pilot {
            None => page,
            Some(scope) => pilot::keep_members(scope, page, &mut self.out_of_scope),
        }
    }

    /// One page of due people for a pass, claimed under the run's lease (read only in a dry
    /// run). With a pilot scope, people outside it are read but never claimed or returned: the
    /// read moves on past them until it finds members or the end, so a page that is all
    /// outsiders does not end the pass early.
    pub async fn claim_due(&mut self, query: &DueQuery) -> anyhow::Result<Vec<OnboardingRecord>> {
        if self.pilot.is_none() {
            return Ok(if self.dry_run {
                self.store.due(query).await?
            } else {
                self.store.claim_due(query, &self.lease).await?
            });
        }
        let mut q = query.clone();
        loop {
            let page = self.store.due(&q).await?;
            let Some(last) = page.last() else {
                return Ok(Vec::new());
            };
            let full = page.len() >= q.limit;
            q.after = last.next_due_at.map(|d| (d, last.upn.clone()));
            let now = self.now();
            let members: Vec<OnboardingRecord> = self
                .keep_in_scope(page)
                .into_iter()
                .filter(|r| !r.is_leased_by_other(&self.lease.owner, now))
                .collect();
            let mut claimed = Vec::with_capacity(members.len());
            for mut rec in members {
                if self.dry_run {
                    claimed.push(rec);
                    continue;
                }
                rec.lease_owner = Some(self.lease.owner.clone());
                rec.lease_until = Some(self.lease.until);
                match self.store.update(&rec).await {
                    Ok(saved) => claimed.push(saved),
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if !claimed.is_empty() || !full || q.after.is_none() {
                return Ok(claimed);
            }
        }
    }

    /// Emails a person (or their manager about them), the one way every pass does it; see
    /// [`Self::email_about`], of which this is the one-person case.
    pub async fn email(
        &mut self,
        rec: &mut OnboardingRecord,
        email: Email,
        out: &mut PassOutcome,
    ) -> anyhow::Result<Emailed> {
        let (emailed, mut people) = self.email_about(vec![rec.clone()], email, out).await?;
        if let Some(saved) = people.pop() {
            *rec = saved;
        }
        Ok(emailed)
    }

    /// Sends one email about `people` (one person, or a manager's digest of several):
    /// 1. a dry run only notes what would be sent;
    /// 2. the intent is written to each record first, so that a run dying after the send is
    ///    reconciled instead of silently sending twice (someone else changed a person meanwhile:
    ///    they are left out; nobody left: nothing is sent);
    /// 3. the mail limiter picks the mailbox and the moment ([`Self::send`]);
    /// 4. on acceptance the email's lifecycle event is applied to each record and each is
    ///    rescheduled ([`Self::next_due`]), for the caller to save; otherwise the intents are
    ///    cleared and saved.
    ///
    /// Returns the outcome and the records still part of it (as written).
    pub async fn email_about(
        &mut self,
        people: Vec<OnboardingRecord>,
        email: Email,
        out: &mut PassOutcome,
    ) -> anyhow::Result<(Emailed, Vec<OnboardingRecord>)> {
        // Held or excluded by an admin: nobody emails them, nobody emails about them. They are
        // due again only when an admin releases or includes them.
        let (on_hold, people): (Vec<_>, Vec<_>) =
            people.into_iter().partition(OnboardingRecord::is_held);
        let mut left_alone = Vec::with_capacity(on_hold.len());
        for mut rec in on_hold {
            out.notes.push(format!(
                "{}: {} by an admin; not emailed",
                rec.upn,
                rec.hold.map_or("held", |h| if h == Hold::Excluded {
                    "excluded"
                } else {
                    "held"
                })
            ));
            rec.next_due_at = None;
            Self::release(&mut rec);
            left_alone.push(self.save(&rec).await?.unwrap_or(rec));
        }
        if people.is_empty() {
            return Ok((Emailed::Conflict, left_alone));
        }
        if self.dry_run {
            if self.paused().await? {
                out.notes
                    .push("the campaign is paused: nothing would be sent".to_string());
                return Ok((Emailed::Deferred, people));
            }
            // The limiter decides as in a real run (in memory only), so a preview counts what
            // the next run can send, not everything due.
            let now = self.now();
            match self.limiter.next_slot(1, now) {
                Some((mailbox, at)) if at < self.deadline => {
                    self.limiter.record(&mailbox, at.max(now), 1)
                }
                _ => {
                    self.budget_exhausted = true;
                    return Ok((Emailed::Deferred, people));
                }
            }
            let by_batch = out
                .planned
                .entry(email.kind.header_value().to_string())
                .or_default();
            if let Some(first) = people.first() {
                *by_batch.entry(first.batch_id.to_string()).or_default() += 1;
            }
            let others = people.len().saturating_sub(1);
            for rec in &people {
                let would = match email.kind {
                    MailKind::Invitation => {
                        format!("would send the invitation \"{}\"", email.rendered.subject)
                    }
                    MailKind::Reminder => {
                        format!("would send reminder #{}", rec.reminder_count + 1)
                    }
                    MailKind::Escalation if others > 0 => format!(
                        "would escalate to {} (one email about {} people)",
                        email.to,
                        others + 1
                    ),
                    MailKind::Escalation => format!("would escalate to {}", email.to),
                    MailKind::Report => "would send the report".to_string(),
                };
                out.notes.push(format!("{}: {would}", rec.upn));
            }
            return Ok((Emailed::DryRun, people));
        }
        let mut held = Vec::with_capacity(people.len());
        for mut rec in people {
            if rec.send_intent.is_some() {
                tracing::warn!(
                    upn = %rec.upn,
                    "an earlier run stopped while emailing this person; sending again"
                );
            }
            rec.send_intent = Some(email.kind);
            rec.send_intent_at = Some(self.now());
            match self.save(&rec).await? {
                Some(saved) => held.push(saved),
                None => out
                    .notes
                    .push(format!("{}: changed meanwhile; next run", rec.upn)),
            }
        }
        let Some(first) = held.first() else {
            return Ok((Emailed::Conflict, held));
        };
        let correlation = first.correlation_id.to_string();
        let outcome = self
            .send(
                vec![email.to.to_string()],
                email.rendered,
                email.kind,
                &correlation,
            )
            .await?;
        for rec in &mut held {
            rec.send_intent = None;
            rec.send_intent_at = None;
        }
        let result = match outcome {
            SendOutcome::Sent { mailbox } => {
                let now = self.now();
                let from = format!("from {mailbox}");
                for rec in &mut held {
                    rec.apply_with(email.event.clone(), now, Some(&from))?;
                    rec.next_due_at = Some(self.next_due(rec));
                }
                return Ok((Emailed::Sent, held));
            }
            SendOutcome::Deferred => Emailed::Deferred,
            SendOutcome::Failed(e) => Emailed::Failed(e),
        };
        let mut saved_all = Vec::with_capacity(held.len());
        for rec in held {
            saved_all.push(self.save(&rec).await?.unwrap_or(rec));
        }
        Ok((result, saved_all))
    }

    /// Sends `rendered` to `to` from the mailbox that can send soonest, waiting (on the clock)
    /// for capacity inside the run's budget. The mail log entry is written before the send, so
    /// the limits are never under-counted, even if the process dies mid-send.
    pub async fn send(
        &mut self,
        to: Vec<String>,
        rendered: Rendered,
        kind: MailKind,
        correlation: &str,
    ) -> anyhow::Result<SendOutcome> {
        // The admin's kill switch: no email of any kind leaves while the campaign is paused.
        if self.paused().await? {
            return Ok(SendOutcome::Deferred);
        }
        let recipients = u32::try_from(to.len()).unwrap_or(u32::MAX);
        let now = self.now();
        let Some((mailbox, at)) = self.limiter.next_slot(recipients, now) else {
            return Ok(SendOutcome::Deferred);
        };
        if at >= self.deadline {
            self.budget_exhausted = true;
            return Ok(SendOutcome::Deferred);
        }
        if at > now {
            let wait = (at - now).to_std().unwrap_or_default();
            self.clock.sleep(wait).await;
        }
        // A pause may have come while the run waited for the slot.
        if self.paused().await? {
            return Ok(SendOutcome::Deferred);
        }
        // The entry carries the time its write left (the SharePoint store may wait for RUs
        // first): the next run's limiter, primed from the log, must not count the send earlier
        // than it happened.
        let sent_at = self
            .store
            .log_send(&SendLogEntry {
                mailbox: mailbox.clone(),
                at: self.now().max(at),
                recipients,
            })
            .await?;
        self.limiter.record(&mailbox, sent_at, recipients);
        let mail = Mail {
            to,
            cc: Vec::new(),
            subject: rendered.subject,
            html: rendered.html,
            text: Some(rendered.text),
            headers: vec![
                (
                    "x-mfa-onboarding".to_string(),
                    kind.header_value().to_string(),
                ),
                ("x-mfa-correlation-id".to_string(), correlation.to_string()),
            ],
        };
        let result = self.graph.send_mail(mailbox.as_str(), &mail).await;
        // Retries inside the Graph client may have delivered it later than planned.
        self.limiter.delay_last(&mailbox, self.now());
        match result {
            Ok(()) => Ok(SendOutcome::Sent { mailbox }),
            Err(e) => Ok(SendOutcome::Failed(e)),
        }
    }

    /// Compare-and-set write of `rec` (nothing in a dry run). On a conflict the caller gets
    /// `Ok(None)`: someone else changed the person, and this run leaves them alone.
    pub async fn save(&self, rec: &OnboardingRecord) -> anyhow::Result<Option<OnboardingRecord>> {
        if self.dry_run {
            return Ok(Some(rec.clone()));
        }
        let mut rec = rec.clone();
        rec.updated_at = self.now();
        match self.store.update(&rec).await {
            Ok(saved) => Ok(Some(saved)),
            Err(StoreError::Conflict { upn, .. }) => {
                tracing::info!(%upn, "record changed by someone else; left for the next run");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The lease released on `rec`, for writing after its work is done.
    pub fn release(rec: &mut OnboardingRecord) {
        rec.lease_owner = None;
        rec.lease_until = None;
    }

    /// When an invited person next needs the worker, from the campaign settings: the next
    /// reminder (the reminder interval after their last email), their deadline, or — when this run
    /// escalates — the end of the escalation grace period, whichever comes first; never in the
    /// past (now if an escalation is owed), so a person whose reminder could not go out is looked
    /// at again one interval later.
    pub fn next_due(&self, rec: &OnboardingRecord) -> DateTime<Utc> {
        let now = self.now();
        let escalation = self.escalation_at(rec).filter(|_| self.escalating);
        if escalation.is_some_and(|t| t <= now) {
            return now;
        }
        let interval = self.settings.campaign.reminder_interval;
        let last_email = rec
            .last_reminder_date
            .max(rec.invite_sent_date)
            .unwrap_or(now);
        let reminder = self.reminder_at(rec);
        let mut due = match self.deadline_at(rec) {
            Some(d) if !rec.in_group && d > last_email => reminder.min(d),
            _ => reminder,
        };
        if let Some(t) = escalation {
            due = due.min(t);
        }
        if due <= now {
            now + interval
        } else {
            due
        }
    }

    /// When the person's manager is to be told: the escalation grace period after the reminder
    /// that made it owed (moved by pauses) (`None`: not owed, or already done or skipped).
    pub fn escalation_at(&self, rec: &OnboardingRecord) -> Option<DateTime<Utc>> {
        let campaign = &self.settings.campaign;
        if rec.reminder_count < campaign.escalate_after_reminders || rec.escalation_date.is_some() {
            return None;
        }
        let last_email = rec.last_reminder_date.max(rec.invite_sent_date)?;
        Some(self.shifted(last_email) + campaign.escalation_grace)
    }

    /// True when the person's manager is to be told now.
    pub fn owes_escalation(&self, rec: &OnboardingRecord) -> bool {
        self.escalation_at(rec).is_some_and(|t| t <= self.now())
    }
}

/// One email to or about a person: what it is, whom it goes to, and the lifecycle event its
/// acceptance stamps on the person's record.
#[derive(Debug)]
pub struct Email {
    /// What kind of email.
    pub kind: MailKind,
    /// The recipient (the person, or their manager).
    pub to: Upn,
    /// The rendered message.
    pub rendered: Rendered,
    /// Applied to the record when the mail service accepts the email.
    pub event: StatusEvent,
}

/// How emailing a person ended ([`RunCtx::email`]).
#[derive(Debug)]
pub enum Emailed {
    /// Accepted: the event is applied and the person rescheduled; the caller saves the record
    /// (with whatever else the visit changed).
    Sent,
    /// A dry run: noted, nothing sent or written.
    DryRun,
    /// The person changed meanwhile (someone else wrote first), or an admin holds or excluded
    /// them: nothing sent, leave them.
    Conflict,
    /// No sending capacity left in this run: nothing sent, the record is saved; stop emailing.
    Deferred,
    /// The mail service refused: the record is saved without the intent; the error says whether
    /// the message or the mailbox was at fault.
    Failed(GraphError),
}

/// Records one person's outcome in a pass's tally.
pub fn tally(outcome: &mut PassOutcome, changed: bool, email: bool) {
    outcome.examined += 1;
    if changed {
        outcome.changed += 1;
    }
    if email {
        outcome.emails_sent += 1;
    }
}

/// A short interval used to spread retries of people left for later.
pub fn soon() -> Duration {
    Duration::minutes(1)
}
