//! `replaysafe`: provision clients and call the API with correctly signed requests, or with a
//! bearer token in authorizer (`jwt`) mode.
//!
//! Exit codes: 0 success (2xx or 304), 1 the API answered with an error status or an admin
//! command was refused, 2 bad usage or configuration, 3 the API or DynamoDB could not be
//! reached. `admin audit` exits as `diff` does: 0 clean, 1 violations, 2 it could not run.

mod admin;
mod call;
mod connect;
mod demo;
mod jwt;
mod queue;
mod resources;
mod sign;
mod sign_event;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "Quick start (with `make run` serving the API in another terminal):
  replaysafe demo                                   # the replay scenarios, step by step
  replaysafe account create --currency EUR --initial-balance 10000 --id acc_alice
  replaysafe account create --currency EUR --id acc_bob
  replaysafe transfer create --from acc_alice --to acc_bob --amount 1500 --currency EUR
  replaysafe account get acc_alice
  replaysafe sign GET /accounts/acc_alice           # headers and a curl command

API commands read the client from --client FILE or REPLAYSAFE_CLIENT (default
.local/demo-client.json, written by `make run`) and the API from --endpoint URL or
REPLAYSAFE_ENDPOINT (default http://127.0.0.1:9000). They retry safely: every attempt is signed
anew with the operation's one Idempotency-Key. When a create's outcome is unknown (no answer
after the retries), the error says so and a `resume:` line gives the command that resumes it:
the same arguments with --idempotency-key KEY. Never retry it with a new key.

Authorizer (jwt) mode, an API behind a JWT authorizer (`AUTH_MODE=jwt make run`): give
--token JWT (or REPLAYSAFE_TOKEN), or --sub SUB to mint a one-hour token for principal SUB with
the local key (.local/jwt-dev.json, or --jwt-dev FILE). Nothing is signed; the same key and
retries. A refusal is then stored under its key: retrying with that key gets it again, so once
the cause is fixed use a new key.
  replaysafe account create --currency EUR --initial-balance 10000 --id acc_alice --sub alice
  export REPLAYSAFE_TOKEN=\"$(replaysafe admin token --sub alice)\"

Exit codes:
  0  success (2xx, or 304 for `account get --if-none-match`)
  1  the API answered with an error (one line on stderr; with --json, {\"error\": …} on stdout),
     or an admin command was refused (a third active key, an unknown client or key)
  2  bad usage or configuration (arguments, client file, idempotency key)
  3  the API, or DynamoDB or SQS for `admin` and `payout`, could not be reached
`admin audit` exits as `diff` does: 0 clean, 1 violations, 2 it could not run.";

#[derive(Parser)]
#[command(
    name = "replaysafe",
    version,
    about = "Replay-safe payments API: admin and signed client",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision DynamoDB (tables, clients) and the payout queue, and print local jwt-mode tokens.
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
    /// Accounts: create one, or show one of yours.
    Account(resources::AccountCmd),
    /// Transfers: move money, or show a transfer you made.
    Transfer(resources::TransferCmd),
    /// Print the signed headers of a request, and a curl command that sends it.
    #[command(after_help = sign::EXAMPLES)]
    Sign(sign::SignArgs),
    /// The replay scenarios against a running stack, step by step.
    #[command(after_help = demo::EXAMPLES)]
    Demo(demo::DemoArgs),
    /// Payouts: enqueue one for the payouts function (SQS).
    Payout(queue::PayoutCmd),
}

#[derive(Debug)]
pub enum Failure {
    /// The API answered with an error status (already printed).
    Status,
    /// The request was understood and refused (an admin command: a third active key, an
    /// unknown client or key).
    Refused(String),
    Usage(String),
    Unreachable(String),
    /// A check could not run to its end (`admin audit`: exit 2, as `diff` has it).
    CouldNotRun(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Usage(e.to_string())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // One line, never a backtrace (even with RUST_BACKTRACE set): a panic is our bug.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let what = (payload.downcast_ref::<&str>().copied())
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic");
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = what.replace(['\r', '\n'], " ");
        eprintln!("error: internal error{at}: {what} (please report it)");
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Admin(a) => admin::run(a).await,
        Command::Call(c) => call::call(c).await,
        Command::Replay(r) => call::replay(r).await,
        Command::SignEvent(s) => sign_event::run(s),
        Command::Account(a) => resources::account(a).await,
        Command::Transfer(t) => resources::transfer(t).await,
        Command::Sign(s) => sign::run(s),
        Command::Demo(d) => demo::run(d).await,
        Command::Payout(p) => queue::payout(p).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Status) => ExitCode::from(1),
        Err(Failure::Refused(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Unreachable(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(3)
        }
        Err(Failure::CouldNotRun(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
    }
}
