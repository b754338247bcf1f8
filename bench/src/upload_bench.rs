//! `bench upload`: a large CSV through `POST /api/upload-users` on the real handler, run as a
//! child process (`bench serve-handler`) so its peak memory (`VmHWM`) is the handler's alone.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hyper::{Body, Request};

use crate::procstat;

/// Options of `bench upload`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data rows in the file.
    pub rows: usize,
}

/// The CSV: the same shape as an Entra export trimmed to our columns (about 100 bytes a row).
pub fn csv(rows: usize) -> String {
    let mut csv = String::with_capacity(rows * 128);
    csv.push_str("UserPrincipalName,DisplayName,Department,JobTitle\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "person.number.{i:06}@contoso-corporation.com,Person Number {i} With A Long Display Name,Department of Things,Senior Specialist Engineer\n"
        ));
    }
    csv
}

struct ChildHandler {
    child: Child,
    addr: SocketAddr,
    pid: String,
}

impl ChildHandler {
    fn spawn(db: &std::path::Path) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("serve-handler")
            .arg("--db")
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .ok_or_else(|| anyhow::anyhow!("child said {line:?}"))?
            .parse()?;
        let pid = child.id().to_string();
        Ok(Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            pid,
        })
    }

    fn stop(mut self) -> anyhow::Result<()> {
        // Closing stdin asks the child to shut down gracefully.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

struct Outcome {
    label: &'static str,
    status: u16,
    wall: Duration,
    server_ms: Option<u64>,
    summary: String,
    hwm_after: u64,
    cpu: Duration,
}

async fn post(addr: SocketAddr, body: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::handshake(stream).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::post("/api/upload-users?batchId=bench")
        .header("host", "127.0.0.1")
        .header("content-type", "text/csv")
        .header("content-length", body.len())
        .body(Body::from(body.to_string()))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let bytes = hyper::body::to_bytes(resp.into_body()).await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or_default()))
}

/// Runs the benchmark and returns the Markdown report.
pub async fn run(opts: Options) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("upload.db");
    let child = ChildHandler::spawn(&db)?;
    let hwm_idle = procstat::status_kb(&child.pid, "VmHWM").unwrap_or(0);
    let file = csv(opts.rows);
    let mut outcomes = Vec::new();
    for label in ["first upload (all new)", "same file again (all unchanged)"] {
        let cpu_before = procstat::cpu_time(&child.pid).unwrap_or_default();
        let started = Instant::now();
        let (status, body) = post(child.addr, &file).await?;
        let wall = started.elapsed();
        let cpu = procstat::cpu_time(&child.pid)
            .unwrap_or_default()
            .saturating_sub(cpu_before);
        outcomes.push(Outcome {
            label,
            status,
            wall,
            server_ms: body["elapsedMs"].as_u64(),
            summary: format!(
                "inserted {}, unchanged {}",
                body["inserted"], body["unchanged"]
            ),
            hwm_after: procstat::status_kb(&child.pid, "VmHWM").unwrap_or(0),
            cpu,
        });
    }
    let rss_end = procstat::status_kb(&child.pid, "VmRSS").unwrap_or(0);
    let pid = child.pid.clone();
    child.stop()?;
    let db_size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);

    let mut out = format!(
        "### upload: {} rows, {} MiB CSV, handler as a child process (pid {pid}) on a temp SQLite file\n\n",
        opts.rows,
        procstat::mib(file.len() as u64)
    );
    out.push_str("| upload | status | wall time s | handler `elapsedMs` | handler CPU s | rows/s | handler peak RSS after (VmHWM) MiB | result |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---|\n");
    for o in &outcomes {
        out.push_str(&format!(
            "| {} | {} | {:.2} | {} | {:.2} | {:.0} | {} | {} |\n",
            o.label,
            o.status,
            o.wall.as_secs_f64(),
            o.server_ms.map_or("-".into(), |m| m.to_string()),
            o.cpu.as_secs_f64(),
            opts.rows as f64 / o.wall.as_secs_f64().max(1e-9),
            procstat::mib(o.hwm_after),
            o.summary
        ));
    }
    out.push_str(&format!(
        "\nHandler peak RSS before any upload: {} MiB; RSS after both: {} MiB; SQLite file: {} MiB.\n",
        procstat::mib(hwm_idle),
        procstat::mib(rss_end),
        procstat::mib(db_size)
    ));
    Ok(out)
}

/// `bench serve-handler --db PATH`: the real handler on a free port; prints `PORT n` and serves
/// until stdin is closed.
pub async fn serve_child(db: std::path::PathBuf) -> anyhow::Result<()> {
    let handler = crate::app::start(&db).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "PORT {}", handler.addr.port())?;
        stdout.flush()?;
    }
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {
            sink.clear();
        }
    })
    .await?;
    handler.stop().await
}
