//! Integration tests: the real handler, driven the way the Azure Functions host drives it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod auth;
mod cli;
mod control;
mod enrol;
mod functions;
mod helpers;
mod host;
mod imports;
mod keys;
#[cfg(feature = "local")]
mod local_mode;
mod portal;
mod resend;
mod ru_pool;
mod simulated;
mod track_open;
mod upload;
