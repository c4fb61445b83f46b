//! `local-queue-mapping`: the SQS event source mapping of `make run` (see
//! `replaysafe_gateway::queue_mapping` and docs/local-queue.md). `scripts/run.sh` starts it
//! between the payout queue and the `payouts` function of `cargo lambda watch`.

use std::time::Duration;

use clap::Parser;
use replaysafe_gateway::invoke::HttpInvoke;
use replaysafe_gateway::queue_mapping::{MappingConfig, QueueMapping};
use replaysafe_gateway::queues::sqs_client;

/// Poll a queue and invoke a function with each batch, as Lambda's event source mapping does
/// with ReportBatchItemFailures. Logs are JSON lines on stderr.
#[derive(Parser, Debug)]
#[command(name = "local-queue-mapping")]
struct Args {
    /// The queue's URL.
    #[arg(long, env = "PAYOUTS_QUEUE_URL")]
    queue_url: String,
    /// SQS endpoint. Default: the SDK's (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, or AWS).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// The Lambda Invoke API (cargo lambda watch's invoke address).
    #[arg(long)]
    lambda_url: String,
    /// The function to invoke.
    #[arg(long, default_value = "payouts")]
    function: String,
    /// Messages per invocation (1 to 10).
    #[arg(long, default_value_t = 10)]
    batch_size: i32,
    /// Visibility timeout of received messages, in seconds. Default: the queue's.
    #[arg(long)]
    visibility_timeout: Option<i32>,
    /// Long-poll wait of one receive, in seconds (0 to 20).
    #[arg(long, default_value_t = 20)]
    wait_seconds: i32,
    /// Time limit of one invocation, in seconds (Lambda's maximum function timeout by default:
    /// cargo lambda watch builds a function on its first invocation).
    #[arg(long, default_value_t = 900)]
    invoke_timeout: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    replaysafe_gateway::json_logs_on_stderr();
    let args = Args::parse();
    let sqs = sqs_client(args.endpoint_url.as_deref()).await;
    let invoke = HttpInvoke::new(&args.lambda_url, Duration::from_secs(args.invoke_timeout));
    let config = MappingConfig {
        queue_url: args.queue_url.clone(),
        function: args.function.clone(),
        batch_size: args.batch_size,
        wait_seconds: args.wait_seconds,
        visibility_timeout: args.visibility_timeout,
    };
    // The queue server may still be starting: the ARN is read again until it answers.
    let mapping = loop {
        match QueueMapping::new(sqs.clone(), invoke.clone(), config.clone()).await {
            Ok(mapping) => break mapping,
            Err(e @ replaysafe_gateway::queue_mapping::MappingError::Config(_)) => {
                tracing::error!(error = %e, "cannot start");
                std::process::exit(2);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the queue is not reachable yet; trying again in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    tracing::info!(
        queue_url = %args.queue_url,
        queue_arn = %mapping.queue_arn(),
        function = %args.function,
        lambda_url = %args.lambda_url,
        batch_size = args.batch_size,
        "polling"
    );
    mapping.run().await;
}
