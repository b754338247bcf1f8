//! The scripts' command lines: `--help` prints usage and exits 0 without starting anything, an
//! unknown argument exits 2.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::repo_root;

/// Runs `bash scripts/<name> args…` from the root, killed (and failed) after 20 s: a script that
/// started building or testing instead of printing usage would take longer.
fn script(name: &str, args: &[&str]) -> Output {
    let mut child = Command::new("bash")
        .arg(repo_root().join("scripts").join(name))
        .args(args)
        .current_dir(repo_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs the script");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scripts/{name} {args:?} was still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn test_and_package_print_usage_on_help() {
    for name in ["test", "package"] {
        for flag in ["--help", "-h"] {
            let out = script(name, &[flag]);
            let usage = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "scripts/{name} {flag}: {:?}",
                out.status
            );
            assert!(usage.contains("Usage:"), "scripts/{name} {flag}: {usage}");
            assert!(
                usage.contains(&format!("scripts/{name}")),
                "scripts/{name} {flag}: {usage}"
            );
            assert!(!usage.contains("=="), "nothing ran: {usage}");
        }
    }
    let test = String::from_utf8_lossy(&script("test", &["--help"]).stdout).into_owned();
    assert!(test.contains("--rust-only"), "{test}");
}

#[test]
fn test_refuses_an_unknown_argument() {
    let out = script("test", &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}
