//! The `handler` binary: reads settings, opens the store, serves until stopped.

use std::sync::Arc;

use mfa_core::clock::{SharedClock, SystemClock};
use mfa_core::config::Vars;
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::Application;
use mfa_handler::wiring::production_deps;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("local") {
        std::process::exit(local(&args[1..]).await);
    }
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

/// `handler local …`: see [`mfa_handler::local`].
async fn local(args: &[String]) -> i32 {
    let opts = match mfa_handler::local::LocalOptions::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    mfa_core::telemetry::init(mfa_core::config::LogFormat::Pretty, false);
    match mfa_handler::local::run(opts).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("local mode failed: {e:#}");
            1
        }
    }
}
