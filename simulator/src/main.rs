//! `tenant-sim`: run the Microsoft 365 tenant simulator locally, seeded with a demo org.
//!
//! Usage: `tenant-sim [--port N] [--people N] [--seed N] [--free] [--unlimited] [--system-clock]`

use anyhow::{bail, Context};
use tenant_sim::{Licence, Limits, SimClock, SimConfig, Simulator};

fn parse_args() -> anyhow::Result<(SimConfig, usize)> {
    let mut config = SimConfig::default();
    let mut people = 50;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--port" => {
                config.port = value("--port")?
                    .parse()
                    .context("--port must be a number")?
            }
            "--people" => {
                people = value("--people")?
                    .parse()
                    .context("--people must be a number")?
            }
            "--seed" => {
                config.seed = value("--seed")?
                    .parse()
                    .context("--seed must be a number")?
            }
            "--free" => config.licence = Licence::Free,
            "--unlimited" => config.limits = Limits::unlimited(),
            "--system-clock" => config.clock = SimClock::system(),
            "-h" | "--help" => {
                println!("tenant-sim [--port N] [--people N] [--seed N] [--free] [--unlimited] [--system-clock]");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}' (try --help)"),
        }
    }
    Ok((config, people))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (config, people) = parse_args()?;
    let seed = config.seed;
    let sim = Simulator::start(config).await?;
    let org = sim.tenant().seed_demo(people, seed)?;
    let (client_id, secret) = sim.client_credentials();
    println!("tenant-sim listening on {}", sim.base_url());
    println!("  MFA_GRAPH_BASE_URL={}", sim.base_url());
    println!("  IDENTITY_ENDPOINT={}", sim.identity_endpoint());
    println!("  IDENTITY_HEADER={}", sim.identity_header());
    println!("  AZURE_AUTHORITY_HOST={}", sim.authority_host());
    println!("  AZURE_TENANT_ID={}", sim.tenant_id());
    println!("  AZURE_CLIENT_ID={client_id}");
    println!("  AZURE_CLIENT_SECRET={secret}");
    println!("  MFA_GROUP_ID={}", org.group_id);
    println!("  MFA_SENDER_MAILBOXES={}", org.sender_mailbox);
    println!("  SharePoint site id: {}", org.site_id);
    println!(
        "  outbox: {}/_sim/outbox.html   users: {}/_sim/users",
        sim.base_url(),
        sim.base_url()
    );
    shutdown_signal().await;
    println!("tenant-sim stopping");
    sim.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
