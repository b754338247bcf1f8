//! `worker`: run the passes outside Azure Functions. See [`mfa_worker::cli`].

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = mfa_worker::cli::Cli::parse();
    match mfa_worker::cli::main(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("worker: error: {e:#}");
            std::process::exit(1);
        }
    }
}
