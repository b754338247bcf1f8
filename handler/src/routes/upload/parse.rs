//! Reading and validating an upload: CSV text or JSON rows.
//!
//! Every row is checked and every problem reported with its 1-based data row number: the header
//! is not a data row and blank lines are not counted, so in a spreadsheet without blank lines data
//! row N is on line N + 1. Nothing is stored unless every row is valid.

use std::collections::HashMap;

use mfa_core::domain::{NewPerson, Upn};
use serde::Serialize;
use serde_json::Value;

/// Problems listed in one answer; the total is always counted.
pub const MAX_REPORTED: usize = 1000;
/// Longest display name, department or job title.
pub const MAX_TEXT: usize = 256;
/// Address column names, in order of preference (compared without case, spaces, `_` and `-`).
pub const ADDRESS_COLUMNS: [&str; 6] = [
    "UPN",
    "UserPrincipalName",
    "Email",
    "Mail",
    "EmailAddress",
    "Title",
];

/// One problem in the upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The row as a spreadsheet shows it (the header is row 1, so the first person is row 2;
    /// blank lines are not counted); for JSON rows, the item's 1-based position. 0: the file
    /// or header as a whole.
    pub row: usize,
    /// The column, as named in the file.
    pub column: String,
    /// The offending value (shortened).
    pub value: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// A valid upload.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The people, in file order.
    pub people: Vec<NewPerson>,
    /// With [`InvalidRows::Skip`]: why rows were left out (up to [`MAX_REPORTED`]).
    pub skipped: Vec<Problem>,
    /// With [`InvalidRows::Skip`]: how many rows were left out.
    pub skipped_rows: usize,
    /// Empty rows skipped.
    pub skipped_empty: usize,
    /// Columns we do not read (reported as warnings).
    pub ignored_columns: Vec<String>,
}

/// A refused upload.
#[derive(Debug, Default)]
pub struct Rejected {
    /// Up to [`MAX_REPORTED`] problems.
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub total: usize,
    /// Data rows read before stopping.
    pub rows: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Address(usize),
    DisplayName(usize),
    Department,
    JobTitle,
}

fn classify(header: &str) -> Option<Field> {
    let norm: String = header
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect();
    if let Some(rank) = ADDRESS_COLUMNS
        .iter()
        .position(|a| a.eq_ignore_ascii_case(&norm))
    {
        return Some(Field::Address(rank));
    }
    match norm.as_str() {
        "displayname" => Some(Field::DisplayName(0)),
        "name" => Some(Field::DisplayName(1)),
        "department" => Some(Field::Department),
        "jobtitle" => Some(Field::JobTitle),
        _ => None,
    }
}

/// Which column holds what.
#[derive(Debug, Default)]
struct Columns {
    address: Option<(usize, usize, String)>,
    display: Option<(usize, usize, String)>,
    department: Option<(usize, String)>,
    job_title: Option<(usize, String)>,
    ignored: Vec<String>,
}

impl Columns {
    fn from_headers<'a>(headers: impl Iterator<Item = &'a str>) -> Self {
        let mut c = Columns::default();
        for (i, h) in headers.enumerate() {
            let name = h.trim().to_string();
            match classify(&name) {
                Some(Field::Address(rank)) => {
                    if c.address.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                        c.address = Some((rank, i, name));
                    }
                }
                Some(Field::DisplayName(rank)) => {
                    if c.display.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                        c.display = Some((rank, i, name));
                    }
                }
                Some(Field::Department) => {
                    c.department.get_or_insert((i, name));
                }
                Some(Field::JobTitle) => {
                    c.job_title.get_or_insert((i, name));
                }
                None if name.is_empty() => {}
                None => c.ignored.push(name),
            }
        }
        c
    }
}

/// What an upload does with rows that have a problem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InvalidRows {
    /// Refuse the whole upload, listing every problem (the default).
    #[default]
    Refuse,
    /// Store the valid rows and report the others, with their reasons (an explicit opt-in).
    /// Problems with the file as a whole (no address column, too many rows, nobody valid) still
    /// refuse it.
    Skip,
}

impl InvalidRows {
    /// Parses `refuse` or `skip` (the `invalidRows` parameter).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "refuse" => Ok(Self::Refuse),
            "skip" => Ok(Self::Skip),
            other => Err(format!("invalidRows must be refuse or skip, got {other:?}")),
        }
    }
}

/// Collects rows and problems.
struct Collector {
    invalid: InvalidRows,
    /// A problem that refuses the upload whatever `invalid` says.
    fatal: bool,
    max_rows: usize,
    rows: usize,
    seen: HashMap<Upn, usize>,
    parsed: Parsed,
    problems: Vec<Problem>,
    total: usize,
}

/// The cells of one row, by meaning: `(column name, value)`.
#[derive(Default)]
struct Cells<'a> {
    address: Option<(&'a str, &'a str)>,
    display: Option<(&'a str, &'a str)>,
    department: Option<(&'a str, &'a str)>,
    job_title: Option<(&'a str, &'a str)>,
}

fn shorten(s: &str) -> String {
    s.chars().take(100).collect()
}

impl Collector {
    fn new(max_rows: usize, invalid: InvalidRows) -> Self {
        Self {
            invalid,
            fatal: false,
            max_rows,
            rows: 0,
            seen: HashMap::new(),
            parsed: Parsed::default(),
            problems: Vec::new(),
            total: 0,
        }
    }

    fn problem(&mut self, row: usize, column: &str, value: &str, message: impl Into<String>) {
        self.total += 1;
        if self.problems.len() < MAX_REPORTED {
            self.problems.push(Problem {
                row,
                column: column.to_string(),
                value: shorten(value),
                message: message.into(),
            });
        }
    }

    fn text(&mut self, row: usize, cell: Option<(&str, &str)>) -> Option<String> {
        let (column, value) = cell?;
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        if value.chars().count() > MAX_TEXT {
            self.problem(
                row,
                column,
                value,
                format!("longer than {MAX_TEXT} characters"),
            );
            return None;
        }
        if value.chars().any(char::is_control) {
            self.problem(
                row,
                column,
                value,
                "contains control characters (tabs, line breaks)",
            );
            return None;
        }
        Some(value.to_string())
    }

    /// Adds one data row. Returns false when the row limit is passed and reading must stop.
    fn row(&mut self, row: usize, cells: Cells<'_>) -> bool {
        let all_empty = [
            cells.address,
            cells.display,
            cells.department,
            cells.job_title,
        ]
        .iter()
        .all(|c| c.is_none_or(|(_, v)| v.trim().is_empty()));
        if all_empty {
            self.parsed.skipped_empty += 1;
            return true;
        }
        self.rows += 1;
        if self.rows > self.max_rows {
            self.fatal = true;
            self.problem(
                row,
                "",
                "",
                format!(
                    "the upload has more than {} people; split it into smaller files",
                    self.max_rows
                ),
            );
            return false;
        }
        let before = self.total;
        let display_name = self.text(row, cells.display);
        let department = self.text(row, cells.department);
        let job_title = self.text(row, cells.job_title);
        let (column, raw) = cells.address.unwrap_or(("UPN", ""));
        let upn = match Upn::parse(raw) {
            Ok(upn) => upn,
            Err(e) => {
                self.problem(row, column, raw, format!("not a valid address: {e}"));
                self.parsed.skipped_rows += 1;
                return true;
            }
        };
        if let Some(first) = self.seen.get(&upn) {
            let msg = format!("duplicate: {upn} is already on row {first}");
            self.problem(row, column, raw, msg);
            self.parsed.skipped_rows += 1;
            return true;
        }
        if self.total > before {
            // A bad name, department or job title: the row is not valid as a whole.
            self.parsed.skipped_rows += 1;
            return true;
        }
        self.seen.insert(upn.clone(), row);
        self.parsed.people.push(NewPerson {
            upn,
            display_name,
            department,
            job_title,
        });
        true
    }

    fn finish(mut self) -> Result<Parsed, Rejected> {
        let skip = self.invalid == InvalidRows::Skip && !self.fatal;
        if skip && self.total > 0 && !self.parsed.people.is_empty() {
            self.parsed.skipped = self.problems;
            return Ok(self.parsed);
        }
        if self.total == 0 && self.parsed.people.is_empty() {
            return Err(Rejected {
                problems: vec![Problem {
                    row: 0,
                    column: String::new(),
                    value: String::new(),
                    message: "the upload has no people in it".into(),
                }],
                total: 1,
                rows: 0,
            });
        }
        if self.total > 0 {
            return Err(Rejected {
                problems: self.problems,
                total: self.total,
                rows: self.rows,
            });
        }
        Ok(self.parsed)
    }
}

fn whole_file(message: impl Into<String>) -> Rejected {
    Rejected {
        problems: vec![Problem {
            row: 0,
            column: String::new(),
            value: String::new(),
            message: message.into(),
        }],
        total: 1,
        rows: 0,
    }
}

/// Picks `,`, `;` or tab: whichever occurs most (outside quotes) in the header line.
pub fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let (mut quoted, mut counts) = (false, [0usize; 3]);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// Parses CSV text: UTF-8 with or without BOM, `,` `;` or tab separated, headers in any case.
pub fn csv(input: &[u8], max_rows: usize, invalid: InvalidRows) -> Result<Parsed, Rejected> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = match std::str::from_utf8(input) {
        Ok(t) => t,
        Err(e) => {
            let line = input[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(whole_file(format!(
                "the file is not UTF-8 text (first bad byte on line {line}); save it as \"CSV UTF-8\""
            )));
        }
    };
    if text.trim().is_empty() {
        return Err(whole_file("the file is empty"));
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let columns = match reader.headers() {
        Ok(h) => Columns::from_headers(h.iter()),
        Err(e) => return Err(whole_file(format!("the header row cannot be read: {e}"))),
    };
    let Some((_, address_index, address_name)) = columns.address.clone() else {
        return Err(whole_file(format!(
            "no address column: name one column {}",
            ADDRESS_COLUMNS.join(", ")
        )));
    };
    let mut collector = Collector::new(max_rows, invalid);
    let mut record = ::csv::StringRecord::new();
    // Rows as a spreadsheet numbers them: the header is row 1.
    let mut row = 1usize;
    loop {
        row += 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let get = |i: usize| record.get(i).unwrap_or("");
                let cells = Cells {
                    address: Some((address_name.as_str(), get(address_index))),
                    display: columns
                        .display
                        .as_ref()
                        .map(|(_, i, n)| (n.as_str(), get(*i))),
                    department: columns
                        .department
                        .as_ref()
                        .map(|(i, n)| (n.as_str(), get(*i))),
                    job_title: columns
                        .job_title
                        .as_ref()
                        .map(|(i, n)| (n.as_str(), get(*i))),
                };
                if !collector.row(row, cells) {
                    break;
                }
            }
            Err(e) => {
                collector.problem(row, "", "", format!("this row cannot be read as CSV: {e}"));
                collector.parsed.skipped_rows += 1;
            }
        }
    }
    let ignored = columns.ignored;
    collector.finish().map(|mut p| {
        p.ignored_columns = ignored;
        p
    })
}

/// Validates JSON rows (`[{"upn": "...", "displayName": "..."}]`; keys as CSV headers).
pub fn rows(items: &[Value], max_rows: usize, invalid: InvalidRows) -> Result<Parsed, Rejected> {
    let mut collector = Collector::new(max_rows, invalid);
    let mut ignored: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let row = i + 1;
        let before = collector.total;
        let Some(obj) = item.as_object() else {
            collector.problem(
                row,
                "",
                "",
                "each row must be an object like {\"upn\": \"...\"}",
            );
            collector.parsed.skipped_rows += 1;
            continue;
        };
        let mut texts: Vec<(String, String)> = Vec::new();
        for (k, v) in obj {
            match v {
                Value::String(s) => texts.push((k.clone(), s.clone())),
                Value::Null => {}
                other => collector.problem(row, k, &other.to_string(), "expected text"),
            }
        }
        if collector.total > before {
            collector.parsed.skipped_rows += 1;
            continue;
        }
        let columns = Columns::from_headers(texts.iter().map(|(k, _)| k.as_str()));
        for name in columns.ignored.iter() {
            if !ignored.contains(name) {
                ignored.push(name.clone());
            }
        }
        let at = |i: usize| (texts[i].0.as_str(), texts[i].1.as_str());
        let cells = Cells {
            address: Some(
                columns
                    .address
                    .as_ref()
                    .map_or(("upn", ""), |(_, i, _)| at(*i)),
            ),
            display: columns.display.as_ref().map(|(_, i, _)| at(*i)),
            department: columns.department.as_ref().map(|(i, _)| at(*i)),
            job_title: columns.job_title.as_ref().map(|(i, _)| at(*i)),
        };
        if !collector.row(row, cells) {
            break;
        }
    }
    collector.finish().map(|mut p| {
        p.ignored_columns = ignored;
        p
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_semicolons_and_ignores_quoted_commas() {
        assert_eq!(sniff_delimiter("UPN;\"Name, Full\"\n"), b';');
        assert_eq!(sniff_delimiter("UPN,Name\n"), b',');
        assert_eq!(sniff_delimiter("UPN\n"), b',');
    }

    #[test]
    fn header_aliases_pick_the_preferred_address_column() {
        let c = Columns::from_headers(
            ["Email", "Display Name", "user_principal_name", "Extra"].into_iter(),
        );
        assert_eq!(c.address.map(|(_, i, _)| i), Some(2));
        assert_eq!(c.display.map(|(_, i, _)| i), Some(1));
        assert_eq!(c.ignored, vec!["Extra".to_string()]);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_number() {
        let csv_text = "UPN,DisplayName\nok@contoso.com,A\nbad,B\n\nOK@contoso.com,C\n";
        let Err(rejected) = csv(csv_text.as_bytes(), 10, InvalidRows::Refuse) else {
            panic!("expected problems");
        };
        // As a spreadsheet numbers them: the header is row 1 (the blank line is not a row).
        let rows: Vec<usize> = rejected.problems.iter().map(|p| p.row).collect();
        assert_eq!(rows, vec![3, 4], "{:?}", rejected.problems);
        assert!(rejected.problems[1].message.contains("row 2"));
    }

    #[test]
    fn skip_stores_the_valid_rows_and_reports_the_others() {
        let text = "UPN,DisplayName\nok@contoso.com,A\nbad,B\nOK@contoso.com,C\ntwo@contoso.com,\"D\u{7}\"\nthree@contoso.com,E\n";
        let parsed = csv(text.as_bytes(), 10, InvalidRows::Skip).expect("valid rows stored");
        let upns: Vec<&str> = parsed.people.iter().map(|p| p.upn.as_str()).collect();
        assert_eq!(upns, ["ok@contoso.com", "three@contoso.com"]);
        assert_eq!(parsed.skipped_rows, 3);
        let rows: Vec<usize> = parsed.skipped.iter().map(|p| p.row).collect();
        assert_eq!(rows, [3, 4, 5], "{:?}", parsed.skipped);
        // Nothing valid: still refused.
        let none = csv(b"UPN\nbad\n", 10, InvalidRows::Skip);
        assert!(none.is_err());
        // Whole-file problems are never skipped.
        assert!(csv(b"Name\nA\n", 10, InvalidRows::Skip).is_err());
        assert_eq!(InvalidRows::parse("SKIP"), Ok(InvalidRows::Skip));
        assert!(InvalidRows::parse("some").is_err());
    }

    #[test]
    fn too_many_rows_stops_reading() {
        let csv_text = "UPN\na@contoso.com\nb@contoso.com\nc@contoso.com\n";
        let Err(rejected) = csv(csv_text.as_bytes(), 2, InvalidRows::Skip) else {
            panic!("expected refusal");
        };
        assert!(rejected.problems[0].message.contains("more than 2"));
    }
}
