//! `fake-bank`: the fake external bank of `make run` and the tests (see the library's
//! documentation and docs/fake-bank.md).

use std::io::Write;
use std::sync::Arc;

use clap::Parser;
use fake_bank::{serve, Bank};
use tracing_subscriber::EnvFilter;

/// Serve a fake bank: `POST /payments` with IBAN checks and idempotency keys, and a
/// `/_control` API for the tests' faults.
#[derive(Parser, Debug)]
#[command(name = "fake-bank")]
struct Args {
    /// Address to listen on; port 0 takes a free one (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Exit when standard input closes: a test that started the bank and died (killed, so no
    /// destructor ran) closes the pipe, and the bank goes with it instead of outliving it.
    #[arg(long)]
    exit_with_stdin: bool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    if args.exit_with_stdin {
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(listen = %args.listen, error = %e, "cannot listen");
            std::process::exit(2);
        }
    };
    let addr = listener.local_addr().expect("a bound address");
    // The one line on stdout: whoever started the bank reads the port from it.
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on http://{addr}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(2);
    }
    drop(stdout);
    tracing::info!(%addr, "fake bank started");
    serve(listener, Arc::new(Bank::new())).await;
}
