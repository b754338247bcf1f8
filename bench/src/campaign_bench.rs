//! `bench campaign`: N people (100,000 by default) through a whole campaign in the tenant
//! simulator at the published limits, with the seeded behaviour model of [`crate::campaign`],
//! a simulated clock and the worker run every 15 simulated minutes on SQLite, in a licensed
//! tenant (report-mode check). Once per sender-mailbox count.
//!
//! Measured: campaign length against the email-limit lower bound, Graph requests per person by
//! kind (the simulator's request log), 429/503 answers, limit violations (the benchmark fails if
//! there is any), CPU time and peak memory of this process (simulator included).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tenant_sim::{RequestRecord, SentMail};

use crate::campaign::{campaign_start, mail_kind, Behaviour, Campaign, CampaignConfig};
use crate::procstat;

/// Options of `bench campaign`.
#[derive(Debug, Clone)]
pub struct Options {
    /// People uploaded.
    pub people: usize,
    /// Sender-mailbox counts, one campaign each.
    pub mailboxes: Vec<usize>,
    /// Seed of the behaviour model.
    pub seed: u64,
    /// Simulated minutes between worker runs.
    pub every_minutes: i64,
    /// `MFA_CHECK_MODE` of the worker (`auto` = audit events, as the simulator permits them).
    pub check_mode: String,
    /// On the SharePoint list store at this RU tier instead of SQLite.
    pub sharepoint_ru: Option<u32>,
}

/// One campaign's figures.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Sender mailboxes.
    pub mailboxes: usize,
    /// Simulated days from the upload until everyone was Active or escalated.
    pub length_days: f64,
    /// Emails sent until then, by kind.
    pub emails: BTreeMap<String, u64>,
    /// Total emails / (mailboxes × 10,000 per day).
    pub lower_bound_days: f64,
    /// Days from the first to the last invitation, and its own bound.
    pub invitation_days: (f64, f64),
    /// How the invitation phase's runs used their time ([`sending_duty`]).
    pub invitation_runs: String,
    /// Graph requests by kind over the whole campaign.
    pub requests: BTreeMap<String, u64>,
    /// 429 answers.
    pub throttled_429: u64,
    /// 503 answers.
    pub unavailable_503: u64,
    /// Simulator violations.
    pub violations: usize,
    /// Worker runs (failed ones).
    pub runs: (u64, u64),
    /// Final statuses.
    pub statuses: BTreeMap<String, u64>,
    /// Wall seconds of the campaign (set-up excluded), and of the set-up.
    pub wall_s: (f64, f64),
    /// CPU seconds of the campaign (set-up excluded).
    pub cpu_s: f64,
    /// Peak RSS of the process during this campaign (MiB), if the peak could be reset.
    pub peak_rss: String,
}

/// Request kinds for the table.
pub fn kind(r: &RequestRecord) -> String {
    let p = r.path.as_str();
    let k = if p.ends_with("$batch") {
        "$batch envelope"
    } else if p.contains("/sites/") && r.method == "GET" {
        "SharePoint read"
    } else if p.contains("/sites/") {
        "SharePoint write"
    } else if p.contains("/sendMail") {
        "sendMail"
    } else if p.contains("userRegistrationDetails") {
        "registration report page"
    } else if p.contains("/auditLogs/directoryAudits") {
        "audit log page"
    } else if p.ends_with("/users") && r.query.contains("expand") {
        "managers, 15 per look-up"
    } else if p.ends_with("/users") {
        "users, 15 per look-up"
    } else if p.contains("/groups/") && r.method == "PATCH" {
        "group add, 20 per PATCH"
    } else if p.contains("/manager") {
        "manager"
    } else if p.contains("/members") {
        "group add"
    } else if p.contains("/authentication/methods") {
        "methods read"
    } else if p.contains("/token") || p.contains("/msi/") {
        "token"
    } else if p.contains("/users/") {
        "user read"
    } else {
        "other"
    };
    if r.in_batch {
        format!("{k} (in $batch)")
    } else {
        k.to_string()
    }
}

/// The least time `emails` take from `mailboxes` senders at Exchange's limits (30 a minute and
/// 10,000 in any rolling 24 h, per mailbox), counted to the last one's send: the k-th message of
/// a mailbox (0-based) can go no sooner than `k / 10,000` days plus `k % 10,000` thirtieths of a
/// minute after the first.
pub fn send_bound_days(emails: u64, mailboxes: usize) -> f64 {
    let per = emails.div_ceil(mailboxes.max(1) as u64);
    let Some(k) = per.checked_sub(1) else {
        return 0.0;
    };
    (k / 10_000) as f64 + (k % 10_000) as f64 / 30.0 / 1_440.0
}

/// How the runs of the invitation phase (`from`..=`to`) used their time: per run, when the
/// first and last email left after the run's start, and how many went. Where a run spends the
/// time it does not send is where the phase loses against its bound.
pub fn sending_duty(
    spans: &[(DateTime<Utc>, DateTime<Utc>)],
    outbox: &[SentMail],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> String {
    let (mut runs, mut sending, mut sends) = (0usize, 0usize, 0usize);
    let (mut first, mut last, mut length) = (0.0f64, 0.0f64, 0.0f64);
    let (mut quiet, mut longest) = (0usize, 0.0f64);
    for (start, end) in spans.iter().filter(|(s, _)| *s >= from && *s <= to) {
        runs += 1;
        let took = (*end - *start).num_milliseconds() as f64 / 1e3;
        length += took;
        longest = longest.max(took);
        let at: Vec<_> = outbox
            .iter()
            .filter(|m| m.at >= *start && m.at <= *end)
            .map(|m| m.at)
            .collect();
        let (Some(f), Some(l)) = (at.iter().min(), at.iter().max()) else {
            quiet += 1;
            continue;
        };
        sending += 1;
        sends += at.len();
        first += (*f - *start).num_milliseconds() as f64 / 1e3;
        last += (*l - *start).num_milliseconds() as f64 / 1e3;
    }
    let per = |x: f64, n: usize| x / n.max(1) as f64;
    format!(
        "{runs} runs ({quiet} sent nothing), mean run {:.0} s, longest {longest:.0} s; runs that sent: \
         first email after {:.1} s, last at {:.1} s, {:.1} emails each",
        per(length, runs),
        per(first, sending),
        per(last, sending),
        per(sends as f64, sending),
    )
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

/// Runs one campaign with `mailboxes` senders.
pub async fn one(opts: &Options, mailboxes: usize) -> anyhow::Result<Measured> {
    let (people, seed) = (opts.people, opts.seed);
    // Reset the peak-RSS counter (Linux `clear_refs` 5), so each campaign reports its own peak.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let setup = Instant::now();
    let mut c = Campaign::setup(CampaignConfig {
        people,
        mailboxes,
        seed,
        behaviour: Behaviour::default(),
        run_every_minutes: opts.every_minutes,
        extra_vars: vec![("MFA_CHECK_MODE", opts.check_mode.clone())],
        sharepoint_ru: opts.sharepoint_ru,
        ..CampaignConfig::default()
    })
    .await?;
    let setup_s = setup.elapsed().as_secs_f64();
    let cpu_before = procstat::cpu_time("self").unwrap_or_default();
    let wall = Instant::now();
    let mut day = 0;
    while c.step().await?.is_none() {
        let d = (c.now() - campaign_start()).num_days();
        if d > day {
            day = d;
            eprintln!(
                "  [{mailboxes} mailbox(es)] day {d}: {} runs, {} emails, {:.1} s wall",
                c.runs,
                c.outbox_len(),
                wall.elapsed().as_secs_f64()
            );
        }
    }
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = procstat::cpu_time("self")
        .unwrap_or_default()
        .saturating_sub(cpu_before)
        .as_secs_f64();
    let peak_rss = if reset {
        procstat::peak_rss().map_or("?".into(), procstat::mib)
    } else {
        "n/a".into()
    };

    let start = campaign_start();
    let from = c.tenant.request_count();
    let records = c.records().await?;
    c.harness_requests.push(from..c.tenant.request_count());
    let end = records
        .iter()
        .filter_map(Campaign::done_at)
        .max()
        .unwrap_or(start);
    let mut statuses = BTreeMap::new();
    for r in &records {
        *statuses.entry(r.status.to_string()).or_insert(0) += 1;
    }
    let outbox = c.tenant.outbox();
    let mut emails = BTreeMap::new();
    let mut invites = Vec::new();
    for m in outbox.iter().filter(|m| m.at <= end) {
        let k = mail_kind(m);
        if k == "invitation" {
            invites.push(m.at);
        }
        *emails.entry(k).or_insert(0u64) += 1;
    }
    let total: u64 = emails.values().sum();
    // While invitations are still waiting, sending is the only bound: every email sent from the
    // first invitation to the last (reminders and escalations included) against the fastest
    // the mailboxes could have sent that many.
    let invitation_days = match (invites.first(), invites.last()) {
        (Some(a), Some(b)) => {
            let in_phase = outbox.iter().filter(|m| m.at >= *a && m.at <= *b).count() as u64;
            (days(*a, *b), send_bound_days(in_phase, mailboxes))
        }
        _ => (0.0, 0.0),
    };
    let invitation_runs = match (invites.first(), invites.last()) {
        (Some(a), Some(b)) => sending_duty(&c.run_spans, &outbox, *a, *b),
        _ => "no invitations".to_string(),
    };
    let mut requests = BTreeMap::new();
    let (mut t429, mut t503) = (0, 0);
    let mut harness = c.harness_requests.iter().peekable();
    for (i, r) in c.tenant.requests().into_iter().enumerate() {
        while harness.peek().is_some_and(|h| h.end <= i) {
            harness.next();
        }
        if harness.peek().is_some_and(|h| h.contains(&i)) {
            continue;
        }
        *requests.entry(kind(&r)).or_insert(0u64) += 1;
        t429 += u64::from(r.status == 429);
        t503 += u64::from(r.status == 503);
    }
    let violations = c.tenant.violations();
    for v in violations.iter().take(5) {
        eprintln!("violation: {v:?}");
    }
    let m = Measured {
        mailboxes,
        length_days: days(start, end),
        emails,
        lower_bound_days: send_bound_days(total, mailboxes),
        invitation_days,
        invitation_runs,
        requests,
        throttled_429: t429,
        unavailable_503: t503,
        violations: violations.len(),
        runs: (c.runs, c.failed_runs),
        statuses,
        wall_s: (wall_s, setup_s),
        cpu_s,
        peak_rss,
    };
    c.sim.shutdown().await;
    Ok(m)
}

/// Runs the benchmark: one campaign per mailbox count. Fails (after printing the table) if the
/// simulator recorded any limit violation.
pub async fn run(opts: Options) -> anyhow::Result<String> {
    let mut rows = Vec::new();
    for &mb in &opts.mailboxes {
        rows.push(one(&opts, mb).await?);
    }
    let table = render(&opts, &rows);
    let violations: usize = rows.iter().map(|m| m.violations).sum();
    if violations > 0 {
        println!("{table}");
        anyhow::bail!("{violations} limit violations recorded by the simulator");
    }
    Ok(table)
}

/// The Markdown report.
pub fn render(opts: &Options, rows: &[Measured]) -> String {
    let b = Behaviour::default();
    let mut out = format!(
        "### campaign: {} people, behaviour seed {}, simulator at published limits, licensed tenant, audit log readable, `MFA_CHECK_MODE={}`, {}, worker every {} simulated minutes\n\n\
         Behaviour: {} % already registered; act on invitation {} %, reminder #1 {} %, #2 {} %, #3 {} %; never {} %; {} % of actors click first; {} % of emails opened; act {}–{} h after the email.\n\n",
        opts.people, opts.seed, opts.check_mode,
        opts.sharepoint_ru.map_or("SQLite".to_string(), |ru| format!("SharePoint list store at {ru} RU/min")),
        opts.every_minutes, b.already_registered, b.after_invitation, b.after_reminder_1,
        b.after_reminder_2, b.after_reminder_3, b.ignore, b.click_percent, b.open_percent,
        b.act_after_hours.0, b.act_after_hours.1,
    );
    out.push_str("| mailboxes | campaign days | emails until then (by kind) | email lower bound days | length ÷ bound | invitation phase: days first→last invitation / send bound of every email in it / ratio | runs (failed) | 429 / 503 | violations | wall s (set-up s) | CPU s | peak RSS MiB |\n");
    out.push_str("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for m in rows {
        let total: u64 = m.emails.values().sum();
        let kinds: Vec<String> = m.emails.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out.push_str(&format!(
            "| {} | {:.2} | {} ({}) | {:.2} | {:.2} | {:.3} / {:.3} / {:.3} | {} ({}) | {} / {} | {} | {:.1} ({:.1}) | {:.1} | {} |\n",
            m.mailboxes,
            m.length_days,
            total,
            kinds.join(", "),
            m.lower_bound_days,
            m.length_days / m.lower_bound_days.max(f64::MIN_POSITIVE),
            m.invitation_days.0,
            m.invitation_days.1,
            m.invitation_days.0 / m.invitation_days.1.max(f64::MIN_POSITIVE),
            m.runs.0,
            m.runs.1,
            m.throttled_429,
            m.unavailable_503,
            m.violations,
            m.wall_s.0,
            m.wall_s.1,
            m.cpu_s,
            m.peak_rss,
        ));
    }
    out.push('\n');
    for m in rows {
        out.push_str(&format!(
            "Invitation phase, {} mailbox(es): {}.\n",
            m.mailboxes, m.invitation_runs
        ));
    }
    out.push_str("\nGraph requests per person (whole campaign, all kinds; request log of the simulator):\n\n");
    out.push_str("| mailboxes | kind | requests | per person |\n|---:|---|---:|---:|\n");
    for m in rows {
        let total: u64 = m.requests.values().sum();
        for (k, v) in &m.requests {
            out.push_str(&format!(
                "| {} | {k} | {v} | {:.4} |\n",
                m.mailboxes,
                *v as f64 / opts.people.max(1) as f64
            ));
        }
        out.push_str(&format!(
            "| {} | **total** | {total} | {:.4} |\n",
            m.mailboxes,
            total as f64 / opts.people.max(1) as f64
        ));
    }
    out.push_str("\nFinal statuses: ");
    let finals: Vec<String> = rows
        .iter()
        .map(|m| {
            let s: Vec<String> = m.statuses.iter().map(|(k, v)| format!("{k} {v}")).collect();
            format!("{} mailbox(es): {}", m.mailboxes, s.join(", "))
        })
        .collect();
    out.push_str(&finals.join("; "));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::{send_bound_days, sending_duty};
    use chrono::{DateTime, Duration, Utc};
    use tenant_sim::SentMail;

    fn sent(at: DateTime<Utc>) -> SentMail {
        SentMail {
            sender: "mfa@contoso.test".into(),
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: String::new(),
            content_type: "HTML".into(),
            body: String::new(),
            text_alternative: None,
            mime: false,
            headers: Vec::new(),
            save_to_sent_items: false,
            at,
        }
    }

    #[test]
    fn the_invitation_runs_say_when_their_emails_went() {
        let t = crate::campaign::campaign_start();
        let s = |secs: i64| t + Duration::seconds(secs);
        let spans = [(s(0), s(600)), (s(900), s(1000)), (s(1800), s(1900))];
        // The third run starts after the phase: not counted.
        let outbox = [sent(s(10)), sent(s(500)), sent(s(1850))];
        assert_eq!(
            sending_duty(&spans, &outbox, s(0), s(1000)),
            "2 runs (1 sent nothing), mean run 350 s, longest 600 s; runs that sent: \
             first email after 10.0 s, last at 500.0 s, 2.0 emails each"
        );
    }

    #[test]
    fn the_send_bound_follows_both_exchange_limits() {
        assert_eq!(send_bound_days(0, 1), 0.0);
        assert_eq!(send_bound_days(1, 1), 0.0);
        // 31 messages: the 31st a minute after the first.
        assert!((send_bound_days(31, 1) - 1.0 / 1_440.0).abs() < 1e-9);
        // The 10,001st waits for the first to leave the 24-hour window.
        assert_eq!(send_bound_days(10_001, 1), 1.0);
        // Five mailboxes share the load.
        assert_eq!(send_bound_days(50_005, 5), 1.0);
        assert!((send_bound_days(100_000, 1) - (9.0 + 9_999.0 / 30.0 / 1_440.0)).abs() < 1e-9);
    }
}
