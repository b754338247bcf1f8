//! A person's sign-in name (UPN) or mail address, validated and case-normalised once at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest address accepted. Entra ID limits a UPN to 113 characters; mail addresses in general
/// to 254. We accept mail-style addresses up to the RFC 5321 path limit.
pub const MAX_LEN: usize = 254;
/// Longest local part (before `@`) allowed by RFC 5321 and by Entra ID.
pub const MAX_LOCAL_LEN: usize = 64;

/// A validated, lower-cased `local@domain` address.
///
/// Entra ID compares UPNs case-insensitively, so two spellings of one person must be one key in the
/// store: the value is normalised to lower case when parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Upn(String);

/// Why a string is not a usable UPN or mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpnError {
    /// Nothing was given.
    #[error("the address is empty")]
    Empty,
    /// Longer than [`MAX_LEN`].
    #[error("the address is longer than {MAX_LEN} characters")]
    TooLong,
    /// No `@`, or more than one.
    #[error("the address must contain exactly one '@'")]
    AtSign,
    /// Problem before the `@`.
    #[error("the part before '@' {0}")]
    Local(&'static str),
    /// Problem after the `@`.
    #[error("the domain {0}")]
    Domain(&'static str),
}

impl Upn {
    /// Parses and normalises an address. Surrounding white space is ignored; anything else that
    /// is not a plain `local@domain.tld` address is refused with the reason.
    pub fn parse(input: &str) -> Result<Self, UpnError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(UpnError::Empty);
        }
        if s.len() > MAX_LEN {
            return Err(UpnError::TooLong);
        }
        let mut parts = s.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) => (l, d),
            _ => return Err(UpnError::AtSign),
        };
        check_local(local)?;
        check_domain(domain)?;
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }
}

fn check_local(local: &str) -> Result<(), UpnError> {
    if local.is_empty() {
        return Err(UpnError::Local("is empty"));
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(UpnError::Local("is longer than 64 characters"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(UpnError::Local(
            "must not start or end with '.', or contain '..'",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    if !local.chars().all(allowed) {
        return Err(UpnError::Local(
            "may contain only letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ .",
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), UpnError> {
    if domain.is_empty() {
        return Err(UpnError::Domain("is empty"));
    }
    if domain.len() > 253 {
        return Err(UpnError::Domain("is longer than 253 characters"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(UpnError::Domain("needs a dot, as in contoso.com"));
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err(UpnError::Domain("has an empty or over-long label"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(UpnError::Domain("has a label that starts or ends with '-'"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(UpnError::Domain(
                "may contain only letters, digits, '-' and '.'",
            ));
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(UpnError::Domain("must end in a name, not a number"));
    }
    Ok(())
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

parsed_string!(Upn, UpnError);

impl AsRef<str> for Upn {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
