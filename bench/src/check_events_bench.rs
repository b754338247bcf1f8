//! `bench check-events`: Graph requests of one MFA check pass with N people tracked and R
//! registrations since the last pass, in events mode (directory audit log), report mode and
//! per-user mode, against the simulator at the published limits with a manual clock.
//!
//! The store starts in the steady state of a running campaign: everyone tracked is unfinished
//! (`Pending`, as uploaded), `registered_percent` of them registered long ago in the directory
//! and are already `Active`, the events watermark is at the last pass and the daily
//! reconciliation is not due. Then R more people register and the pass runs 15 simulated minutes
//! later, in each mode in turn (same store and tenant, an hour apart).
//!
//! The registrations mix methods as a rollout would ([`fresh_method`]): mostly the
//! Authenticator app, then phones, FIDO2 keys and OATH tokens, whose audit events name the method
//! (`resultReason`), and 1 in 50 Windows Hello, whose event here names none, so events mode
//! confirms those with a read (the `MFA_EVENTS_CONFIRM=read` rows read everyone).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::{Settings, Vars};
use mfa_core::domain::{BatchId, NewPerson, Source, StatusEvent, Upn};
use mfa_core::passes::{PassKind, RunRequest};
use mfa_core::store::sqlite::SqliteStore;
use mfa_core::store::{SharedStore, UploadBatch, UpsertMode};
use mfa_worker::passes::events::{Reconciliation, RECONCILE_KEY, WATERMARK_KEY};
use mfa_worker::settings::WorkerSettings;
use mfa_worker::Worker;
use tenant_sim::{Licence, Limits, MethodKind, NewUser, SimClock, SimConfig, Simulator};

use crate::campaign::sim_tokens;
use crate::procstat;

/// Options of `bench check-events`.
#[derive(Debug, Clone)]
pub struct Options {
    /// People tracked.
    pub people: usize,
    /// Registrations since the last pass.
    pub registrations: usize,
    /// Percent of the tracked people who registered long before (already Active).
    pub registered_percent: usize,
}

/// The method the `n`th fresh registration adds: of every 50, 30 the Authenticator app, 12 a
/// phone, 5 a FIDO2 key, 2 an OATH token and 1 Windows Hello for Business.
pub fn fresh_method(n: usize) -> MethodKind {
    match n % 50 {
        0 => MethodKind::WindowsHelloForBusiness,
        1..=12 => MethodKind::Phone,
        13..=17 => MethodKind::Fido2,
        18..=19 => MethodKind::SoftwareOath,
        _ => MethodKind::MicrosoftAuthenticator,
    }
}

/// Runs the benchmark and returns the Markdown report.
pub async fn run(opts: Options) -> anyhow::Result<String> {
    let setup = Instant::now();
    let start = Utc
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("bad start"))?;
    let clock = ManualClock::new(start);
    let c = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || c.now())),
        licence: Licence::P1,
        limits: Limits::default(),
        ..SimConfig::default()
    })
    .await?;
    let tenant = sim.tenant();
    let domain = tenant.domain();
    let group = tenant.add_group("MFA Required");
    let mailbox = format!("mfa@{domain}");
    tenant.add_mailbox(&mailbox)?;
    let upn = |i: usize| format!("user{i:07}@{domain}");
    let mut people = Vec::with_capacity(opts.people);
    let mut before = Vec::new();
    for i in 0..opts.people {
        tenant.add_user(NewUser {
            user_principal_name: upn(i),
            display_name: Some(format!("User {i}")),
            mail: Some(upn(i)),
            account_enabled: Some(true),
            ..NewUser::default()
        })?;
        people.push(NewPerson::new(Upn::parse(&upn(i))?));
        if i % 100 < opts.registered_percent {
            before.push(i);
        }
    }
    // Long-ago registrations: their events are far outside any window read below.
    tenant.lose_next_audit_events(before.len());
    for &i in &before {
        tenant.register_mfa(&upn(i), MethodKind::MicrosoftAuthenticator)?;
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("check-events.db");
    let store: SharedStore = Arc::new(SqliteStore::open(db.clone()).await?);
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
    for &i in &before {
        let u = Upn::parse(&upn(i))?;
        let mut rec = store
            .get_by_upn(&u)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{u} missing"))?;
        rec.apply(StatusEvent::MfaRegistered, clock.now())?;
        store.update(&rec).await?;
    }
    // Steady state: the last pass ended now, the daily reconciliation ran at the same time.
    store
        .set_meta(WATERMARK_KEY, &clock.now().to_rfc3339())
        .await?;
    let rec = Reconciliation {
        last_at: Some(clock.now()),
        source: Some("report".into()),
        ..Reconciliation::default()
    };
    store
        .set_meta(RECONCILE_KEY, &serde_json::to_string(&rec)?)
        .await?;
    // R people register during the next 15 minutes (spread evenly), all still unfinished.
    let fresh: Vec<usize> = (0..opts.people)
        .filter(|i| i % 100 >= opts.registered_percent)
        .take(opts.registrations)
        .collect();
    let step = std::time::Duration::from_millis(14 * 60 * 1000 / fresh.len().max(1) as u64);
    for (n, &i) in fresh.iter().enumerate() {
        tenant.register_mfa(&upn(i), fresh_method(n))?;
        clock.advance(step);
    }
    let at_pass = start + chrono::Duration::minutes(15);
    if clock.now() < at_pass {
        clock.advance_to(at_pass);
    }
    let setup_s = setup.elapsed().as_secs_f64();

    // The modes run one after another on the same store: after the events pass, the report and
    // per-user passes find the new registrations Active already (their requests are the point).
    let mut rows = Vec::new();
    // (label, MFA_CHECK_MODE, MFA_EVENTS_CONFIRM, method reads count against the reports limit,
    // dry run). The first rows are dry runs (no writes, watermark kept) so the real events pass
    // after them still has every registration to confirm.
    let runs = [
        (
            "events, confirm=read, method reads not paced as reports (dry run)",
            "events",
            "read",
            false,
            true,
        ),
        (
            "events, confirm=read (dry run)",
            "events",
            "read",
            true,
            true,
        ),
        (
            "events (confirm=auto, the default)",
            "events",
            "auto",
            true,
            false,
        ),
        ("report", "report", "auto", true, false),
        ("per-user", "per-user", "auto", true, false),
    ];
    for (label, mode, confirm, methods_as_reports, dry_run) in runs {
        tenant.set_limits(Limits {
            methods_reads_count_as_reports: methods_as_reports,
            ..Limits::default()
        });
        let pacing = if methods_as_reports { "5" } else { "0" };
        let vars = Vars::from_pairs([
            ("MFA_STORE", format!("sqlite:{}", db.display())),
            ("MFA_GRAPH_BASE_URL", sim.base_url()),
            ("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test".into()),
            ("MFA_GROUP_ID", group.id.clone()),
            ("MFA_SENDER_MAILBOXES", mailbox.clone()),
            ("MFA_CHECK_MODE", mode.into()),
            ("MFA_EVENTS_CONFIRM", confirm.into()),
            ("MFA_GRAPH_REPORTS_PER_10_SECONDS", pacing.into()),
            // Long enough for each pass to finish, so its whole cost shows.
            ("MFA_RUN_BUDGET_SECONDS", "7200".into()),
        ]);
        let settings = Arc::new(Settings::from_vars(&vars)?);
        let extra = Arc::new(WorkerSettings::from_vars(&vars)?);
        let shared: SharedClock = Arc::new(clock.clone());
        let graph = mfa_worker::graph_client_with(&vars, shared.clone(), &sim_tokens(&sim))?;
        let worker = Worker::new(store.clone(), graph, shared, settings, extra)?;
        let pass_start = clock.now();
        let log_before = tenant.requests().len();
        let violations_before = tenant.violations().len();
        let cpu_before = procstat::cpu_time("self").unwrap_or_default();
        let wall = Instant::now();
        let report = worker
            .run_passes(RunRequest {
                passes: vec![PassKind::Check],
                now: None,
                dry_run,
                trigger: "bench".into(),
            })
            .await?;
        let wall_s = wall.elapsed().as_secs_f64();
        let cpu_s = procstat::cpu_time("self")
            .unwrap_or_default()
            .saturating_sub(cpu_before)
            .as_secs_f64();
        let log = tenant.requests();
        let mut requests: BTreeMap<String, u64> = BTreeMap::new();
        let mut throttled = 0;
        for r in &log[log_before.min(log.len())..] {
            *requests.entry(crate::campaign_bench::kind(r)).or_insert(0) += 1;
            throttled += u64::from(r.status == 429 || r.status == 503);
        }
        let changed: u64 = report.passes.iter().map(|p| p.changed).sum();
        let examined: u64 = report.passes.iter().map(|p| p.examined).sum();
        rows.push(format!(
            "| {label} | {examined} / {changed} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            requests
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; "),
            requests
                .iter()
                .filter(|(k, _)| **k != "token" && !k.contains("in $batch"))
                .map(|(_, v)| v)
                .sum::<u64>(),
            throttled,
            tenant.violations().len() - violations_before,
            report.budget_exhausted,
            (clock.now() - pass_start).num_seconds(),
            wall_s,
            cpu_s
        ));
        // The next mode runs an hour later, when this one's throttling windows have passed.
        clock.advance(std::time::Duration::from_secs(3600));
    }
    sim.shutdown().await;
    let mut out = format!(
        "### check-events: {} people tracked, {} % registered long ago (Active), {} registrations in the 15 minutes since the last pass; simulator at published limits; run budget 7200 s; setup {:.0} s\n\n",
        opts.people, opts.registered_percent, opts.registrations, setup_s
    );
    out.push_str("| mode | examined / changed | Graph requests by kind | HTTP requests (no token) | 429/503 | violations | budget exhausted | simulated s | wall s | CPU s |\n");
    out.push_str("|---|---:|---|---:|---:|---:|---|---:|---:|---:|\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    Ok(out)
}
