use crate::helpers::*;
use serde_json::json;
use tenant_sim::{FaultAction, FaultMatcher, FaultRule, FaultTrigger, NewUser};

#[tokio::test]
async fn control_api_mirrors_the_handle() {
    let t = spawn_default().await;
    let base = t.sim.base_url();
    let r = t
        .send(
            t.http
                .post(format!("{base}/_sim/users"))
                .json(&json!({"userPrincipalName": "x@contoso.example", "department": "Sales"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = t
        .send(
            t.http
                .post(format!("{base}/_sim/users/x@contoso.example/register-mfa"))
                .json(&json!({"method": "microsoftAuthenticator"})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        t.tenant().user("x@contoso.example").unwrap().methods.len(),
        1
    );
    let before = t.sim.clock().now();
    let r = t
        .send(
            t.http
                .post(format!("{base}/_sim/clock/advance"))
                .json(&json!({"seconds": 90})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!((t.sim.clock().now() - before).num_seconds(), 90);
    assert_eq!(
        t.send(t.http.get(format!("{base}/_sim/users")))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    t.tenant().add_mailbox("noreply@contoso.example").unwrap();
    assert_eq!(
        t.post(
            "/v1.0/users/noreply@contoso.example/sendMail",
            mail_body(&["x@contoso.example"], "Hi <there>")
        )
        .await
        .status,
        202
    );
    let r = t.send(t.http.get(format!("{base}/_sim/outbox"))).await;
    assert_eq!(r.body[0]["subject"], "Hi <there>");
    let (_, page) = t.html("/_sim/outbox.html").await;
    assert!(page.contains("Hi &lt;there&gt;"));
    assert!(
        !page.contains("enrol?token=abc"),
        "the list shows no bodies"
    );
    let (_, one) = t.html("/_sim/outbox/1.html").await;
    assert!(one.contains("enrol?token=abc"), "the message page does");
    let r = t.send(t.http.get(format!("{base}/_sim/requests"))).await;
    assert!(r
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["category"] == "mail"));

    let rule = json!({"matcher": {"pathContains": "/users/"}, "trigger": {"firstN": 1}, "action": {"status": {"status": 503, "retryAfter": 2}}});
    assert_eq!(
        t.send(t.http.post(format!("{base}/_sim/faults")).json(&rule))
            .await
            .status,
        201
    );
    let r = t.get("/v1.0/users/x@contoso.example").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after").as_deref(), Some("2"));
    assert_eq!(
        t.send(t.http.delete(format!("{base}/_sim/faults")))
            .await
            .status,
        204
    );
}

async fn fault_statuses(seed: u64) -> Vec<u16> {
    let config = tenant_sim::SimConfig {
        seed,
        limits: tenant_sim::Limits::unlimited(),
        ..Default::default()
    };
    let t = spawn(config).await;
    t.tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    t.tenant().add_fault(FaultRule {
        matcher: FaultMatcher {
            path_contains: Some("/users/".into()),
            ..Default::default()
        },
        trigger: FaultTrigger::Probability(0.3),
        action: FaultAction::Status {
            status: 503,
            retry_after: None,
        },
    });
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(t.get("/v1.0/users/a@contoso.example").await.status);
    }
    out
}

#[tokio::test]
async fn probabilistic_faults_are_reproducible_per_seed() {
    let a = fault_statuses(11).await;
    assert_eq!(a, fault_statuses(11).await);
    let failures = a.iter().filter(|s| **s == 503).count();
    assert!((3..=25).contains(&failures), "{failures}");
}

#[tokio::test]
async fn every_nth_fault_and_sent_while_throttled() {
    let t = spawn_default().await;
    t.tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    t.tenant().add_fault(
        FaultRule::status_on_path("/users/", 429, Some(30)).with_trigger(FaultTrigger::EveryNth(3)),
    );
    let s: Vec<u16> =
        futures::future::join_all((0..3).map(|_| t.get("/v1.0/users/a@contoso.example")))
            .await
            .iter()
            .map(|r| r.status)
            .collect();
    assert_eq!(s.iter().filter(|x| **x == 429).count(), 1);
    // Ignoring the injected Retry-After is recorded.
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 200);
    assert!(t
        .tenant()
        .violations()
        .iter()
        .any(|v| v.kind == tenant_sim::ViolationKind::SentWhileThrottled));
}

#[tokio::test]
async fn close_connection_fault_breaks_the_response() {
    let t = spawn_default().await;
    t.tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    t.tenant().add_fault(FaultRule {
        matcher: FaultMatcher::default(),
        trigger: FaultTrigger::FirstN(1),
        action: FaultAction::CloseConnection,
    });
    let r = t
        .http
        .get(t.url("/v1.0/users/a@contoso.example"))
        .bearer_auth(&t.token)
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client must see a broken response");
    assert_eq!(t.get("/v1.0/users/a@contoso.example").await.status, 200);
}

/// A request still in flight (here held 60 s by a delay fault) does not hold shutdown up past
/// its grace period: the fault suite now and then waited ~3 minutes for a connection.
#[tokio::test]
async fn shutdown_waits_for_open_connections_only_so_long() {
    let t = spawn_default().await;
    t.tenant().add_fault(FaultRule {
        matcher: FaultMatcher {
            path_contains: Some("/users".into()),
            ..FaultMatcher::default()
        },
        trigger: FaultTrigger::Always,
        action: FaultAction::Delay { ms: 60_000 },
    });
    let base = t.sim.base_url().trim_end_matches('/').to_string();
    let request = t
        .http
        .get(format!("{base}/v1.0/users"))
        .bearer_auth(&t.token)
        .send();
    let held = tokio::spawn(request);
    // Let the request reach the simulator and start its delay.
    while t.tenant().fault_hits().first().copied().unwrap_or(0) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    let bound = tenant_sim::SHUTDOWN_GRACE + std::time::Duration::from_secs(3);
    assert!(
        tokio::time::timeout(bound, t.sim.shutdown()).await.is_ok(),
        "shutdown still waiting after {:?}",
        started.elapsed()
    );
    // The listener is closed: nothing new gets in. (The held connection finishes on its own.)
    let after = reqwest::Client::new()
        .get(format!("{base}/v1.0/users"))
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    assert!(after.is_err(), "a new request after shutdown: {after:?}");
    held.abort();
}
