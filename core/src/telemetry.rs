//! Logging and tracing set-up.
//!
//! JSON lines in Azure (the Functions host forwards stdout/stderr to Application Insights),
//! readable text locally. Warnings and errors go to stderr — the host records stderr lines as
//! errors, or warnings when the line contains "warn" — and everything else to stdout;
//! [`init_stderr`] puts every line on stderr for command-line tools whose stdout is a result. `RUST_LOG`
//! overrides the level filter (default `info`).

use tracing::Level;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(format: LogFormat, in_azure: bool) {
    let writer = std::io::stderr
        .with_max_level(Level::WARN)
        .or_else(std::io::stdout);
    install(format, in_azure, writer);
}

/// Installs the global subscriber with every line on stderr: for command-line tools whose
/// stdout is their result (`worker run-once` and `provision-list` print JSON there).
pub fn init_stderr(format: LogFormat, in_azure: bool) {
    install(format, in_azure, std::io::stderr);
}

fn install<W>(format: LogFormat, in_azure: bool, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => in_azure,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}

/// For tests: logs only when `TEST_LOG` is set, so test output stays quiet by default.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init(LogFormat::Pretty, false);
    }
}
