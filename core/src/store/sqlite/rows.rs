//! Mapping between [`OnboardingRecord`] and SQLite rows.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::Type;
use rusqlite::{named_params, Row, Statement};

use crate::domain::{MailKind, OnboardingRecord, TrackingToken, Upn};

/// Every column, in the order [`read_record`] expects.
pub const COLUMNS: &str = "upn, display_name, department, job_title, status, in_group, mfa_state, \
    mfa_registration_date, token, clicked_link_date, added_to_group_date, invite_sent_date, \
    last_reminder_date, reminder_count, last_checked, email_opened_date, escalated_to_manager, \
    escalation_date, manager_upn, source, batch_id, error_details, correlation_id, object_id, \
    next_due_at, resend_count, last_resend_at, send_intent, send_intent_at, lease_owner, \
    lease_until, created_at, updated_at, version, phone_outcome, phone_detail, phone_checked_at, \
    per_user_mfa, notes, hold, history, strength, methods, target";

/// Timestamps are stored as fixed-width RFC 3339 UTC text, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn opt_ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

fn bad(col: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, Type::Text, Box::new(e))
}

fn get_ts(row: &Row<'_>, col: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<String>>(col)? {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|d| Some(d.to_utc()))
            .map_err(|e| bad(col, e)),
    }
}

fn req_ts(row: &Row<'_>, col: usize) -> rusqlite::Result<DateTime<Utc>> {
    get_ts(row, col)?.ok_or(rusqlite::Error::InvalidColumnType(
        col,
        "timestamp".into(),
        Type::Null,
    ))
}

fn parse<T, E>(
    row: &Row<'_>,
    col: usize,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let s: String = row.get(col)?;
    f(&s).map_err(|e| bad(col, e))
}

fn parse_opt<T, E>(
    row: &Row<'_>,
    col: usize,
    f: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<Option<T>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match row.get::<_, Option<String>>(col)? {
        None => Ok(None),
        Some(s) => f(&s).map(Some).map_err(|e| bad(col, e)),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown mail kind {0:?}")]
struct BadKind(String);

/// Reads a row selected with [`COLUMNS`].
pub fn read_record(row: &Row<'_>) -> rusqlite::Result<OnboardingRecord> {
    Ok(OnboardingRecord {
        upn: parse(row, 0, Upn::parse)?,
        display_name: row.get(1)?,
        department: row.get(2)?,
        job_title: row.get(3)?,
        status: parse(row, 4, str::parse)?,
        in_group: row.get(5)?,
        mfa_state: parse(row, 6, str::parse)?,
        mfa_registration_date: get_ts(row, 7)?,
        token: parse(row, 8, TrackingToken::parse)?,
        clicked_link_date: get_ts(row, 9)?,
        added_to_group_date: get_ts(row, 10)?,
        invite_sent_date: get_ts(row, 11)?,
        last_reminder_date: get_ts(row, 12)?,
        reminder_count: row.get(13)?,
        last_checked: get_ts(row, 14)?,
        email_opened_date: get_ts(row, 15)?,
        escalated_to_manager: row.get(16)?,
        escalation_date: get_ts(row, 17)?,
        manager_upn: parse_opt(row, 18, Upn::parse)?,
        source: parse(row, 19, str::parse)?,
        batch_id: parse(row, 20, crate::domain::BatchId::parse)?,
        error_details: row.get(21)?,
        correlation_id: parse(row, 22, uuid::Uuid::parse_str)?,
        object_id: parse_opt(row, 23, crate::domain::ObjectId::parse)?,
        next_due_at: get_ts(row, 24)?,
        resend_count: row.get(25)?,
        last_resend_at: get_ts(row, 26)?,
        send_intent: parse_opt(row, 27, |s| {
            MailKind::parse(s).ok_or_else(|| BadKind(s.into()))
        })?,
        send_intent_at: get_ts(row, 28)?,
        lease_owner: row.get(29)?,
        lease_until: get_ts(row, 30)?,
        created_at: req_ts(row, 31)?,
        updated_at: req_ts(row, 32)?,
        version: row.get::<_, i64>(33)? as u64,
        phone_outcome: parse_opt(row, 34, str::parse)?,
        phone_detail: row.get(35)?,
        phone_checked_at: get_ts(row, 36)?,
        per_user_mfa: parse_opt(row, 37, str::parse)?,
        notes: row.get(38)?,
        hold: parse_opt(row, 39, str::parse)?,
        history: row.get(40)?,
        strength: parse_opt(row, 41, crate::domain::Strength::parse)?,
        methods: row.get(42)?,
        target: parse_opt(row, 43, crate::domain::TargetStrength::parse)?,
    })
}

/// SQL for inserting a full record (parameters named after the columns).
pub const INSERT: &str = "INSERT INTO people (upn, display_name, department, job_title, status, \
    in_group, mfa_state, mfa_registration_date, token, clicked_link_date, added_to_group_date, \
    invite_sent_date, last_reminder_date, reminder_count, last_checked, email_opened_date, \
    escalated_to_manager, escalation_date, manager_upn, source, batch_id, error_details, \
    correlation_id, object_id, next_due_at, resend_count, last_resend_at, send_intent, \
    send_intent_at, lease_owner, lease_until, created_at, updated_at, version, phone_outcome, \
    phone_detail, phone_checked_at, per_user_mfa, notes, hold, history, strength, methods, target) \
    VALUES (:upn, \
    :display_name, :department, :job_title, :status, :in_group, :mfa_state, \
    :mfa_registration_date, :token, :clicked_link_date, :added_to_group_date, :invite_sent_date, \
    :last_reminder_date, :reminder_count, :last_checked, :email_opened_date, \
    :escalated_to_manager, :escalation_date, :manager_upn, :source, :batch_id, :error_details, \
    :correlation_id, :object_id, :next_due_at, :resend_count, :last_resend_at, :send_intent, \
    :send_intent_at, :lease_owner, :lease_until, :created_at, :updated_at, :version, \
    :phone_outcome, :phone_detail, :phone_checked_at, :per_user_mfa, :notes, :hold, :history, :strength, :methods, :target)";

/// SQL for a compare-and-set update of a full record: `:version` is the new version and
/// `:expected` the one the writer read.
pub const UPDATE: &str =
    "UPDATE people SET display_name = :display_name, department = :department, \
    job_title = :job_title, status = :status, in_group = :in_group, mfa_state = :mfa_state, \
    mfa_registration_date = :mfa_registration_date, token = :token, \
    clicked_link_date = :clicked_link_date, added_to_group_date = :added_to_group_date, \
    invite_sent_date = :invite_sent_date, last_reminder_date = :last_reminder_date, \
    reminder_count = :reminder_count, last_checked = :last_checked, \
    email_opened_date = :email_opened_date, escalated_to_manager = :escalated_to_manager, \
    escalation_date = :escalation_date, manager_upn = :manager_upn, source = :source, \
    batch_id = :batch_id, error_details = :error_details, correlation_id = :correlation_id, \
    object_id = :object_id, next_due_at = :next_due_at, resend_count = :resend_count, \
    last_resend_at = :last_resend_at, send_intent = :send_intent, \
    send_intent_at = :send_intent_at, lease_owner = :lease_owner, lease_until = :lease_until, \
    created_at = :created_at, updated_at = :updated_at, version = :version, \
    phone_outcome = :phone_outcome, phone_detail = :phone_detail, \
    phone_checked_at = :phone_checked_at, per_user_mfa = :per_user_mfa, notes = :notes, \
    hold = :hold, history = :history, strength = :strength, methods = :methods, \
    target = :target \
    WHERE upn = :upn AND version = :expected";

/// Runs [`INSERT`] (or [`UPDATE`] with `expected`) for `r`. Returns rows changed.
pub fn write_record(
    stmt: &mut Statement<'_>,
    r: &OnboardingRecord,
    expected: Option<u64>,
) -> rusqlite::Result<usize> {
    let common = named_params! {
        ":upn": r.upn.as_str(),
        ":display_name": r.display_name,
        ":department": r.department,
        ":job_title": r.job_title,
        ":status": r.status.as_str(),
        ":in_group": r.in_group,
        ":mfa_state": r.mfa_state.as_str(),
        ":mfa_registration_date": opt_ts(r.mfa_registration_date),
        ":token": r.token.to_string(),
        ":clicked_link_date": opt_ts(r.clicked_link_date),
        ":added_to_group_date": opt_ts(r.added_to_group_date),
        ":invite_sent_date": opt_ts(r.invite_sent_date),
        ":last_reminder_date": opt_ts(r.last_reminder_date),
        ":reminder_count": r.reminder_count,
        ":last_checked": opt_ts(r.last_checked),
        ":email_opened_date": opt_ts(r.email_opened_date),
        ":escalated_to_manager": r.escalated_to_manager,
        ":escalation_date": opt_ts(r.escalation_date),
        ":manager_upn": r.manager_upn.as_ref().map(|u| u.as_str()),
        ":source": r.source.as_str(),
        ":batch_id": r.batch_id.as_str(),
        ":error_details": r.error_details,
        ":correlation_id": r.correlation_id.to_string(),
        ":object_id": r.object_id.as_ref().map(|o| o.as_str()),
        ":next_due_at": opt_ts(r.next_due_at),
        ":resend_count": r.resend_count,
        ":last_resend_at": opt_ts(r.last_resend_at),
        ":send_intent": r.send_intent.map(|k| k.as_str()),
        ":send_intent_at": opt_ts(r.send_intent_at),
        ":lease_owner": r.lease_owner,
        ":lease_until": opt_ts(r.lease_until),
        ":created_at": ts(r.created_at),
        ":updated_at": ts(r.updated_at),
        ":version": r.version as i64,
        ":phone_outcome": r.phone_outcome.map(|o| o.as_str()),
        ":phone_detail": r.phone_detail,
        ":phone_checked_at": opt_ts(r.phone_checked_at),
        ":per_user_mfa": r.per_user_mfa.map(|m| m.as_str()),
        ":notes": r.notes,
        ":hold": r.hold.map(|h| h.as_str()),
        ":history": r.history,
        ":strength": r.strength.map(|s| s.as_str()),
        ":methods": r.methods,
        ":target": r.target.map(|t| t.as_str()),
    };
    match expected {
        None => stmt.execute(common),
        Some(exp) => {
            let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = common.to_vec();
            let exp = exp as i64;
            params.push((":expected", &exp));
            stmt.execute(params.as_slice())
        }
    }
}
