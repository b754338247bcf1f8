//! `handler local`, started as the README says: wait for the URLs it prints, run a short campaign
//! through the HTTP API and the simulator's outbox, and see a person reach Active.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_runs_a_campaign_to_active() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_handler"))
        .args([
            "local",
            "--port",
            &port.to_string(),
            "--people",
            "20",
            "--interval-seconds",
            "1",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("MFA_STORE")
        // The README runs it from the repository root, where the portal lives in portal/dist.
        .env(
            "MFA_PORTAL_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../portal/dist"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("handler local starts");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Child(child);
    let lines = tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.contains("Press Ctrl-C");
            found.push(line);
            if done {
                break;
            }
        }
        found
    });
    let lines = tokio::time::timeout(Duration::from_secs(60), lines)
        .await
        .expect("prints its URLs within a minute")
        .expect("reader");
    let portal = format!("http://localhost:{port}/portal/");
    assert!(lines.iter().any(|l| l.contains(&portal)), "{lines:?}");
    let outbox_page = lines
        .iter()
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.ends_with("/_sim/outbox.html"))
        })
        .expect("outbox URL printed")
        .to_string();
    let sim = outbox_page
        .trim_end_matches("/_sim/outbox.html")
        .to_string();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(&portal).send().await.expect("portal").status(),
        200
    );

    // Wait for the first invitations.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (to, token) = loop {
        let mails: serde_json::Value = http
            .get(format!("{sim}/_sim/outbox"))
            .send()
            .await
            .expect("outbox")
            .json()
            .await
            .expect("json");
        let found = mails.as_array().into_iter().flatten().find_map(|m| {
            let body = m["body"].as_str()?;
            let at = body.find("/api/enrol?token=")? + "/api/enrol?token=".len();
            let to = m["to"][0]["address"].as_str()?.to_string();
            Some((to, body.get(at..at + 36)?.to_string()))
        });
        if let Some(f) = found {
            break f;
        }
        assert!(Instant::now() < deadline, "no invitation within a minute");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };

    // The person clicks and registers; the worker marks them Active.
    let click = http
        .post(format!("http://localhost:{port}/api/enrol"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .expect("click");
    assert_eq!(click.status(), 200);
    let reg = http
        .post(format!("{sim}/_sim/users/{to}/register-mfa"))
        .json(&serde_json::json!({"method": "microsoftAuthenticator"}))
        .send()
        .await
        .expect("register");
    assert!(reg.status().is_success(), "{:?}", reg.text().await);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page: serde_json::Value = http
            .get(format!(
                "http://localhost:{port}/api/admin/users?search={to}"
            ))
            .send()
            .await
            .expect("users")
            .json()
            .await
            .expect("json");
        if page["items"][0]["inviteStatus"] == "Active" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not Active within a minute: {page}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(guard);
}
