//! `scripts/package` assembles exactly what the Functions host expects: `host.json` at the
//! root, one folder per function holding its `function.json`, and the executable `handler`.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::helpers::repo_root;

fn run_package(root: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(root.join("scripts/package"))
        .args(args)
        .output()
        .expect("bash runs scripts/package")
}

/// Relative paths of every file under `dir`.
fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap_or(&p);
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn write(path: PathBuf, text: &str) {
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

/// A scratch repository: the real script, a host.json, two functions and files that must not ship.
fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    fs::create_dir_all(root.join("scripts")).expect("mkdir");
    fs::copy(
        repo_root().join("scripts/package"),
        root.join("scripts/package"),
    )
    .expect("copy script");
    write(
        root.join("host.json"),
        r#"{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableForwardingHttpRequest":true}}"#,
    );
    write(
        root.join("functions/enrol/function.json"),
        r#"{"bindings":[{"type":"httpTrigger","authLevel":"anonymous","direction":"in","name":"req","methods":["get","post"],"route":"enrol"},{"type":"http","direction":"out","name":"res"}]}"#,
    );
    write(
        root.join("functions/orchestrator-timer/function.json"),
        r#"{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */15 * * * *"}]}"#,
    );
    write(
        root.join("functions/enrol/README.md"),
        "notes that must not ship",
    );
    write(root.join("functions/notes.txt"), "must not ship");
    write(
        root.join("local.settings.json"),
        r#"{"Values":{"AZURE_CLIENT_SECRET":"x"}}"#,
    );
    write(root.join("bin/handler"), "#!/bin/sh\necho dummy\n");
    dir
}

#[test]
fn package_assembles_the_layout_the_functions_host_expects() {
    let repo = scratch_repo();
    let root = repo.path();
    let out = root.join("out");
    let res = run_package(
        root,
        &[
            "--no-build",
            "--binary",
            "bin/handler",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(
        res.status.success(),
        "scripts/package failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );

    let app = out.join("functionapp");
    let expected: BTreeSet<String> = [
        "host.json",
        "handler",
        "enrol/function.json",
        "orchestrator-timer/function.json",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(
        files_under(&app),
        expected,
        "exactly host.json, one folder per function and the binary"
    );
    assert_eq!(
        fs::read(app.join("host.json")).ok(),
        fs::read(root.join("host.json")).ok()
    );
    let mode = fs::metadata(app.join("handler"))
        .expect("handler")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o111,
        0o111,
        "handler must be executable, mode {mode:o}"
    );

    let zip = fs::read(out.join("functionapp.zip")).expect("functionapp.zip");
    assert!(zip.starts_with(b"PK\x03\x04"), "functionapp.zip is a zip");
    let has = |name: &str| zip.windows(name.len()).any(|w| w == name.as_bytes());
    for name in &expected {
        assert!(has(name), "functionapp.zip lacks {name}");
    }
    for name in [
        "local.settings.json",
        "README.md",
        "notes.txt",
        "functionapp/",
    ] {
        assert!(
            !has(name),
            "functionapp.zip must not contain {name} (paths are relative to the app root)"
        );
    }

    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        stdout.contains("func azure functionapp publish"),
        "prints the publish command: {stdout}"
    );
    assert!(
        stdout.contains("config-zip"),
        "prints the zip deploy command: {stdout}"
    );
}

#[test]
fn package_refuses_unusable_arguments() {
    let repo = scratch_repo();
    let root = repo.path();
    let cases: &[(&[&str], &str)] = &[
        (&["--no-build"], "--no-build needs --binary"),
        (
            &["--no-build", "--binary", "bin/missing"],
            "binary not found",
        ),
        (&["--bogus"], "unknown argument"),
    ];
    for (args, message) in cases {
        let res = run_package(root, args);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(!res.status.success(), "{args:?} must fail");
        assert!(
            stderr.contains(message),
            "{args:?}: expected {message:?} in {stderr:?}"
        );
    }
    fs::remove_file(root.join("host.json")).expect("rm");
    let res = run_package(
        root,
        &["--no-build", "--binary", "bin/handler", "--out", "out"],
    );
    assert!(String::from_utf8_lossy(&res.stderr).contains("host.json not found"));
}

#[test]
fn package_of_this_repository_ships_every_function() {
    let root = repo_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dummy = tmp.path().join("handler");
    fs::write(&dummy, "dummy").expect("write");
    let out = tmp.path().join("out");
    let res = run_package(
        &root,
        &[
            "--no-build",
            "--binary",
            dummy.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let mut expected: BTreeSet<String> = ["host.json".to_string(), "handler".to_string()].into();
    for entry in fs::read_dir(root.join("functions"))
        .expect("functions/")
        .flatten()
    {
        if entry.path().is_dir() {
            expected.insert(format!(
                "{}/function.json",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    assert_eq!(files_under(&out.join("functionapp")), expected);
}
