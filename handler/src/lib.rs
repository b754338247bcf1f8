//! The Azure Functions custom handler of the MFA onboarding system.
//!
//! The Functions host starts the `handler` binary and forwards HTTP requests to it at their
//! original `/api/...` paths; timer functions arrive as `POST /{function-name}` invocations.
//!
//! - [`startup`]: [`startup::Application`] binds `127.0.0.1:{port}`, wires [`state`] and
//!   [`filters`], and shuts down gracefully (flushing buffered open-tracking writes).
//! - [`settings`]: handler-only settings on top of [`mfa_core::config::Settings`].
//! - [`filters`]: one warp filter per route, state injectors and body limits.
//! - [`routes`]: the handlers, one module per endpoint (public pages, upload, admin API, host
//!   protocol).
//! - [`auth`] and [`cors`]: who may call the admin API, and from which browser origin.
//! - [`pages`]: branded HTML pages rendered from handlebars templates.
//! - [`opens`]: the buffered, coalescing email-open tracker; [`resend`]: the off-path resend
//!   queue and [`ratelimit`]; [`group`]: the Conditional Access group seam (Graph in production);
//!   [`imports`]: background imports (uploads written after the answer, resumed after a recycle).
//! - [`wiring`]: production dependencies (store, Graph, group, the worker) from the environment.
//! - [`cli`]: the command line (clap); `local`: `handler local`, the whole system on one
//!   machine with the tenant simulator (feature `local`, on by default, off in the Azure package).
//! - [`error`], [`respond`], [`body`]: one error type, response helpers with security headers,
//!   and capped body reading.
pub mod audit;
pub mod auth;
pub mod body;
pub mod cli;
pub mod cors;
pub mod error;
pub mod filters;
pub mod group;
pub mod imports;
#[cfg(feature = "local")]
pub mod local;
pub mod models;
pub mod opens;
pub mod pages;
pub mod ratelimit;
pub mod resend;
pub mod respond;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod wiring;
