//! `host.json` and `functions/*/function.json` against SPEC §3 and the handler's routes.

use std::fs;

use serde_json::Value;

use crate::helpers::{product_sources, read, repo_root};

/// SPEC §3: the function names (folders under `functions/`).
const SPEC_HTTP_FUNCTIONS: &[&str] = &["upload-users", "enrol", "track-open", "resend", "admin"];
const SPEC_TIMER_FUNCTIONS: &[&str] = &["orchestrator-timer", "reports-timer"];

/// Every `functions/<name>/function.json`: (name, parsed JSON).
fn function_definitions() -> Vec<(String, Value)> {
    let dir = repo_root().join("functions");
    let mut out = Vec::new();
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        let file = path.join("function.json");
        let text = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("functions/{name} has no readable function.json: {e}"));
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("functions/{name}/function.json is not JSON: {e}"));
        out.push((name, json));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn bindings(json: &Value) -> &[Value] {
    json["bindings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn handler_source() -> String {
    product_sources(&["handler/src"])
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_spec_function_exists() {
    let names: Vec<_> = function_definitions().into_iter().map(|(n, _)| n).collect();
    for f in SPEC_HTTP_FUNCTIONS.iter().chain(SPEC_TIMER_FUNCTIONS) {
        assert!(
            names.iter().any(|n| n == f),
            "functions/{f} is missing (SPEC §3); have {names:?}"
        );
    }
}

#[test]
fn every_function_has_the_documented_shape_and_a_served_route() {
    let source = handler_source();
    for (name, json) in function_definitions() {
        let b = bindings(&json);
        let kind = |v: &Value| v["type"].as_str().unwrap_or("").to_string();
        if b.iter().any(|v| kind(v) == "timerTrigger") {
            assert_eq!(
                b.len(),
                1,
                "{name}: a timer function has exactly one binding"
            );
            let t = &b[0];
            assert_eq!(
                t["name"], "timer",
                "{name}: the timer binding is named `timer`"
            );
            assert_eq!(t["direction"], "in", "{name}");
            let schedule = t["schedule"].as_str().unwrap_or("");
            assert_eq!(
                schedule.split_whitespace().count(),
                6,
                "{name}: NCRONTAB has six fields (second minute hour day month weekday), got {schedule:?}"
            );
            assert_ne!(
                t["runOnStartup"], true,
                "{name}: runOnStartup must stay off"
            );
            assert!(
                source.contains(&format!("\"{name}\"")),
                "{name}: the handler does not answer POST /{name}"
            );
        } else {
            assert_eq!(
                b.len(),
                2,
                "{name}: one httpTrigger + one http output, got {b:?}"
            );
            let trigger = b.iter().find(|v| kind(v) == "httpTrigger");
            let output = b.iter().find(|v| kind(v) == "http");
            let (Some(trigger), Some(output)) = (trigger, output) else {
                panic!("{name}: needs one httpTrigger and one http output (forwarding applies only then)");
            };
            assert_eq!(trigger["direction"], "in", "{name}");
            assert_eq!(output["direction"], "out", "{name}");
            assert_eq!(
                trigger["authLevel"], "anonymous",
                "{name}: the handler does its own admin auth; function keys would break public links"
            );
            assert!(
                trigger["methods"].as_array().is_some_and(|m| !m.is_empty()),
                "{name}: methods"
            );
            let route = trigger["route"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no route"));
            for segment in route
                .split('/')
                .filter(|s| !s.is_empty() && !s.starts_with('{'))
            {
                assert!(
                    source.contains(&format!("\"{segment}\"")),
                    "{name}: route {route:?}: the handler serves no path segment {segment:?}"
                );
            }
        }
    }
}

#[test]
fn host_json_starts_the_handler_with_forwarding() {
    let host: Value = serde_json::from_str(&read("host.json")).expect("host.json is JSON");
    assert_eq!(host["version"], "2.0");
    let ch = &host["customHandler"];
    assert_eq!(ch["description"]["defaultExecutablePath"], "handler");
    assert!(
        ch["enableForwardingHttpRequest"] == true || ch["enableProxyingHttpRequest"] == true,
        "HTTP forwarding/proxying must be on: the handler serves the original /api/... paths"
    );
    let prefix = &host["extensions"]["http"]["routePrefix"];
    assert!(
        prefix.is_null() || prefix == "api",
        "routePrefix must stay `api`"
    );
}
