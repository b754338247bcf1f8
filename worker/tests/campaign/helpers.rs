//! A worker wired to a real SQLite store and the tenant simulator, sharing one manual clock.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use mfa_core::bootstrap::GraphTokens;
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::{Settings, Vars};
use mfa_core::domain::{BatchId, NewPerson, OnboardingRecord, Source, Upn};
use mfa_core::graph::IssuedTokens;
use mfa_core::passes::{PassKind, RunReport, RunRequest};
use mfa_core::store::{SharedStore, UploadBatch, UpsertMode};
use mfa_worker::settings::WorkerSettings;
use mfa_worker::Worker;
use tempfile::TempDir;
use tenant_sim::{Licence, Limits, NewUser, SentMail, SimClock, SimConfig, Simulator, Tenant};

/// Monday 2 March 2026, 09:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

pub struct TestEnv {
    /// Kept alive for the test's duration.
    pub _sim: Simulator,
    pub tenant: Tenant,
    pub clock: ManualClock,
    pub store: SharedStore,
    pub worker: Worker,
    pub group_id: String,
    pub mailboxes: Vec<String>,
    pub domain: String,
    _dir: TempDir,
}

pub struct Options {
    pub licence: Licence,
    pub limits: Limits,
    pub mailboxes: usize,
    pub extra: Vec<(&'static str, String)>,
    /// Use the SharePoint list store (on a simulator site) instead of SQLite.
    pub sharepoint: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            licence: Licence::P1,
            limits: Limits::default(),
            mailboxes: 1,
            extra: Vec::new(),
            sharepoint: false,
        }
    }
}

pub async fn spawn(opts: Options) -> TestEnv {
    mfa_core::telemetry::init_for_tests();
    let clock = ManualClock::new(t0());
    let c = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || c.now())),
        licence: opts.licence,
        limits: opts.limits,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let tenant = sim.tenant();
    let domain = tenant.domain();
    let group = tenant.add_group("MFA Required");
    let mailboxes: Vec<String> = (0..opts.mailboxes)
        .map(|i| format!("mfa{i}@{domain}"))
        .collect();
    for m in &mailboxes {
        tenant.add_mailbox(m).expect("mailbox");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // The simulator's tokens, issued in process (azure_identity talks only to real authorities).
    let issuer = tenant.clone();
    let tokens = GraphTokens::Supplied(Arc::new(IssuedTokens::new(move || issuer.issue_token())));
    let store_location = if opts.sharepoint {
        let site = tenant.add_site("mfa");
        let shared: SharedClock = Arc::new(clock.clone());
        let base = Vars::from_pairs(vec![("MFA_GRAPH_BASE_URL", sim.base_url())]);
        let graph = mfa_worker::graph_client_with(&base, shared, &tokens).expect("graph client");
        let report = mfa_worker::cli::provision_list(graph, &site, "MFA Onboarding")
            .await
            .expect("provision-list");
        let list = report["list"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        format!("sharepoint:{site}/{list}")
    } else {
        format!("sqlite:{}", dir.path().join("store.db").display())
    };
    let mut pairs: Vec<(&str, String)> = vec![
        ("MFA_STORE", store_location),
        ("MFA_GRAPH_BASE_URL", sim.base_url()),
        ("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test".into()),
        ("MFA_GROUP_ID", group.id.clone()),
        ("MFA_SENDER_MAILBOXES", mailboxes.join(",")),
        ("MFA_REPORT_RECIPIENTS", format!("it-admins@{domain}")),
        ("MFA_GRAPH_BACKOFF_BASE_MS", "10".into()),
    ];
    pairs.extend(opts.extra);
    let vars = Vars::from_pairs(pairs);
    let settings = Arc::new(Settings::from_vars(&vars).expect("settings"));
    let extra = Arc::new(WorkerSettings::from_vars(&vars).expect("worker settings"));
    let shared: SharedClock = Arc::new(clock.clone());
    let graph =
        mfa_worker::graph_client_with(&vars, shared.clone(), &tokens).expect("graph client");
    let store: SharedStore = mfa_core::bootstrap::open_store(&settings, Some(graph.clone()))
        .await
        .expect("store");
    let worker = Worker::new(store.clone(), graph, shared, settings, extra).expect("worker");
    TestEnv {
        _sim: sim,
        tenant,
        clock,
        store,
        worker,
        group_id: group.id,
        mailboxes,
        domain,
        _dir: dir,
    }
}

impl TestEnv {
    pub fn upn(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// Adds a person to the directory.
    pub fn add_user(&self, local: &str, name: &str, manager: Option<&str>) -> String {
        let upn = self.upn(local);
        self.tenant
            .add_user(NewUser {
                user_principal_name: upn.clone(),
                display_name: Some(name.to_string()),
                mail: Some(upn.clone()),
                account_enabled: Some(true),
                manager: manager.map(|m| self.upn(m)),
                ..NewUser::default()
            })
            .expect("user added");
        upn
    }

    /// Uploads people as an admin would.
    pub async fn upload(&self, upns: &[String]) {
        self.upload_batch("wave-1", upns).await;
    }

    /// Uploads people as batch `batch_id`.
    pub async fn upload_batch(&self, batch_id: &str, upns: &[String]) {
        self.upload_with(batch_id, upns, false).await;
    }

    /// Uploads people as batch `batch_id` aiming at `target`.
    pub async fn upload_target(
        &self,
        batch_id: &str,
        upns: &[String],
        target: mfa_core::domain::TargetStrength,
    ) {
        self.upload_full(batch_id, upns, false, Some(target)).await;
    }

    /// Uploads people as batch `batch_id`, held (nobody emailed until released) or not.
    pub async fn upload_with(&self, batch_id: &str, upns: &[String], hold: bool) {
        self.upload_full(batch_id, upns, hold, None).await;
    }

    async fn upload_full(
        &self,
        batch_id: &str,
        upns: &[String],
        hold: bool,
        target: Option<mfa_core::domain::TargetStrength>,
    ) {
        let people = upns
            .iter()
            .map(|u| NewPerson::new(Upn::parse(u).expect("valid upn")))
            .collect();
        let batch = UploadBatch {
            batch_id: BatchId::parse(batch_id).expect("batch"),
            source: Source::CsvUpload,
            correlation_id: uuid::Uuid::new_v4(),
            now: self.clock.now(),
            mode: UpsertMode::KeepHistory,
            hold,
            target,
        };
        self.store
            .upsert_people(&batch, people)
            .await
            .expect("upload");
    }

    pub async fn run(&self, passes: &[PassKind]) -> RunReport {
        self.worker
            .run_passes(RunRequest {
                passes: passes.to_vec(),
                now: None,
                dry_run: false,
                trigger: "test".into(),
            })
            .await
            .expect("run succeeds")
    }

    pub async fn orchestrate(&self) -> RunReport {
        self.run(&PassKind::ORCHESTRATOR).await
    }

    pub async fn record(&self, upn: &str) -> OnboardingRecord {
        self.store
            .get_by_upn(&Upn::parse(upn).expect("upn"))
            .await
            .expect("read")
            .expect("record exists")
    }

    pub fn advance_days(&self, days: i64) {
        self.clock
            .advance(std::time::Duration::from_secs(days as u64 * 86_400));
    }

    pub fn mail_to(&self, addr: &str) -> Vec<SentMail> {
        self.tenant
            .outbox()
            .into_iter()
            .filter(|m| m.to.iter().any(|r| r.address.eq_ignore_ascii_case(addr)))
            .collect()
    }

    pub fn assert_no_violations(&self) {
        let v = self.tenant.violations();
        assert!(v.is_empty(), "limit violations: {v:#?}");
    }
}
