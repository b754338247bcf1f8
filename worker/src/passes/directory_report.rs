//! The directory section of the admin report: phone prepopulation counts in the seed
//! runbook's terms (people without MFA, eligible, provisioned, failed by reason, with the
//! people whose number needs fixing), the per-user MFA states, and the pilot scope.

use futures::TryStreamExt;
use mfa_core::domain::{PerUserMfa, PhoneOutcome};
use mfa_core::store::{PeopleFilter, Summary};
use serde_json::{json, Value};

use super::pilot::{PilotSnapshot, META_KEY};
use crate::context::RunCtx;

/// People listed by name under "phone numbers to fix".
const LISTED: usize = 25;

/// The report's `directory` value; `Null` when no directory feature is on and nothing was
/// ever recorded.
pub async fn section(ctx: &RunCtx, s: &Summary) -> anyhow::Result<Value> {
    let d = &ctx.extra.directory;
    let counts = &s.directory;
    let phone_seen: u64 = counts.phone.values().sum();
    let mfa_seen: u64 = counts.per_user_mfa.values().sum();
    let phone = if d.phone_prepopulate || phone_seen > 0 {
        let (fix, fix_total) = to_fix(ctx).await?;
        json!({
            "on": d.phone_prepopulate,
            "withoutMfa": counts.phone_without_mfa(),
            "eligible": counts.phone_eligible(),
            "provisioned": counts.phone_count(PhoneOutcome::Provisioned),
            "failed": counts.phone_count(PhoneOutcome::InvalidNumber) + counts.phone_count(PhoneOutcome::Failed),
            "invalidNumber": counts.phone_count(PhoneOutcome::InvalidNumber),
            "refused": counts.phone_count(PhoneOutcome::Failed),
            "noMobile": counts.phone_count(PhoneOutcome::NoMobile),
            "hasPhone": counts.phone_count(PhoneOutcome::HasPhone),
            "hasMfa": counts.phone_count(PhoneOutcome::HasMfa),
            "toFix": fix,
            "moreToFix": fix_total.saturating_sub(fix.len() as u64),
        })
    } else {
        Value::Null
    };
    let per_user = if d.per_user_mfa.is_some() || mfa_seen > 0 {
        let n = |m: PerUserMfa| counts.per_user_mfa.get(m.as_str()).copied().unwrap_or(0);
        json!({
            "target": d.per_user_mfa.map(PerUserMfa::as_str),
            "enforced": n(PerUserMfa::Enforced),
            "enabled": n(PerUserMfa::Enabled),
            "disabled": n(PerUserMfa::Disabled),
        })
    } else {
        Value::Null
    };
    let pilot: Option<PilotSnapshot> = match d.pilot_group {
        Some(_) => ctx
            .store
            .get_meta(META_KEY)
            .await?
            .and_then(|v| serde_json::from_str(&v).ok()),
        None => None,
    };
    if phone.is_null() && per_user.is_null() && pilot.is_none() {
        return Ok(Value::Null);
    }
    Ok(json!({"phone": phone, "perUserMfa": per_user, "pilot": pilot}))
}

/// People whose number could not be used, with why (the first [`LISTED`]) and how many.
async fn to_fix(ctx: &RunCtx) -> anyhow::Result<(Vec<Value>, u64)> {
    let mut listed = Vec::new();
    let mut total = 0u64;
    let mut all = ctx.store.export(PeopleFilter::default());
    while let Some(r) = all.try_next().await? {
        if !matches!(
            r.phone_outcome,
            Some(PhoneOutcome::InvalidNumber | PhoneOutcome::Failed)
        ) {
            continue;
        }
        total += 1;
        if listed.len() < LISTED {
            listed.push(json!({"upn": r.upn.as_str(), "detail": r.phone_detail}));
        }
    }
    Ok((listed, total))
}
