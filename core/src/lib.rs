//! Shared library of the MFA onboarding system.
//!
//! - [`bootstrap`]: the store and the Graph client from settings, for the binaries.
//! - [`clock`]: injected time, so tests and simulations move time instead of waiting.
//! - [`domain`]: validated types and the invitation lifecycle.
//! - [`graph`]: the Microsoft Graph client (auth, throttling, retries, `$batch`, typed calls).
//! - [`store`]: the `Store` trait and its backends (SQLite embedded).
//! - [`imports`]: background imports: uploads written chunk by chunk, durably, under a lease.
//! - [`config`]: typed settings from environment variables, validated once.
//! - [`telemetry`]: `tracing` set-up (JSON in Azure, text locally).
//! - [`passes`]: the `PassRunner` contract between triggers (timers, admin API, CLI) and the worker.
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod control;
pub mod domain;
pub mod graph;
pub mod imports;
pub mod passes;
pub mod store;
pub mod telemetry;
