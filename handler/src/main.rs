//! The `handler` binary: parses the command line ([`mfa_handler::cli`]), then either serves as
//! the Functions custom handler (settings, store, serve until stopped) or runs local mode.

use std::sync::Arc;

use clap::Parser;
use mfa_core::clock::{SharedClock, SystemClock};
use mfa_core::config::Vars;
use mfa_handler::cli::{Cli, Command};
use mfa_handler::settings::HandlerSettings;
use mfa_handler::startup::Application;
use mfa_handler::wiring::production_deps;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match cli.command {
        None => custom_handler().await,
        #[cfg(feature = "local")]
        Some(Command::Local(opts)) => std::process::exit(local(opts).await),
        #[cfg(not(feature = "local"))]
        Some(Command::Local { .. }) => {
            eprintln!("{}", mfa_handler::cli::NO_LOCAL_MODE);
            std::process::exit(2);
        }
    }
}

/// The Azure Functions custom handler, configured by the environment (read once: every section
/// of the settings, and the Azure SDK's credential variables, come from this one snapshot).
async fn custom_handler() {
    let vars = Vars::from_env();
    let settings = match HandlerSettings::from_vars(&vars) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            std::process::exit(1);
        }
    };
    mfa_core::telemetry::init(settings.core.log_format, settings.core.in_azure);
    if let Err(e) = run(settings, &vars).await {
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

async fn run(settings: HandlerSettings, vars: &Vars) -> anyhow::Result<()> {
    for off in settings.core.disabled_features() {
        tracing::warn!("{off}");
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let deps = production_deps(&settings, vars, clock).await?;
    let app = Application::build(settings, deps).await?;
    app.run_until_stopped().await
}

/// `handler local …`: see [`mfa_handler::local`]. Returns the exit code.
#[cfg(feature = "local")]
async fn local(opts: mfa_handler::local::LocalOptions) -> i32 {
    mfa_core::telemetry::init(mfa_core::config::LogFormat::Pretty, false);
    match mfa_handler::local::run(opts).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("local mode failed: {e:#}");
            1
        }
    }
}
