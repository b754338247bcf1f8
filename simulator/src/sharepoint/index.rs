//! Index keys: a total order over column values (text case-insensitively, as SharePoint compares).

use serde_json::Value;
use std::cmp::Ordering;

/// A column value as an index key.
#[derive(Debug, Clone)]
pub enum Key {
    /// Empty value.
    Null,
    /// Yes/No.
    Bool(bool),
    /// Number.
    Num(f64),
    /// Text, choice or date (lower-cased).
    Text(String),
}

impl Key {
    /// The key of a stored value (`None` = empty).
    pub fn of(v: Option<&Value>) -> Key {
        match v {
            None | Some(Value::Null) => Key::Null,
            Some(Value::Bool(b)) => Key::Bool(*b),
            Some(Value::Number(n)) => Key::Num(n.as_f64().unwrap_or(0.0)),
            Some(Value::String(s)) => Key::Text(s.to_lowercase()),
            Some(other) => Key::Text(other.to_string()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Null => 0,
            Key::Bool(_) => 1,
            Key::Num(_) => 2,
            Key::Text(_) => 3,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Num(a), Key::Num(b)) => a.total_cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}
