//! Background imports in the meta list.
//!
//! - Every import's header lives in one meta value, `imports` (a JSON array, running imports
//!   and the 50 newest finished ones), so the portal's progress poll is one indexed read.
//!   [`update`] is a compare-and-set on the header's own `version`, written with the item's
//!   eTag (`If-Match`): a 412 re-reads, and only a changed version of *this* import loses.
//! - Each staged chunk is one or more items titled `import-chunk:<id>:<chunk>:<part>` whose
//!   `Value` holds the people as compact JSON, at most 60,000 characters an item (a
//!   multi-line text column holds 63,999); their item ids are kept in the meta value
//!   `import-chunks:<id>`, so a chunk is read by id (1 RU an item) and dropped by id.

use std::collections::HashMap;

use serde_json::{json, Map};
use uuid::Uuid;

use super::columns::meta::{KEY, VALUE};
use super::list::RU_WRITE;
use super::{backend, meta, SharePointStore};
use crate::domain::NewPerson;
use crate::graph::{GraphError, ListItem};
use crate::store::import::{decode_people, encode_people};
use crate::store::{Import, ImportState, StoreError, StoreResult};

/// Meta key of the headers.
const INDEX_KEY: &str = "imports";
/// Finished imports kept in the index.
const KEEP_FINISHED: usize = 50;
/// Most characters of staged people in one item.
const PART_CHARS: usize = 60_000;
/// Attempts at a header write that keeps meeting other writers.
const ATTEMPTS: usize = 10;

fn ids_key(id: Uuid) -> String {
    format!("import-chunks:{id}")
}

/// Item ids of each chunk's parts, remembered per import.
pub type ChunkIds = HashMap<Uuid, Vec<Vec<String>>>;

/// Encodes `people` as parts of at most [`PART_CHARS`] characters (halving until they fit).
fn parts(people: &[NewPerson]) -> Vec<String> {
    let text = encode_people(people);
    if text.len() <= PART_CHARS || people.len() <= 1 {
        return vec![text];
    }
    let (a, b) = people.split_at(people.len() / 2);
    let mut out = parts(a);
    out.extend(parts(b));
    out
}

async fn read_index(store: &SharePointStore) -> StoreResult<(Option<ListItem>, Vec<Import>)> {
    let item = meta::items(&store.meta, INDEX_KEY)
        .await?
        .into_iter()
        .next();
    let headers = match item.as_ref().and_then(meta::value_of) {
        Some(text) if !text.trim().is_empty() => serde_json::from_str(&text)
            .map_err(|e| StoreError::Backend(anyhow::Error::new(e).context("reading imports")))?,
        _ => Vec::new(),
    };
    Ok((item, headers))
}

/// Keeps every running import and the newest finished ones, the newest first.
fn prune(headers: &mut Vec<Import>) {
    headers.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
    let mut finished = 0;
    headers.retain(|h| {
        if h.state == ImportState::Running {
            return true;
        }
        finished += 1;
        finished <= KEEP_FINISHED
    });
}

/// Applies `change` to the headers and writes them back with `If-Match`, re-reading on a race.
/// `change` returns `None` to write nothing.
async fn modify<R>(
    store: &SharePointStore,
    mut change: impl FnMut(&mut Vec<Import>) -> StoreResult<Option<R>>,
) -> StoreResult<Option<R>> {
    for _ in 0..ATTEMPTS {
        let (item, mut headers) = read_index(store).await?;
        let Some(result) = change(&mut headers)? else {
            return Ok(None);
        };
        prune(&mut headers);
        let text = serde_json::to_string(&headers)
            .map_err(|e| StoreError::Backend(anyhow::Error::new(e)))?;
        let written = match item {
            None => meta::create_key(&store.meta, INDEX_KEY, &text).await?,
            Some(it) => {
                let mut m = Map::new();
                m.insert(VALUE.into(), json!(text));
                match store.meta.patch(&it.id, m, it.etag.as_deref()).await {
                    Ok(_) => true,
                    Err(GraphError::PreconditionFailed | GraphError::NotFound { .. }) => false,
                    Err(e) => return Err(backend(e)),
                }
            }
        };
        if written {
            return Ok(Some(result));
        }
    }
    Err(StoreError::Backend(anyhow::anyhow!(
        "the imports value keeps changing; gave up writing it"
    )))
}

/// Stages the chunks (20 items per `$batch`), their ids, then the header.
pub async fn stage(
    store: &SharePointStore,
    import: &Import,
    chunks: &[Vec<NewPerson>],
) -> StoreResult<()> {
    let mut requests = Vec::new();
    let mut shape = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let texts = parts(chunk);
        shape.push(texts.len());
        for (p, text) in texts.into_iter().enumerate() {
            let mut m = Map::new();
            m.insert(
                KEY.into(),
                json!(format!("import-chunk:{}:{i}:{p}", import.id)),
            );
            m.insert(VALUE.into(), json!(text));
            requests.push((store.meta.create_request(m), RU_WRITE));
        }
    }
    let mut created = store.meta.batch(requests).await.into_iter();
    let mut ids: Vec<Vec<String>> = Vec::with_capacity(shape.len());
    for n in shape {
        let mut chunk_ids = Vec::with_capacity(n);
        for res in created.by_ref().take(n) {
            let item: ListItem = res.and_then(|r| r.json()).map_err(backend)?;
            chunk_ids.push(item.id);
        }
        ids.push(chunk_ids);
    }
    let ids_text =
        serde_json::to_string(&ids).map_err(|e| StoreError::Backend(anyhow::Error::new(e)))?;
    meta::set(&store.meta, &ids_key(import.id), &ids_text).await?;
    store.staged.lock().insert(import.id, ids);
    let mut fresh = import.clone();
    fresh.version = 0;
    modify(store, |headers| {
        if headers.iter().any(|h| h.id == fresh.id) {
            return Err(StoreError::Invalid(format!(
                "import {} is already staged",
                fresh.id
            )));
        }
        headers.push(fresh.clone());
        Ok(Some(()))
    })
    .await?;
    Ok(())
}

/// Every header, the newest first.
pub async fn all(store: &SharePointStore) -> StoreResult<Vec<Import>> {
    let (_, mut headers) = read_index(store).await?;
    prune(&mut headers);
    Ok(headers)
}

/// One header.
pub async fn get(store: &SharePointStore, id: Uuid) -> StoreResult<Option<Import>> {
    Ok(read_index(store).await?.1.into_iter().find(|h| h.id == id))
}

/// Compare-and-set write of one header.
pub async fn update(store: &SharePointStore, import: &Import) -> StoreResult<Option<Import>> {
    let mut next = import.clone();
    next.version = import.version + 1;
    modify(store, |headers| {
        let Some(slot) = headers.iter_mut().find(|h| h.id == import.id) else {
            return Ok(None);
        };
        if slot.version != import.version {
            return Ok(None);
        }
        *slot = next.clone();
        Ok(Some(next.clone()))
    })
    .await
}

async fn chunk_ids(store: &SharePointStore, id: Uuid) -> StoreResult<Option<Vec<Vec<String>>>> {
    if let Some(ids) = store.staged.lock().get(&id) {
        return Ok(Some(ids.clone()));
    }
    let Some(text) = meta::get(&store.meta, &ids_key(id)).await? else {
        return Ok(None);
    };
    let ids: Vec<Vec<String>> = serde_json::from_str(&text)
        .map_err(|e| StoreError::Backend(anyhow::Error::new(e).context("reading chunk ids")))?;
    store.staged.lock().insert(id, ids.clone());
    Ok(Some(ids))
}

/// The people of one staged chunk (its parts read by item id).
pub async fn chunk(
    store: &SharePointStore,
    id: Uuid,
    index: u32,
) -> StoreResult<Option<Vec<NewPerson>>> {
    let Some(ids) = chunk_ids(store, id).await? else {
        return Ok(None);
    };
    let Some(parts) = ids.get(index as usize) else {
        return Ok(None);
    };
    let mut people = Vec::new();
    for item_id in parts {
        let Some(item) = store
            .meta
            .get(item_id, &[VALUE.to_string()])
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let text = meta::value_of(&item).unwrap_or_default();
        people.extend(decode_people(&text).map_err(StoreError::Backend)?);
    }
    Ok(Some(people))
}

/// Deletes the staged items (20 per `$batch`) and their ids.
pub async fn drop_staged(store: &SharePointStore, id: Uuid) -> StoreResult<()> {
    let Some(ids) = chunk_ids(store, id).await? else {
        return Ok(());
    };
    let deletes = ids
        .iter()
        .flatten()
        .map(|item_id| (store.meta.delete_request(item_id), RU_WRITE))
        .collect();
    for r in store.meta.batch(deletes).await {
        match r {
            Ok(_) | Err(GraphError::NotFound { .. }) => {}
            Err(e) => return Err(backend(e)),
        }
    }
    let key = ids_key(id);
    if let Some(current) = meta::get(&store.meta, &key).await? {
        meta::compare_and_set(&store.meta, &key, Some(&current), None).await?;
    }
    store.staged.lock().remove(&id);
    Ok(())
}
