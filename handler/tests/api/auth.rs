//! Admin authentication: dev, easyauth, entra, and every bypass attempt we could think of.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use warp::Filter;

use crate::helpers::{as_host, spawn_with, TestApp};
use crate::keys;

const TENANT: &str = "11111111-aaaa-4bbb-8ccc-222222222222";
const AUDIENCE: &str = "api://mfa-onboarding";
const ROLE: &str = "MfaOnboarding.Admin";

async fn report_status(app: &TestApp, headers: &[(&str, String)]) -> u16 {
    let mut req = as_host(app.client.get(app.url("/api/admin/report")));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    if status == 401 {
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({"error": "unauthorised"}), "generic body");
    }
    status
}

#[tokio::test]
async fn dev_mode_refuses_forwarded_clients_and_off_refuses_everyone() {
    let app = spawn_with(&[]).await;
    assert_eq!(report_status(&app, &[]).await, 200);
    assert_eq!(
        report_status(&app, &[("X-Forwarded-For", "203.0.113.7".into())]).await,
        401
    );
    let off = spawn_with(&[("MFA_ADMIN_AUTH", "")]).await;
    assert_eq!(report_status(&off, &[]).await, 401);
    let resp = as_host(off.client.post(off.url("/api/upload-users")))
        .header("Content-Type", "text/csv")
        .body("UPN\na@contoso.com\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // The public endpoints keep working with the admin API off.
    assert_eq!(off.track_open("x").await.status(), 200);
}

fn principal(idp_claims: Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(idp_claims.to_string())
}

#[tokio::test]
async fn easyauth_needs_the_platform_headers_and_the_role() {
    let app = spawn_with(&[("MFA_ADMIN_AUTH", "easyauth")]).await;
    let good = principal(json!({"auth_typ": "aad", "claims": [
        {"typ": "roles", "val": ROLE}, {"typ": "name", "val": "Admin"}]}));
    let uri_role = principal(json!({"auth_typ": "aad", "claims": [
        {"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "val": ROLE}]}));
    let no_role =
        principal(json!({"auth_typ": "aad", "claims": [{"typ": "roles", "val": "Reader"}]}));
    let idp = ("X-MS-CLIENT-PRINCIPAL-IDP", "aad".to_string());
    assert_eq!(
        report_status(
            &app,
            &[("X-MS-CLIENT-PRINCIPAL", good.clone()), idp.clone()]
        )
        .await,
        200
    );
    assert_eq!(
        report_status(&app, &[("X-MS-CLIENT-PRINCIPAL", uri_role), idp.clone()]).await,
        200
    );
    assert_eq!(
        report_status(&app, &[("X-MS-CLIENT-PRINCIPAL", no_role), idp.clone()]).await,
        401
    );
    assert_eq!(
        report_status(&app, &[("X-MS-CLIENT-PRINCIPAL", good.clone())]).await,
        401
    );
    assert_eq!(
        report_status(
            &app,
            &[
                ("X-MS-CLIENT-PRINCIPAL", good),
                ("X-MS-CLIENT-PRINCIPAL-IDP", "github".into())
            ]
        )
        .await,
        401
    );
    assert_eq!(
        report_status(&app, &[("X-MS-CLIENT-PRINCIPAL", "!!!".into()), idp]).await,
        401
    );
    assert_eq!(report_status(&app, &[]).await, 401);
}

/// Serves a JWKS with key k1 on a local port; returns the authority host.
async fn jwks_server() -> String {
    let jwks = json!({"keys": [
        // As Entra serves them: x5t, x5c and issuer besides the RSA parameters.
        {"kty": "RSA", "use": "sig", "kid": "k1", "x5t": "k1", "n": keys::K1_N, "e": keys::E,
         "x5c": ["MIIDBTCCAe2gAwIBAgIQ"], "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"},
        // Unreadable or not RSA: skipped without hiding k1.
        {"kty": "EC", "kid": "ec", "crv": "P-256"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "RSA", "use": "sig", "n": keys::K1_N, "e": keys::E}
    ]});
    let route = warp::path!(String / "discovery" / "v2.0" / "keys")
        .map(move |_tenant: String| warp::reply::json(&jwks));
    let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
    tokio::spawn(server);
    format!("http://{addr}")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(authority: &str, overrides: Value) -> Value {
    let mut c = json!({
        "aud": AUDIENCE,
        "iss": format!("{authority}/{TENANT}/v2.0"),
        "exp": now() + 3600,
        "nbf": now() - 60,
        "iat": now() - 60,
        "roles": [ROLE],
        "preferred_username": "admin@contoso.com",
    });
    if let (Some(c), Some(o)) = (c.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn sign(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn entra_tokens_are_fully_validated() {
    let authority = jwks_server().await;
    let app = spawn_with(&[
        ("MFA_ADMIN_AUTH", "entra"),
        ("MFA_ADMIN_TENANT_ID", TENANT),
        ("MFA_ADMIN_AUDIENCE", AUDIENCE),
        ("AZURE_AUTHORITY_HOST", &authority),
    ])
    .await;
    let bearer = |t: String| vec![("Authorization", format!("Bearer {t}"))];
    let valid = sign(keys::K1_PEM, "k1", &claims(&authority, json!({})));
    assert_eq!(
        report_status(&app, &bearer(valid)).await,
        200,
        "valid token"
    );
    let v1 = sign(
        keys::K1_PEM,
        "k1",
        &claims(
            &authority,
            json!({"iss": format!("https://sts.windows.net/{TENANT}/")}),
        ),
    );
    assert_eq!(report_status(&app, &bearer(v1)).await, 200, "v1 issuer");
    let group = sign(
        keys::K1_PEM,
        "k1",
        &claims(&authority, json!({"roles": [], "groups": [ROLE]})),
    );
    assert_eq!(
        report_status(&app, &bearer(group)).await,
        200,
        "group claim"
    );

    let cases: Vec<(&str, String)> = vec![
        (
            "wrong audience",
            sign(
                keys::K1_PEM,
                "k1",
                &claims(&authority, json!({"aud": "api://other"})),
            ),
        ),
        (
            "expired",
            sign(
                keys::K1_PEM,
                "k1",
                &claims(&authority, json!({"exp": now() - 3600})),
            ),
        ),
        (
            "not yet valid",
            sign(
                keys::K1_PEM,
                "k1",
                &claims(&authority, json!({"nbf": now() + 3600})),
            ),
        ),
        (
            "wrong issuer",
            sign(
                keys::K1_PEM,
                "k1",
                &claims(
                    &authority,
                    json!({"iss": "https://login.microsoftonline.com/other/v2.0"}),
                ),
            ),
        ),
        (
            "missing role",
            sign(
                keys::K1_PEM,
                "k1",
                &claims(&authority, json!({"roles": ["Reader"]})),
            ),
        ),
        (
            "wrong signature",
            sign(keys::K2_PEM, "k1", &claims(&authority, json!({}))),
        ),
        (
            "unknown kid",
            sign(keys::K2_PEM, "k2", &claims(&authority, json!({}))),
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": "k1"})),
                b64(&claims(&authority, json!({})))
            ),
        ),
        ("hs256 with the public key", {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("k1".into());
            jsonwebtoken::encode(
                &h,
                &claims(&authority, json!({})),
                &EncodingKey::from_secret(keys::K1_N.as_bytes()),
            )
            .unwrap()
        }),
        ("garbage", "not.a.jwt".into()),
    ];
    for (why, token) in cases {
        assert_eq!(report_status(&app, &bearer(token)).await, 401, "{why}");
    }
    assert_eq!(report_status(&app, &[]).await, 401, "no token");
    let forged = principal(json!({"auth_typ": "aad", "claims": [{"typ": "roles", "val": ROLE}]}));
    assert_eq!(
        report_status(
            &app,
            &[
                ("X-MS-CLIENT-PRINCIPAL", forged),
                ("X-MS-CLIENT-PRINCIPAL-IDP", "aad".into())
            ]
        )
        .await,
        401,
        "easy auth headers mean nothing in entra mode"
    );
    assert_eq!(
        report_status(&app, &[("Authorization", "Basic YWRtaW46YWRtaW4=".into())]).await,
        401
    );
}
