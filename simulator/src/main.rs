fn main() {
    eprintln!("tenant-sim: not built yet");
    std::process::exit(2);
}
