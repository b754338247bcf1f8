//! The admin report email: the funnel, completion rate, progress since the last report, per
//! batch, and the people needing attention, to `MFA_REPORT_RECIPIENTS`.

use chrono::{DateTime, Datelike, Duration, Utc};
use mfa_core::domain::MailKind;
use mfa_core::graph::GraphError;
use mfa_core::passes::{PassKind, PassOutcome};
use mfa_core::store::{Attention, Funnel, PeopleFilter, Summary};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::context::{RunCtx, SendOutcome};
use crate::mail::{compose, Rendered, Template};
use crate::settings::ReportSchedule;

/// The funnel at the last report, for "since the last report".
const LAST_KEY: &str = "report.last";
/// People listed per attention group in the email.
const LISTED: u64 = 25;

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    at: DateTime<Utc>,
    funnel: Funnel,
}

/// Percentage of `part` in `whole`, one decimal, 0 when empty.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

/// [`percent`] as people read it: `60`, `60.5`.
pub fn percent_text(part: u64, whole: u64) -> String {
    let p = percent(part, whole);
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
}

/// The report as it would be sent at `now` (the admin's preview).
pub async fn render(ctx: &RunCtx, now: DateTime<Utc>) -> anyhow::Result<Rendered> {
    Ok(report_as_of(ctx, now).await?.1)
}

async fn report_as_of(ctx: &RunCtx, now: DateTime<Utc>) -> anyhow::Result<(Summary, Rendered)> {
    let summary = ctx.store.summary(now).await?;
    let last: Option<Snapshot> = ctx
        .store
        .get_meta(LAST_KEY)
        .await?
        .and_then(|s| serde_json::from_str(&s).ok());
    let body = body(ctx, &summary, last.as_ref(), now).await?;
    let rendered = ctx
        .templates
        .render(Template::Report, &compose::report(&ctx.settings, body))?;
    Ok((summary, rendered))
}

/// Meta key of Microsoft's registration campaign as the last report read it.
pub const CAMPAIGN_KEY: &str = "report.registration-campaign";

/// Microsoft's registration campaign, read (read-only) from `authenticationMethodsPolicy` and
/// kept for the dashboard; a refusal (no `Policy.Read.All`) is shown as unknown with the reason.
async fn registration_campaign(ctx: &RunCtx, now: DateTime<Utc>) -> anyhow::Result<Value> {
    let value = match ctx.graph.registration_campaign().await {
        Ok(c) => json!({
            "state": c.state.as_str(),
            "snoozeDays": c.snooze_duration_in_days,
            "includeTargets": c.include_targets.iter().map(|t| json!({
                "id": t.id,
                "method": t.targeted_authentication_method,
            })).collect::<Vec<_>>(),
            "at": now,
        }),
        Err(GraphError::NotPermitted { .. }) => json!({
            "unknown": "the app may not read authenticationMethodsPolicy (grant Policy.Read.All)",
            "at": now,
        }),
        Err(e) => json!({"unknown": e.to_string(), "at": now}),
    };
    if !ctx.dry_run {
        ctx.store
            .set_meta(CAMPAIGN_KEY, &serde_json::to_string(&value)?)
            .await?;
    }
    Ok(value)
}

/// Meta key of the tenant-wide strength counts as the last report read them.
pub const TENANT_KEY: &str = "report.tenant-strength";

/// Everyone in the tenant by strength, from the registration report (Entra ID P1), kept for the
/// dashboard: `{"byStrength","guests","disabled","examined","at"}`, or `{"unknown": "<why>","at"}`.
/// A preview uses the counts the last report kept rather than reading the whole report again.
async fn tenant_strength(ctx: &RunCtx, now: DateTime<Utc>) -> anyhow::Result<Value> {
    if ctx.dry_run {
        if let Some(kept) = ctx.store.get_meta(TENANT_KEY).await? {
            if let Ok(value) = serde_json::from_str(&kept) {
                return Ok(value);
            }
        }
    }
    let value = match super::find::tenant_strength(&ctx.graph).await {
        Ok(Some(found)) => json!({
            "byStrength": found.by_strength,
            "guests": found.guests,
            "disabled": found.disabled,
            "examined": found.examined,
            "at": now,
        }),
        Ok(None) => json!({
            "unknown": "no registration report without Entra ID P1 (Find people counts on demand)",
            "at": now,
        }),
        Err(GraphError::NotPermitted { .. }) => json!({
            "unknown": "the app may not read the registration report (grant AuditLog.Read.All)",
            "at": now,
        }),
        Err(e) => json!({"unknown": e.to_string(), "at": now}),
    };
    if !ctx.dry_run {
        ctx.store
            .set_meta(TENANT_KEY, &serde_json::to_string(&value)?)
            .await?;
    }
    Ok(value)
}

/// People by the strength of what they have registered (the export's `MfaStrength` counted),
/// with the phone-only people Microsoft blocks at sign-in from 2027-02-01; beside them, when
/// the registration report was read, everyone in the tenant (members, enabled).
fn strength_section(ctx: &RunCtx, s: &Summary, tenant: &Value) -> Value {
    let n = |k: &str| s.by_strength.get(k).copied().unwrap_or(0);
    let tenant_counts = tenant.get("byStrength");
    let t = |k: &str| tenant_counts.map(|c| c.get(k).and_then(Value::as_u64).unwrap_or(0));
    let rows = [
        (
            "Phishing-resistant (passkey, security key, Windows Hello)",
            "phishing-resistant",
        ),
        ("App (Authenticator push, OATH)", "app"),
        (
            "Phone only (blocked on 1 February 2027 if nothing changes)",
            "phone-only",
        ),
        ("No method", "none"),
        ("Not read yet", "unknown"),
    ];
    json!({
        "target": ctx.settings.campaign.target.as_str(),
        "rows": rows.iter().map(|(label, key)| json!({
            "label": label,
            "count": n(key),
            // The report has no "not read yet": everyone in it was read.
            "tenant": if *key == "unknown" { None } else { t(key) },
            "tenantKnown": *key != "unknown" && tenant_counts.is_some(),
        })).collect::<Vec<_>>(),
        "phoneOnly": n("phone-only"),
        "phoneOnlyByDepartment": s.phone_only_by_department,
        "tenant": tenant_counts.is_some(),
        "tenantPhoneOnly": t("phone-only"),
        "tenantUnknown": tenant.get("unknown"),
    })
}

/// Sends the report if the schedule says so today (or `force`).
pub async fn run(ctx: &mut RunCtx, force: bool) -> anyhow::Result<PassOutcome> {
    let mut out = PassOutcome {
        pass: Some(PassKind::Report),
        ..Default::default()
    };
    let now = ctx.now();
    let due = match ctx.extra.report_schedule {
        ReportSchedule::Daily => true,
        ReportSchedule::Weekly => now.weekday() == ctx.extra.report_weekday,
        ReportSchedule::Off => false,
    };
    if !due && !force {
        out.notes.push("no report scheduled today".into());
        return Ok(out);
    }
    let recipients = match &ctx.settings.report_recipients {
        Ok(r) => r.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
        Err(e) => {
            out.notes.push(format!("report email is off: {e}"));
            return Ok(out);
        }
    };
    let (summary, rendered) = report_as_of(ctx, now).await?;
    if ctx.dry_run {
        if ctx.paused().await? {
            out.notes
                .push("the campaign is paused: the report would not be sent".into());
            return Ok(out);
        }
        out.notes.push(format!(
            "would send \"{}\" to {}",
            rendered.subject,
            recipients.join(", ")
        ));
        *out.planned
            .entry(MailKind::Report.header_value().to_string())
            .or_default()
            .entry(String::new())
            .or_default() += 1;
        return Ok(out);
    }
    match ctx
        .send(recipients, rendered, MailKind::Report, "report")
        .await?
    {
        SendOutcome::Sent { .. } => {
            out.emails_sent = 1;
            let snap = Snapshot {
                at: now,
                funnel: summary.funnel,
            };
            ctx.store
                .set_meta(LAST_KEY, &serde_json::to_string(&snap)?)
                .await?;
        }
        SendOutcome::Deferred => out.deferred = 1,
        SendOutcome::Failed(e) => {
            out.errors = 1;
            out.notes.push(format!("report not sent: {e}"));
        }
    }
    Ok(out)
}

/// Where the dashboard is: `MFA_PORTAL_URL`, else the portal origin (`MFA_PORTAL_ORIGIN`), else
/// the portal the handler itself serves (local mode).
fn dashboard_url(ctx: &RunCtx) -> String {
    if let Some(url) = &ctx.extra.portal_url {
        return url.to_string();
    }
    match &ctx.settings.portal_origin {
        Some(origin) => format!("{}/", origin.trim_end_matches('/')),
        None => format!(
            "{}/portal/",
            ctx.settings.public_base_url.as_str().trim_end_matches('/')
        ),
    }
}

async fn body(
    ctx: &RunCtx,
    s: &Summary,
    last: Option<&Snapshot>,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    let f = s.funnel;
    let delta = last.map(|l| {
        json!({
            "since": l.at.format("%Y-%m-%d").to_string(),
            "active": f.active.saturating_sub(l.funnel.active),
        })
    });
    let change =
        |now_v: u64, then: Option<u64>| then.map(|t| format!("{:+}", now_v as i64 - t as i64));
    let lf = last.map(|l| l.funnel);
    let stages = vec![
        json!({"label": "Uploaded", "count": f.uploaded, "change": change(f.uploaded, lf.map(|x| x.uploaded))}),
        json!({"label": "Invitation sent", "count": f.sent, "change": change(f.sent, lf.map(|x| x.sent))}),
        json!({"label": "Opened (estimate)", "count": f.opened, "change": change(f.opened, lf.map(|x| x.opened))}),
        json!({"label": "Clicked", "count": f.clicked, "change": change(f.clicked, lf.map(|x| x.clicked))}),
        json!({"label": "In the MFA group", "count": f.in_group, "change": change(f.in_group, lf.map(|x| x.in_group))}),
        json!({"label": "Registered (Active)", "count": f.active, "change": change(f.active, lf.map(|x| x.active))}),
    ];
    let batches: Vec<Value> = s
        .by_batch
        .iter()
        .map(|b| {
            json!({
                "batchId": b.batch_id, "uploaded": b.funnel.uploaded, "sent": b.funnel.sent,
                "clicked": b.funnel.clicked, "active": b.funnel.active,
                "completion": percent_text(b.funnel.active, b.funnel.uploaded),
            })
        })
        .collect();
    let stale = now - Duration::days(ctx.extra.attention_days);
    let groups = [
        (
            format!(
                "Invited over {} days ago, not clicked",
                ctx.extra.attention_days
            ),
            Attention::NotClicked { before: stale },
        ),
        (
            "Clicked but not registered".to_string(),
            Attention::ClickedNotRegistered,
        ),
        (
            "Escalated to their manager".to_string(),
            Attention::Escalated,
        ),
        ("Errors".to_string(), Attention::Errors),
    ];
    let mut attention = Vec::new();
    for (title, a) in groups {
        if a == Attention::Errors {
            // Grouped by reason: thousands of lines say less than a count per reason.
            if s.errors > 0 {
                let grouped: u64 = s.error_reasons.iter().map(|r| r.count).sum();
                attention.push(json!({
                    "title": title, "total": s.errors, "people": [],
                    "reasons": s.error_reasons,
                    "more": s.errors.saturating_sub(grouped),
                }));
            }
            continue;
        }
        let page = ctx
            .store
            .list(
                &PeopleFilter {
                    attention: Some(a),
                    ..Default::default()
                },
                0,
                LISTED,
            )
            .await?;
        if page.total == 0 {
            continue;
        }
        let people: Vec<Value> = page
            .items
            .iter()
            .map(|r| json!({"upn": r.upn.as_str(), "name": r.display_name, "detail": r.error_details}))
            .collect();
        attention.push(json!({
            "title": title, "total": page.total, "people": people,
            "more": page.total.saturating_sub(page.items.len() as u64),
        }));
    }
    let directory = super::directory_report::section(ctx, s).await?;
    Ok(json!({
        "directory": directory,
        "date": now.format("%Y-%m-%d").to_string(),
        "completion": percent_text(f.active, f.uploaded),
        "funnel": f,
        "delta": delta,
        "stages": stages,
        "escalated": s.escalated,
        "errors": s.errors,
        "queued": s.queued,
        "batches": batches,
        "attention": attention,
        "portalUrl": dashboard_url(ctx),
        "detection": super::events::detection_text(ctx).await?,
        "strength": strength_section(ctx, s, &tenant_strength(ctx, now).await?),
        "registrationCampaign": registration_campaign(ctx, now).await?,
    }))
}
