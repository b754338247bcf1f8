//! Every admin path × every bad credential → 401 with the one generic body, and nothing stored.
//! Extends `tests/api/auth.rs` (which covers each bad token once on the report) to every admin
//! route and method, in each authentication mode, including a person's tracking token.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mfa_core::store::Store;
use reqwest::Method;
use serde_json::{json, Value};
use warp::Filter;

use crate::helpers::{as_host, spawn_with, TestApp};
use crate::keys;

const TENANT: &str = "11111111-aaaa-4bbb-8ccc-222222222222";
const AUDIENCE: &str = "api://mfa-onboarding";
const ROLE: &str = "MfaOnboarding.Admin";

/// Every admin route (method, path, body).
fn admin_routes() -> Vec<(Method, &'static str, Option<&'static str>)> {
    vec![
        (Method::GET, "/api/admin/report", None),
        (Method::GET, "/api/admin/report?staleDays=1", None),
        (Method::GET, "/api/admin/users", None),
        (
            Method::GET,
            "/api/admin/users?search=victim&pageSize=1000",
            None,
        ),
        (Method::GET, "/api/admin/export", None),
        (Method::GET, "/api/admin/export?search=victim", None),
        (
            Method::POST,
            "/api/admin/run",
            Some(r#"{"passes":["invitation"]}"#),
        ),
        (
            Method::POST,
            "/api/upload-users?sendNow=true",
            Some("UPN\nintruder@contoso.com\n"),
        ),
    ]
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn jwks_server() -> String {
    let jwks =
        json!({"keys": [{"kty": "RSA", "use": "sig", "kid": "k1", "n": keys::K1_N, "e": keys::E}]});
    let route = warp::path!(String / "discovery" / "v2.0" / "keys")
        .map(move |_tenant: String| warp::reply::json(&jwks));
    let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
    tokio::spawn(server);
    format!("http://{addr}")
}

fn sign(pem: &str, kid: &str, authority: &str, overrides: Value) -> String {
    let mut c = json!({
        "aud": AUDIENCE, "iss": format!("{authority}/{TENANT}/v2.0"),
        "exp": now() + 3600, "nbf": now() - 60, "iat": now() - 60, "roles": [ROLE],
    });
    if let (Some(c), Some(o)) = (c.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            c.insert(k.clone(), v.clone());
        }
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(
        &header,
        &c,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn principal(claims: Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(claims.to_string())
}

/// Sends `route` with `headers`; asserts 401 and the generic body; returns nothing else.
async fn assert_refused(
    app: &TestApp,
    route: &(Method, &str, Option<&str>),
    headers: &[(&str, String)],
    why: &str,
) {
    let (method, path, body) = route;
    let mut req = as_host(app.client.request(method.clone(), app.url(path)));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    if let Some(b) = body {
        req = req
            .header(
                "content-type",
                if path.contains("upload") {
                    "text/csv"
                } else {
                    "application/json"
                },
            )
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 401, "{why}: {method} {path}");
    let text = resp.text().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).ok(),
        Some(json!({"error": "unauthorised"})),
        "{why}: {method} {path} body {text}"
    );
    assert!(!text.contains("victim"), "{why}: leaked a person");
}

/// Entra mode: forged, expired, wrong-audience and otherwise bad tokens, a person's tracking
/// token, and the easyauth headers, on every admin route.
/// Broken by: checking credentials only on `report` (e.g. a new route added to `admin_api`
/// without `auth()`) → that route answers 200 with data → the matrix fails on it; or trusting
/// the token's `alg` → the `alg: none` row answers 200.
#[tokio::test]
async fn entra_every_route_refuses_every_bad_credential() {
    let authority = jwks_server().await;
    let app = spawn_with(&[
        ("MFA_ADMIN_AUTH", "entra"),
        ("MFA_ADMIN_TENANT_ID", TENANT),
        ("MFA_ADMIN_AUDIENCE", AUDIENCE),
        ("AZURE_AUTHORITY_HOST", &authority),
    ])
    .await;
    let victim = app.seed_sent(&["victim@contoso.com"]).await.remove(0);
    let tracking = victim.token.to_string();
    let bearer = |t: &str| vec![("Authorization", format!("Bearer {t}"))];
    let a = authority.as_str();
    let creds: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("none", vec![]),
        ("empty bearer", bearer("")),
        ("garbage", bearer("not.a.jwt")),
        (
            "expired",
            bearer(&sign(keys::K1_PEM, "k1", a, json!({"exp": now() - 7200}))),
        ),
        (
            "wrong audience",
            bearer(&sign(keys::K1_PEM, "k1", a, json!({"aud": "api://other"}))),
        ),
        (
            "wrong issuer",
            bearer(&sign(
                keys::K1_PEM,
                "k1",
                a,
                json!({"iss": "https://login.microsoftonline.com/evil/v2.0"}),
            )),
        ),
        (
            "no role",
            bearer(&sign(keys::K1_PEM, "k1", a, json!({"roles": []}))),
        ),
        (
            "forged signature",
            bearer(&sign(keys::K2_PEM, "k1", a, json!({}))),
        ),
        (
            "alg none",
            bearer(&format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
                b64(
                    &json!({"aud": AUDIENCE, "iss": format!("{a}/{TENANT}/v2.0"),
                            "exp": now() + 3600, "roles": [ROLE]})
                )
            )),
        ),
        ("tracking token as bearer", bearer(&tracking)),
        (
            "tracking token as cookie",
            vec![("Cookie", format!("token={tracking}"))],
        ),
        (
            "forged easyauth",
            vec![
                (
                    "X-MS-CLIENT-PRINCIPAL",
                    principal(
                        json!({"auth_typ": "aad", "claims": [{"typ": "roles", "val": ROLE}]}),
                    ),
                ),
                ("X-MS-CLIENT-PRINCIPAL-IDP", "aad".into()),
            ],
        ),
        (
            "basic",
            vec![("Authorization", "Basic YWRtaW46YWRtaW4=".into())],
        ),
    ];
    for route in admin_routes() {
        for (why, headers) in &creds {
            assert_refused(&app, &route, headers, why).await;
        }
    }
    // The tracking token in the query string is not a credential either.
    let with_token = format!("/api/admin/users?token={tracking}");
    assert_refused(
        &app,
        &(Method::GET, &with_token, None),
        &[],
        "token in query",
    )
    .await;
    assert!(app.runner.passes().is_empty(), "no pass was started");
    assert!(app
        .store
        .get_by_upn(&mfa_core::domain::Upn::parse("intruder@contoso.com").unwrap())
        .await
        .unwrap()
        .is_none());
    // The valid token still works, so the matrix above is not refusing everything by accident.
    let good = sign(keys::K1_PEM, "k1", a, json!({}));
    let ok = as_host(app.client.get(app.url("/api/admin/report")))
        .bearer_auth(good)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

/// Easy Auth and dev modes: forged or missing principals, and forwarded clients in dev mode.
/// Broken by: accepting `X-MS-CLIENT-PRINCIPAL` without checking the IdP header, or dev mode
/// ignoring `X-Forwarded-For` → a row answers 200 → fails.
#[tokio::test]
async fn easyauth_and_dev_modes_refuse_on_every_route() {
    let easy = spawn_with(&[("MFA_ADMIN_AUTH", "easyauth")]).await;
    let reader =
        principal(json!({"auth_typ": "aad", "claims": [{"typ": "roles", "val": "Reader"}]}));
    let admin = principal(json!({"auth_typ": "aad", "claims": [{"typ": "roles", "val": ROLE}]}));
    let creds: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("none", vec![]),
        (
            "wrong role",
            vec![
                ("X-MS-CLIENT-PRINCIPAL", reader),
                ("X-MS-CLIENT-PRINCIPAL-IDP", "aad".into()),
            ],
        ),
        ("no idp", vec![("X-MS-CLIENT-PRINCIPAL", admin.clone())]),
        (
            "other idp",
            vec![
                ("X-MS-CLIENT-PRINCIPAL", admin),
                ("X-MS-CLIENT-PRINCIPAL-IDP", "github".into()),
            ],
        ),
        (
            "not base64",
            vec![
                ("X-MS-CLIENT-PRINCIPAL", "%%%".into()),
                ("X-MS-CLIENT-PRINCIPAL-IDP", "aad".into()),
            ],
        ),
    ];
    for route in admin_routes() {
        for (why, headers) in &creds {
            assert_refused(&easy, &route, headers, why).await;
        }
    }
    let dev = spawn_with(&[("MFA_ADMIN_AUTH", "dev")]).await;
    for route in admin_routes() {
        for hop in ["203.0.113.7", "127.0.0.1, 198.51.100.2", "10.0.0.5:443"] {
            assert_refused(&dev, &route, &[("X-Forwarded-For", hop.into())], hop).await;
        }
    }
}
