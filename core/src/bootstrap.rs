//! Wiring shared by the binaries: the store and the Graph client from settings.

use std::sync::Arc;

use anyhow::Context;

use crate::clock::SharedClock;
use crate::config::{Settings, StoreLocation, Vars};
use crate::graph::{GraphClient, GraphCredential, GraphSettings};
use crate::store::sqlite::SqliteStore;
use crate::store::SharedStore;

/// The Graph client for `settings`, with the credential picked from the Azure SDK variables
/// (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, `AZURE_CLIENT_SECRET`, `AZURE_FEDERATED_TOKEN_FILE`).
pub fn graph_client(vars: &Vars, clock: SharedClock) -> anyhow::Result<GraphClient> {
    graph_client_with(vars, clock, |_| {})
}

/// Like [`graph_client`], letting the caller adjust the settings first. The worker turns the
/// client's own mail pacing off: it paces every mailbox itself, across runs, from the mail log.
pub fn graph_client_with(
    vars: &Vars,
    clock: SharedClock,
    adjust: impl FnOnce(&mut GraphSettings),
) -> anyhow::Result<GraphClient> {
    let lookup = |k: &str| vars.get(k).map(str::to_string);
    let mut graph_settings = GraphSettings::from_vars(&lookup).map_err(anyhow::Error::msg)?;
    adjust(&mut graph_settings);
    let credential =
        GraphCredential::from_env(&lookup, clock.clone(), graph_settings.token_refresh_margin)
            .map_err(anyhow::Error::msg)?;
    GraphClient::new(graph_settings, Arc::new(credential), clock)
        .context("building the Graph client")
}

/// Opens the store `MFA_STORE` names.
pub async fn open_store(
    settings: &Settings,
    _graph: Option<GraphClient>,
) -> anyhow::Result<SharedStore> {
    match &settings.store {
        StoreLocation::Sqlite(path) => {
            Ok(Arc::new(SqliteStore::open(path).await.with_context(
                || format!("MFA_STORE: opening {}", path.display()),
            )?))
        }
        StoreLocation::SharePoint { .. } => {
            anyhow::bail!("MFA_STORE: the SharePoint list store is not available in this build yet")
        }
    }
}
