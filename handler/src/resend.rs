//! Self-service resend, off the response path.
//!
//! `POST /api/resend` answers at once with the same page whatever the address; the request is
//! queued here (bounded; dropped when full) and a single background task applies the rate limits
//! and re-queues known, unfinished people. So neither the body nor the timing of the response can
//! tell whether an address is on the list.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Duration;
use mfa_core::clock::SharedClock;
use mfa_core::domain::{InviteStatus, StatusEvent, TrackingToken, Upn};
use mfa_core::store::{SharedStore, StoreError};
use tokio::sync::mpsc;

use crate::ratelimit::RateLimiter;

/// Requests waiting for the background task before new ones are dropped.
const QUEUE: usize = 10_000;

/// One resend request as received.
#[derive(Debug, Clone)]
pub struct ResendRequest {
    /// The address typed into the form, as given.
    pub email: String,
    /// The client's IP, when known.
    pub client_ip: Option<String>,
}

/// What the background task did with a request (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendOutcome {
    /// A new link is queued.
    Requeued,
    /// Not a valid address, not on the list, or already Active.
    Ignored,
    /// Over the per-address or per-IP limit.
    Limited,
}

/// Handle for queueing resend requests.
#[derive(Clone)]
pub struct ResendQueue {
    tx: mpsc::Sender<ResendRequest>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for ResendQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResendQueue").finish_non_exhaustive()
    }
}

/// The background task's state.
struct Worker {
    store: SharedStore,
    clock: SharedClock,
    per_address: RateLimiter,
    per_ip: RateLimiter,
}

impl ResendQueue {
    /// Starts the background task and returns the queue handle.
    pub fn start(
        store: SharedStore,
        clock: SharedClock,
        per_address_per_day: u32,
        per_ip_per_hour: u32,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<ResendRequest>(QUEUE);
        let mut worker = Worker {
            store,
            clock,
            per_address: RateLimiter::new(per_address_per_day, Duration::hours(24)),
            per_ip: RateLimiter::new(per_ip_per_hour, Duration::hours(1)),
        };
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                let outcome = worker.handle(&req).await;
                tracing::info!(?outcome, "resend request handled");
            }
        });
        Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues a request without waiting.
    pub fn submit(&self, req: ResendRequest) {
        if self.tx.try_send(req).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("resend queue full; request dropped");
        }
    }
}

impl Worker {
    async fn handle(&mut self, req: &ResendRequest) -> ResendOutcome {
        let now = self.clock.now();
        if let Some(ip) = &req.client_ip {
            if !self.per_ip.allow(ip, now) {
                return ResendOutcome::Limited;
            }
        }
        let Ok(upn) = Upn::parse(&req.email) else {
            return ResendOutcome::Ignored;
        };
        if !self.per_address.allow(upn.as_str(), now) {
            return ResendOutcome::Limited;
        }
        match self.requeue(&upn).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = ?e, "resend failed");
                ResendOutcome::Ignored
            }
        }
    }

    /// New token, back to Pending and due now; resend count and date stamped. Reminder count
    /// and escalation are left alone, so a resend cannot dodge escalation.
    async fn requeue(&self, upn: &Upn) -> Result<ResendOutcome, StoreError> {
        for _ in 0..5 {
            let Some(mut rec) = self.store.get_by_upn(upn).await? else {
                return Ok(ResendOutcome::Ignored);
            };
            if rec.status == InviteStatus::Active || !rec.status.allows(&StatusEvent::Requeued) {
                return Ok(ResendOutcome::Ignored);
            }
            let now = self.clock.now();
            if rec.apply(StatusEvent::Requeued, now).is_err() {
                return Ok(ResendOutcome::Ignored);
            }
            rec.token = TrackingToken::generate();
            rec.resend_count = rec.resend_count.saturating_add(1);
            rec.last_resend_at = Some(now);
            rec.updated_at = now;
            match self.store.update(&rec).await {
                Ok(_) => return Ok(ResendOutcome::Requeued),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend(anyhow::anyhow!(
            "resend kept conflicting with other writers"
        )))
    }
}
