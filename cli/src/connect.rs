//! What every API command shares: where the API is, whose credentials, how to retry, how to
//! print; and how a client error becomes an exit code.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use replaysafe_client::{Client, Credentials, Error, IdempotencyKey, RetryPolicy};

use crate::Failure;

/// Where `make run` serves the API, and where it writes the demo client.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";
pub const DEFAULT_CLIENT_FILE: &str = ".local/demo-client.json";
pub const CLIENT_ENV: &str = "REPLAYSAFE_CLIENT";
pub const ENDPOINT_ENV: &str = "REPLAYSAFE_ENDPOINT";

#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Connection and output")]
pub struct ApiArgs {
    /// Client credentials file ({"client_id", "secret"}), as `admin create-client` prints it.
    #[arg(
        long,
        env = CLIENT_ENV,
        default_value = DEFAULT_CLIENT_FILE,
        global = true,
        value_name = "FILE"
    )]
    pub client: PathBuf,
    /// Base URL of the API.
    #[arg(
        long,
        env = ENDPOINT_ENV,
        default_value = DEFAULT_ENDPOINT,
        global = true,
        value_name = "URL"
    )]
    pub endpoint: String,
    /// Print one JSON object on stdout (errors too), for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// Attempts per operation, the first included (1: never retry).
    #[arg(long, default_value_t = 8, global = true, value_name = "N")]
    pub max_attempts: u32,
    /// Timeout of one attempt, in seconds.
    #[arg(long, default_value_t = 10.0, global = true, value_name = "SECONDS")]
    pub timeout: f64,
    /// Give up retrying after this many seconds in all (far below the server's 24 h
    /// idempotency retention).
    #[arg(long, default_value_t = 300.0, global = true, value_name = "SECONDS")]
    pub max_elapsed: f64,
    /// Do not report retries on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

fn seconds(name: &str, value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Failure::Usage(format!("--{name} must be a positive number of seconds")))
}

impl ApiArgs {
    pub fn credentials(&self) -> Result<Credentials, Failure> {
        Credentials::from_file(&self.client).map_err(|e| {
            let hint = if self.client.exists() {
                ""
            } else {
                " (start the stack with `make run`, or pass --client FILE / set REPLAYSAFE_CLIENT)"
            };
            Failure::Usage(format!("{e}{hint}"))
        })
    }

    pub fn policy(&self) -> Result<RetryPolicy, Failure> {
        if self.max_attempts == 0 {
            return Err(Failure::Usage("--max-attempts must be at least 1".into()));
        }
        Ok(RetryPolicy {
            max_attempts: self.max_attempts,
            attempt_timeout: seconds("timeout", self.timeout)?,
            max_elapsed: seconds("max-elapsed", self.max_elapsed)?,
            ..RetryPolicy::default()
        })
    }

    /// A client that reports its retries on stderr unless `--quiet`.
    pub fn connect(&self) -> Result<Client, Failure> {
        let mut builder = Client::builder(&self.endpoint, &self.credentials()?)
            .map_err(|e| Failure::Usage(e.to_string()))?
            .retry_policy(self.policy()?);
        if !self.quiet {
            builder = builder.on_retry(|e| {
                let key = match &e.idempotency_key {
                    Some(k) => format!(" with the same Idempotency-Key {k}"),
                    None => String::new(),
                };
                eprintln!(
                    "retry: attempt {} got {}; signing again{key} in {:.1} s",
                    e.attempt,
                    e.reason,
                    e.delay.as_secs_f64()
                );
            });
        }
        builder.build().map_err(|e| Failure::Usage(e.to_string()))
    }

    /// Reports a client error (stderr, and stdout with `--json`) and picks the exit code.
    pub fn fail(&self, error: Error) -> Failure {
        self.report(error, false)
    }

    /// [`ApiArgs::fail`] for a command that takes `--idempotency-key`: when the outcome is
    /// unknown, it also prints the command that resumes the operation.
    pub fn fail_resumable(&self, error: Error) -> Failure {
        self.report(error, true)
    }

    fn report(&self, error: Error, resumable: bool) -> Failure {
        let resume = error
            .idempotency_key()
            .filter(|_| resumable && error.outcome_unknown())
            .map(resume_command);
        if self.json {
            let mut fields = match &error {
                Error::Api(p) => serde_json::json!({
                    "status": p.status,
                    "code": p.code.as_str(),
                    "title": p.title,
                    "detail": p.detail,
                    "retry_after": p.retry_after.map(|d| d.as_secs()),
                }),
                e => serde_json::json!({ "message": e.to_string() }),
            };
            if let Some(key) = error.idempotency_key() {
                fields["idempotency_key"] = key.as_str().into();
                fields["outcome_unknown"] = error.outcome_unknown().into();
            }
            if let Some(command) = &resume {
                fields["resume"] = command.as_str().into();
            }
            if !matches!(error, Error::InvalidInput(_) | Error::Credentials(_)) {
                println!("{}", serde_json::json!({ "error": fields }));
            }
        }
        let resume_line = resume
            .map(|command| format!("\nresume: {command}"))
            .unwrap_or_default();
        match error {
            e @ Error::Api(_) => {
                eprintln!("error: {e}{resume_line}");
                Failure::Status
            }
            e @ Error::Protocol { .. } => {
                eprintln!("error: from {}: {e}{resume_line}", self.endpoint);
                Failure::Status
            }
            e @ Error::Transport { .. } => Failure::Unreachable(format!(
                "{e} (is the API running? `make run` serves it at http://127.0.0.1:9000){resume_line}"
            )),
            Error::InvalidInput(m) | Error::Credentials(m) => Failure::Usage(m),
        }
    }
}

/// This command line again, resuming its operation: the same arguments, with
/// `--idempotency-key KEY` in place of any key given, quoted for a POSIX shell.
pub fn resume_command(key: &IdempotencyKey) -> String {
    let mut words = Vec::new();
    let mut args = std::env::args();
    while let Some(arg) = args.next() {
        if arg == "--idempotency-key" {
            args.next();
        } else if !arg.starts_with("--idempotency-key=") {
            words.push(arg);
        }
    }
    words.push("--idempotency-key".into());
    words.push(key.to_string());
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

/// `--data` as given: JSON, or `@FILE` to read it from a file.
pub fn read_data(data: &str) -> Result<String, Failure> {
    match data.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("cannot read {path}: {e}"))),
        None => Ok(data.to_owned()),
    }
}
