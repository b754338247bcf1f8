//! Shared library of the MFA onboarding system.
//!
//! - [`clock`]: injected time, so tests and simulations move time instead of waiting.
//! - [`graph`]: the Microsoft Graph client (auth, throttling, retries, `$batch`, typed calls).
pub mod clock;
pub mod graph;
