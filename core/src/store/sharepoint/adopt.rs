//! Adoption of rows written by the replaced system.
//!
//! One pass over the list (pages of 5,000): a row without a usable `TrackingToken` gets one, a
//! legacy status is rewritten as ours (`Skipped Registered` → Active with MFA Registered;
//! `Error` → Pending with `ErrorDetails`, not due), our bookkeeping columns are filled in
//! (`RowVersion`, `CreatedAt`, `Source` = Adopted, and `NextDueAt` = now for unfinished rows
//! with no error, so the worker looks at them on its next run). Each row is written with
//! `If-Match`; a row changed meanwhile is left for the next adoption. Columns we do not model
//! (`UserType`, `Notes`) are never touched and no row is deleted.

use serde::Serialize;

use super::list::RU_WRITE;
use super::mapping::{self, Row};
use super::{queries, SharePointStore};
use crate::domain::InviteStatus;
use crate::store::{Store, StoreResult};

/// Meta key recording that adoption ran.
pub const ADOPTED_KEY: &str = "sharepoint.adopted";
/// Version of the adoption rules (bump to adopt again on the next open).
pub const ADOPT_VERSION: &str = "1";

/// What adoption did.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AdoptReport {
    /// Rows read.
    pub rows: u64,
    /// Rows given a tracking token.
    pub tokens_generated: u64,
    /// Rows whose legacy status was mapped.
    pub statuses_mapped: u64,
    /// Rows written (tokens, statuses or bookkeeping columns).
    pub written: u64,
    /// Rows changed by someone else during adoption (left for the next run).
    pub skipped_conflicts: u64,
}

fn needs_adoption(row: &Row) -> bool {
    !row.has_token || row.legacy_status.is_some() || !row.has_version
}

impl SharePointStore {
    /// Adopts every legacy row (see the module docs) and records that adoption ran.
    pub async fn adopt(&self) -> StoreResult<AdoptReport> {
        let rows = queries::all_rows(self).await?;
        let now = self.now();
        let mut report = AdoptReport {
            rows: rows.len() as u64,
            ..AdoptReport::default()
        };
        let todo: Vec<(Row, crate::domain::OnboardingRecord)> = rows
            .into_iter()
            .filter(needs_adoption)
            .map(|row| {
                let mut rec = row.record.clone();
                if !row.has_version
                    && rec.next_due_at.is_none()
                    && rec.error_details.is_none()
                    && rec.status != InviteStatus::Active
                {
                    rec.next_due_at = Some(now);
                }
                rec.version += 1;
                rec.updated_at = now;
                report.tokens_generated += u64::from(!row.has_token);
                report.statuses_mapped += u64::from(row.legacy_status.is_some());
                (row, rec)
            })
            .collect();
        let requests = todo
            .iter()
            .map(|(row, rec)| {
                (
                    self.people.patch_request(
                        &row.item_id,
                        mapping::write_fields(rec),
                        row.etag.as_deref(),
                    ),
                    RU_WRITE,
                )
            })
            .collect();
        for ((row, rec), res) in todo.iter().zip(self.people.batch(requests).await) {
            match res {
                Ok(_) => {
                    report.written += 1;
                    self.forget(rec.upn.as_str());
                }
                Err(crate::graph::GraphError::PreconditionFailed) => {
                    report.skipped_conflicts += 1;
                    tracing::info!(item = %row.item_id, "row changed during adoption; left for later");
                }
                Err(e) => return Err(super::backend(e)),
            }
        }
        if report.skipped_conflicts == 0 {
            self.set_meta(ADOPTED_KEY, ADOPT_VERSION).await?;
        }
        Ok(report)
    }
}
