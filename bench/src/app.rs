//! The real handler for benchmarks: `Application::build` in-process on a temporary SQLite file,
//! with a counting store, the system clock and an instant group fake (no Graph round trip, so the
//! figures are the handler's and the store's own cost).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use mfa_core::clock::SystemClock;
use mfa_core::config::Vars;
use mfa_core::domain::{BatchId, NewPerson, ObjectId, Source, Upn};
use mfa_core::store::sqlite::SqliteStore;
use mfa_core::store::{PeopleFilter, SharedStore, Store, UploadBatch, UpsertMode};
use mfa_handler::group::{GroupError, GroupMembership};
use mfa_handler::opens::OpenTracker;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::{Application, Deps, ShutdownHandle};

use crate::counting::{CountingStore, Counts};

/// The group id configured for benchmarks.
pub const GROUP_ID: &str = "7f0c1e2a-3b4c-4d5e-8f90-a1b2c3d4e5f6";

/// Group adds succeed at once.
#[derive(Debug, Default)]
pub struct InstantGroup;

#[async_trait]
impl GroupMembership for InstantGroup {
    async fn ensure_member(
        &self,
        _upn: &Upn,
        _object_id: Option<&ObjectId>,
    ) -> Result<ObjectId, GroupError> {
        ObjectId::parse("11111111-2222-3333-4444-555555555555")
            .map_err(|e| GroupError::Other(anyhow::anyhow!(e)))
    }
}

/// A handler serving on 127.0.0.1.
pub struct RunningHandler {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Store call counters.
    pub counts: Arc<Counts>,
    /// The open buffer (to flush before reading counters).
    pub opens: OpenTracker,
    /// The store behind the counters.
    pub store: SharedStore,
    shutdown: ShutdownHandle,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningHandler {
    /// Stops the handler gracefully (flushing opens).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.shutdown();
        self.server.await?
    }
}

/// Handler settings for a benchmark on the SQLite file `db` (dev admin auth: loopback only).
pub fn settings(db: &Path, port: u16) -> anyhow::Result<HandlerSettings> {
    let vars = Vars::from_pairs([
        ("MFA_STORE".to_string(), format!("sqlite:{}", db.display())),
        ("FUNCTIONS_CUSTOMHANDLER_PORT".into(), port.to_string()),
        ("MFA_GROUP_ID".into(), GROUP_ID.into()),
        ("MFA_ADMIN_AUTH".into(), "dev".into()),
        ("MFA_ORG_NAME".into(), "Contoso".into()),
        ("MFA_UPLOAD_MAX_ROWS".into(), "200000".into()),
    ]);
    Ok(HandlerSettings::from_vars(&vars)?)
}

/// Starts the real handler on `db` (port 0).
pub async fn start(db: &Path) -> anyhow::Result<RunningHandler> {
    let settings = settings(db, 0)?;
    let sqlite: SharedStore = Arc::new(SqliteStore::open(db.to_path_buf()).await?);
    let counting = CountingStore::new(sqlite);
    let counts = counting.counts.clone();
    let store: SharedStore = Arc::new(counting);
    let deps = Deps {
        store: store.clone(),
        clock: Arc::new(SystemClock),
        runner: None,
        group: Arc::new(InstantGroup),
    };
    let app = Application::build(settings, deps).await?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], app.port()));
    let opens = app.open_tracker();
    let shutdown = app.shutdown_handle();
    let server = tokio::spawn(app.run_until_stopped());
    Ok(RunningHandler {
        addr,
        counts,
        opens,
        store,
        shutdown,
        server,
    })
}

/// The address of synthetic person `i`.
pub fn upn_of(i: usize) -> String {
    format!("person.{i:06}@contoso-corporation.com")
}

/// Adds `n` people (Pending) in one upload batch and returns their tokens, in UPN order.
pub async fn seed(store: &dyn Store, n: usize) -> anyhow::Result<Vec<String>> {
    let mut people = Vec::with_capacity(n);
    for i in 0..n {
        let mut p = NewPerson::new(Upn::parse(&upn_of(i))?);
        p.display_name = Some(format!("Person {i}"));
        people.push(p);
    }
    let batch = UploadBatch {
        batch_id: BatchId::parse("bench")?,
        source: Source::CsvUpload,
        correlation_id: uuid::Uuid::new_v4(),
        now: Utc::now(),
        mode: UpsertMode::KeepHistory,
        hold: false,
        target: None,
    };
    store.upsert_people(&batch, people).await?;
    let mut tokens = Vec::with_capacity(n);
    let mut all = store.export(PeopleFilter::default());
    while let Some(rec) = all.next().await {
        tokens.push(rec?.token.to_string());
    }
    Ok(tokens)
}
