//! The SQS event source mapping of `make run`: what Lambda does between a queue and a function
//! with `ReportBatchItemFailures` (docs/local-queue.md).
//!
//! One poll: ReceiveMessage (long poll, up to the batch size, every attribute), the batch as
//! Lambda's `SqsEvent` ([`sqs_event`]), one synchronous invocation ([`Invoke`]), then the
//! function's `SqsBatchResponse` read as Lambda reads it ([`verdict`]): the messages it did not
//! list as failures are deleted; the listed ones stay, to come back once their visibility timeout
//! ends (the queue's redrive policy moves them to the dead-letter queue after its receive count).
//! A failed invocation, an answer Lambda would not accept, or a failure naming a message not in
//! the batch fails the whole batch: nothing is deleted.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
};
use aws_sdk_sqs::Client;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::invoke::Invoke;
use crate::queues::{queue_arn, QueueError};

/// The system attributes in the order Lambda writes them; any others follow by name.
const LAMBDA_ATTRIBUTE_ORDER: [&str; 4] = [
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
];

/// Where the mapping polls and what it invokes.
#[derive(Debug, Clone)]
pub struct MappingConfig {
    /// The queue's URL.
    pub queue_url: String,
    /// The function's name, as the Invoke API knows it.
    pub function: String,
    /// Messages per invocation, 1 to 10 (ReceiveMessage's maximum).
    pub batch_size: i32,
    /// Long-poll wait of one ReceiveMessage, 0 to 20 seconds.
    pub wait_seconds: i32,
    /// Overrides the queue's visibility timeout for received messages; `None` keeps the
    /// queue's (what Lambda does).
    pub visibility_timeout: Option<i32>,
}

/// Why a poll did not get as far as an invocation.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The configuration cannot work (batch size or wait out of SQS's bounds).
    #[error("invalid mapping: {0}")]
    Config(String),
    /// The queue's ARN could not be read.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// ReceiveMessage failed.
    #[error("ReceiveMessage: {0}")]
    Receive(String),
}

/// What the function's answer means for the batch, read as Lambda reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every message succeeded: delete them all.
    AllSucceeded,
    /// These message ids failed (each in the batch, none repeated): delete the others.
    ItemsFailed(Vec<String>),
    /// The whole batch failed: delete nothing. Why, without any message body.
    BatchFailed(String),
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Ids of the messages received, in the event's order.
    pub received: Vec<String>,
    /// Ids of the messages deleted.
    pub deleted: Vec<String>,
    /// Ids the function reported as failed (left on the queue).
    pub failed: Vec<String>,
    /// Why the whole batch failed (the invocation, or its answer), when it did.
    pub batch_failure: Option<String>,
    /// Ids whose deletion SQS refused or that could not be deleted (they come back).
    pub not_deleted: Vec<String>,
}

/// The mapping of one queue to one function, invoking it through `I`.
pub struct QueueMapping<I> {
    sqs: Client,
    invoke: I,
    config: MappingConfig,
    queue_arn: String,
    region: String,
}

impl<I: Invoke> QueueMapping<I> {
    /// A mapping of `config.queue_url` to `config.function`; reads the queue's ARN (the event's
    /// `eventSourceARN`, and `awsRegion` from it).
    pub async fn new(sqs: Client, invoke: I, config: MappingConfig) -> Result<Self, MappingError> {
        if !(1..=10).contains(&config.batch_size) {
            return Err(MappingError::Config(format!(
                "batch size {} is not within 1..=10",
                config.batch_size
            )));
        }
        if !(0..=20).contains(&config.wait_seconds) {
            return Err(MappingError::Config(format!(
                "wait {} s is not within 0..=20",
                config.wait_seconds
            )));
        }
        let queue_arn = queue_arn(&sqs, &config.queue_url).await?;
        let region = queue_arn.split(':').nth(3).unwrap_or_default().to_owned();
        Ok(Self {
            sqs,
            invoke,
            config,
            queue_arn,
            region,
        })
    }

    /// The queue's ARN.
    pub fn queue_arn(&self) -> &str {
        &self.queue_arn
    }

    /// Polls forever: a failed poll is logged and tried again after a pause that grows to 30 s,
    /// so the mapping outlives a queue server restart and a function that does not exist yet.
    pub async fn run(&self) {
        let mut pause = Duration::from_secs(1);
        loop {
            match self.poll_once().await {
                Ok(report) => {
                    pause = Duration::from_secs(1);
                    // Lambda too slows down after a failed invocation; the failed messages are
                    // invisible meanwhile, so this only spaces out the retries of others.
                    if report.batch_failure.is_some() {
                        tokio::time::sleep(pause).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(queue = %self.config.queue_url, error = %e, retry_in_s = pause.as_secs(), "poll failed");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// One poll: receive a batch, invoke the function with it, delete what succeeded. An empty
    /// receive (the long poll ended with no message) invokes nothing.
    pub async fn poll_once(&self) -> Result<BatchReport, MappingError> {
        let mut receive = self
            .sqs
            .receive_message()
            .queue_url(&self.config.queue_url)
            .max_number_of_messages(self.config.batch_size)
            .wait_time_seconds(self.config.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All");
        if let Some(seconds) = self.config.visibility_timeout {
            receive = receive.visibility_timeout(seconds);
        }
        let messages = receive
            .send()
            .await
            .map_err(|e| {
                MappingError::Receive(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
            })?
            .messages
            .unwrap_or_default();
        let mut report = BatchReport {
            received: messages.iter().map(id).collect(),
            ..BatchReport::default()
        };
        if messages.is_empty() {
            return Ok(report);
        }
        let function = &self.config.function;
        let event = sqs_event(&messages, &self.queue_arn, &self.region);
        let verdict = match self.invoke.invoke(function, &event).await {
            Ok(answer) => {
                let ids: Vec<&str> = report.received.iter().map(String::as_str).collect();
                verdict(&answer, &ids)
            }
            Err(e) => Verdict::BatchFailed(e.to_string()),
        };
        let failed = match verdict {
            Verdict::AllSucceeded => Vec::new(),
            Verdict::ItemsFailed(ids) => ids,
            Verdict::BatchFailed(reason) => {
                tracing::warn!(
                    function = %function,
                    messages = messages.len(),
                    reason = %reason,
                    "batch failed: nothing deleted, it comes back after the visibility timeout"
                );
                report.batch_failure = Some(reason);
                return Ok(report);
            }
        };
        let to_delete: Vec<&Message> = messages
            .iter()
            .filter(|m| !failed.contains(&id(m)))
            .collect();
        let (deleted, not_deleted) = self.delete(&to_delete).await;
        tracing::info!(
            function = %function,
            messages = messages.len(),
            deleted = deleted.len(),
            failed = failed.len(),
            not_deleted = not_deleted.len(),
            failed_ids = ?failed,
            "batch delivered"
        );
        report.deleted = deleted;
        report.failed = failed;
        report.not_deleted = not_deleted;
        Ok(report)
    }

    /// Deletes `messages` in one DeleteMessageBatch; the ids deleted, and those not.
    async fn delete(&self, messages: &[&Message]) -> (Vec<String>, Vec<String>) {
        if messages.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        let all: Vec<String> = messages.iter().map(|m| id(m)).collect();
        let answer = match self
            .sqs
            .delete_message_batch()
            .queue_url(&self.config.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(
                    error = %aws_sdk_sqs::error::DisplayErrorContext(e),
                    messages = all.len(),
                    "DeleteMessageBatch failed: these messages come back"
                );
                return (Vec::new(), all);
            }
        };
        let mut deleted = Vec::new();
        let mut not_deleted = Vec::new();
        for (i, message_id) in all.into_iter().enumerate() {
            let entry = i.to_string();
            match answer.failed.iter().find(|f| f.id == entry) {
                Some(refusal) => {
                    tracing::warn!(message_id = %message_id, code = %refusal.code, "not deleted");
                    not_deleted.push(message_id);
                }
                None => deleted.push(message_id),
            }
        }
        (deleted, not_deleted)
    }
}

fn id(message: &Message) -> String {
    message.message_id.clone().unwrap_or_default()
}

/// The event Lambda gives a function for `messages` from the queue `queue_arn` in `region`:
/// `{"Records": [{"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
/// "md5OfBody", ("md5OfMessageAttributes",) "eventSource": "aws:sqs", "eventSourceARN",
/// "awsRegion"}]}`, keys in Lambda's order.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut record = Map::new();
            record.insert("messageId".into(), json!(m.message_id));
            record.insert("receiptHandle".into(), json!(m.receipt_handle));
            record.insert("body".into(), json!(m.body));
            record.insert("attributes".into(), attributes(m));
            let message_attributes: BTreeMap<&str, Value> = m
                .message_attributes
                .iter()
                .flatten()
                .map(|(name, value)| (name.as_str(), message_attribute(value)))
                .collect();
            record.insert("messageAttributes".into(), json!(message_attributes));
            record.insert("md5OfBody".into(), json!(m.md5_of_body));
            if let Some(md5) = &m.md5_of_message_attributes {
                record.insert("md5OfMessageAttributes".into(), json!(md5));
            }
            record.insert("eventSource".into(), json!("aws:sqs"));
            record.insert("eventSourceARN".into(), json!(queue_arn));
            record.insert("awsRegion".into(), json!(region));
            Value::Object(record)
        })
        .collect();
    json!({ "Records": records })
}

fn attributes(m: &Message) -> Value {
    let mut given: BTreeMap<&str, &str> = m
        .attributes
        .iter()
        .flatten()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let mut out = Map::new();
    for name in LAMBDA_ATTRIBUTE_ORDER {
        if let Some(value) = given.remove(name) {
            out.insert(name.into(), json!(value));
        }
    }
    for (name, value) in given {
        out.insert(name.into(), json!(value));
    }
    Value::Object(out)
}

fn message_attribute(value: &MessageAttributeValue) -> Value {
    let b64 = |b: &aws_sdk_sqs::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    let mut out = Map::new();
    if let Some(s) = &value.string_value {
        out.insert("stringValue".into(), json!(s));
    }
    if let Some(b) = &value.binary_value {
        out.insert("binaryValue".into(), json!(b64(b)));
    }
    out.insert(
        "stringListValues".into(),
        json!(value.string_list_values.clone().unwrap_or_default()),
    );
    let binaries: Vec<String> = value.binary_list_values.iter().flatten().map(b64).collect();
    out.insert("binaryListValues".into(), json!(binaries));
    out.insert("dataType".into(), json!(value.data_type));
    Value::Object(out)
}

/// Reads a function's answer to a batch of the messages `batch` (their ids) as Lambda does
/// with ReportBatchItemFailures. Success: an empty or `null` answer, an object without
/// `batchItemFailures` or with it `null` or empty. Whole-batch failure: an answer that is not
/// JSON or not an object, a `batchItemFailures` that is not a list, an item without a
/// non-empty string `itemIdentifier` (a misspelt key included), or one naming a message not
/// in the batch.
pub fn verdict(answer: &[u8], batch: &[&str]) -> Verdict {
    if answer.iter().all(u8::is_ascii_whitespace) {
        return Verdict::AllSucceeded;
    }
    let failed = |why: &str| Verdict::BatchFailed(format!("the function's answer: {why}"));
    let answer: Value = match serde_json::from_slice(answer) {
        Ok(value) => value,
        Err(_) => return failed("not JSON"),
    };
    let items = match answer {
        Value::Null => return Verdict::AllSucceeded,
        Value::Object(mut fields) => match fields.remove("batchItemFailures") {
            None | Some(Value::Null) => return Verdict::AllSucceeded,
            Some(Value::Array(items)) => items,
            Some(_) => return failed("batchItemFailures is not a list"),
        },
        _ => return failed("not an SqsBatchResponse object"),
    };
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        let Some(identifier) = item.get("itemIdentifier").and_then(Value::as_str) else {
            return failed("a batchItemFailures entry has no string itemIdentifier");
        };
        if identifier.is_empty() {
            return failed("an itemIdentifier is empty");
        }
        if !batch.contains(&identifier) {
            return failed("an itemIdentifier names no message of the batch");
        }
        if seen.insert(identifier.to_owned()) {
            ids.push(identifier.to_owned());
        }
    }
    if ids.is_empty() {
        Verdict::AllSucceeded
    } else {
        Verdict::ItemsFailed(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::primitives::Blob;

    #[test]
    fn lambda_success_answers() {
        for answer in [
            &b""[..],
            b" \n",
            b"null",
            b"{}",
            br#"{"batchItemFailures":null}"#,
            br#"{"batchItemFailures":[]}"#,
        ] {
            assert_eq!(
                verdict(answer, &["a", "b"]),
                Verdict::AllSucceeded,
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
    }

    #[test]
    fn reported_failures_are_kept_once() {
        let answer = br#"{"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"b"}]}"#;
        assert_eq!(
            verdict(answer, &["a", "b"]),
            Verdict::ItemsFailed(vec!["b".into()])
        );
    }

    #[test]
    fn answers_lambda_refuses_fail_the_whole_batch() {
        for answer in [
            &b"not json"[..],
            b"\"ok\"",
            b"[]",
            br#"{"batchItemFailures":{}}"#,
            br#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            br#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            br#"{"batchItemFailures":[{"itemidentifier":"a"}]}"#,
            br#"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"zzz"}]}"#,
        ] {
            assert!(
                matches!(verdict(answer, &["a", "b"]), Verdict::BatchFailed(_)),
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
    }

    #[test]
    fn the_event_is_lambdas() {
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("rh1")
            .body(r#"{"payout_id":"po_1"}"#)
            .md5_of_body("md5")
            .attributes(MessageSystemAttributeName::SenderId, "AIDA")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1700000000000")
            .attributes(
                MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                "1700000000100",
            )
            .message_attributes(
                "trace",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(Blob::new(b"\x00\x01".to_vec()))
                    .build()
                    .unwrap(),
            )
            .md5_of_message_attributes("md5a")
            .build();
        let arn = "arn:aws:sqs:us-east-1:123456789012:replaysafe-payouts";
        let event = sqs_event(&[message], arn, "us-east-1");
        let record = &event["Records"][0];
        let keys: Vec<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "messageId",
                "receiptHandle",
                "body",
                "attributes",
                "messageAttributes",
                "md5OfBody",
                "md5OfMessageAttributes",
                "eventSource",
                "eventSourceARN",
                "awsRegion"
            ]
        );
        let attributes: Vec<&str> = record["attributes"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(attributes, LAMBDA_ATTRIBUTE_ORDER);
        assert_eq!(
            record["messageAttributes"]["trace"],
            json!({"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"})
        );
        assert_eq!(
            (&record["eventSource"], &record["eventSourceARN"]),
            (&json!("aws:sqs"), &json!(arn))
        );
        // What the payouts function deserializes.
        let parsed: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event).unwrap();
        let m = &parsed.records[0];
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        assert_eq!(m.body.as_deref(), Some(r#"{"payout_id":"po_1"}"#));
        assert_eq!(m.attributes["ApproximateReceiveCount"], "2");
        assert_eq!(m.aws_region.as_deref(), Some("us-east-1"));
    }
}
