//! `sendMail` from a sender mailbox (mail category, one per mailbox), as Graph's JSON message
//! (one body) or as a base64 MIME message (HTML with a plain-text alternative), per
//! [`MailFormat`].

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::{segment, GraphRequest};
use super::settings::MailFormat;
use super::throttle::Category;

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mail {
    /// To recipients (addresses).
    pub to: Vec<String>,
    /// Cc recipients.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body: the alternative to `html` in a MIME message; in a JSON message (one body)
    /// used only when `html` is empty.
    pub text: Option<String>,
    /// Custom Internet headers; names must start with `x-` (Graph rejects others).
    pub headers: Vec<(String, String)>,
}

fn recipients(addresses: &[String]) -> Vec<Value> {
    addresses
        .iter()
        .map(|a| json!({"emailAddress": {"address": a}}))
        .collect()
}

/// Characters that would end or fold a header line, or split an address list.
fn breaks_header(value: &str) -> bool {
    value.chars().any(|c| c == '\r' || c == '\n' || c == '\0')
}

/// A header value: ASCII as it is, anything else as RFC 2047 `=?UTF-8?B?…?=` encoded words.
fn header_text(value: &str) -> String {
    if value.is_ascii() && !breaks_header(value) {
        return value.to_string();
    }
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    // Encoded words stay under 75 characters: at most 45 bytes of UTF-8 each, split on chars.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(&chunk)));
    }
    words.join("\r\n ")
}

/// A base64 body part, lines of 76.
fn base64_part(content_type: &str, body: &str) -> String {
    let encoded = BASE64.encode(body.as_bytes());
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "Content-Type: {content_type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        lines.join("\r\n")
    )
}

impl Mail {
    fn validate(&self) -> GraphResult<()> {
        if self.to.is_empty() && self.cc.is_empty() {
            return Err(GraphError::InvalidArgument(
                "a mail needs a recipient".into(),
            ));
        }
        if let Some((name, _)) = self
            .headers
            .iter()
            .find(|(name, _)| !name.to_ascii_lowercase().starts_with("x-") || name.len() < 3)
        {
            return Err(GraphError::InvalidArgument(format!(
                "internet message header names must start with 'x-': {name}"
            )));
        }
        let bad_name = |n: &str| {
            !n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if let Some((name, _)) = self
            .headers
            .iter()
            .find(|(n, v)| bad_name(n) || breaks_header(v))
        {
            return Err(GraphError::InvalidArgument(format!(
                "internet message header {name}: name must be letters, digits and '-', value one line"
            )));
        }
        if let Some(a) =
            self.to.iter().chain(&self.cc).find(|a| {
                breaks_header(a) || a.contains([',', ';', '<', '>', '"']) || !a.contains('@')
            })
        {
            return Err(GraphError::InvalidArgument(format!(
                "not a single email address: {a:?}"
            )));
        }
        Ok(())
    }

    /// The message as MIME (RFC 5322 / 2045–2047, CRLF line ends) from `sender`: HTML with the
    /// plain text as its `multipart/alternative` sibling when both are present.
    pub fn to_mime(&self, sender: &str, boundary: &str) -> GraphResult<String> {
        self.validate()?;
        if breaks_header(sender) || sender.contains([',', ';', '<', '>']) {
            return Err(GraphError::InvalidArgument(format!(
                "not a sender address: {sender:?}"
            )));
        }
        let mut m = String::new();
        m.push_str(&format!("From: {sender}\r\n"));
        if !self.to.is_empty() {
            m.push_str(&format!("To: {}\r\n", self.to.join(", ")));
        }
        if !self.cc.is_empty() {
            m.push_str(&format!("Cc: {}\r\n", self.cc.join(", ")));
        }
        m.push_str(&format!("Subject: {}\r\n", header_text(&self.subject)));
        for (name, value) in &self.headers {
            m.push_str(&format!("{name}: {}\r\n", header_text(value)));
        }
        m.push_str("MIME-Version: 1.0\r\n");
        let text = self.text.as_deref().filter(|t| !t.is_empty());
        match (text, self.html.is_empty()) {
            (Some(text), false) => {
                m.push_str(&format!(
                    "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
                ));
                // Least preferred first (RFC 2046 §5.1.4): text, then HTML.
                for part in [
                    base64_part("text/plain", text),
                    base64_part("text/html", &self.html),
                ] {
                    m.push_str(&format!("--{boundary}\r\n{part}"));
                }
                m.push_str(&format!("--{boundary}--\r\n"));
            }
            (Some(text), true) => m.push_str(&base64_part("text/plain", text)),
            (None, _) => m.push_str(&base64_part("text/html", &self.html)),
        }
        Ok(m)
    }

    /// The `sendMail` request body.
    pub fn to_graph_json(&self) -> GraphResult<Value> {
        self.validate()?;
        let body = match (&self.text, self.html.is_empty()) {
            (Some(text), true) => json!({"contentType": "Text", "content": text}),
            _ => json!({"contentType": "HTML", "content": self.html}),
        };
        let mut message = json!({
            "subject": self.subject,
            "body": body,
            "toRecipients": recipients(&self.to),
        });
        if !self.cc.is_empty() {
            message["ccRecipients"] = Value::Array(recipients(&self.cc));
        }
        if !self.headers.is_empty() {
            message["internetMessageHeaders"] = Value::Array(
                self.headers
                    .iter()
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect(),
            );
        }
        Ok(json!({"message": message, "saveToSentItems": false}))
    }
}

impl GraphClient {
    /// Sends `mail` from `sender` (`POST /users/{sender}/sendMail`, 202 = accepted, not yet
    /// delivered). Throttled per mailbox. Not resent after a timeout or 504, which may have sent
    /// it: the caller decides (at most one duplicate).
    /// The format follows [`GraphSettings::mail_format`](super::GraphSettings::mail_format).
    pub async fn send_mail(&self, sender: &str, mail: &Mail) -> GraphResult<()> {
        let path = format!("/v1.0/users/{}/sendMail", segment(sender));
        let req = match self.settings().mail_format {
            MailFormat::Json => GraphRequest::post(path, mail.to_graph_json()?),
            MailFormat::Mime => {
                let boundary = format!("=_mfa_{}", uuid::Uuid::new_v4().simple());
                let mime = mail.to_mime(sender, &boundary)?;
                GraphRequest::new(reqwest::Method::POST, path).text(BASE64.encode(mime))
            }
        }
        .category(Category::mail(sender))
        .idempotent(false);
        self.send(req).await.map(|_| ())
    }
}
