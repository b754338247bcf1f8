//! Exchange Online sending limits, per sender mailbox: at most `per_minute` messages in any
//! 60 seconds and `per_day` recipients in any rolling 24 hours.
//!
//! The limiter is rebuilt at the start of each run from the store's mail log (which is written
//! before every send), so limits hold across runs, processes and crashes. It answers "which
//! mailbox can send next, and when", spreading work across every configured mailbox.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use mfa_core::config::MailLimits;
use mfa_core::domain::Upn;
use mfa_core::store::SendLogEntry;

/// A margin added to window edges so a send never lands exactly on the boundary the service
/// may count inclusively.
const EDGE: Duration = Duration::milliseconds(50);

#[derive(Debug, Clone)]
struct Mailbox {
    address: Upn,
    /// Send times within the last minute.
    minute: VecDeque<DateTime<Utc>>,
    /// (time, recipients) within the last 24 hours.
    day: VecDeque<(DateTime<Utc>, u32)>,
    day_total: u64,
}

impl Mailbox {
    fn prune(&mut self, now: DateTime<Utc>) {
        while self
            .minute
            .front()
            .is_some_and(|t| *t + Duration::minutes(1) + EDGE <= now)
        {
            self.minute.pop_front();
        }
        while let Some((t, n)) = self.day.front().copied() {
            if t + Duration::days(1) + EDGE > now {
                break;
            }
            self.day.pop_front();
            self.day_total -= u64::from(n);
        }
    }

    /// Earliest instant at or after `now` when this mailbox may send to `recipients` people.
    fn ready_at(&self, limits: MailLimits, recipients: u32, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut at = now;
        let per_minute = limits.per_minute as usize;
        if self.minute.len() >= per_minute {
            let oldest_that_must_expire = self.minute[self.minute.len() - per_minute];
            at = at.max(oldest_that_must_expire + Duration::minutes(1) + EDGE);
        }
        let cap = u64::from(limits.per_day);
        let need = u64::from(recipients);
        if self.day_total + need > cap {
            let mut freed = 0u64;
            for (t, n) in &self.day {
                freed += u64::from(*n);
                if self.day_total - freed + need <= cap {
                    at = at.max(*t + Duration::days(1) + EDGE);
                    break;
                }
            }
        }
        at
    }
}

/// Per-mailbox windows for all sender mailboxes.
#[derive(Debug, Clone)]
pub struct SendLimiter {
    limits: MailLimits,
    boxes: Vec<Mailbox>,
    next: usize,
}

impl SendLimiter {
    /// The oldest mail log entry a limiter primed at `now` can still count: entries before it
    /// are out of every window (the day's included), so they may be pruned.
    pub fn log_needed_since(now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(1) - EDGE
    }

    /// A limiter for `mailboxes`, primed with the mail log of the last 24 hours.
    pub fn new(
        limits: MailLimits,
        mailboxes: &[Upn],
        log: &[SendLogEntry],
        now: DateTime<Utc>,
    ) -> Self {
        let mut boxes: Vec<Mailbox> = mailboxes
            .iter()
            .map(|a| Mailbox {
                address: a.clone(),
                minute: VecDeque::new(),
                day: VecDeque::new(),
                day_total: 0,
            })
            .collect();
        let mut sorted: Vec<&SendLogEntry> = log.iter().collect();
        sorted.sort_by_key(|e| e.at);
        for e in sorted {
            if let Some(b) = boxes.iter_mut().find(|b| b.address == e.mailbox) {
                b.minute.push_back(e.at);
                b.day.push_back((e.at, e.recipients));
                b.day_total += u64::from(e.recipients);
            }
        }
        for b in &mut boxes {
            b.prune(now);
        }
        Self {
            limits,
            boxes,
            next: 0,
        }
    }

    /// The mailbox that can send to `recipients` people soonest, and when. Mailboxes ready at the
    /// same instant take turns. `None` when there is no mailbox, or a message that large could
    /// never fit the daily limit.
    pub fn next_slot(
        &mut self,
        recipients: u32,
        now: DateTime<Utc>,
    ) -> Option<(Upn, DateTime<Utc>)> {
        if recipients > self.limits.per_day {
            return None;
        }
        let n = self.boxes.len();
        let mut best: Option<(usize, DateTime<Utc>)> = None;
        for k in 0..n {
            let i = (self.next + k) % n;
            self.boxes[i].prune(now);
            let at = self.boxes[i].ready_at(self.limits, recipients, now);
            if best.is_none_or(|(_, b)| at < b) {
                best = Some((i, at));
            }
        }
        best.map(|(i, at)| (self.boxes[i].address.clone(), at))
    }

    /// Records a send (call before sending, together with the store's mail log).
    pub fn record(&mut self, mailbox: &Upn, at: DateTime<Utc>, recipients: u32) {
        if let Some(i) = self.boxes.iter().position(|b| &b.address == mailbox) {
            let b = &mut self.boxes[i];
            b.minute.push_back(at);
            b.day.push_back((at, recipients));
            b.day_total += u64::from(recipients);
            self.next = (i + 1) % self.boxes.len();
        }
    }

    /// Moves `mailbox`'s latest send to `at` when it reached Exchange later than planned (the
    /// Graph client waited out a `Retry-After` or a back-off and sent it again): Exchange counts
    /// a message when it accepts it, so the windows must too.
    pub fn delay_last(&mut self, mailbox: &Upn, at: DateTime<Utc>) {
        if let Some(b) = self.boxes.iter_mut().find(|b| &b.address == mailbox) {
            if let Some(t) = b.minute.back_mut() {
                *t = (*t).max(at);
            }
            if let Some((t, _)) = b.day.back_mut() {
                *t = (*t).max(at);
            }
        }
    }

    /// About how many single-recipient messages all mailboxes together can send between `now`
    /// and `until` (per-minute pace, capped by what is left of each daily allowance).
    pub fn capacity(&mut self, now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
        let minutes = ((until - now).num_seconds().max(0) as u64).div_ceil(60);
        let limits = self.limits;
        self.boxes
            .iter_mut()
            .map(|b| {
                b.prune(now);
                let pace = u64::from(limits.per_minute) * minutes;
                let day = u64::from(limits.per_day).saturating_sub(b.day_total);
                pace.min(day)
            })
            .sum()
    }

    /// Messages each mailbox could still send right now before hitting a limit (for reports).
    pub fn headroom(&mut self, now: DateTime<Utc>) -> u64 {
        let limits = self.limits;
        self.boxes
            .iter_mut()
            .map(|b| {
                b.prune(now);
                let minute = (limits.per_minute as usize).saturating_sub(b.minute.len()) as u64;
                let day = u64::from(limits.per_day).saturating_sub(b.day_total);
                minute.min(day)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn upn(s: &str) -> Upn {
        Upn::parse(s).expect("test address")
    }

    /// Drives the limiter greedily for `span` and returns the send times per mailbox.
    fn drive(limiter: &mut SendLimiter, span: Duration) -> Vec<(Upn, DateTime<Utc>)> {
        let mut now = t0();
        let mut sent = Vec::new();
        while let Some((mbx, at)) = limiter.next_slot(1, now) {
            if at >= t0() + span {
                break;
            }
            now = at;
            limiter.record(&mbx, now, 1);
            sent.push((mbx, now));
        }
        sent
    }

    #[test]
    fn never_more_than_per_minute_in_any_sliding_minute_and_saturates() {
        let limits = MailLimits {
            per_minute: 30,
            per_day: 10_000,
        };
        let mut l = SendLimiter::new(limits, &[upn("a@contoso.com")], &[], t0());
        let sent = drive(&mut l, Duration::minutes(10));
        for (i, (_, t)) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|(_, u)| *u < *t + Duration::minutes(1))
                .count();
            assert!(in_window <= 30, "{in_window} sends in the minute from {t}");
        }
        assert!(
            sent.len() >= 285,
            "saturates: {} of 300 in 10 minutes",
            sent.len()
        );
    }

    #[test]
    fn rolling_day_limit_holds_and_reopens_after_24h() {
        let limits = MailLimits {
            per_minute: 30,
            per_day: 100,
        };
        let mut l = SendLimiter::new(limits, &[upn("a@contoso.com")], &[], t0());
        let day1 = drive(&mut l, Duration::hours(23));
        assert_eq!(day1.len(), 100);
        let (_, at) = l.next_slot(1, t0() + Duration::hours(23)).expect("slot");
        assert!(
            at >= day1[0].1 + Duration::days(1),
            "waits for the first send to leave the window"
        );
    }

    #[test]
    fn spreads_across_mailboxes_linearly() {
        let limits = MailLimits {
            per_minute: 30,
            per_day: 10_000,
        };
        let boxes = [
            upn("a@contoso.com"),
            upn("b@contoso.com"),
            upn("c@contoso.com"),
        ];
        let mut l = SendLimiter::new(limits, &boxes, &[], t0());
        let sent = drive(&mut l, Duration::minutes(10));
        assert!(
            sent.len() >= 3 * 285,
            "three mailboxes send three times as much: {}",
            sent.len()
        );
        for b in &boxes {
            let n = sent.iter().filter(|(m, _)| m == b).count();
            assert!((285..=300).contains(&n), "{b} sent {n}");
        }
    }

    #[test]
    fn primed_from_the_log() {
        let limits = MailLimits {
            per_minute: 30,
            per_day: 10,
        };
        let mbx = upn("a@contoso.com");
        let log: Vec<SendLogEntry> = (0..10)
            .map(|i| SendLogEntry {
                mailbox: mbx.clone(),
                at: t0() - Duration::hours(20) + Duration::minutes(i),
                recipients: 1,
            })
            .collect();
        let mut l = SendLimiter::new(limits, &[mbx], &log, t0());
        let (_, at) = l.next_slot(1, t0()).expect("slot");
        assert!(
            at >= t0() + Duration::hours(4),
            "the earlier run's sends still count: {at}"
        );
        assert_eq!(l.next_slot(11, t0()), None, "larger than the daily limit");
    }
}
