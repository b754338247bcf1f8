//! `sendMail` from a sender mailbox (mail category, one per mailbox).

use serde_json::{json, Value};

use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::{segment, GraphRequest};
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
    /// Plain-text body, used only when `html` is empty (Graph's JSON `sendMail` carries one body).
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

impl Mail {
    /// The `sendMail` request body.
    pub fn to_graph_json(&self) -> GraphResult<Value> {
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
    pub async fn send_mail(&self, sender: &str, mail: &Mail) -> GraphResult<()> {
        let req = GraphRequest::post(
            format!("/v1.0/users/{}/sendMail", segment(sender)),
            mail.to_graph_json()?,
        )
        .category(Category::mail(sender))
        .idempotent(false);
        self.send(req).await.map(|_| ())
    }
}
