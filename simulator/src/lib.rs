//! Microsoft 365 tenant simulator: a local stand-in for the parts of Microsoft Graph, Exchange
//! Online, SharePoint lists and Entra token endpoints that the MFA onboarding product uses,
//! enforcing the published service limits against an injectable clock.
//!
//! Modules: [`clock`] (the simulated clock), [`config`] (settings and [`Limits`]), [`state`]
//! (users, groups, methods, outbox), [`policy`] (the registration campaign), [`sharepoint`]
//! (sites, lists, indexed items, delta),
//! [`limits`] (rolling windows and the throttler), [`log`] (request and violation records),
//! [`faults`] (injectable failures), [`odata`] (`$filter`/`$select`/paging), [`errors`]
//! (Graph error bodies), [`http`] (transport-neutral request/response), [`demo`] (seeding a
//! realistic org). Internally `auth` issues and checks tokens, `dispatch` runs the request
//! pipeline, `routes` holds one module per Graph area plus `/_sim/` control and the outbox
//! pages, and `server`
//! is the warp glue. [`Simulator`] starts the server; [`Tenant`] is the control handle.

pub mod audit;
pub mod clock;
pub mod config;
pub mod demo;
pub mod errors;
pub mod faults;
pub mod http;
pub mod limits;
pub mod log;
pub mod odata;
pub mod policy;
pub mod sharepoint;
pub mod state;

mod auth;
mod dispatch;
mod routes;
mod server;
mod shared;
mod sim;
mod tenant;

pub use audit::AuditEvent;
pub use clock::SimClock;
pub use config::{
    AppRegistration, Latency, Licence, Limits, SimConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
};
pub use demo::DemoOrg;
pub use faults::{FaultAction, FaultMatcher, FaultRule, FaultTrigger};
pub use limits::Category;
pub use log::{RequestRecord, Violation, ViolationKind};
pub use policy::{CampaignTarget, RegistrationCampaign};
pub use sim::{Simulator, SHUTDOWN_GRACE};
pub use state::{
    aaguid, AuthMethod, Group, MethodKind, MethodOptions, NewUser, Passkey, PasskeyType, Recipient,
    SentMail, User,
};
pub use tenant::{Fields, SimError, Tenant};
