//! `POST /users/{sender}/sendMail`: validates the message like Exchange does, enforces the
//! per-mailbox message and recipient limits, and appends to the outbox.

use crate::errors::{json_body, GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::limits::{Category, Charge};
use crate::shared::{Ctx, Shared};
use crate::state::{Recipient, SentMail};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use mailparse::{MailAddr, MailHeaderMap, ParsedMail};
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
    let body = json_body(req, body_error)?;
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
        text_alternative: None,
        mime: false,
        headers,
        save_to_sent_items: body
            .get("saveToSentItems")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        at: now,
    })
}

fn mime_recipients(mail: &ParsedMail, name: &str) -> Result<Vec<Recipient>, GraphError> {
    let mut out = Vec::new();
    for h in mail.headers.get_all_headers(name) {
        let list = mailparse::addrparse_header(h)
            .map_err(|e| GraphError::new(400, "ErrorMimeContentInvalid", format!("{name}: {e}")))?;
        for addr in list.iter() {
            let singles = match addr {
                MailAddr::Single(s) => vec![s.clone()],
                MailAddr::Group(g) => g.addrs.clone(),
            };
            for s in singles {
                if !valid_address(&s.addr) {
                    return Err(GraphError::new(
                        400,
                        "ErrorInvalidRecipients",
                        format!("At least one recipient is not valid., Recipient '{}' is not resolved. All recipients must be resolved before a message can be submitted.", s.addr),
                    ));
                }
                out.push(Recipient {
                    address: s.addr,
                    name: s.display_name,
                });
            }
        }
    }
    Ok(out)
}

/// The first leaf part of `mimetype`, decoded (transfer encoding and charset).
fn mime_part(mail: &ParsedMail, mimetype: &str) -> Option<String> {
    if mail.subparts.is_empty() {
        return (mail.ctype.mimetype.eq_ignore_ascii_case(mimetype))
            .then(|| mail.get_body().ok())
            .flatten();
    }
    mail.subparts.iter().find_map(|p| mime_part(p, mimetype))
}

/// Parses a MIME `sendMail` body (base64 of an RFC 5322 message) like Exchange: bad base64 is
/// `ErrorMimeContentInvalidBase64String`; the copy always goes to Sent Items.
fn parse_mime_message(
    req: &SimRequest,
    sender: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SentMail, GraphError> {
    let bad_base64 = || {
        GraphError::new(
            400,
            "ErrorMimeContentInvalidBase64String",
            "Invalid base64 string for MIME content.",
        )
    };
    let text = std::str::from_utf8(&req.body).map_err(|_| bad_base64())?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(GraphError::new(
            400,
            "ErrorMimeContentInvalid",
            "MIME content is empty.",
        ));
    }
    let raw = BASE64.decode(compact).map_err(|_| bad_base64())?;
    let mail = mailparse::parse_mail(&raw)
        .map_err(|e| GraphError::new(400, "ErrorMimeContentInvalid", e.to_string()))?;
    let to = mime_recipients(&mail, "To")?;
    let cc = mime_recipients(&mail, "Cc")?;
    let bcc = mime_recipients(&mail, "Bcc")?;
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(GraphError::new(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient is required.",
        ));
    }
    let headers = mail
        .headers
        .iter()
        .filter(|h| h.get_key_ref().to_ascii_lowercase().starts_with("x-"))
        .map(|h| (h.get_key(), h.get_value()))
        .collect();
    let html = mime_part(&mail, "text/html");
    let plain = mime_part(&mail, "text/plain");
    let (content_type, body, text_alternative) = match (html, plain) {
        (Some(html), plain) => ("HTML", html, plain),
        (None, Some(plain)) => ("Text", plain, None),
        (None, None) => {
            return Err(GraphError::new(
                400,
                "ErrorMimeContentInvalid",
                "The MIME content has no text/html or text/plain part.",
            ))
        }
    };
    Ok(SentMail {
        sender: sender.to_string(),
        to,
        cc,
        bcc,
        subject: mail.headers.get_first_value("Subject").unwrap_or_default(),
        content_type: content_type.to_string(),
        body,
        text_alternative,
        mime: true,
        headers,
        save_to_sent_items: true,
        at: now,
    })
}

/// `POST /users/{sender}/sendMail` → 202. JSON, or base64 MIME when the request's
/// `Content-Type` is `text/plain`.
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
    let is_mime = req
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/plain"));
    let mail = if is_mime {
        parse_mime_message(req, &sender, ctx.now)?
    } else {
        parse_message(req, &sender, ctx.now)?
    };
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
