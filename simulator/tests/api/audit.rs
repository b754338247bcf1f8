use crate::helpers::*;
use std::time::Duration;
use tenant_sim::{AppRegistration, Limits, MethodKind, NewUser, SimConfig};

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";

fn unlimited() -> SimConfig {
    SimConfig {
        limits: Limits::unlimited(),
        ..SimConfig::default()
    }
}

fn enc(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}

#[tokio::test]
async fn registration_is_logged_with_the_documented_shape_after_the_ingestion_delay() {
    let mut t = spawn(unlimited()).await;
    let u = t
        .tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    let registered_at = t.sim.clock().now();
    t.tenant()
        .register_mfa("a@contoso.example", MethodKind::MicrosoftAuthenticator)
        .unwrap();
    let r = t.get(AUDITS).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["value"].as_array().unwrap().len(),
        0,
        "not visible before the default 3-minute delay"
    );
    t.advance(180).await;
    let r = t.get(AUDITS).await;
    let events = r.body["value"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["activityDisplayName"], "User registered security info");
    assert_eq!(e["loggedByService"], "Authentication Methods");
    assert_eq!(e["category"], "UserManagement");
    assert_eq!(e["result"], "success");
    assert_eq!(
        e["resultReason"],
        "User registered Authenticator App with Notification and Code"
    );
    assert_eq!(e["operationType"], "Add");
    assert!(e["id"].as_str().is_some_and(|s| !s.is_empty()));
    let at = chrono::DateTime::parse_from_rfc3339(e["activityDateTime"].as_str().unwrap())
        .unwrap()
        .to_utc();
    assert_eq!(
        at, registered_at,
        "activityDateTime is the registration time"
    );
    assert_eq!(e["initiatedBy"]["user"]["id"], u.id.as_str());
    let target = &e["targetResources"][0];
    assert_eq!(target["id"], u.id.as_str());
    assert_eq!(target["userPrincipalName"], "a@contoso.example");
    assert_eq!(target["type"], "User");
}

#[tokio::test]
async fn reasons_name_the_method_and_deletions_are_logged_too() {
    let mut t = spawn(SimConfig {
        audit_delay: Duration::ZERO,
        ..unlimited()
    })
    .await;
    t.tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    for kind in [
        MethodKind::Phone,
        MethodKind::Fido2,
        MethodKind::Email,
        MethodKind::WindowsHelloForBusiness,
    ] {
        t.tenant().register_mfa("a@contoso.example", kind).unwrap();
        t.sim.clock().advance(Duration::from_secs(1));
    }
    assert_eq!(
        t.tenant()
            .remove_methods("a@contoso.example", Some(MethodKind::Phone))
            .unwrap(),
        1
    );
    t.advance(1).await;
    let security_info = enc("loggedByService eq 'Authentication Methods'");
    let r = t.get(&format!("{AUDITS}?$filter={security_info}")).await;
    let seen: Vec<(String, String, String)> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (
                text("activityDisplayName"),
                text("resultReason"),
                text("operationType"),
            )
        })
        .collect();
    let row = |a: &str, r: &str, o: &str| (a.to_string(), r.to_string(), o.to_string());
    let added = "User registered security info";
    assert_eq!(
        seen,
        [
            row(added, "User registered Mobile Phone SMS", "Add"),
            row(added, "User registered Passkey (device-bound)", "Add"),
            row(added, "User registered Email", "Add"),
            // Not registered through the security-info flow: no method named.
            row(added, "", "Add"),
            row(
                "User deleted security info",
                "User deleted Mobile Phone SMS",
                "Delete"
            ),
        ]
    );
}

#[tokio::test]
async fn filters_on_time_and_activity_and_pages_newest_first() {
    let mut t = spawn(SimConfig {
        audit_delay: Duration::ZERO,
        ..unlimited()
    })
    .await;
    let start = t.sim.clock().now();
    for i in 0..25 {
        let upn = format!("u{i:02}@contoso.example");
        t.tenant().add_user(NewUser::upn(&upn)).unwrap();
        t.tenant()
            .register_mfa(&upn, MethodKind::SoftwareOath)
            .unwrap();
        t.sim.clock().advance(Duration::from_secs(60));
    }
    t.advance(1).await;
    let since =
        (start + chrono::Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let filter = format!(
        "activityDateTime ge {since} and loggedByService eq 'Authentication Methods' and (activityDisplayName eq 'User registered security info' or activityDisplayName eq 'Admin registered security info')"
    );
    let mut next = Some(format!("{AUDITS}?$filter={}&$top=6", enc(&filter)));
    let mut upns = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        let r = t.get(&url).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        pages += 1;
        for e in r.body["value"].as_array().unwrap() {
            upns.push(
                e["targetResources"][0]["userPrincipalName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        next = r.body["@odata.nextLink"].as_str().map(str::to_string);
    }
    let want: Vec<String> = (10..25)
        .rev()
        .map(|i| format!("u{i:02}@contoso.example"))
        .collect();
    assert_eq!(upns, want, "minutes 10..24, newest first, each once");
    assert_eq!(pages, 3, "15 events in pages of 6");

    let upper =
        (start + chrono::Duration::minutes(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = t
        .get(&format!(
            "{AUDITS}?$filter={}",
            enc(&format!("activityDateTime le {upper}"))
        ))
        .await;
    assert_eq!(
        r.body["value"].as_array().unwrap().len(),
        3,
        "minutes 0, 1, 2"
    );
    let r = t
        .get(&format!(
            "{AUDITS}?$filter={}",
            enc("activityDisplayName eq 'Add member to group'")
        ))
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn unsupported_filters_and_page_sizes_are_rejected() {
    let t = spawn(unlimited()).await;
    for bad in [
        "activityDateTime gt 2026-01-01T00:00:00Z",
        "targetResources eq 'x'",
        "loggedByService ne 'Core Directory'",
        "activityDateTime ge yesterday",
    ] {
        let r = t.get(&format!("{AUDITS}?$filter={}", enc(bad))).await;
        assert_graph_error(&r, 400, "BadRequest");
    }
    assert_eq!(t.get(&format!("{AUDITS}?$top=1000")).await.status, 400);
}

#[tokio::test]
async fn lost_events_are_not_served() {
    let mut t = spawn(SimConfig {
        audit_delay: Duration::ZERO,
        ..unlimited()
    })
    .await;
    for upn in ["a@contoso.example", "b@contoso.example"] {
        t.tenant().add_user(NewUser::upn(upn)).unwrap();
    }
    t.tenant().lose_next_audit_events(1);
    t.tenant()
        .register_mfa("a@contoso.example", MethodKind::Fido2)
        .unwrap();
    t.tenant()
        .register_mfa("b@contoso.example", MethodKind::Fido2)
        .unwrap();
    t.advance(1).await;
    // A registration's events (here the security-info event and the Device Registration
    // Service's `Add Passkey (device-bound)`) are lost together.
    let r = t.get(AUDITS).await;
    let users: Vec<&str> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["targetResources"][0]["userPrincipalName"].as_str())
        .collect();
    assert_eq!(users, ["b@contoso.example", "b@contoso.example"]);
}

#[tokio::test]
async fn reading_needs_audit_and_directory_permissions() {
    let only_audit = SimConfig {
        apps: vec![AppRegistration {
            client_id: tenant_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: tenant_sim::DEFAULT_CLIENT_SECRET.into(),
            permissions: Some(["AuditLog.Read.All".to_string()].into_iter().collect()),
        }],
        ..unlimited()
    };
    let t = spawn(only_audit).await;
    assert_graph_error(&t.get(AUDITS).await, 403, "Authorization_RequestDenied");
    let both = SimConfig {
        apps: vec![AppRegistration {
            client_id: tenant_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: tenant_sim::DEFAULT_CLIENT_SECRET.into(),
            permissions: Some(
                ["AuditLog.Read.All", "Directory.Read.All"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        }],
        ..unlimited()
    };
    let t = spawn(both).await;
    assert_eq!(t.get(AUDITS).await.status, 200);
    t.tenant().set_audit_log_readable(false);
    assert_graph_error(&t.get(AUDITS).await, 403, "Authorization_RequestDenied");
}

#[tokio::test]
async fn audit_reads_count_against_the_reports_limit() {
    let t = spawn_default().await;
    for _ in 0..5 {
        assert_eq!(t.get(AUDITS).await.status, 200);
    }
    let r = t.get(AUDITS).await;
    assert_graph_error(&r, 429, "TooManyRequests");
    assert_eq!(r.header("retry-after").as_deref(), Some("10"));
}

#[tokio::test]
async fn credential_registrations_are_logged_by_the_device_registration_service_too() {
    use tenant_sim::{aaguid, Passkey};
    let mut t = spawn(SimConfig {
        audit_delay: Duration::ZERO,
        ..unlimited()
    })
    .await;
    let u = t
        .tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    for p in [
        Passkey::Authenticator,
        Passkey::Synced,
        Passkey::SecurityKey,
    ] {
        t.tenant().register_passkey(&u.id, p).unwrap();
        t.sim.clock().advance(Duration::from_secs(1));
    }
    for kind in [
        MethodKind::WindowsHelloForBusiness,
        MethodKind::PlatformCredential,
        MethodKind::MicrosoftAuthenticator,
    ] {
        t.tenant().register_mfa(&u.id, kind).unwrap();
        t.sim.clock().advance(Duration::from_secs(1));
    }
    t.advance(1).await;

    let drs = enc("loggedByService eq 'Device Registration Service'");
    let r = t.get(&format!("{AUDITS}?$filter={drs}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen: Vec<(String, Option<String>)> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            assert_eq!(e["category"], "UserManagement");
            assert_eq!(e["operationType"], "Add");
            assert_eq!(e["targetResources"][0]["id"], u.id.as_str());
            assert_eq!(
                e["initiatedBy"]["user"]["userPrincipalName"],
                "a@contoso.example"
            );
            let guid = e["additionalDetails"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["key"] == "AAGuid")
                .and_then(|d| d["value"].as_str())
                .map(str::to_string);
            (e["activityDisplayName"].as_str().unwrap().to_string(), guid)
        })
        .collect();
    let row = |a: &str, g: Option<&str>| (a.to_string(), g.map(str::to_string));
    assert_eq!(
        seen,
        [
            row(
                "Add Passkey (device-bound)",
                Some(aaguid::AUTHENTICATOR_IOS)
            ),
            row("Add Passkey (synced)", Some(aaguid::ICLOUD_KEYCHAIN)),
            row("Add Passkey (device-bound)", Some(aaguid::YUBIKEY_5_NFC)),
            row("Add Windows Hello for Business credential", None),
            row("Add platform credential", None),
        ],
        "the Authenticator app's push registration is security info only"
    );

    // The security-info events the product reads name the passkeys in words it matches.
    let synced = enc("activityDisplayName eq 'Add Passkey (synced)'");
    assert_eq!(
        t.get(&format!("{AUDITS}?$filter={synced}")).await.body["value"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the documented way to find synced passkey registrations"
    );
    let info = enc("activityDisplayName eq 'User registered security info'");
    let reasons: Vec<String> = t.get(&format!("{AUDITS}?$filter={info}")).await.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["resultReason"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        reasons,
        [
            "User registered Passkey (device-bound)",
            "User registered Passkey (synced)",
            "User registered Passkey (device-bound)",
            "",
            "",
            "User registered Authenticator App with Notification and Code",
        ]
    );
}
