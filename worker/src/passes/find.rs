//! Finding the people below a strength without a CSV: the registration report (Entra ID P1)
//! read whole, guests and disabled accounts left out, optionally one group's members only. Used
//! by the admin's "find people" action and by the report's tenant-wide strength counts.

use mfa_core::domain::{TargetStrength, Upn};
use mfa_core::graph::GraphClient;
use mfa_core::passes::FoundPeople;

/// Everyone in the tenant (or in `group`) who does not meet `below`, from the registration
/// report (Entra ID P1), without guests and disabled accounts. Reads only.
pub async fn find_people(
    graph: &GraphClient,
    below: TargetStrength,
    group: Option<String>,
) -> anyhow::Result<FoundPeople> {
    use futures::StreamExt;
    let members: Option<std::collections::HashSet<String>> = match &group {
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
    let disabled = graph.disabled_user_ids().await?;
    let mut found = FoundPeople {
        by_strength: mfa_core::store::strength_counts(std::iter::empty()),
        ..FoundPeople::default()
    };
    found.by_strength.remove("unknown");
    let mut pages = Box::pin(graph.registration_details(None));
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| match e {
            mfa_core::graph::GraphError::NotLicensed => anyhow::Error::new(e).context(
                "finding people by strength reads the registration report, which needs Entra ID P1",
            ),
            e => anyhow::Error::new(e),
        })?;
        for row in page.value {
            if members.as_ref().is_some_and(|m| !m.contains(&row.id)) {
                continue;
            }
            found.examined += 1;
            if row
                .user_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("guest"))
            {
                found.guests += 1;
                continue;
            }
            if disabled.contains(&row.id) {
                found.disabled += 1;
                continue;
            }
            let seen = super::MethodsRead::of_report(&row);
            *found
                .by_strength
                .entry(seen.strength.as_str().to_string())
                .or_default() += 1;
            if seen.meets(below) {
                continue;
            }
            if let Some(upn) = row
                .user_principal_name
                .as_deref()
                .and_then(|u| Upn::parse(u).ok())
            {
                found.below.push(upn);
            }
        }
    }
    found.below.sort();
    Ok(found)
}
