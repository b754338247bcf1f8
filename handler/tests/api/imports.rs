//! Background imports (issue #18): the upload answers within seconds, the rest is written in the
//! background, durably; `GET /api/admin/imports` shows the progress; a recycled instance's
//! import is completed by the next one without duplicates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::Vars;
use mfa_core::graph::{GraphClient, IssuedTokens};
use mfa_core::store::sharepoint::{Options, SharePointStore};
use mfa_core::store::{PeopleFilter, SharedStore, Store};
use mfa_handler::imports::ImportJobs;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::{Application, Deps, ShutdownHandle};
use serde_json::Value;
use tenant_sim::{
    FaultAction, FaultMatcher, FaultRule, FaultTrigger, SimClock, SimConfig, Simulator,
};

use crate::helpers::{as_host, spawn_app, spawn_with, start_time, FakeGroup, TestApp};

fn csv(n: usize) -> String {
    let mut out = String::from("UPN,DisplayName\n");
    for i in 0..n {
        out.push_str(&format!("person{i:05}@contoso.com,Person {i}\n"));
    }
    out
}

async fn count(store: &dyn Store) -> u64 {
    store
        .list(&PeopleFilter::default(), 0, 1)
        .await
        .expect("list")
        .total
}

async fn imports(app: &TestApp) -> Value {
    let resp = app.admin_get("imports").await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn small_upload_on_sqlite_answers_200_with_final_counts() {
    let app = spawn_app().await;
    let started = Instant::now();
    let resp = app.upload_csv("?batchId=wave-1", csv(2500)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(body["inserted"], 2500);
    assert_eq!(body["rows"], 2500);
    assert!(body.get("rowsLeft").is_none(), "{body}");
    assert_eq!(count(app.store.as_ref()).await, 2500);
    // The upload is listed as a completed import.
    let list = imports(&app).await;
    assert_eq!(list["running"], 0);
    let one = &list["imports"][0];
    assert_eq!(one["id"], body["importId"]);
    assert_eq!(one["state"], "completed");
    assert_eq!(
        (
            one["rowsTotal"].clone(),
            one["rowsWritten"].clone(),
            one["rowsLeft"].clone()
        ),
        (2500.into(), 2500.into(), 0.into())
    );
    assert_eq!(one["outcome"]["inserted"], 2500);
    assert_eq!(one["batchId"], "wave-1");
    assert_eq!(one["startedBy"], "dev (loopback)");
    assert!(one["finishedAt"].is_string());
    let by_id = app
        .admin_get(&format!(
            "imports/{}",
            body["importId"].as_str().expect("id")
        ))
        .await;
    assert_eq!(by_id.status(), 200);
    let by_id: Value = by_id.json().await.expect("json");
    assert_eq!(by_id["state"], "completed");
    assert_eq!(app.admin_get("imports/not-an-id").await.status(), 404);
    assert_eq!(
        app.admin_get("imports/6f1c1f4e-0000-4000-8000-000000000000")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn refused_file_stores_nothing_and_starts_no_import() {
    let app = spawn_app().await;
    let mut text = csv(3000);
    text.push_str("not-an-address,Broken\n");
    let resp = app.upload_csv("", text).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errorCount"], 1);
    assert!(body.get("importId").is_none());
    assert_eq!(count(app.store.as_ref()).await, 0);
    let list = imports(&app).await;
    assert_eq!(list["imports"].as_array().map(Vec::len), Some(0), "{list}");
    assert!(app.store.imports().await.expect("imports").is_empty());
}

#[tokio::test]
async fn no_time_in_the_request_answers_202_and_the_import_completes() {
    let app = spawn_with(&[("MFA_IMPORT_REQUEST_SECONDS", "0")]).await;
    let resp = app.upload_csv("?batchId=later", csv(12_000)).await;
    assert_eq!(resp.status(), 202);
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: Value = resp.json().await.expect("json");
    let id = body["importId"].as_str().expect("import id").to_string();
    assert_eq!(location, Some(format!("/api/admin/imports/{id}")));
    assert_eq!(body["batchId"], "later");
    assert_eq!(body["state"], "running");
    assert_eq!(body["rowsWritten"], 0);
    assert_eq!(body["rowsLeft"], 12_000);
    let done = wait_for(&app.client, &app.address, &id, |v| {
        v["state"] == "completed"
    })
    .await;
    assert_eq!(done["rowsWritten"], 12_000);
    assert_eq!(done["outcome"]["inserted"], 12_000);
    assert_eq!(done["percent"], 100);
    assert_eq!(count(app.store.as_ref()).await, 12_000);
}

/// Polls `GET /api/admin/imports/{id}` until `done` holds (at most 240 s: the simulator's list
/// writes about 50 rows/s in a debug build). Every 200 ms: on
/// SharePoint each look reads the list (2 RU), so a tighter loop would eat the import's budget.
async fn wait_for(
    client: &reqwest::Client,
    address: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let v: Value = as_host(client.get(format!("{address}/api/admin/imports/{id}")))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "import never got there: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The SharePoint list store on the tenant simulator, as the Azure deployment runs it.
struct SharePointEnv {
    sim: Simulator,
    client: GraphClient,
    site: String,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

/// One handler instance (a process) over the list.
struct Instance {
    address: String,
    client: reqwest::Client,
    store: SharedStore,
    jobs: ImportJobs,
    shutdown: ShutdownHandle,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl SharePointEnv {
    async fn start() -> Self {
        mfa_core::telemetry::init_for_tests();
        let clock = ManualClock::new(start_time());
        let follow = clock.clone();
        let sim = Simulator::start(SimConfig {
            clock: SimClock::from_fn(Arc::new(move || follow.now())),
            ..SimConfig::default()
        })
        .await
        .expect("simulator");
        let vars = Vars::from_pairs([
            ("MFA_GRAPH_BASE_URL", sim.base_url()),
            ("MFA_GRAPH_BACKOFF_BASE_MS", "10".to_string()),
        ]);
        let shared: SharedClock = Arc::new(clock.clone());
        let tenant = sim.tenant();
        let tokens =
            mfa_core::bootstrap::GraphTokens::Supplied(Arc::new(IssuedTokens::new(move || {
                tenant.issue_token()
            })));
        let client = mfa_core::bootstrap::graph_client_with(&vars, shared, &tokens, |_| {})
            .expect("graph client");
        let site = sim.tenant().add_site("mfa");
        Self {
            sim,
            client,
            site,
            clock,
            _dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A new handler process: its own store over the list (nothing remembered in memory).
    async fn instance(&self, request_seconds: &str) -> Instance {
        let store: SharedStore = Arc::new(
            SharePointStore::open(
                self.client.clone(),
                &self.site,
                "MFA Onboarding",
                Options {
                    ru_per_minute: 5000,
                    processes: 1,
                    provision: true,
                },
            )
            .await
            .expect("open the list"),
        );
        let vars = Vars::from_pairs([
            (
                "MFA_STORE".to_string(),
                format!("sqlite:{}", self._dir.path().join("unused.db").display()),
            ),
            ("FUNCTIONS_CUSTOMHANDLER_PORT".into(), "0".into()),
            ("MFA_ADMIN_AUTH".into(), "dev".into()),
            ("MFA_IMPORT_REQUEST_SECONDS".into(), request_seconds.into()),
        ]);
        let settings = HandlerSettings::from_vars(&vars).expect("settings");
        let app = Application::build(
            settings,
            Deps {
                store: store.clone(),
                clock: Arc::new(self.clock.clone()),
                runner: None,
                group: Arc::new(FakeGroup::default()),
            },
        )
        .await
        .expect("build");
        let address = format!("http://127.0.0.1:{}", app.port());
        let jobs = app.import_jobs();
        let shutdown = app.shutdown_handle();
        Instance {
            address,
            client: reqwest::Client::new(),
            store,
            jobs,
            shutdown,
            server: tokio::spawn(app.run_until_stopped()),
        }
    }

    /// People items in the list, by UPN (a duplicate counts twice).
    fn titles(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for (_, fields) in self
            .sim
            .tenant()
            .list_items(&self.site, "MFA Onboarding")
            .expect("items")
        {
            let title = fields
                .get("Title")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            *out.entry(title).or_default() += 1;
        }
        out
    }

    fn assert_no_violations(&self) {
        let v = self.sim.tenant().violations();
        assert!(v.is_empty(), "the store broke SharePoint rules: {v:#?}");
    }
}

impl Instance {
    async fn upload(&self, body: String) -> reqwest::Response {
        as_host(
            self.client
                .post(format!("{}/api/upload-users", self.address)),
        )
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("request")
    }

    async fn import(&self, id: &str) -> Value {
        wait_for(&self.client, &self.address, id, |_| true).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharepoint_upload_of_3000_rows_answers_at_once_and_completes_exactly_once() {
    let env = SharePointEnv::start().await;
    let a = env.instance("0.2").await;
    let started = Instant::now();
    let resp = a.upload(csv(3000)).await;
    let answered = started.elapsed();
    assert_eq!(resp.status(), 202);
    assert!(
        answered < Duration::from_secs(10),
        "answered in {answered:?}"
    );
    let body: Value = resp.json().await.expect("json");
    let id = body["importId"].as_str().expect("import id").to_string();
    let written = body["rowsWritten"].as_u64().expect("rows written");
    assert!(written < 3000, "{body}");
    assert_eq!(body["rowsLeft"].as_u64(), Some(3000 - written));
    assert_eq!(body["inserted"].as_u64(), Some(written));
    let done = wait_for(&a.client, &a.address, &id, |v| v["state"] != "running").await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["rowsWritten"], 3000);
    assert_eq!(done["outcome"]["inserted"], 3000);
    let titles = env.titles();
    assert_eq!(titles.len(), 3000);
    assert!(titles.values().all(|n| *n == 1), "a duplicate item");
    assert_eq!(count(a.store.as_ref()).await, 3000);
    env.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recycled_instance_import_is_completed_by_the_next_without_duplicates() {
    let env = SharePointEnv::start().await;
    // Slow writes, so the instance can be seen dying half way.
    env.sim.tenant().add_fault(FaultRule {
        matcher: FaultMatcher {
            path_contains: Some("$batch".into()),
            method: Some("POST".into()),
            ..FaultMatcher::default()
        },
        trigger: FaultTrigger::Always,
        action: FaultAction::Delay { ms: 40 },
    });
    let a = env.instance("0").await;
    let file = csv(3000);
    let resp = a.upload(file.clone()).await;
    assert_eq!(resp.status(), 202);
    let body: Value = resp.json().await.expect("json");
    let id = body["importId"].as_str().expect("import id").to_string();
    assert_eq!(body["rowsWritten"], 0);
    // Some chunks written, then the instance dies mid-chunk (no graceful stop).
    let midway = wait_for(&a.client, &a.address, &id, |v| {
        v["rowsWritten"].as_u64().unwrap_or(0) >= 600
    })
    .await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    a.jobs.abort();
    a.server.abort();
    assert_eq!(midway["state"], "running", "{midway}");
    let stopped_at = env.titles().len();
    assert!((600..3000).contains(&stopped_at), "{stopped_at} items");

    // A new instance: the import is still held by the dead one, so the same file is refused
    // and nothing more is written until the lease lapses.
    let b = env.instance("0").await;
    let again = b.upload(file.clone()).await;
    assert_eq!(again.status(), 409);
    let refusal: Value = again.json().await.expect("json");
    assert_eq!(refusal["importId"], id.as_str());
    let held = b.import(&id).await;
    assert_eq!(held["state"], "running");
    assert_eq!(held["waiting"], false);
    // The dead instance's lease lapses; the admin's next look resumes it.
    env.clock.advance(Duration::from_secs(11 * 60));
    let done = wait_for(&b.client, &b.address, &id, |v| v["state"] != "running").await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["rowsWritten"], 3000);
    assert_eq!(done["rowsLeft"], 0);
    assert_eq!(
        done["outcome"]["inserted"], 3000,
        "each row counted once: {done}"
    );
    let titles = env.titles();
    assert_eq!(titles.len(), 3000);
    let dupes: Vec<_> = titles.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "duplicate items: {dupes:?}");
    // Finished: its staged rows are gone from the meta list (dropped right after the header
    // says completed, so the test waits for it) and the file may be uploaded again.
    let uuid = id.parse().expect("uuid");
    let mut staged = b.store.staged_chunk(uuid, 0).await.expect("read");
    for _ in 0..100 {
        if staged.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        staged = b.store.staged_chunk(uuid, 0).await.expect("read");
    }
    assert_eq!(staged, None, "staged rows left after the import completed");
    let third = b.upload(file).await;
    assert_eq!(
        third.status(),
        202,
        "uploaded again once the first finished"
    );
    b.shutdown.shutdown();
    env.assert_no_violations();
}
