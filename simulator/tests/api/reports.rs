use crate::helpers::*;
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
