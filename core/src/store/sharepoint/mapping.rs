//! Record ⇄ list item fields.
//!
//! Reading is lenient, because rows may come from the replaced system: `Skipped Registered`
//! reads as Active, `Error` as Pending with `ErrorDetails` set and nothing due, a missing
//! `RowVersion` as 0, a missing `CreatedAt` as SharePoint's `Created`. A row without a usable
//! `TrackingToken` reads with `token: None` so adoption can give it one. Writing always uses our
//! own values and never touches columns we do not model (`UserType`, `Notes`).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::columns::{f, LEGACY_ERROR, LEGACY_SKIPPED};
use crate::domain::{
    BatchId, Hold, InviteStatus, MailKind, MfaState, ObjectId, OnboardingRecord, PerUserMfa,
    PhoneOutcome, Source, Strength, TargetStrength, TrackingToken, Upn,
};
use crate::graph::ListItem;

/// Error text given to legacy `Error` rows that carry no details.
pub const LEGACY_ERROR_TEXT: &str = "marked Error by the previous system";

/// A record read from the list, with what is needed to write it back.
#[derive(Debug, Clone)]
pub struct Row {
    /// The record (its `version` is `RowVersion`).
    pub record: OnboardingRecord,
    /// Item id.
    pub item_id: String,
    /// eTag for `If-Match`.
    pub etag: Option<String>,
    /// False when the row had no valid token (one was generated in memory).
    pub has_token: bool,
    /// The raw `InviteStatus` value, when it is a legacy one.
    pub legacy_status: Option<String>,
    /// False for rows this product never wrote (no `RowVersion`).
    pub has_version: bool,
}

/// Timestamps as SharePoint stores them: UTC, whole seconds.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `t` rounded up to a whole second (what [`ts`] keeps without moving it earlier).
pub fn ceil_second(t: DateTime<Utc>) -> DateTime<Utc> {
    let whole = t - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()));
    if whole < t {
        whole + Duration::seconds(1)
    } else {
        whole
    }
}

fn text(fields: &Map<String, Value>, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn date(fields: &Map<String, Value>, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&text(fields, name)?)
        .ok()
        .map(|d| d.to_utc())
}

fn number(fields: &Map<String, Value>, name: &str) -> u64 {
    match fields.get(name) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|v| *v >= 0.0).map(|v| v as u64))
            .unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse::<f64>().map_or(0, |v| v.max(0.0) as u64),
        _ => 0,
    }
}

fn boolean(fields: &Map<String, Value>, name: &str) -> bool {
    match fields.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v != 0.0),
        Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        _ => false,
    }
}

/// Reads one item. `None` when `Title` is not a valid UPN (such rows are skipped, never
/// deleted or rewritten). `now` stands in for a creation time nobody recorded.
pub fn read_row(item: &ListItem, now: DateTime<Utc>) -> Option<Row> {
    let fields = &item.fields;
    let upn = Upn::parse(&text(fields, f::TITLE)?).ok()?;
    let raw_status = text(fields, f::STATUS).unwrap_or_else(|| "Pending".into());
    let mut error_details = text(fields, f::ERROR);
    let mut mfa_state: MfaState = text(fields, f::MFA_STATE)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let mut next_due_at = date(fields, f::NEXT_DUE);
    let mut legacy_status = None;
    let status = if raw_status.eq_ignore_ascii_case(LEGACY_SKIPPED) {
        legacy_status = Some(raw_status.clone());
        mfa_state = MfaState::Registered;
        next_due_at = None;
        InviteStatus::Active
    } else if raw_status.eq_ignore_ascii_case(LEGACY_ERROR) {
        legacy_status = Some(raw_status.clone());
        error_details.get_or_insert_with(|| LEGACY_ERROR_TEXT.to_string());
        next_due_at = None;
        InviteStatus::Pending
    } else {
        raw_status.parse().unwrap_or(InviteStatus::Pending)
    };
    let token = text(fields, f::TOKEN).and_then(|t| TrackingToken::parse(&t).ok());
    let has_token = token.is_some();
    let created_at = date(fields, f::CREATED_AT)
        .or_else(|| date(fields, f::SP_CREATED))
        .unwrap_or(now);
    let record = OnboardingRecord {
        upn,
        display_name: text(fields, f::DISPLAY_NAME).or_else(|| text(fields, f::DISPLAY_NAME_DOCS)),
        department: text(fields, f::DEPARTMENT),
        job_title: text(fields, f::JOB_TITLE),
        status,
        in_group: boolean(fields, f::IN_GROUP),
        mfa_state,
        mfa_registration_date: date(fields, f::MFA_DATE),
        token: token.unwrap_or_else(TrackingToken::generate),
        clicked_link_date: date(fields, f::CLICKED),
        added_to_group_date: date(fields, f::ADDED_TO_GROUP),
        invite_sent_date: date(fields, f::INVITE_SENT),
        last_reminder_date: date(fields, f::LAST_REMINDER),
        reminder_count: u32::try_from(number(fields, f::REMINDERS)).unwrap_or(u32::MAX),
        last_checked: date(fields, f::LAST_CHECKED),
        email_opened_date: date(fields, f::OPENED),
        escalated_to_manager: boolean(fields, f::ESCALATED),
        escalation_date: date(fields, f::ESCALATION_DATE),
        manager_upn: text(fields, f::MANAGER).and_then(|m| Upn::parse(&m).ok()),
        source: text(fields, f::SOURCE)
            .and_then(|s| s.parse().ok())
            .unwrap_or(Source::Adopted),
        batch_id: text(fields, f::BATCH)
            .and_then(|b| BatchId::parse(&b).ok())
            .unwrap_or_else(|| BatchId::default_for(created_at)),
        error_details,
        correlation_id: text(fields, f::CORRELATION)
            .and_then(|c| Uuid::parse_str(&c).ok())
            .unwrap_or_else(Uuid::nil),
        object_id: text(fields, f::OBJECT_ID).and_then(|o| ObjectId::parse(&o).ok()),
        next_due_at,
        resend_count: u32::try_from(number(fields, f::RESENDS)).unwrap_or(u32::MAX),
        last_resend_at: date(fields, f::LAST_RESEND),
        send_intent: text(fields, f::SEND_INTENT).and_then(|s| MailKind::parse(&s)),
        send_intent_at: date(fields, f::SEND_INTENT_AT),
        lease_owner: text(fields, f::LEASE_OWNER),
        lease_until: date(fields, f::LEASE_UNTIL),
        created_at,
        updated_at: date(fields, f::UPDATED_AT).unwrap_or(created_at),
        version: number(fields, f::ROW_VERSION),
        phone_outcome: text(fields, f::PHONE_OUTCOME).and_then(|s| s.parse().ok()),
        phone_detail: text(fields, f::PHONE_DETAIL),
        phone_checked_at: date(fields, f::PHONE_CHECKED_AT),
        per_user_mfa: text(fields, f::PER_USER_MFA).and_then(|s| s.parse().ok()),
        notes: text(fields, f::PROCESSING_NOTES),
        hold: text(fields, f::ADMIN_HOLD).and_then(|s| s.parse().ok()),
        history: text(fields, f::HISTORY),
        strength: text(fields, f::STRENGTH).and_then(|s| Strength::parse(&s).ok()),
        methods: text(fields, f::METHODS),
        target: text(fields, f::TARGET).and_then(|s| TargetStrength::parse(&s).ok()),
    };
    Some(Row {
        record,
        item_id: item.id.clone(),
        etag: item.etag.clone(),
        has_token,
        legacy_status,
        has_version: fields.get(f::ROW_VERSION).is_some_and(|v| !v.is_null()),
    })
}

fn opt_text(v: Option<&str>) -> Value {
    match v {
        // Single-line text columns hold at most 255 characters.
        Some(s) => Value::String(s.chars().take(255).collect()),
        None => Value::Null,
    }
}

fn opt_date(v: Option<DateTime<Utc>>) -> Value {
    v.map_or(Value::Null, |t| Value::String(ts(t)))
}

/// Every field the store writes, from `rec` (whose `version` is written as `RowVersion`).
pub fn write_fields(rec: &OnboardingRecord) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put(f::TITLE, json!(rec.upn.as_str()));
    put(f::DISPLAY_NAME, opt_text(rec.display_name.as_deref()));
    put(f::DEPARTMENT, opt_text(rec.department.as_deref()));
    put(f::JOB_TITLE, opt_text(rec.job_title.as_deref()));
    put(f::STATUS, json!(rec.status.as_str()));
    put(f::IN_GROUP, json!(rec.in_group));
    put(f::MFA_STATE, json!(rec.mfa_state.as_str()));
    put(f::MFA_DATE, opt_date(rec.mfa_registration_date));
    put(f::TOKEN, json!(rec.token.to_string()));
    put(f::CLICKED, opt_date(rec.clicked_link_date));
    put(f::ADDED_TO_GROUP, opt_date(rec.added_to_group_date));
    put(f::INVITE_SENT, opt_date(rec.invite_sent_date));
    put(f::LAST_REMINDER, opt_date(rec.last_reminder_date));
    put(f::REMINDERS, json!(rec.reminder_count));
    put(f::LAST_CHECKED, opt_date(rec.last_checked));
    put(f::OPENED, opt_date(rec.email_opened_date));
    put(f::ESCALATED, json!(rec.escalated_to_manager));
    put(f::ESCALATION_DATE, opt_date(rec.escalation_date));
    put(
        f::MANAGER,
        opt_text(rec.manager_upn.as_ref().map(Upn::as_str)),
    );
    put(f::SOURCE, json!(rec.source.as_str()));
    put(f::BATCH, json!(rec.batch_id.as_str()));
    put(
        f::ERROR,
        rec.error_details
            .as_deref()
            .map_or(Value::Null, |e| json!(e)),
    );
    put(f::CORRELATION, json!(rec.correlation_id.to_string()));
    put(
        f::OBJECT_ID,
        opt_text(rec.object_id.as_ref().map(ObjectId::as_str)),
    );
    put(f::NEXT_DUE, opt_date(rec.next_due_at));
    put(f::RESENDS, json!(rec.resend_count));
    put(f::LAST_RESEND, opt_date(rec.last_resend_at));
    put(
        f::SEND_INTENT,
        opt_text(rec.send_intent.map(MailKind::as_str)),
    );
    put(f::SEND_INTENT_AT, opt_date(rec.send_intent_at));
    put(f::LEASE_OWNER, opt_text(rec.lease_owner.as_deref()));
    put(f::LEASE_UNTIL, opt_date(rec.lease_until));
    put(f::CREATED_AT, json!(ts(rec.created_at)));
    put(f::UPDATED_AT, json!(ts(rec.updated_at)));
    put(f::ROW_VERSION, json!(rec.version));
    put(
        f::PHONE_OUTCOME,
        opt_text(rec.phone_outcome.map(PhoneOutcome::as_str)),
    );
    put(
        f::PHONE_DETAIL,
        rec.phone_detail
            .as_deref()
            .map_or(Value::Null, |d| json!(d)),
    );
    put(f::PHONE_CHECKED_AT, opt_date(rec.phone_checked_at));
    put(
        f::PER_USER_MFA,
        opt_text(rec.per_user_mfa.map(PerUserMfa::as_str)),
    );
    put(
        f::PROCESSING_NOTES,
        rec.notes.as_deref().map_or(Value::Null, |n| json!(n)),
    );
    put(f::ADMIN_HOLD, opt_text(rec.hold.map(Hold::as_str)));
    put(f::STRENGTH, opt_text(rec.strength.map(Strength::as_str)));
    put(f::TARGET, opt_text(rec.target.map(TargetStrength::as_str)));
    put(
        f::METHODS,
        rec.methods.as_deref().map_or(Value::Null, |m| json!(m)),
    );
    put(
        f::HISTORY,
        rec.history.as_deref().map_or(Value::Null, |h| json!(h)),
    );
    m
}

/// The fields of a new item: nulls left out (nothing to clear).
pub fn create_fields(rec: &OnboardingRecord) -> Map<String, Value> {
    write_fields(rec)
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NewPerson, StatusEvent};

    fn item(fields: Value) -> ListItem {
        ListItem {
            id: "7".into(),
            etag: Some("\"{A},1\"".into()),
            fields: fields.as_object().cloned().unwrap_or_default(),
            deleted: None,
        }
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .map(|d| d.to_utc())
            .unwrap_or_default();
        let upn = Upn::parse("ada@contoso.com").expect("upn");
        let mut rec = OnboardingRecord::new_pending(
            NewPerson::new(upn),
            BatchId::default_for(now),
            Source::CsvUpload,
            Uuid::new_v4(),
            now,
        );
        rec.lease_owner = Some("run".into());
        rec.version = 4;
        rec.phone_outcome = Some(PhoneOutcome::InvalidNumber);
        rec.phone_detail = Some("12 34".into());
        rec.phone_checked_at = Some(now);
        rec.per_user_mfa = Some(PerUserMfa::Enforced);
        rec.add_note("No manager in Entra ID: escalation not sent.");
        rec.apply(StatusEvent::Excluded, now).expect("exclude");
        let back = read_row(&item(Value::Object(write_fields(&rec))), now).expect("row");
        assert_eq!(back.record, rec);
        assert!(back.has_token);
    }

    #[test]
    fn legacy_values_map_onto_ours() {
        let now = Utc::now();
        let skipped = read_row(
            &item(json!({"Title": "a@contoso.com", "InviteStatus": "Skipped Registered"})),
            now,
        )
        .expect("row");
        assert_eq!(skipped.record.status, InviteStatus::Active);
        assert!(!skipped.has_token);
        let error = read_row(
            &item(json!({"Title": "b@contoso.com", "InviteStatus": "Error", "NextDueAt": "2026-01-01T00:00:00Z"})),
            now,
        )
        .expect("row");
        assert_eq!(error.record.status, InviteStatus::Pending);
        assert_eq!(
            error.record.error_details.as_deref(),
            Some(LEGACY_ERROR_TEXT)
        );
        assert_eq!(error.record.next_due_at, None, "errors are not due");
        assert!(read_row(&item(json!({"Title": "not a upn"})), now).is_none());
    }
}
