//! The pilot scope: with `MFA_PILOT_GROUP` set, every pass touches only the group's members,
//! directly or through nested groups. The group is resolved once per run (by id, or by exact
//! display name, which must name exactly one group) and its members are read in pages of 999.
//! People outside it stay exactly as they are; the run counts them, and the report says how
//! many tracked people are out of scope.
//!
//! A pilot that cannot be resolved stops the run: processing everyone because the pilot group
//! was renamed would be the opposite of what a pilot promises.

use std::collections::HashSet;

use anyhow::Context as _;
use futures::TryStreamExt;
use mfa_core::domain::{OnboardingRecord, Upn};
use mfa_core::graph::GraphClient;
use mfa_core::store::{PeopleFilter, SharedStore};
use serde::{Deserialize, Serialize};

use crate::directory::PilotGroup;

/// Meta key of the latest pilot snapshot (shown on the dashboard).
pub const META_KEY: &str = "pilot.scope";

/// The members of the pilot group, as resolved at the start of a run.
#[derive(Debug, Clone)]
pub struct PilotScope {
    /// Group object id.
    pub group_id: String,
    /// Group display name, when Graph gave one.
    pub group_name: Option<String>,
    ids: HashSet<String>,
    upns: HashSet<String>,
}

/// What the dashboard and the report show about the pilot (meta [`META_KEY`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PilotSnapshot {
    /// Group object id.
    pub group_id: String,
    /// Group display name.
    pub group_name: Option<String>,
    /// Users in the group, directly or through nested groups.
    pub members: u64,
    /// Tracked people who are members.
    pub in_scope: u64,
    /// Tracked people outside the group (left as they are).
    pub out_of_scope: u64,
    /// When this was counted.
    pub at: chrono::DateTime<chrono::Utc>,
}

impl PilotScope {
    /// A scope from member `(object id, UPN)` pairs (tests and [`resolve`]).
    pub fn new(
        group_id: String,
        group_name: Option<String>,
        members: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> Self {
        let mut ids = HashSet::new();
        let mut upns = HashSet::new();
        for (id, upn) in members {
            ids.insert(id.to_ascii_lowercase());
            if let Some(u) = upn {
                upns.insert(u.to_ascii_lowercase());
            }
        }
        Self {
            group_id,
            group_name,
            ids,
            upns,
        }
    }

    /// Users in the group.
    pub fn members(&self) -> usize {
        self.ids.len()
    }

    /// Whether `rec`'s person is a member: by object id once resolved, else by UPN.
    pub fn contains(&self, rec: &OnboardingRecord) -> bool {
        match &rec.object_id {
            Some(id) => self.ids.contains(&id.as_str().to_ascii_lowercase()),
            None => self.upns.contains(rec.upn.as_str()),
        }
    }
}

/// Resolves the pilot group and reads its transitive user members.
pub async fn resolve(graph: &GraphClient, group: &PilotGroup) -> anyhow::Result<PilotScope> {
    let (id, name) = match group {
        PilotGroup::Id(id) => {
            let g = graph
                .get_group(id.as_str())
                .await
                .context("MFA_PILOT_GROUP: reading the pilot group")?
                .ok_or_else(|| anyhow::anyhow!("MFA_PILOT_GROUP: no group with id {id}"))?;
            (g.id, g.display_name)
        }
        PilotGroup::Name(name) => {
            let found = graph
                .find_groups_by_name(name)
                .await
                .context("MFA_PILOT_GROUP: looking the pilot group up by name")?;
            match found.as_slice() {
                [g] => (g.id.clone(), g.display_name.clone()),
                [] => anyhow::bail!("MFA_PILOT_GROUP: no group is named {name:?}"),
                many => anyhow::bail!(
                    "MFA_PILOT_GROUP: {} groups are named {name:?}; use the object id",
                    many.len()
                ),
            }
        }
    };
    let members = graph
        .transitive_member_users(&id)
        .await
        .context("MFA_PILOT_GROUP: reading the pilot group's members")?;
    tracing::info!(group = %id, members = members.len(), "pilot scope resolved");
    Ok(PilotScope::new(
        id,
        name,
        members.into_iter().map(|m| (m.id, m.user_principal_name)),
    ))
}

/// Counts tracked people in and out of `scope` (reads every record, in chunks) and stores the
/// snapshot for the dashboard.
pub async fn snapshot(
    store: &SharedStore,
    scope: &PilotScope,
    now: chrono::DateTime<chrono::Utc>,
    save: bool,
) -> anyhow::Result<PilotSnapshot> {
    let (mut inside, mut outside) = (0u64, 0u64);
    let mut all = store.export(PeopleFilter::default());
    while let Some(rec) = all.try_next().await? {
        if scope.contains(&rec) {
            inside += 1;
        } else {
            outside += 1;
        }
    }
    drop(all);
    let snap = PilotSnapshot {
        group_id: scope.group_id.clone(),
        group_name: scope.group_name.clone(),
        members: scope.members() as u64,
        in_scope: inside,
        out_of_scope: outside,
        at: now,
    };
    if save {
        store
            .set_meta(META_KEY, &serde_json::to_string(&snap)?)
            .await?;
    }
    Ok(snap)
}

/// Removes the people outside `scope` from `page`, adding them to `outside`.
pub fn keep_members(
    scope: &PilotScope,
    page: Vec<OnboardingRecord>,
    outside: &mut HashSet<Upn>,
) -> Vec<OnboardingRecord> {
    page.into_iter()
        .filter(|r| {
            let inside = scope.contains(r);
            if !inside {
                outside.insert(r.upn.clone());
            }
            inside
        })
        .collect()
}
