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

impl RequestRecord {
    /// SharePoint resource units this request was charged, as the simulator charges them (and
    /// Graph documents): a single item, list or site read 1; a query page (items, delta),
    /// create, update or delete 2. 0 for anything but SharePoint.
    pub fn sharepoint_ru(&self) -> u64 {
        if self.category != crate::limits::Category::SharePoint {
            return 0;
        }
        if self.method != "GET" || self.path.ends_with("/items") || self.path.contains("/delta") {
            2
        } else {
            1
        }
    }
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
