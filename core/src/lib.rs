//! Shared library of the MFA onboarding system.
//!
//! - [`clock`]: injected time, so tests and simulations move time instead of waiting.
pub mod clock;
