//! The payout queue: `replaysafe admin create-queues` sets it up, `replaysafe payout send`
//! enqueues payouts for the `payouts` function (talking to SQS directly, with the caller's AWS
//! credentials).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use replaysafe_client::Credentials;
use replaysafe_gateway::queues::{create_payout_queues, sqs_client};
use serde::Serialize;

use crate::connect::{CLIENT_ENV, DEFAULT_CLIENT_FILE};
use crate::Failure;

/// Where `payout send` sends by default: the URL `admin create-queues` printed.
pub const QUEUE_URL_ENV: &str = "PAYOUTS_QUEUE_URL";

const SEND_EXAMPLES: &str = "Examples (with `make run` in another terminal; it prints the queue URL):
  export PAYOUTS_QUEUE_URL=http://127.0.0.1:9324/123456789012/replaysafe-payouts
  replaysafe payout send --endpoint-url http://127.0.0.1:9324 --payout-id po_2026_12_alice \\
      --from acc_alice --to acc_bob --amount 1500 --currency EUR --reference december
  replaysafe payout send ... --copies 2        # the same message twice: a duplicate delivery

The message body is {\"payout_id\", \"owner\", \"from\", \"to\", \"amount\", \"currency\"[, \"reference\"]};
one {\"message_id\"} line per message sent. Amounts are integers in minor units (cents).";

/// `admin create-queues`.
#[derive(Args)]
pub struct CreateQueues {
    /// SQS endpoint, e.g. http://127.0.0.1:9324 for make run's. Default: the SDK's
    /// (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, or AWS itself).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Prefix of the queue names: <prefix>payouts and <prefix>payouts-dlq.
    #[arg(long, default_value = "replaysafe-")]
    prefix: String,
    /// Visibility timeout of the payout queue, in seconds (at least the function's timeout).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    visibility_timeout: u32,
}

/// Creates the payout queue and its DLQ (keeping existing ones); prints their URLs and ARNs.
pub async fn create_queues(args: CreateQueues) -> Result<(), Failure> {
    if args.visibility_timeout > 43_200 {
        return Err(Failure::Usage(
            "--visibility-timeout is at most 43200 seconds (12 hours)".into(),
        ));
    }
    let sqs = sqs_client(args.endpoint_url.as_deref()).await;
    let (queues, created) = create_payout_queues(&sqs, &args.prefix, args.visibility_timeout)
        .await
        .map_err(|e| Failure::Unreachable(format!("creating queues failed: {e}")))?;
    for (name, was_created) in &created {
        let state = if *was_created { "created" } else { "exists" };
        eprintln!("{state:>7}  {name}");
    }
    println!("{}", serde_json::to_string(&queues).expect("serializable"));
    Ok(())
}

/// `replaysafe payout …`.
#[derive(Args)]
pub struct PayoutCmd {
    #[command(subcommand)]
    command: PayoutCommand,
}

#[derive(Subcommand)]
enum PayoutCommand {
    /// Enqueue a payout message for the payouts function.
    #[command(after_help = SEND_EXAMPLES)]
    Send(SendArgs),
}

#[derive(Args)]
struct SendArgs {
    /// The payout's id: the function pays each id once, however often it is delivered.
    #[arg(long)]
    payout_id: String,
    /// The client the payout is made for. Default: the client_id of --client's file.
    #[arg(long)]
    owner: Option<String>,
    /// Account paid from.
    #[arg(long)]
    from: String,
    /// Account paid to.
    #[arg(long)]
    to: String,
    /// Amount in minor units (cents).
    #[arg(long, value_name = "MINOR_UNITS")]
    amount: u64,
    /// ISO 4217 currency code, e.g. EUR.
    #[arg(long)]
    currency: String,
    /// Free text carried with the payout.
    #[arg(long)]
    reference: Option<String>,
    /// The payout queue's URL (what `admin create-queues` prints as queue_url).
    #[arg(long, env = QUEUE_URL_ENV)]
    queue_url: String,
    /// SQS endpoint. Default: the SDK's (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, or AWS itself).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Send this many identical messages (a duplicate delivery, on purpose).
    #[arg(long, default_value_t = 1, value_name = "N")]
    copies: u32,
    /// Client credentials file whose client_id is the default --owner.
    #[arg(long, env = CLIENT_ENV, default_value = DEFAULT_CLIENT_FILE, value_name = "FILE")]
    client: PathBuf,
}

/// The message body the payouts function reads, keys in this order.
#[derive(Serialize)]
struct PayoutMessage<'a> {
    payout_id: &'a str,
    owner: &'a str,
    from: &'a str,
    to: &'a str,
    amount: u64,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

pub async fn payout(cmd: PayoutCmd) -> Result<(), Failure> {
    let PayoutCommand::Send(args) = cmd.command;
    if args.copies == 0 {
        return Err(Failure::Usage("--copies must be at least 1".into()));
    }
    let owner = match &args.owner {
        Some(owner) => owner.clone(),
        None => {
            Credentials::from_file(&args.client)
                .map_err(|e| Failure::Usage(format!("no --owner given, and the client file: {e}")))?
                .client_id
        }
    };
    let body = serde_json::to_string(&PayoutMessage {
        payout_id: &args.payout_id,
        owner: &owner,
        from: &args.from,
        to: &args.to,
        amount: args.amount,
        currency: &args.currency,
        reference: args.reference.as_deref(),
    })
    .expect("serializable");
    let sqs = sqs_client(args.endpoint_url.as_deref()).await;
    for _ in 0..args.copies {
        let sent = sqs
            .send_message()
            .queue_url(&args.queue_url)
            .message_body(&body)
            .send()
            .await
            .map_err(|e| {
                Failure::Unreachable(format!(
                    "sending to {} failed: {}",
                    args.queue_url,
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                ))
            })?;
        println!(
            "{}",
            serde_json::json!({ "message_id": sent.message_id.unwrap_or_default() })
        );
    }
    Ok(())
}
