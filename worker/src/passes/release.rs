//! Releases of held uploads, at the start of the invitation pass: the people of each batch an
//! admin released (whose time has come) stop being held and become due for their invitation,
//! at most the release's daily cap a day. The releases and their progress are in the campaign
//! controls ([`mfa_core::control`]).

use mfa_core::control;
use mfa_core::domain::{BatchId, StatusEvent};
use mfa_core::passes::PassOutcome;
use mfa_core::store::{Attention, PeopleFilter, MAX_PAGE};

use crate::context::RunCtx;

/// People released per store page.
const PAGE: u64 = 500;

/// Releases the people whose batch release is due. A dry run only counts them.
pub async fn run(ctx: &mut RunCtx, out: &mut PassOutcome) -> anyhow::Result<()> {
    ctx.control = control::load(ctx.store.as_ref()).await?;
    let now = ctx.now();
    let due: Vec<(String, Option<u64>)> = ctx
        .control
        .releases
        .iter()
        .filter(|(_, r)| !r.done && r.at <= now)
        .map(|(b, r)| (b.clone(), r.allowance(now)))
        .collect();
    for (batch, allowance) in due {
        if allowance == Some(0) || !ctx.has_time() {
            continue;
        }
        let Ok(batch_id) = BatchId::parse(&batch) else {
            continue;
        };
        let (released, done) = release_batch(ctx, &batch_id, allowance).await?;
        if ctx.dry_run {
            out.notes.push(format!(
                "batch {batch}: would release {released} held people"
            ));
            continue;
        }
        if released > 0 || done {
            let at = ctx.now();
            control::update(ctx.store.as_ref(), |c| {
                let r = c.releases.get_mut(&batch)?;
                r.count(released, at);
                r.done |= done;
                Some(())
            })
            .await?;
            out.notes
                .push(format!("batch {batch}: released {released} held people"));
        }
    }
    Ok(())
}

/// Releases up to `allowance` held people of `batch` (all when `None`). Returns how many, and
/// whether nobody in it is held any more.
async fn release_batch(
    ctx: &mut RunCtx,
    batch: &BatchId,
    allowance: Option<u64>,
) -> anyhow::Result<(u64, bool)> {
    let filter = PeopleFilter {
        batch_id: Some(batch.clone()),
        attention: Some(Attention::Held),
        ..PeopleFilter::default()
    };
    let mut released = 0u64;
    // A dry run writes nothing, so it reads on page by page instead of re-reading page 0.
    let mut page_no = 0;
    loop {
        let left = allowance.map_or(PAGE, |a| a.saturating_sub(released).min(PAGE));
        if left == 0 || !ctx.has_time() {
            return Ok((released, false));
        }
        let size = left.min(MAX_PAGE as u64);
        let page = ctx.store.list(&filter, page_no, size).await?;
        if page.items.is_empty() {
            return Ok((released, true));
        }
        let mut changed = 0;
        for mut rec in page.items {
            let now = ctx.now();
            rec.apply(StatusEvent::Released { at: now }, now)?;
            if ctx.dry_run || ctx.save(&rec).await?.is_some() {
                released += 1;
                changed += 1;
            }
        }
        if ctx.dry_run || changed == 0 {
            page_no += 1;
        }
    }
}
