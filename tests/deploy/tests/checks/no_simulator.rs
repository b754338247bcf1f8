//! What ships to Azure has no tenant simulator: `scripts/package` builds the handler without
//! default features, that build's dependency graph has no `tenant-sim`, and (when `scripts/test`
//! has built it: `MFA_AZURE_HANDLER`) the binary refuses `handler local` and holds no simulator
//! code.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{read, repo_root};

/// Every `cargo build` in `scripts/package` leaves the default features (local mode) out.
#[test]
fn package_builds_the_handler_without_default_features() {
    let script = read("scripts/package");
    let builds: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cargo build"))
        .collect();
    assert!(!builds.is_empty(), "scripts/package builds the handler");
    for line in builds {
        assert!(
            line.contains("-p mfa-handler") && line.contains("--no-default-features"),
            "{line}"
        );
    }
}

/// `cargo tree -p mfa-handler -e normal` with the given extra arguments: crate names, one a line.
fn handler_dependencies(extra: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "tree",
            "--locked",
            "-p",
            "mfa-handler",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .args(extra)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_simulator(tree: &str) -> bool {
    tree.lines().any(|l| l.starts_with("tenant-sim "))
}

/// The packaged build's dependency graph has no simulator (the default build, for contrast, has).
#[test]
fn the_azure_build_does_not_depend_on_the_simulator() {
    assert!(
        has_simulator(&handler_dependencies(&[])),
        "the default build embeds the simulator for `handler local`"
    );
    let azure = handler_dependencies(&["--no-default-features"]);
    assert!(azure.lines().any(|l| l.starts_with("mfa-core ")), "{azure}");
    assert!(!has_simulator(&azure), "{azure}");
}

/// The binary `scripts/test` built without default features: `handler local` is refused with a
/// clear message, `--help` offers no local mode, and no simulator symbol or path is inside.
/// Without `MFA_AZURE_HANDLER` (a plain `cargo nextest run`) there is no such binary to check;
/// the two tests above still hold the build to it.
#[test]
fn the_azure_binary_refuses_local_mode_and_holds_no_simulator() {
    let Some(bin) = std::env::var_os("MFA_AZURE_HANDLER") else {
        eprintln!("MFA_AZURE_HANDLER is not set (scripts/test sets it): binary not checked");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    // A binary with local mode would start it and run until stopped: give it 20 s.
    let mut child = Command::new(&bin)
        .args(["local", "--people", "5", "--port", "0"])
        .current_dir(tmp.path())
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Azure handler runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`handler local` started: the Azure handler has local mode");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let local = child.wait_with_output().expect("output");
    assert_eq!(local.status.code(), Some(2));
    let said = String::from_utf8_lossy(&local.stderr);
    assert!(
        said.contains("handler local is not in this build"),
        "{said}"
    );
    assert!(
        std::fs::read_dir(tmp.path()).expect("dir").next().is_none(),
        "nothing was started or written"
    );
    let help = Command::new(&bin)
        .arg("--help")
        .env_clear()
        .output()
        .expect("help");
    assert!(help.status.success());
    assert!(!String::from_utf8_lossy(&help.stdout).contains("local"));
    // Symbols (`tenant_sim::…`) and panic locations (`simulator/src/…`) of simulator code.
    let bytes = std::fs::read(&bin).expect("read the binary");
    let text = String::from_utf8_lossy(&bytes); // std's search is fast even in a debug test
    for needle in ["tenant_sim", "simulator/src/"] {
        assert!(
            !text.contains(needle),
            "the Azure handler contains {needle:?}"
        );
    }
}
