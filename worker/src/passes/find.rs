//! Finding the people below a strength without a CSV: the registration report (Entra ID P1)
//! read whole or, without P1, every user's methods read in `$batch` requests (paced by the Graph
//! client, within [`PER_USER_BUDGET`]); guests and disabled accounts left out, optionally one
//! group's members only. Used by the admin's "find people" action.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mfa_core::domain::{TargetStrength, Upn};
use mfa_core::graph::{GraphClient, GraphError, MAX_BATCH};
use mfa_core::passes::FoundPeople;

use super::MethodsRead;

/// How long the per-user reads may take (inside the host's 230 s limit on HTTP requests); what
/// they did not reach is reported as incomplete.
pub const PER_USER_BUDGET: Duration = Duration::from_secs(150);

/// Everyone in the tenant (or in `group`) who does not meet `below`, without guests and
/// disabled accounts. Reads only.
pub async fn find_people(
    graph: &GraphClient,
    below: TargetStrength,
    group: Option<String>,
) -> anyhow::Result<FoundPeople> {
    let members: Option<HashSet<String>> = match &group {
        Some(g) => Some(
            graph
                .transitive_member_users(g)
                .await
                .map_err(|e| anyhow::Error::new(e).context(format!("reading group {g}")))?
                .into_iter()
                .map(|m| m.id)
                .collect(),
        ),
        None => None,
    };
    let mut found = empty("report");
    match by_report(graph, Some(below), members.as_ref(), &mut found).await {
        Ok(()) => {}
        Err(GraphError::NotLicensed) => {
            found = empty("per-user");
            by_user(graph, below, members.as_ref(), &mut found).await?;
        }
        Err(e) => return Err(e.into()),
    }
    found.below.sort();
    Ok(found)
}

/// Everyone in the tenant by strength (guests and disabled accounts counted apart), from the
/// registration report; `None` without Entra ID P1 (reading every user's methods daily would cost
/// one request per 20 people: the admin's "find people" does that on demand).
pub async fn tenant_strength(graph: &GraphClient) -> Result<Option<FoundPeople>, GraphError> {
    let mut found = empty("report");
    match by_report(graph, None, None, &mut found).await {
        Ok(()) => Ok(Some(found)),
        Err(GraphError::NotLicensed) => Ok(None),
        Err(e) => Err(e),
    }
}

fn empty(source: &str) -> FoundPeople {
    let mut by_strength = mfa_core::store::strength_counts(std::iter::empty());
    by_strength.remove("unknown");
    FoundPeople {
        by_strength,
        source: source.to_string(),
        complete: true,
        ..FoundPeople::default()
    }
}

/// Counts one person (not a guest, enabled) and keeps them when below the target (`None`:
/// counted only).
fn count(
    found: &mut FoundPeople,
    below: Option<TargetStrength>,
    seen: &MethodsRead,
    upn: Option<&str>,
) {
    *found
        .by_strength
        .entry(seen.strength.as_str().to_string())
        .or_default() += 1;
    if below.is_none_or(|b| seen.meets(b)) {
        return;
    }
    if let Some(upn) = upn.and_then(|u| Upn::parse(u).ok()) {
        found.below.push(upn);
    }
}

fn is_guest(user_type: Option<&str>) -> bool {
    user_type.is_some_and(|t| t.eq_ignore_ascii_case("guest"))
}

/// From the registration report (one request per 999 people).
async fn by_report(
    graph: &GraphClient,
    below: Option<TargetStrength>,
    members: Option<&HashSet<String>>,
    found: &mut FoundPeople,
) -> Result<(), GraphError> {
    let disabled = graph.disabled_user_ids().await?;
    let mut pages = Box::pin(graph.registration_details(None));
    while let Some(page) = pages.next().await {
        for row in page?.value {
            if members.is_some_and(|m| !m.contains(&row.id)) {
                continue;
            }
            found.examined += 1;
            if is_guest(row.user_type.as_deref()) {
                found.guests += 1;
            } else if disabled.contains(&row.id) {
                found.disabled += 1;
            } else {
                let seen = MethodsRead::of_report(&row);
                count(found, below, &seen, row.user_principal_name.as_deref());
            }
        }
    }
    Ok(())
}

/// Without Entra ID P1: every user listed, then their methods read 20 per `$batch`.
async fn by_user(
    graph: &GraphClient,
    below: TargetStrength,
    members: Option<&HashSet<String>>,
    found: &mut FoundPeople,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut people = Vec::new();
    for u in graph.all_users().await? {
        if members.is_some_and(|m| !m.contains(&u.id)) {
            continue;
        }
        found.examined += 1;
        if is_guest(u.user_type.as_deref()) {
            found.guests += 1;
        } else if u.account_enabled == Some(false) {
            found.disabled += 1;
        } else {
            people.push(u);
        }
    }
    for group in people.chunks(MAX_BATCH) {
        if started.elapsed() >= PER_USER_BUDGET {
            found.complete = false;
            break;
        }
        let ids: Vec<String> = group.iter().map(|u| u.id.clone()).collect();
        for (u, methods) in group.iter().zip(graph.list_methods_batch(&ids).await) {
            match methods {
                Ok(m) => count(
                    found,
                    Some(below),
                    &MethodsRead::of_methods(&m),
                    u.user_principal_name.as_deref(),
                ),
                Err(e) => {
                    tracing::warn!(user = %u.id, error = %e, "methods not read; left out");
                    found.complete = false;
                }
            }
        }
    }
    Ok(())
}
