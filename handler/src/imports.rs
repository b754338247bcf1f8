//! The handler's background imports: the rest of an upload written after the `202`, and
//! imports left by a recycled instance resumed when an admin looks at them.
//!
//! The work itself is [`mfa_core::imports::Importer`]; this module owns the tasks, so that one
//! process resumes at most one set of imports at a time and a graceful stop ends the tasks and
//! hands their imports over at once (the lease is released instead of left to lapse).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use mfa_core::imports::Importer;
use mfa_core::passes::PassRunner;
use mfa_core::store::{Import, ImportState, SharedStore};
use parking_lot::Mutex;
use tokio::task::JoinHandle;

/// The background import tasks of this process. Cheap to clone.
#[derive(Clone)]
pub struct ImportJobs {
    inner: Arc<Inner>,
}

struct Inner {
    importer: Importer,
    store: SharedStore,
    runner: Option<Arc<dyn PassRunner>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    resuming: AtomicBool,
}

impl std::fmt::Debug for ImportJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportJobs")
            .field("owner", &self.inner.importer.owner())
            .field("tasks", &self.inner.tasks.lock().len())
            .finish()
    }
}

impl ImportJobs {
    /// Tasks writing with `importer`; `runner` starts the invitation pass after an import
    /// that asked for `sendNow`.
    pub fn new(
        importer: Importer,
        store: SharedStore,
        runner: Option<Arc<dyn PassRunner>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                importer,
                store,
                runner,
                tasks: Mutex::new(Vec::new()),
                resuming: AtomicBool::new(false),
            }),
        }
    }

    /// The importer (uploads start imports with it).
    pub fn importer(&self) -> &Importer {
        &self.inner.importer
    }

    fn track(&self, task: JoinHandle<()>) {
        let mut tasks = self.inner.tasks.lock();
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Writes the rest of `import` (held by this process) in the background.
    pub fn continue_in_background(&self, import: Import) {
        let me = self.clone();
        self.track(tokio::spawn(async move {
            match me.inner.importer.continue_import(import).await {
                Ok(done) => me.after(&done),
                Err(e) => tracing::error!(error = ?e, "a background import stopped; the next run resumes it"),
            }
        }));
    }

    /// Resumes, in the background, any import nobody holds (its instance was recycled); does
    /// nothing when this process is resuming already.
    pub fn resume_in_background(&self) {
        if self.inner.resuming.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        self.track(tokio::spawn(async move {
            match me.inner.importer.resume(None).await {
                Ok(done) => {
                    for import in &done {
                        me.after(import);
                    }
                }
                Err(e) => tracing::error!(error = ?e, "resuming imports failed"),
            }
            me.inner.resuming.store(false, Ordering::SeqCst);
        }));
    }

    /// After an import finished here: the invitation pass when the upload asked for `sendNow`.
    fn after(&self, import: &Import) {
        if import.state == ImportState::Completed && import.send_now {
            crate::routes::admin::control::start_invitation_pass(
                self.inner.runner.as_ref(),
                "upload",
            );
        }
    }

    /// Ends every task at once, as a recycled instance would (tests; the leases lapse).
    pub fn abort(&self) {
        for task in self.inner.tasks.lock().drain(..) {
            task.abort();
        }
    }

    /// Graceful stop: ends the tasks and releases the leases this process held, so the next
    /// process resumes its imports without waiting for the leases to lapse.
    pub async fn stop(&self, now: chrono::DateTime<chrono::Utc>) {
        self.abort();
        let held = match self.inner.store.imports().await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = ?e, "could not read imports to hand them over");
                return;
            }
        };
        for mut import in held.into_iter().filter(|i| {
            i.state == ImportState::Running
                && i.lease_owner.as_deref() == Some(self.inner.importer.owner())
        }) {
            import.lease_until = Some(now);
            match self.inner.store.update_import(&import).await {
                Ok(_) => tracing::info!(import = %import.id, "import handed over at shutdown"),
                Err(e) => {
                    tracing::warn!(error = ?e, import = %import.id, "could not hand an import over")
                }
            }
        }
    }
}
