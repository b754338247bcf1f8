//! The worker: replaces both Logic Apps of the old design with passes over the store.
//!
//! - [`runner`]: [`Worker`], which runs passes under a run lease and a time budget and
//!   implements `mfa_core::passes::PassRunner` for the handler's timers and admin API.
//! - [`passes`]: invitation, check, follow-up (reminders, escalation, deadline), report, and
//!   the opt-in phone, enforce and pilot-scope passes.
//! - [`context`]: what a run carries through its passes (lease, budget, limiter, helpers).
//! - [`mail`]: templates, email content and the Exchange sending limits.
//! - [`settings`]: settings only the worker reads.
//! - [`directory`]: settings and phone number normalisation of the opt-in directory passes
//!   (pilot group, phone prepopulation, per-user MFA enforcement).
//! - [`cli`]: the `worker` command line (`run-once`, `serve`).

pub mod cli;
pub mod context;
pub mod directory;
pub mod mail;
pub mod passes;
pub mod runner;
pub mod settings;

pub use runner::Worker;

/// The Graph client the worker uses: the shared one, with the client's own mail pacing off
/// because the worker's [`mail::SendLimiter`] paces every mailbox, across runs, from the mail log.
pub fn graph_client(
    vars: &mfa_core::config::Vars,
    clock: mfa_core::clock::SharedClock,
) -> anyhow::Result<mfa_core::graph::GraphClient> {
    graph_client_with(
        vars,
        clock,
        &mfa_core::bootstrap::GraphTokens::FromEnvironment,
    )
}

/// [`graph_client`] with its tokens from `tokens` (local mode, tests and benchmarks supply the
/// tenant simulator's).
pub fn graph_client_with(
    vars: &mfa_core::config::Vars,
    clock: mfa_core::clock::SharedClock,
    tokens: &mfa_core::bootstrap::GraphTokens,
) -> anyhow::Result<mfa_core::graph::GraphClient> {
    mfa_core::bootstrap::graph_client_with(vars, clock, tokens, |s| s.mail_per_minute = 0)
}

/// [`graph_client_with`] for the Graph section of `settings` (validated at start-up with the
/// rest): what the binaries use.
pub fn graph_client_for(
    settings: &mfa_core::config::Settings,
    vars: &mfa_core::config::Vars,
    clock: mfa_core::clock::SharedClock,
    tokens: &mfa_core::bootstrap::GraphTokens,
) -> anyhow::Result<mfa_core::graph::GraphClient> {
    let mut graph = settings.graph.clone();
    graph.mail_per_minute = 0;
    mfa_core::bootstrap::graph_client_for(graph, vars, clock, tokens)
}

/// The request of one scheduled run of a long-running worker (`worker serve`, local mode): the
/// orchestrator's passes, plus the report once a day from `report_hour` (UTC) on.
pub fn scheduled_run(
    now: chrono::DateTime<chrono::Utc>,
    report_hour: u32,
    last_report_day: &mut Option<chrono::NaiveDate>,
) -> mfa_core::passes::RunRequest {
    use chrono::Timelike;
    use mfa_core::passes::PassKind;
    let mut passes = PassKind::ORCHESTRATOR.to_vec();
    if now.hour() >= report_hour && *last_report_day != Some(now.date_naive()) {
        passes.push(PassKind::Report);
        *last_report_day = Some(now.date_naive());
    }
    mfa_core::passes::RunRequest {
        passes,
        now: None,
        dry_run: false,
        trigger: "timer".into(),
    }
}
