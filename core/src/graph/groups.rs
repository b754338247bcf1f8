//! Group lookup and transitive membership (identity category), for the pilot scope: a group
//! named by id or display name whose members, direct or through nested groups, are the only
//! people the worker's passes touch.

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::client::GraphClient;
use super::error::GraphResult;
use super::request::{odata_string, query, segment, GraphRequest, Page};
use super::throttle::Category;
use super::users::not_found_is_none;

/// A directory group (`id`, `displayName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Object id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A user member of a group (`id`, `userPrincipalName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberUser {
    /// Object id.
    pub id: String,
    /// UPN.
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

/// Largest page Graph serves for membership lists.
pub const MEMBERS_PAGE: &str = "999";

impl GraphClient {
    /// A group by object id; `Ok(None)` when there is none.
    pub async fn get_group(&self, group_id: &str) -> GraphResult<Option<Group>> {
        let req = GraphRequest::get(format!(
            "/v1.0/groups/{}{}",
            segment(group_id),
            query(&[("$select", "id,displayName")])
        ))
        .category(Category::Identity);
        not_found_is_none(self.send_json(req).await)
    }

    /// Groups whose display name is exactly `name` (`$filter=displayName eq '…'`). Display
    /// names are not unique in Entra ID, so the caller decides what several matches mean.
    pub async fn find_groups_by_name(&self, name: &str) -> GraphResult<Vec<Group>> {
        let filter = format!("displayName eq {}", odata_string(name));
        let req = GraphRequest::get(format!(
            "/v1.0/groups{}",
            query(&[("$filter", &filter), ("$select", "id,displayName")])
        ))
        .category(Category::Identity);
        let page: Page<Group> = self.send_json(req).await?;
        Ok(page.value)
    }

    /// Every user in `group_id`, directly or through nested groups
    /// (`/groups/{id}/transitiveMembers/microsoft.graph.user`), following `@odata.nextLink`.
    pub async fn transitive_member_users(&self, group_id: &str) -> GraphResult<Vec<MemberUser>> {
        let first = GraphRequest::get(format!(
            "/v1.0/groups/{}/transitiveMembers/microsoft.graph.user{}",
            segment(group_id),
            query(&[("$select", "id,userPrincipalName"), ("$top", MEMBERS_PAGE)])
        ))
        .category(Category::Identity);
        self.pages::<MemberUser>(first)
            .map_ok(|p| futures::stream::iter(p.value.into_iter().map(Ok)))
            .try_flatten()
            .try_collect()
            .await
    }

    /// Object ids of the disabled accounts (`accountEnabled eq false`), all pages.
    pub async fn disabled_user_ids(&self) -> GraphResult<std::collections::HashSet<String>> {
        let first = GraphRequest::get(format!(
            "/v1.0/users{}",
            query(&[
                ("$filter", "accountEnabled eq false"),
                ("$select", "id,userPrincipalName"),
                ("$top", MEMBERS_PAGE)
            ])
        ))
        .category(Category::Identity);
        self.pages::<MemberUser>(first)
            .map_ok(|p| futures::stream::iter(p.value.into_iter().map(|u| Ok(u.id))))
            .try_flatten()
            .try_collect()
            .await
    }
}
