//! Process measurements from `/proc` (Linux): peak resident memory and CPU time.

use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`; 100 on Linux x86-64/arm64).
const CLK_TCK: f64 = 100.0;

/// A `kB` field of `/proc/{pid}/status`, in bytes (`VmHWM` = peak RSS, `VmRSS` = current).
pub fn status_kb(pid: &str, field: &str) -> Option<u64> {
    status_kb_file(&format!("/proc/{pid}/status"), field)
}

/// A `Field: N kB` line of a `/proc` file such as `/proc/meminfo`, in bytes.
pub fn status_kb_file(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Peak resident set size of this process, in bytes.
pub fn peak_rss() -> Option<u64> {
    status_kb("self", "VmHWM")
}

/// User + system CPU time of a process (all threads) from `/proc/{pid}/stat`.
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces: fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' field 0 is state (stat field 3), so utime (14) is index 11, stime (15) index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / CLK_TCK))
}

/// Megabytes (MiB) with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(peak_rss().is_some_and(|b| b > 0));
        assert!(cpu_time("self").is_some());
        assert_eq!(mib(3 * 1024 * 1024 / 2), "1.5");
    }
}
