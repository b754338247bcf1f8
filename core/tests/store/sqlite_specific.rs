//! Behaviour particular to the SQLite backend: migrations, two processes on one file.

use std::sync::Arc;

use mfa_core::domain::{NewPerson, Upn};
use mfa_core::store::contract::{batch, t0};
use mfa_core::store::sqlite::{schema_version, SqliteStore};
use mfa_core::store::{Store, UpsertMode};

#[tokio::test]
async fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/dir/store.db");
    {
        let store = SqliteStore::open(&path).await.expect("open");
        let p = NewPerson::new(Upn::parse("keep@contoso.com").expect("upn"));
        store
            .upsert_people(&batch("b", t0(), UpsertMode::KeepHistory), vec![p])
            .await
            .expect("upload");
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    let rec = store
        .get_by_upn(&Upn::parse("keep@contoso.com").expect("upn"))
        .await
        .expect("read");
    assert!(rec.is_some());
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v as usize, schema_version());
}

#[tokio::test]
async fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("future.db");
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.pragma_update(None, "user_version", 999)
        .expect("set version");
    drop(conn);
    let err = SqliteStore::open(&path).await.expect_err("must refuse");
    assert!(
        format!("{err:#}").contains("newer than this build"),
        "{err:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_see_each_other() {
    // The handler and the worker are separate processes sharing one file; two independent
    // handles exercise the same locking.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    let a = Arc::new(SqliteStore::open(&path).await.expect("open a"));
    let b = Arc::new(SqliteStore::open(&path).await.expect("open b"));
    let p = NewPerson::new(Upn::parse("shared@contoso.com").expect("upn"));
    a.upsert_people(&batch("b", t0(), UpsertMode::KeepHistory), vec![p])
        .await
        .expect("upload via a");
    let upn = Upn::parse("shared@contoso.com").expect("upn");
    let via_b = b
        .get_by_upn(&upn)
        .await
        .expect("read")
        .expect("visible to b");
    let mut w1 = via_b.clone();
    w1.reminder_count = 1;
    b.update(&w1).await.expect("b writes");
    let mut w2 = via_b;
    w2.reminder_count = 2;
    assert!(
        a.update(&w2).await.is_err(),
        "a's stale write is refused across handles"
    );
}
