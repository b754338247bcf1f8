//! Background imports in SQLite: headers as JSON in `imports` (compare-and-set on `version`)
//! and staged chunks in `import_chunks` (migration 8).

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use uuid::Uuid;

use super::rows::ts;
use crate::domain::NewPerson;
use crate::store::import::{decode_people, encode_people};
use crate::store::{Import, StoreError};

fn header(text: &str, version: i64) -> anyhow::Result<Import> {
    let mut import: Import = serde_json::from_str(text).context("reading an import header")?;
    import.version = version as u64;
    Ok(import)
}

/// Stages the chunks, then the header, in one transaction.
pub fn stage(c: &mut Connection, import: &Import, chunks: &[Vec<NewPerson>]) -> anyhow::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = import.id.to_string();
    let exists: Option<i64> = tx
        .query_row("SELECT 1 FROM imports WHERE id = ?1", [&id], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::Invalid(format!("import {id} is already staged")).into());
    }
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO import_chunks (import_id, idx, people) VALUES (?1, ?2, ?3)",
        )?;
        for (i, chunk) in chunks.iter().enumerate() {
            put.execute(params![id, i as i64, encode_people(chunk)])?;
        }
    }
    let mut stored = import.clone();
    stored.version = 0;
    tx.execute(
        "INSERT INTO imports (id, started_at, version, header) VALUES (?1, ?2, 0, ?3)",
        params![id, ts(import.started_at), serde_json::to_string(&stored)?],
    )?;
    tx.commit().context("committing a staged import")?;
    Ok(())
}

/// Every header, the newest first.
pub fn all(c: &Connection) -> anyhow::Result<Vec<Import>> {
    let mut stmt =
        c.prepare_cached("SELECT header, version FROM imports ORDER BY started_at DESC, id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    rows.map(|r| {
        let (text, version) = r?;
        header(&text, version)
    })
    .collect()
}

/// One header.
pub fn get(c: &Connection, id: Uuid) -> anyhow::Result<Option<Import>> {
    c.prepare_cached("SELECT header, version FROM imports WHERE id = ?1")?
        .query_row([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
        .map(|(text, version)| header(&text, version))
        .transpose()
}

/// Compare-and-set write of a header.
pub fn update(c: &mut Connection, import: &Import) -> anyhow::Result<Option<Import>> {
    let mut next = import.clone();
    next.version = import.version + 1;
    let changed = c
        .prepare_cached(
            "UPDATE imports SET header = ?1, version = ?2 WHERE id = ?3 AND version = ?4",
        )?
        .execute(params![
            serde_json::to_string(&next)?,
            next.version as i64,
            import.id.to_string(),
            import.version as i64
        ])?;
    Ok((changed == 1).then_some(next))
}

/// One staged chunk.
pub fn chunk(c: &Connection, id: Uuid, index: u32) -> anyhow::Result<Option<Vec<NewPerson>>> {
    c.prepare_cached("SELECT people FROM import_chunks WHERE import_id = ?1 AND idx = ?2")?
        .query_row(params![id.to_string(), index as i64], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .map(|text| decode_people(&text))
        .transpose()
}

/// Deletes an import's staged chunks.
pub fn drop_staged(c: &mut Connection, id: Uuid) -> anyhow::Result<()> {
    c.prepare_cached("DELETE FROM import_chunks WHERE import_id = ?1")?
        .execute([id.to_string()])?;
    Ok(())
}
