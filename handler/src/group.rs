//! The Conditional Access group seam: enrol adds people who click through [`GroupMembership`].
//! Production wires the Graph client; tests use a fake.

use std::sync::Arc;

use async_trait::async_trait;
use mfa_core::domain::{ObjectId, Upn};

/// Why adding someone to the group failed.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The group feature is off (`MFA_GROUP_ID` missing or wrong, or no Graph credentials).
    #[error("adding people to the group is not configured")]
    NotConfigured,
    /// The directory has no such user.
    #[error("the user was not found in the directory")]
    UserNotFound,
    /// Graph failed (throttling, outage, permissions).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Makes a person a member of the Conditional Access group, idempotently.
#[async_trait]
pub trait GroupMembership: Send + Sync {
    /// Ensures `upn` (object id if already known) is in the group; returns their object id.
    /// Already being a member is success.
    async fn ensure_member(
        &self,
        upn: &Upn,
        object_id: Option<&ObjectId>,
    ) -> Result<ObjectId, GroupError>;
}

/// Shared handle to the group seam.
pub type SharedGroup = Arc<dyn GroupMembership>;

/// Used when the group feature is off: every call answers [`GroupError::NotConfigured`].
#[derive(Debug, Default, Clone, Copy)]
pub struct NoGroup;

#[async_trait]
impl GroupMembership for NoGroup {
    async fn ensure_member(
        &self,
        _upn: &Upn,
        _object_id: Option<&ObjectId>,
    ) -> Result<ObjectId, GroupError> {
        Err(GroupError::NotConfigured)
    }
}

/// Production membership through Microsoft Graph: resolves the person when their object id is
/// not known yet, then `POST /groups/{id}/members/$ref` (already a member counts as success).
#[derive(Debug, Clone)]
pub struct GraphGroup {
    graph: mfa_core::graph::GraphClient,
    group_id: String,
}

impl GraphGroup {
    /// Membership of `group_id` through `graph`.
    pub fn new(graph: mfa_core::graph::GraphClient, group_id: String) -> Self {
        Self { graph, group_id }
    }
}

#[async_trait]
impl GroupMembership for GraphGroup {
    async fn ensure_member(
        &self,
        upn: &Upn,
        object_id: Option<&ObjectId>,
    ) -> Result<ObjectId, GroupError> {
        let id = match object_id {
            Some(id) => id.clone(),
            None => {
                let user = self
                    .graph
                    .get_user(upn.as_str())
                    .await
                    .map_err(|e| GroupError::Other(e.into()))?
                    .ok_or(GroupError::UserNotFound)?;
                ObjectId::parse(&user.id).map_err(|e| GroupError::Other(e.into()))?
            }
        };
        self.graph
            .add_group_member(&self.group_id, id.as_str())
            .await
            .map_err(|e| GroupError::Other(e.into()))?;
        Ok(id)
    }
}
