//! `replaysafe sign-event`: a freshly signed copy of an API Gateway event template (`events/`),
//! for `cargo lambda invoke --data-file`. The signing itself is `replaysafe_client::events::sign_event`,
//! which the deploy tests run too.

use std::path::PathBuf;

use clap::Args;
use replaysafe::{Clock, SystemClock};
use replaysafe_client::events::{sign_event, EventEdits};
use replaysafe_client::Credentials;
use replaysafe_signing::random_nonce;

use crate::connect::{read_data, CLIENT_ENV, DEFAULT_CLIENT_FILE};
use crate::Failure;

#[derive(Args)]
pub struct SignEventArgs {
    /// An API Gateway HTTP API (payload 2.0) event, e.g. events/create-transfer.json.
    event: PathBuf,
    /// Client credentials file ({"client_id", "secret"}, and "key_id" for a later key) to sign with.
    #[arg(
        long,
        env = CLIENT_ENV,
        default_value = DEFAULT_CLIENT_FILE
    )]
    client: PathBuf,
    /// Write the signed event to this file instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Replace the path, e.g. /transfers/<transfer_id> of a transfer that exists.
    #[arg(long)]
    path: Option<String>,
    /// Replace the body: JSON, or @FILE to read it from a file.
    #[arg(long)]
    data: Option<String>,
    /// Replace the Idempotency-Key. By default the template's key is kept, so signing the same
    /// template again retries the same operation (and gets the stored answer back).
    #[arg(long, conflicts_with = "new_idempotency_key")]
    idempotency_key: Option<String>,
    /// Use a fresh Idempotency-Key (a new UUID): a new operation.
    #[arg(long)]
    new_idempotency_key: bool,
}

pub fn run(args: SignEventArgs) -> Result<(), Failure> {
    let signer = Credentials::from_file(&args.client)
        .and_then(|c| c.signer())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let text = std::fs::read_to_string(&args.event)
        .map_err(|e| Failure::Usage(format!("cannot read event {}: {e}", args.event.display())))?;
    let template: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{} is not JSON: {e}", args.event.display())))?;
    let body = args.data.as_deref().map(read_data).transpose()?;
    let fresh_key = args
        .new_idempotency_key
        .then(|| uuid::Uuid::new_v4().to_string());
    let edits = EventEdits {
        path: args.path.as_deref(),
        body: body.as_deref(),
        idempotency_key: args.idempotency_key.as_deref().or(fresh_key.as_deref()),
    };
    let signed = sign_event(
        &template,
        &signer,
        SystemClock.now(),
        &random_nonce(),
        &edits,
    )
    .map_err(|e| Failure::Usage(format!("{}: {e}", args.event.display())))?;
    let out = serde_json::to_string_pretty(&signed).expect("serializable") + "\n";
    match &args.output {
        Some(file) => std::fs::write(file, out)?,
        None => print!("{out}"),
    }
    Ok(())
}
