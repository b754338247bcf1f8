//! The `handler` binary: reads settings, opens the store, serves until stopped.

use std::sync::Arc;

use mfa_core::clock::SystemClock;
use mfa_core::config::StoreLocation;
use mfa_core::store::sqlite::SqliteStore;
use mfa_handler::group::NoGroup;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::{Application, Deps};

#[tokio::main]
async fn main() {
    let settings = match HandlerSettings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(1);
        }
    };
    mfa_core::telemetry::init(settings.core.log_format, settings.core.in_azure);
    if let Err(e) = run(settings).await {
        match e.downcast_ref::<mfa_core::config::ConfigError>() {
            Some(config) => eprintln!("configuration error: {config}"),
            None => {
                tracing::error!(error = ?e, "handler failed");
                eprintln!("handler failed: {e:#}");
            }
        }
        std::process::exit(1);
    }
}

async fn run(settings: HandlerSettings) -> anyhow::Result<()> {
    for off in settings.core.disabled_features() {
        tracing::warn!("{off}");
    }
    let store = match &settings.core.store {
        StoreLocation::Sqlite(path) => Arc::new(SqliteStore::open(path.clone()).await?),
        StoreLocation::SharePoint { .. } => {
            anyhow::bail!("MFA_STORE: the SharePoint store is not available in this build yet")
        }
    };
    // The worker and the Graph client are wired in here when they land.
    tracing::warn!(
        "worker not available: timer invocations will log and succeed without running passes"
    );
    let deps = Deps {
        store,
        clock: Arc::new(SystemClock),
        runner: None,
        group: Arc::new(NoGroup),
    };
    let app = Application::build(settings, deps).await?;
    app.run_until_stopped().await
}
