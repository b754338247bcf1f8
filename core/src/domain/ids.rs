//! Small validated identifiers: upload batch ids, Entra object ids, the record source.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Names an upload so its people can be reported together. 1–64 characters of letters, digits,
/// space and `- _ . :`; anything else (markup, formulas, control characters) is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BatchId(String);

/// Why a batch id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchIdError {
    /// Empty after trimming.
    #[error("the batch id is empty")]
    Empty,
    /// More than 64 characters.
    #[error("the batch id is longer than 64 characters")]
    TooLong,
    /// A character outside the allowed set.
    #[error("the batch id may contain only letters, digits, spaces and - _ . :")]
    Characters,
}

impl BatchId {
    /// Parses a batch id given by an admin.
    pub fn parse(input: &str) -> Result<Self, BatchIdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(BatchIdError::Empty);
        }
        if s.chars().count() > 64 {
            return Err(BatchIdError::TooLong);
        }
        let ok = |c: char| c.is_alphanumeric() || " -_.:".contains(c);
        if !s.chars().all(ok) || s.starts_with(['-', '.']) {
            return Err(BatchIdError::Characters);
        }
        Ok(Self(s.to_string()))
    }

    /// The default id for an upload at `at`, as the old portal named them: `yyyy-MM-dd-HHmm`.
    pub fn default_for(at: DateTime<Utc>) -> Self {
        Self(at.format("%Y-%m-%d-%H%M").to_string())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

parsed_string!(BatchId, BatchIdError);

/// A person's Entra ID object id (a GUID), used in Graph paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectId(String);

/// Not an object id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an Entra object id is 1-64 letters, digits and '-'")]
pub struct ObjectIdError;

impl ObjectId {
    /// Parses an object id as Graph returns it. Lower-cased; only characters safe in a URL path.
    pub fn parse(input: &str) -> Result<Self, ObjectIdError> {
        let s = input.trim();
        if s.is_empty() || s.len() > 64 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ObjectIdError);
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

parsed_string!(ObjectId, ObjectIdError);

/// How a person came onto the list (`Source` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    /// A CSV file uploaded through the portal or the API.
    CsvUpload,
    /// Typed in through manual entry.
    Manual,
    /// Found in a list created by the replaced system.
    Adopted,
}

impl Source {
    /// The value written to the `Source` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::CsvUpload => "CSV Upload",
            Source::Manual => "Manual",
            Source::Adopted => "Adopted",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `Source` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown source {0:?}")]
pub struct UnknownSource(pub String);

impl FromStr for Source {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '_', '-'], "")
            .as_str()
        {
            "csvupload" | "csv" | "upload" => Ok(Source::CsvUpload),
            "manual" => Ok(Source::Manual),
            "adopted" | "" => Ok(Source::Adopted),
            _ => Err(UnknownSource(s.to_string())),
        }
    }
}
