//! The client against the tenant simulator (`tenant-sim`) with its published limits: every
//! typed call end to end, and the rules the simulator polices (no request sent while throttled,
//! never the non-indexed-query header).

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::future::join_all;
use futures::TryStreamExt;
use mfa_core::bootstrap::graph_client_with;
use mfa_core::clock::{Clock, ManualClock, SharedClock};
use mfa_core::config::Vars;
use mfa_core::graph::reports::FILTER_NOT_MFA_REGISTERED;
use mfa_core::graph::{
    AddMember, GraphClient, GraphError, ItemQuery, Mail, PerUserMfaState, PhoneType,
};
use serde_json::{json, Map, Value};
use tenant_sim::{NewUser, SimClock, SimConfig, Simulator, ViolationKind};

use crate::helpers::{sim_tokens, SteppedClock};

struct Setup {
    sim: Simulator,
    client: GraphClient,
}

async fn setup() -> Setup {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).single().unwrap());
    let follow = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || follow.now())),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let vars = Vars::from_pairs([("MFA_GRAPH_BASE_URL", sim.base_url())]);
    let client = graph_client_with(&vars, Arc::new(clock), &sim_tokens(&sim), |_| {}).unwrap();
    Setup { sim, client }
}

fn assert_no_violations(sim: &Simulator, allow_limit_exceeded: bool) {
    let bad: Vec<_> = sim
        .tenant()
        .violations()
        .into_iter()
        .filter(|v| !(allow_limit_exceeded && matches!(v.kind, ViolationKind::LimitExceeded)))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[tokio::test]
async fn directory_methods_report_and_mail_end_to_end() {
    let Setup { sim, client, .. } = setup().await;
    let t = sim.tenant();
    let ada = t.add_user(NewUser::upn("ada@contoso.example")).unwrap();
    let mut bob = NewUser::upn("bob@contoso.example");
    bob.manager = Some(ada.id.clone());
    let bob = t.add_user(bob).unwrap();
    let group = t.add_group("CA MFA rollout");
    t.add_mailbox("mfa@contoso.example").unwrap();

    let got = client
        .get_user("ada@contoso.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, ada.id);
    // Revoked mid-run: the 401 makes the client fetch a new token once and carry on.
    t.expire_all_tokens();
    assert_eq!(client.get_user(&ada.id).await.unwrap().unwrap().id, ada.id);
    let statuses: Vec<u16> = t
        .requests()
        .iter()
        .filter(|r| r.path == format!("/v1.0/users/{}", ada.id))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![401, 200]);
    assert_eq!(client.get_user("nobody@contoso.example").await, Ok(None));
    assert_eq!(
        client.get_manager(&bob.id).await.unwrap().unwrap().id,
        ada.id
    );
    assert_eq!(client.get_manager(&ada.id).await, Ok(None));
    let users = client
        .get_users(&[bob.id.clone(), "ghost@contoso.example".into()])
        .await;
    assert_eq!(users[0].as_ref().unwrap().as_ref().unwrap().id, bob.id);
    assert_eq!(users[1], Ok(None));

    assert_eq!(
        client.add_group_member(&group.id, &ada.id).await,
        Ok(AddMember::Added)
    );
    assert_eq!(
        client.add_group_member(&group.id, &ada.id).await,
        Ok(AddMember::AlreadyMember)
    );
    let batch = client
        .add_group_members(&group.id, &[ada.id.clone(), bob.id.clone()])
        .await;
    assert_eq!(
        batch,
        vec![Ok(AddMember::AlreadyMember), Ok(AddMember::Added)]
    );
    assert_eq!(t.group_members(&group.id).unwrap().len(), 2);

    t.register_mfa(&bob.id, tenant_sim::MethodKind::Fido2)
        .unwrap();
    let methods = client
        .list_methods_batch(&[ada.id.clone(), bob.id.clone()])
        .await;
    assert!(!methods[0]
        .as_ref()
        .unwrap()
        .iter()
        .any(|m| m.is_mfa_capable()));
    assert!(methods[1]
        .as_ref()
        .unwrap()
        .iter()
        .any(|m| m.is_mfa_capable()));
    let pages: Vec<_> = client
        .registration_details(Some(FILTER_NOT_MFA_REGISTERED))
        .try_collect()
        .await
        .unwrap();
    let pending: Vec<String> = pages
        .iter()
        .flat_map(|p| p.value.iter().map(|r| r.id.clone()))
        .collect();
    assert!(
        pending.contains(&ada.id) && !pending.contains(&bob.id),
        "{pending:?}"
    );
    t.set_licence(tenant_sim::Licence::Free);
    assert_eq!(
        client
            .registration_details_page(None, None)
            .await
            .unwrap_err(),
        GraphError::NotLicensed
    );

    let phone = client
        .create_phone_method(&ada.id, "+47 91234567", PhoneType::Mobile)
        .await
        .unwrap();
    assert_eq!(phone.phone_number.as_deref(), Some("+47 91234567"));
    client
        .set_mfa_requirements(&ada.id, PerUserMfaState::Enforced)
        .await
        .unwrap();
    assert_eq!(
        client.get_mfa_requirements(&ada.id).await,
        Ok(PerUserMfaState::Enforced)
    );

    let mail = Mail {
        to: vec!["ada@contoso.example".into()],
        subject: "Set up MFA".into(),
        html: "<p>Click</p>".into(),
        headers: vec![("X-MFA-Token".into(), "tok-1".into())],
        ..Mail::default()
    };
    client
        .send_mail("mfa@contoso.example", &mail)
        .await
        .unwrap();
    let outbox = t.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        outbox[0].headers,
        vec![("X-MFA-Token".to_string(), "tok-1".to_string())]
    );
    assert!(!outbox[0].save_to_sent_items);
    assert_no_violations(&sim, false);
}

#[tokio::test]
async fn sharepoint_lists_end_to_end() {
    let Setup { sim, client, .. } = setup().await;
    let site = sim.tenant().add_site("mfa");
    let list = client
        .create_list(
            &site,
            "MFA Onboarding",
            vec![
                json!({"name": "TrackingToken", "text": {}, "indexed": true}),
                json!({"name": "InviteStatus", "text": {}}),
            ],
        )
        .await
        .unwrap();
    let columns = client.list_columns(&site, &list.id).await.unwrap();
    assert!(columns
        .iter()
        .any(|c| c.name == "TrackingToken" && c.indexed));
    let fields = |pairs: &[(&str, &str)]| -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
    };
    let item = client
        .create_list_item(
            &site,
            &list.id,
            fields(&[
                ("Title", "ada"),
                ("TrackingToken", "o'k"),
                ("InviteStatus", "Pending"),
            ]),
        )
        .await
        .unwrap();
    let q = ItemQuery {
        select: vec!["Title".into(), "InviteStatus".into()],
        filter_eq: Some(("TrackingToken".into(), "o'k".into())),
        filter_range: None,
        top: Some(10),
    };
    let found: Vec<_> = client
        .list_items(&site, &list.id, &q)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found[0].value.len(), 1);
    assert_eq!(found[0].value[0].id, item.id);
    client
        .update_list_item(
            &site,
            &list.id,
            &item.id,
            fields(&[("InviteStatus", "Sent")]),
            item.etag.as_deref(),
        )
        .await
        .unwrap();
    let stale = client
        .update_list_item(
            &site,
            &list.id,
            &item.id,
            fields(&[("InviteStatus", "Clicked")]),
            item.etag.as_deref(),
        )
        .await;
    assert_eq!(stale, Err(GraphError::PreconditionFailed));
    let fresh = client
        .get_list_item(&site, &list.id, &item.id, &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fresh.fields["InviteStatus"], "Sent");
    let pages: Vec<_> = client
        .list_items_delta(&site, &list.id, None)
        .try_collect()
        .await
        .unwrap();
    assert!(pages.last().unwrap().delta_link.is_some());
    // Unindexed filters fail loudly rather than using the Prefer header.
    let unindexed = ItemQuery {
        filter_eq: Some(("InviteStatus".into(), "Sent".into())),
        filter_range: None,
        ..ItemQuery::default()
    };
    let err = client
        .list_items(&site, &list.id, &unindexed)
        .unwrap()
        .try_collect::<Vec<_>>()
        .await;
    assert!(matches!(err, Err(GraphError::BadRequest { .. })), "{err:?}");
    assert_no_violations(&sim, false);
}

#[tokio::test]
async fn a_mail_burst_is_paced_under_the_mailbox_limit() {
    // A stepped clock: time moves only when nothing is in flight, so the simulator sees each
    // request at the instant it was sent. (With a ManualClock, one task's sleep moves time for
    // requests still in flight, which the simulator then counts in the next minute.)
    let clock = Arc::new(SteppedClock::new(
        Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).single().unwrap(),
    ));
    let follow = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || follow.now())),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let shared: SharedClock = clock.clone();
    let vars = Vars::from_pairs([("MFA_GRAPH_BASE_URL", sim.base_url())]);
    let client = graph_client_with(&vars, shared, &sim_tokens(&sim), |_| {}).unwrap();
    let t = sim.tenant();
    t.add_mailbox("mfa@contoso.example").unwrap();
    let start = clock.now();
    let burst = tokio::spawn({
        let client = client.clone();
        async move {
            join_all((0..75).map(|i| {
                let client = client.clone();
                async move {
                    let mail = Mail {
                        to: vec![format!("person{i}@contoso.example")],
                        subject: "Set up MFA".into(),
                        html: "<p>x</p>".into(),
                        ..Mail::default()
                    };
                    client.send_mail("mfa@contoso.example", &mail).await
                }
            }))
            .await
        }
    });
    let probe = t.clone();
    let results = clock
        .drive_with(
            &client,
            move || probe.requests().len(),
            Duration::from_secs(1),
            burst,
        )
        .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(t.outbox().len(), 75, "nothing lost");
    // 30 messages a minute: the last 15 go out two minutes in, not earlier and not much later.
    let elapsed = clock.now() - start;
    assert!(elapsed >= chrono::Duration::seconds(120), "{elapsed}");
    assert!(elapsed <= chrono::Duration::seconds(125), "{elapsed}");
    // Paced below the limit: never refused, never sent while throttled.
    assert_no_violations(&sim, false);
    let stats = client.stats()[&mfa_core::graph::Category::mail("mfa@contoso.example")];
    assert_eq!((stats.requests, stats.throttled), (75, 0));
    assert!(stats.peak_in_flight <= 4);
}

/// `MFA_MAIL_FORMAT=mime`: the message reaches Exchange as base64 MIME with the plain text as
/// the HTML's alternative; headers cannot be injected through the subject or a header value.
#[tokio::test]
async fn mime_mail_carries_a_plain_text_alternative() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).single().unwrap());
    let follow = clock.clone();
    let sim = Simulator::start(SimConfig {
        clock: SimClock::from_fn(Arc::new(move || follow.now())),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let t = sim.tenant();
    t.add_mailbox("mfa@contoso.example").unwrap();
    let vars = Vars::from_pairs([
        ("MFA_GRAPH_BASE_URL", sim.base_url()),
        ("MFA_MAIL_FORMAT", "mime".into()),
    ]);
    let client = graph_client_with(&vars, Arc::new(clock), &sim_tokens(&sim), |_| {}).unwrap();
    let mail = Mail {
        to: vec!["ada@contoso.example".into(), "bo@contoso.example".into()],
        subject: "Sécurisez votre compte — étape 1\r\nBcc: evil@attacker.example".into(),
        html: "<p>Cliquez <a href=\"https://mfa.example/e/tok\">ici</a> – merci</p>".into(),
        text: Some("Cliquez ici : https://mfa.example/e/tok – merci".into()),
        headers: vec![("x-mfa-onboarding".into(), "invitation".into())],
        ..Mail::default()
    };
    client
        .send_mail("mfa@contoso.example", &mail)
        .await
        .unwrap();
    let outbox = t.outbox();
    assert_eq!(outbox.len(), 1);
    let m = &outbox[0];
    assert!(m.mime);
    assert_eq!(
        m.to.iter().map(|r| r.address.as_str()).collect::<Vec<_>>(),
        ["ada@contoso.example", "bo@contoso.example"]
    );
    assert!(m.bcc.is_empty(), "no header injected through the subject");
    assert_eq!(
        m.subject,
        "Sécurisez votre compte — étape 1  Bcc: evil@attacker.example"
    );
    assert_eq!(m.content_type, "HTML");
    assert_eq!(m.body, mail.html);
    assert_eq!(m.text_alternative.as_deref(), mail.text.as_deref());
    assert_eq!(
        m.headers,
        vec![("x-mfa-onboarding".to_string(), "invitation".to_string())]
    );
    assert!(
        m.save_to_sent_items,
        "Exchange keeps MIME sends in Sent Items"
    );

    // A header value that would start a new header is refused before anything is sent.
    let injected = Mail {
        headers: vec![(
            "x-mfa-onboarding".into(),
            "a\r\nBcc: evil@attacker.example".into(),
        )],
        ..mail.clone()
    };
    let err = client
        .send_mail("mfa@contoso.example", &injected)
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::InvalidArgument(_)), "{err:?}");
    // Text only: a single text/plain body.
    let plain = Mail {
        html: String::new(),
        ..mail.clone()
    };
    client
        .send_mail("mfa@contoso.example", &plain)
        .await
        .unwrap();
    let outbox = t.outbox();
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[1].content_type, "Text");
    assert_eq!(outbox[1].body, mail.text.clone().unwrap());
    assert_eq!(outbox[1].text_alternative, None);
    assert_no_violations(&sim, false);
}

/// The simulator refuses a MIME body that is not base64, as Exchange does.
#[tokio::test]
async fn mime_mail_that_is_not_base64_is_refused() {
    let s = setup().await;
    s.sim.tenant().add_mailbox("mfa@contoso.example").unwrap();
    let err = s
        .client
        .send(
            mfa_core::graph::GraphRequest::new(
                reqwest::Method::POST,
                "/v1.0/users/mfa@contoso.example/sendMail",
            )
            .text("From: x\r\nnot base64 at all!"),
        )
        .await
        .unwrap_err();
    match err {
        GraphError::BadRequest { code, .. } => {
            assert_eq!(code, "ErrorMimeContentInvalidBase64String")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.sim.tenant().outbox().is_empty());
}

#[tokio::test]
async fn directory_audits_page_by_filter_and_403_is_not_permitted() {
    let Setup { sim, client, .. } = setup().await;
    let t = sim.tenant();
    t.set_audit_delay(Duration::ZERO);
    let clock = sim.clock();
    let since = clock.now();
    for i in 0..5 {
        let upn = format!("u{i}@contoso.example");
        t.add_user(NewUser::upn(&upn)).unwrap();
        t.register_mfa(&upn, tenant_sim::MethodKind::SoftwareOath)
            .unwrap();
        clock.advance(Duration::from_secs(60));
    }
    let filter = mfa_core::graph::audit::registration_filter(since + chrono::Duration::minutes(1));
    let pages: Vec<_> = client
        .directory_audits(&filter, 2)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2, "4 events in pages of 2");
    let upns: Vec<String> = pages
        .iter()
        .flat_map(|p| &p.value)
        .flat_map(|e| e.target_users())
        .filter_map(|u| u.user_principal_name.clone())
        .collect();
    assert_eq!(
        upns,
        ["u4", "u3", "u2", "u1"].map(|u| format!("{u}@contoso.example"))
    );
    let stats = client.stats();
    assert!(
        stats
            .get(&mfa_core::graph::Category::Reports)
            .is_some_and(|s| s.requests >= 2),
        "audit reads go through the reports category: {stats:?}"
    );
    t.set_audit_log_readable(false);
    let err = client
        .directory_audits(&filter, 2)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(err, GraphError::NotPermitted { ref code, .. } if code == "Authorization_RequestDenied"),
        "{err:?}"
    );
}

#[tokio::test]
async fn pilot_group_lookup_transitive_members_and_phone_methods() {
    let Setup { sim, client, .. } = setup().await;
    let t = sim.tenant();
    let pilot = t.add_group("O'Brien's pilot");
    let nested = t.add_group("Pilot - IT");
    let deeper = t.add_group("Pilot - IT - Ops");
    t.nest_group(&pilot.id, &nested.id).unwrap();
    t.nest_group(&nested.id, &deeper.id).unwrap();
    t.nest_group(&deeper.id, &pilot.id).unwrap(); // a cycle is followed once
    let direct = t.add_user(NewUser::upn("direct@contoso.example")).unwrap();
    t.add_group_member(&pilot.id, &direct.id).unwrap();
    for i in 0..1004 {
        let u = t
            .add_user(NewUser::upn(format!("n{i}@contoso.example")))
            .unwrap();
        let g = if i % 2 == 0 { &nested.id } else { &deeper.id };
        t.add_group_member(g, &u.id).unwrap();
    }
    t.add_group_member(&deeper.id, &direct.id).unwrap(); // listed once
    t.add_user(NewUser::upn("outside@contoso.example")).unwrap();

    let found = client.find_groups_by_name("O'Brien's pilot").await.unwrap();
    assert_eq!(found.len(), 1, "quotes are escaped in the filter");
    assert_eq!(found[0].id, pilot.id);
    assert!(client.find_groups_by_name("nope").await.unwrap().is_empty());
    assert_eq!(
        client.get_group(&pilot.id).await.unwrap().map(|g| g.id),
        Some(pilot.id.clone())
    );
    assert_eq!(
        client
            .get_group("00000000-0000-0000-0000-000000000000")
            .await
            .unwrap(),
        None
    );
    t.clear_logs();
    let members = client.transitive_member_users(&pilot.id).await.unwrap();
    assert_eq!(
        members.len(),
        1005,
        "direct + both nesting levels, each once"
    );
    assert!(members
        .iter()
        .any(|m| m.user_principal_name.as_deref() == Some("direct@contoso.example")));
    assert!(!members
        .iter()
        .any(|m| m.user_principal_name.as_deref() == Some("outside@contoso.example")));
    let pages: Vec<_> = t
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("transitiveMembers/microsoft.graph.user"))
        .collect();
    assert_eq!(pages.len(), 2, "999 per page, then the next link");

    assert!(client
        .list_phone_methods(&direct.id)
        .await
        .unwrap()
        .is_empty());
    client
        .create_phone_method(&direct.id, "+47 91234567", PhoneType::Mobile)
        .await
        .unwrap();
    let phones = client.list_phone_methods(&direct.id).await.unwrap();
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].phone_number.as_deref(), Some("+47 91234567"));
    let again = client
        .create_phone_method(&direct.id, "+47 99999999", PhoneType::Mobile)
        .await
        .unwrap_err();
    assert!(
        matches!(again, GraphError::BadRequest { .. }),
        "one mobile per person: {again:?}"
    );
    assert_no_violations(&sim, false);
}

#[tokio::test]
async fn strength_of_every_kind_from_methods_and_from_the_report() {
    use mfa_core::domain::{MethodLabel, Strength};
    use mfa_core::graph::{labels_of_methods, strength_of_methods, CampaignState};
    use tenant_sim::{MethodKind as Sim, Passkey};

    let Setup { sim, client, .. } = setup().await;
    let t = sim.tenant();
    type Seed = fn(&tenant_sim::Tenant, &str);
    let people: Vec<(&str, Seed, Strength, &str)> = vec![
        ("nothing", |_, _| {}, Strength::None, ""),
        (
            "sms",
            |t, u| t.register_mfa(u, Sim::Phone).map(drop).unwrap(),
            Strength::PhoneOnly,
            "sms",
        ),
        (
            "email",
            |t, u| t.register_mfa(u, Sim::Email).map(drop).unwrap(),
            Strength::PhoneOnly,
            "email",
        ),
        (
            "sms-push",
            |t, u| {
                t.register_mfa(u, Sim::Phone).map(drop).unwrap();
                t.register_mfa(u, Sim::MicrosoftAuthenticator)
                    .map(drop)
                    .unwrap();
            },
            Strength::App,
            "authenticator-push,sms",
        ),
        (
            "hwoath",
            |t, u| t.register_mfa(u, Sim::HardwareOath).map(drop).unwrap(),
            Strength::App,
            "hardware-oath",
        ),
        (
            "key",
            |t, u| {
                t.register_passkey(u, Passkey::SecurityKey)
                    .map(drop)
                    .unwrap()
            },
            Strength::PhishingResistant,
            "passkey-device-bound",
        ),
        (
            "app-passkey",
            |t, u| {
                t.register_passkey(u, Passkey::Authenticator)
                    .map(drop)
                    .unwrap()
            },
            Strength::PhishingResistant,
            "passkey-authenticator",
        ),
        (
            "hello-passkey",
            |t, u| {
                t.register_passkey(u, Passkey::WindowsHello)
                    .map(drop)
                    .unwrap()
            },
            Strength::PhishingResistant,
            "passkey-windows-hello",
        ),
        (
            "sms-synced",
            |t, u| {
                t.register_mfa(u, Sim::Phone).map(drop).unwrap();
                t.register_passkey(u, Passkey::Synced).map(drop).unwrap();
            },
            Strength::PhishingResistant,
            "passkey-synced,sms",
        ),
        (
            "whfb",
            |t, u| {
                t.register_mfa(u, Sim::WindowsHelloForBusiness)
                    .map(drop)
                    .unwrap()
            },
            Strength::PhishingResistant,
            "windows-hello",
        ),
        (
            "mac",
            |t, u| {
                t.register_mfa(u, Sim::PlatformCredential)
                    .map(drop)
                    .unwrap()
            },
            Strength::PhishingResistant,
            "platform-credential",
        ),
    ];
    let mut ids = Vec::new();
    for (name, seed, _, _) in &people {
        let upn = format!("{name}@contoso.example");
        ids.push(t.add_user(NewUser::upn(&upn)).unwrap().id);
        seed(&t, &upn);
    }
    // A certificate is read from the user's methods; the report does not list it.
    let cert = t.add_user(NewUser::upn("cert@contoso.example")).unwrap();
    t.register_mfa(&cert.id, Sim::X509Certificate).unwrap();

    let methods = client.list_methods_batch(&ids).await;
    for ((name, _, strength, labels), got) in people.iter().zip(&methods) {
        let got = got.as_ref().unwrap();
        assert_eq!(strength_of_methods(got), *strength, "{name} from methods");
        assert_eq!(
            MethodLabel::join(&labels_of_methods(got)),
            *labels,
            "{name} from methods"
        );
    }
    let cert_methods = client.list_methods(&cert.id).await.unwrap();
    assert_eq!(labels_of_methods(&cert_methods), [MethodLabel::Certificate]);

    // The report: only the Prefer header makes passkeys visible, and the client sends it.
    let rows: Vec<_> = client
        .registration_details(None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.value)
        .collect();
    for (name, _, strength, labels) in &people {
        let upn = format!("{name}@contoso.example");
        let row = rows
            .iter()
            .find(|r| r.user_principal_name.as_deref() == Some(upn.as_str()))
            .unwrap_or_else(|| panic!("{name} in the report"));
        assert_eq!(row.strength(), *strength, "{name} from the report: {row:?}");
        assert_eq!(
            MethodLabel::join(&row.method_labels()),
            *labels,
            "{name} from the report"
        );
        assert!(
            !row.methods_registered
                .iter()
                .any(|m| m == "unknownFutureValue"),
            "{name}: {row:?}"
        );
    }

    let campaign = client.registration_campaign().await.unwrap();
    assert_eq!(campaign.state, CampaignState::Default);
    let mut set = tenant_sim::RegistrationCampaign {
        state: "enabled".into(),
        snooze_duration_in_days: 0,
        ..Default::default()
    };
    set.exclude_targets.push(tenant_sim::CampaignTarget {
        id: ids[0].clone(),
        target_type: "user".into(),
        targeted_authentication_method: None,
    });
    t.set_registration_campaign(set).unwrap();
    let campaign = client.registration_campaign().await.unwrap();
    assert_eq!(campaign.state, CampaignState::Enabled);
    assert_eq!(campaign.snooze_duration_in_days, Some(0));
    assert_eq!(campaign.exclude_targets[0].id, ids[0]);
    assert_no_violations(&sim, false);
}

#[tokio::test]
async fn users_are_found_fifteen_a_request_with_managers_and_added_twenty_a_patch() {
    let Setup { sim, client, .. } = setup().await;
    let t = sim.tenant();
    let boss = t.add_user(NewUser::upn("boss@contoso.example")).unwrap();
    let mut keys = Vec::new();
    let mut ids = Vec::new();
    for i in 0..40 {
        let mut u = NewUser::upn(format!("p{i}@contoso.example"));
        if i % 2 == 0 {
            u.manager = Some(boss.id.clone());
        }
        let u = t.add_user(u).unwrap();
        ids.push(u.id.clone());
        // Half by object id, half by UPN (in another case), as the passes hold them.
        keys.push(if i % 2 == 0 {
            u.id.clone()
        } else {
            format!("P{i}@Contoso.Example")
        });
    }
    let quoted = t.add_user(NewUser::upn("o'neil@contoso.example")).unwrap();
    keys.push("o'neil@contoso.example".into());
    keys.push("ghost@contoso.example".into());
    let before = t.requests().len();
    let found = client.find_users(&keys, true).await;
    assert_eq!(found.len(), keys.len());
    for (i, id) in ids.iter().enumerate() {
        let user = found[i].as_ref().unwrap().as_ref().expect("found");
        assert_eq!(&user.id, id);
        let manager = user.manager.as_ref().map(|m| m.id.clone());
        assert_eq!(manager, (i % 2 == 0).then(|| boss.id.clone()), "{i}");
    }
    assert_eq!(found[40].as_ref().unwrap().as_ref().unwrap().id, quoted.id);
    assert_eq!(found[41], Ok(None));
    let lists: Vec<_> = t.requests()[before..]
        .iter()
        .filter(|r| r.path == "/v1.0/users")
        .cloned()
        .collect();
    // 20 ids in 2 requests, 22 UPNs in 2: 4 requests for 42 people, none refused.
    assert_eq!(lists.len(), 4, "{lists:#?}");
    assert!(lists.iter().all(|r| r.status == 200 && r.in_batch));
    let managers = client.find_managers(&ids[..4]).await;
    assert_eq!(managers[0].as_ref().unwrap().as_ref().unwrap().id, boss.id);
    assert_eq!(managers[1], Ok(None));

    // More than 15 values in one `in` is refused, as Graph does.
    let many: Vec<String> = (0..16).map(|i| format!("'x{i}@contoso.example'")).collect();
    let refused = client
        .send(
            mfa_core::graph::GraphRequest::get(format!(
                "/v1.0/users?$filter=userPrincipalName in ({})",
                many.join(",")
            ))
            .category(mfa_core::graph::Category::Identity),
        )
        .await;
    assert!(
        matches!(refused, Err(GraphError::BadRequest { .. })),
        "{refused:?}"
    );

    // 25 people, one already a member: the first PATCH of 20 is refused whole and redone one
    // by one; the second PATCH of 5 takes.
    let group = t.add_group("CA MFA rollout");
    t.add_group_member(&group.id, &ids[3]).unwrap();
    let before = t.requests().len();
    let added = client.add_group_members_bound(&group.id, &ids[..25]).await;
    assert_eq!(added.len(), 25);
    assert_eq!(added[3], Ok(AddMember::AlreadyMember));
    assert!(added.iter().all(Result::is_ok));
    assert_eq!(t.group_members(&group.id).unwrap().len(), 25);
    let patches = t.requests()[before..]
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(patches, vec![400, 204]);
    assert_no_violations(&sim, false);
}
