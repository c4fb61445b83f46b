//! `replaysafe sign`: the headers of one signed request, and a curl command that sends it.

use clap::Args;
use replaysafe_client::{IdempotencyKey, PreparedRequest};
use serde_json::json;

use crate::connect::{read_data, ApiArgs};
use crate::Failure;

pub const EXAMPLES: &str = "Examples:
  replaysafe sign POST /accounts --data '{\"currency\":\"EUR\",\"initial_balance\":10000}'
  replaysafe sign POST /transfers --data @transfer.json --idempotency-key invoice-42
  replaysafe sign GET /accounts/acc_alice
  eval \"$(replaysafe sign GET /accounts/acc_alice --curl-only)\"   # sign and send in one go

A signature is good for one request (its nonce is single-use), within REPLAY_WINDOW_SECONDS
(300 by default) of its `created`. To retry, sign again with the same --idempotency-key.";

#[derive(Args)]
pub struct SignArgs {
    /// GET or POST.
    method: String,
    /// Path, with an optional query string: /transfers, /accounts/acc_alice.
    path: String,
    /// JSON body, or @FILE to read it from a file. Sent byte for byte: its digest is signed.
    #[arg(long)]
    data: Option<String>,
    /// Idempotency-Key for a POST. Default: a new UUID.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// Print only the curl command.
    #[arg(long, conflicts_with = "json")]
    curl_only: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// Single-quotes a word for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn curl_command(url: &str, request: &PreparedRequest) -> String {
    let mut parts = vec![format!("curl -sS -i -X {} {}", request.method, quote(url))];
    for (name, value) in &request.headers {
        parts.push(format!(
            "-H {}",
            quote(&format!("{}: {value}", title_case(name)))
        ));
    }
    if !request.body.is_empty() {
        parts.push(format!(
            "--data-binary {}",
            quote(&String::from_utf8_lossy(&request.body))
        ));
    }
    parts.join(" \\\n  ")
}

/// `content-digest` -> `Content-Digest` (HTTP names are case-insensitive; this reads better).
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub fn run(args: SignArgs) -> Result<(), Failure> {
    let api = &args.api;
    let method = args.method.to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "POST") {
        return Err(Failure::Usage(format!(
            "the API has GET and POST endpoints, not {method}"
        )));
    }
    if !args.path.starts_with('/') {
        return Err(Failure::Usage(format!(
            "the path starts with '/': /{}",
            args.path
        )));
    }
    let body = args.data.as_deref().map(read_data).transpose()?;
    let key = match (args.idempotency_key, method.as_str()) {
        (Some(k), _) => Some(IdempotencyKey::parse(k).map_err(|e| Failure::Usage(e.to_string()))?),
        (None, "POST") => Some(IdempotencyKey::new_v4()),
        (None, _) => None,
    };
    if api.auth.bearer() {
        return Err(Failure::Usage(
            "sign makes signature-mode requests; for a jwt-mode API send the token yourself \
             (curl -H \"Authorization: Bearer $(replaysafe admin token --sub SUB)\" …) or use \
             `replaysafe call`"
                .into(),
        ));
    }
    let client = api
        .builder()?
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let body = body.unwrap_or_default();
    replaysafe_client::check_path(&args.path).map_err(|e| Failure::Usage(e.to_string()))?;
    let request = client.prepare(&method, &args.path, body.as_bytes(), key.as_ref());
    let url = client.url(&args.path);
    let curl = curl_command(&url, &request);
    if args.curl_only {
        println!("{curl}");
    } else if api.json {
        let headers: serde_json::Map<String, serde_json::Value> = request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), json!(v)))
            .collect();
        let out = json!({
            "method": request.method,
            "url": url,
            "headers": headers,
            "body": body,
            "curl": curl,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("serializable")
        );
    } else {
        for (name, value) in &request.headers {
            println!("{}: {value}", title_case(name));
        }
        println!();
        println!("{curl}");
        eprintln!(
            "note: one use only (single-use nonce), within 300 s of created={} by default; \
             to retry, sign again{}",
            request.created().unwrap_or_default(),
            key.map(|k| format!(" with --idempotency-key {k}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(title_case("content-digest"), "Content-Digest");
        assert_eq!(title_case("signature"), "Signature");
    }
}
