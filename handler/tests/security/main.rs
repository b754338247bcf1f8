//! Reliability and security suite (issue #9): the real handler under hostile input, concurrency
//! and forged credentials. Each test's comments name one way to break the property it guards and
//! how the test then fails.
//!
//! Reuses the API suite's `spawn_app()` and test keys rather than copying them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../api/keys.rs"]
#[allow(dead_code)]
mod keys;

mod admin_auth;
mod concurrency;
mod csv_fuzz;
mod disclosure;
mod hostile_http;
mod raw;
mod tokens;
