//! Normalising a directory mobile number to the format Graph's `phoneMethods` require:
//! `+{country code} {national number}[x{extension}]`, e.g. `+47 91234567`.
//!
//! Parsing and validation are libphonenumber's (the `phonenumber` crate): the number must be a
//! valid number for its country. A number without a country code is read in the default region
//! (`MFA_PHONE_DEFAULT_REGION`); without one it is refused rather than guessed. A leading `00`
//! is the international prefix almost everywhere, so it is read as `+` when the number does not
//! parse as it is.

use std::fmt;

use phonenumber::country::Id as Region;
use phonenumber::Mode;

/// A number in Graph's phone method format. Only [`normalise`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphPhone(String);

impl GraphPhone {
    /// The number as Graph takes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GraphPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a directory number could not be normalised (shown to admins per person).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing in the field.
    #[error("the mobile number is empty")]
    Empty,
    /// A national number and no default region to read it in.
    #[error("{0:?} has no country code and MFA_PHONE_DEFAULT_REGION is not set")]
    NoCountryCode(String),
    /// Not a phone number at all.
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
    /// Parsed, but not a valid number for its country.
    #[error("{0:?} is not a valid phone number for its country")]
    Invalid(String),
}

/// Parses a region setting such as `NO`, `gb` or `US`.
pub fn parse_region(s: &str) -> Option<Region> {
    s.trim().to_ascii_uppercase().parse().ok()
}

fn has_country_code(s: &str) -> bool {
    s.starts_with('+') || s.starts_with("00")
}

fn parse(region: Option<Region>, s: &str) -> Option<phonenumber::PhoneNumber> {
    phonenumber::parse(region, s)
        .ok()
        .filter(phonenumber::is_valid)
}

/// Normalises `raw` (as typed in Entra ID) to Graph's format, reading numbers without a country
/// code in `default_region`.
pub fn normalise(raw: &str, default_region: Option<Region>) -> Result<GraphPhone, PhoneError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(PhoneError::Empty);
    }
    if !text.chars().any(|c| c.is_ascii_digit()) {
        return Err(PhoneError::NotANumber(text.to_string()));
    }
    let international = has_country_code(text);
    if !international && default_region.is_none() {
        return Err(PhoneError::NoCountryCode(text.to_string()));
    }
    let parsed = parse(default_region, text).or_else(|| {
        text.strip_prefix("00")
            .filter(|rest| !rest.starts_with('0'))
            .and_then(|rest| parse(None, &format!("+{rest}")))
    });
    let Some(number) = parsed else {
        return Err(match phonenumber::parse(default_region, text) {
            Err(phonenumber::ParseError::NoNumber) => PhoneError::NotANumber(text.to_string()),
            _ => PhoneError::Invalid(text.to_string()),
        });
    };
    let code = number.code().value().to_string();
    let e164 = number.format().mode(Mode::E164).to_string();
    let national = e164
        .strip_prefix('+')
        .and_then(|d| d.strip_prefix(code.as_str()))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| PhoneError::Invalid(text.to_string()))?;
    let mut out = format!("+{code} {national}");
    if let Some(ext) = number.extension() {
        let ext = ext.to_string();
        if !ext.is_empty() && ext.chars().all(|c| c.is_ascii_digit()) {
            out.push('x');
            out.push_str(&ext);
        }
    }
    Ok(GraphPhone(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let no = parse_region("no");
        let gb = parse_region("GB");
        let us = parse_region("US");
        let de = parse_region("de");
        // (raw, default region, expected Graph number or None when refused, why)
        let cases: &[(&str, Option<Region>, Option<&str>, &str)] = &[
            (
                "+47 91234567",
                None,
                Some("+47 91234567"),
                "already in Graph's format",
            ),
            (
                "+4791234567",
                None,
                Some("+47 91234567"),
                "E.164 without the space",
            ),
            (
                "91234567",
                no,
                Some("+47 91234567"),
                "national, default region NO",
            ),
            (
                "912 34 567",
                no,
                Some("+47 91234567"),
                "national with spaces",
            ),
            (
                "07911 123456",
                gb,
                Some("+44 7911123456"),
                "national trunk prefix 0 dropped",
            ),
            (
                "+44 (0)7911 123456",
                None,
                Some("+44 7911123456"),
                "(0) trunk in an international number",
            ),
            ("+1 425-555-0100", None, Some("+1 4255550100"), "dashes"),
            (
                "(425) 555-0100",
                us,
                Some("+1 4255550100"),
                "US national with brackets",
            ),
            (
                "0047 91234567",
                None,
                Some("+47 91234567"),
                "00 international prefix, no region",
            ),
            (
                "0047 91234567",
                us,
                Some("+47 91234567"),
                "00 prefix where the IDD is 011",
            ),
            (
                "0044 7911 123456",
                no,
                Some("+44 7911123456"),
                "00 prefix with the region's own IDD",
            ),
            (
                "+1 425 555 0100 ext. 123",
                None,
                Some("+1 4255550100x123"),
                "extension spelled ext.",
            ),
            (
                "+1 4255550100 x45",
                None,
                Some("+1 4255550100x45"),
                "extension with x",
            ),
            (
                "+49 151 23456789",
                de,
                Some("+49 15123456789"),
                "German mobile",
            ),
            (
                "91234567",
                None,
                None,
                "national without a default region is not guessed",
            ),
            ("", no, None, "empty"),
            ("   ", no, None, "blank"),
            ("n/a", no, None, "garbage"),
            ("call reception", None, None, "words"),
            ("12", no, None, "too short"),
            ("+47 123", None, None, "too short for Norway"),
            ("+999 12345678", None, None, "no such country code"),
            ("+47 91234567891234567", None, None, "too long"),
        ];
        let mut failures = Vec::new();
        for (raw, region, want, why) in cases {
            let got = normalise(raw, *region);
            let ok = match want {
                Some(w) => got.as_ref().map(GraphPhone::as_str) == Ok(*w),
                None => got.is_err(),
            };
            if !ok {
                failures.push(format!("{why}: {raw:?} gave {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn errors_say_why() {
        assert_eq!(
            normalise("91234567", None),
            Err(PhoneError::NoCountryCode("91234567".into()))
        );
        assert_eq!(normalise(" ", None), Err(PhoneError::Empty));
        assert_eq!(
            normalise("n/a", parse_region("NO")),
            Err(PhoneError::NotANumber("n/a".into()))
        );
        assert!(matches!(
            normalise("+47 123", None),
            Err(PhoneError::Invalid(_))
        ));
        assert!(parse_region("Norway").is_none());
    }

    #[test]
    fn output_is_what_graph_accepts() {
        // Whatever the input, a success has exactly Graph's shape.
        for raw in ["+47 912 34 567", "07700900123", "+1 (425) 555-0100;ext=7"] {
            if let Ok(p) = normalise(raw, parse_region("GB")) {
                let s = p.as_str();
                let (cc, rest) = s[1..].split_once(' ').expect("space");
                assert!(
                    s.starts_with('+') && cc.chars().all(|c| c.is_ascii_digit()),
                    "{s}"
                );
                let number = rest.split('x').next().unwrap_or_default();
                assert!(number.chars().all(|c| c.is_ascii_digit()), "{s}");
            }
        }
    }
}
