//! Background imports: an upload written chunk by chunk, durably, by whichever process holds it.
//!
//! The upload validates the whole file, then [`Importer::start`] takes the file's guard (one
//! running import per set of rows), stages every chunk and the header in the store
//! ([`Store::stage_import`]) and writes chunks within the request's time. What is left is
//! written by [`Importer::continue_import`] in the same process, or — when that process is
//! recycled — by [`Importer::resume`] in the next one (the worker's next run, another handler
//! instance). The header carries a lease: only its holder writes, a chunk is marked done only
//! after its rows are stored, and writing a chunk again is harmless
//! ([`Store::write_import_chunk`]), so every row is written exactly once.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::domain::NewPerson;
use crate::store::{Import, ImportState, SharedStore, StoreError, StoreResult, UploadBatch};

/// How long an import's holder may go without writing progress before another process resumes
/// it. A chunk ([`crate::store::Store::import_chunk_rows`]) takes well under this.
pub const LEASE: Duration = Duration::minutes(10);
/// Failed attempts at one chunk (across processes) before the import is marked failed.
pub const MAX_ATTEMPTS: u32 = 5;
/// Meta key prefix of the guard that refuses a second import of the same rows while one runs.
const GUARD_PREFIX: &str = "import.rows.";

/// A validated upload to import.
#[derive(Debug, Clone)]
pub struct NewImport {
    /// The upload.
    pub batch: UploadBatch,
    /// Its valid rows, in file order.
    pub people: Vec<NewPerson>,
    /// Who uploaded it.
    pub started_by: String,
    /// Start the invitation pass when it completes.
    pub send_now: bool,
}

/// What [`Importer::start`] did.
#[derive(Debug, Clone)]
pub enum Started {
    /// Every row was written within the time given.
    Completed(Import),
    /// Some rows are left for the background; the caller holds the lease and should call
    /// [`Importer::continue_import`].
    Running(Import),
    /// The same rows are being imported already (by this import): nothing was staged.
    Duplicate(Uuid),
}

/// The guard's value.
#[derive(Debug, Serialize, Deserialize)]
struct Guard {
    id: Uuid,
    at: DateTime<Utc>,
}

/// A fingerprint of the rows (address, names): the same file uploaded twice has the same one.
pub fn fingerprint(people: &[NewPerson]) -> String {
    let mut h = Sha256::new();
    for p in people {
        for field in [
            Some(p.upn.as_str()),
            p.display_name.as_deref(),
            p.department.as_deref(),
            p.job_title.as_deref(),
        ] {
            h.update(field.unwrap_or("\u{1}").as_bytes());
            h.update([0u8]);
        }
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// Writes imports for one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Importer {
    store: SharedStore,
    clock: SharedClock,
    owner: Arc<str>,
}

impl Importer {
    /// An importer holding leases under a name unique to this process.
    pub fn new(store: SharedStore, clock: SharedClock) -> Self {
        Self {
            store,
            clock,
            owner: format!("importer-{}", Uuid::new_v4()).into(),
        }
    }

    /// The lease owner this importer writes as.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Validated rows in: takes the guard, stages, and writes chunks until `in_request` has
    /// passed (a chunk is not started when the last one suggests it would not end in time).
    #[tracing::instrument(skip_all, fields(rows = new.people.len(), batch = %new.batch.batch_id))]
    pub async fn start(&self, new: NewImport, in_request: StdDuration) -> StoreResult<Started> {
        // On the clock: the host's limit is wall time, which the clock is outside simulations.
        let deadline = self.clock.now() + Duration::from_std(in_request).unwrap_or_default();
        let now = self.clock.now().trunc_subsecs(0);
        let mut batch = new.batch;
        // SharePoint keeps times to the second: a record's `created_at` must equal the batch's
        // time for a re-written chunk to be recognised (see `store::reupload`).
        batch.now = batch.now.trunc_subsecs(0);
        let fingerprint = fingerprint(&new.people);
        let id = Uuid::new_v4();
        if let Some(running) = self.take_guard(&fingerprint, id, now).await? {
            return Ok(Started::Duplicate(running));
        }
        let chunks: Vec<Vec<NewPerson>> = new
            .people
            .chunks(self.store.import_chunk_rows().max(1))
            .map(<[NewPerson]>::to_vec)
            .collect();
        let header = Import {
            id,
            state: ImportState::Running,
            batch,
            fingerprint: fingerprint.clone(),
            started_by: new.started_by,
            started_at: now,
            updated_at: now,
            finished_at: None,
            rows_total: new.people.len() as u64,
            rows_written: 0,
            chunks_total: chunks.len() as u32,
            chunks_done: 0,
            outcome: Default::default(),
            error: None,
            attempts: 0,
            lease_owner: Some(self.owner.to_string()),
            lease_until: Some(now + LEASE),
            send_now: new.send_now,
            version: 0,
        };
        if let Err(e) = self.store.stage_import(&header, &chunks).await {
            self.release_guard(&fingerprint, id).await;
            return Err(e);
        }
        let import = self
            .write_chunks(header, Some(&chunks), Some(deadline))
            .await?;
        Ok(match import.state {
            ImportState::Running => Started::Running(import),
            _ => Started::Completed(import),
        })
    }

    /// Writes the rest of an import this importer holds (after [`Importer::start`] answered
    /// [`Started::Running`]). Returns the header as last written.
    pub async fn continue_import(&self, import: Import) -> StoreResult<Import> {
        self.write_chunks(import, None, None).await
    }

    /// Resumes every running import nobody holds (its holder died, or ran out of time), until
    /// `deadline`. Returns the imports it wrote to.
    pub async fn resume(&self, deadline: Option<DateTime<Utc>>) -> StoreResult<Vec<Import>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for import in self.store.imports().await? {
            if !import.is_resumable(now) {
                continue;
            }
            if deadline.is_some_and(|d| self.clock.now() >= d) {
                break;
            }
            if let Some(done) = self.resume_one(import, deadline).await? {
                out.push(done);
            }
        }
        Ok(out)
    }

    /// True when some running import is free to resume (a cheap check for the triggers).
    pub async fn any_resumable(&self) -> StoreResult<bool> {
        let now = self.clock.now();
        Ok(self
            .store
            .imports()
            .await?
            .iter()
            .any(|i| i.is_resumable(now)))
    }

    async fn resume_one(
        &self,
        mut import: Import,
        deadline: Option<DateTime<Utc>>,
    ) -> StoreResult<Option<Import>> {
        let now = self.clock.now();
        import.lease_owner = Some(self.owner.to_string());
        import.lease_until = Some(now + LEASE);
        let Some(import) = self.store.update_import(&import).await? else {
            return Ok(None); // another process took it first
        };
        tracing::info!(import = %import.id, chunk = import.chunks_done, of = import.chunks_total, "resuming an import");
        let mut import = self.write_chunks(import, None, deadline).await?;
        if import.state == ImportState::Running
            && import.lease_owner.as_deref() == Some(&self.owner)
        {
            // Out of time: let the next process take it at once.
            import.lease_until = Some(self.clock.now());
            if let Some(released) = self.store.update_import(&import).await? {
                import = released;
            }
        }
        Ok(Some(import))
    }

    /// Writes chunks while the lease is ours, the import runs and time is left.
    async fn write_chunks(
        &self,
        mut import: Import,
        staged: Option<&[Vec<NewPerson>]>,
        deadline: Option<DateTime<Utc>>,
    ) -> StoreResult<Import> {
        let mut last_chunk = Duration::zero();
        while import.state == ImportState::Running {
            if import.chunks_done >= import.chunks_total {
                return self.finish(import, ImportState::Completed, None).await;
            }
            if deadline.is_some_and(|d| self.clock.now() + last_chunk >= d) {
                return Ok(import);
            }
            let now = self.clock.now();
            if import.lease_until.is_none_or(|u| u - now < LEASE / 2) {
                // Renew before writing: never write a chunk on a lease that may have lapsed.
                let mut renewed = import.clone();
                renewed.lease_owner = Some(self.owner.to_string());
                renewed.lease_until = Some(now + LEASE);
                match self.store.update_import(&renewed).await? {
                    Some(stored) => import = stored,
                    None => {
                        tracing::warn!(import = %import.id, "lost the import lease; stopping");
                        return Ok(self.store.get_import(import.id).await?.unwrap_or(import));
                    }
                }
            }
            let index = import.chunks_done;
            let people = match staged.and_then(|c| c.get(index as usize)) {
                Some(p) => Some(p.clone()),
                None => self.store.staged_chunk(import.id, index).await?,
            };
            let Some(people) = people else {
                let why = format!("chunk {index} of the staged rows is missing");
                return self.finish(import, ImportState::Failed, Some(why)).await;
            };
            let rows = people.len() as u64;
            let last = index + 1 == import.chunks_total;
            tracing::debug!(import = %import.id, chunk = index, rows, "writing an import chunk");
            let began = self.clock.now();
            let written = self
                .store
                .write_import_chunk(&import.batch, people, last)
                .await;
            last_chunk = self.clock.now() - began;
            tracing::debug!(import = %import.id, chunk = index, ok = written.is_ok(), took = ?last_chunk, "import chunk written");
            let now = self.clock.now();
            let mut next = import.clone();
            next.updated_at = now;
            match written {
                Ok(summary) => {
                    next.outcome.inserted += summary.inserted;
                    next.outcome.requeued += summary.requeued;
                    next.outcome.reset += summary.reset;
                    next.outcome.unchanged += summary.unchanged;
                    next.rows_written += rows;
                    next.chunks_done += 1;
                    next.attempts = 0;
                    next.error = None;
                    next.lease_until = Some(now + LEASE);
                }
                Err(StoreError::Invalid(why)) => {
                    return self.finish(import, ImportState::Failed, Some(why)).await;
                }
                Err(e) => {
                    tracing::warn!(import = %import.id, chunk = index, error = ?e, "an import chunk failed");
                    next.attempts += 1;
                    if next.attempts >= MAX_ATTEMPTS {
                        let why = format!("chunk {index} failed {MAX_ATTEMPTS} times: {e}");
                        return self.finish(next, ImportState::Failed, Some(why)).await;
                    }
                    next.error = Some(e.to_string());
                    // Leave it for the next run (or process), which may find the store well.
                    next.lease_until = Some(now);
                    return Ok(self.store.update_import(&next).await?.unwrap_or(next));
                }
            }
            match self.store.update_import(&next).await? {
                Some(stored) => import = stored,
                None => {
                    // Someone took the import (our lease had lapsed): stop writing.
                    tracing::warn!(import = %import.id, "lost the import lease; stopping");
                    return Ok(self.store.get_import(import.id).await?.unwrap_or(next));
                }
            }
        }
        Ok(import)
    }

    /// Marks the import completed or failed, drops its staged rows and its guard.
    async fn finish(
        &self,
        import: Import,
        state: ImportState,
        error: Option<String>,
    ) -> StoreResult<Import> {
        let now = self.clock.now();
        let mut done = import.clone();
        done.state = state;
        done.error = error;
        done.finished_at = Some(now);
        done.updated_at = now;
        done.lease_owner = None;
        done.lease_until = None;
        let Some(done) = self.store.update_import(&done).await? else {
            return Ok(self.store.get_import(import.id).await?.unwrap_or(done));
        };
        if let Err(e) = self.store.drop_staged(done.id).await {
            tracing::warn!(import = %done.id, error = ?e, "could not drop an import's staged rows");
        }
        self.release_guard(&done.fingerprint, done.id).await;
        match state {
            ImportState::Failed => {
                tracing::error!(import = %done.id, error = ?done.error, written = done.rows_written, "import failed")
            }
            _ => {
                tracing::info!(import = %done.id, rows = done.rows_written, outcome = ?done.outcome, "import completed")
            }
        }
        Ok(done)
    }

    /// Takes the guard of `fingerprint` for `id`; returns the import that holds it instead.
    async fn take_guard(
        &self,
        fingerprint: &str,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Uuid>> {
        let key = format!("{GUARD_PREFIX}{fingerprint}");
        let ours = serde_json::to_string(&Guard { id, at: now })
            .map_err(|e| StoreError::Backend(e.into()))?;
        for _ in 0..5 {
            let current = self.store.get_meta(&key).await?;
            if let Some(held) = current
                .as_deref()
                .and_then(|c| serde_json::from_str::<Guard>(c).ok())
            {
                let live = match self.store.get_import(held.id).await? {
                    Some(i) => i.state == ImportState::Running,
                    // Still being staged, or its uploader died before staging it.
                    None => held.at + LEASE > now,
                };
                if live {
                    return Ok(Some(held.id));
                }
            }
            if self
                .store
                .compare_and_set_meta(&key, current.as_deref(), Some(&ours))
                .await?
            {
                return Ok(None);
            }
        }
        Err(StoreError::Backend(anyhow::anyhow!(
            "the import guard keeps changing"
        )))
    }

    async fn release_guard(&self, fingerprint: &str, id: Uuid) {
        let key = format!("{GUARD_PREFIX}{fingerprint}");
        let result = async {
            let current = self.store.get_meta(&key).await?;
            let ours = current
                .as_deref()
                .and_then(|c| serde_json::from_str::<Guard>(c).ok())
                .is_some_and(|g| g.id == id);
            if ours {
                self.store
                    .compare_and_set_meta(&key, current.as_deref(), None)
                    .await?;
            }
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(import = %id, error = ?e, "could not release an import's guard");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Upn;

    #[test]
    fn fingerprint_depends_on_rows_not_on_batch() {
        let a = vec![NewPerson::new(Upn::parse("a@contoso.com").expect("upn"))];
        let mut b = a.clone();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b[0].display_name = Some("A".into());
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 64);
    }
}
