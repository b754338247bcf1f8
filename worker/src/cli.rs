//! The `worker` command line: run passes outside Azure Functions.
//!
//! - `worker run-once [--pass P]… [--now <RFC 3339>] [--dry-run]`: one run, JSON report on stdout.
//! - `worker serve`: the orchestrator passes every `MFA_WORKER_INTERVAL_SECONDS`, and the report
//!   once a day after `--report-hour` (UTC).
//! - `worker provision-list --site <site-id> [--list <title>]`: create or complete the SharePoint
//!   list (columns, choices, indexes) and its meta list, adopt legacy rows, and print what was
//!   found and done as JSON.
//!
//! A command's result (JSON) is the only thing on stdout; every log line goes to stderr, so
//! `worker provision-list … | jq` works.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use mfa_core::bootstrap;
use mfa_core::clock::{SharedClock, SystemClock};
use mfa_core::config::{Settings, Vars};
use mfa_core::passes::{PassKind, RunRequest};

use crate::settings::WorkerSettings;
use crate::Worker;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "worker",
    version,
    about = "MFA onboarding worker: invitation, check, reminder, escalation and report passes"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run passes once and print what they did as JSON.
    RunOnce {
        /// Pass to run (repeatable): invitation, check, reminder, escalation, deadline, report,
        /// phone, enforce (the last two only when switched on; see docs/directory-passes.md).
        /// Default: the orchestrator's passes (check, escalation, reminder, invitation, deadline).
        #[arg(long = "pass", value_name = "PASS")]
        passes: Vec<PassKind>,
        /// Act as if it were this instant (RFC 3339), for tests and catch-up runs.
        #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
        /// Print who would get what; send and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the orchestrator passes in a loop, and the report once a day.
    Serve {
        /// UTC hour after which the daily report is sent.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..24))]
        report_hour: u32,
    },
    /// Create or complete the SharePoint list store's lists and adopt legacy rows (idempotent).
    ProvisionList {
        /// Graph site id (`host,site-guid,web-guid`).
        #[arg(long)]
        site: String,
        /// List title (or id of an existing list).
        #[arg(long, default_value = mfa_core::store::sharepoint::DEFAULT_LIST_TITLE)]
        list: String,
    },
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.to_utc())
        .map_err(|e| format!("expected an RFC 3339 instant like 2026-11-22T09:00:00Z: {e}"))
}

/// Builds the worker from the environment (logging to stderr).
pub async fn build(clock: SharedClock) -> anyhow::Result<Worker> {
    let vars = Vars::from_env();
    let settings = Arc::new(Settings::from_vars(&vars)?);
    mfa_core::telemetry::init_stderr(settings.log_format, settings.in_azure);
    for off in settings.disabled_features() {
        tracing::warn!("{off}");
    }
    let extra = Arc::new(WorkerSettings::from_vars(&vars)?);
    let graph = crate::graph_client_for(
        &settings,
        &vars,
        clock.clone(),
        &bootstrap::GraphTokens::FromEnvironment,
    )?;
    let store = bootstrap::open_store(&settings, Some(graph.clone())).await?;
    Worker::new(store, graph, clock, settings, extra)
}

/// Runs the command line. Returns the process exit code.
pub async fn main(cli: Cli) -> anyhow::Result<i32> {
    let clock: SharedClock = Arc::new(SystemClock);
    match cli.command {
        Command::RunOnce {
            passes,
            now,
            dry_run,
        } => {
            let worker = build(clock).await?;
            let passes = if passes.is_empty() {
                PassKind::ORCHESTRATOR.to_vec()
            } else {
                passes
            };
            let report = worker
                .run_passes(RunRequest {
                    passes,
                    now,
                    dry_run,
                    trigger: "cli".into(),
                })
                .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(0)
        }
        Command::ProvisionList { site, list } => {
            let vars = Vars::from_env();
            mfa_core::telemetry::init_stderr(mfa_core::config::LogFormat::Auto, false);
            let graph = crate::graph_client(&vars, clock)?;
            let report = provision_list(graph, &site, &list).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(0)
        }
        Command::Serve { report_hour } => {
            let worker = build(clock.clone()).await?;
            serve(&worker, clock, report_hour).await?;
            Ok(0)
        }
    }
}

/// Provisions the SharePoint lists on `site` and adopts legacy rows; returns what happened.
pub async fn provision_list(
    graph: mfa_core::graph::GraphClient,
    site: &str,
    list: &str,
) -> anyhow::Result<serde_json::Value> {
    use mfa_core::store::sharepoint::{Options, SharePointStore};
    tracing::info!(site, list, "provisioning the SharePoint list");
    let provision = SharePointStore::provision(&graph, site, list, Options::default()).await?;
    let store = SharePointStore::open(graph, site, &provision.list.id, Options::default()).await?;
    let adoption = store.adopt().await?;
    tracing::info!(list = %provision.list.id, "list provisioned");
    Ok(serde_json::json!({
        "site": provision.site,
        "list": provision.list,
        "metaList": provision.meta,
        "adoption": adoption,
    }))
}

async fn serve(worker: &Worker, clock: SharedClock, report_hour: u32) -> anyhow::Result<()> {
    let interval = worker.settings().worker_interval;
    let mut last_report_day = None;
    loop {
        let request = crate::scheduled_run(clock.now(), report_hour, &mut last_report_day);
        match worker.run_passes(request).await {
            Ok(report) => {
                tracing::info!(report = %serde_json::to_string(&report).unwrap_or_default(), "run complete")
            }
            Err(e) => tracing::error!(error = format!("{e:#}"), "run failed"),
        }
        tokio::select! {
            _ = clock.sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("stopping");
                return Ok(());
            }
        }
    }
}
