//! The `handler` binary's command line: `--help` prints usage and starts nothing (no server, no
//! simulator, no data directory), whatever the environment says.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the handler binary in `dir` with a minimal environment; killed (and failed) after 30 s,
/// which is what would happen if it started a server instead of printing usage.
fn handler(dir: &Path, args: &[&str]) -> Output {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_handler"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("MFA_STORE", "sqlite:cli-test.db")
        .env("MFA_PUBLIC_BASE_URL", "https://mfa.contoso.test")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("handler starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("handler {args:?} was still running after 30 s: it started something");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn help_prints_usage_and_starts_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let out = handler(dir.path(), args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(stdout.contains("Usage: handler"), "{args:?}: {stdout}");
        assert!(
            stdout.contains("FUNCTIONS_CUSTOMHANDLER_PORT"),
            "{args:?}: {stdout}"
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let version = handler(dir.path(), &["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("handler "));
    assert!(files_in(dir.path()).is_empty(), "no store was opened");
}

#[cfg(feature = "local")]
#[test]
fn local_help_lists_every_option_and_starts_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["local", "--help"][..], &["help", "local"]] {
        let out = handler(dir.path(), args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(stdout.contains("Usage: handler local"), "{stdout}");
        for option in [
            "--port",
            "--people",
            "--speed",
            "--interval-seconds",
            "--no-upload",
            "--data-dir",
            "--real-tenant",
        ] {
            assert!(stdout.contains(option), "{option} in: {stdout}");
        }
        assert!(!stdout.contains("is running"), "{stdout}");
    }
    let top = handler(dir.path(), &["--help"]);
    assert!(String::from_utf8_lossy(&top.stdout).contains("local"));
    assert!(files_in(dir.path()).is_empty(), "no .mfa-local was created");
}

#[test]
fn a_wrong_argument_is_refused_with_usage_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cases = vec![
        (&["--port", "8080"][..], "Usage: handler"),
        (&["serve"], "Usage: handler"),
    ];
    if cfg!(feature = "local") {
        cases.push((&["local", "--port", "x"], "invalid value 'x' for '--port"));
    }
    for (args, says) in cases {
        let out = handler(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(files_in(dir.path()).is_empty());
}

#[cfg(not(feature = "local"))]
#[test]
fn local_mode_is_refused_in_a_build_without_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = handler(dir.path(), &["local", "--people", "5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in this build"));
    assert!(files_in(dir.path()).is_empty());
}
