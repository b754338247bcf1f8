//! Users, managers and group membership (identity category).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::batch::{BatchRequest, BatchResponse};
use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::{query, segment, GraphRequest};
use super::throttle::Category;

/// The user properties the product reads.
pub const USER_SELECT: &str =
    "id,displayName,userPrincipalName,mail,accountEnabled,mobilePhone,department,jobTitle";

/// A directory user (the [`USER_SELECT`] properties).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Object id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// User principal name.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Primary SMTP address.
    #[serde(default)]
    pub mail: Option<String>,
    /// Whether sign-in is allowed.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// Mobile phone from the directory.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// `Member` or `Guest` (read only where asked for).
    #[serde(default)]
    pub user_type: Option<String>,
}

/// Outcome of adding a user to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMember {
    /// Graph added the member (204).
    Added,
    /// The user was already a member (400 `Request_BadRequest` "…already exist…").
    AlreadyMember,
}

fn user_path(id_or_upn: &str) -> String {
    format!(
        "/users/{}{}",
        segment(id_or_upn),
        query(&[("$select", USER_SELECT)])
    )
}

fn member_ref_body(user_id: &str) -> serde_json::Value {
    json!({
        "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", segment(user_id))
    })
}

/// Whether an error is Graph's "already a member" answer: 400, code `Request_BadRequest`, and a
/// message saying the reference already exists.
pub fn is_already_member(err: &GraphError) -> bool {
    matches!(err, GraphError::BadRequest { code, message }
        if code == "Request_BadRequest" && message.to_ascii_lowercase().contains("already exist"))
}

pub(crate) fn not_found_is_none<T>(r: GraphResult<T>) -> GraphResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(GraphError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl GraphClient {
    /// A user by object id or UPN; `Ok(None)` when there is no such user.
    pub async fn get_user(&self, id_or_upn: &str) -> GraphResult<Option<User>> {
        let req = GraphRequest::get(format!("/v1.0{}", user_path(id_or_upn)))
            .category(Category::Identity);
        not_found_is_none(self.send_json(req).await)
    }

    /// Every user in the directory (id, UPN, `accountEnabled`, `userType`), all pages of 999.
    pub async fn all_users(&self) -> GraphResult<Vec<User>> {
        use futures::TryStreamExt;
        let first = GraphRequest::get(format!(
            "/v1.0/users{}",
            query(&[
                ("$select", "id,userPrincipalName,accountEnabled,userType"),
                ("$top", "999")
            ])
        ))
        .category(Category::Identity);
        self.pages::<User>(first)
            .map_ok(|p| futures::stream::iter(p.value.into_iter().map(Ok)))
            .try_flatten()
            .try_collect()
            .await
    }

    /// Many users through `$batch`, one result per input in order (`Ok(None)` for unknown).
    pub async fn get_users(&self, ids_or_upns: &[String]) -> Vec<GraphResult<Option<User>>> {
        let reqs = ids_or_upns
            .iter()
            .map(|u| BatchRequest::get(user_path(u)))
            .collect();
        self.batch(reqs)
            .await
            .into_iter()
            .map(|r| not_found_is_none(r.and_then(|b: BatchResponse| b.json())))
            .collect()
    }

    /// The user's manager; `Ok(None)` when none is set (404).
    pub async fn get_manager(&self, user_id: &str) -> GraphResult<Option<User>> {
        let req = GraphRequest::get(format!(
            "/v1.0/users/{}/manager{}",
            segment(user_id),
            query(&[("$select", USER_SELECT)])
        ))
        .category(Category::Identity);
        not_found_is_none(self.send_json(req).await)
    }

    /// Adds `user_id` to `group_id` (`POST /groups/{g}/members/$ref`); an existing membership is
    /// success ([`AddMember::AlreadyMember`]). Safe to resend, so it is retried after timeouts.
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> GraphResult<AddMember> {
        let req = GraphRequest::post(
            format!("/v1.0/groups/{}/members/$ref", segment(group_id)),
            member_ref_body(user_id),
        )
        .category(Category::Identity)
        .idempotent(true);
        match self.send(req).await {
            Ok(_) => Ok(AddMember::Added),
            Err(e) if is_already_member(&e) => Ok(AddMember::AlreadyMember),
            Err(e) => Err(e),
        }
    }

    /// Adds many users to `group_id` through `$batch`, one result per input in order.
    pub async fn add_group_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Vec<GraphResult<AddMember>> {
        let url = format!("/groups/{}/members/$ref", segment(group_id));
        let reqs = user_ids
            .iter()
            .map(|u| {
                BatchRequest::with_body(reqwest::Method::POST, url.clone(), member_ref_body(u))
            })
            .collect();
        self.batch(reqs)
            .await
            .into_iter()
            .map(|r| match r {
                Ok(_) => Ok(AddMember::Added),
                Err(e) if is_already_member(&e) => Ok(AddMember::AlreadyMember),
                Err(e) => Err(e),
            })
            .collect()
    }
}
