//! `bench sharepoint`: the production store (the SharePoint list, through Graph) on the tenant
//! simulator at a published RU tier, in simulated time: a large upload through the real handler
//! (`POST /api/upload-users`, then the background import), then the admin reads at that size
//! (dashboard summary, a users page, the full CSV export).
//!
//! The handler, its SharePoint store and the simulator share a clock that only the store's RU
//! pacing and Graph's waits move (as `ManualClock`), so the simulated time is what the RU budget
//! costs, and the wall time is this machine's (and the simulator's) own cost. The simulator
//! answers far faster than SharePoint does; read the simulated column for the budget and the
//! wall column for CPU. Last, the clock switches to real time and the click path is loaded for
//! three minutes, so the RU budget paces the clicks as it would in Azure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use mfa_core::bootstrap::{graph_client_with, GraphTokens};
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::Vars;
use mfa_core::graph::IssuedTokens;
use mfa_core::store::sharepoint::{Options as StoreOptions, SharePointStore};
use mfa_core::store::SharedStore;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::{Application, Deps};
use serde_json::Value;
use tenant_sim::{Category, Limits, RequestRecord, SimClock, SimConfig, Simulator};

use crate::app::{InstantGroup, GROUP_ID};
use crate::procstat;

/// Real seconds the click path is loaded with the RU budget pacing it: three of the window's
/// minutes, since a flood spends a minute's budget in about a second and then waits.
const PACED_SECONDS: u64 = 180;

/// Since when the clock follows real time: the wall instant and the clock's time then.
type RealSince = Option<(Instant, DateTime<Utc>)>;

/// A `ManualClock` (sleeps jump it forward) until [`HybridClock::to_real_time`], then wall time.
#[derive(Debug, Clone)]
struct HybridClock {
    manual: ManualClock,
    real: Arc<parking_lot::Mutex<RealSince>>,
}

impl HybridClock {
    fn new(start: DateTime<Utc>) -> Self {
        Self {
            manual: ManualClock::new(start),
            real: Arc::default(),
        }
    }

    /// From now on the clock runs with the wall clock and sleeps take real time.
    fn to_real_time(&self) {
        let now = self.manual.now();
        *self.real.lock() = Some((Instant::now(), now));
    }
}

#[async_trait]
impl Clock for HybridClock {
    fn now(&self) -> DateTime<Utc> {
        match *self.real.lock() {
            Some((since, at)) => {
                at + chrono::Duration::from_std(since.elapsed()).unwrap_or_default()
            }
            None => self.manual.now(),
        }
    }

    async fn sleep(&self, duration: Duration) {
        if self.real.lock().is_some() {
            tokio::time::sleep(duration).await;
        } else {
            self.manual.sleep(duration).await;
        }
    }
}

/// Options of `bench sharepoint`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rows in the uploaded file.
    pub rows: usize,
    /// RU tiers (per minute) to run at, one import each.
    pub tiers: Vec<u64>,
}

/// 64 connections clicking `POST /api/enrol` for `seconds` after `warmup`, each click the next
/// token from `cursor` (a first click while tokens last).
async fn clicks(
    base: &str,
    tokens: &Arc<Vec<String>>,
    cursor: &Arc<std::sync::atomic::AtomicU64>,
    seconds: u64,
    warmup: u64,
    drain: bool,
) -> anyhow::Result<crate::load::LoadResult> {
    let make: crate::load::MakeRequest = {
        let tokens = Arc::clone(tokens);
        let cursor = Arc::clone(cursor);
        Arc::new(move |_| {
            let i =
                cursor.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as usize % tokens.len();
            hyper::Request::post("/api/enrol")
                .header("host", "127.0.0.1")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(hyper::Body::from(format!("token={}", tokens[i])))
                .unwrap_or_default()
        })
    };
    crate::load::run(crate::load::LoadSpec {
        addr: format!("127.0.0.1:{}", base.rsplit(':').next().unwrap_or("0")).parse()?,
        connections: 64,
        duration: Duration::from_secs(seconds),
        warmup: Duration::from_secs(warmup),
        make,
        drain,
    })
    .await
}

/// RU charged from `from` (an index in the request log) on.
fn ru_since(sim: &Simulator, from: usize) -> (u64, usize, usize) {
    let log = sim.tenant().requests();
    let sp: Vec<&RequestRecord> = log[from.min(log.len())..]
        .iter()
        .filter(|r| r.category == Category::SharePoint)
        .collect();
    let throttled = sp.iter().filter(|r| r.throttled).count();
    (
        sp.iter().map(|r| r.sharepoint_ru()).sum(),
        sp.len(),
        throttled,
    )
}

fn minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 60_000.0
}

struct Row {
    tier: u64,
    answered: String,
    import_min: f64,
    bound_min: f64,
    spent_min: f64,
    ru: u64,
    requests: usize,
    throttled: usize,
    violations: usize,
    wall_s: f64,
    reads: Vec<(String, f64, f64, u64, String)>,
    clicks: Option<Clicks>,
}

/// The click path under load on this store.
struct Clicks {
    rps: f64,
    p50: f64,
    p99: f64,
    clicked: u64,
    ru_per_click: f64,
    simulated_s: f64,
    errors: u64,
    /// The same path with the clock in real time: the RU budget paces it.
    paced: Paced,
}

/// Clicks for a minute of real time, paced by the RU budget.
struct Paced {
    rps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    answered: u64,
    errors: u64,
    ru_per_min: f64,
    violations: usize,
    /// Share of clicks answered after more than a second.
    over_1s: f64,
}

async fn one(rows: usize, tier: u64) -> anyhow::Result<Row> {
    let start = Utc
        .with_ymd_and_hms(2026, 12, 1, 8, 0, 0)
        .single()
        .expect("valid start");
    let clock = HybridClock::new(start);
    let follow = clock.clone();
    let mut config = SimConfig {
        clock: SimClock::from_fn(Arc::new(move || follow.now())),
        limits: Limits {
            sharepoint_ru_per_minute: tier,
            ..Limits::default()
        },
        ..SimConfig::default()
    };
    config.request_log_capacity = 4_000_000;
    let sim = Simulator::start(config).await?;
    let tenant = sim.tenant();
    let tokens = GraphTokens::Supplied(Arc::new(IssuedTokens::new(move || tenant.issue_token())));
    let shared: SharedClock = Arc::new(clock.clone());
    let vars = Vars::from_pairs([("MFA_GRAPH_BASE_URL", sim.base_url())]);
    let graph = graph_client_with(&vars, shared.clone(), &tokens, |_| {})?;
    let site = sim.tenant().add_site("mfa");
    let store: SharedStore = Arc::new(
        SharePointStore::open(
            graph,
            &site,
            "MFA Onboarding",
            StoreOptions {
                ru_per_minute: u32::try_from(tier)?,
                processes: 1,
                provision: true,
            },
        )
        .await?,
    );
    let dir = tempfile::tempdir()?;
    let settings = HandlerSettings::from_vars(&Vars::from_pairs([
        (
            "MFA_STORE".to_string(),
            format!("sqlite:{}", dir.path().join("unused.db").display()),
        ),
        ("FUNCTIONS_CUSTOMHANDLER_PORT".into(), "0".into()),
        ("MFA_GROUP_ID".into(), GROUP_ID.into()),
        ("MFA_ADMIN_AUTH".into(), "dev".into()),
        ("MFA_UPLOAD_MAX_ROWS".into(), "200000".into()),
    ]))?;
    let kept_store = store.clone();
    let app = Application::build(
        settings,
        Deps {
            store,
            clock: shared,
            runner: None,
            group: Arc::new(InstantGroup),
        },
    )
    .await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();

    let log_from = sim.tenant().requests().len();
    let wall = Instant::now();
    let t0 = clock.now();
    let csv = crate::upload_bench::csv(rows);
    let resp = http
        .post(format!("{base}/api/upload-users?batchId=bench"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    let answered = format!(
        "{} in {:.1} s simulated, {} rows written",
        status.as_u16(),
        (clock.now() - t0).num_milliseconds() as f64 / 1000.0,
        body["rowsWritten"]
            .as_u64()
            .or(body["inserted"].as_u64())
            .unwrap_or(0)
    );
    if let Some(id) = body["importId"].as_str() {
        loop {
            // Real-time polling: a sleep on the shared clock would move simulated time.
            tokio::time::sleep(Duration::from_millis(1000)).await;
            let v: Value = http
                .get(format!("{base}/api/admin/imports/{id}"))
                .send()
                .await?
                .json()
                .await?;
            if v["state"] != "running" {
                anyhow::ensure!(v["state"] == "completed", "import ended {v}");
                anyhow::ensure!(
                    v["rowsWritten"].as_u64() == Some(rows as u64),
                    "import wrote {v}"
                );
                break;
            }
            eprintln!(
                "  [{tier} RU/min] {} rows written, {:.1} simulated min",
                v["rowsWritten"],
                minutes(t0, clock.now())
            );
        }
    } else {
        anyhow::ensure!(status.as_u16() == 200, "upload answered {status}: {body}");
    }
    let t1 = clock.now();
    let wall_s = wall.elapsed().as_secs_f64();
    let (ru_total, requests, throttled) = ru_since(&sim, log_from);

    // The admin's reads at this size.
    let mut reads = Vec::new();
    for (label, path) in [
        ("dashboard summary", "/api/admin/report"),
        (
            "users page (first 50)",
            "/api/admin/users?page=0&pageSize=50",
        ),
        (
            "users page (last 50)",
            &*format!(
                "/api/admin/users?page={}&pageSize=50",
                rows.div_ceil(50) - 1
            ),
        ),
        ("full CSV export", "/api/admin/export"),
        ("full CSV export, alone", "/api/admin/export"),
    ] {
        if label.ends_with("alone") {
            // Past the time reads share one read of the list: this one reads it again.
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
        let from = sim.tenant().requests().len();
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = procstat::peak_rss().unwrap_or(0);
        let s0 = clock.now();
        let w0 = Instant::now();
        let resp = http.get(format!("{base}{path}")).send().await?;
        anyhow::ensure!(resp.status().is_success(), "{path}: {}", resp.status());
        let mut bytes = 0u64;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            bytes += chunk?.len() as u64;
        }
        let wall = w0.elapsed().as_secs_f64();
        let simulated = (clock.now() - s0).num_milliseconds() as f64 / 1000.0;
        let (ru, _, _) = ru_since(&sim, from);
        let peak = procstat::peak_rss().unwrap_or(0);
        reads.push((
            format!("{label} ({})", human_bytes(bytes)),
            simulated,
            wall,
            ru,
            format!("+{}", procstat::mib(peak.saturating_sub(before))),
        ));
    }
    // The click path: 64 connections, each token clicked once (a first click: the lookup by
    // token, the CAS to Clicked, the group add, the CAS to AddedToGroup).
    let mut tokens = Vec::with_capacity(rows);
    let mut all_people = kept_store.export(mfa_core::store::PeopleFilter::default());
    while let Some(rec) = all_people.next().await {
        tokens.push(rec?.token.to_string());
    }
    let tokens = Arc::new(tokens);
    let cursor = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let from = sim.tenant().requests().len();
    let s0 = clock.now();
    let load = clicks(&base, &tokens, &cursor, 10, 2, false).await?;
    let (click_ru, _, _) = ru_since(&sim, from);
    let clicked = kept_store.summary(clock.now()).await?.funnel.clicked;
    let sent = cursor.load(std::sync::atomic::Ordering::Relaxed);
    anyhow::ensure!(
        sent <= tokens.len() as u64,
        "{sent} clicks for {} people: some were not first clicks; run with more rows",
        tokens.len()
    );
    // The same path in real time: the RU window paces the clicks, 64 people waiting at once.
    clock.to_real_time();
    let v0 = sim.tenant().violations().len();
    let from = sim.tenant().requests().len();
    let w0 = Instant::now();
    let real = clicks(&base, &tokens, &cursor, PACED_SECONDS, 5, true).await?;
    let (real_ru, _, _) = ru_since(&sim, from);
    let all_sent = cursor.load(std::sync::atomic::Ordering::Relaxed);
    anyhow::ensure!(
        all_sent <= tokens.len() as u64,
        "{all_sent} clicks for {} people: some were not first clicks; run with more rows",
        tokens.len()
    );
    let paced = Paced {
        rps: real.rps(),
        p50: real.quantile_ms(0.5),
        p99: real.quantile_ms(0.99),
        max: real.quantile_ms(1.0),
        answered: real.requests,
        errors: real.server_errors + real.transport_errors,
        ru_per_min: real_ru as f64 / (w0.elapsed().as_secs_f64() / 60.0),
        over_1s: real.share_over_ms(1000.0),
        violations: sim.tenant().violations().len() - v0,
    };
    let clicks = Some(Clicks {
        paced,
        rps: load.rps(),
        p50: load.quantile_ms(0.5),
        p99: load.quantile_ms(0.99),
        clicked,
        ru_per_click: click_ru as f64 / sent.max(1) as f64,
        simulated_s: (clock.now() - s0).num_milliseconds() as f64 / 1000.0,
        errors: load.server_errors + load.transport_errors,
    });

    let all = sim.tenant().violations();
    for v in all.iter().take(5) {
        eprintln!("  violation: {v:?}");
    }
    let violations = all.len();
    shutdown.shutdown();
    let _ = server.await;
    Ok(Row {
        tier,
        answered,
        import_min: minutes(t0, t1),
        bound_min: (rows as f64 * 2.0) / tier as f64,
        spent_min: ru_total as f64 / tier as f64,
        ru: ru_total,
        requests,
        throttled,
        violations,
        wall_s,
        reads,
        clicks,
    })
}

fn human_bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

/// Runs the benchmark and returns the Markdown tables.
pub async fn run(opts: Options) -> anyhow::Result<String> {
    let mut out = format!(
        "### sharepoint: {} rows uploaded through the real handler into the SharePoint list store, simulator at the tier, simulated clock\n\n\
         | RU/min | upload answered | import, simulated min | lower bound min (2 RU a row) | ratio | RU spent (÷ tier, min) | SharePoint requests | 429/503 | violations | wall s |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        opts.rows
    );
    let mut reads = String::from(
        "\nAdmin reads after the import (same run):\n\n\
         | RU/min | read | simulated s | wall s | RU | peak RSS growth |\n|---:|---|---:|---:|---:|---:|\n",
    );
    let mut clicks = String::from(
        "\nThe click path (`POST /api/enrol`, every click a first click) on the same list, 64 connections, 10 s after 2 s of warm-up. \
         The RU pacing costs no wall time on the simulated clock, so clicks/s and latency are this machine's (handler and simulator on the same 2 cores); \
         the RU budget's own bound is clicks per minute = tier ÷ RU per click:\n\n\
         | RU/min | clicks/s (wall) | p50 ms | p99 ms | people clicked | RU per click | clicks per minute the tier allows | simulated s | 5xx or transport errors |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut paced = String::from(
        "\nThe click path again with the clock in real time, so the RU budget paces it as in Azure: 64 connections for 180 s after 5 s of warm-up, \
         every click a first click, the RU window full from the clicks before (a sustained flood); every click sent in the window counted, however late its answer:\n\n\
         | RU/min | clicks/s | bound (tier ÷ 60 ÷ RU per click) | p50 ms | p99 ms | max ms | answered after > 1 s | clicks | RU/min spent | 5xx or transport errors | violations |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for &tier in &opts.tiers {
        let r = one(opts.rows, tier).await?;
        if let Some(c) = &r.clicks {
            let p = &c.paced;
            paced.push_str(&format!(
                "| {tier} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} % | {} | {:.0} | {} | {} |\n",
                p.rps,
                tier as f64 / 60.0 / c.ru_per_click.max(1e-9),
                p.p50,
                p.p99,
                p.max,
                p.over_1s * 100.0,
                p.answered,
                p.ru_per_min,
                p.errors,
                p.violations
            ));
        }
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.3} | {} ({:.1}) | {} | {} | {} | {:.1} |\n",
            r.tier,
            r.answered,
            r.import_min,
            r.bound_min,
            r.import_min / r.bound_min,
            r.ru,
            r.spent_min,
            r.requests,
            r.throttled,
            r.violations,
            r.wall_s
        ));
        if let Some(c) = &r.clicks {
            clicks.push_str(&format!(
                "| {tier} | {:.0} | {:.1} | {:.1} | {} | {:.2} | {:.0} | {:.1} | {} |\n",
                c.rps,
                c.p50,
                c.p99,
                c.clicked,
                c.ru_per_click,
                tier as f64 / c.ru_per_click.max(1e-9),
                c.simulated_s,
                c.errors
            ));
        }
        for (label, sim_s, wall_s, ru, rss) in r.reads {
            reads.push_str(&format!(
                "| {tier} | {label} | {sim_s:.1} | {wall_s:.2} | {ru} | {rss} |\n"
            ));
        }
    }
    out.push_str(&reads);
    out.push_str(&clicks);
    out.push_str(&paced);
    Ok(out)
}
