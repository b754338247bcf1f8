//! Users, managers and group membership (identity category).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::batch::{BatchRequest, BatchResponse};
use super::client::GraphClient;
use super::error::{GraphError, GraphResult};
use super::request::{odata_string, query, segment, GraphRequest, Page};
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
    /// The manager, when read with `$expand=manager` ([`GraphClient::find_users`]); absent
    /// when the user has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Box<User>>,
}

/// Values one `$filter=… in (…)` may hold: Graph's default limit for the `in` operator.
pub const IN_LIMIT: usize = 15;

/// The manager properties read with `$expand=manager`.
const MANAGER_SELECT: &str = "id,displayName,userPrincipalName,mail";

/// Whether `key` is an object id (a GUID) rather than a UPN.
fn is_object_id(key: &str) -> bool {
    uuid::Uuid::parse_str(key).is_ok()
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

    /// Many users by object id or UPN, [`IN_LIMIT`] per request (`GET /users?$filter=id in (…)`
    /// or `userPrincipalName in (…)`), those requests 20 per `$batch`: one request per 15
    /// people instead of one each. With `manager`, each user's manager comes in the same answer
    /// (`$expand=manager`, [`User::manager`]). One result per input, in order; `Ok(None)` for
    /// nobody by that key; a failed request fails the keys it carried.
    pub async fn find_users(
        &self,
        keys: &[String],
        manager: bool,
    ) -> Vec<GraphResult<Option<User>>> {
        // Object ids and UPNs go in separate requests (one property per filter).
        let (ids, upns): (Vec<usize>, Vec<usize>) =
            (0..keys.len()).partition(|&i| is_object_id(&keys[i]));
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (part, _) in [(ids, "id"), (upns, "userPrincipalName")] {
            groups.extend(part.chunks(IN_LIMIT).map(<[usize]>::to_vec));
        }
        let reqs = groups
            .iter()
            .map(|group| {
                let property = if is_object_id(&keys[group[0]]) {
                    "id"
                } else {
                    "userPrincipalName"
                };
                let values: Vec<String> = group.iter().map(|&i| odata_string(&keys[i])).collect();
                let filter = format!("{property} in ({})", values.join(","));
                let expand = format!("manager($select={MANAGER_SELECT})");
                let mut params = vec![("$filter", filter.as_str()), ("$select", USER_SELECT)];
                if manager {
                    params.push(("$expand", expand.as_str()));
                }
                BatchRequest::get(format!("/users{}", query(&params)))
            })
            .collect();
        let mut out: Vec<Option<GraphResult<Option<User>>>> = vec![None; keys.len()];
        for (group, answer) in groups.iter().zip(self.batch(reqs).await) {
            match answer.and_then(|b| b.json::<Page<User>>()) {
                Ok(page) => {
                    for &i in group {
                        let key = &keys[i];
                        let found = page.value.iter().find(|u| {
                            u.id.eq_ignore_ascii_case(key)
                                || u.user_principal_name
                                    .as_deref()
                                    .is_some_and(|n| n.eq_ignore_ascii_case(key))
                        });
                        out[i] = Some(Ok(found.cloned()));
                    }
                }
                Err(e) => {
                    for &i in group {
                        out[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        out.into_iter().map(|r| r.unwrap_or(Ok(None))).collect()
    }

    /// The managers of many users by object id ([`GraphClient::find_users`] with
    /// `$expand=manager`): one result per input, `Ok(None)` when the user has no manager or is
    /// gone.
    pub async fn find_managers(&self, user_ids: &[String]) -> Vec<GraphResult<Option<User>>> {
        self.find_users(user_ids, true)
            .await
            .into_iter()
            .map(|r| r.map(|u| u.and_then(|u| u.manager.map(|m| *m))))
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

    /// Adds many users to `group_id`, 20 per `PATCH /groups/{g}` with `members@odata.bind`: one
    /// request per 20 people. That `PATCH` is all-or-nothing (one existing member refuses it
    /// whole), so a refused or failed one is redone person by person
    /// ([`GraphClient::add_group_members`]), where "already a member" is success; any other
    /// failure fails the chunk's people. One result per input, in order.
    pub async fn add_group_members_bound(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Vec<GraphResult<AddMember>> {
        let mut out = Vec::with_capacity(user_ids.len());
        for chunk in user_ids.chunks(super::batch::MAX_BATCH) {
            let binds: Vec<String> = chunk
                .iter()
                .map(|u| {
                    format!(
                        "https://graph.microsoft.com/v1.0/directoryObjects/{}",
                        segment(u)
                    )
                })
                .collect();
            let req = GraphRequest::patch(
                format!("/v1.0/groups/{}", segment(group_id)),
                json!({ "members@odata.bind": binds }),
            )
            .category(Category::Identity)
            // Safe to resend: a resent PATCH that already took is refused whole, then redone
            // one by one, where "already a member" is success.
            .idempotent(true);
            match self.send(req).await {
                Ok(_) => out.extend(chunk.iter().map(|_| Ok(AddMember::Added))),
                Err(e @ GraphError::BadRequest { .. }) => {
                    tracing::debug!(error = %e, people = chunk.len(),
                        "group PATCH refused; adding one by one");
                    out.extend(self.add_group_members(group_id, chunk).await);
                }
                Err(e) => out.extend(chunk.iter().map(|_| Err(e.clone()))),
            }
        }
        out
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
