//! The request log and the violation log the control API and tests read.

use crate::limits::Category;
use chrono::{DateTime, Utc};

/// One request the simulator answered (sub-requests of `$batch` are logged individually).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path (for batch sub-requests, the full `/v1.0/...` path).
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Status answered.
    pub status: u16,
    /// Simulated time the request arrived.
    pub at: DateTime<Utc>,
    /// Service category.
    pub category: Category,
    /// Whether it was refused by a limit (429/503 from the throttler).
    pub throttled: bool,
    /// Client id of the caller, if authenticated.
    pub client_id: Option<String>,
    /// Whether it arrived inside a `$batch`.
    pub in_batch: bool,
    /// `User-Agent` sent (for batch sub-requests, the envelope's).
    pub user_agent: Option<String>,
}

/// What rule a violation broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ViolationKind {
    /// A request was refused because a service limit was exceeded.
    LimitExceeded,
    /// A request arrived before the `Retry-After` given to that client for that category elapsed.
    SentWhileThrottled,
    /// The `Prefer: HonorNonIndexedQueriesWarningMayFailRandomly` header was used.
    NonIndexedQuery,
}

/// A recorded breach of the rules the product must respect.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// Which rule.
    pub kind: ViolationKind,
    /// Service category.
    pub category: Category,
    /// Simulated time.
    pub at: DateTime<Utc>,
    /// Client id, if known.
    pub client_id: Option<String>,
    /// Human-readable detail (limit name, mailbox, path).
    pub detail: String,
}
