//! Building and running the application: bind, serve, stop gracefully.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use futures::future::BoxFuture;
use futures::FutureExt;
use mfa_core::clock::SharedClock;
use mfa_core::imports::Importer;
use mfa_core::passes::PassRunner;
use mfa_core::store::SharedStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::AdminGate;
use crate::filters;
use crate::group::SharedGroup;
use crate::imports::ImportJobs;
use crate::opens::OpenTracker;
use crate::pages::Pages;
use crate::resend::ResendQueue;
use crate::settings::HandlerSettings;
use crate::state::AppState;

/// What the application is built on: injected so tests can swap each one.
pub struct Deps {
    /// The record store.
    pub store: SharedStore,
    /// Time.
    pub clock: SharedClock,
    /// The worker's passes (`None` until the worker is wired in: timers then log and succeed).
    pub runner: Option<Arc<dyn PassRunner>>,
    /// Group membership (Graph in production, a fake in tests).
    pub group: SharedGroup,
}

/// Stops a running application gracefully (tests; production uses SIGTERM / Ctrl-C).
#[derive(Debug, Clone)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    /// Asks the server to stop accepting, finish in-flight requests and flush.
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

/// The bound, ready-to-run handler.
pub struct Application {
    port: u16,
    server: BoxFuture<'static, ()>,
    opens: OpenTracker,
    flusher: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
    imports: ImportJobs,
    clock: SharedClock,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds `127.0.0.1:{settings.core.port}` (0 picks a free port) and wires everything.
    pub async fn build(settings: HandlerSettings, deps: Deps) -> anyhow::Result<Application> {
        let pages = Pages::new(
            settings.core.branding.clone(),
            settings.template_dir.as_deref(),
        )?;
        let opens = OpenTracker::new(deps.store.clone(), deps.clock.clone(), settings.open_buffer);
        let resends = ResendQueue::start(
            deps.store.clone(),
            deps.clock.clone(),
            settings.resend_per_address_per_day,
            settings.resend_per_ip_per_hour,
        );
        let admin = AdminGate::from_settings(&settings.core.admin_auth);
        let imports = ImportJobs::new(
            Importer::new(deps.store.clone(), deps.clock.clone()),
            deps.store.clone(),
            deps.runner.clone(),
        );
        let (shutdown, rx) = watch::channel(false);
        let flusher = opens.spawn_flusher(settings.open_flush_interval, rx.clone());
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.core.port));
        let state = Arc::new(AppState {
            settings,
            store: deps.store,
            clock: deps.clock,
            runner: deps.runner,
            group: deps.group,
            pages,
            opens: opens.clone(),
            resends,
            admin,
            imports: imports.clone(),
        });
        let state_clock = state.clock.clone();
        let routes = filters::routes(state);
        let (bound, server) = warp::serve(routes)
            .try_bind_with_graceful_shutdown(addr, stop_signal(rx))
            .with_context(|| format!("binding {addr}"))?;
        tracing::info!(%bound, "handler listening");
        Ok(Application {
            port: bound.port(),
            server: server.boxed(),
            opens,
            flusher,
            shutdown,
            imports,
            clock: state_clock,
        })
    }

    /// The background import tasks (tests end them as a recycled instance would).
    pub fn import_jobs(&self) -> ImportJobs {
        self.imports.clone()
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The email-open buffer (tests flush it instead of waiting).
    pub fn open_tracker(&self) -> OpenTracker {
        self.opens.clone()
    }

    /// A handle that stops the server gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until SIGTERM, Ctrl-C or [`ShutdownHandle::shutdown`]; then finishes in-flight
    /// requests and writes the buffered email opens.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await;
        let _ = self.shutdown.send(true);
        if let Err(e) = self.flusher.await {
            tracing::error!(error = %e, "the open-tracking writer stopped abnormally");
        }
        self.opens.flush().await;
        self.imports.stop(self.clock.now()).await;
        tracing::info!("handler stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM, Ctrl-C or the shutdown channel.
async fn stop_signal(mut rx: watch::Receiver<bool>) {
    let handle = async move {
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                // Every sender is gone: nobody can ask any more; wait for a signal instead.
                futures::future::pending::<()>().await;
            }
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = futures::future::pending::<()>();
    tokio::select! {
        _ = handle => {}
        _ = term => tracing::info!("SIGTERM received; stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received; stopping"),
    }
}
