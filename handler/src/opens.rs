//! Email-open tracking that never makes the pixel wait.
//!
//! `track-open` puts a valid token into a bounded in-memory buffer (one entry per token, earliest
//! time kept) and returns at once. A background task writes the buffer with one
//! [`Store::record_opens`](mfa_core::store::Store::record_opens) call every flush interval, or
//! sooner when [`defaults::OPEN_FLUSH_BATCH`] opens are waiting. When the buffer is full, new
//! opens are dropped and counted: open tracking is an estimate. The buffer is flushed on shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mfa_core::clock::SharedClock;
use mfa_core::domain::TrackingToken;
use mfa_core::store::SharedStore;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::settings::defaults;

/// Handle to the open buffer; cheap to clone.
#[derive(Clone)]
pub struct OpenTracker {
    inner: Arc<Inner>,
}

struct Inner {
    pending: Mutex<HashMap<TrackingToken, DateTime<Utc>>>,
    capacity: usize,
    notify: Notify,
    flush_lock: tokio::sync::Mutex<()>,
    dropped: AtomicU64,
    written: AtomicU64,
    store: SharedStore,
    clock: SharedClock,
}

impl std::fmt::Debug for OpenTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenTracker")
            .field("capacity", &self.inner.capacity)
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl OpenTracker {
    /// A tracker holding at most `capacity` distinct opens between writes.
    pub fn new(store: SharedStore, clock: SharedClock, capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                pending: Mutex::new(HashMap::new()),
                capacity: capacity.max(1),
                notify: Notify::new(),
                flush_lock: tokio::sync::Mutex::new(()),
                dropped: AtomicU64::new(0),
                written: AtomicU64::new(0),
                store,
                clock,
            }),
        }
    }

    /// Notes an open of `token` now. Never blocks on I/O.
    pub fn record(&self, token: TrackingToken) {
        let now = self.inner.clock.now();
        let len = {
            let mut pending = self.inner.pending.lock();
            let len = pending.len();
            if len >= self.inner.capacity && !pending.contains_key(&token) {
                drop(pending);
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            pending.entry(token).or_insert(now);
            len + 1
        };
        if len >= defaults::OPEN_FLUSH_BATCH {
            self.inner.notify.notify_one();
        }
    }

    /// Opens dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Records whose `EmailOpenedDate` the tracker has stamped so far.
    pub fn written(&self) -> u64 {
        self.inner.written.load(Ordering::Relaxed)
    }

    /// Writes everything buffered in one store call. On failure the opens go back into the
    /// buffer (as room allows) for the next try. Returns how many records changed.
    pub async fn flush(&self) -> u64 {
        let _one_at_a_time = self.inner.flush_lock.lock().await;
        let batch: Vec<(TrackingToken, DateTime<Utc>)> =
            std::mem::take(&mut *self.inner.pending.lock())
                .into_iter()
                .collect();
        if batch.is_empty() {
            return 0;
        }
        match self.inner.store.record_opens(&batch).await {
            Ok(changed) => {
                self.inner.written.fetch_add(changed, Ordering::Relaxed);
                tracing::debug!(opens = batch.len(), changed, "email opens written");
                changed
            }
            Err(e) => {
                tracing::warn!(error = ?e, opens = batch.len(), "writing email opens failed; will retry");
                let mut pending = self.inner.pending.lock();
                for (token, at) in batch {
                    if pending.len() >= self.inner.capacity && !pending.contains_key(&token) {
                        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let slot = pending.entry(token).or_insert(at);
                    *slot = (*slot).min(at);
                }
                0
            }
        }
    }

    /// Starts the background writer: flushes every `interval`, early when a batch is waiting,
    /// and a last time when `shutdown` turns true.
    pub fn spawn_flusher(
        &self,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let tracker = self.clone();
        tokio::spawn(async move {
            // The first flush is one interval after start (an `interval`'s first tick is
            // immediate, which would flush whatever the first requests buffered at once).
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = tracker.inner.notify.notified() => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            break;
                        }
                    }
                }
                tracker.flush().await;
            }
            tracker.flush().await;
            let dropped = tracker.dropped();
            if dropped > 0 {
                tracing::warn!(dropped, "email opens dropped because the buffer was full");
            }
        })
    }
}
