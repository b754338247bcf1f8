//! State shared by the server, the route handlers and the control handle, plus the per-request
//! context and the one place limits are enforced and violations recorded.

use crate::clock::SimClock;
use crate::config::{Licence, Limits, SimConfig};
use crate::errors::GraphError;
use crate::faults::FaultSet;
use crate::limits::{Category, Charge, Throttler};
use crate::log::{RequestRecord, Violation, ViolationKind};
use crate::sharepoint::SharePointState;
use crate::state::TenantState;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// An access token the simulator issued.
#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub client_id: String,
    pub permissions: Option<HashSet<String>>,
    pub expires_at: DateTime<Utc>,
}

/// Everything behind the simulator.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub clock: SimClock,
    pub base_url: OnceLock<String>,
    pub limits: Mutex<Limits>,
    pub licence: Mutex<Licence>,
    pub tenant: Mutex<TenantState>,
    pub sharepoint: Mutex<SharePointState>,
    pub tokens: Mutex<HashMap<String, TokenInfo>>,
    pub throttle: Mutex<Throttler>,
    pub log: Mutex<VecDeque<RequestRecord>>,
    pub violations: Mutex<Vec<Violation>>,
    pub faults: Mutex<FaultSet>,
    pub rng: Mutex<StdRng>,
    pub inflight: Mutex<HashMap<String, u64>>,
    pub audit: Mutex<crate::audit::AuditLog>,
}

impl Shared {
    pub fn new(config: SimConfig) -> Self {
        Self {
            clock: config.clock.clone(),
            limits: Mutex::new(config.limits.clone()),
            licence: Mutex::new(config.licence),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            base_url: OnceLock::new(),
            tenant: Mutex::new(TenantState::default()),
            sharepoint: Mutex::new(SharePointState::default()),
            tokens: Mutex::new(HashMap::new()),
            throttle: Mutex::new(Throttler::default()),
            log: Mutex::new(VecDeque::new()),
            violations: Mutex::new(Vec::new()),
            faults: Mutex::new(FaultSet::default()),
            inflight: Mutex::new(HashMap::new()),
            audit: Mutex::new(crate::audit::AuditLog::new(config.audit_delay)),
            config,
        }
    }

    /// Base URL of the server (`http://127.0.0.1:port`).
    pub fn base(&self) -> &str {
        self.base_url.get().map(String::as_str).unwrap_or("")
    }

    /// `https://…/v1.0`-style root used in `@odata.context` and next links.
    pub fn graph_root(&self, version: &str) -> String {
        format!("{}/{version}", self.base())
    }

    pub fn violate(&self, kind: ViolationKind, category: Category, ctx: &Ctx, detail: String) {
        tracing::warn!(?kind, ?category, %detail, "simulator violation");
        self.violations.lock().push(Violation {
            kind,
            category,
            at: ctx.now,
            client_id: ctx.client_id.clone(),
            detail,
        });
    }

    pub fn record(&self, rec: RequestRecord) {
        let mut log = self.log.lock();
        if log.len() >= self.config.request_log_capacity.max(1) {
            log.pop_front();
        }
        log.push_back(rec);
    }

    /// Applies `charges` for the request in `ctx`; on refusal records the violation, remembers
    /// the `Retry-After` for the client and scope, and returns the throttling error.
    pub fn enforce(
        &self,
        ctx: &Ctx,
        category: Category,
        scope: &str,
        charges: &[Charge],
    ) -> Result<(), GraphError> {
        let client = ctx.client_id.as_deref().unwrap_or("anonymous");
        let scope_key = format!("{client}|{scope}");
        let mut th = self.throttle.lock();
        let while_throttled = th.is_blocked(&scope_key, ctx.now);
        if while_throttled {
            self.violate(
                ViolationKind::SentWhileThrottled,
                category,
                ctx,
                format!("{} sent before Retry-After elapsed for {scope}", ctx.path),
            );
        }
        match th.charge(ctx.now, charges, while_throttled) {
            Ok(()) => Ok(()),
            Err((secs, key)) => {
                th.block(&scope_key, ctx.now + chrono::Duration::seconds(secs as i64));
                drop(th);
                self.violate(
                    ViolationKind::LimitExceeded,
                    category,
                    ctx,
                    format!("{} refused by limit {key}", ctx.path),
                );
                ctx.throttled.store(true, Ordering::Relaxed);
                Err(self.throttle_error(category, secs))
            }
        }
    }

    /// Marks `scope` as told to wait (used for injected 429/503 with `Retry-After`).
    pub fn block_scope(&self, ctx: &Ctx, scope: &str, secs: u64) {
        let client = ctx.client_id.as_deref().unwrap_or("anonymous");
        self.throttle.lock().block(
            &format!("{client}|{scope}"),
            ctx.now + chrono::Duration::seconds(secs as i64),
        );
    }

    pub fn throttle_error(&self, category: Category, secs: u64) -> GraphError {
        match category {
            Category::Mail => GraphError::throttled(
                429,
                "ApplicationThrottled",
                secs,
                "Application is over its MailboxConcurrency limit.",
            ),
            Category::SharePoint => {
                let status = self.limits.lock().sharepoint_throttle_status;
                GraphError::throttled(
                    status,
                    "activityLimitReached",
                    secs,
                    "The request has been throttled",
                )
                .with_header("RateLimit-Reset", secs.to_string())
            }
            _ => GraphError::throttled(
                429,
                "TooManyRequests",
                secs,
                "Too many requests. Please retry after the time in the Retry-After header.",
            ),
        }
    }
}

/// Per-request context.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub now: DateTime<Utc>,
    pub path: String,
    pub request_id: String,
    pub client_request_id: String,
    pub client_id: Option<String>,
    pub permissions: Option<HashSet<String>>,
    pub in_batch: bool,
    pub user_agent: Option<String>,
    pub throttled: AtomicBool,
}

impl Ctx {
    pub fn new(now: DateTime<Utc>, path: &str, client_request_id: Option<&str>) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        Self {
            now,
            path: path.to_string(),
            client_request_id: client_request_id
                .map(str::to_string)
                .unwrap_or_else(|| request_id.clone()),
            request_id,
            client_id: None,
            permissions: None,
            in_batch: false,
            user_agent: None,
            throttled: AtomicBool::new(false),
        }
    }

    /// The client id or `anonymous`.
    pub fn client(&self) -> &str {
        self.client_id.as_deref().unwrap_or("anonymous")
    }

    /// Whether the caller holds any of `perms` (no permission set = all).
    pub fn has_any(&self, perms: &[&str]) -> bool {
        match &self.permissions {
            None => true,
            Some(set) => perms.is_empty() || perms.iter().any(|p| set.contains(*p)),
        }
    }
}
