//! Passkeys of every kind, hardware tokens and certificates: seeded through the control API and
//! the handle, read back as `/authentication/methods` serves them.

use crate::helpers::*;
use serde_json::{json, Value};
use tenant_sim::{aaguid, MethodKind, NewUser, Passkey};

fn methods_of(r: &Resp) -> Vec<Value> {
    r.body["value"].as_array().cloned().unwrap_or_default()
}

fn of_type<'a>(methods: &'a [Value], odata_type: &str) -> Vec<&'a Value> {
    methods
        .iter()
        .filter(|m| {
            m["@odata.type"] == format!("#microsoft.graph.{odata_type}AuthenticationMethod")
        })
        .collect()
}

#[tokio::test]
async fn every_kind_of_passkey_is_listed_with_its_type_and_authenticator() {
    let t = spawn_default().await;
    let u = t
        .tenant()
        .add_user(NewUser::upn("a@contoso.example"))
        .unwrap();
    for p in Passkey::ALL {
        t.tenant().register_passkey(&u.id, p).unwrap();
    }
    t.tenant()
        .register_mfa(&u.id, MethodKind::WindowsHelloForBusiness)
        .unwrap();
    t.tenant()
        .register_mfa(&u.id, MethodKind::PlatformCredential)
        .unwrap();
    t.tenant()
        .register_mfa(&u.id, MethodKind::X509Certificate)
        .unwrap();
    t.tenant()
        .register_mfa(&u.id, MethodKind::HardwareOath)
        .unwrap();

    let r = t
        .get(&format!("/v1.0/users/{}/authentication/methods", u.id))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = methods_of(&r);
    let fido: Vec<(String, String)> = of_type(&all, "fido2")
        .iter()
        .map(|m| {
            assert!(
                m["id"].is_string() && m["createdDateTime"].is_string(),
                "{m}"
            );
            (
                m["passkeyType"].as_str().unwrap_or_default().to_string(),
                m["aaGuid"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let row = |t: &str, g: &str| (t.to_string(), g.to_string());
    assert_eq!(
        fido,
        [
            row("deviceBound", aaguid::YUBIKEY_5_NFC),
            row("deviceBound", aaguid::AUTHENTICATOR_IOS),
            row("deviceBound", aaguid::WINDOWS_HELLO),
            row("synced", aaguid::ICLOUD_KEYCHAIN),
        ]
    );
    for kind in [
        "windowsHelloForBusiness",
        "platformCredential",
        "x509Certificate",
        "hardwareOath",
        "password",
    ] {
        assert_eq!(of_type(&all, kind).len(), 1, "{kind} in {all:?}");
    }
}

#[tokio::test]
async fn the_control_api_registers_a_passkey_with_its_details() {
    let t = spawn_default().await;
    let base = t.sim.base_url();
    t.tenant()
        .add_user(NewUser::upn("x@contoso.example"))
        .unwrap();
    let register = |body: Value| {
        t.send(
            t.http
                .post(format!("{base}/_sim/users/x@contoso.example/register-mfa"))
                .json(&body),
        )
    };
    let r = register(json!({"method": "fido2", "passkeyType": "synced", "aaGuid": aaguid::GOOGLE_PASSWORD_MANAGER})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["passkeyType"], "synced");
    assert_eq!(r.body["aaGuid"], aaguid::GOOGLE_PASSWORD_MANAGER);
    let r = register(json!({"method": "fido2"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (r.body["passkeyType"].as_str(), r.body["aaGuid"].as_str()),
        (Some("deviceBound"), Some(aaguid::YUBIKEY_5_NFC)),
        "a FIDO2 method without details is a security key"
    );
    for (body, why) in [
        (
            json!({"method": "fido2", "aaGuid": "not-a-guid"}),
            "an AAGUID must be a GUID",
        ),
        (
            json!({"method": "fido2", "passkeyType": "cloud"}),
            "passkeyType is deviceBound or synced",
        ),
        (
            json!({"method": "microsoftAuthenticator", "passkeyType": "synced"}),
            "passkey details apply to FIDO2 methods only",
        ),
    ] {
        let r = register(body).await;
        assert_eq!(r.status, 400, "{why}: {}", r.body);
    }
    let listed = t
        .get("/v1.0/users/x@contoso.example/authentication/methods")
        .await;
    let fido = methods_of(&listed);
    assert_eq!(
        of_type(&fido, "fido2").len(),
        2,
        "refused ones are not stored"
    );
    assert_eq!(
        of_type(&fido, "fido2")[0]["displayName"],
        "Google Password Manager"
    );
}
