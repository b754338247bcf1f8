//! `POST /users/{sender}/sendMail`: validates the message like Exchange does, enforces the
//! per-mailbox message and recipient limits, and appends to the outbox.

use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::limits::{Category, Charge};
use crate::shared::{Ctx, Shared};
use crate::state::{Recipient, SentMail};
use serde_json::Value;

/// Whether `a` looks like an SMTP address.
fn valid_address(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !a.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
}

fn recipients(msg: &Value, key: &str) -> Result<Vec<Recipient>, GraphError> {
    let Some(list) = msg.get(key) else {
        return Ok(Vec::new());
    };
    let arr = list.as_array().ok_or_else(|| {
        GraphError::new(400, "RequestBodyRead", format!("'{key}' must be an array."))
    })?;
    arr.iter()
        .map(|r| {
            let ea = r.get("emailAddress");
            let address = ea.and_then(|e| e.get("address")).and_then(Value::as_str).unwrap_or("");
            if !valid_address(address) {
                return Err(GraphError::new(
                    400,
                    "ErrorInvalidRecipients",
                    format!("At least one recipient is not valid., Recipient '{address}' is not resolved. All recipients must be resolved before a message can be submitted."),
                ));
            }
            Ok(Recipient {
                address: address.to_string(),
                name: ea.and_then(|e| e.get("name")).and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect()
}

fn body_error(msg: impl Into<String>) -> GraphError {
    GraphError::new(400, "RequestBodyRead", msg)
}

/// Parses and validates the `sendMail` body into an outbox entry (without sender/time).
fn parse_message(
    req: &SimRequest,
    sender: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SentMail, GraphError> {
    let body = req
        .json()
        .map_err(|e| body_error(format!("Invalid JSON: {e}")))?;
    let msg = body
        .get("message")
        .filter(|m| m.is_object())
        .ok_or_else(|| body_error("The 'message' property is required."))?;
    let subject = msg
        .get("subject")
        .and_then(Value::as_str)
        .ok_or_else(|| body_error("The 'message.subject' property is required."))?;
    let b = msg
        .get("body")
        .ok_or_else(|| body_error("The 'message.body' property is required."))?;
    let content_type = b
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or("text");
    let content_type = match content_type.to_ascii_lowercase().as_str() {
        "html" => "HTML",
        "text" => "Text",
        other => {
            return Err(body_error(format!(
            "Cannot convert the literal '{other}' to the expected type 'microsoft.graph.bodyType'."
        )))
        }
    };
    let content = b
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let to = recipients(msg, "toRecipients")?;
    let cc = recipients(msg, "ccRecipients")?;
    let bcc = recipients(msg, "bccRecipients")?;
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(GraphError::new(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient is required.",
        ));
    }
    let mut headers = Vec::new();
    if let Some(hs) = msg.get("internetMessageHeaders").and_then(Value::as_array) {
        for h in hs {
            let name = h.get("name").and_then(Value::as_str).unwrap_or("");
            if !(name.starts_with("x-") || name.starts_with("X-")) {
                return Err(GraphError::new(
                    400,
                    "InvalidInternetMessageHeader",
                    format!(
                        "The internet message header name '{name}' should start with 'x-' or 'X-'."
                    ),
                ));
            }
            let value = h.get("value").and_then(Value::as_str).unwrap_or("");
            headers.push((name.to_string(), value.to_string()));
        }
    }
    Ok(SentMail {
        sender: sender.to_string(),
        to,
        cc,
        bcc,
        subject: subject.to_string(),
        content_type: content_type.to_string(),
        body: content,
        headers,
        save_to_sent_items: body
            .get("saveToSentItems")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        at: now,
    })
}

/// `POST /users/{sender}/sendMail` → 202.
pub(crate) fn send_mail(shared: &Shared, ctx: &Ctx, req: &SimRequest, sender: &str) -> GraphResult {
    let sender = sender.to_ascii_lowercase();
    {
        let t = shared.tenant.lock();
        if t.user(&sender).is_none() {
            return Err(GraphError::new(
                404,
                "ErrorInvalidUser",
                format!("The requested user '{sender}' is invalid."),
            ));
        }
        if !t.is_mailbox(&sender) {
            return Err(GraphError::new(
                403,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ));
        }
    }
    let mail = parse_message(req, &sender, ctx.now)?;
    let count = (mail.to.len() + mail.cc.len() + mail.bcc.len()) as u64;
    let limits = shared.limits.lock().clone();
    shared.enforce(
        ctx,
        Category::Mail,
        &format!("mail:{sender}"),
        &[
            Charge::new(
                format!("mail-messages:{sender}"),
                limits.mail_messages_per_minute,
                60,
                1,
            ),
            Charge::new(
                format!("mail-recipients:{sender}"),
                limits.mail_recipients_per_day,
                86_400,
                count,
            ),
        ],
    )?;
    shared.tenant.lock().outbox.push(mail);
    Ok(SimResponse::empty(202))
}
