//! Production wiring: the store, the Graph client, group membership and the worker, from the
//! environment. A broken optional part is switched off with a loud log; the public endpoints
//! keep working whatever happens here, except that the store must open.

use std::sync::Arc;

use mfa_core::bootstrap::{self, GraphTokens};
use mfa_core::clock::SharedClock;
use mfa_core::config::Vars;
use mfa_core::passes::PassRunner;
use mfa_worker::settings::WorkerSettings;
use mfa_worker::Worker;

use crate::group::{GraphGroup, NoGroup, SharedGroup};
use crate::settings::HandlerSettings;
use crate::startup::Deps;

/// Builds the handler's dependencies from `vars`, with the Graph credential the Azure SDK
/// variables name.
pub async fn production_deps(
    settings: &HandlerSettings,
    vars: &Vars,
    clock: SharedClock,
) -> anyhow::Result<Deps> {
    production_deps_with(settings, vars, clock, &GraphTokens::FromEnvironment).await
}

/// [`production_deps`] with Graph tokens from `tokens` (local mode and tests supply the tenant
/// simulator's).
pub async fn production_deps_with(
    settings: &HandlerSettings,
    vars: &Vars,
    clock: SharedClock,
    tokens: &GraphTokens,
) -> anyhow::Result<Deps> {
    let graph = match mfa_worker::graph_client_for(&settings.core, vars, clock.clone(), tokens) {
        Ok(g) => Some(g),
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "Microsoft Graph is off (no usable credentials): no group adds, no worker passes"
            );
            None
        }
    };
    let store = bootstrap::open_store(&settings.core, graph.clone()).await?;
    let group: SharedGroup = match (&graph, &settings.core.group_id) {
        (Some(g), Ok(id)) => Arc::new(GraphGroup::new(g.clone(), id.clone())),
        _ => Arc::new(NoGroup),
    };
    let runner: Option<Arc<dyn PassRunner>> = match graph {
        None => None,
        Some(g) => {
            let worker = WorkerSettings::from_vars(vars)
                .map_err(anyhow::Error::from)
                .and_then(|extra| {
                    Worker::new(
                        store.clone(),
                        g,
                        clock.clone(),
                        Arc::new(settings.core.clone()),
                        Arc::new(extra),
                    )
                });
            match worker {
                Ok(w) => Some(Arc::new(w)),
                Err(e) => {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "the worker is off: timer invocations will not run passes"
                    );
                    None
                }
            }
        }
    };
    if runner.is_none() {
        tracing::warn!(
            "worker not available: timer invocations will log and succeed without running passes"
        );
    }
    Ok(Deps {
        store,
        clock,
        runner,
        group,
    })
}
