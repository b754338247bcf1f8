//! The per-user MFA enforcement pass (opt-in, `MFA_PER_USER_MFA=enabled|enforced`; **Graph
//! beta**, `/beta/users/{id}/authentication/requirements`): sets the legacy per-user MFA state
//! of onboarded people, the seed's "enforce MFA without user interaction".
//!
//! Who: people who are Active (`MFA_PER_USER_MFA_WHEN=active`, the default), and with
//! `deadline` also everyone not yet Active whose deadline (`MFA_DEADLINE`,
//! `MFA_DEADLINE_DAYS`) has passed. Each person's state as Graph reports it after the change is
//! stored (`PerUserMfaState`), so a person already at the target costs no Graph call on later
//! runs. The state is only ever raised (disabled → enabled → enforced), never lowered. Graph
//! turns `enabled` into `enforced` by itself for someone who has registered a method.
//!
//! Conditional Access is the better tool where it is licensed; see `docs/directory-passes.md`.

use futures::future::join_all;
use mfa_core::domain::{InviteStatus, OnboardingRecord, PerUserMfa};
use mfa_core::graph::{GraphClient, GraphError, PerUserMfaState};
use mfa_core::passes::{PassKind, PassOutcome};

use super::{who, StatusWalk, GRAPH_GROUP};
use crate::context::{tally, RunCtx};
use crate::directory::EnforceWhen;

const ALL: [InviteStatus; 5] = [
    InviteStatus::Pending,
    InviteStatus::Sent,
    InviteStatus::Clicked,
    InviteStatus::AddedToGroup,
    InviteStatus::Active,
];

/// Whether `rec` should be at `target` now.
fn wanted(ctx: &RunCtx, rec: &OnboardingRecord, target: PerUserMfa) -> bool {
    if rec.per_user_mfa.is_some_and(|s| s.covers(target)) || rec.error_details.is_some() {
        return false;
    }
    match (rec.status, ctx.extra.directory.per_user_mfa_when) {
        (InviteStatus::Active, _) => true,
        (_, EnforceWhen::Deadline) => ctx
            .extra
            .deadline_for(rec.invite_sent_date)
            .is_some_and(|d| d <= ctx.now()),
        (_, EnforceWhen::Active) => false,
    }
}

/// What Graph said for one person.
enum Raised {
    /// The state after the pass (read back from Graph).
    State(PerUserMfa),
    /// Not in the directory any more.
    Gone,
    /// Refused for want of permission: stop.
    Forbidden(GraphError),
    /// Transient: next run.
    Later(GraphError),
}

async fn raise(graph: &GraphClient, user_id: &str, target: PerUserMfa) -> Raised {
    let read = |r: Result<PerUserMfaState, GraphError>| match r {
        Ok(s) => Ok(Option::<PerUserMfa>::from(s)),
        Err(e) => Err(e),
    };
    let step = async {
        let now = read(graph.get_mfa_requirements(user_id).await)?;
        if now.is_some_and(|s| s.covers(target)) {
            return Ok(now);
        }
        graph.set_mfa_requirements(user_id, target.into()).await?;
        read(graph.get_mfa_requirements(user_id).await)
    };
    match step.await {
        Ok(Some(s)) => Raised::State(s),
        Ok(None) => Raised::Later(GraphError::Decode(
            "Graph reported a per-user MFA state this build does not know".into(),
        )),
        Err(GraphError::NotFound { .. }) => Raised::Gone,
        Err(e @ (GraphError::Forbidden { .. } | GraphError::Unauthorized { .. })) => {
            Raised::Forbidden(e)
        }
        Err(e) => Raised::Later(e),
    }
}

/// Runs the enforcement pass (a note and nothing else when it is off).
pub async fn run(ctx: &mut RunCtx) -> anyhow::Result<PassOutcome> {
    let mut out = PassOutcome {
        pass: Some(PassKind::Enforce),
        ..Default::default()
    };
    let Some(target) = ctx.extra.directory.per_user_mfa else {
        out.notes
            .push("per-user MFA enforcement is off (MFA_PER_USER_MFA)".into());
        return Ok(out);
    };
    out.notes.push(format!(
        "Graph beta: setting the legacy per-user MFA state to {target}"
    ));
    let mut walk = StatusWalk::new(&ALL);
    'pages: while ctx.has_time() {
        let Some(page) = walk.next(ctx).await? else {
            break;
        };
        let todo: Vec<OnboardingRecord> = page
            .into_iter()
            .filter(|r| r.object_id.is_some() && wanted(ctx, r, target))
            .collect();
        for group in todo.chunks(GRAPH_GROUP) {
            if !ctx.has_time() {
                out.deferred += group.len() as u64;
                break 'pages;
            }
            if ctx.dry_run {
                for rec in group {
                    let from = rec.per_user_mfa.map_or("unknown", PerUserMfa::as_str);
                    out.notes.push(format!(
                        "{}: would set per-user MFA to {target} (recorded: {from})",
                        who(rec)
                    ));
                    tally(&mut out, false, false);
                }
                continue;
            }
            let results = join_all(group.iter().map(|r| {
                let id = r
                    .object_id
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                let graph = ctx.graph.clone();
                async move { raise(&graph, &id, target).await }
            }))
            .await;
            for (rec, result) in group.iter().zip(results) {
                match result {
                    Raised::State(state) => {
                        let mut rec = rec.clone();
                        rec.per_user_mfa = Some(state);
                        let saved = ctx.save(&rec).await?;
                        tally(&mut out, saved.is_some(), false);
                    }
                    Raised::Gone => out.examined += 1,
                    Raised::Forbidden(e) => {
                        out.errors += 1;
                        out.notes.push(format!(
                            "stopped: Graph refused the per-user MFA change ({e}); the app needs Policy.ReadWrite.AuthenticationMethod"
                        ));
                        break 'pages;
                    }
                    Raised::Later(e) => {
                        tracing::warn!(upn = who(rec), error = %e, "per-user MFA not set; next run retries");
                        out.deferred += 1;
                    }
                }
            }
        }
    }
    Ok(out)
}
