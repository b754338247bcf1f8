//! The Bicep keeps the Flex Consumption shape and the secure defaults; azure.yaml points azd at
//! what `scripts/package` produces.

use crate::helpers::{bicep_app_settings, bicep_sources, read};

/// All Bicep text without `//` comments, so a commented-out line cannot satisfy a check.
fn bicep_code() -> String {
    bicep_sources()
        .into_iter()
        .flat_map(|(_, t)| {
            t.lines()
                .map(|l| l.split("//").next().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_function_app_is_flex_consumption_with_the_custom_runtime() {
    let code = bicep_code();
    for needle in [
        "'Microsoft.Web/serverfarms@",
        "name: 'FC1'",
        "tier: 'FlexConsumption'",
        "functionAppConfig: {",
        "name: 'custom'",
        "type: 'blobContainer'",
        "kind: 'functionapp,linux'",
    ] {
        assert!(code.contains(needle), "infra/ lacks `{needle}`");
    }
    let settings = bicep_app_settings();
    for key in [
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
    ] {
        assert!(
            code.contains(&format!("{key}:")) || settings.contains_key(key),
            "app setting {key} missing"
        );
    }
    // Flex Consumption rejects these: functionAppConfig.runtime replaces them.
    for key in ["FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"] {
        assert!(
            !settings.contains_key(key),
            "{key} must not be set on Flex Consumption"
        );
    }
}

#[test]
fn secure_defaults_are_in_the_templates() {
    let code = bicep_code();
    for needle in [
        "httpsOnly: true",
        "minTlsVersion: '1.2'",
        "ftpsState: 'Disabled'",
        "minimumTlsVersion: 'TLS1_2'",
        "allowBlobPublicAccess: false",
        "allowSharedKeyAccess: false",
        "supportsHttpsTrafficOnly: true",
        "'Microsoft.Web/sites/basicPublishingCredentialsPolicies@",
        "allowedOrigins: [",
    ] {
        assert!(code.contains(needle), "infra/ lacks `{needle}`");
    }
    for bad in [
        "allowBlobPublicAccess: true",
        "allowSharedKeyAccess: true",
        "httpsOnly: false",
        "'*'",
        "listKeys(",
    ] {
        assert!(!code.contains(bad), "infra/ contains `{bad}`");
    }
    // CORS allows exactly the portal origin.
    let cors = code
        .split("allowedOrigins: [")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .unwrap_or("");
    let origins: Vec<_> = cors.split_whitespace().collect();
    assert_eq!(
        origins,
        ["portalOrigin"],
        "CORS must allow only the portal origin"
    );
}

#[test]
fn graph_permissions_are_exactly_the_documented_ones() {
    let module = read("infra/modules/graph-permissions.bicep");
    let script = read("infra/grant-permissions.sh");
    let doc = read("docs/deployment.md");
    for role in [
        "User.Read.All",
        "GroupMember.ReadWrite.All",
        "UserAuthenticationMethod.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
        "AuditLog.Read.All",
        "Sites.Selected",
        "Policy.ReadWrite.AuthenticationMethod",
        "Policy.Read.All",
    ] {
        assert!(module.contains(&format!("'{role}'")), "Bicep lacks {role}");
        assert!(script.contains(role), "grant-permissions.sh lacks {role}");
        assert!(
            doc.contains(&format!("`{role}`")),
            "docs/deployment.md does not justify {role}"
        );
    }
    for broad in [
        "Directory.Read",
        "Directory.ReadWrite",
        "Sites.ReadWrite.All",
        "Sites.FullControl.All",
        "User.ReadWrite.All",
        "Group.ReadWrite.All",
    ] {
        assert!(
            !module.contains(broad),
            "Bicep grants the broad permission {broad}"
        );
        assert!(
            !script.contains(broad),
            "grant-permissions.sh grants the broad permission {broad}"
        );
    }
    for cmd in [
        "New-ServicePrincipal",
        "New-ManagementScope",
        "New-ManagementRoleAssignment",
        "/permissions",
    ] {
        assert!(doc.contains(cmd), "docs/deployment.md does not show {cmd}");
    }
}

#[test]
fn azure_yaml_deploys_what_the_packaging_script_builds() {
    let yaml = read("azure.yaml");
    for needle in [
        "handler:",
        "host: function",
        "language: custom",
        "dist: dist/functionapp",
        "scripts/package",
        "path: infra",
        "infra/post-provision.sh",
    ] {
        assert!(yaml.contains(needle), "azure.yaml lacks `{needle}`");
    }
    let package = read("scripts/package");
    assert!(
        package.contains("app=\"$out/functionapp\"") && package.contains("out=\"dist\""),
        "scripts/package no longer writes dist/functionapp, which azure.yaml deploys"
    );
    // The function app carries the tag azd finds the `handler` service by.
    assert!(read("infra/modules/functionapp.bicep").contains("'azd-service-name': 'handler'"));
}
