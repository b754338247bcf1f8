//! `handler local`: the whole system on one machine, for trying it out.
//!
//! Starts the tenant simulator seeded with a demo organisation, the handler on SQLite with dev
//! admin sign-in and the portal, and the worker every few seconds, with time running faster than
//! real time so reminders and escalations happen while you watch. `--real-tenant` skips the
//! simulator and uses the Graph credentials and settings from the environment instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mfa_core::bootstrap::GraphTokens;
use mfa_core::clock::{Clock, ScaledClock, SharedClock, SystemClock};
use mfa_core::config::Vars;
use mfa_core::domain::{BatchId, NewPerson, Source, Upn};
use mfa_core::graph::IssuedTokens;
use mfa_core::store::{UploadBatch, UpsertMode};
use tenant_sim::{SimClock, SimConfig, Simulator};

use crate::settings::HandlerSettings;
use crate::startup::Application;
use crate::wiring::production_deps_with;

/// Options of `handler local` (its command line; see [`crate::cli`]).
#[derive(Debug, Clone, clap::Args)]
pub struct LocalOptions {
    /// Handler port.
    #[arg(long, value_name = "N", default_value_t = 7071)]
    pub port: u16,
    /// People in the demo organisation.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub people: usize,
    /// How much faster than real time the clock runs (2016: a week every five minutes).
    #[arg(long, value_name = "N", default_value_t = 2016.0)]
    pub speed: f64,
    /// Real seconds between worker runs.
    #[arg(
        long = "interval-seconds",
        value_name = "N",
        default_value = "5",
        value_parser = seconds
    )]
    pub interval: Duration,
    /// Do not upload the demo people at start (`upload` false).
    #[arg(long = "no-upload", action = clap::ArgAction::SetFalse)]
    pub upload: bool,
    /// Use the real tenant from the environment instead of the simulator
    /// (docs/deployment.md, "Running against a real tenant from a laptop").
    #[arg(long)]
    pub real_tenant: bool,
    /// Where the SQLite database lives (`local.db`; relative to the current directory).
    #[arg(long, value_name = "DIR", default_value = ".mfa-local")]
    pub data_dir: PathBuf,
    /// Start over: delete the local database first (the simulated tenant is new at every start;
    /// without this, people tracked in an earlier run are kept).
    #[arg(long)]
    pub reset: bool,
}

/// The local database's files in `dir` (the database and SQLite's WAL and shared-memory files).
fn database_files(dir: &std::path::Path) -> [PathBuf; 3] {
    ["local.db", "local.db-wal", "local.db-shm"].map(|f| dir.join(f))
}

/// Deletes the local database in `dir` (nothing else there); returns the files removed.
pub fn reset_data(dir: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for file in database_files(dir) {
        match std::fs::remove_file(&file) {
            Ok(()) => removed.push(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", file.display())),
        }
    }
    Ok(removed)
}

fn seconds(s: &str) -> Result<Duration, String> {
    s.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| "must be a whole number of seconds".to_string())
}

/// Runs local mode until Ctrl-C.
pub async fn run(opts: LocalOptions) -> anyhow::Result<()> {
    if opts.reset {
        let removed = reset_data(&opts.data_dir)?;
        eprintln!(
            "Starting over: removed {} file(s) of the local database in {}",
            removed.len(),
            opts.data_dir.display()
        );
    }
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("creating {}", opts.data_dir.display()))?;
    let db = opts.data_dir.join("local.db");
    let mut pairs: Vec<(String, String)> = std::env::vars().collect();
    let mut set = |k: &str, v: String| {
        pairs.retain(|(name, _)| name != k);
        pairs.push((k.to_string(), v));
    };
    set("MFA_STORE", format!("sqlite:{}", db.display()));
    set("FUNCTIONS_CUSTOMHANDLER_PORT", opts.port.to_string());
    if !(opts.real_tenant && std::env::var_os("MFA_PUBLIC_BASE_URL").is_some()) {
        set(
            "MFA_PUBLIC_BASE_URL",
            format!("http://localhost:{}", opts.port),
        );
    }
    set("MFA_ADMIN_AUTH", "dev".into());
    set("MFA_RUN_BUDGET_SECONDS", "3600".into());
    let (clock, sim): (SharedClock, Option<(Simulator, tenant_sim::DemoOrg)>) = if opts.real_tenant
    {
        (Arc::new(SystemClock), None)
    } else {
        let clock = Arc::new(ScaledClock::new(chrono::Utc::now(), opts.speed));
        let c = clock.clone();
        let sim = Simulator::start(SimConfig {
            clock: SimClock::from_fn(Arc::new(move || c.now())),
            ..SimConfig::default()
        })
        .await
        .context("starting the tenant simulator")?;
        let org = sim
            .tenant()
            .seed_demo(opts.people, 7)
            .context("seeding the demo organisation")?;
        set("MFA_GRAPH_BASE_URL", sim.base_url());
        set("MFA_GROUP_ID", org.group_id.clone());
        set("MFA_SENDER_MAILBOXES", org.sender_mailbox.clone());
        set(
            "MFA_REPORT_RECIPIENTS",
            format!("it-admins@{}", sim.tenant().domain()),
        );
        set("MFA_ORG_NAME", "Contoso (demo)".into());
        (clock, Some((sim, org)))
    };
    let vars = Vars::from_pairs(pairs);
    let settings = HandlerSettings::from_vars(&vars).context("local settings")?;
    // The simulator's tokens are handed in: azure_identity talks only to real authorities.
    let tokens = match &sim {
        Some((sim, _)) => {
            let tenant = sim.tenant();
            GraphTokens::Supplied(Arc::new(IssuedTokens::new(move || tenant.issue_token())))
        }
        None => GraphTokens::FromEnvironment,
    };
    let deps = production_deps_with(&settings, &vars, clock.clone(), &tokens).await?;
    let store = deps.store.clone();
    let runner = deps
        .runner
        .clone()
        .context("the worker could not start (see the log above)")?;
    if let (true, Some((_, org))) = (opts.upload, &sim) {
        let people = org
            .people
            .iter()
            .filter_map(|p| Upn::parse(p).ok())
            .map(NewPerson::new)
            .collect();
        let batch = UploadBatch {
            batch_id: BatchId::parse("demo").context("batch id")?,
            source: Source::CsvUpload,
            correlation_id: uuid::Uuid::new_v4(),
            now: clock.now(),
            mode: UpsertMode::KeepHistory,
            hold: false,
            target: None,
        };
        store.upsert_people(&batch, people).await?;
    }
    let app = Application::build(settings, deps).await?;
    let port = app.port();
    println!();
    println!("mfa-onboarding is running locally.");
    println!("  Portal (dev sign-in):  http://localhost:{port}/portal/");
    if let Some((sim, org)) = &sim {
        println!(
            "  Outbox (emails sent):  {}/_sim/outbox.html",
            sim.base_url()
        );
        println!("  Simulated tenant:      {} people, {} already registered, {} disabled; time runs {}x faster",
            org.people.len(), org.registered.len(), org.disabled.len(), opts.speed);
    }
    println!(
        "  Worker:                every {} s (real time)",
        opts.interval.as_secs()
    );
    println!("Press Ctrl-C to stop.");
    let worker = tokio::spawn(async move {
        let mut last_report_day = None;
        loop {
            let request = mfa_worker::scheduled_run(clock.now(), 0, &mut last_report_day);
            if let Err(e) = runner.run(request).await {
                tracing::warn!(error = format!("{e:#}"), "worker run failed");
            }
            tokio::time::sleep(opts.interval).await;
        }
    });
    let result = app.run_until_stopped().await;
    worker.abort();
    if let Some((sim, _)) = sim {
        sim.shutdown().await;
    }
    result
}
