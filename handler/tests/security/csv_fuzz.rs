//! Property tests of the upload parser, alone (many cases, fast) and through the real handler
//! (fewer cases): no panic on any bytes, every bad row reported with its row number, and an
//! upload with any bad row stores nothing.

use mfa_core::store::Store;
use std::collections::BTreeSet;

use mfa_core::clock::Clock;
use mfa_handler::routes::upload::parse::{self, InvalidRows};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::helpers::spawn_app;

/// What is wrong with a generated row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    NoAt,
    Duplicate,
    ControlInName,
    LongName,
}

#[derive(Debug, Clone)]
struct Row {
    defect: Defect,
    name: String,
}

#[derive(Debug, Clone)]
struct File {
    delimiter: u8,
    bom: bool,
    header_upper: bool,
    rows: Vec<Row>,
}

impl File {
    /// Renders the file with a real CSV writer (quotes as needed) and returns it with the set of
    /// 1-based data rows that must be reported.
    fn render(&self, prefix: &str) -> (Vec<u8>, BTreeSet<usize>) {
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(Vec::new());
        let header = if self.header_upper {
            ["USERPRINCIPALNAME", "DISPLAY_NAME", "Department"]
        } else {
            ["upn", "DisplayName", "department"]
        };
        w.write_record(header).unwrap();
        let mut bad = BTreeSet::new();
        let mut first_valid: Option<String> = None;
        for (i, row) in self.rows.iter().enumerate() {
            let n = i + 1;
            let address = format!("{prefix}.user{n}@contoso.com");
            let (address, name) = match row.defect {
                Defect::None => (address, row.name.clone()),
                Defect::NoAt => (address.replace('@', "."), row.name.clone()),
                Defect::Duplicate => match &first_valid {
                    Some(first) => (first.to_uppercase(), row.name.clone()),
                    None => (address.replace('@', "#"), row.name.clone()),
                },
                Defect::ControlInName => (address, format!("Bad\u{7}{}", row.name)),
                Defect::LongName => (address, "x".repeat(300)),
            };
            if row.defect == Defect::None {
                first_valid.get_or_insert(address.clone());
            } else {
                bad.insert(n);
            }
            w.write_record([address.as_str(), name.as_str(), "IT"])
                .unwrap();
        }
        let mut bytes = if self.bom {
            b"\xEF\xBB\xBF".to_vec()
        } else {
            Vec::new()
        };
        bytes.extend(w.into_inner().unwrap());
        (bytes, bad)
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 .,;'\"()&/<>=+@é-]{0,40}",
        Just("<script>alert(1)</script>".to_string()),
        Just("=HYPERLINK(\"http://evil\")".to_string()),
        Just("@SUM(1+1)*cmd|' /C calc'!A0".to_string()),
        Just("Zoë Ðæ 山田 \u{202e}txt.exe".to_string()),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop_oneof![
            8 => Just(Defect::None),
            1 => Just(Defect::NoAt),
            1 => Just(Defect::Duplicate),
            1 => Just(Defect::ControlInName),
            1 => Just(Defect::LongName),
        ],
        name(),
    )
        .prop_map(|(defect, name)| Row { defect, name })
}

fn file() -> impl Strategy<Value = File> {
    (
        prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(row(), 1..40),
    )
        .prop_map(|(delimiter, bom, header_upper, rows)| File {
            delimiter,
            bom,
            header_upper,
            rows,
        })
}

proptest! {
    #![proptest_config(Config { cases: 512, ..Config::default() })]

    /// Any bytes at all: an answer, never a panic.
    /// Broken by: an `unwrap()` on a cell or an index past the header (`record[i]` on a short,
    /// flexible row) → the parser panics on a ragged file → proptest reports the input.
    #[test]
    fn the_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse::csv(&bytes, 1000, InvalidRows::Refuse);
        let _ = parse::csv(&bytes, 1000, InvalidRows::Skip);
    }

    /// Text that looks like CSV (random mix of delimiters, quotes, newlines, addresses).
    #[test]
    fn csv_like_text_never_panics(text in "(UPN|Email|Title)[,;\t]?[a-z@.,;\t\"\r\n =<>-]{0,300}") {
        let _ = parse::csv(text.as_bytes(), 1000, InvalidRows::Skip);
    }

    /// Every bad row is reported with its row number as a spreadsheet shows it (the header is
    /// row 1, so data row n is row n + 1), and only bad rows are.
    /// Broken by: numbering data rows from 1 (or stopping at the first problem) → the reported
    /// row set differs from the generated one → `prop_assert_eq!` fails.
    #[test]
    fn every_bad_row_is_reported_by_number(f in file()) {
        let (bytes, bad) = f.render("p");
        let bad: BTreeSet<usize> = bad.into_iter().map(|r| r + 1).collect();
        match parse::csv(&bytes, 1000, InvalidRows::Refuse) {
            Ok(parsed) => {
                prop_assert!(bad.is_empty(), "accepted a file with bad rows {bad:?}");
                prop_assert_eq!(parsed.people.len(), f.rows.len());
            }
            Err(rejected) => {
                let reported: BTreeSet<usize> =
                    rejected.problems.iter().map(|p| p.row).collect();
                prop_assert_eq!(&reported, &bad);
                prop_assert_eq!(rejected.total, bad.len());
            }
        }
        // Skipping keeps exactly the good rows (when there is one) and reports the same rows.
        if let Ok(parsed) = parse::csv(&bytes, 1000, InvalidRows::Skip) {
            prop_assert_eq!(parsed.people.len(), f.rows.len() - bad.len());
            prop_assert_eq!(parsed.skipped_rows, bad.len());
            let reported: BTreeSet<usize> = parsed.skipped.iter().map(|p| p.row).collect();
            prop_assert_eq!(&reported, &bad);
        } else {
            prop_assert_eq!(bad.len(), f.rows.len(), "refused although some rows were good");
        }
    }
}

/// The same property end to end: a refused upload leaves the store exactly as it was; an
/// accepted one adds exactly its rows.
/// Broken by: writing rows one by one as they validate (instead of one transaction after all
/// of them) → a refused file leaves its good rows behind → the count check fails.
#[test]
fn uploads_are_all_or_nothing_through_the_handler() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&file(), |f| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (bytes, bad) = f.render(&format!("c{n}"));
            rt.block_on(async {
                let before = app
                    .store
                    .summary(app.clock.now())
                    .await
                    .unwrap()
                    .funnel
                    .uploaded;
                let resp = app.upload_csv("", bytes).await;
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                let after = app
                    .store
                    .summary(app.clock.now())
                    .await
                    .unwrap()
                    .funnel
                    .uploaded;
                if bad.is_empty() {
                    prop_assert_eq!(status, 200, "{}", body);
                    prop_assert_eq!(after - before, f.rows.len() as u64);
                } else {
                    prop_assert_eq!(status, 400, "{}", body);
                    prop_assert_eq!(after, before, "a refused upload stored rows");
                    let rows: BTreeSet<usize> = body["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["row"].as_u64().unwrap() as usize)
                        .collect();
                    // Numbered as a spreadsheet shows them: the header is row 1.
                    let bad: BTreeSet<usize> = bad.iter().map(|r| r + 1).collect();
                    prop_assert_eq!(rows, bad);
                }
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
}

/// Token and query parsing on the public endpoints: whatever arrives, track-open answers the
/// GIF and enrol/resend answer a page — never a 5xx, never internal text.
/// Broken by: `TrackingToken::parse(..).unwrap()` in a handler, or a store query built from the
/// raw token → a 500 (or a panic that drops the connection) → the status assertion fails.
#[test]
fn arbitrary_tokens_and_queries_never_fail_the_public_endpoints() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let mut runner = TestRunner::new(Config {
        cases: 96,
        ..Config::default()
    });
    let strategy = (any::<String>(), "[A-Za-z0-9%&=;+._~!$'()*,:@/?-]{0,120}");
    runner
        .run(&strategy, |(token, raw_query)| {
            rt.block_on(async {
                let client = &app.client;
                let track = client
                    .get(app.url("/api/track-open"))
                    .query(&[("token", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                prop_assert_eq!(track.status().as_u16(), 200);
                prop_assert_eq!(track.bytes().await.unwrap().len(), 43);
                let raw = client
                    .get(format!("{}?{raw_query}", app.url("/api/track-open")))
                    .send()
                    .await
                    .unwrap();
                prop_assert_eq!(raw.status().as_u16(), 200);
                for resp in [
                    client
                        .get(app.url("/api/enrol"))
                        .query(&[("token", token.as_str())])
                        .send()
                        .await
                        .unwrap(),
                    client
                        .get(format!("{}?{raw_query}", app.url("/api/enrol")))
                        .send()
                        .await
                        .unwrap(),
                    client
                        .post(app.url("/api/enrol"))
                        .form(&[("token", token.as_str())])
                        .send()
                        .await
                        .unwrap(),
                    client
                        .post(app.url("/api/enrol"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(raw_query.clone())
                        .send()
                        .await
                        .unwrap(),
                ] {
                    let status = resp.status().as_u16();
                    prop_assert!(status == 400 || status == 404, "enrol answered {}", status);
                    let text = resp.text().await.unwrap();
                    prop_assert!(!text.contains("panicked") && !text.contains("StoreError"));
                }
                let resend = client
                    .post(app.url("/api/resend"))
                    .form(&[("email", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                prop_assert_eq!(resend.status().as_u16(), 200);
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
}
