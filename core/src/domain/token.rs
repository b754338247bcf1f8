//! The personal tracking token carried by every link in a person's emails.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A random UUID v4 drawn from the operating system's CSPRNG (122 random bits), so a token cannot
/// be guessed from another one. It stands in for the person's address in URLs, logs and browser
/// history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingToken(Uuid);

/// Why a string is not a tracking token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not the 36-character hyphenated form `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
    #[error("a tracking token is 36 characters: 8-4-4-4-12 hexadecimal digits")]
    Shape,
    /// Well-formed UUID, but not a random (version 4, RFC 4122 variant) one.
    #[error("a tracking token is a random (version 4) UUID")]
    Version,
}

impl TrackingToken {
    /// A fresh token from the OS random source (`getrandom`).
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses the exact hyphenated form, in either case, and nothing else: no braces, no `urn:`
    /// prefix, no surrounding space, and only version-4 UUIDs.
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        let bytes = input.as_bytes();
        if bytes.len() != 36 {
            return Err(TokenError::Shape);
        }
        for (i, b) in bytes.iter().enumerate() {
            let ok = match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            };
            if !ok {
                return Err(TokenError::Shape);
            }
        }
        let uuid = Uuid::parse_str(input).map_err(|_| TokenError::Shape)?;
        if uuid.get_version_num() != 4 || uuid.get_variant() != uuid::Variant::RFC4122 {
            return Err(TokenError::Version);
        }
        Ok(Self(uuid))
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TrackingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

parsed_string!(TrackingToken, TokenError);
