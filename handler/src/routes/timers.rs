//! Timer invocations from the Functions host: `POST /orchestrator-timer` and
//! `POST /reports-timer`.
//!
//! The payload is read leniently (a missing, null, year-0001 or malformed `ScheduleStatus`, or no
//! body at all, is fine). The answer is always `200` JSON `{"Outputs":{},"Logs":[...],
//! "ReturnValue":null}`: a non-2xx would make the host drop the logs, and failed timer runs are
//! not retried anyway, so failures are reported in `Logs` and the log.

use std::time::Instant;

use bytes::Bytes;
use mfa_core::passes::{PassKind, RunRequest};
use serde_json::Value;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::respond;
use crate::state::SharedState;

/// A timer function and the passes it runs.
#[derive(Debug, Clone, Copy)]
pub struct TimerFunction {
    /// The function (folder) name.
    pub name: &'static str,
    /// Passes run in order.
    pub passes: &'static [PassKind],
}

/// Every 15 minutes: check, escalation, reminder, invitation, deadline.
pub const ORCHESTRATOR: TimerFunction = TimerFunction {
    name: "orchestrator-timer",
    passes: &PassKind::ORCHESTRATOR,
};

/// Daily: the admin report.
pub const REPORTS: TimerFunction = TimerFunction {
    name: "reports-timer",
    passes: &[PassKind::Report],
};

/// The timer functions, by name.
pub fn by_name(name: &str) -> Option<TimerFunction> {
    [ORCHESTRATOR, REPORTS].into_iter().find(|t| t.name == name)
}

/// Runs the timer's passes and answers in the host's invocation format.
pub async fn invoke(timer: TimerFunction, body: Bytes, state: SharedState) -> Response {
    let mut logs = Vec::new();
    let payload: Option<Value> = serde_json::from_slice(&body).ok();
    let past_due = payload
        .as_ref()
        .and_then(|p| p.get("Data"))
        .and_then(Value::as_object)
        .and_then(|data| data.values().find_map(|t| t.get("IsPastDue")))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if payload.is_none() && !body.is_empty() {
        logs.push(format!(
            "{}: the invocation payload was not JSON; running anyway",
            timer.name
        ));
    }
    let names: Vec<&str> = timer.passes.iter().map(|p| p.as_str()).collect();
    tracing::info!(function = timer.name, past_due, passes = ?names, "timer invocation");
    if timer.name == ORCHESTRATOR.name {
        // An import whose instance was recycled is resumed by whichever process runs next.
        state.imports.resume_in_background();
    }
    match &state.runner {
        None => {
            let msg = format!("{}: worker not available; no passes ran", timer.name);
            tracing::warn!("{msg}");
            logs.push(msg);
        }
        Some(runner) => {
            let started = Instant::now();
            let request = RunRequest {
                passes: timer.passes.to_vec(),
                now: None,
                dry_run: false,
                trigger: "timer".into(),
            };
            match runner.run(request).await {
                Ok(report) => {
                    let msg = format!(
                        "{}: run {} finished in {} ms: {}",
                        timer.name,
                        report.run_id,
                        started.elapsed().as_millis(),
                        report
                            .passes
                            .iter()
                            .map(|p| format!(
                                "{} examined {} changed {} sent {} deferred {} errors {}",
                                p.pass.map_or("?", |k| k.as_str()),
                                p.examined,
                                p.changed,
                                p.emails_sent,
                                p.deferred,
                                p.errors
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    );
                    tracing::info!("{msg}");
                    logs.push(msg);
                }
                Err(e) => {
                    tracing::error!(function = timer.name, error = ?e, "timer run failed");
                    logs.push(format!("{}: the run failed: {e:#}", timer.name));
                }
            }
        }
    }
    respond::json(
        StatusCode::OK,
        &serde_json::json!({ "Outputs": {}, "Logs": logs, "ReturnValue": null }),
    )
}
