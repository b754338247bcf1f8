//! A whole campaign in the tenant simulator: people uploaded, the worker run every 15 simulated
//! minutes on a shared [`ManualClock`], and a seeded behaviour model answering the emails the
//! simulator's outbox shows (opens, clicks, registrations, silence). Used by `bench campaign`
//! ([`crate::campaign_bench`]) and by the fault-injection suite (`bench/tests/campaign_faults.rs`),
//! which compares a faulty campaign's final state with a fault-free one of the same seed.
//!
//! The model acts between worker runs, through the same writes the handler makes (a click is the
//! handler's compare-and-set to `Clicked`, the group add through `GraphGroup`, a second write to
//! `AddedToGroup`; opens are coalesced `record_opens` calls), and registrations go straight into
//! the simulated directory, where the next check pass finds them in the registration report.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mfa_core::bootstrap::GraphTokens;
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::{Settings, Vars};
use mfa_core::domain::{
    BatchId, InviteStatus, NewPerson, OnboardingRecord, Source, StatusEvent, TrackingToken, Upn,
};
use mfa_core::graph::IssuedTokens;
use mfa_core::passes::{PassKind, RunReport, RunRequest};
use mfa_core::store::sqlite::SqliteStore;
use mfa_core::store::{SharedStore, StoreError, UploadBatch, UpsertMode};
use mfa_handler::group::{GraphGroup, GroupMembership};
use mfa_handler::settings::defaults::{OPEN_FLUSH_BATCH, OPEN_FLUSH_MS};
use mfa_worker::settings::WorkerSettings;
use mfa_worker::Worker;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tenant_sim::{
    Licence, Limits, MethodKind, NewUser, SentMail, SimClock, SimConfig, Simulator, Tenant,
};

/// How long the handler buffers email opens before writing them (`MFA_OPEN_FLUSH_MS` default).
const OPEN_FLUSH: Duration = Duration::milliseconds(OPEN_FLUSH_MS as i64);

/// Graph tokens from the simulator's in-process issuer (azure_identity talks only to real
/// authorities).
pub fn sim_tokens(sim: &Simulator) -> GraphTokens {
    let tenant = sim.tenant();
    GraphTokens::Supplied(Arc::new(IssuedTokens::new(move || tenant.issue_token())))
}

/// Monday 2 March 2026, 09:00 UTC: the upload.
pub fn campaign_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// How people answer the campaign's emails. Shares are percentages of everyone uploaded and
/// must add up to 100; the email a person acts on is decided once, from the seed.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Already registered before the campaign (made Active by the invitation pass, no email).
    pub already_registered: u32,
    /// Register after the invitation.
    pub after_invitation: u32,
    /// Register after reminder #1.
    pub after_reminder_1: u32,
    /// Register after reminder #2 (the one followed by the escalation to the manager).
    pub after_reminder_2: u32,
    /// Register after reminder #3 (the first after the escalation).
    pub after_reminder_3: u32,
    /// Never register (the rest).
    pub ignore: u32,
    /// Of those who act, percent who click the link first (the others register directly).
    pub click_percent: u32,
    /// Percent of emails that are opened (the pixel loads), whoever gets them.
    pub open_percent: u32,
    /// Hours from an email to the person acting on it: uniform in this range.
    pub act_after_hours: (u32, u32),
    /// Minutes from a click to the registration: uniform in this range.
    pub register_after_click_minutes: (u32, u32),
}

impl Default for Behaviour {
    /// The documented defaults (BENCHMARKS.md): 2 % already registered; 50 % act on the
    /// invitation, 20 % on reminder #1, 10 % on reminder #2, 8 % on reminder #3; 10 % never;
    /// 70 % of those who act click first; 60 % of emails opened; people act 1–72 h after the
    /// email and register 2–60 min after clicking.
    fn default() -> Self {
        Self {
            already_registered: 2,
            after_invitation: 50,
            after_reminder_1: 20,
            after_reminder_2: 10,
            after_reminder_3: 8,
            ignore: 10,
            click_percent: 70,
            open_percent: 60,
            act_after_hours: (1, 72),
            register_after_click_minutes: (2, 60),
        }
    }
}

/// What a person will do, decided from the seed before the campaign starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Registered before the upload.
    AlreadyRegistered,
    /// Acts on their email number `n` (0 = invitation, n = reminder #n); clicks first or not.
    ActsOn {
        /// Which email.
        email: u32,
        /// Clicks the link before registering.
        clicks: bool,
    },
    /// Never acts.
    Ignores,
}

impl Behaviour {
    /// Each person's plan, from `seed`.
    pub fn plans(&self, people: usize, seed: u64) -> anyhow::Result<Vec<Plan>> {
        let shares = [
            self.already_registered,
            self.after_invitation,
            self.after_reminder_1,
            self.after_reminder_2,
            self.after_reminder_3,
            self.ignore,
        ];
        anyhow::ensure!(
            shares.iter().sum::<u32>() == 100,
            "behaviour shares must add up to 100, got {shares:?}"
        );
        let mut rng = StdRng::seed_from_u64(seed);
        Ok((0..people)
            .map(|_| {
                let mut roll = rng.gen_range(0..100u32);
                let mut bucket = 0;
                while roll >= shares[bucket] {
                    roll -= shares[bucket];
                    bucket += 1;
                }
                let clicks = rng.gen_range(0..100) < self.click_percent;
                match bucket {
                    0 => Plan::AlreadyRegistered,
                    1..=4 => Plan::ActsOn {
                        email: bucket as u32 - 1,
                        clicks,
                    },
                    _ => Plan::Ignores,
                }
            })
            .collect())
    }
}

/// Everything a campaign run is set up with.
#[derive(Clone)]
pub struct CampaignConfig {
    /// People uploaded (each also in the directory, with a manager).
    pub people: usize,
    /// Sender mailboxes.
    pub mailboxes: usize,
    /// Seed of the behaviour model (and of the simulator's own random choices).
    pub seed: u64,
    /// How people behave.
    pub behaviour: Behaviour,
    /// People per manager (managers are directory users outside the campaign).
    pub team_size: usize,
    /// Give up (error) if the campaign is not over after this many simulated days.
    pub max_days: i64,
    /// Simulated minutes between worker runs (the orchestrator timer).
    pub run_every_minutes: i64,
    /// Extra worker settings (`MFA_…` pairs).
    pub extra_vars: Vec<(&'static str, String)>,
    /// Wraps the worker's store (the fault suite's failing writes); `None` = the SQLite store.
    pub wrap_store: Option<Arc<dyn Fn(SharedStore) -> SharedStore + Send + Sync>>,
    /// Request-log capacity of the simulator.
    pub request_log_capacity: usize,
    /// Percent of runs killed at a random await point (fault suite).
    pub kill_percent: u32,
    /// Range of polls after which a killed run is dropped.
    pub kill_polls: (u32, u32),
    /// The method person `i` registers: `methods[i % len]` (default: the Authenticator app,
    /// whose audit event names it; Windows Hello's names none, so events mode reads those).
    pub methods: Vec<MethodKind>,
    /// Run on the SharePoint list store (the simulator's list, at this many RU a minute, the
    /// store paced to it) instead of SQLite.
    pub sharepoint_ru: Option<u32>,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        Self {
            people: 300,
            mailboxes: 1,
            seed: 7,
            behaviour: Behaviour::default(),
            team_size: 10,
            max_days: 120,
            run_every_minutes: 15,
            extra_vars: Vec::new(),
            wrap_store: None,
            request_log_capacity: 5_000_000,
            kill_percent: 0,
            kill_polls: (1, 400),
            methods: vec![MethodKind::MicrosoftAuthenticator],
            sharepoint_ru: None,
        }
    }
}

/// A behaviour event due at a simulated instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Open,
    Click,
    Register,
}

/// A set-up campaign: simulator, store, worker, the people and the behaviour queue.
pub struct Campaign {
    /// The simulator (kept alive).
    pub sim: Simulator,
    /// The simulator's control handle.
    pub tenant: Tenant,
    /// The shared simulated clock.
    pub clock: ManualClock,
    /// The store as the worker sees it (wrapped when configured).
    pub store: SharedStore,
    /// The store underneath any wrapper (used by the people's own clicks and opens).
    pub raw_store: SharedStore,
    /// The worker.
    pub worker: Worker,
    /// The people's UPNs, in upload order.
    pub upns: Vec<Upn>,
    /// Each person's plan.
    pub plans: Vec<Plan>,
    cfg: CampaignConfig,
    tokens: Vec<TrackingToken>,
    index: BTreeMap<String, usize>,
    /// Emails (by number) each person has reacted to already.
    seen: Vec<u32>,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, usize, Action)>>,
    outbox_seen: usize,
    /// Request-log ranges of the harness's own reads (the end checks), left out of the
    /// requests-per-person table: they measure the bench, not the product.
    pub harness_requests: Vec<std::ops::Range<usize>>,
    rng: StdRng,
    group: GraphGroup,
    /// Worker runs so far (including failed ones).
    pub runs: u64,
    /// Each run's start and end on the simulated clock (kills included).
    pub run_spans: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Worker runs that returned an error (kills and refused restarts included).
    pub failed_runs: u64,
    /// Runs killed mid-way.
    pub kills: u64,
    /// Kills that left the run lease held.
    pub kills_holding_lease: u64,
    /// Restarts right after such a kill that were let in (the dead run's lease must refuse them).
    pub restarts_allowed: u64,
    kill_rng: StdRng,
    next_run: DateTime<Utc>,
    last_check: DateTime<Utc>,
    registered: usize,
    registered_people: Vec<bool>,
    escalated: Vec<bool>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Campaign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Campaign")
            .field("people", &self.upns.len())
            .field("runs", &self.runs)
            .finish_non_exhaustive()
    }
}

/// One person's final state, with the dates that depend on timing left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalState {
    /// Status.
    pub status: InviteStatus,
    /// In the Conditional Access group.
    pub in_group: bool,
    /// Escalated to the manager.
    pub escalated: bool,
    /// Clicked their link (a click date is set).
    pub clicked: bool,
    /// Stopped by an error.
    pub error: bool,
    /// An email intent left behind.
    pub send_intent: bool,
}

impl Campaign {
    /// Starts the simulator, fills the directory, uploads everyone and builds the worker.
    pub async fn setup(cfg: CampaignConfig) -> anyhow::Result<Campaign> {
        let clock = ManualClock::new(campaign_start());
        let c = clock.clone();
        let sim = Simulator::start(SimConfig {
            clock: SimClock::from_fn(Arc::new(move || c.now())),
            licence: Licence::P1,
            limits: Limits {
                sharepoint_ru_per_minute: cfg
                    .sharepoint_ru
                    .map_or(Limits::default().sharepoint_ru_per_minute, u64::from),
                ..Limits::default()
            },
            seed: cfg.seed,
            request_log_capacity: cfg.request_log_capacity,
            ..SimConfig::default()
        })
        .await?;
        let tenant = sim.tenant();
        let domain = tenant.domain();
        let group = tenant.add_group("MFA Required");
        let mailboxes: Vec<String> = (0..cfg.mailboxes.max(1))
            .map(|i| format!("mfa{i}@{domain}"))
            .collect();
        for m in &mailboxes {
            tenant.add_mailbox(m)?;
        }
        let plans = cfg.behaviour.plans(cfg.people, cfg.seed)?;
        let team = cfg.team_size.max(1);
        for t in 0..cfg.people.div_ceil(team) {
            let upn = format!("manager{t:05}@{domain}");
            tenant.add_user(NewUser {
                user_principal_name: upn.clone(),
                display_name: Some(format!("Manager {t}")),
                mail: Some(upn),
                account_enabled: Some(true),
                ..NewUser::default()
            })?;
        }
        let mut upns = Vec::with_capacity(cfg.people);
        let mut index = BTreeMap::new();
        for (i, plan) in plans.iter().enumerate() {
            let upn = format!("person{i:06}@{domain}");
            tenant.add_user(NewUser {
                user_principal_name: upn.clone(),
                display_name: Some(format!("Person {i}")),
                mail: Some(upn.clone()),
                account_enabled: Some(true),
                manager: Some(format!("manager{:05}@{domain}", i / team)),
                ..NewUser::default()
            })?;
            if *plan == Plan::AlreadyRegistered {
                tenant.register_mfa(&upn, MethodKind::MicrosoftAuthenticator)?;
            }
            index.insert(upn.clone(), i);
            upns.push(Upn::parse(&upn)?);
        }
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("campaign.db");
        let mut pairs: Vec<(&str, String)> = vec![
            ("MFA_STORE", format!("sqlite:{}", db.display())),
            ("MFA_GRAPH_BASE_URL", sim.base_url()),
            ("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test".into()),
            ("MFA_GROUP_ID", group.id.clone()),
            ("MFA_SENDER_MAILBOXES", mailboxes.join(",")),
            ("MFA_CHECK_MODE", "report".into()),
        ];
        pairs.extend(cfg.extra_vars.iter().cloned());
        let vars = Vars::from_pairs(pairs);
        let settings = Arc::new(Settings::from_vars(&vars)?);
        let extra = Arc::new(WorkerSettings::from_vars(&vars)?);
        let shared: SharedClock = Arc::new(clock.clone());
        let graph = mfa_worker::graph_client_with(&vars, shared.clone(), &sim_tokens(&sim))?;
        // The handler's own Graph client (same app identity), for the group add after a click.
        let handler_graph = mfa_core::bootstrap::graph_client_with(
            &vars,
            shared.clone(),
            &sim_tokens(&sim),
            |_| {},
        )?;
        let raw_store: SharedStore = match cfg.sharepoint_ru {
            Some(ru) => {
                let site = tenant.add_site("mfa");
                Arc::new(
                    mfa_core::store::sharepoint::SharePointStore::open(
                        handler_graph.clone(),
                        &site,
                        "MFA Onboarding",
                        mfa_core::store::sharepoint::Options {
                            ru_per_minute: ru,
                            processes: 1,
                            provision: true,
                        },
                    )
                    .await?,
                )
            }
            None => Arc::new(SqliteStore::open(db).await?),
        };
        let store = match &cfg.wrap_store {
            Some(wrap) => wrap(raw_store.clone()),
            None => raw_store.clone(),
        };
        raw_store
            .upsert_people(
                &UploadBatch {
                    batch_id: BatchId::parse("campaign")?,
                    source: Source::CsvUpload,
                    correlation_id: uuid::Uuid::new_v4(),
                    now: clock.now(),
                    mode: UpsertMode::KeepHistory,
                    hold: false,
                    target: None,
                },
                upns.iter().cloned().map(NewPerson::new).collect(),
            )
            .await?;
        let mut tokens = Vec::with_capacity(upns.len());
        for chunk in upns.chunks(500) {
            let mut recs = raw_store.get_many(chunk).await?;
            recs.sort_by(|a, b| a.upn.cmp(&b.upn));
            anyhow::ensure!(recs.len() == chunk.len(), "upload lost people");
            tokens.extend(recs.into_iter().map(|r| r.token));
        }
        let worker = Worker::new(store.clone(), graph, shared, settings, extra)?;
        let seed = cfg.seed;
        Ok(Campaign {
            sim,
            tenant,
            clock,
            store,
            raw_store,
            worker,
            seen: vec![0; upns.len()],
            registered_people: plans
                .iter()
                .map(|p| *p == Plan::AlreadyRegistered)
                .collect(),
            escalated: vec![false; plans.len()],
            upns,
            plans,
            tokens,
            index,
            queue: BinaryHeap::new(),
            outbox_seen: 0,
            harness_requests: Vec::new(),
            rng: StdRng::seed_from_u64(seed ^ 0x5eed),
            group: GraphGroup::new(handler_graph, group.id),
            cfg,
            runs: 0,
            run_spans: Vec::new(),
            failed_runs: 0,
            kills: 0,
            kills_holding_lease: 0,
            restarts_allowed: 0,
            kill_rng: StdRng::seed_from_u64(seed ^ 0x0dead),
            next_run: campaign_start(),
            last_check: campaign_start() - Duration::days(1),
            registered: 0,
            _dir: dir,
        })
    }

    /// Now, by the shared clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The request one orchestrator run makes.
    pub fn orchestrator_request() -> RunRequest {
        RunRequest {
            passes: PassKind::ORCHESTRATOR.to_vec(),
            now: None,
            dry_run: false,
            trigger: "timer".into(),
        }
    }

    /// Applies every behaviour event due up to `until`, moving the clock to each in turn. Opens
    /// are written as the handler writes them: buffered, and flushed once the oldest is
    /// [`OPEN_FLUSH`] old (the handler's `MFA_OPEN_FLUSH_MS` default) or 500 are waiting.
    pub async fn act_until(&mut self, until: DateTime<Utc>) -> anyhow::Result<()> {
        let mut opens: Vec<(TrackingToken, DateTime<Utc>)> = Vec::new();
        while let Some(Reverse((at, who, action))) = self.queue.peek().copied() {
            if at > until {
                break;
            }
            if opens
                .first()
                .is_some_and(|(_, first)| at - *first >= OPEN_FLUSH)
            {
                self.raw_store.record_opens(&opens).await?;
                opens.clear();
            }
            self.queue.pop();
            self.clock.advance_to(at);
            match action {
                Action::Open => opens.push((self.tokens[who], at)),
                Action::Click => self.click(who).await?,
                Action::Register => {
                    let methods = &self.cfg.methods;
                    let method = methods
                        .get(who % methods.len().max(1))
                        .copied()
                        .unwrap_or(MethodKind::MicrosoftAuthenticator);
                    self.tenant.register_mfa(self.upns[who].as_str(), method)?;
                    self.registered += 1;
                    self.registered_people[who] = true;
                }
            }
            if opens.len() >= OPEN_FLUSH_BATCH {
                self.raw_store.record_opens(&opens).await?;
                opens.clear();
            }
        }
        if !opens.is_empty() {
            self.raw_store.record_opens(&opens).await?;
        }
        self.clock.advance_to(until);
        Ok(())
    }

    /// The handler's click path: compare-and-set to `Clicked` (due now), the group add through
    /// Graph, then `AddedToGroup`. A failed group add leaves the person `Clicked` and due, for
    /// the worker, as in the handler.
    async fn click(&mut self, who: usize) -> anyhow::Result<()> {
        let Some(mut rec) = self.raw_store.get_by_token(&self.tokens[who]).await? else {
            return Ok(());
        };
        for _ in 0..5 {
            let now = self.now();
            if rec.status == InviteStatus::Active
                || rec.apply(StatusEvent::LinkClicked, now).is_err()
            {
                return Ok(());
            }
            rec.next_due_at = Some(now);
            rec.updated_at = now;
            match self.raw_store.update(&rec).await {
                Ok(saved) => {
                    rec = saved;
                    break;
                }
                Err(StoreError::Conflict { .. }) => {
                    match self.raw_store.get_by_token(&self.tokens[who]).await? {
                        Some(fresh) => rec = fresh,
                        None => return Ok(()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        if rec.status != InviteStatus::Clicked {
            return Ok(());
        }
        let Ok(id) = self
            .group
            .ensure_member(&rec.upn, rec.object_id.as_ref())
            .await
        else {
            return Ok(());
        };
        for _ in 0..5 {
            rec.object_id = Some(id.clone());
            if rec.in_group {
                return Ok(());
            }
            let _ = rec.apply(StatusEvent::GroupAdded, self.now());
            rec.updated_at = self.now();
            match self.raw_store.update(&rec).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => {
                    match self.raw_store.get_by_upn(&rec.upn).await? {
                        Some(fresh) => rec = fresh,
                        None => return Ok(()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Reads the emails sent since the last look and schedules what their recipients do.
    pub fn read_outbox(&mut self) {
        let new = self.tenant.outbox_since(self.outbox_seen);
        self.outbox_seen += new.len();
        for mail in &new {
            self.react(mail);
        }
    }

    fn react(&mut self, mail: &SentMail) {
        if mail_kind(mail) == "escalation" {
            // The escalation (a manager's digest) names each person (their UPN) in its body.
            for upn in mentioned_people(&mail.body) {
                if let Some(who) = self.index.get(&upn) {
                    self.escalated[*who] = true;
                }
            }
            return;
        }
        let Some(who) = mail
            .to
            .first()
            .and_then(|r| self.index.get(&r.address.to_ascii_lowercase()))
            .copied()
        else {
            return;
        };
        let number = email_number(mail);
        let b = &self.cfg.behaviour;
        if self.rng.gen_range(0..100) < b.open_percent {
            let at = mail.at + Duration::minutes(self.rng.gen_range(1..=24 * 60));
            self.queue.push(Reverse((at, who, Action::Open)));
        }
        // Each email (by number) is acted on once, however many copies arrive.
        let bit = 1u32 << number.min(31);
        if self.seen[who] & bit != 0 {
            return;
        }
        self.seen[who] |= bit;
        if let Plan::ActsOn { email, clicks } = self.plans[who] {
            if email == number {
                let (lo, hi) = b.act_after_hours;
                let at = mail.at
                    + Duration::minutes(self.rng.gen_range(lo * 60..=hi.max(lo) * 60).into());
                if clicks {
                    let (lo, hi) = b.register_after_click_minutes;
                    let later = at + Duration::minutes(self.rng.gen_range(lo..=hi.max(lo)).into());
                    self.queue.push(Reverse((at, who, Action::Click)));
                    self.queue.push(Reverse((later, who, Action::Register)));
                } else {
                    self.queue.push(Reverse((at, who, Action::Register)));
                }
            }
        }
    }

    /// One orchestrator run; a failed run is counted and the campaign goes on (as the timer
    /// would fire again). With `kill_percent`, some runs are dropped (the future is not polled
    /// again) after a random number of polls, like a process killed at an await point; right
    /// after a kill a restart is tried, which the dead run's lease must refuse.
    pub async fn run_once(&mut self) -> Option<RunReport> {
        let started = self.now();
        let report = self.run_once_inner().await;
        self.run_spans.push((started, self.now()));
        report
    }

    async fn run_once_inner(&mut self) -> Option<RunReport> {
        self.runs += 1;
        let kill_after = (self.kill_rng.gen_range(0..100) < self.cfg.kill_percent).then(|| {
            self.kill_rng
                .gen_range(self.cfg.kill_polls.0..=self.cfg.kill_polls.1)
        });
        let mut run = Box::pin(self.worker.run_passes(Self::orchestrator_request()));
        let mut polls = 0u32;
        let result = std::future::poll_fn(|cx| {
            polls += 1;
            if kill_after.is_some_and(|k| polls > k) {
                return std::task::Poll::Ready(None);
            }
            run.as_mut().poll(cx).map(Some)
        })
        .await;
        drop(run);
        let result = match result {
            Some(r) => r,
            None => {
                self.kills += 1;
                self.read_outbox();
                // Killed after taking the run lease (and before releasing it)? Then a restart
                // now must be refused until the lease lapses.
                let now = self.now();
                let held = self
                    .raw_store
                    .get_meta("worker.run-lease")
                    .await
                    .ok()
                    .flatten()
                    .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
                    .and_then(|v| v["until"].as_str().map(str::to_string))
                    .and_then(|u| DateTime::parse_from_rfc3339(&u).ok())
                    .is_some_and(|until| until > now);
                if held {
                    self.runs += 1;
                    self.kills_holding_lease += 1;
                    match self.worker.run_passes(Self::orchestrator_request()).await {
                        Ok(_) => self.restarts_allowed += 1,
                        Err(_) => self.failed_runs += 1,
                    }
                }
                Err(anyhow::anyhow!("killed after {} polls", polls - 1))
            }
        };
        self.read_outbox();
        match result {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::info!(error = %e, "campaign run failed");
                self.failed_runs += 1;
                None
            }
        }
    }

    /// Emails sent so far.
    pub fn outbox_len(&self) -> usize {
        self.outbox_seen
    }

    /// Number of people the model has made register (plus those registered before).
    pub fn registered(&self) -> usize {
        self.registered
            + self
                .plans
                .iter()
                .filter(|p| **p == Plan::AlreadyRegistered)
                .count()
    }

    /// Every record, in UPN order.
    pub async fn records(&self) -> anyhow::Result<Vec<OnboardingRecord>> {
        let mut out = Vec::with_capacity(self.upns.len());
        for chunk in self.upns.chunks(500) {
            out.extend(self.raw_store.get_many(chunk).await?);
        }
        out.sort_by(|a, b| a.upn.cmp(&b.upn));
        Ok(out)
    }

    /// The instant the campaign was over for `rec` (Active, or escalated while not Active), if
    /// it is.
    pub fn done_at(rec: &OnboardingRecord) -> Option<DateTime<Utc>> {
        let active = (rec.status == InviteStatus::Active)
            .then_some(rec.mfa_registration_date.or(Some(rec.updated_at)))
            .flatten();
        match (active, rec.escalation_date) {
            (Some(a), Some(e)) => Some(a.min(e)),
            (a, e) => a.or(e),
        }
    }

    /// True when everyone is Active or escalated (read from the store once the model says
    /// everyone who will register has).
    pub async fn is_over(&mut self) -> anyhow::Result<bool> {
        let planned_done = (0..self.upns.len())
            .filter(|&i| self.registered_people[i] || self.escalated[i])
            .count();
        if planned_done < self.upns.len() {
            return Ok(false);
        }
        let from = self.tenant.request_count();
        let recs = self.records().await;
        self.harness_requests
            .push(from..self.tenant.request_count());
        Ok(recs?.iter().all(|r| Self::done_at(r).is_some()))
    }

    /// One timer tick: the behaviour due before it, one run, and (at most once per simulated
    /// hour) the end check. Returns the instant the campaign was seen to be over.
    pub async fn step(&mut self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let limit = campaign_start() + Duration::days(self.cfg.max_days);
        self.act_until(self.next_run).await?;
        self.run_once().await;
        let now = self.now();
        if now - self.last_check >= Duration::hours(1) {
            self.last_check = now;
            if self.is_over().await? {
                return Ok(Some(now));
            }
        }
        anyhow::ensure!(
            now < limit,
            "campaign not over after {} simulated days ({} runs)",
            self.cfg.max_days,
            self.runs
        );
        self.next_run = (self.next_run + Duration::minutes(self.cfg.run_every_minutes)).max(now);
        Ok(None)
    }

    /// Runs the campaign to its end: behaviour between runs, a run every
    /// `run_every_minutes` (or right after a run that overran). Returns the instant the end was
    /// seen (the end itself is the latest [`Campaign::done_at`]).
    pub async fn run_to_end(&mut self) -> anyhow::Result<DateTime<Utc>> {
        loop {
            if let Some(end) = self.step().await? {
                return Ok(end);
            }
        }
    }

    /// Every person's final state, timing-dependent dates left out.
    pub async fn final_states(&self) -> anyhow::Result<Vec<(Upn, FinalState)>> {
        Ok(self
            .records()
            .await?
            .into_iter()
            .map(|r| {
                let s = FinalState {
                    status: r.status,
                    in_group: r.in_group,
                    escalated: r.escalated_to_manager,
                    clicked: r.clicked_link_date.is_some(),
                    error: r.error_details.is_some(),
                    send_intent: r.send_intent.is_some(),
                };
                (r.upn, s)
            })
            .collect())
    }

    /// Emails per (recipient, kind, reminder number) in the simulator's outbox; escalations are
    /// keyed by manager and person.
    pub fn emails_by_recipient(&self) -> BTreeMap<(String, String, u32), u32> {
        let mut out = BTreeMap::new();
        for m in self.tenant.outbox() {
            let to =
                m.to.first()
                    .map(|r| r.address.to_ascii_lowercase())
                    .unwrap_or_default();
            let kind = mail_kind(&m);
            if kind == "escalation" {
                // A manager is told once about each person (in digests): key it by both.
                for person in mentioned_people(&m.body) {
                    let key = (format!("{to} about {person}"), kind.clone(), 0);
                    *out.entry(key).or_insert(0) += 1;
                }
                continue;
            }
            *out.entry((to, kind, email_number(&m))).or_insert(0) += 1;
        }
        out
    }
}

/// The `x-mfa-onboarding` header of a sent email (invitation, reminder, escalation, report).
pub fn mail_kind(m: &SentMail) -> String {
    m.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-mfa-onboarding"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Which email of a person's sequence this is: 0 for the invitation, n for reminder #n.
pub fn email_number(m: &SentMail) -> u32 {
    m.subject
        .split_once("Reminder #")
        .and_then(|(_, rest)| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The `person000123@…` addresses in an email body (the people an escalation digest is about).
fn mentioned_people(body: &str) -> std::collections::BTreeSet<String> {
    body.match_indices("person")
        .map(|(at, _)| {
            let rest = &body[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-')))
                .unwrap_or(rest.len());
            rest[..end].to_ascii_lowercase()
        })
        .filter(|m| m.contains('@'))
        .collect()
}
