//! `tenant-sim` binary (placeholder).
fn main() {}
