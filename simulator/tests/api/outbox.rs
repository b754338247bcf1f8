//! The readable outbox: a paged, searchable list without message bodies, one page per message.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tenant_sim::{Limits, MethodKind, NewUser, SimConfig};

const SENDER: &str = "noreply@contoso.example";

/// Message `i` (0-based) goes to `person{i % 2000}`, so each person gets five, and carries a
/// tracking pixel and a link with the token `T{i}`.
fn message(i: usize) -> Value {
    let body = format!(
        "<p>Hello</p><a href=\"https://app.example/api/enrol?token=T{i}\">Set up MFA</a>\
         <img src=\"https://app.example/api/track-open?token=T{i}\" width=\"1\" height=\"1\">"
    );
    json!({"message": {
        "subject": format!("Invitation {i}"),
        "body": {"contentType": "HTML", "content": body},
        "toRecipients": [{"emailAddress": {"address": format!("person{:04}@contoso.example", i % 2000)}}],
        "internetMessageHeaders": [{"name": "x-mfa-onboarding", "value": "invitation"}],
    }, "saveToSentItems": false})
}

/// Sends `n` messages through Graph, 20 to a `$batch`.
async fn send_many(t: &TestSim, n: usize) {
    for start in (0..n).step_by(20) {
        let requests: Vec<Value> = (start..(start + 20).min(n))
            .map(|i| {
                json!({"id": i.to_string(), "method": "POST",
                       "url": format!("/users/{SENDER}/sendMail"),
                       "headers": {"Content-Type": "application/json"}, "body": message(i)})
            })
            .collect();
        let r = t.post("/v1.0/$batch", json!({"requests": requests})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body["responses"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["status"] == 202),
            "{}",
            r.body
        );
    }
}

/// The message numbers a list page links to, in order.
fn listed(html: &str) -> Vec<usize> {
    html.split("<tr><td>")
        .skip(1)
        .map(|row| row.split('<').next().unwrap().parse().unwrap())
        .collect()
}

async fn spawn_unlimited() -> TestSim {
    let t = spawn(SimConfig {
        limits: Limits::unlimited(),
        ..Default::default()
    })
    .await;
    t.tenant().add_mailbox(SENDER).unwrap();
    t
}

#[tokio::test]
async fn ten_thousand_messages_list_fifty_a_page_without_bodies_and_search_by_recipient() {
    let t = spawn_unlimited().await;
    send_many(&t, 10_000).await;
    assert_eq!(t.tenant().outbox().len(), 10_000);

    let started = Instant::now();
    let (status, first) = t.html("/_sim/outbox.html").await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    // A loose sanity bound (debug build), not a benchmark: the old page took 24 s for 279.
    assert!(took < Duration::from_secs(2), "list took {took:?}");
    assert_eq!(
        listed(&first),
        (9951..=10_000).rev().collect::<Vec<_>>(),
        "the newest 50, newest first"
    );
    assert!(first.contains("page 1 of 200"), "{first}");
    assert!(first.contains("href=\"/_sim/outbox.html?page=2\""));
    assert!(first.contains("href=\"/_sim/outbox/10000.html\">Invitation 9999</a>"));
    assert!(first.contains("<td>invitation</td>"), "the kind is shown");
    assert!(
        first.contains("person1999@contoso.example"),
        "the recipient is shown"
    );
    assert!(!first.contains("track-open"), "no pixel on the list");
    assert!(!first.contains("enrol?token"), "no body on the list");
    assert!(!first.contains("<iframe"), "no body on the list");

    let (_, second) = t.html("/_sim/outbox.html?page=2").await;
    assert_eq!(listed(&second), (9901..=9950).rev().collect::<Vec<_>>());
    assert!(second.contains("href=\"/_sim/outbox.html\">← newer"));
    let (_, last) = t.html("/_sim/outbox.html?page=200").await;
    assert_eq!(listed(&last), (1..=50).rev().collect::<Vec<_>>());
    assert!(
        last.contains("<span>older →</span>"),
        "no page after the last"
    );

    let started = Instant::now();
    let (status, found) = t.html("/_sim/outbox.html?q=PERSON0042%40contoso").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(status, 200);
    assert_eq!(
        listed(&found),
        vec![8043, 6043, 4043, 2043, 43],
        "that person's five messages (0-based i = 42 + 2000k), newest first"
    );
    assert!(found.contains("1–5 of 5 matching"), "{found}");
    assert!(
        found.contains("value=\"PERSON0042@contoso\""),
        "the box keeps the query"
    );
    assert!(!found.contains("track-open"));

    let (_, by_subject) = t.html("/_sim/outbox.html?q=invitation+9999").await;
    assert_eq!(listed(&by_subject), vec![10_000], "search by subject");
    let (_, none) = t.html("/_sim/outbox.html?q=nobody%40else").await;
    assert!(listed(&none).is_empty());
    assert!(none.contains("None of 0 matching"), "{none}");
}

#[tokio::test]
async fn one_message_page_shows_the_body_with_its_links_and_pixel() {
    let t = spawn_unlimited().await;
    send_many(&t, 3).await;
    let (status, html) = t.html("/_sim/outbox/2.html").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Invitation 1</h1>"), "{html}");
    assert!(
        html.contains("<iframe sandbox=\"allow-popups allow-popups-to-escape-sandbox\" srcdoc=")
    );
    assert!(html.contains("https://app.example/api/track-open?token=T1"));
    assert!(html.contains("https://app.example/api/enrol?token=T1"));
    assert!(
        !html.contains("token=T0") && !html.contains("token=T2"),
        "only this message"
    );
    assert!(html.contains("href=\"/_sim/outbox/3.html\">newer"));
    assert!(html.contains("href=\"/_sim/outbox/1.html\">older"));
    assert!(html.contains("x-mfa-onboarding: invitation"));

    for missing in ["/_sim/outbox/0.html", "/_sim/outbox/4.html"] {
        let (status, html) = t.html(missing).await;
        assert_eq!(status, 404, "{missing}");
        assert!(html.contains("holds 3 messages"), "{html}");
    }
}

/// The `action` of the first register button on a page, as the browser would read it.
fn register_action(html: &str) -> String {
    let start = html
        .find("action=\"/_sim/users/")
        .expect("a register button")
        + 8;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn register_buttons_register_the_recipient_and_come_back() {
    let t = spawn_unlimited().await;
    t.tenant()
        .add_user(NewUser::upn("person0000@contoso.example"))
        .unwrap();
    send_many(&t, 1).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let (_, one) = t.html("/_sim/outbox/1.html").await;
    assert!(!one.contains("already has an MFA method"));
    let action = register_action(&one);
    let r = no_redirects.post(t.url(&action)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/_sim/outbox/1.html");
    let user = t.tenant().user("person0000@contoso.example").unwrap();
    assert_eq!(user.methods[0].kind, MethodKind::MicrosoftAuthenticator);
    let (_, again) = t.html("/_sim/outbox/1.html").await;
    assert!(again.contains("already has an MFA method"));

    let (_, list) = t.html("/_sim/outbox.html?q=person0000").await;
    let r = no_redirects
        .post(t.url(&register_action(&list)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/_sim/outbox.html?q=person0000",
        "back to the same list"
    );

    // Only outbox pages are places to come back to.
    for (back, location) in [
        ("1", "/_sim/outbox.html"),
        ("https%3A%2F%2Fevil.example%2F", "/_sim/outbox.html"),
        ("%2F_sim%2Foutbox%2F%2Fevil.example", "/_sim/outbox.html"),
        ("%2F_sim%2Foutboxes", "/_sim/outbox.html"),
    ] {
        let r = no_redirects
            .post(t.url(&format!(
                "/_sim/users/person0000@contoso.example/register-mfa?method=fido2&back={back}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{back}");
        assert_eq!(r.headers()["location"], location, "{back}");
    }
}
