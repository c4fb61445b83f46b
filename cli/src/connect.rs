//! What every API command shares: where the API is, whose credentials (signing, or a bearer
//! token in `jwt` mode), how to retry, how to print; and how a client error becomes an exit code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use replaysafe_client::{
    Auth, Client, ClientBuilder, Credentials, Error, IdempotencyKey, RetryPolicy,
};

use crate::jwt::{self, JwtDev, DEFAULT_EXPIRES_IN, DEFAULT_JWT_DEV_FILE, JWT_DEV_ENV};
use crate::Failure;

/// Where `make run` serves the API, and where it writes the demo client.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";
pub const DEFAULT_CLIENT_FILE: &str = ".local/demo-client.json";
pub const CLIENT_ENV: &str = "REPLAYSAFE_CLIENT";
pub const ENDPOINT_ENV: &str = "REPLAYSAFE_ENDPOINT";
pub const TOKEN_ENV: &str = "REPLAYSAFE_TOKEN";

/// How an API command authenticates: by default it signs with the client file (`signature`
/// mode); `--token` or `--sub` call a `jwt`-mode API with a bearer token instead.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Authorizer (jwt) mode")]
pub struct AuthArgs {
    /// Call a jwt-mode API with this bearer token (a JWT) instead of signing with --client.
    #[arg(
        long,
        env = TOKEN_ENV,
        hide_env_values = true,
        global = true,
        value_name = "JWT"
    )]
    pub token: Option<String>,
    /// Call a jwt-mode API as principal SUB, with a one-hour token signed with the local key of
    /// --jwt-dev (what `admin token --sub SUB` prints). Takes precedence over --token and
    /// REPLAYSAFE_TOKEN.
    #[arg(long, global = true, value_name = "SUB")]
    pub sub: Option<String>,
    /// The local issuer, audience and key for --sub, as `AUTH_MODE=jwt make run` writes them.
    #[arg(
        long,
        env = JWT_DEV_ENV,
        default_value = DEFAULT_JWT_DEV_FILE,
        global = true,
        value_name = "FILE"
    )]
    pub jwt_dev: PathBuf,
}

impl AuthArgs {
    /// True when the command calls a jwt-mode API (a token or a principal was given).
    pub fn bearer(&self) -> bool {
        self.token.is_some() || self.sub.is_some()
    }

    /// A bearer token from --sub or --token, or signing with the credentials in `client`.
    pub fn auth(&self, client: &Path) -> Result<Auth, Failure> {
        let token = match (&self.sub, &self.token) {
            (Some(sub), _) => {
                jwt::check_sub(sub)?;
                let dev = JwtDev::from_file(&self.jwt_dev)?;
                jwt::mint(&dev, sub, DEFAULT_EXPIRES_IN)?
            }
            (None, Some(token)) => token.clone(),
            (None, None) => {
                return Ok(Auth::Signature(
                    credentials(client)?.signer().map_err(usage)?,
                ))
            }
        };
        Auth::bearer(token)
            .map_err(|e| Failure::Usage(format!("--token (or REPLAYSAFE_TOKEN): {e}")))
    }
}

fn usage(e: Error) -> Failure {
    Failure::Usage(e.to_string())
}

/// The client file at `path`, with a hint when it does not exist.
pub fn credentials(path: &Path) -> Result<Credentials, Failure> {
    Credentials::from_file(path).map_err(|e| {
        let hint = if path.exists() {
            ""
        } else {
            " (start the stack with `make run`, or pass --client FILE / set REPLAYSAFE_CLIENT; \
             for a jwt-mode API, --token JWT or --sub SUB)"
        };
        Failure::Usage(format!("{e}{hint}"))
    })
}

#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Connection and output")]
pub struct ApiArgs {
    /// Client credentials file ({"client_id", "secret"}), as `admin create-client` prints it, or
    /// a later key's ({"client_id", "key_id", "secret"}), as `admin create-key` prints it.
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
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub profile: ProfileArgs,
}

/// What the API's signature profile requires beyond the contract (docs/guard.md, "Profiles"):
/// signing options, refused with --token or --sub.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Signature profile")]
pub struct ProfileArgs {
    /// Sign every request with tag="TAG" (an API deployed with SIGNATURE_TAG requires its tag).
    #[arg(
        long,
        env = "REPLAYSAFE_SIGNATURE_TAG",
        global = true,
        value_name = "TAG"
    )]
    pub signature_tag: Option<String>,
    /// Cover "@authority" (the endpoint's host and non-default port) in every signature (an API
    /// deployed with REQUIRE_AUTHORITY or SIGNATURE_AUTHORITY requires it).
    #[arg(long, env = "REPLAYSAFE_COVER_AUTHORITY", global = true)]
    pub cover_authority: bool,
}

impl ProfileArgs {
    /// `builder` with the options given.
    pub fn apply(&self, mut builder: ClientBuilder) -> ClientBuilder {
        if let Some(tag) = &self.signature_tag {
            builder = builder.signature_tag(tag);
        }
        if self.cover_authority {
            builder = builder.cover_authority();
        }
        builder
    }
}

fn seconds(name: &str, value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Failure::Usage(format!("--{name} must be a positive number of seconds")))
}

impl ApiArgs {
    /// How to authenticate: signing with --client, or a bearer token (--token, --sub).
    pub fn auth(&self) -> Result<Auth, Failure> {
        self.auth.auth(&self.client)
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

    /// A builder for the endpoint, authenticating as [`ApiArgs::auth`] says (when signing,
    /// knowing the client the key signs for), with the signature profile's options.
    pub fn builder(&self) -> Result<ClientBuilder, Failure> {
        let builder = self
            .profile
            .apply(Client::builder_with_auth(&self.endpoint, self.auth()?));
        if self.auth.bearer() {
            return Ok(builder);
        }
        Ok(builder.client_id(credentials(&self.client)?.client_id))
    }

    /// A client that reports its retries on stderr unless `--quiet`.
    pub fn connect(&self) -> Result<Client, Failure> {
        let verb = if self.auth.bearer() {
            "sending again"
        } else {
            "signing again"
        };
        let mut builder = self.builder()?.retry_policy(self.policy()?);
        if !self.quiet {
            builder = builder.on_retry(move |e| {
                let key = match &e.idempotency_key {
                    Some(k) => format!(" with the same Idempotency-Key {k}"),
                    None => String::new(),
                };
                eprintln!(
                    "retry: attempt {} got {}; {verb}{key} in {:.1} s",
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
                    "replayed": p.replayed,
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
            Error::Api(p) if self.auth.bearer() && stored_refusal(&p) => {
                let key = p.idempotency_key.clone().expect("a POST's refusal");
                eprintln!(
                    "error: {}; in jwt mode the API keeps this refusal as the answer to \
                     Idempotency-Key {key}: to try again once the cause is fixed, use a new key",
                    Error::Api(p)
                );
                Failure::Status
            }
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

/// A first (not replayed) business refusal of a POST: in jwt mode the API stores it under the
/// key (contract-modes §1), so the same key gets it again. A replayed one says so itself.
fn stored_refusal(p: &replaysafe_client::ProblemDetails) -> bool {
    use replaysafe_client::ProblemCode::*;
    p.idempotency_key.is_some()
        && !p.replayed
        && matches!(
            (p.status, &p.code),
            (404, NotFound) | (409, AccountExists | CurrencyMismatch | InsufficientFunds)
        )
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
