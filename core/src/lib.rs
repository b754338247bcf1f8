//! Shared library of the MFA onboarding system.
//!
//! - [`clock`]: injected time, so tests and simulations move time instead of waiting.
//! - [`domain`]: validated types and the invitation lifecycle.
//! - [`store`]: the `Store` trait and its backends (SQLite embedded).
pub mod clock;
pub mod domain;
pub mod store;
