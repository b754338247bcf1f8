//! `bench`: parses the sub-command and runs one benchmark; see `BENCHMARKS.md`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mfa_bench::{
    campaign_bench, check_bench, check_events_bench, handler_bench, machine, sharepoint_bench,
    upload_bench,
};

#[derive(Parser)]
#[command(name = "bench", about = "MFA onboarding benchmarks (Markdown output)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Public endpoints under load: real handler vs a minimal server with the same bytes.
    Handler {
        /// People seeded (tokens the load is spread over).
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        /// Connection counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [64, 512])]
        connections: Vec<usize>,
        /// Measured seconds per cell.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Warm-up seconds per cell.
        #[arg(long, default_value_t = 1)]
        warmup: u64,
    },
    /// A large CSV through `POST /api/upload-users`: time and the handler's peak memory.
    Upload {
        /// Data rows.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
    /// People through a whole campaign in the simulator (simulated clock), per mailbox count.
    Campaign {
        /// People uploaded.
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        /// Sender-mailbox counts, comma-separated (one campaign each).
        #[arg(long, value_delimiter = ',', default_values_t = [1, 5])]
        mailboxes: Vec<usize>,
        /// Seed of the behaviour model.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Simulated minutes between worker runs (the orchestrator timer).
        #[arg(long, default_value_t = 15)]
        every_minutes: i64,
        /// `MFA_CHECK_MODE` of the worker: auto (audit events), events, report or per-user.
        #[arg(long, default_value = "auto")]
        check_mode: String,
        /// Run on the SharePoint list store at this RU-per-minute tier instead of SQLite.
        #[arg(long)]
        sharepoint_ru: Option<u32>,
    },
    /// Graph requests per person per MFA check pass, report mode and per-user mode.
    CheckPass {
        /// People tracked.
        #[arg(long, default_value_t = 10_000)]
        people: usize,
        /// Percent registered before the pass.
        #[arg(long, default_value_t = 30)]
        registered_percent: usize,
    },
    /// One MFA check pass with N tracked and R new registrations: events vs report vs per-user.
    CheckEvents {
        /// People tracked.
        #[arg(long, default_value_t = 1_000_000)]
        people: usize,
        /// Registrations since the last pass.
        #[arg(long, default_value_t = 1_000)]
        registrations: usize,
        /// Percent who registered long before (already Active).
        #[arg(long, default_value_t = 30)]
        registered_percent: usize,
    },
    /// The SharePoint list store at a published RU tier (simulated time): a large upload through
    /// the real handler and its background import, then the admin reads at that size.
    Sharepoint {
        /// Rows in the uploaded file.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// RU-per-minute tiers, comma-separated (one import each).
        #[arg(long, value_delimiter = ',', default_values_t = [1250, 5000])]
        ru: Vec<u64>,
    },
    /// Internal: the real handler as a child process for `upload` (prints `PORT n`).
    #[command(hide = true)]
    ServeHandler {
        /// SQLite file.
        #[arg(long)]
        db: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Handler {
            people,
            connections,
            seconds,
            warmup,
        } => handler_bench::run(handler_bench::Options {
            people,
            connections,
            duration: Duration::from_secs(seconds),
            warmup: Duration::from_secs(warmup),
        })
        .await
        .map(Some),
        Cmd::Upload { rows } => upload_bench::run(upload_bench::Options { rows })
            .await
            .map(Some),
        Cmd::CheckPass {
            people,
            registered_percent,
        } => check_bench::run(check_bench::Options {
            people,
            registered_percent,
        })
        .await
        .map(Some),
        Cmd::CheckEvents {
            people,
            registrations,
            registered_percent,
        } => check_events_bench::run(check_events_bench::Options {
            people,
            registrations,
            registered_percent,
        })
        .await
        .map(Some),
        Cmd::Campaign {
            people,
            mailboxes,
            seed,
            every_minutes,
            check_mode,
            sharepoint_ru,
        } => campaign_bench::run(campaign_bench::Options {
            people,
            mailboxes,
            seed,
            every_minutes,
            check_mode,
            sharepoint_ru,
        })
        .await
        .map(Some),
        Cmd::Sharepoint { rows, ru } => {
            sharepoint_bench::run(sharepoint_bench::Options { rows, tiers: ru })
                .await
                .map(Some)
        }
        Cmd::ServeHandler { db } => upload_bench::serve_child(db).await.map(|()| None),
    };
    match result {
        Ok(Some(table)) => println!("{}\n\n{table}", machine::describe()),
        Ok(None) => {}
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            std::process::exit(1);
        }
    }
}
