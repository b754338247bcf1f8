//! The production Microsoft Graph client: everything the product does outside its store.
//!
//! - [`client`]: [`GraphClient`] and its `send` core, through which every call goes.
//! - [`auth`]: [`TokenSource`], the token cache and the credentials ([`GraphCredential`]).
//! - [`retry`]: the one retry loop ([`Retry`]) and the one definition of what is retried
//!   ([`Fault::is_retryable`]), used by requests, `$batch` sub-requests and token fetches;
//!   `Retry-After` parsing and the backoff policy.
//! - [`throttle`]: per-[`Category`] gates and adaptive concurrency, and the counters.
//! - [`batch`]: JSON `$batch` with per-sub-request retries.
//! - [`users`], [`groups`], [`methods`], [`reports`], [`audit`], [`mail`], [`sharepoint`],
//!   [`policy`]: typed calls.
//! - [`strength`]: a person's [`Strength`](crate::domain::Strength) and method list from
//!   `/authentication/methods` or the registration report's `methodsRegistered`.
//! - [`settings`]: [`GraphSettings`], every tunable, loaded from app settings.
//!
//! # Categories
//! Graph throttles per service, so the client does too: [`Category::Identity`] (users, groups,
//! authentication methods), [`Category::Reports`] (reports and the directory audit log), [`Category::Mail`] (one per sending mailbox;
//! Exchange allows 4 concurrent requests per mailbox), [`Category::SharePoint`] and
//! [`Category::Other`]. Each has a gate and an AIMD concurrency limit within `[1, ceiling]`:
//! a 429 closes the gate for every caller until the server's `Retry-After` instant and halves the
//! limit; a run of successes as long as the limit raises it by one. Per-user method reads count
//! as reports (Graph may charge them to the reports limit). Mail (per mailbox) and reports are
//! also paced by a rolling window at the published rate, so the client stays under it.
//!
//! # Retry policy
//! One loop ([`Retry`]) and one definition ([`Fault::is_retryable`]) for requests, `$batch`
//! sub-requests and token fetches. 429 and 503 responses, connection failures and broken
//! connections are retried; a 504 or a timeout only for an idempotent request (not a POST unless
//! it is marked idempotent: it may have been processed). Requests retry at most `max_retries`
//! times and `max_total_wait` of clock time per call; token fetches by
//! [`RetryPolicy::for_tokens`]. The wait is the server's (`Retry-After` seconds or HTTP-date;
//! the greater of it and `RateLimit-Reset`), else full-jitter exponential backoff (base 3 s,
//! cap 180 s). A 401 refreshes the token once and resends. When the budget runs out the call
//! fails with [`GraphError::Throttled`] (429/503), [`GraphError::Transport`] or the 504 as
//! [`GraphError::Unexpected`]; a token fetch with [`GraphError::Credential`], which the token
//! cache remembers for a minute so the calls after it fail at once.
//!
//! All waiting (gates, backoff) and all token-expiry decisions go through the injected
//! [`crate::clock::Clock`]; only the per-request network timeout is real time.
//!
//! # Settings
//! See [`GraphSettings`] and `docs/graph-client.md`: `MFA_GRAPH_BASE_URL`, `MFA_GRAPH_ORG`,
//! `MFA_GRAPH_TIMEOUT_SECONDS`, `MFA_GRAPH_MAX_RETRIES`, `MFA_GRAPH_MAX_WAIT_SECONDS`,
//! `MFA_GRAPH_BACKOFF_BASE_MS`, `MFA_GRAPH_BACKOFF_CAP_SECONDS`,
//! `MFA_GRAPH_TOKEN_REFRESH_MARGIN_SECONDS`, `MFA_GRAPH_TOKEN_TIMEOUT_SECONDS`,
//! `MFA_GRAPH_TOKEN_FAILURE_MEMORY_SECONDS`, the `MFA_GRAPH_*_CONCURRENCY` ceilings,
//! `MFA_GRAPH_MAIL_PER_MINUTE` and `MFA_GRAPH_REPORTS_PER_10_SECONDS`; the
//! credential comes from the Azure SDK's standard variables (see [`auth`]).

#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod batch;
pub mod client;
pub mod error;
pub mod groups;
pub mod mail;
pub mod methods;
pub mod policy;
pub mod reports;
pub mod request;
pub mod retry;
pub mod settings;
pub mod sharepoint;
pub mod strength;
pub mod throttle;
pub mod users;

pub use audit::DirectoryAudit;
pub use auth::{
    AccessToken, CredentialKind, GraphCredential, IssuedTokens, StaticToken, TokenCache,
    TokenSource, TOKEN_FAILURE_MEMORY,
};
pub use batch::{BatchRequest, BatchResponse, MAX_BATCH};
pub use client::GraphClient;
pub use error::{GraphError, GraphResult};
pub use groups::{Group, MemberUser};
pub use mail::Mail;
pub use methods::{AuthMethod, MethodKind, PasskeyType, PerUserMfaState, PhoneType};
pub use policy::{CampaignState, CampaignTarget, RegistrationCampaign};
pub use reports::RegistrationDetails;
pub use request::{odata_string, segment, GraphRequest, GraphResponse, Page};
pub use retry::{Fault, Retry, RetryPolicy, TOKEN_RETRIES};
pub use settings::{GraphSettings, MailFormat};
pub use sharepoint::{Column, ItemQuery, List, ListItem, RangeFilter};
pub use strength::{
    labels_of_methods, labels_of_registered, strength_of_methods, strength_of_registered,
};
pub use throttle::{Category, CategoryStats, GraphStats};
pub use users::{AddMember, User};
