//! `items/delta`: changes since a token, with next/delta links and 410 on expired tokens.

use super::{fields_expand, item_json, with_list, DEFAULT_PAGE, MAX_PAGE};
use crate::errors::{GraphError, GraphResult};
use crate::http::{SimRequest, SimResponse};
use crate::routes::ListRef;
use crate::shared::{Ctx, Shared};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use std::ops::Bound;

/// Delta token: `(from_seq, to_seq, issued_epoch)`; `from == to` marks a delta link.
fn encode_token(from: u64, to: u64, issued: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{from}.{to}.{issued}"))
}

fn decode_token(t: &str) -> Option<(u64, u64, i64)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(t).ok()?).ok()?;
    let mut p = raw.split('.');
    Some((
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
    ))
}

/// `GET /sites/{site}/lists/{list}/items/delta[?token=…]`.
pub(crate) fn delta(
    shared: &Shared,
    ctx: &Ctx,
    req: &SimRequest,
    version: &str,
    l: &ListRef,
) -> GraphResult {
    let root = shared.graph_root(version);
    let rel = format!("/sites/{}/lists/{}/items/delta", l.site, l.list);
    let lifetime =
        chrono::Duration::from_std(shared.config.delta_token_lifetime).unwrap_or_default();
    let top = req
        .param("$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let expand = fields_expand(req);
    with_list(shared, l, |site, list| {
        let link = |token: String| format!("{root}{rel}?token={token}");
        let now_seq = list.seq();
        let (from, to, issued) = match req.param("token").as_deref() {
            None => (0, now_seq, ctx.now.timestamp()),
            Some("latest") => {
                return Ok(SimResponse::json(
                    200,
                    json!({"value": [], "@odata.deltaLink": link(encode_token(now_seq, now_seq, ctx.now.timestamp()))}),
                ));
            }
            Some(t) => {
                let (from, to, issued) = decode_token(t)
                    .ok_or_else(|| GraphError::invalid_request("Invalid delta token."))?;
                let issued_at = chrono::DateTime::from_timestamp(issued, 0).unwrap_or(ctx.now);
                if issued_at + lifetime < ctx.now {
                    let fresh = link(encode_token(0, now_seq, ctx.now.timestamp()));
                    return Err(GraphError::new(
                        410,
                        "resyncRequired",
                        "The delta token has expired; restart with a full enumeration.",
                    )
                    .with_header("Location", fresh));
                }
                if from == to {
                    (from, now_seq, ctx.now.timestamp())
                } else {
                    (from, to, issued)
                }
            }
        };
        let initial = from == 0;
        let changes: Vec<(u64, u64, bool)> = list
            .changes
            .range((Bound::Excluded(from), Bound::Included(to)))
            .filter(|(_, c)| !(initial && c.deleted))
            .take(top + 1)
            .map(|(s, c)| (*s, c.item_id, c.deleted))
            .collect();
        let more = changes.len() > top;
        let mut value = Vec::new();
        let mut last = from;
        for (s, id, deleted) in changes.into_iter().take(top) {
            last = s;
            if deleted {
                value.push(json!({"id": id.to_string(), "deleted": {"state": "deleted"}}));
            } else if let Some(it) = list.items.get(&id) {
                value.push(item_json(site, list, it, expand.as_deref()));
            }
        }
        let mut body = json!({"@odata.context": format!("{root}/$metadata#Collection(listItem)"), "value": value});
        if more {
            body["@odata.nextLink"] = json!(link(encode_token(last, to, issued)));
        } else {
            body["@odata.deltaLink"] = json!(link(encode_token(to, to, ctx.now.timestamp())));
        }
        Ok(SimResponse::json(200, body))
    })
}
