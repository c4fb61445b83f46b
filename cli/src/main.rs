//! `replaysafe`: provision clients and call the API with correctly signed requests.
//!
//! Exit codes: 0 success (2xx or 304), 1 the API answered with an error status, 2 bad usage or
//! configuration, 3 the API or DynamoDB could not be reached.

mod admin;
mod call;
mod credentials;
mod sign_event;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "replaysafe",
    version,
    about = "Replay-safe payments API: admin and signed client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision DynamoDB: tables and clients.
    #[command(subcommand)]
    Admin(admin::Admin),
    /// Send one signed request and print the answer.
    #[command(
        after_help = "Examples:\n  replaysafe call POST /accounts --data '{\"currency\":\"EUR\",\"initial_balance\":10000}'\n  replaysafe call POST /transfers --data @transfer.json --idempotency-key inv-42\n  replaysafe call GET /accounts/acc_alice\n  replaysafe call POST /transfers --data '{...}' --save captured.json   # keep the exact bytes"
    )]
    Call(call::CallArgs),
    /// Send a request saved with `call --save` again, byte for byte (what an attacker who
    /// captured it would do), optionally with an edited body.
    Replay(call::ReplayArgs),
    /// Sign an API Gateway event template (events/*.json) for `cargo lambda invoke --data-file`.
    SignEvent(sign_event::SignEventArgs),
}

#[derive(Debug)]
pub enum Failure {
    /// The API answered with an error status (already printed).
    Status,
    Usage(String),
    Unreachable(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Usage(e.to_string())
    }
}

pub fn default_client_file() -> PathBuf {
    PathBuf::from(".local/demo-client.json")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Admin(a) => admin::run(a).await,
        Command::Call(c) => call::call(c).await,
        Command::Replay(r) => call::replay(r).await,
        Command::SignEvent(s) => sign_event::run(s),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Status) => ExitCode::from(1),
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Unreachable(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(3)
        }
    }
}
