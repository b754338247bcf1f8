//! Shared library of the MFA onboarding system.
//!
//! - [`clock`]: injected time, so tests and simulations move time instead of waiting.
//! - [`domain`]: validated types and the invitation lifecycle.
pub mod clock;
pub mod domain;
