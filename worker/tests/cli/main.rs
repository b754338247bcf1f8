//! The `worker` binary as an operator runs it: `--help` prints usage and starts nothing, and a
//! command's JSON result is alone on stdout (logs go to stderr), so it can be piped to `jq`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tenant_sim::{SimConfig, Simulator};

/// Runs the worker binary with only `PATH` from the environment (plus `env`), killed after 60 s.
fn worker(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_worker"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("worker {args:?} still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn help_prints_usage_and_starts_nothing() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["run-once", "--help"],
        &["serve", "--help"],
        &["provision-list", "--help"],
    ] {
        // No settings at all: anything that tried to start would fail or run forever.
        let out = worker(args, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(stdout.contains("Usage: worker"), "{args:?}: {stdout}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let top = worker(&["--help"], &[]);
    let usage = String::from_utf8_lossy(&top.stdout);
    for command in ["run-once", "serve", "provision-list"] {
        assert!(usage.contains(command), "{command} listed: {usage}");
    }
}

#[test]
fn a_wrong_argument_is_refused_with_usage_on_stderr() {
    let out = worker(&["run-once", "--pass", "sms"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown pass"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_list_prints_only_json_on_stdout() {
    let sim = Simulator::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let site = sim.tenant().add_site("mfa");
    let env = vec![
        ("MFA_GRAPH_BASE_URL", sim.base_url()),
        ("IDENTITY_ENDPOINT", sim.identity_endpoint()),
        ("IDENTITY_HEADER", sim.identity_header()),
        ("RUST_LOG", "info".to_string()),
    ];
    let args = [
        "provision-list",
        "--site",
        &site,
        "--list",
        "MFA Onboarding",
    ];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        worker(&args, &env)
    })
    .await
    .expect("joined");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(report["site"], site.as_str());
    assert!(report["list"]["id"].is_string(), "{report}");
    assert!(report["metaList"]["id"].is_string(), "{report}");
    assert!(
        stderr.contains("provisioning the SharePoint list"),
        "the log went to stderr: {stderr}"
    );
    sim.shutdown().await;
}
