//! The machine a benchmark ran on, for the report header.

/// `nproc`, CPU model, memory, date and build profile as one Markdown line.
pub fn describe() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |s| s.trim().to_string());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = crate::procstat::status_kb_file("/proc/meminfo", "MemTotal").unwrap_or(0);
    let profile = if cfg!(debug_assertions) {
        "debug build (numbers not comparable; use --release)"
    } else {
        "release build"
    };
    format!(
        "Machine: {cpus} CPUs ({model}), {:.1} GiB RAM; {}; {profile}.",
        mem as f64 / (1024.0 * 1024.0 * 1024.0),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
    )
}
