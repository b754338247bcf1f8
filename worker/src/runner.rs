//! [`Worker`]: runs passes under a run lease and a time budget. Implements
//! [`PassRunner`] for the handler's timers and admin API, and backs the `worker` binary.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use mfa_core::clock::{Clock, SharedClock};
use mfa_core::config::Settings;
use mfa_core::control;
use mfa_core::domain::{InviteStatus, MailKind, TargetStrength, Upn};
use mfa_core::graph::GraphClient;
use mfa_core::imports::Importer;
use mfa_core::passes::{
    FoundPeople, PassKind, PassOutcome, PassRunner, PassState, RunReport, RunRequest, SampleEmail,
};
use mfa_core::store::{Lease, SharedStore, Store};
use serde::{Deserialize, Serialize};

use crate::context::RunCtx;
use crate::mail::{compose, SendLimiter, Template, Templates};
use crate::passes::{check, enforce, events, followup, invitation, phone, pilot, report};
use crate::settings::WorkerSettings;

/// Meta key of the run lease: one run at a time across processes.
const RUN_LEASE_KEY: &str = "worker.run-lease";
/// What a pass skipped because of the pause reports.
const PAUSED_NOTE: &str = "the campaign is paused: nothing is sent until an admin resumes it";
/// How long past its budget a crashed run's leases last.
const LEASE_MARGIN: Duration = Duration::minutes(2);

/// Mail log entries deleted per store call after the passes (5 `$batch` requests on
/// SharePoint, ~2.5 s of a 5,000 RU/min budget: the most a run goes past its deadline).
const PRUNE_CHUNK: usize = 100;

/// The worker: the store, Graph, the clock and the settings its passes need.
pub struct Worker {
    store: SharedStore,
    graph: GraphClient,
    clock: SharedClock,
    settings: Arc<Settings>,
    extra: Arc<WorkerSettings>,
    templates: Arc<Templates>,
    importer: Importer,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct RunLease {
    owner: String,
    until: DateTime<Utc>,
}

/// A clock shifted by a fixed offset, for runs given their own "now".
#[derive(Debug)]
struct OffsetClock {
    base: SharedClock,
    offset: Duration,
}

#[async_trait]
impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        self.base.now() + self.offset
    }
    async fn sleep(&self, duration: StdDuration) {
        self.base.sleep(duration).await;
    }
}

impl Worker {
    /// A worker over `store` and `graph`. Loads (and so checks) the email templates.
    pub fn new(
        store: SharedStore,
        graph: GraphClient,
        clock: SharedClock,
        settings: Arc<Settings>,
        extra: Arc<WorkerSettings>,
    ) -> anyhow::Result<Self> {
        let templates = Arc::new(Templates::load(extra.template_dir.as_deref())?);
        let importer = Importer::new(store.clone(), clock.clone());
        Ok(Self {
            importer,
            store,
            graph,
            clock,
            settings,
            extra,
            templates,
        })
    }

    /// A run's context (one constructor for runs and previews).
    #[allow(clippy::too_many_arguments)]
    fn context(
        &self,
        clock: SharedClock,
        lease: Lease,
        deadline: DateTime<Utc>,
        dry_run: bool,
        escalating: bool,
        limiter: SendLimiter,
        control: control::CampaignControl,
    ) -> RunCtx {
        let read_at = (std::time::Instant::now(), clock.now());
        RunCtx {
            store: self.store.clone(),
            graph: self.graph.clone(),
            clock,
            settings: self.settings.clone(),
            extra: self.extra.clone(),
            templates: self.templates.clone(),
            lease,
            deadline,
            dry_run,
            escalating,
            limiter,
            budget_exhausted: false,
            registration_as_of: None,
            events_checked: false,
            reads_until: None,
            pilot: None,
            out_of_scope: Default::default(),
            control_read: Some(read_at),
            control,
        }
    }

    /// An email as it would be sent now, rendered with the templates in use: the invitation,
    /// reminder or escalation about `upn`, or the admin report. Nothing is stored or sent.
    /// `None`: no such person.
    pub async fn sample_email(
        &self,
        kind: MailKind,
        upn: Option<&Upn>,
    ) -> anyhow::Result<Option<SampleEmail>> {
        let now = self.clock.now();
        let rec = match upn {
            Some(upn) => match self.store.get_by_upn(upn).await? {
                Some(rec) => Some(rec),
                None => return Ok(None),
            },
            None => None,
        };
        let need_person =
            || anyhow::anyhow!("a {} is about one person: name them", kind.header_value());
        let (template, to, rendered) = match kind {
            MailKind::Invitation => {
                let rec = rec.ok_or_else(need_person)?;
                let data = compose::invitation(&self.settings, &rec);
                (
                    Template::Invitation,
                    vec![rec.upn.to_string()],
                    self.templates.render(Template::Invitation, &data)?,
                )
            }
            MailKind::Reminder => {
                let rec = rec.ok_or_else(need_person)?;
                let data = compose::reminder(&self.settings, &rec, rec.reminder_count + 1);
                (
                    Template::Reminder,
                    vec![rec.upn.to_string()],
                    self.templates.render(Template::Reminder, &data)?,
                )
            }
            MailKind::Escalation => {
                let rec = rec.ok_or_else(need_person)?;
                let manager = rec
                    .manager_upn
                    .as_ref()
                    .map(Upn::to_string)
                    .or_else(|| {
                        self.settings
                            .campaign
                            .escalation_fallback
                            .as_ref()
                            .map(Upn::to_string)
                    })
                    .unwrap_or_else(|| "(their manager, looked up when sent)".to_string());
                let data =
                    compose::escalation(&self.settings, std::slice::from_ref(&rec), &manager);
                (
                    Template::Escalation,
                    vec![manager],
                    self.templates.render(Template::Escalation, &data)?,
                )
            }
            MailKind::Report => {
                let mailboxes = self.settings.sender_mailboxes.clone().unwrap_or_default();
                let limiter = SendLimiter::new(self.settings.mail_limits, &mailboxes, &[], now);
                let lease = Lease {
                    owner: "preview".into(),
                    until: now,
                };
                let control = control::load(self.store.as_ref()).await?;
                let ctx = self.context(
                    self.clock.clone(),
                    lease,
                    now,
                    true,
                    false,
                    limiter,
                    control,
                );
                let to = self
                    .settings
                    .report_recipients
                    .as_ref()
                    .map(|r| r.iter().map(Upn::to_string).collect())
                    .unwrap_or_default();
                (Template::Report, to, report::render(&ctx, now).await?)
            }
        };
        Ok(Some(SampleEmail {
            kind: kind.header_value().to_string(),
            to,
            subject: rendered.subject,
            html: rendered.html,
            text: rendered.text,
            templates: self.templates.sources(template),
        }))
    }

    /// Everyone in the tenant (or in `group`) who does not meet `below`, from the registration
    /// report (Entra ID P1), without guests and disabled accounts. Reads only.
    pub async fn find_people(
        &self,
        below: TargetStrength,
        group: Option<String>,
    ) -> anyhow::Result<FoundPeople> {
        crate::passes::find::find_people(&self.graph, below, group).await
    }

    /// The shared settings the worker runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Runs `request`: takes the run lease, runs each pass until done or out of time, releases.
    #[tracing::instrument(skip_all, fields(trigger = %request.trigger, dry_run = request.dry_run))]
    pub async fn run_passes(&self, request: RunRequest) -> anyhow::Result<RunReport> {
        let clock: SharedClock = match request.now {
            Some(at) => Arc::new(OffsetClock {
                base: self.clock.clone(),
                offset: at - self.clock.now(),
            }),
            None => self.clock.clone(),
        };
        let started = clock.now();
        let run_id = format!("run-{}", uuid::Uuid::new_v4());
        let budget = Duration::from_std(self.settings.run_budget).unwrap_or(Duration::minutes(12));
        let deadline = started + budget;
        let lease = Lease {
            owner: run_id.clone(),
            until: deadline + LEASE_MARGIN,
        };
        // Without a token every pass and person would only repeat the same failure: find out
        // once, before claiming anything. (The token is cached, so this costs nothing usually;
        // a failure is remembered briefly, so a run right after one also stops at once.)
        self.graph.check_credential().await.map_err(|e| {
            anyhow::Error::new(e)
                .context("Microsoft Graph has no token for this run; nothing was done")
        })?;
        if !request.dry_run && !self.take_run_lease(&lease, started).await? {
            return Err(mfa_core::passes::RunBusy.into());
        }
        let log = self
            .store
            .sends_since(SendLimiter::log_needed_since(started))
            .await?;
        let mailboxes = self.settings.sender_mailboxes.clone().unwrap_or_default();
        let limiter = SendLimiter::new(self.settings.mail_limits, &mailboxes, &log, started);
        let control = control::load(self.store.as_ref()).await?;
        let escalating = self.settings.sender_mailboxes.is_ok()
            && request.passes.contains(&PassKind::Escalation)
            && !control.is_paused();
        let mut ctx = self.context(
            clock,
            lease.clone(),
            deadline,
            request.dry_run,
            escalating,
            limiter,
            control,
        );
        let request = RunRequest {
            passes: self.with_directory_passes(&request.passes),
            ..request
        };
        let passes = async {
            let result = match self.resolve_pilot(&mut ctx).await {
                Ok(()) => self.run_in(&mut ctx, &request).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(outcomes) => self.note_pilot(&ctx, outcomes).await,
                Err(e) => Err(e),
            }
        };
        // Alongside the passes: imports a recycled instance left are written on, within this
        // run's budget (their rows become people the next passes invite).
        let imports = self.resume_imports(request.dry_run);
        let (result, ()) = tokio::join!(passes, imports);
        if !request.dry_run {
            self.prune_mail_log(&ctx).await;
            self.release_run_lease(&lease).await;
        }
        let passes = result?;
        let report = RunReport {
            run_id,
            passes,
            budget_exhausted: ctx.budget_exhausted,
        };
        tracing::info!(run = %report.run_id, passes = report.passes.len(), budget_exhausted = report.budget_exhausted, "run finished");
        Ok(report)
    }

    async fn run_in(
        &self,
        ctx: &mut RunCtx,
        request: &RunRequest,
    ) -> anyhow::Result<Vec<PassOutcome>> {
        let mailing_on = ctx.settings.sender_mailboxes.is_ok();
        // Paused: no pass sends anything (the send itself refuses too, for a pause that starts
        // mid-run); links, clicks, group additions and registrations go on.
        let paused = ctx.control.is_paused();
        let mut outcomes = Vec::new();
        let mut followup_done = false;
        for pass in &request.passes {
            // A credential that failed mid-run fails every call until it recovers: stop here
            // rather than run the remaining passes person by person into the same error.
            if let Some(e) = ctx.graph.credential_failure() {
                let done: Vec<String> = outcomes
                    .iter()
                    .filter_map(|o: &PassOutcome| o.pass.map(|p| p.to_string()))
                    .collect();
                return Err(anyhow::Error::new(e).context(format!(
                    "Microsoft Graph lost its token; the run stopped before {pass} (passes done: {})",
                    if done.is_empty() { "none".to_string() } else { done.join(", ") }
                )));
            }
            let span = tracing::info_span!("pass", pass = %pass);
            let _guard = span.enter();
            match pass {
                PassKind::Invitation | PassKind::Report if paused => outcomes.push(PassOutcome {
                    pass: Some(*pass),
                    notes: vec![PAUSED_NOTE.into()],
                    ..Default::default()
                }),
                PassKind::Check => {
                    // Confirmation and per-user reads wait on the reports limit (5 per 10 s); left
                    // alone they can fill a whole run while invitations and reminders wait. With
                    // mail due, the check gets `MFA_CHECK_SHARE_PERCENT` of what is left of the
                    // run; what it does not reach, the next run picks up (watermark / cursor).
                    // (A full report read is not cut: one page per 999 people, and an unfinished
                    // read starts over.)
                    let share = ctx.extra.check_share_percent as i32;
                    if share < 100 && mailing_on && mail_due(ctx, request).await? {
                        let left = ctx.deadline - ctx.now();
                        ctx.reads_until = Some(ctx.now() + left * share / 100);
                    }
                    let outcome = check::run(ctx).await;
                    ctx.reads_until = None;
                    outcomes.push(outcome?)
                }
                PassKind::Invitation if mailing_on => {
                    // Invite nobody who has registered: one report read (about one request per
                    // 999 people, at most every `MFA_REPORT_EVERY_MINUTES`) is far cheaper than
                    // reading each invitee's methods. Needed when this run's check did not read
                    // it (no check pass, or events) and someone is waiting for an invitation.
                    if ctx.registration_as_of.is_none()
                        && (!request.passes.contains(&PassKind::Check) || ctx.events_checked)
                        && invitation::anyone_due(ctx).await?
                    {
                        if let Some(o) = check::report_if_licensed(ctx).await? {
                            outcomes.push(o);
                        }
                    }
                    outcomes.push(invitation::run(ctx).await?)
                }
                PassKind::Reminder | PassKind::Escalation | PassKind::Deadline => {
                    if followup_done {
                        continue;
                    }
                    followup_done = true;
                    let actions = followup::Actions {
                        reminder: mailing_on
                            && !paused
                            && request.passes.contains(&PassKind::Reminder),
                        escalation: ctx.escalating,
                        deadline: request.passes.contains(&PassKind::Deadline),
                    };
                    let results = followup::run(ctx, actions).await?;
                    outcomes.extend(
                        results
                            .into_iter()
                            .filter(|o| o.pass.is_some_and(|p| request.passes.contains(&p))),
                    );
                }
                PassKind::Report if mailing_on => {
                    outcomes.push(report::run(ctx, request.trigger != "timer").await?)
                }
                PassKind::Phone => outcomes.push(phone::run(ctx).await?),
                PassKind::Enforce => outcomes.push(enforce::run(ctx).await?),
                other => outcomes.push(PassOutcome {
                    pass: Some(*other),
                    notes: vec!["sending email is off (MFA_SENDER_MAILBOXES)".into()],
                    ..Default::default()
                }),
            }
        }
        Ok(outcomes)
    }

    /// Deletes mail log entries no limiter counts any more, [`PRUNE_CHUNK`] at a time, while
    /// the run has time left: never before sending (on SharePoint a day's entries cost as
    /// many deletes as sends, which would hold back the run's first emails), so a run that
    /// sends until its deadline leaves them to a quieter run (the 10,000-a-day cap leaves most
    /// runs of a day quiet). Failures are logged: the entries only wait for the next run.
    async fn prune_mail_log(&self, ctx: &RunCtx) {
        let before = SendLimiter::log_needed_since(ctx.now());
        let mut pruned = 0;
        while ctx.now() < ctx.deadline {
            match self.store.prune_sends(before, PRUNE_CHUNK).await {
                Ok(0) => break,
                Ok(n) => pruned += n,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning the mail log failed; the next run tries again");
                    break;
                }
            }
        }
        if pruned > 0 {
            tracing::info!(pruned, "mail log entries older than a day deleted");
        }
    }

    /// Resumes the imports nobody holds, until the run's budget is spent. Failures are logged:
    /// the import stays running and the next run tries again.
    async fn resume_imports(&self, dry_run: bool) {
        if dry_run {
            return;
        }
        let deadline = self.clock.now()
            + chrono::Duration::from_std(self.settings.run_budget).unwrap_or_default();
        match self.importer.resume(Some(deadline)).await {
            Ok(done) => {
                for i in done {
                    tracing::info!(import = %i.id, state = i.state.as_str(), written = i.rows_written, left = i.rows_left(), "import resumed by the worker");
                }
            }
            Err(e) => tracing::warn!(error = ?e, "resuming imports failed"),
        }
    }

    /// `passes` with the enabled directory passes added when it includes the check pass (the
    /// orchestrator's runs): `phone` first, so prepopulated people are not invited, and
    /// `enforce` last, after this run's registrations are known.
    fn with_directory_passes(&self, passes: &[PassKind]) -> Vec<PassKind> {
        let d = &self.extra.directory;
        let mut out = passes.to_vec();
        if passes.contains(&PassKind::Check) {
            if d.phone_prepopulate && !out.contains(&PassKind::Phone) {
                out.insert(0, PassKind::Phone);
            }
            if d.per_user_mfa.is_some() && !out.contains(&PassKind::Enforce) {
                out.push(PassKind::Enforce);
            }
        }
        out
    }

    /// Resolves the pilot group once for the run (`MFA_PILOT_GROUP`); a failure stops the run.
    async fn resolve_pilot(&self, ctx: &mut RunCtx) -> anyhow::Result<()> {
        if let Some(group) = &self.extra.directory.pilot_group {
            ctx.pilot = Some(Arc::new(pilot::resolve(&ctx.graph, group).await?));
        }
        Ok(())
    }

    /// Records the pilot snapshot for the dashboard and says in the first outcome how many
    /// people the run left alone.
    async fn note_pilot(
        &self,
        ctx: &RunCtx,
        mut outcomes: Vec<PassOutcome>,
    ) -> anyhow::Result<Vec<PassOutcome>> {
        let Some(scope) = &ctx.pilot else {
            return Ok(outcomes);
        };
        let snap = pilot::snapshot(&ctx.store, scope, ctx.now(), !ctx.dry_run).await?;
        let note = format!(
            "pilot group {}: {} members; {} tracked people in scope, {} out of scope (left as they are; {} of them due this run)",
            snap.group_name.as_deref().unwrap_or(&snap.group_id),
            snap.members,
            snap.in_scope,
            snap.out_of_scope,
            ctx.out_of_scope.len()
        );
        match outcomes.first_mut() {
            Some(first) => first.notes.insert(0, note),
            None => outcomes.push(PassOutcome {
                notes: vec![note],
                ..Default::default()
            }),
        }
        Ok(outcomes)
    }

    async fn take_run_lease(&self, lease: &Lease, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let ours = serde_json::to_string(&RunLease {
            owner: lease.owner.clone(),
            until: lease.until,
        })?;
        for _ in 0..3 {
            let current = self.store.get_meta(RUN_LEASE_KEY).await?;
            let held = current
                .as_deref()
                .and_then(|c| serde_json::from_str::<RunLease>(c).ok())
                .is_some_and(|l| l.until > now);
            if held {
                return Ok(false);
            }
            if self
                .store
                .compare_and_set_meta(RUN_LEASE_KEY, current.as_deref(), Some(&ours))
                .await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn release_run_lease(&self, lease: &Lease) {
        let ours = serde_json::to_string(&RunLease {
            owner: lease.owner.clone(),
            until: lease.until,
        });
        if let Ok(ours) = ours {
            if let Err(e) = self
                .store
                .compare_and_set_meta(RUN_LEASE_KEY, Some(&ours), None)
                .await
            {
                tracing::warn!(error = %e, "could not release the run lease; it lapses by itself");
            }
        }
    }
}

#[async_trait]
impl PassRunner for Worker {
    async fn run(&self, request: RunRequest) -> anyhow::Result<RunReport> {
        self.run_passes(request).await
    }

    async fn sample_email(
        &self,
        kind: MailKind,
        upn: Option<&Upn>,
    ) -> anyhow::Result<Option<SampleEmail>> {
        Worker::sample_email(self, kind, upn).await
    }

    async fn find_people(
        &self,
        below: TargetStrength,
        group: Option<String>,
    ) -> anyhow::Result<FoundPeople> {
        Worker::find_people(self, below, group).await
    }

    async fn state(&self) -> anyhow::Result<PassState> {
        pass_state(self.store.as_ref()).await
    }
}

/// What the passes last recorded for admins, read from their bookkeeping in `store`. A value
/// that no longer reads as its type (an older or damaged entry) is left out rather than shown.
pub async fn pass_state(store: &dyn Store) -> anyhow::Result<PassState> {
    let detection_mode = store.get_meta(check::MODE_KEY).await?;
    let reconciliation = store
        .get_meta(events::RECONCILE_KEY)
        .await?
        .and_then(|s| serde_json::from_str::<events::Reconciliation>(&s).ok())
        .map(serde_json::to_value)
        .transpose()?;
    let pilot = store
        .get_meta(pilot::META_KEY)
        .await?
        .and_then(|s| serde_json::from_str::<pilot::PilotSnapshot>(&s).ok())
        .map(serde_json::to_value)
        .transpose()?;
    let registration_campaign = store
        .get_meta(report::CAMPAIGN_KEY)
        .await?
        .and_then(|s| serde_json::from_str(&s).ok());
    let tenant_strength = store
        .get_meta(report::TENANT_KEY)
        .await?
        .and_then(|s| serde_json::from_str(&s).ok());
    Ok(PassState {
        detection_mode,
        reconciliation,
        pilot,
        registration_campaign,
        tenant_strength,
    })
}

/// Whether this run has mail to send: someone waiting for an invitation, or (when the run
/// includes those passes) someone due for a reminder or escalation. Two indexed store reads.
async fn mail_due(ctx: &RunCtx, request: &RunRequest) -> anyhow::Result<bool> {
    if request.passes.contains(&PassKind::Invitation) && invitation::anyone_due(ctx).await? {
        return Ok(true);
    }
    if !request
        .passes
        .iter()
        .any(|p| matches!(p, PassKind::Reminder | PassKind::Escalation))
    {
        return Ok(false);
    }
    let query = mfa_core::store::DueQuery {
        statuses: vec![
            InviteStatus::Sent,
            InviteStatus::Clicked,
            InviteStatus::AddedToGroup,
        ],
        now: ctx.now(),
        after: None,
        limit: 1,
        batch: None,
    };
    Ok(!ctx.store.due(&query).await?.is_empty())
}

#[cfg(test)]
mod tests {
    use mfa_core::store::sqlite::SqliteStore;

    use super::*;

    #[tokio::test]
    async fn pass_state_reads_what_the_passes_recorded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("s.db"))
            .await
            .expect("store");
        assert_eq!(
            pass_state(&store).await.expect("state"),
            PassState::default()
        );

        store
            .set_meta(check::MODE_KEY, "events")
            .await
            .expect("meta");
        store
            .set_meta(
                events::RECONCILE_KEY,
                r#"{"lastAt":"2026-03-03T09:00:00Z","source":"report","lastFound":2,"runningFound":0,"totalFound":5}"#,
            )
            .await
            .expect("meta");
        store
            .set_meta(
                pilot::META_KEY,
                r#"{"groupId":"g1","groupName":"MFA Pilot","members":3,"inScope":3,"outOfScope":7,"at":"2026-03-02T09:00:00Z"}"#,
            )
            .await
            .expect("meta");
        let state = pass_state(&store).await.expect("state");
        assert_eq!(state.detection_mode.as_deref(), Some("events"));
        let rec = state.reconciliation.expect("reconciliation");
        assert_eq!(
            (rec["lastFound"].as_u64(), rec["totalFound"].as_u64()),
            (Some(2), Some(5))
        );
        assert_eq!(rec["inProgress"], false, "{rec}");
        let pilot = state.pilot.expect("pilot");
        assert_eq!(pilot["outOfScope"], 7);
        assert_eq!(pilot["groupName"], "MFA Pilot");

        store
            .set_meta(events::RECONCILE_KEY, "not json")
            .await
            .expect("meta");
        store
            .set_meta(pilot::META_KEY, r#"{"groupId":1}"#)
            .await
            .expect("meta");
        let state = pass_state(&store).await.expect("state");
        assert_eq!((state.reconciliation, state.pilot), (None, None));
    }
}
