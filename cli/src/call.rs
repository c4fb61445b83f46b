//! `replaysafe call` and `replaysafe replay`: one signed request, and the exact bytes of a
//! saved one sent again.

use std::path::PathBuf;

use clap::Args;
use replaysafe_signing::{random_nonce, Signer};
use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::Failure;

#[derive(Args)]
pub struct Connection {
    /// Client credentials file ({"client_id", "secret"}).
    #[arg(
        long,
        env = "REPLAYSAFE_CLIENT",
        default_value = ".local/demo-client.json"
    )]
    client: PathBuf,
    /// Base URL of the API.
    #[arg(
        long,
        env = "REPLAYSAFE_ENDPOINT",
        default_value = "http://127.0.0.1:9000"
    )]
    endpoint: String,
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
        env = "REPLAYSAFE_ENDPOINT",
        default_value = "http://127.0.0.1:9000"
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
    let signer = Credentials::load(&args.connection.client)?;
    let method = args.method.to_ascii_uppercase();
    let body = match args.data.as_deref() {
        Some(d) => read_data(d)?,
        None => String::new(),
    };
    let key = match (&args.idempotency_key, method.as_str()) {
        (Some(k), _) => Some(k.clone()),
        (None, "POST") => Some(uuid::Uuid::new_v4().to_string()),
        (None, _) => None,
    };
    let mut saved = sign(&signer, &method, &args.path, &body, key.as_deref());
    if let Some(etag) = args.if_none_match {
        saved.headers.push(("if-none-match".into(), etag));
    }
    if let Some(file) = &args.save {
        std::fs::write(
            file,
            serde_json::to_string_pretty(&saved).expect("serializable"),
        )?;
    }
    send(&args.connection.endpoint, &saved).await
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
    send(&args.endpoint, &saved).await
}

fn read_data(data: &str) -> Result<String, Failure> {
    match data.strip_prefix('@') {
        Some(path) => Ok(std::fs::read_to_string(path)?),
        None => Ok(data.to_owned()),
    }
}

fn sign(signer: &Signer, method: &str, path: &str, body: &str, key: Option<&str>) -> Saved {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let signed = signer.sign(method, path, body.as_bytes(), key, created, &random_nonce());
    let mut headers = Vec::new();
    if let Some(key) = key {
        headers.push(("idempotency-key".to_owned(), key.to_owned()));
    }
    if let Some(digest) = signed.content_digest {
        headers.push(("content-type".into(), "application/json".into()));
        headers.push(("content-digest".into(), digest));
    }
    headers.push(("signature-input".into(), signed.signature_input));
    headers.push(("signature".into(), signed.signature));
    Saved {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body: body.to_owned(),
    }
}

async fn send(endpoint: &str, saved: &Saved) -> Result<(), Failure> {
    let url = format!("{}{}", endpoint.trim_end_matches('/'), saved.path);
    let method = reqwest::Method::from_bytes(saved.method.as_bytes())
        .map_err(|_| Failure::Usage(format!("not an HTTP method: {}", saved.method)))?;
    let client = reqwest::Client::new();
    let mut request = client.request(method, &url);
    for (name, value) in &saved.headers {
        request = request.header(name, value);
    }
    if !saved.body.is_empty() {
        request = request.body(saved.body.clone());
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure::Unreachable(format!("cannot reach {url}: {e}")))?;
    let status = response.status();
    eprintln!("HTTP {}", status.as_u16());
    for name in ["location", "etag", "idempotent-replayed", "retry-after"] {
        if let Some(v) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            eprintln!("{name}: {v}");
        }
    }
    let text = response
        .text()
        .await
        .map_err(|e| Failure::Unreachable(format!("reading the answer failed: {e}")))?;
    if !text.is_empty() {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => println!(
                "{}",
                serde_json::to_string_pretty(&v).expect("serializable")
            ),
            Err(_) => println!("{text}"),
        }
    }
    if status.is_success() || status.as_u16() == 304 {
        Ok(())
    } else {
        Err(Failure::Status)
    }
}
