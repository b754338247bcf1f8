//! A generic list: columns, items, per-column indexes and the change log.

use super::Key;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Column data types the simulator supports.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    /// Single line of text (≤ 255 characters).
    Text,
    /// Multiple lines of text (cannot be indexed).
    Note,
    /// Number.
    Number,
    /// Yes/No.
    Boolean,
    /// Date and time (stored as `YYYY-MM-DDTHH:MM:SSZ`).
    DateTime,
    /// Choice from a fixed set.
    Choice(Vec<String>),
}

/// A list column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column id (GUID).
    pub id: String,
    /// Internal name (used in `fields` and filters).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Type.
    pub kind: ColumnKind,
    /// Whether the column is indexed.
    pub indexed: bool,
    /// Whether a value is required on create.
    pub required: bool,
}

/// One list item.
#[derive(Debug, Clone)]
pub struct Item {
    /// Integer id.
    pub id: u64,
    /// The GUID part of the eTag.
    pub unique_id: String,
    /// Version, the number part of the eTag.
    pub version: u64,
    /// Column values (absent = empty).
    pub fields: Map<String, Value>,
    /// Created (simulated time).
    pub created: DateTime<Utc>,
    /// Last modified (simulated time).
    pub modified: DateTime<Utc>,
    /// Position in the change log.
    pub change_seq: u64,
}

impl Item {
    /// `"{GUID},N"` including the quotes, as Graph sends it.
    pub fn etag(&self) -> String {
        format!("\"{{{}}},{}\"", self.unique_id.to_uppercase(), self.version)
    }

    /// This item's key in the index of column `col` (a lower-case column name).
    fn index_key(&self, col: &str) -> Key {
        Key::of(
            self.fields
                .iter()
                .find(|(k, _)| k.to_ascii_lowercase() == col)
                .map(|(_, v)| v),
        )
    }
}

/// An entry in the change log.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    /// Item id.
    pub item_id: u64,
    /// Whether the item was deleted.
    pub deleted: bool,
}

/// A generic list.
#[derive(Debug, Clone)]
pub struct List {
    /// List id (GUID).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// URL name.
    pub name: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// Columns (the built-in `Title` first).
    pub columns: Vec<Column>,
    /// Items by id.
    pub items: BTreeMap<u64, Item>,
    next_id: u64,
    indexes: HashMap<String, BTreeMap<Key, BTreeSet<u64>>>,
    /// Change log: sequence → change (only the latest change per item is kept).
    pub changes: BTreeMap<u64, Change>,
    seq: u64,
    deleted_seq: HashMap<u64, u64>,
}

/// Normalises a value for a column, or says why it is not acceptable.
pub fn coerce(kind: &ColumnKind, name: &str, v: &Value) -> Result<Option<Value>, String> {
    let bad = || format!("Value for field '{name}' is not valid for its type.");
    Ok(Some(match (kind, v) {
        (_, Value::Null) => return Ok(None),
        (ColumnKind::Text, Value::String(s)) if s.chars().count() <= 255 => v.clone(),
        (ColumnKind::Text, Value::String(_)) => {
            return Err(format!("Field '{name}' is longer than 255 characters."))
        }
        (ColumnKind::Note, Value::String(_)) => v.clone(),
        (ColumnKind::Number, Value::Number(_)) => v.clone(),
        (ColumnKind::Number, Value::String(s)) => {
            let n: f64 = s.parse().map_err(|_| bad())?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(bad)?
        }
        (ColumnKind::Boolean, Value::Bool(_)) => v.clone(),
        (ColumnKind::DateTime, Value::String(s)) => {
            let t = DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
            Value::String(
                t.with_timezone(&Utc)
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            )
        }
        (ColumnKind::Choice(choices), Value::String(s)) if choices.contains(s) => v.clone(),
        (ColumnKind::Choice(_), Value::String(s)) => {
            return Err(format!(
                "Value '{s}' is not one of the choices of field '{name}'."
            ))
        }
        _ => return Err(bad()),
    }))
}

impl List {
    /// A new list with the built-in `Title` column (indexed when `title_indexed`).
    pub fn new(display_name: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: display_name.to_string(),
            name: display_name.replace(' ', ""),
            created: now,
            columns: vec![Column {
                id: "fa564e0f-0c70-4ab9-b863-0177e6ddd247".to_string(),
                name: "Title".to_string(),
                display_name: "Title".to_string(),
                kind: ColumnKind::Text,
                indexed: false,
                required: false,
            }],
            items: BTreeMap::new(),
            next_id: 1,
            indexes: HashMap::new(),
            changes: BTreeMap::new(),
            seq: 0,
            deleted_seq: HashMap::new(),
        }
    }

    /// A column by internal or display name (case-insensitive).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| {
            c.name.eq_ignore_ascii_case(name) || c.display_name.eq_ignore_ascii_case(name)
        })
    }

    /// Adds a column (fails on a duplicate name or an indexed multi-line column).
    pub fn add_column(&mut self, col: Column) -> Result<Column, String> {
        if self.column(&col.name).is_some() {
            return Err(format!("A column named '{}' already exists.", col.name));
        }
        if col.indexed && col.kind == ColumnKind::Note {
            return Err("Multiple lines of text columns cannot be indexed.".into());
        }
        self.columns.push(col.clone());
        if col.indexed {
            self.build_index(&col.name);
        }
        Ok(col)
    }

    /// Turns indexing of a column on or off.
    pub fn set_indexed(&mut self, name: &str, indexed: bool) -> Result<Column, String> {
        let col = self
            .columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name) || c.id.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("Column '{name}' does not exist."))?;
        if indexed && col.kind == ColumnKind::Note {
            return Err("Multiple lines of text columns cannot be indexed.".into());
        }
        col.indexed = indexed;
        let col = col.clone();
        if indexed {
            self.build_index(&col.name);
        } else {
            self.indexes.remove(&col.name.to_ascii_lowercase());
        }
        Ok(col)
    }

    fn build_index(&mut self, name: &str) {
        let col = name.to_ascii_lowercase();
        let mut idx: BTreeMap<Key, BTreeSet<u64>> = BTreeMap::new();
        for item in self.items.values() {
            idx.entry(item.index_key(&col)).or_default().insert(item.id);
        }
        self.indexes.insert(col, idx);
    }

    /// The index of a column, if it is indexed.
    pub fn index(&self, name: &str) -> Option<&BTreeMap<Key, BTreeSet<u64>>> {
        self.indexes.get(&name.to_ascii_lowercase())
    }

    /// Validates `fields` against the columns into normalised values (`None` = clear).
    pub fn validate(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<Vec<(String, Option<Value>)>, String> {
        fields
            .iter()
            .filter(|(k, _)| !k.starts_with('@'))
            .map(|(k, v)| {
                let col = self
                    .column(k)
                    .ok_or_else(|| format!("Field '{k}' is not recognized"))?;
                Ok((col.name.clone(), coerce(&col.kind, &col.name, v)?))
            })
            .collect()
    }

    fn unindex(&mut self, id: u64) {
        if let Some(item) = self.items.get(&id) {
            for (col, idx) in &mut self.indexes {
                let key = item.index_key(col);
                if let Some(set) = idx.get_mut(&key) {
                    set.remove(&id);
                    if set.is_empty() {
                        idx.remove(&key);
                    }
                }
            }
        }
    }

    fn reindex(&mut self, id: u64) {
        if let Some(item) = self.items.get(&id) {
            for (col, idx) in &mut self.indexes {
                idx.entry(item.index_key(col)).or_default().insert(id);
            }
        }
    }

    fn log_change(&mut self, item_id: u64, deleted: bool) -> u64 {
        if let Some(old) = self.items.get(&item_id).map(|i| i.change_seq) {
            self.changes.remove(&old);
        }
        self.seq += 1;
        self.changes.insert(self.seq, Change { item_id, deleted });
        self.seq
    }

    /// Current change sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Creates an item from validated values.
    pub fn create(
        &mut self,
        values: Vec<(String, Option<Value>)>,
        now: DateTime<Utc>,
    ) -> Result<Item, String> {
        if let Some(c) = self
            .columns
            .iter()
            .find(|c| c.required && !values.iter().any(|(k, v)| *k == c.name && v.is_some()))
        {
            return Err(format!("Field '{}' is required.", c.name));
        }
        let id = self.next_id;
        self.next_id += 1;
        let fields = values
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let seq = self.log_change(id, false);
        let item = Item {
            id,
            unique_id: uuid::Uuid::new_v4().to_string(),
            version: 1,
            fields,
            created: now,
            modified: now,
            change_seq: seq,
        };
        self.items.insert(id, item.clone());
        self.reindex(id);
        Ok(item)
    }

    /// Updates an item's values (bumps the eTag version).
    pub fn update(
        &mut self,
        id: u64,
        values: Vec<(String, Option<Value>)>,
        now: DateTime<Utc>,
    ) -> Option<Item> {
        if !self.items.contains_key(&id) {
            return None;
        }
        self.unindex(id);
        let seq = self.log_change(id, false);
        let item = self.items.get_mut(&id)?;
        for (k, v) in values {
            match v {
                Some(v) => item.fields.insert(k, v),
                None => item.fields.remove(&k),
            };
        }
        item.version += 1;
        item.modified = now;
        item.change_seq = seq;
        let out = item.clone();
        self.reindex(id);
        Some(out)
    }

    /// Deletes an item; `false` when it does not exist.
    pub fn delete(&mut self, id: u64) -> bool {
        if !self.items.contains_key(&id) {
            return false;
        }
        self.unindex(id);
        let seq = self.log_change(id, true);
        self.items.remove(&id);
        self.deleted_seq.insert(id, seq);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    #[test]
    fn index_follows_updates_and_deletes() {
        let now = Utc::now();
        let mut l = List::new("L", now);
        l.add_column(Column {
            id: "c".into(),
            name: "Status".into(),
            display_name: "Status".into(),
            kind: ColumnKind::Text,
            indexed: true,
            required: false,
        })
        .unwrap();
        let a = l
            .create(vec![("Status".into(), Some(json!("Sent")))], now)
            .unwrap();
        l.create(vec![("Status".into(), Some(json!("Sent")))], now)
            .unwrap();
        assert_eq!(
            l.index("status").unwrap()[&Key::of(Some(&json!("sent")))].len(),
            2
        );
        let a2 = l
            .update(a.id, vec![("Status".into(), Some(json!("Clicked")))], now)
            .unwrap();
        assert_eq!(a2.version, 2);
        assert!(a2.etag().ends_with(",2\""));
        assert_eq!(
            l.index("Status").unwrap()[&Key::of(Some(&json!("Sent")))].len(),
            1
        );
        assert!(l.delete(a.id));
        assert!(!l
            .index("Status")
            .unwrap()
            .contains_key(&Key::of(Some(&json!("Clicked")))));
        assert_eq!(l.changes.len(), 2, "one entry per item");
    }
}
