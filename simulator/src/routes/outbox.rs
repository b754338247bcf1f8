//! The readable outbox for people: `GET /_sim/outbox.html` lists the mail sent, newest first,
//! [`PAGE_SIZE`] to a page, searchable by recipient or subject, and shows no message body (so
//! viewing the list loads no image a mail contains, such as a tracking pixel);
//! `GET /_sim/outbox/{n}.html` shows message `n` (1 = the first accepted) with its body, so its
//! links can be clicked. Both offer a button per recipient that registers Microsoft Authenticator
//! for them and comes back to the page.

use crate::http::SimResponse;
use crate::shared::Shared;
use crate::state::{SentMail, TenantState};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fmt::Write;

/// Rows on one page of the list.
pub(crate) const PAGE_SIZE: usize = 50;

/// Where the list lives; the register button's `back` must point below [`ROOT`].
const LIST: &str = "/_sim/outbox.html";
const ROOT: &str = "/_sim/outbox";

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    /// Case-insensitive text a recipient address or the subject contains.
    #[serde(default)]
    q: String,
    /// 1-based page, newest first.
    page: Option<usize>,
}

/// What the list shows of one message.
struct Row {
    n: usize,
    at: DateTime<Utc>,
    kind: String,
    to: String,
    first_to: Option<String>,
    subject: String,
}

/// `GET /_sim/outbox.html?q=…&page=…`.
pub(crate) fn list(shared: &Shared, query: &ListQuery) -> SimResponse {
    let needle = query.q.trim().to_lowercase();
    let (total, matching, page, pages, rows) = {
        let t = shared.tenant.lock();
        let hits: Vec<usize> = (0..t.outbox.len())
            .rev()
            .filter(|&i| needle.is_empty() || mentions(&t.outbox[i], &needle))
            .collect();
        let pages = hits.len().div_ceil(PAGE_SIZE).max(1);
        let page = query.page.unwrap_or(1).clamp(1, pages);
        let rows: Vec<Row> = hits
            .iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|&i| row(i + 1, &t.outbox[i]))
            .collect();
        (t.outbox.len(), hits.len(), page, pages, rows)
    };
    let here = list_url(&query.q, page);
    let mut html = String::new();
    html.push_str("<h1>Outbox</h1>");
    let _ = write!(
        html,
        "<form method=\"get\" action=\"{LIST}\"><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"recipient or subject\" autofocus> <button>Search</button>{}</form>",
        escape(&query.q),
        if query.q.is_empty() {
            String::new()
        } else {
            format!(" <a href=\"{LIST}\">show all</a>")
        }
    );
    let first = (page - 1) * PAGE_SIZE;
    let _ = write!(
        html,
        "<p>{} of {matching} {}, newest first; {total} in the outbox. Open one to read it (its images load then, and only then).</p>",
        if rows.is_empty() {
            "None".to_string()
        } else {
            format!("{}–{}", first + 1, first + rows.len())
        },
        if query.q.is_empty() {
            "messages".to_string()
        } else {
            format!("matching “{}”", escape(&query.q))
        },
    );
    let nav = pager(&query.q, page, pages);
    html.push_str(&nav);
    html.push_str("<table><thead><tr><th>#</th><th>Sent (sim time)</th><th>Kind</th><th>To</th><th>Subject</th><th></th></tr></thead><tbody>");
    for r in &rows {
        let _ = write!(
            html,
            "<tr><td>{n}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{ROOT}/{n}.html\">{}</a></td><td>{}</td></tr>",
            sim_time(r.at),
            escape(&r.kind),
            escape(&r.to),
            escape(if r.subject.is_empty() { "(no subject)" } else { &r.subject }),
            r.first_to
                .as_deref()
                .map(|a| register_button(a, &here, "Register MFA"))
                .unwrap_or_default(),
            n = r.n,
        );
    }
    html.push_str("</tbody></table>");
    html.push_str(&nav);
    SimResponse::html(page_html("tenant-sim outbox", &html))
}

/// `GET /_sim/outbox/{n}.html`: one message with its body.
pub(crate) fn message(shared: &Shared, n: usize) -> SimResponse {
    let t = shared.tenant.lock();
    let Some(m) = n.checked_sub(1).and_then(|i| t.outbox.get(i)) else {
        let body = format!(
            "<p><a href=\"{LIST}\">← Outbox</a></p><h1>No message #{n}</h1><p>The outbox holds {} messages, numbered from 1 in the order they were accepted.</p>",
            t.outbox.len()
        );
        return SimResponse {
            status: 404,
            ..SimResponse::html(page_html("tenant-sim outbox", &body))
        };
    };
    let here = format!("{ROOT}/{n}.html");
    let mut html = format!("<p><a href=\"{LIST}\">← Outbox</a>");
    if n < t.outbox.len() {
        let _ = write!(html, " · <a href=\"{ROOT}/{}.html\">newer</a>", n + 1);
    }
    if n > 1 {
        let _ = write!(html, " · <a href=\"{ROOT}/{}.html\">older</a>", n - 1);
    }
    let _ = write!(
        html,
        "</p><h1>{}</h1><dl><dt>#</dt><dd>{n}</dd><dt>From</dt><dd>{}</dd>",
        escape(&m.subject),
        escape(&m.sender)
    );
    for (label, list) in [("To", &m.to), ("Cc", &m.cc), ("Bcc", &m.bcc)] {
        if !list.is_empty() {
            let addrs: Vec<&str> = list.iter().map(|r| r.address.as_str()).collect();
            let _ = write!(
                html,
                "<dt>{label}</dt><dd>{}</dd>",
                escape(&addrs.join(", "))
            );
        }
    }
    let headers: Vec<String> = m.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = write!(
        html,
        "<dt>Sent (sim time)</dt><dd>{}</dd><dt>Format</dt><dd>{}{}</dd><dt>Headers</dt><dd>{}</dd></dl>",
        sim_time(m.at),
        escape(&m.content_type),
        if m.mime { " (MIME)" } else { "" },
        escape(&headers.join("; "))
    );
    for r in m.to.iter().chain(&m.cc).chain(&m.bcc) {
        let has_mfa = registered(&t, &r.address);
        let label = format!("Simulate: {} registers Microsoft Authenticator", r.address);
        html.push_str(&register_button(&r.address, &here, &label));
        if has_mfa {
            html.push_str("<p class=\"note\">(already has an MFA method)</p>");
        }
    }
    if m.content_type.eq_ignore_ascii_case("HTML") {
        let doc = format!("<base target=\"_blank\">{}", m.body);
        let _ = write!(
            html,
            "<iframe sandbox=\"allow-popups allow-popups-to-escape-sandbox\" srcdoc=\"{}\"></iframe>",
            escape(&doc)
        );
    } else {
        let _ = write!(html, "<pre>{}</pre>", escape(&m.body));
    }
    if let Some(text) = &m.text_alternative {
        let _ = write!(
            html,
            "<details><summary>Plain-text part</summary><pre>{}</pre></details>",
            escape(text)
        );
    }
    SimResponse::html(page_html(&m.subject, &html))
}

/// Where the register button returns to: a page of the outbox (`back=1` and anything else:
/// the list).
pub(crate) fn back_target(back: &str) -> &str {
    let inside = back
        .strip_prefix(ROOT)
        .is_some_and(|rest| rest.starts_with(['.', '/', '?']) && !rest.contains("//"));
    if inside {
        back
    } else {
        LIST
    }
}

fn mentions(m: &SentMail, needle: &str) -> bool {
    m.subject.to_lowercase().contains(needle)
        || m.to
            .iter()
            .chain(&m.cc)
            .chain(&m.bcc)
            .any(|r| r.address.to_lowercase().contains(needle))
}

fn row(n: usize, m: &SentMail) -> Row {
    let to: Vec<&str> =
        m.to.iter()
            .chain(&m.cc)
            .map(|r| r.address.as_str())
            .collect();
    Row {
        n,
        at: m.at,
        kind: kind(m).to_string(),
        to: to.join(", "),
        first_to: m.to.first().map(|r| r.address.clone()),
        subject: m.subject.clone(),
    }
}

/// What the sender labelled the message as: the value of its first custom Internet header
/// (the product sends `x-mfa-onboarding: invitation|reminder|…` first); empty without one.
fn kind(m: &SentMail) -> &str {
    m.headers.first().map_or("", |(_, v)| v.as_str())
}

fn registered(t: &TenantState, address: &str) -> bool {
    t.user(address)
        .is_some_and(|u| u.methods.iter().any(|m| m.kind.is_mfa_capable()))
}

fn sim_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn list_url(q: &str, page: usize) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        ser.append_pair("q", q);
    }
    if page > 1 {
        ser.append_pair("page", &page.to_string());
    }
    let query = ser.finish();
    if query.is_empty() {
        LIST.to_string()
    } else {
        format!("{LIST}?{query}")
    }
}

fn pager(q: &str, page: usize, pages: usize) -> String {
    let link = |p: usize, text: &str, rel: &str| {
        format!(
            "<a rel=\"{rel}\" href=\"{}\">{text}</a>",
            escape(&list_url(q, p))
        )
    };
    let newer = if page > 1 {
        link(page - 1, "← newer", "prev")
    } else {
        "<span>← newer</span>".to_string()
    };
    let older = if page < pages {
        link(page + 1, "older →", "next")
    } else {
        "<span>older →</span>".to_string()
    };
    format!("<nav>{newer} · page {page} of {pages} · {older}</nav>")
}

fn register_button(address: &str, back: &str, label: &str) -> String {
    let user: String = url::form_urlencoded::byte_serialize(address.as_bytes()).collect();
    let action = format!(
        "/_sim/users/{user}/register-mfa?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("method", "microsoftAuthenticator")
            .append_pair("back", back)
            .finish()
    );
    format!(
        "<form method=\"post\" action=\"{}\"><button title=\"Simulate: {} registers Microsoft Authenticator\">{}</button></form>",
        escape(&action),
        escape(address),
        escape(label)
    )
}

fn page_html(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title><style>body{{font-family:sans-serif;margin:2em;background:#f4f4f4}}table{{border-collapse:collapse;background:#fff;width:100%}}td,th{{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left}}form{{display:inline;margin:0 .5em .5em 0}}nav{{margin:1em 0}}nav span{{color:#999}}dl{{background:#fff;padding:1em;border-radius:6px}}dt{{font-weight:bold}}iframe{{width:100%;height:640px;border:1px solid #ddd;background:#fff}}.note{{display:inline;color:#555}}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
