//! The authentication-methods registration report (reports category): about one request per
//! 999 people, for tenants with Entra ID P1/P2. Without the licence Graph answers 403
//! `Authentication_RequestFromNonPremiumTenantOrB2CTenant`, surfaced as
//! [`GraphError::NotLicensed`](super::GraphError::NotLicensed) so the caller can fall back to
//! per-user method reads ([`GraphClient::list_methods_batch`]).
//!
//! Every request carries `Prefer: include-unknown-enum-members` ([`PREFER_UNKNOWN_ENUM_MEMBERS`]):
//! the passkey-era `methodsRegistered` values (`passKeyDeviceBound…`, `passKeySynced`,
//! `macOsSecureEnclaveKey`) are members of an evolvable enumeration that Graph replaces with
//! `unknownFutureValue` unless the client opts in (Graph's `usageAuthMethod` enumeration,
//! <https://learn.microsoft.com/graph/api/resources/usageauthmethod?view=graph-rest-beta>, and
//! "Handling future members in evolvable enumerations",
//! <https://learn.microsoft.com/graph/best-practices-concept>). Without them a person with only a
//! passkey would look like a person with nothing; see [`super::strength`].

use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};

use super::client::GraphClient;
use super::error::GraphResult;
use super::request::{odata_string, query, GraphRequest, Page};
use super::throttle::Category;

/// The `Prefer` header value that makes Graph return evolvable-enum members added after
/// `unknownFutureValue` instead of the sentinel.
pub const PREFER_UNKNOWN_ENUM_MEMBERS: &str = "include-unknown-enum-members";

/// `$filter` for people without MFA.
pub const FILTER_NOT_MFA_REGISTERED: &str = "isMfaRegistered eq false";

/// `$filter` for one person by UPN (quotes escaped).
pub fn filter_upn(upn: &str) -> String {
    format!("userPrincipalName eq {}", odata_string(upn))
}

/// One row of `userRegistrationDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationDetails {
    /// User object id.
    pub id: String,
    /// UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub user_display_name: Option<String>,
    /// Registered a method that satisfies MFA.
    #[serde(default)]
    pub is_mfa_registered: bool,
    /// Registered and allowed to use MFA.
    #[serde(default)]
    pub is_mfa_capable: bool,
    /// Registered a passwordless method (FIDO2, Windows Hello for Business, Authenticator
    /// passwordless) that the policy allows.
    #[serde(default)]
    pub is_passwordless_capable: bool,
    /// `member` or `guest`.
    #[serde(default)]
    pub user_type: Option<String>,
    /// Registered method names (`mobilePhone`, `microsoftAuthenticatorPush`, `passKeySynced`,
    /// …); [`RegistrationDetails::strength`] and [`RegistrationDetails::method_labels`] read them.
    #[serde(default)]
    pub methods_registered: Vec<String>,
    /// When the row was last refreshed (the report lags by up to a few hours).
    #[serde(default)]
    pub last_updated_date_time: Option<DateTime<Utc>>,
}

fn first_request(filter: Option<&str>) -> GraphRequest {
    let q = match filter {
        Some(f) => query(&[("$filter", f)]),
        None => String::new(),
    };
    GraphRequest::get(format!(
        "/v1.0/reports/authenticationMethods/userRegistrationDetails{q}"
    ))
    .header("Prefer", PREFER_UNKNOWN_ENUM_MEMBERS)
    .category(Category::Reports)
}

impl GraphClient {
    /// One page of the report: the first when `next_link` is `None`, else the page it names.
    pub async fn registration_details_page(
        &self,
        filter: Option<&str>,
        next_link: Option<&str>,
    ) -> GraphResult<Page<RegistrationDetails>> {
        let mut req = first_request(filter);
        if let Some(link) = next_link {
            req.path = link.to_string();
        }
        self.send_json(req).await
    }

    /// Every page of the report as a stream, following `@odata.nextLink`.
    pub fn registration_details(
        &self,
        filter: Option<&str>,
    ) -> impl Stream<Item = GraphResult<Page<RegistrationDetails>>> + Send + 'static {
        self.pages(first_request(filter))
    }
}
