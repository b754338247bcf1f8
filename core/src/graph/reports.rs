//! The authentication-methods registration report (reports category): about one request per
//! 999 people, for tenants with Entra ID P1/P2. Without the licence Graph answers 403
//! `Authentication_RequestFromNonPremiumTenantOrB2CTenant`, surfaced as
//! [`GraphError::NotLicensed`](super::GraphError::NotLicensed) so the caller can fall back to
//! per-user method reads ([`GraphClient::list_methods_batch`]).

use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};

use super::client::GraphClient;
use super::error::GraphResult;
use super::request::{odata_string, query, GraphRequest, Page};
use super::throttle::Category;

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
    /// Registered method names (`mobilePhone`, `microsoftAuthenticatorPush`, …).
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
