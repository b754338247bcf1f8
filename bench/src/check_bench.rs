//! `bench check-pass`: Graph requests per person for one MFA check pass, in report mode
//! (licensed tenant, Entra ID P1) and per-user mode (Free: method reads in `$batch` of 20), with
//! the simulator at the published limits and a manual clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::{Settings, Vars};
use mfa_core::domain::{BatchId, NewPerson, ObjectId, Source, StatusEvent, Upn};
use mfa_core::passes::{PassKind, RunRequest};
use mfa_core::store::sqlite::SqliteStore;
use mfa_core::store::{SharedStore, UploadBatch, UpsertMode};
use mfa_worker::settings::WorkerSettings;
use mfa_worker::Worker;
use tenant_sim::{Licence, Limits, MethodKind, NewUser, SimClock, SimConfig, Simulator};

use crate::campaign::sim_tokens;
use crate::procstat;

/// Options of `bench check-pass`.
#[derive(Debug, Clone)]
pub struct Options {
    /// People tracked.
    pub people: usize,
    /// Percent of them who have registered MFA before the pass.
    pub registered_percent: usize,
}

struct Measured {
    label: String,
    requests: BTreeMap<String, u64>,
    throttled: u64,
    violations: usize,
    examined: u64,
    changed: u64,
    cpu_s: f64,
    wall_s: f64,
    sim_s: i64,
    budget_exhausted: bool,
}

async fn one(opts: &Options, licence: Licence, label: &str) -> anyhow::Result<Vec<Measured>> {
    let start = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("bad start"))?;
    let clock = ManualClock::new(start);
    let c = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || c.now())),
        licence,
        limits: Limits::default(),
        ..SimConfig::default()
    })
    .await?;
    let tenant = sim.tenant();
    // `auto` prefers audit events when permitted; this benchmark measures the report and
    // per-user modes (events: `bench check-events`).
    tenant.set_audit_log_readable(false);
    let domain = tenant.domain();
    let group = tenant.add_group("MFA Required");
    let mailbox = format!("mfa@{domain}");
    tenant.add_mailbox(&mailbox)?;
    let mut people = Vec::with_capacity(opts.people);
    let mut ids = Vec::with_capacity(opts.people);
    for i in 0..opts.people {
        let upn = format!("user{i:06}@{domain}");
        let user = tenant.add_user(NewUser {
            user_principal_name: upn.clone(),
            display_name: Some(format!("User {i}")),
            mail: Some(upn.clone()),
            account_enabled: Some(true),
            ..NewUser::default()
        })?;
        ids.push((Upn::parse(&upn)?, ObjectId::parse(&user.id)?));
        if i % 100 < opts.registered_percent {
            tenant.register_mfa(&upn, MethodKind::MicrosoftAuthenticator)?;
        }
        people.push(NewPerson::new(Upn::parse(&upn)?));
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("check.db");
    let vars = Vars::from_pairs([
        ("MFA_STORE", format!("sqlite:{}", db.display())),
        ("MFA_GRAPH_BASE_URL", sim.base_url()),
        ("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test".into()),
        ("MFA_GROUP_ID", group.id.clone()),
        ("MFA_SENDER_MAILBOXES", mailbox),
        ("MFA_CHECK_MODE", "auto".into()),
    ]);
    let settings = Arc::new(Settings::from_vars(&vars)?);
    let extra = Arc::new(WorkerSettings::from_vars(&vars)?);
    let shared: SharedClock = Arc::new(clock.clone());
    let graph = mfa_worker::graph_client_with(&vars, shared.clone(), &sim_tokens(&sim))?;
    let store: SharedStore = Arc::new(SqliteStore::open(db).await?);
    store
        .upsert_people(
            &UploadBatch {
                batch_id: BatchId::parse("bench")?,
                source: Source::CsvUpload,
                correlation_id: uuid::Uuid::new_v4(),
                now: clock.now(),
                mode: UpsertMode::KeepHistory,
                hold: false,
                target: None,
            },
            people,
        )
        .await?;
    // Tracked people have been invited: Sent, with the object id the invitation pass found.
    for (upn, id) in ids {
        let mut rec = store
            .get_by_upn(&upn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{upn} missing"))?;
        rec.apply(StatusEvent::InvitationSent, clock.now())?;
        rec.object_id = Some(id);
        store.update(&rec).await?;
    }
    let worker = Worker::new(store, graph, shared, settings, extra)?;

    let mut out = Vec::new();
    for run in ["first pass", "second pass (nothing new)"] {
        let log_before = tenant.requests().len();
        let violations_before = tenant.violations().len();
        let cpu_before = procstat::cpu_time("self").unwrap_or_default();
        let sim_before = clock.now();
        let wall = Instant::now();
        let report = worker
            .run_passes(RunRequest {
                passes: vec![PassKind::Check],
                now: None,
                dry_run: false,
                trigger: "bench".into(),
            })
            .await?;
        let wall_s = wall.elapsed().as_secs_f64();
        let cpu_s = procstat::cpu_time("self")
            .unwrap_or_default()
            .saturating_sub(cpu_before)
            .as_secs_f64();
        let log = tenant.requests();
        let mut requests = BTreeMap::new();
        let mut throttled = 0;
        for r in &log[log_before.min(log.len())..] {
            *requests.entry(crate::campaign_bench::kind(r)).or_insert(0) += 1;
            throttled += u64::from(r.status == 429 || r.status == 503);
        }
        let examined = report.passes.iter().map(|p| p.examined).sum();
        let changed = report.passes.iter().map(|p| p.changed).sum();
        out.push(Measured {
            label: format!("{label}, {run}"),
            requests,
            throttled,
            violations: tenant.violations().len() - violations_before,
            examined,
            changed,
            cpu_s,
            wall_s,
            sim_s: (clock.now() - sim_before).num_seconds(),
            budget_exhausted: report.budget_exhausted,
        });
        // The next orchestrator run comes 15 simulated minutes later.
        clock.advance(std::time::Duration::from_secs(15 * 60));
    }
    sim.shutdown().await;
    Ok(out)
}

/// Runs the benchmark and returns the Markdown report.
pub async fn run(opts: Options) -> anyhow::Result<String> {
    let mut rows = one(&opts, Licence::P1, "report mode (P1)").await?;
    rows.extend(one(&opts, Licence::Free, "per-user mode (Free)").await?);
    let mut out = format!(
        "### check-pass: {} people tracked (all Sent, object ids known), {} % registered before the pass; simulator at published limits\n\n",
        opts.people, opts.registered_percent
    );
    out.push_str("| run | examined / changed | Graph requests by kind | total | per person | 429/503 | violations | budget exhausted | simulated s | wall s | CPU s |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|\n");
    for m in &rows {
        let total: u64 = m.requests.values().sum();
        let kinds: Vec<String> = m
            .requests
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        out.push_str(&format!(
            "| {} | {} / {} | {} | {} | {:.4} | {} | {} | {} | {} | {:.2} | {:.2} |\n",
            m.label,
            m.examined,
            m.changed,
            kinds.join("; "),
            total,
            total as f64 / opts.people as f64,
            m.throttled,
            m.violations,
            m.budget_exhausted,
            m.sim_s,
            m.wall_s,
            m.cpu_s
        ));
    }
    Ok(out)
}
