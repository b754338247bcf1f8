//! Simulator settings: licence, limits (published defaults), token lifetime, latency, apps.

use crate::clock::SimClock;
use std::collections::HashSet;
use std::time::Duration;

/// Entra ID licence of the simulated tenant (the registration report needs P1/P2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Licence {
    /// Entra ID Free: reports answer 403.
    Free,
    /// Entra ID P1.
    P1,
    /// Entra ID P2.
    P2,
}

/// A value meaning "no limit" for the rate windows.
pub const UNLIMITED: u64 = u64::MAX / 4;

/// Every service limit the simulator enforces, with Microsoft's published defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Exchange: messages per sending mailbox per minute (30).
    pub mail_messages_per_minute: u64,
    /// Exchange: recipients (to+cc+bcc) per sending mailbox per rolling 24 h (10,000).
    pub mail_recipients_per_day: u64,
    /// Outlook API: concurrent requests per app and mailbox (4).
    pub mail_concurrent_requests: u64,
    /// Outlook API: requests per app and mailbox per 10 minutes (10,000).
    pub mail_requests_per_10_min: u64,
    /// Identity & access: resource units per app per 10 s (8,000).
    pub identity_ru_per_10_s: u64,
    /// Identity & access: writes per app per 150 s (3,000).
    pub identity_writes_per_150_s: u64,
    /// Identity & access: writes per tenant (all apps) per 5 minutes (18,000).
    pub identity_tenant_writes_per_5_min: u64,
    /// Reports: requests per app per 10 s (5).
    pub reports_per_10_s: u64,
    /// Whether per-user `authentication/methods` reads count against the reports limit (true).
    pub methods_reads_count_as_reports: bool,
    /// SharePoint: resource units per app per minute (5,000, the ≤50k-licence tier).
    pub sharepoint_ru_per_minute: u64,
    /// Status SharePoint throttles with: 429 (default) or 503.
    pub sharepoint_throttle_status: u16,
    /// `$batch`: maximum sub-requests (20).
    pub batch_max_requests: usize,
    /// SharePoint list view threshold for unindexed queries (5,000).
    pub list_view_threshold: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            mail_messages_per_minute: 30,
            mail_recipients_per_day: 10_000,
            mail_concurrent_requests: 4,
            mail_requests_per_10_min: 10_000,
            identity_ru_per_10_s: 8_000,
            identity_writes_per_150_s: 3_000,
            identity_tenant_writes_per_5_min: 18_000,
            reports_per_10_s: 5,
            methods_reads_count_as_reports: true,
            sharepoint_ru_per_minute: 5_000,
            sharepoint_throttle_status: 429,
            batch_max_requests: 20,
            list_view_threshold: 5_000,
        }
    }
}

impl Limits {
    /// No rate limits at all (shape rules such as `$batch` ≤ 20 and the list view threshold stay).
    pub fn unlimited() -> Self {
        Self {
            mail_messages_per_minute: UNLIMITED,
            mail_recipients_per_day: UNLIMITED,
            mail_concurrent_requests: UNLIMITED,
            mail_requests_per_10_min: UNLIMITED,
            identity_ru_per_10_s: UNLIMITED,
            identity_writes_per_150_s: UNLIMITED,
            identity_tenant_writes_per_5_min: UNLIMITED,
            reports_per_10_s: UNLIMITED,
            methods_reads_count_as_reports: false,
            sharepoint_ru_per_minute: UNLIMITED,
            ..Self::default()
        }
    }

    /// SharePoint RU/minute for a tenant with `licences` licences (published tiers).
    pub fn sharepoint_tier(licences: u64) -> u64 {
        match licences {
            0..=1_000 => 1_250,
            1_001..=5_000 => 2_500,
            5_001..=15_000 => 3_750,
            15_001..=50_000 => 5_000,
            _ => 6_250,
        }
    }
}

/// Artificial latency added to every Graph request (real time, not simulated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Latency {
    /// No added latency.
    #[default]
    None,
    /// Always this long.
    Fixed(Duration),
    /// Uniformly random in `[min, max]` (seeded).
    Random(Duration, Duration),
}

/// An app registration that may obtain tokens with client credentials.
#[derive(Debug, Clone)]
pub struct AppRegistration {
    /// Application (client) id.
    pub client_id: String,
    /// Client secret (client assertions are accepted unchecked for known clients).
    pub client_secret: String,
    /// Granted application permissions; `None` means every permission.
    pub permissions: Option<HashSet<String>>,
}

/// Everything `Simulator::start` needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The clock all windows and timestamps use.
    pub clock: SimClock,
    /// Tenant licence.
    pub licence: Licence,
    /// Service limits.
    pub limits: Limits,
    /// Access token lifetime (3,600 s).
    pub token_lifetime: Duration,
    /// Added latency.
    pub latency: Latency,
    /// Seed for every random choice (latency, faults, generated ids stay random).
    pub seed: u64,
    /// Port to bind on 127.0.0.1 (`0` = any free port).
    pub port: u16,
    /// Tenant id (GUID).
    pub tenant_id: String,
    /// Primary domain used for generated UPNs and SharePoint host names.
    pub domain: String,
    /// App registrations for client credentials.
    pub apps: Vec<AppRegistration>,
    /// Client id the managed identity's tokens carry.
    pub managed_identity_client_id: String,
    /// Permissions of the managed identity (`None` = all).
    pub managed_identity_permissions: Option<HashSet<String>>,
    /// Secret expected in `X-IDENTITY-HEADER`.
    pub identity_header: String,
    /// How long a registration takes to show up in the registration report (0).
    pub report_lag: Duration,
    /// How long after a registration its directory audit event becomes visible to
    /// `GET /auditLogs/directoryAudits` (3 minutes: Entra's audit logs typically appear within
    /// a few minutes).
    pub audit_delay: Duration,
    /// How long a SharePoint delta token stays valid (7 days).
    pub delta_token_lifetime: Duration,
    /// Keep at most this many request-log entries (oldest dropped first).
    pub request_log_capacity: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            clock: SimClock::manual_default(),
            licence: Licence::P1,
            limits: Limits::default(),
            token_lifetime: Duration::from_secs(3600),
            latency: Latency::None,
            seed: 42,
            port: 0,
            tenant_id: "7d5c0b5e-3b5a-4b8e-9f3e-5a1c2d3e4f50".to_string(),
            domain: "contoso.example".to_string(),
            apps: vec![AppRegistration {
                client_id: DEFAULT_CLIENT_ID.to_string(),
                client_secret: DEFAULT_CLIENT_SECRET.to_string(),
                permissions: None,
            }],
            managed_identity_client_id: "2f9c3a11-8d0e-4e4b-a6f5-0c1d2e3f4a5b".to_string(),
            managed_identity_permissions: None,
            identity_header: "sim-identity-header".to_string(),
            report_lag: Duration::ZERO,
            audit_delay: Duration::from_secs(180),
            delta_token_lifetime: Duration::from_secs(7 * 24 * 3600),
            request_log_capacity: 1_000_000,
        }
    }
}

/// Client id of the default app registration.
pub const DEFAULT_CLIENT_ID: &str = "5b1f8a2e-9c3d-4e7f-8a6b-1c2d3e4f5a6b";
/// Client secret of the default app registration.
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret";
