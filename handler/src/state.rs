//! What every handler can reach: settings, the store, the clock and the helpers built on them.

use std::sync::Arc;

use mfa_core::clock::SharedClock;
use mfa_core::passes::PassRunner;
use mfa_core::store::SharedStore;

use crate::auth::AdminGate;
use crate::group::SharedGroup;
use crate::imports::ImportJobs;
use crate::opens::OpenTracker;
use crate::pages::Pages;
use crate::resend::ResendQueue;
use crate::settings::HandlerSettings;

/// Shared application state, one per process.
pub struct AppState {
    /// All settings.
    pub settings: HandlerSettings,
    /// The record store.
    pub store: SharedStore,
    /// Injected time.
    pub clock: SharedClock,
    /// The worker's passes, when available.
    pub runner: Option<Arc<dyn PassRunner>>,
    /// Adds people who click to the Conditional Access group.
    pub group: SharedGroup,
    /// Branded pages.
    pub pages: Pages,
    /// Buffered email-open writes.
    pub opens: OpenTracker,
    /// Off-path resend handling.
    pub resends: ResendQueue,
    /// Admin API authentication.
    pub admin: AdminGate,
    /// Background imports (uploads written after the answer).
    pub imports: ImportJobs,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("runner", &self.runner.is_some())
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// Handle passed to handlers.
pub type SharedState = Arc<AppState>;
