//! `spawn_app()`: the real application on port 0 against a temporary SQLite store, a manual
//! clock, a recording pass runner and a fake group; `TestApp` sends what the Functions host sends.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use mfa_core::clock::{Clock, ManualClock};
use mfa_core::config::Vars;
use mfa_core::domain::{
    BatchId, MailKind, NewPerson, ObjectId, OnboardingRecord, Source, StatusEvent, Upn,
};
use mfa_core::passes::{PassRunner, PassState, RunReport, RunRequest, SampleEmail};
use mfa_core::store::sqlite::SqliteStore;
use mfa_core::store::{Store, UploadBatch, UpsertMode};
use mfa_handler::group::{GroupError, GroupMembership};
use mfa_handler::opens::OpenTracker;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::{Application, Deps, ShutdownHandle};
use parking_lot::Mutex;

/// The group id configured in tests.
pub const GROUP_ID: &str = "7f0c1e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6";
/// The portal origin configured in tests.
pub const PORTAL: &str = "https://portal.contoso.com";

/// Records every run request; can be told to fail; reports the pass state it is given.
#[derive(Default)]
pub struct RecordingRunner {
    pub requests: Mutex<Vec<RunRequest>>,
    pub fail: AtomicBool,
    /// Answer as a worker whose run lease another run holds.
    pub busy: AtomicBool,
    /// The find-people requests.
    pub found: Mutex<Vec<(mfa_core::domain::TargetStrength, Option<String>)>>,
    pub state: Mutex<PassState>,
}

#[async_trait]
impl PassRunner for RecordingRunner {
    async fn run(&self, request: RunRequest) -> anyhow::Result<RunReport> {
        self.requests.lock().push(request);
        if self.busy.load(Ordering::SeqCst) {
            return Err(mfa_core::passes::RunBusy.into());
        }
        if self.fail.load(Ordering::SeqCst) {
            anyhow::bail!("simulated worker failure: database is locked at /secret/path");
        }
        Ok(RunReport {
            run_id: "run-1".into(),
            ..RunReport::default()
        })
    }

    async fn state(&self) -> anyhow::Result<PassState> {
        if self.fail.load(Ordering::SeqCst) {
            anyhow::bail!("simulated worker failure: database is locked at /secret/path");
        }
        Ok(self.state.lock().clone())
    }

    async fn find_people(
        &self,
        below: mfa_core::domain::TargetStrength,
        group: Option<String>,
    ) -> anyhow::Result<mfa_core::passes::FoundPeople> {
        self.found.lock().push((below, group));
        Ok(mfa_core::passes::FoundPeople {
            examined: 4,
            guests: 1,
            disabled: 1,
            below: vec![
                Upn::parse("found1@contoso.com")?,
                Upn::parse("found2@contoso.com")?,
            ],
            ..Default::default()
        })
    }

    async fn sample_email(
        &self,
        kind: MailKind,
        upn: Option<&Upn>,
    ) -> anyhow::Result<Option<SampleEmail>> {
        Ok(Some(SampleEmail {
            kind: kind.header_value().into(),
            to: upn.map(|u| vec![u.to_string()]).unwrap_or_default(),
            subject: format!("sample {}", kind.header_value()),
            html: "<p>sample</p>".into(),
            text: "sample".into(),
            templates: Vec::new(),
        }))
    }
}

impl RecordingRunner {
    pub fn passes(&self) -> Vec<Vec<String>> {
        self.requests
            .lock()
            .iter()
            .map(|r| r.passes.iter().map(|p| p.as_str().to_string()).collect())
            .collect()
    }
}

/// Counts group adds; slow enough that concurrent clicks overlap.
#[derive(Default)]
pub struct FakeGroup {
    pub calls: AtomicUsize,
    pub fail: AtomicBool,
}

#[async_trait]
impl GroupMembership for FakeGroup {
    async fn ensure_member(
        &self,
        _upn: &Upn,
        _object_id: Option<&ObjectId>,
    ) -> Result<ObjectId, GroupError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        if self.fail.load(Ordering::SeqCst) {
            return Err(GroupError::Other(anyhow::anyhow!("graph 503")));
        }
        ObjectId::parse("11111111-2222-3333-4444-555555555555")
            .map_err(|e| GroupError::Other(anyhow::anyhow!(e)))
    }
}

pub struct TestApp {
    pub address: String,
    pub store: Arc<SqliteStore>,
    pub clock: ManualClock,
    pub runner: Arc<RecordingRunner>,
    pub group: Arc<FakeGroup>,
    pub client: reqwest::Client,
    pub opens: OpenTracker,
    pub shutdown: ShutdownHandle,
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

pub async fn spawn_app() -> TestApp {
    spawn_with(&[]).await
}

/// Starts the app with extra (or overriding) settings.
pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
    mfa_core::telemetry::init_for_tests();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("test.db");
    let mut vars: Vec<(String, String)> = vec![
        ("MFA_STORE".into(), format!("sqlite:{}", db.display())),
        ("FUNCTIONS_CUSTOMHANDLER_PORT".into(), "0".into()),
        ("MFA_GROUP_ID".into(), GROUP_ID.into()),
        ("MFA_ADMIN_AUTH".into(), "dev".into()),
        ("MFA_PORTAL_ORIGIN".into(), PORTAL.into()),
        ("MFA_ORG_NAME".into(), "Contoso".into()),
    ];
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    let settings = HandlerSettings::from_vars(&Vars::from_pairs(vars)).expect("settings");
    let store = Arc::new(SqliteStore::open(db).await.expect("store"));
    let clock = ManualClock::new(start_time());
    let runner = Arc::new(RecordingRunner::default());
    let group = Arc::new(FakeGroup::default());
    let deps = Deps {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        runner: Some(runner.clone()),
        group: group.clone(),
    };
    let app = Application::build(settings, deps).await.expect("build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let opens = app.open_tracker();
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        store,
        clock,
        runner,
        group,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        opens,
        shutdown,
        server,
        _dir: dir,
    }
}

/// Adds the headers the Functions host puts on every forwarded request.
pub fn as_host(builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    builder
        .header("X-Azure-Functions-HostVersion", "4.1036.1.23224")
        .header(
            "X-Azure-Functions-InvocationId",
            uuid::Uuid::new_v4().to_string(),
        )
        .header("User-Agent", "Azure-Functions-Host/4.1036.1.23224")
}

/// The timer payload captured from a real host, with `ScheduleStatus` replaced.
pub fn timer_payload(function: &str, schedule_status: &str) -> String {
    format!(
        r#"{{"Data":{{"timer":{{"Schedule":{{"AdjustForDST":true}},"ScheduleStatus":{schedule_status},"IsPastDue":false}}}},"Metadata":{{"sys":{{"MethodName":"{function}","UtcNow":"2023-09-07T11:40:45.004275Z","RandGuid":"35e6e68c-5583-436c-a277-5aec2b416ba8"}}}}}}"#
    )
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        as_host(self.client.get(self.url(path)))
            .send()
            .await
            .expect("request")
    }

    /// A body sent chunked, with no Content-Length, as the host sends invocations.
    pub async fn post_chunked(&self, path: &str, body: String) -> reqwest::Response {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
            .into_bytes()
            .chunks(40)
            .map(|c| Ok(c.to_vec()))
            .collect();
        let stream = futures::stream::iter(chunks);
        self.client
            .post(self.url(path))
            .header("Content-Type", "application/json; charset=utf-8")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .expect("request")
    }

    pub async fn enrol_get(&self, token: &str) -> reqwest::Response {
        self.get(&format!("/api/enrol?token={token}")).await
    }

    pub async fn enrol_post(&self, token: &str) -> reqwest::Response {
        as_host(self.client.post(self.url("/api/enrol")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .expect("request")
    }

    pub async fn track_open(&self, token: &str) -> reqwest::Response {
        self.get(&format!("/api/track-open?token={token}")).await
    }

    pub async fn resend(&self, email: &str, ip: &str) -> reqwest::Response {
        as_host(self.client.post(self.url("/api/resend")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Forwarded-For", format!("{ip}:51000"))
            .body(serde_urlencoded::to_string([("email", email)]).expect("form"))
            .send()
            .await
            .expect("request")
    }

    pub async fn upload_csv(
        &self,
        query: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        as_host(
            self.client
                .post(self.url(&format!("/api/upload-users{query}"))),
        )
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("request")
    }

    pub async fn upload_json(&self, body: &serde_json::Value) -> reqwest::Response {
        as_host(self.client.post(self.url("/api/upload-users")))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_get(&self, path_and_query: &str) -> reqwest::Response {
        self.get(&format!("/api/admin/{path_and_query}")).await
    }

    pub async fn admin_run(&self, body: &serde_json::Value) -> reqwest::Response {
        as_host(self.client.post(self.url("/api/admin/run")))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Adds people (as an upload would) and marks them Sent.
    pub async fn seed_sent(&self, upns: &[&str]) -> Vec<OnboardingRecord> {
        let people = upns
            .iter()
            .map(|u| NewPerson::new(Upn::parse(u).expect("upn")))
            .collect();
        let batch = UploadBatch {
            batch_id: BatchId::parse("seed").expect("batch"),
            source: Source::Manual,
            correlation_id: uuid::Uuid::new_v4(),
            now: self.clock.now(),
            mode: UpsertMode::KeepHistory,
            hold: false,
            target: None,
        };
        self.store
            .upsert_people(&batch, people)
            .await
            .expect("seed");
        let mut out = Vec::new();
        for u in upns {
            let mut rec = self.record(u).await;
            rec.apply(StatusEvent::InvitationSent, self.clock.now())
                .expect("send");
            out.push(self.store.update(&rec).await.expect("update"));
        }
        out
    }

    pub async fn record(&self, upn: &str) -> OnboardingRecord {
        self.store
            .get_by_upn(&Upn::parse(upn).expect("upn"))
            .await
            .expect("store")
            .expect("record exists")
    }

    pub async fn save(&self, rec: &OnboardingRecord) -> OnboardingRecord {
        self.store.update(rec).await.expect("update")
    }
}
