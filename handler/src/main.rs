//! The `handler` binary: reads settings, opens the store, serves until stopped.

use std::sync::Arc;

use mfa_core::clock::{SharedClock, SystemClock};
use mfa_core::config::Vars;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::Application;
use mfa_handler::wiring::production_deps;

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
    let clock: SharedClock = Arc::new(SystemClock);
    let deps = production_deps(&settings, &Vars::from_env(), clock).await?;
    let app = Application::build(settings, deps).await?;
    app.run_until_stopped().await
}
