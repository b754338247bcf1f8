//! The `send` core: decoration, retries, gates, budgets, adaptive concurrency.

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use futures::future::join_all;
use mfa_core::graph::{Category, GraphError, GraphRequest, Mail};
use serde_json::json;

use crate::helpers::{graph_error, reply, t0, TestServer};

fn user_json(id: &str) -> serde_json::Value {
    json!({"id": id, "displayName": id, "userPrincipalName": format!("{id}@contoso.com")})
}

#[tokio::test]
async fn requests_are_decorated_and_authenticated() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![reply(200).json(user_json("a"))],
    );
    let client = server.client();
    client.get_user("a").await.unwrap();
    client.get_user("a").await.unwrap();
    let got = server.received_at("GET", "/v1.0/users/a");
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].header("user-agent").unwrap(),
        format!(
            "NONISV|TestOrg|mfa-onboarding/{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(got[0].header("authorization").unwrap(), "Bearer test-token");
    assert_eq!(
        got[0].query_decoded(),
        "$select=id,displayName,userPrincipalName,mail,accountEnabled,mobilePhone,department,jobTitle"
    );
    let ids: Vec<String> = got
        .iter()
        .map(|r| r.header("client-request-id").unwrap())
        .collect();
    assert!(uuid::Uuid::parse_str(&ids[0]).is_ok());
    assert_ne!(ids[0], ids[1], "one client-request-id per request");
}

#[tokio::test]
async fn a_429_storm_waits_for_retry_after_and_loses_nothing() {
    let (server, clock) = TestServer::start_stepped().await;
    let open_at = t0() + ChronoDuration::seconds(10);
    for i in 0..40 {
        let id = format!("u{i}");
        let body = user_json(&id);
        server.on_fn("GET", &format!("/v1.0/users/{id}"), move |r| {
            if r.at < open_at {
                let secs = (open_at - r.at).num_seconds().max(1);
                graph_error(429, "TooManyRequests", "slow down").retry_after(secs as u64)
            } else {
                reply(200).json(body.clone())
            }
        });
    }
    let client = server.client();
    let calls = tokio::spawn({
        let client = client.clone();
        async move {
            join_all((0..40).map(|i| {
                let client = client.clone();
                async move { client.get_user(&format!("u{i}")).await }
            }))
            .await
        }
    });
    let results = clock
        .drive(&client, &server, Duration::from_secs(1), calls)
        .await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_ref().unwrap().as_ref().unwrap().id, format!("u{i}"));
    }
    let received = server.received();
    for r in &received {
        assert!(
            r.at == t0() || r.at >= open_at,
            "request sent while throttled at {}",
            r.at
        );
    }
    let early = received.iter().filter(|r| r.at < open_at).count();
    assert!(
        early <= 16,
        "only the requests already in flight hit the 429; queued ones waited ({early})"
    );
    assert_eq!(received.iter().filter(|r| r.at >= open_at).count(), 40);
    let stats = client.stats()[&Category::Identity];
    assert_eq!(stats.throttled as usize, early);
    assert_eq!(stats.requests as usize, early + 40);
}

#[tokio::test]
async fn a_429_closes_the_category_for_other_callers_only() {
    let (server, clock) = TestServer::start_stepped().await;
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![
            graph_error(429, "TooManyRequests", "x").retry_after(30),
            reply(200).json(user_json("a")),
        ],
    );
    server.on(
        "GET",
        "/v1.0/users/b",
        vec![reply(200).json(user_json("b"))],
    );
    server.on(
        "GET",
        "/v1.0/sites/s/lists/l",
        vec![reply(200).json(json!({"id": "l"}))],
    );
    let client = server.client();
    let a = tokio::spawn({
        let client = client.clone();
        async move { client.get_user("a").await }
    });
    while server.received().is_empty() || client.stats()[&Category::Identity].throttled == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Another category is not held back.
    client
        .send(GraphRequest::get("/v1.0/sites/s/lists/l"))
        .await
        .unwrap();
    assert_eq!(
        server.received_at("GET", "/v1.0/sites/s/lists/l")[0].at,
        t0()
    );
    // The same category is, until the Retry-After instant, although b never saw a 429.
    let b = tokio::spawn({
        let client = client.clone();
        async move { client.get_user("b").await }
    });
    let both = tokio::spawn(async move { (a.await.unwrap(), b.await.unwrap()) });
    let (a, b) = clock
        .drive(&client, &server, Duration::from_secs(1), both)
        .await;
    a.unwrap().unwrap();
    b.unwrap().unwrap();
    let b_at = server.received_at("GET", "/v1.0/users/b")[0].at;
    assert_eq!(
        b_at,
        t0() + ChronoDuration::seconds(30),
        "b waited for the gate"
    );
}

#[tokio::test]
async fn retry_after_as_http_date_is_honoured() {
    let server = TestServer::start().await;
    let date = (t0() + ChronoDuration::seconds(42))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![
            graph_error(429, "TooManyRequests", "x").header("Retry-After", &date),
            reply(200).json(user_json("a")),
        ],
    );
    server.client().get_user("a").await.unwrap().unwrap();
    let got = server.received_at("GET", "/v1.0/users/a");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].at, t0() + ChronoDuration::seconds(42));
}

#[tokio::test]
async fn ratelimit_reset_wins_when_greater() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/sites/s/lists/l",
        vec![
            reply(503).retry_after(2).header("RateLimit-Reset", "30"),
            reply(200).json(json!({"id": "l"})),
        ],
    );
    server
        .client()
        .send(GraphRequest::get("/v1.0/sites/s/lists/l"))
        .await
        .unwrap();
    let got = server.received_at("GET", "/v1.0/sites/s/lists/l");
    assert_eq!(got[1].at, t0() + ChronoDuration::seconds(30));
}

#[tokio::test]
async fn status_503_and_504_are_retried() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![reply(503), reply(504), reply(200).json(user_json("a"))],
    );
    let client = server.client();
    assert_eq!(client.get_user("a").await.unwrap().unwrap().id, "a");
    assert_eq!(server.received_at("GET", "/v1.0/users/a").len(), 3);
    let stats = client.stats()[&Category::Identity];
    assert_eq!((stats.requests, stats.retries, stats.throttled), (3, 2, 0));
}

#[tokio::test]
async fn timeouts_are_retried_within_budget() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![
            reply(200)
                .json(user_json("a"))
                .delay(Duration::from_millis(1500)),
            reply(200).json(user_json("a")),
        ],
    );
    let mut settings = server.settings();
    settings.timeout = Duration::from_millis(300);
    let client = server.client_with(settings.clone());
    assert_eq!(client.get_user("a").await.unwrap().unwrap().id, "a");
    assert_eq!(server.received_at("GET", "/v1.0/users/a").len(), 2);

    // Always too slow: the budget ends it with a transport error.
    server.on(
        "GET",
        "/v1.0/users/slow",
        vec![reply(200).delay(Duration::from_millis(1000))],
    );
    settings.max_retries = 1;
    let client = server.client_with(settings);
    let err = client.get_user("slow").await.unwrap_err();
    assert!(matches!(err, GraphError::Transport(_)), "{err:?}");
    assert_eq!(server.received_at("GET", "/v1.0/users/slow").len(), 2);
}

#[tokio::test]
async fn exhausted_budget_is_throttled_with_the_last_retry_after() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![graph_error(429, "TooManyRequests", "x").retry_after(5)],
    );
    let mut settings = server.settings();
    settings.max_retries = 2;
    let err = server
        .client_with(settings)
        .get_user("a")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GraphError::Throttled {
            retry_after: Some(Duration::from_secs(5))
        }
    );
    let got = server.received_at("GET", "/v1.0/users/a");
    assert_eq!(got.len(), 3, "first try plus two retries");
    assert_eq!(got[2].at - got[1].at, ChronoDuration::seconds(5));

    // The time budget bounds it too: 12 s allows waits at 5 and 10, not 15.
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![graph_error(429, "TooManyRequests", "x").retry_after(5)],
    );
    let mut settings = server.settings();
    settings.max_retries = 100;
    settings.max_total_wait = Duration::from_secs(12);
    let err = server
        .client_with(settings)
        .get_user("a")
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Throttled { .. }));
    assert_eq!(server.received_at("GET", "/v1.0/users/a").len(), 3);
}

#[tokio::test]
async fn backoff_without_retry_after_stays_within_cap() {
    let server = TestServer::start().await;
    server.on(
        "GET",
        "/v1.0/users/a",
        vec![reply(503), reply(503), reply(200).json(user_json("a"))],
    );
    let mut settings = server.settings();
    settings.backoff_base = Duration::from_secs(3);
    settings.backoff_cap = Duration::from_secs(4);
    server.client_with(settings).get_user("a").await.unwrap();
    let got = server.received_at("GET", "/v1.0/users/a");
    assert!(got[1].at - got[0].at <= ChronoDuration::seconds(3));
    assert!(
        got[2].at - got[1].at <= ChronoDuration::seconds(4),
        "capped"
    );
}

#[tokio::test]
async fn errors_are_mapped_and_not_retried() {
    let server = TestServer::start().await;
    let cases = [
        (
            graph_error(400, "Request_BadRequest", "bad"),
            GraphError::BadRequest {
                code: "Request_BadRequest".into(),
                message: "bad".into(),
            },
        ),
        (
            graph_error(403, "Authorization_RequestDenied", "no"),
            GraphError::Forbidden {
                code: "Authorization_RequestDenied".into(),
                message: "no".into(),
            },
        ),
        (
            graph_error(404, "Request_ResourceNotFound", "x"),
            GraphError::NotFound {
                code: "Request_ResourceNotFound".into(),
            },
        ),
        (reply(410), GraphError::Gone),
        (reply(412), GraphError::PreconditionFailed),
        (
            graph_error(500, "generalException", "boom"),
            GraphError::Unexpected {
                status: 500,
                code: "generalException".into(),
                message: "boom".into(),
            },
        ),
    ];
    let client = server.client();
    for (i, (answer, expected)) in cases.into_iter().enumerate() {
        let path = format!("/v1.0/things/{i}");
        server.on("GET", &path, vec![answer]);
        let err = client
            .send(GraphRequest::get(path.clone()))
            .await
            .unwrap_err();
        assert_eq!(err, expected);
        assert_eq!(server.received_at("GET", &path).len(), 1);
    }
}

#[tokio::test]
async fn a_post_is_not_resent_after_a_timeout() {
    let server = TestServer::start().await;
    server.on(
        "POST",
        "/v1.0/users/sender@contoso.com/sendMail",
        vec![reply(202).delay(Duration::from_millis(1000)), reply(202)],
    );
    let mut settings = server.settings();
    settings.timeout = Duration::from_millis(300);
    let mail = Mail {
        to: vec!["a@contoso.com".into()],
        subject: "s".into(),
        html: "<p>x</p>".into(),
        ..Mail::default()
    };
    let err = server
        .client_with(settings)
        .send_mail("sender@contoso.com", &mail)
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::Transport(_)));
    assert_eq!(
        server
            .received_at("POST", "/v1.0/users/sender@contoso.com/sendMail")
            .len(),
        1
    );
}

#[tokio::test]
async fn mailbox_concurrency_never_exceeds_four() {
    let server = TestServer::start().await;
    let mut n = 0;
    server.on_fn(
        "POST",
        "/v1.0/users/Sender@contoso.com/sendMail",
        move |_| {
            n += 1;
            if n % 7 == 3 {
                reply(429).retry_after(1)
            } else {
                reply(202).delay(Duration::from_millis(20))
            }
        },
    );
    let mut settings = server.settings();
    settings.mail_concurrency = 4;
    settings.identity_concurrency = 64;
    let client = server.client_with(settings);
    let mail = Mail {
        to: vec!["a@contoso.com".into()],
        subject: "s".into(),
        html: "x".into(),
        ..Mail::default()
    };
    let results = join_all((0..40).map(|_| {
        let client = client.clone();
        let mail = mail.clone();
        async move { client.send_mail("Sender@contoso.com", &mail).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(
        server.peak_in_flight() <= 4,
        "peak {}",
        server.peak_in_flight()
    );
    assert!(server.peak_in_flight() >= 2, "concurrency was used");
    let stats = client.stats()[&Category::mail("sender@contoso.com")];
    assert!(stats.peak_in_flight <= 4);
    assert!(stats.throttled > 0);
    assert_eq!(stats.requests, 40 + stats.throttled);
}
