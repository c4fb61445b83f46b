//! `replaysafe call` and `replaysafe replay`: one signed request, and the exact bytes of a
//! saved one sent again.

use std::path::PathBuf;

use clap::Args;
use replaysafe_client::{
    Auth, Client, Credentials, Error, IdempotencyKey, PreparedRequest, RetryPolicy,
};
use serde::{Deserialize, Serialize};

use crate::connect::{
    read_data, resume_command, AuthArgs, ProfileArgs, CLIENT_ENV, DEFAULT_CLIENT_FILE,
    DEFAULT_ENDPOINT, ENDPOINT_ENV,
};
use crate::Failure;

#[derive(Args)]
pub struct Connection {
    /// Client credentials file ({"client_id", "secret"}, and "key_id" for a later key).
    #[arg(
        long,
        env = CLIENT_ENV,
        default_value = DEFAULT_CLIENT_FILE
    )]
    client: PathBuf,
    /// Base URL of the API.
    #[arg(
        long,
        env = ENDPOINT_ENV,
        default_value = DEFAULT_ENDPOINT
    )]
    endpoint: String,
    #[command(flatten)]
    auth: AuthArgs,
    #[command(flatten)]
    profile: ProfileArgs,
}

#[derive(Args)]
pub struct CallArgs {
    /// GET or POST.
    method: String,
    /// Path, with an optional query string: /transfers, /accounts/acc_alice.
    path: String,
    /// JSON body, or @FILE to read it from a file.
    #[arg(long)]
    data: Option<String>,
    /// Idempotency-Key for a POST. Default: a new UUID. Reuse it to retry the same operation.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// If-None-Match for a GET (an ETag from an earlier answer).
    #[arg(long)]
    if_none_match: Option<String>,
    /// Also write the exact signed request to this file, for `replaysafe replay`.
    #[arg(long)]
    save: Option<PathBuf>,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// A file written by `call --save`.
    file: PathBuf,
    /// Send this body instead of the saved one: a tampered copy. Its Content-Digest is
    /// recomputed (that needs no secret); the signature cannot be.
    #[arg(long)]
    data: Option<String>,
    /// Base URL of the API.
    #[arg(
        long,
        env = ENDPOINT_ENV,
        default_value = DEFAULT_ENDPOINT
    )]
    endpoint: String,
}

/// A request exactly as sent.
#[derive(Serialize, Deserialize)]
struct Saved {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

pub async fn call(args: CallArgs) -> Result<(), Failure> {
    let connection = &args.connection;
    let auth = connection.auth.auth(&connection.client)?;
    let builder = connection
        .profile
        .apply(Client::builder_with_auth(&connection.endpoint, auth));
    let client = builder
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let method = args.method.to_ascii_uppercase();
    let body = match args.data.as_deref() {
        Some(d) => read_data(d)?,
        None => String::new(),
    };
    // Validated before signing: a key is visible ASCII, so it can never forge a header line.
    let key = match (args.idempotency_key, method.as_str()) {
        (Some(k), _) => Some(IdempotencyKey::parse(k).map_err(|e| Failure::Usage(e.to_string()))?),
        (None, "POST") => Some(IdempotencyKey::new_v4()),
        (None, _) => None,
    };
    replaysafe_client::check_path(&args.path).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut request = client.prepare(&method, &args.path, body.as_bytes(), key.as_ref());
    if let Some(etag) = args.if_none_match {
        if etag.contains(['\r', '\n']) {
            return Err(Failure::Usage("an ETag has no line breaks".into()));
        }
        request.set_header("if-none-match", etag);
    }
    if let Some(file) = &args.save {
        let saved = Saved {
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.clone(),
            body: body.clone(),
        };
        std::fs::write(
            file,
            serde_json::to_string_pretty(&saved).expect("serializable"),
        )?;
    }
    let sent = send(&client, &request, true).await;
    if sent.is_err() && key.is_some() {
        // As `transfer create` does: a command run next with this key must sign later than
        // this attempt, which the server may have fenced.
        if let Some(created) = request.created() {
            replaysafe_client::wait_past(created).await;
        }
    }
    sent
}

pub async fn replay(args: ReplayArgs) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&args.file)?;
    let mut saved: Saved = serde_json::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a saved request: {e}",
            args.file.display()
        ))
    })?;
    if let Some(d) = args.data.as_deref() {
        saved.body = read_data(d)?;
        let digest = replaysafe_signing::content_digest(saved.body.as_bytes());
        for (name, value) in saved.headers.iter_mut() {
            if name == "content-digest" {
                *value = digest.clone();
            }
        }
    }
    // `replay` signs nothing: any credentials do.
    let client = connect(
        &args.endpoint,
        Auth::signature(&Credentials::new("unused", ""))
            .map_err(|e| Failure::Usage(e.to_string()))?,
    )?;
    let request = PreparedRequest {
        method: saved.method,
        path: saved.path,
        headers: saved.headers,
        body: saved.body.into_bytes(),
    };
    send(&client, &request, false).await
}

/// A client for one attempt: `call` and `replay` show exactly one request and its answer.
fn connect(endpoint: &str, auth: Auth) -> Result<Client, Failure> {
    Client::builder_with_auth(endpoint, auth)
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))
}

/// Sends once and prints the answer. `resumable`: the command takes `--idempotency-key`, so
/// for a POST whose outcome is left open it prints the command that resumes it.
async fn send(client: &Client, request: &PreparedRequest, resumable: bool) -> Result<(), Failure> {
    let resume = |e: &Error| match e.idempotency_key() {
        Some(key) if resumable && e.outcome_unknown() => {
            format!("\nresume: {}", resume_command(key))
        }
        _ => String::new(),
    };
    let response = client.send_once(request).await.map_err(|e| match e {
        e @ Error::Transport { .. } => Failure::Unreachable(format!("{e}{}", resume(&e))),
        e @ Error::Protocol { .. } => {
            eprintln!("error: {e}{}", resume(&e));
            Failure::Status
        }
        e => Failure::Usage(e.to_string()),
    })?;
    eprintln!("HTTP {}", response.status);
    for name in ["location", "etag", "idempotent-replayed", "retry-after"] {
        if let Some(v) = response.header(name) {
            eprintln!("{name}: {v}");
        }
    }
    let text = String::from_utf8_lossy(&response.body);
    if !text.is_empty() {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => println!(
                "{}",
                serde_json::to_string_pretty(&v).expect("serializable")
            ),
            Err(_) => println!("{text}"),
        }
    }
    if response.is_success() {
        return Ok(());
    }
    let problem = response.problem();
    if problem.outcome_unknown() {
        let e = Error::Api(problem);
        eprintln!("the outcome is unknown{}", resume(&e));
    }
    Err(Failure::Status)
}
