//! Versioned migrations for the SQLite store, applied in order at open and recorded in
//! `PRAGMA user_version`. Never edit a shipped migration: append a new one.
//!
//! Each migration is numbered explicitly and is self-contained (`IF NOT EXISTS`), so two
//! branches can each reserve a number and land in either order: a number may be missing (a
//! branch that has not landed yet); migrations above the database's version are applied in
//! number order.

use anyhow::Context;
use rusqlite::Connection;

/// `(version, SQL)`: each entry moves the schema to `version`, in increasing order.
const MIGRATIONS: &[(usize, &str)] = &[
    // 1: the people table and its indexes.
    (
        1,
        r#"
    CREATE TABLE people (
        upn                   TEXT PRIMARY KEY NOT NULL,
        display_name          TEXT,
        department            TEXT,
        job_title             TEXT,
        status                TEXT NOT NULL CHECK (status IN ('Pending','Sent','Clicked','AddedToGroup','Active')),
        in_group              INTEGER NOT NULL DEFAULT 0,
        mfa_state             TEXT NOT NULL DEFAULT 'Unknown',
        mfa_registration_date TEXT,
        token                 TEXT NOT NULL,
        clicked_link_date     TEXT,
        added_to_group_date   TEXT,
        invite_sent_date      TEXT,
        last_reminder_date    TEXT,
        reminder_count        INTEGER NOT NULL DEFAULT 0,
        last_checked          TEXT,
        email_opened_date     TEXT,
        escalated_to_manager  INTEGER NOT NULL DEFAULT 0,
        escalation_date       TEXT,
        manager_upn           TEXT,
        source                TEXT NOT NULL,
        batch_id              TEXT NOT NULL,
        error_details         TEXT,
        correlation_id        TEXT NOT NULL,
        object_id             TEXT,
        next_due_at           TEXT,
        resend_count          INTEGER NOT NULL DEFAULT 0,
        last_resend_at        TEXT,
        send_intent           TEXT,
        send_intent_at        TEXT,
        lease_owner           TEXT,
        lease_until           TEXT,
        created_at            TEXT NOT NULL,
        updated_at            TEXT NOT NULL,
        version               INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX people_token ON people(token);
    CREATE INDEX people_due ON people(status, next_due_at) WHERE next_due_at IS NOT NULL;
    CREATE INDEX people_batch ON people(batch_id);
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    );
    "#,
    ),
    // 2: the mail log that sending limits are counted from.
    (
        2,
        r#"
    CREATE TABLE send_log (
        id         INTEGER PRIMARY KEY,
        mailbox    TEXT NOT NULL,
        at         TEXT NOT NULL,
        recipients INTEGER NOT NULL
    );
    CREATE INDEX send_log_at ON send_log(at);
    "#,
    ),
    // 3: due rows of one upload batch (the invitation pass shares sending across batches).
    (
        3,
        r#"
    CREATE INDEX people_batch_due ON people(status, batch_id, next_due_at) WHERE next_due_at IS NOT NULL;
    "#,
    ),
    // 4: outcomes of the opt-in directory passes (phone prepopulation, per-user MFA).
    (
        4,
        r#"
    ALTER TABLE people ADD COLUMN phone_outcome TEXT;
    ALTER TABLE people ADD COLUMN phone_detail TEXT;
    ALTER TABLE people ADD COLUMN phone_checked_at TEXT;
    ALTER TABLE people ADD COLUMN per_user_mfa TEXT;
    "#,
    ),
    // 5: due indexes end in `upn`, the tie-breaker of the due order: a page after a cursor is an
    // index seek, not a sort of every due row (an upload's rows share one due instant, so each
    // page of 20 out of 100,000 Pending people used to read and sort all of them).
    (
        5,
        r#"
    CREATE INDEX people_due_upn ON people(status, next_due_at, upn) WHERE next_due_at IS NOT NULL;
    CREATE INDEX people_batch_due_upn ON people(status, batch_id, next_due_at, upn) WHERE next_due_at IS NOT NULL;
    DROP INDEX people_due;
    DROP INDEX people_batch_due;
    "#,
    ),
    // 6: notes for the admin, apart from the errors that stop processing.
    (
        6,
        r#"
    ALTER TABLE people ADD COLUMN notes TEXT;
    "#,
    ),
    // 7: an admin's hold or exclusion, the person's timeline, and the admin audit log.
    (
        7,
        r#"
    ALTER TABLE people ADD COLUMN hold TEXT;
    ALTER TABLE people ADD COLUMN history TEXT;
    CREATE INDEX people_batch_hold ON people(batch_id, hold) WHERE hold IS NOT NULL;
    CREATE TABLE audit (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        id      TEXT NOT NULL UNIQUE,
        at      TEXT NOT NULL,
        actor   TEXT NOT NULL,
        origin  TEXT,
        action  TEXT NOT NULL,
        target  TEXT,
        detail  TEXT
    );
    CREATE INDEX audit_target ON audit(target, seq);
    "#,
    ),
    // 8: background imports: headers (JSON, compare-and-set on `version`) and staged chunks.
    (
        8,
        r#"
    CREATE TABLE IF NOT EXISTS imports (
        id         TEXT PRIMARY KEY NOT NULL,
        started_at TEXT NOT NULL,
        version    INTEGER NOT NULL DEFAULT 0,
        header     TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS imports_started ON imports(started_at);
    CREATE TABLE IF NOT EXISTS import_chunks (
        import_id TEXT NOT NULL,
        idx       INTEGER NOT NULL,
        people    TEXT NOT NULL,
        PRIMARY KEY (import_id, idx)
    );
    "#,
    ),
    // 9: the strength of what each person has registered, and the methods.
    (
        9,
        r#"
    ALTER TABLE people ADD COLUMN strength TEXT;
    ALTER TABLE people ADD COLUMN methods TEXT;
    "#,
    ),
    // 10: the strength an upload asked of its people (`None`: the campaign's).
    (
        10,
        r#"
    ALTER TABLE people ADD COLUMN target TEXT;
    "#,
    ),
];

/// The schema version this build writes.
pub fn latest_version() -> usize {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Brings the database up to [`latest_version`], refusing a database written by a newer build.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .context("reading the schema version")?
        .try_into()
        .context("negative schema version")?;
    if current > latest_version() {
        anyhow::bail!(
            "the database has schema version {current}, newer than this build understands ({})",
            latest_version()
        );
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction().context("starting a migration")?;
        tx.execute_batch(sql)
            .with_context(|| format!("applying migration {version}"))?;
        tx.pragma_update(None, "user_version", *version as i64)
            .context("recording the schema version")?;
        tx.commit().context("committing a migration")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_increasing_order() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(MIGRATIONS.first().map(|m| m.0), Some(1));
    }

    #[test]
    fn migrating_twice_changes_nothing_and_imports_exist() {
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("migrate");
        migrate(&mut conn).expect("again");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version as usize, latest_version());
        conn.execute_batch("SELECT id, header FROM imports; SELECT people FROM import_chunks;")
            .expect("import tables");
    }
}
