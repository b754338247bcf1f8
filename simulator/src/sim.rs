//! The simulator handle: start the server, find its URLs, and shut it down.

use crate::auth::IDENTITY_PATH;
use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::server;
use crate::shared::Shared;
use crate::tenant::Tenant;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running simulator. Dropping it without `shutdown` leaves the server running until the
/// runtime stops.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Simulator {
    /// Binds `127.0.0.1:{config.port}` and serves in the background on the current runtime.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        let port = config.port;
        let shared = Arc::new(Shared::new(config));
        let (tx, rx) = oneshot::channel::<()>();
        let (addr, serving) = warp::serve(server::routes(shared.clone()))
            .try_bind_with_graceful_shutdown(([127, 0, 0, 1], port), async {
                let _ = rx.await;
            })
            .with_context(|| format!("binding the tenant simulator to 127.0.0.1:{port}"))?;
        let _ = shared.base_url.set(format!("http://{addr}"));
        let task = tokio::spawn(serving);
        tracing::info!(%addr, "tenant simulator listening");
        Ok(Simulator {
            shared,
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:port`; Graph lives at `{base}/v1.0/...` and `{base}/beta/...`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Managed-identity endpoint (`IDENTITY_ENDPOINT`).
    pub fn identity_endpoint(&self) -> String {
        format!("{}{IDENTITY_PATH}", self.base_url())
    }

    /// Value expected in `X-IDENTITY-HEADER` (`IDENTITY_HEADER`).
    pub fn identity_header(&self) -> String {
        self.shared.config.identity_header.clone()
    }

    /// Authority host (`AZURE_AUTHORITY_HOST`); tokens at `POST {host}/{tenant}/oauth2/v2.0/token`.
    pub fn authority_host(&self) -> String {
        self.base_url()
    }

    /// Tenant id.
    pub fn tenant_id(&self) -> String {
        self.shared.config.tenant_id.clone()
    }

    /// Client id and secret of the first configured app registration.
    pub fn client_credentials(&self) -> (String, String) {
        self.shared
            .config
            .apps
            .first()
            .map(|a| (a.client_id.clone(), a.client_secret.clone()))
            .unwrap_or_default()
    }

    /// The simulator's clock.
    pub fn clock(&self) -> SimClock {
        self.shared.clock.clone()
    }

    /// The control handle (tenant data, outbox, logs, faults, limits).
    pub fn tenant(&self) -> Tenant {
        Tenant::new(self.shared.clone())
    }

    /// Stops accepting, lets in-flight requests finish for up to [`SHUTDOWN_GRACE`], then stops
    /// waiting (a connection still open finishes on its own or ends with the runtime). The bound
    /// matters: graceful shutdown otherwise waits for every open connection, and one left open
    /// after the fault suite's dropped connections held a test for three minutes now and then.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

/// How long [`Simulator::shutdown`] waits for open connections.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
