use crate::helpers::*;
use serde_json::json;
use std::time::Duration;
use tenant_sim::{Licence, Limits, MethodKind, NewUser, SimConfig};

const REPORT: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";

fn unlimited() -> SimConfig {
    SimConfig {
        limits: Limits::unlimited(),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn report_rows_have_the_documented_fields_and_filters_work() {
    let t = spawn(unlimited()).await;
    for upn in [
        "a@contoso.example",
        "b@contoso.example",
        "c@contoso.example",
        "off@contoso.example",
    ] {
        t.tenant().add_user(NewUser::upn(upn)).unwrap();
    }
    t.tenant()
        .set_account_enabled("off@contoso.example", false)
        .unwrap();
    t.tenant()
        .register_mfa("a@contoso.example", MethodKind::MicrosoftAuthenticator)
        .unwrap();
    t.tenant()
        .register_mfa("b@contoso.example", MethodKind::Email)
        .unwrap();

    let r = t.get(REPORT).await;
    assert_eq!(r.status, 200);
    let rows = r.body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "disabled users are excluded");
    let a = &rows[0];
    for field in [
        "id",
        "userPrincipalName",
        "userDisplayName",
        "isMfaRegistered",
        "isMfaCapable",
        "isSsprRegistered",
        "methodsRegistered",
        "lastUpdatedDateTime",
    ] {
        assert!(a.get(field).is_some(), "{field} missing");
    }
    assert_eq!(a["isMfaRegistered"], true);
    assert_eq!(a["methodsRegistered"][0], "microsoftAuthenticatorPush");
    assert_eq!(rows[1]["isMfaRegistered"], false, "email does not count");

    let r = t
        .get(&format!("{REPORT}?$filter=isMfaRegistered eq false"))
        .await;
    let upns: Vec<&str> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["userPrincipalName"].as_str().unwrap())
        .collect();
    assert_eq!(upns, vec!["b@contoso.example", "c@contoso.example"]);
    let r = t.get(&format!("{REPORT}?$filter=userPrincipalName eq 'c@contoso.example' or userPrincipalName eq 'a@contoso.example'")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
    let r = t
        .get(&format!(
            "{REPORT}?$filter=isMfaRegistered eq true and userPrincipalName eq 'b@contoso.example'"
        ))
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 0);
    assert_eq!(t.get(&format!("{REPORT}?$top=1000")).await.status, 400);
    let r = t.get(&format!("{REPORT}?$filter=userPrincipalName eq 'off@contoso.example' or id eq '{}'&$select=id,isMfaRegistered", a["id"].as_str().unwrap())).await;
    assert_eq!(
        r.body["value"].as_array().unwrap().len(),
        1,
        "disabled users stay excluded on point lookups"
    );
    assert_eq!(
        r.body["value"][0].as_object().unwrap().len(),
        2,
        "$select applies"
    );
}

#[tokio::test]
async fn report_pages_999_at_a_time() {
    let t = spawn(unlimited()).await;
    for i in 0..2500 {
        t.tenant()
            .add_user(NewUser::upn(format!("p{i}@contoso.example")))
            .unwrap();
    }
    let mut pages = Vec::new();
    let mut next = Some(REPORT.to_string());
    while let Some(link) = next {
        let r = t.get(&link).await;
        assert_eq!(r.status, 200);
        pages.push(r.body["value"].as_array().unwrap().len());
        next = r.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(pages, vec![999, 999, 502]);
}

#[tokio::test]
async fn report_needs_premium_licence() {
    let t = spawn(SimConfig {
        licence: Licence::Free,
        ..SimConfig::default()
    })
    .await;
    let r = t.get(REPORT).await;
    assert_graph_error(
        &r,
        403,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
    );
}

#[tokio::test]
async fn report_lag_hides_fresh_registrations() {
    let mut t = spawn(SimConfig {
        report_lag: Duration::from_secs(3600),
        limits: Limits::unlimited(),
        ..SimConfig::default()
    })
    .await;
    t.tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    t.tenant()
        .register_mfa("a@contoso.example", MethodKind::Fido2)
        .unwrap();
    assert_eq!(
        t.get(REPORT).await.body["value"][0]["isMfaRegistered"],
        false
    );
    t.advance(3600).await;
    assert_eq!(
        t.get(REPORT).await.body["value"][0]["isMfaRegistered"],
        true
    );
}

#[tokio::test]
async fn reports_allow_five_requests_per_ten_seconds() {
    let t = spawn_default().await;
    for _ in 0..5 {
        assert_eq!(t.get(REPORT).await.status, 200);
    }
    let r = t.get(REPORT).await;
    assert_graph_error(&r, 429, "TooManyRequests");
    assert_eq!(r.header("retry-after").as_deref(), Some("10"));
    t.sim.clock().advance(Duration::from_secs(10));
    assert_eq!(t.get(REPORT).await.status, 200);
}

/// Everyone with one kind of strong credential, and one with SMS and a synced passkey.
async fn passkey_people(t: &TestSim) {
    use tenant_sim::Passkey;
    let tenant = t.tenant();
    for (upn, p) in [
        ("key@contoso.example", Passkey::SecurityKey),
        ("app@contoso.example", Passkey::Authenticator),
        ("hello@contoso.example", Passkey::WindowsHello),
        ("synced@contoso.example", Passkey::Synced),
    ] {
        tenant.add_user(NewUser::upn(upn)).unwrap();
        tenant.register_passkey(upn, p).unwrap();
    }
    tenant
        .add_user(NewUser::upn("mac@contoso.example"))
        .unwrap();
    tenant
        .register_mfa("mac@contoso.example", MethodKind::PlatformCredential)
        .unwrap();
    tenant
        .add_user(NewUser::upn("both@contoso.example"))
        .unwrap();
    tenant
        .register_mfa("both@contoso.example", MethodKind::Phone)
        .unwrap();
    tenant
        .register_passkey("both@contoso.example", Passkey::Synced)
        .unwrap();
    tenant
        .register_passkey("both@contoso.example", Passkey::Authenticator)
        .unwrap();
}

fn by_upn(r: &Resp) -> std::collections::BTreeMap<String, serde_json::Value> {
    r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["userPrincipalName"].as_str().unwrap().to_string(),
                row.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn passkey_values_come_only_with_the_prefer_header() {
    let t = spawn(unlimited()).await;
    passkey_people(&t).await;

    let with = t
        .get_with(REPORT, &[("Prefer", "include-unknown-enum-members")])
        .await;
    assert_eq!(with.status, 200);
    assert_eq!(
        with.header("preference-applied").as_deref(),
        Some("include-unknown-enum-members")
    );
    let rows = by_upn(&with);
    let methods = |upn: &str| rows[upn]["methodsRegistered"].clone();
    assert_eq!(
        methods("key@contoso.example"),
        json!(["passKeyDeviceBound"])
    );
    assert_eq!(
        methods("app@contoso.example"),
        json!(["passKeyDeviceBoundAuthenticator"])
    );
    assert_eq!(
        methods("hello@contoso.example"),
        json!(["passKeyDeviceBoundWindowsHello"])
    );
    assert_eq!(methods("synced@contoso.example"), json!(["passKeySynced"]));
    assert_eq!(
        methods("mac@contoso.example"),
        json!(["macOsSecureEnclaveKey"])
    );
    assert_eq!(
        methods("both@contoso.example"),
        json!([
            "mobilePhone",
            "passKeySynced",
            "passKeyDeviceBoundAuthenticator"
        ])
    );

    let without = t.get(REPORT).await;
    assert_eq!(without.status, 200);
    assert_eq!(without.header("preference-applied"), None);
    let plain = by_upn(&without);
    for upn in [
        "key@contoso.example",
        "app@contoso.example",
        "hello@contoso.example",
        "synced@contoso.example",
        "mac@contoso.example",
    ] {
        assert_eq!(
            plain[upn]["methodsRegistered"],
            json!(["unknownFutureValue"]),
            "{upn}: evolvable members are replaced by the sentinel"
        );
    }
    assert_eq!(
        plain["both@contoso.example"]["methodsRegistered"],
        json!(["mobilePhone", "unknownFutureValue"]),
        "known members stay; the sentinel appears once"
    );
    for (upn, row) in &rows {
        for flag in ["isMfaRegistered", "isMfaCapable", "isPasswordlessCapable"] {
            assert_eq!(
                row[flag], plain[upn][flag],
                "{upn} {flag} is the same either way"
            );
        }
        assert_eq!(row["isMfaRegistered"], true, "{upn}");
        assert_eq!(row["isPasswordlessCapable"], true, "{upn}");
    }

    // The preference may come with others, in any case; on a point lookup too.
    let r = t
        .get_with(
            &format!("{REPORT}?$filter=userPrincipalName eq 'synced@contoso.example'"),
            &[(
                "Prefer",
                "odata.maxpagesize=10, Include-Unknown-Enum-Members",
            )],
        )
        .await;
    assert_eq!(
        r.body["value"][0]["methodsRegistered"],
        json!(["passKeySynced"])
    );
    assert_eq!(
        r.header("preference-applied").as_deref(),
        Some("include-unknown-enum-members")
    );
}

#[tokio::test]
async fn batched_report_reads_follow_the_header_rule_per_request() {
    let t = spawn(unlimited()).await;
    passkey_people(&t).await;
    let url = "/reports/authenticationMethods/userRegistrationDetails?$filter=userPrincipalName eq 'key@contoso.example'";
    let r = t
        .post(
            "/v1.0/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": url, "headers": {"Prefer": "include-unknown-enum-members"}},
                {"id": "2", "method": "GET", "url": url},
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = |id: &str| {
        r.body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .map(|x| x["body"]["value"][0]["methodsRegistered"].clone())
    };
    assert_eq!(body("1"), Some(json!(["passKeyDeviceBound"])));
    assert_eq!(body("2"), Some(json!(["unknownFutureValue"])));
}
