//! Benchmarks of the MFA onboarding system, run as `cargo run --release -p mfa-bench -- <name>`.
//! Each prints a Markdown table for `BENCHMARKS.md`.
//!
//! - [`load`]: a closed-loop HTTP/1.1 load generator (N keep-alive connections, fixed duration).
//! - [`minimal`]: the baseline server returning the same bytes as the handler.
//! - [`app`]: the real handler in-process on a temporary SQLite file; [`counting`] wraps its
//!   store to count writes.
//! - [`handler_bench`], [`upload_bench`], [`check_bench`], [`check_events_bench`],
//!   [`campaign_bench`]: the `handler`, `upload`, `check-pass`, `check-events` and `campaign`
//!   benchmarks; [`campaign`] is the whole-campaign driver (simulator, worker, behaviour model)
//!   that `campaign` and the fault suite share.
//! - [`procstat`]: peak memory and CPU time from `/proc`; [`machine`]: the machine description.
pub mod app;
pub mod campaign;
pub mod campaign_bench;
pub mod check_bench;
pub mod check_events_bench;
pub mod counting;
pub mod handler_bench;
pub mod load;
pub mod machine;
pub mod minimal;
pub mod procstat;
pub mod sharepoint_bench;
pub mod upload_bench;
