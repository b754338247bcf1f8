//! Wiring shared by the binaries: the store and the Graph client from settings.

use std::sync::Arc;

use anyhow::Context;

use crate::clock::SharedClock;
use crate::config::{Settings, StoreLocation, Vars};
use crate::graph::{GraphClient, GraphCredential, GraphSettings, TokenCache, TokenSource};
use crate::store::sharepoint::{Options as SharePointOptions, SharePointStore};
use crate::store::sqlite::SqliteStore;
use crate::store::SharedStore;

/// Where the Graph client's tokens come from.
#[derive(Debug, Clone)]
pub enum GraphTokens {
    /// The `azure_identity` credential the Azure SDK variables name
    /// (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, `AZURE_CLIENT_SECRET`,
    /// `AZURE_FEDERATED_TOKEN_FILE`; see [`GraphCredential::from_env`]). Production.
    FromEnvironment,
    /// A source the caller supplies: the tenant simulator's issuer in local mode, tests and
    /// benchmarks. It is cached, retried and its failures remembered like a credential's.
    Supplied(Arc<dyn TokenSource>),
}

/// The Graph client for `vars`, with the credential picked from the Azure SDK variables.
pub fn graph_client(vars: &Vars, clock: SharedClock) -> anyhow::Result<GraphClient> {
    graph_client_with(vars, clock, &GraphTokens::FromEnvironment, |_| {})
}

/// Like [`graph_client`], with the tokens from `tokens`, letting the caller adjust the settings
/// first. The worker turns the client's own mail pacing off: it paces every mailbox itself,
/// across runs, from the mail log.
pub fn graph_client_with(
    vars: &Vars,
    clock: SharedClock,
    tokens: &GraphTokens,
    adjust: impl FnOnce(&mut GraphSettings),
) -> anyhow::Result<GraphClient> {
    let lookup = |k: &str| vars.get(k).map(str::to_string);
    let mut graph_settings = GraphSettings::from_vars(&lookup)?;
    adjust(&mut graph_settings);
    graph_client_for(graph_settings, vars, clock, tokens)
}

/// The Graph client for an already validated Graph section (`Settings::graph`, loaded at start-up
/// with every other setting), its credential picked from the Azure SDK variables in `vars`
/// (or `tokens`).
pub fn graph_client_for(
    graph_settings: GraphSettings,
    vars: &Vars,
    clock: SharedClock,
    tokens: &GraphTokens,
) -> anyhow::Result<GraphClient> {
    let lookup = |k: &str| vars.get(k).map(str::to_string);
    let (label, source): (String, Arc<dyn TokenSource>) = match tokens {
        GraphTokens::FromEnvironment => {
            let credential = GraphCredential::from_env(&lookup, clock.clone(), &graph_settings)
                .map_err(anyhow::Error::msg)?;
            (credential.label().to_string(), Arc::new(credential))
        }
        GraphTokens::Supplied(source) => {
            let cache = TokenCache::new(
                "supplied token source",
                source.clone(),
                clock.clone(),
                graph_settings.token_refresh_margin,
            )
            .with_failure_memory(graph_settings.token_failure_memory);
            (cache.label().to_string(), Arc::new(cache))
        }
    };
    tracing::info!(credential = %label, base_url = %graph_settings.base_url, "graph client configured");
    GraphClient::new(graph_settings, source, clock).context("building the Graph client")
}

/// Opens the store `MFA_STORE` names.
pub async fn open_store(
    settings: &Settings,
    graph: Option<GraphClient>,
) -> anyhow::Result<SharedStore> {
    match &settings.store {
        StoreLocation::Sqlite(path) => {
            Ok(Arc::new(SqliteStore::open(path).await.with_context(
                || format!("MFA_STORE: opening {}", path.display()),
            )?))
        }
        StoreLocation::SharePoint { site_id, list_id } => {
            let graph = graph.context(
                "MFA_STORE: the SharePoint list store needs the Graph client (set the Graph variables)",
            )?;
            let mut opts = SharePointOptions::default();
            if let Some(ru) = settings.sharepoint_ru_per_minute {
                opts.ru_per_minute = ru;
            }
            opts.processes = settings.sharepoint_processes;
            let store = SharePointStore::open(graph, site_id, list_id, opts)
                .await
                .with_context(|| {
                    format!("MFA_STORE: opening SharePoint list {list_id} on {site_id}")
                })?;
            Ok(Arc::new(store))
        }
    }
}
