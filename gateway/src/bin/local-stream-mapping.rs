//! `local-stream-mapping`: the DynamoDB Streams event source mapping of `make run` (see
//! `replaysafe_gateway::stream_mapping` and docs/local-streams.md). `scripts/run.sh` starts it
//! between the money tables' streams and the `ledger-auditor` function of `cargo lambda watch`.

use std::time::Duration;

use clap::Parser;
use replaysafe_gateway::invoke::HttpInvoke;
use replaysafe_gateway::sdk_config;
use replaysafe_gateway::stream_mapping::{ensure_stream, Start, StreamMapping, StreamReader};

/// Follow tables' DynamoDB streams and invoke a function with each shard's records, as Lambda's
/// event source mapping does with ReportBatchItemFailures. Turns a table's stream on
/// (NEW_AND_OLD_IMAGES) when it is off. Logs are JSON lines on stderr.
#[derive(Parser, Debug)]
#[command(name = "local-stream-mapping")]
struct Args {
    /// A table whose stream to read (repeat for each).
    #[arg(long = "table", required = true)]
    tables: Vec<String>,
    /// DynamoDB (and DynamoDB Streams) endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    endpoint_url: Option<String>,
    /// The Lambda Invoke API (cargo lambda watch's invoke address).
    #[arg(long)]
    lambda_url: String,
    /// The function to invoke.
    #[arg(long, default_value = "ledger-auditor")]
    function: String,
    /// Records per invocation.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Read the records already in the streams (the stack's TRIM_HORIZON); otherwise only
    /// those written from now on.
    #[arg(long)]
    from_start: bool,
    /// Pause between two reads of the streams, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Time limit of one invocation, in seconds (cargo lambda watch builds a function on its
    /// first invocation).
    #[arg(long, default_value_t = 900)]
    invoke_timeout: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    replaysafe_gateway::json_logs_on_stderr();
    let args = Args::parse();
    let config = sdk_config(args.endpoint_url.as_deref()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let region = config
        .region()
        .map_or("us-east-1".to_owned(), |r| r.to_string());
    let start = if args.from_start {
        Start::TrimHorizon
    } else {
        Start::Latest
    };
    let mut readers = Vec::new();
    for table in &args.tables {
        // The tables may still be being created: their streams are looked for again until
        // they answer.
        let arn = loop {
            match ensure_stream(&dynamodb, table).await {
                Ok(arn) => break arn,
                Err(e) => {
                    tracing::warn!(table = %table, error = %e, "no stream yet; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        tracing::info!(table = %table, stream_arn = %arn, "following");
        readers.push(StreamReader::new(
            streams.clone(),
            table,
            &arn,
            &region,
            start,
        ));
    }
    let invoke = HttpInvoke::new(&args.lambda_url, Duration::from_secs(args.invoke_timeout));
    tracing::info!(function = %args.function, lambda_url = %args.lambda_url, "polling");
    StreamMapping::new(readers, invoke, &args.function, args.batch_size)
        .run(Duration::from_millis(args.interval_ms))
        .await;
}
