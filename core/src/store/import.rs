//! What the store keeps of a background import: its header ([`Import`]) and its staged chunks of
//! validated people. The job that writes them lives in [`crate::imports`]; the store only keeps
//! them durably, so whichever process runs next can resume an import a recycled instance left.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{UploadBatch, UpsertSummary};
use crate::domain::NewPerson;

/// Where a background import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportState {
    /// Rows are still being written.
    Running,
    /// Every row was written.
    Completed,
    /// Writing stopped for good ([`Import::error`] says why); the rows written stay.
    Failed,
}

impl ImportState {
    /// `running`, `completed`, `failed` (as the API shows it).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Running => "running",
            ImportState::Completed => "completed",
            ImportState::Failed => "failed",
        }
    }
}

/// The header of an upload written chunk by chunk: what it is, how far it got, who holds it.
///
/// Every field is kept as JSON by the backends, so fields added to [`UploadBatch`] travel with
/// the staged import (give them `#[serde(default)]` so imports staged by an older build still
/// read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Import {
    /// The import id (the upload's answer and the API's `{id}`).
    pub id: Uuid,
    /// Running, completed or failed.
    pub state: ImportState,
    /// The upload the rows belong to: batch id, source, correlation id, time, mode, ….
    pub batch: UploadBatch,
    /// Fingerprint of the validated rows (re-uploading the same rows while this runs is refused).
    pub fingerprint: String,
    /// The admin who uploaded the file.
    pub started_by: String,
    /// When the upload was accepted.
    pub started_at: DateTime<Utc>,
    /// When the header was last written.
    pub updated_at: DateTime<Utc>,
    /// When the import completed or failed.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Valid rows in the upload.
    pub rows_total: u64,
    /// Rows written so far (whole chunks).
    pub rows_written: u64,
    /// Staged chunks.
    pub chunks_total: u32,
    /// Chunks written, in order: chunk `chunks_done` is the next one.
    pub chunks_done: u32,
    /// What the written rows did (inserted, requeued, reset, unchanged).
    #[serde(default)]
    pub outcome: UpsertSummary,
    /// The last failure (kept while the import is retried; the reason when it failed).
    #[serde(default)]
    pub error: Option<String>,
    /// Failed attempts at the current chunk.
    #[serde(default)]
    pub attempts: u32,
    /// The process writing the import.
    #[serde(default)]
    pub lease_owner: Option<String>,
    /// The lease lapses at this instant (so an import a dead process held is resumed).
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    /// `sendNow` was asked: start the invitation pass when the import completes.
    #[serde(default)]
    pub send_now: bool,
    /// Compare-and-set version ([`super::Store::update_import`]).
    #[serde(default)]
    pub version: u64,
}

impl Import {
    /// Rows not written yet.
    pub fn rows_left(&self) -> u64 {
        self.rows_total.saturating_sub(self.rows_written)
    }

    /// True while someone other than `owner` holds a live lease at `now`.
    pub fn leased_by_other(&self, owner: &str, now: DateTime<Utc>) -> bool {
        self.lease_owner.as_deref().is_some_and(|o| o != owner)
            && self.lease_until.is_some_and(|u| u > now)
    }

    /// A running import nobody holds at `now` (never taken, released, or its holder died).
    pub fn is_resumable(&self, now: DateTime<Utc>) -> bool {
        self.state == ImportState::Running && self.lease_until.is_none_or(|u| u <= now)
    }

    /// When the rows left should be written, at the pace seen so far (none before the first
    /// chunk, and none once finished).
    pub fn eta(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.state != ImportState::Running || self.rows_written == 0 {
            return None;
        }
        let spent = (self.updated_at - self.started_at)
            .num_milliseconds()
            .max(1);
        let per_row = spent as f64 / self.rows_written as f64;
        let left = (per_row * self.rows_left() as f64).round() as i64;
        Some(now.max(self.updated_at) + Duration::milliseconds(left))
    }
}

/// Staged rows as the backends keep them: `[upn, displayName, department, jobTitle]` per person,
/// compact JSON (a SharePoint meta item holds about 60,000 characters).
pub fn encode_people(people: &[NewPerson]) -> String {
    let rows: Vec<[Option<&str>; 4]> = people
        .iter()
        .map(|p| {
            [
                Some(p.upn.as_str()),
                p.display_name.as_deref(),
                p.department.as_deref(),
                p.job_title.as_deref(),
            ]
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())
}

/// Reads what [`encode_people`] wrote.
pub fn decode_people(text: &str) -> anyhow::Result<Vec<NewPerson>> {
    let rows: Vec<[Option<String>; 4]> = serde_json::from_str(text)?;
    rows.into_iter()
        .map(|[upn, display_name, department, job_title]| {
            let upn = crate::domain::Upn::parse(upn.as_deref().unwrap_or_default())
                .map_err(|e| anyhow::anyhow!("a staged row has a bad address: {e}"))?;
            Ok(NewPerson {
                upn,
                display_name,
                department,
                job_title,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Upn;

    #[test]
    fn staged_people_round_trip() {
        let people = vec![
            NewPerson {
                upn: Upn::parse("a@contoso.com").expect("upn"),
                display_name: Some("Ann \"A\", Smith".into()),
                department: None,
                job_title: Some("Ops".into()),
            },
            NewPerson::new(Upn::parse("b@contoso.com").expect("upn")),
        ];
        let text = encode_people(&people);
        assert_eq!(decode_people(&text).expect("decode"), people);
        assert!(decode_people("[[\"not an address\",null,null,null]]").is_err());
    }
}
