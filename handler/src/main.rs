fn main() {
    eprintln!("handler: not built yet");
    std::process::exit(2);
}
