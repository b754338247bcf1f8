//! Background imports and the worker: an import a recycled instance left half written is
//! resumed by the next run, and invitations go only to people whose rows are written — each
//! person mailed exactly once.

use chrono::{Duration, SubsecRound};
use mfa_core::domain::{BatchId, NewPerson, Source, Upn};
use mfa_core::imports::LEASE;
use mfa_core::passes::PassKind;
use mfa_core::store::{Import, ImportState, UploadBatch, UpsertMode, UpsertSummary};

use crate::helpers::{spawn, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_follow_the_written_rows_and_the_next_run_resumes_the_import() {
    let env = spawn(Options::default()).await;
    let upns: Vec<String> = (0..30)
        .map(|i| env.add_user(&format!("imp{i:02}"), &format!("Imported {i}"), None))
        .collect();
    let people: Vec<NewPerson> = upns
        .iter()
        .map(|u| NewPerson::new(Upn::parse(u).expect("upn")))
        .collect();
    let chunks: Vec<Vec<NewPerson>> = people.chunks(10).map(<[NewPerson]>::to_vec).collect();
    let now = mfa_core::clock::Clock::now(&env.clock).trunc_subsecs(0);
    let batch = UploadBatch {
        batch_id: BatchId::parse("imported").expect("batch"),
        source: Source::CsvUpload,
        correlation_id: uuid::Uuid::new_v4(),
        now,
        mode: UpsertMode::KeepHistory,
        hold: false,
        target: None,
    };
    // An instance staged the import and wrote its first chunk, then was recycled.
    let header = Import {
        id: uuid::Uuid::new_v4(),
        state: ImportState::Running,
        batch: batch.clone(),
        fingerprint: "0".repeat(64),
        started_by: "admin@contoso.com".into(),
        started_at: now,
        updated_at: now,
        finished_at: None,
        rows_total: 30,
        rows_written: 0,
        chunks_total: 3,
        chunks_done: 0,
        outcome: UpsertSummary::default(),
        error: None,
        attempts: 0,
        lease_owner: Some("importer-recycled".into()),
        lease_until: Some(now + LEASE),
        send_now: false,
        version: 0,
    };
    env.store
        .stage_import(&header, &chunks)
        .await
        .expect("stage");
    let first = env
        .store
        .write_import_chunk(&batch, chunks[0].clone(), false)
        .await
        .expect("chunk 0");
    let mut progress = env
        .store
        .get_import(header.id)
        .await
        .expect("read")
        .expect("staged");
    progress.chunks_done = 1;
    progress.rows_written = 10;
    progress.outcome = first;
    env.store
        .update_import(&progress)
        .await
        .expect("progress")
        .expect("written");

    // The lease is still live: the run invites the ten written people and writes no rows.
    env.run(&[PassKind::Invitation]).await;
    for (i, upn) in upns.iter().enumerate() {
        let mails = env.mail_to(upn).len();
        assert_eq!(mails, usize::from(i < 10), "{upn}");
    }
    let held = env
        .store
        .get_import(header.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!((held.state, held.rows_written), (ImportState::Running, 10));

    // The lease lapses: the next run resumes the import; the one after invites the rest.
    env.clock
        .advance((LEASE + Duration::minutes(1)).to_std().expect("duration"));
    env.run(&[PassKind::Invitation]).await;
    let done = env
        .store
        .get_import(header.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(done.state, ImportState::Completed, "{done:?}");
    assert_eq!((done.rows_written, done.outcome.inserted), (30, 30));
    assert!(done.lease_owner.is_none());
    env.clock.advance(std::time::Duration::from_secs(120));
    env.run(&[PassKind::Invitation]).await;
    for upn in &upns {
        assert_eq!(env.mail_to(upn).len(), 1, "{upn} mailed exactly once");
    }
    env.assert_no_violations();
}
