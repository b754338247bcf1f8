//! Raw HTTP/1.1 over TCP, for requests `reqwest` would normalise (dot segments, encoded slashes)
//! or send too politely (trickled bodies).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `head` (request line and headers, without the blank line) plus `body`, and returns the
/// status code and the whole response text. Closes the connection after one answer.
pub async fn request(address: &str, head: &str, body: &[u8]) -> (u16, String) {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.expect("connect");
    let mut msg = format!("{head}\r\nHost: {host}\r\nConnection: close\r\n");
    if !body.is_empty() {
        msg.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    msg.push_str("\r\n");
    stream.write_all(msg.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    read_answer(&mut stream).await
}

/// Reads one answer until the server closes (or 10 s pass).
pub async fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}
