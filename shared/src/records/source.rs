//! Where records come from: each event source's records, their ids, what a record's
//! fingerprint covers, whether a batch is ordered, how failures are reported, and how long the
//! source may deliver a record again.

use std::borrow::Cow;

use aws_lambda_events::event::dynamodb::{Event as DynamoDbEvent, EventRecord};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::event::streams::{
    DynamoDbBatchItemFailure, DynamoDbEventResponse, KinesisBatchItemFailure, KinesisEventResponse,
};

/// A day: how long EventBridge retries an event and a DynamoDB stream keeps a record.
pub const DAY_SECONDS: i64 = 24 * 3600;

/// An event source a [`Consumer`](super::Consumer) takes batches from.
pub trait Source: Send + Sync {
    /// Its name in a record's metric `Route` (`sqs`, `kinesis`, `dynamodb`, `eventbridge`).
    const NAME: &'static str;
    /// The event Lambda hands the function.
    type Event: Sync;
    /// One record of it.
    type Record: Sync;
    /// What the function answers Lambda: the partial batch response.
    type Response;

    /// The event's records, in delivery order.
    fn records(event: &Self::Event) -> &[Self::Record];
    /// The record's identifier in the partial batch response, and its default idempotency key.
    fn id(record: &Self::Record) -> Option<&str>;
    /// The source that delivered it (a queue's or stream's ARN, an event bus rule's source).
    fn origin(record: &Self::Record) -> &str;
    /// What the record's fingerprint covers: a redelivery has the same content.
    fn content(record: &Self::Record) -> Cow<'_, [u8]>;
    /// Whether the batch must run in order, stopping at the first failure.
    fn ordered(event: &Self::Event) -> bool;
    /// The answer reporting `failed` (identifiers, in order) for redelivery.
    fn respond(failed: Vec<String>) -> Self::Response;
    /// Seconds after its first delivery during which the source may deliver a record again:
    /// the idempotency record must outlive it.
    fn horizon(&self) -> i64;
}

/// An SQS queue, standard or FIFO (its ARN ends in `.fifo`: in order, stopping at the first
/// failure). A record is keyed by its `messageId` unless the app names a field.
#[derive(Debug, Clone, Copy)]
pub struct Sqs {
    retention_seconds: i64,
}

impl Sqs {
    /// A queue keeping messages `retention_seconds` (its `MessageRetentionPeriod`; SQS's
    /// default is 4 days): a message may come back until then.
    pub fn retention(retention_seconds: i64) -> Self {
        Self { retention_seconds }
    }
}

impl Source for Sqs {
    const NAME: &'static str = "sqs";
    type Event = SqsEvent;
    type Record = SqsMessage;
    type Response = SqsBatchResponse;

    fn records(event: &SqsEvent) -> &[SqsMessage] {
        &event.records
    }
    fn id(record: &SqsMessage) -> Option<&str> {
        record.message_id.as_deref()
    }
    fn origin(record: &SqsMessage) -> &str {
        record.event_source_arn.as_deref().unwrap_or_default()
    }
    fn content(record: &SqsMessage) -> Cow<'_, [u8]> {
        Cow::Borrowed(record.body.as_deref().unwrap_or_default().as_bytes())
    }
    fn ordered(event: &SqsEvent) -> bool {
        event
            .records
            .iter()
            .any(|r| Self::origin(r).ends_with(".fifo"))
    }
    fn respond(failed: Vec<String>) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for id in failed {
            response.add_failure(id);
        }
        response
    }
    fn horizon(&self) -> i64 {
        self.retention_seconds
    }
}

/// A Kinesis stream: a shard's records in order, stopping at the first failure (Lambda
/// restarts the shard from it). Keyed by `eventID` unless the app names a field.
#[derive(Debug, Clone, Copy)]
pub struct Kinesis {
    retention_seconds: i64,
}

impl Kinesis {
    /// A stream keeping records `retention_seconds` (24 hours by default).
    pub fn retention(retention_seconds: i64) -> Self {
        Self { retention_seconds }
    }
}

impl Source for Kinesis {
    const NAME: &'static str = "kinesis";
    type Event = KinesisEvent;
    type Record = KinesisEventRecord;
    type Response = KinesisEventResponse;

    fn records(event: &KinesisEvent) -> &[KinesisEventRecord] {
        &event.records
    }
    fn id(record: &KinesisEventRecord) -> Option<&str> {
        Some(record.kinesis.sequence_number.as_str())
    }
    fn origin(record: &KinesisEventRecord) -> &str {
        record.event_source_arn.as_deref().unwrap_or_default()
    }
    fn content(record: &KinesisEventRecord) -> Cow<'_, [u8]> {
        Cow::Borrowed(&record.kinesis.data.0)
    }
    fn ordered(_: &KinesisEvent) -> bool {
        true
    }
    fn respond(failed: Vec<String>) -> KinesisEventResponse {
        let mut response = KinesisEventResponse::default();
        for id in failed {
            let mut failure = KinesisBatchItemFailure::default();
            failure.item_identifier = Some(id);
            response.batch_item_failures.push(failure);
        }
        response
    }
    fn horizon(&self) -> i64 {
        self.retention_seconds
    }
}

/// A DynamoDB stream: records in order, stopping at the first failure; kept 24 hours.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamoDbStreams;

impl Source for DynamoDbStreams {
    const NAME: &'static str = "dynamodb";
    type Event = DynamoDbEvent;
    type Record = EventRecord;
    type Response = DynamoDbEventResponse;

    fn records(event: &DynamoDbEvent) -> &[EventRecord] {
        &event.records
    }
    fn id(record: &EventRecord) -> Option<&str> {
        record.change.sequence_number.as_deref()
    }
    fn origin(record: &EventRecord) -> &str {
        record.event_source_arn.as_deref().unwrap_or_default()
    }
    fn content(record: &EventRecord) -> Cow<'_, [u8]> {
        Cow::Owned(serde_json::to_vec(&record.change).unwrap_or_default())
    }
    fn ordered(_: &DynamoDbEvent) -> bool {
        true
    }
    fn respond(failed: Vec<String>) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for id in failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(id);
            response.batch_item_failures.push(failure);
        }
        response
    }
    fn horizon(&self) -> i64 {
        DAY_SECONDS
    }
}

/// An EventBridge rule's target: one event per invocation, retried for up to 24 hours. A
/// failure is the invocation's error (so the event goes to the target's dead-letter queue
/// after the retries); done is `Ok`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventBridge;

/// An event EventBridge should deliver again: the invocation's error.
#[derive(Debug, thiserror::Error)]
#[error("the event {0} was not processed; it is to be delivered again")]
pub struct NotProcessed(pub String);

impl Source for EventBridge {
    const NAME: &'static str = "eventbridge";
    type Event = EventBridgeEvent;
    type Record = EventBridgeEvent;
    type Response = Result<(), NotProcessed>;

    fn records(event: &EventBridgeEvent) -> &[EventBridgeEvent] {
        std::slice::from_ref(event)
    }
    fn id(record: &EventBridgeEvent) -> Option<&str> {
        record.id.as_deref()
    }
    fn origin(record: &EventBridgeEvent) -> &str {
        &record.source
    }
    fn content(record: &EventBridgeEvent) -> Cow<'_, [u8]> {
        Cow::Owned(serde_json::to_vec(&record.detail).unwrap_or_default())
    }
    fn ordered(_: &EventBridgeEvent) -> bool {
        true
    }
    fn respond(failed: Vec<String>) -> Result<(), NotProcessed> {
        match failed.into_iter().next() {
            None => Ok(()),
            Some(id) => Err(NotProcessed(id)),
        }
    }
    fn horizon(&self) -> i64 {
        DAY_SECONDS
    }
}

/// A consumer's answer as Lambda takes it: a partial batch response, or (EventBridge) the
/// invocation's error.
pub trait Answer {
    /// What the function returns when it returns.
    type Response: serde::Serialize;
    /// The response, or the error that has the source deliver again.
    fn into_result(self) -> Result<Self::Response, NotProcessed>;
}

macro_rules! batch_answers {
    ($($response:ty),*) => {$(
        impl Answer for $response {
            type Response = Self;
            fn into_result(self) -> Result<Self, NotProcessed> {
                Ok(self)
            }
        }
    )*};
}
batch_answers!(
    SqsBatchResponse,
    KinesisEventResponse,
    DynamoDbEventResponse
);

impl Answer for Result<(), NotProcessed> {
    type Response = ();
    fn into_result(self) -> Self {
        self
    }
}
