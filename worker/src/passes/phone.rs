//! The phone prepopulation pass (opt-in, `MFA_PHONE_PREPOPULATE=on`): for tracked people who
//! have no MFA method but a mobile number in Entra ID, the number is normalised to Graph's
//! format and added as their `mobile` phone method, so they can satisfy MFA by SMS or voice
//! without enrolling first (the seed's "prepopulate MFA phone authentication").
//!
//! - An existing phone method is never replaced; someone with another MFA method gets nothing.
//! - A number that cannot be normalised is recorded per person (`InvalidNumber`, with the
//!   number), never guessed.
//! - Each person's outcome is stored (`PhoneOutcome`, `PhoneDetail`, `PhoneCheckedAt`), so the
//!   pass costs Graph calls only for people it has not looked at, or whose number was missing
//!   or unusable at least `MFA_PHONE_RETRY_HOURS` ago.
//! - Transient faults (throttling after retries, timeouts) leave the person for the next run.
//!
//! The check pass later sees the new phone method and marks the person Active.

use mfa_core::domain::{InviteStatus, ObjectId, OnboardingRecord, PhoneOutcome};
use mfa_core::graph::{AuthMethod, GraphError, MethodKind, PhoneType, User};
use mfa_core::passes::{PassKind, PassOutcome};

use super::{directory_key, has_mfa, who, StatusWalk, GRAPH_GROUP};
use crate::context::{tally, RunCtx};
use crate::directory::phone::normalise;

const UNFINISHED: [InviteStatus; 4] = [
    InviteStatus::Pending,
    InviteStatus::Sent,
    InviteStatus::Clicked,
    InviteStatus::AddedToGroup,
];

/// The seed runbook's counts for one run.
#[derive(Debug, Default)]
struct Counts {
    without_mfa: u64,
    eligible: u64,
    provisioned: u64,
    invalid: u64,
    refused: u64,
    no_mobile: u64,
}

impl Counts {
    fn add(&mut self, o: PhoneOutcome) {
        self.without_mfa += u64::from(o.was_without_mfa());
        self.eligible += u64::from(o.was_eligible());
        match o {
            PhoneOutcome::Provisioned => self.provisioned += 1,
            PhoneOutcome::InvalidNumber => self.invalid += 1,
            PhoneOutcome::Failed => self.refused += 1,
            PhoneOutcome::NoMobile => self.no_mobile += 1,
            PhoneOutcome::HasPhone | PhoneOutcome::HasMfa => {}
        }
    }

    fn line(&self, dry_run: bool) -> String {
        format!(
            "people without MFA: {}; eligible (no MFA, a mobile number): {}; {}: {}; \
             failed: {} (number format: {}, refused by Graph: {}); no mobile number: {}",
            self.without_mfa,
            self.eligible,
            if dry_run {
                "would provision"
            } else {
                "provisioned"
            },
            self.provisioned,
            self.invalid + self.refused,
            self.invalid,
            self.refused,
            self.no_mobile
        )
    }
}

/// Whether the pass should look at `rec` now.
fn wanted(ctx: &RunCtx, rec: &OnboardingRecord) -> bool {
    if rec.error_details.is_some() || rec.status == InviteStatus::Active {
        return false;
    }
    // A phone number alone is below a target above `any` (this person's upload set one).
    if rec.target_or(ctx.settings.campaign.target) != mfa_core::domain::TargetStrength::Any
        && !ctx.extra.directory.phone_force
    {
        return false;
    }
    match rec.phone_outcome {
        None => true,
        Some(PhoneOutcome::Provisioned | PhoneOutcome::HasPhone | PhoneOutcome::HasMfa) => false,
        Some(PhoneOutcome::NoMobile | PhoneOutcome::InvalidNumber | PhoneOutcome::Failed) => rec
            .phone_checked_at
            .is_none_or(|t| t + ctx.extra.directory.phone_retry <= ctx.now()),
    }
}

/// Runs the phone prepopulation pass (a note and nothing else when it is off).
pub async fn run(ctx: &mut RunCtx) -> anyhow::Result<PassOutcome> {
    let mut out = PassOutcome {
        pass: Some(PassKind::Phone),
        ..Default::default()
    };
    if !ctx.extra.directory.phone_prepopulate {
        out.notes
            .push("phone prepopulation is off (MFA_PHONE_PREPOPULATE)".into());
        return Ok(out);
    }
    let target = ctx.settings.campaign.target;
    if target != mfa_core::domain::TargetStrength::Any && !ctx.extra.directory.phone_force {
        out.notes.push(format!(
            "phone prepopulation refused: the campaign's target is {target}, and a phone number \
             alone is below it (from 2027-02-01 Microsoft blocks phone-only people at sign-in \
             until they register a passkey). Set MFA_PHONE_PREPOPULATE=force to run it anyway."
        ));
        return Ok(out);
    }
    let mut counts = Counts::default();
    let mut walk = StatusWalk::new(&UNFINISHED);
    'pages: while ctx.has_time() {
        let Some(page) = walk.next(ctx).await? else {
            break;
        };
        let todo: Vec<OnboardingRecord> = page.into_iter().filter(|r| wanted(ctx, r)).collect();
        for group in todo.chunks(GRAPH_GROUP) {
            if !ctx.has_time() {
                out.deferred += group.len() as u64;
                break 'pages;
            }
            if let Step::Stop = provision(ctx, group.to_vec(), &mut out, &mut counts).await? {
                break 'pages;
            }
        }
    }
    out.notes.insert(0, counts.line(ctx.dry_run));
    Ok(out)
}

enum Step {
    Go,
    Stop,
}

async fn provision(
    ctx: &mut RunCtx,
    group: Vec<OnboardingRecord>,
    out: &mut PassOutcome,
    counts: &mut Counts,
) -> anyhow::Result<Step> {
    let keys: Vec<String> = group.iter().map(directory_key).collect();
    let users = ctx.graph.find_users(&keys, false).await;
    let mut found: Vec<(OnboardingRecord, User)> = Vec::new();
    for (rec, user) in group.into_iter().zip(users) {
        match user {
            Ok(Some(u)) if u.account_enabled != Some(false) => found.push((rec, u)),
            // Unknown or disabled: the invitation pass records why; nothing to add a phone to.
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(upn = who(&rec), error = %e, "user lookup failed; next run retries");
                out.deferred += 1;
            }
        }
    }
    let ids: Vec<String> = found.iter().map(|(_, u)| u.id.clone()).collect();
    let methods = ctx.graph.list_methods_batch(&ids).await;
    for ((mut rec, user), methods) in found.into_iter().zip(methods) {
        let methods = match methods {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(upn = who(&rec), error = %e, "method read failed; next run retries");
                out.deferred += 1;
                continue;
            }
        };
        let (outcome, detail) = match decide(ctx, &rec, &user, &methods, out).await? {
            Decision::Record(o, d) => (o, d),
            Decision::Later => continue,
            Decision::Stop => return Ok(Step::Stop),
        };
        counts.add(outcome);
        if ctx.dry_run {
            tally(out, false, false);
            continue;
        }
        if rec.object_id.is_none() {
            rec.object_id = ObjectId::parse(&user.id).ok();
        }
        rec.phone_outcome = Some(outcome);
        rec.phone_detail = detail;
        rec.phone_checked_at = Some(ctx.now());
        if outcome == PhoneOutcome::Failed {
            out.errors += 1;
        }
        let saved = ctx.save(&rec).await?;
        tally(out, saved.is_some(), false);
    }
    Ok(Step::Go)
}

/// What became of one person.
enum Decision {
    /// Record this outcome and detail.
    Record(PhoneOutcome, Option<String>),
    /// A transient fault: leave the person for the next run.
    Later,
    /// Graph refused for a reason that is not the person's (permissions): stop the pass.
    Stop,
}

/// Looks at one person and adds their phone method when they are eligible.
async fn decide(
    ctx: &RunCtx,
    rec: &OnboardingRecord,
    user: &User,
    methods: &[AuthMethod],
    out: &mut PassOutcome,
) -> anyhow::Result<Decision> {
    if methods.iter().any(|m| m.kind == MethodKind::Phone) {
        return Ok(Decision::Record(PhoneOutcome::HasPhone, None));
    }
    if has_mfa(methods) {
        return Ok(Decision::Record(PhoneOutcome::HasMfa, None));
    }
    let Some(raw) = user
        .mobile_phone
        .as_deref()
        .filter(|m| !m.trim().is_empty())
    else {
        return Ok(Decision::Record(PhoneOutcome::NoMobile, None));
    };
    let number = match normalise(raw, ctx.extra.directory.phone_default_region) {
        Ok(n) => n,
        Err(e) => {
            out.notes
                .push(format!("{}: number format error: {e}", who(rec)));
            return Ok(Decision::Record(
                PhoneOutcome::InvalidNumber,
                Some(e.to_string()),
            ));
        }
    };
    if ctx.dry_run {
        out.notes.push(format!(
            "{}: would add {number} as the mobile phone method",
            who(rec)
        ));
        return Ok(Decision::Record(
            PhoneOutcome::Provisioned,
            Some(number.to_string()),
        ));
    }
    match ctx
        .graph
        .create_phone_method(&user.id, number.as_str(), PhoneType::Mobile)
        .await
    {
        Ok(_) => Ok(Decision::Record(
            PhoneOutcome::Provisioned,
            Some(number.to_string()),
        )),
        Err(e) if is_existing_phone(&e) => Ok(Decision::Record(PhoneOutcome::HasPhone, None)),
        Err(GraphError::BadRequest { code, message }) => {
            out.notes
                .push(format!("{}: Graph refused {number}: {message}", who(rec)));
            Ok(Decision::Record(
                PhoneOutcome::Failed,
                Some(format!("{code}: {message}")),
            ))
        }
        Err(e @ (GraphError::Forbidden { .. } | GraphError::Unauthorized { .. })) => {
            tracing::error!(error = %e, "Graph refused to add phone methods; check UserAuthenticationMethod.ReadWrite.All");
            out.errors += 1;
            out.notes.push(format!(
                "stopped: Graph refused to add phone methods ({e}); the app needs UserAuthenticationMethod.ReadWrite.All"
            ));
            Ok(Decision::Stop)
        }
        Err(e) => {
            tracing::warn!(upn = who(rec), error = %e, "adding the phone method failed; next run retries");
            out.deferred += 1;
            out.notes
                .push(format!("{}: not added this run ({e})", who(rec)));
            Ok(Decision::Later)
        }
    }
}

/// Graph's answer when the person already has a phone of that type (400, or 409 Conflict).
fn is_existing_phone(e: &GraphError) -> bool {
    match e {
        GraphError::BadRequest { message, .. } => {
            message.to_ascii_lowercase().contains("already exist")
        }
        GraphError::Unexpected { status: 409, .. } => true,
        _ => false,
    }
}
