//! `replaysafe admin create-queues` and `replaysafe payout send`, run as a user runs them,
//! against a real SQS server (the moto server `make test` starts: AWS_ENDPOINT_URL_SQS), each
//! test on queues of its own.
//!
//! Skipped, saying so, when AWS_ENDPOINT_URL_SQS is unset; scripts/test.sh sets it.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use aws_sdk_sqs::types::QueueAttributeName;
use replaysafe_gateway::queues::sqs_client;
use serde_json::Value;

fn sqs_endpoint() -> Option<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SQS").ok();
    if endpoint.is_none() {
        eprintln!(
            "skipped: AWS_ENDPOINT_URL_SQS is not set (scripts/test.sh starts an SQS server and sets it)"
        );
    }
    endpoint
}

fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replaysafe"));
    cmd.env_remove("REPLAYSAFE_CLIENT")
        .env_remove("PAYOUTS_QUEUE_URL")
        .timeout(Duration::from_secs(120));
    cmd
}

fn prefix() -> String {
    format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// `admin create-queues` with `args`: its JSON, and its stderr.
fn create_queues(endpoint: &str, args: &[&str]) -> (Value, String) {
    let out = cli()
        .args(["admin", "create-queues", "--endpoint-url", endpoint])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json = serde_json::from_slice(&out.stdout).expect("one JSON object");
    (json, String::from_utf8(out.stderr).unwrap())
}

#[tokio::test]
async fn create_queues_is_idempotent_and_sets_the_redrive() {
    let Some(endpoint) = sqs_endpoint() else {
        return;
    };
    let prefix = prefix();
    let (first, said) = create_queues(
        &endpoint,
        &["--prefix", &prefix, "--visibility-timeout", "7"],
    );
    assert_eq!(said.matches("created").count(), 2, "{said}");
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["queue_url", "dlq_url", "queue_arn", "dlq_arn"]);
    assert!(first["queue_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{prefix}payouts")));
    assert!(first["dlq_arn"]
        .as_str()
        .unwrap()
        .ends_with(&format!(":{prefix}payouts-dlq")));

    // Again, with another visibility timeout: the same queues, kept as they were.
    let (second, said) = create_queues(
        &endpoint,
        &["--prefix", &prefix, "--visibility-timeout", "30"],
    );
    assert_eq!(second, first);
    assert_eq!(said.matches("exists").count(), 2, "{said}");

    let sqs = sqs_client(Some(&endpoint)).await;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(first["queue_url"].as_str().unwrap())
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "7");
    let redrive: Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], first["dlq_arn"]);
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5"
    );
}

/// Every body on the queue, waiting until `n` have arrived (bounded).
async fn receive_bodies(sqs: &aws_sdk_sqs::Client, queue_url: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut bodies = Vec::new();
    while bodies.len() < n {
        assert!(Instant::now() < deadline, "only {bodies:?} arrived");
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        bodies.extend(
            got.messages
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.body.unwrap()),
        );
    }
    bodies
}

#[tokio::test]
async fn payout_send_copies_enqueues_identical_bodies() {
    let Some(endpoint) = sqs_endpoint() else {
        return;
    };
    let (queues, _) = create_queues(&endpoint, &["--prefix", &prefix()]);
    let queue_url = queues["queue_url"].as_str().unwrap();
    let out = cli()
        .env("PAYOUTS_QUEUE_URL", queue_url)
        .args(["payout", "send", "--endpoint-url", &endpoint])
        .args(["--payout-id", "po_2026_12_alice", "--owner", "cli_7f3a"])
        .args(["--from", "acc_x", "--to", "acc_y", "--amount", "1500"])
        .args([
            "--currency",
            "EUR",
            "--reference",
            "december",
            "--copies",
            "2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["message_id"].is_string()));
    assert_ne!(lines[0]["message_id"], lines[1]["message_id"]);

    let sqs = sqs_client(Some(&endpoint)).await;
    let bodies = receive_bodies(&sqs, queue_url, 2).await;
    let expected = r#"{"payout_id":"po_2026_12_alice","owner":"cli_7f3a","from":"acc_x","to":"acc_y","amount":1500,"currency":"EUR","reference":"december"}"#;
    assert_eq!(bodies, [expected, expected]);
}

#[tokio::test]
async fn payout_send_owner_defaults_to_the_client_file() {
    let Some(endpoint) = sqs_endpoint() else {
        return;
    };
    let (queues, _) = create_queues(&endpoint, &["--prefix", &prefix()]);
    let queue_url = queues["queue_url"].as_str().unwrap();
    let client = std::env::temp_dir().join(format!("replaysafe-cli-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&client, r#"{"client_id":"cli_demo","secret":"c2VjcmV0"}"#).unwrap();
    let send = |client: &std::path::Path| {
        cli()
            .env("REPLAYSAFE_CLIENT", client)
            .args(["payout", "send", "--endpoint-url", &endpoint])
            .args(["--queue-url", queue_url, "--payout-id", "po_1"])
            .args([
                "--from",
                "a",
                "--to",
                "b",
                "--amount",
                "1",
                "--currency",
                "EUR",
            ])
            .output()
            .unwrap()
    };
    let out = send(&client);
    std::fs::remove_file(&client).unwrap();
    assert!(out.status.success(), "{out:?}");
    let sqs = sqs_client(Some(&endpoint)).await;
    let bodies = receive_bodies(&sqs, queue_url, 1).await;
    assert_eq!(
        bodies,
        [
            r#"{"payout_id":"po_1","owner":"cli_demo","from":"a","to":"b","amount":1,"currency":"EUR"}"#
        ]
    );
    // No --owner and no client file: a usage error, nothing sent.
    let out = send(&client);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--owner"));
}
