//! The DynamoDB Streams event source mapping of `make run`: what Lambda does between tables'
//! streams and a function with `ReportBatchItemFailures` (docs/local-streams.md).
//!
//! [`ensure_stream`] turns a table's stream on (`NEW_AND_OLD_IMAGES`), as the stack's
//! `StreamSpecification` does in AWS. A [`StreamReader`] follows one table's stream: its shards
//! (DescribeStream, new ones as DynamoDB opens them, each from its oldest record), their records
//! (GetRecords), each as the record of Lambda's DynamoDB event ([`lambda_record`]). A
//! [`StreamMapping`] hands each shard's records to the function in batches through the Invoke
//! API and reads its partial batch response as Lambda does: from the first failed record on,
//! the shard's records are delivered again (after a pause), and nothing later in that shard is
//! delivered before them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::invoke::Invoke;

/// Why a stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A DynamoDB or DynamoDB Streams call failed.
    #[error("{call} {table}: {message}")]
    Call {
        call: &'static str,
        table: String,
        message: String,
    },
    /// The table has no stream, even after turning it on.
    #[error("{0} has no stream")]
    NoStream(String),
}

fn call_failed(call: &'static str, table: &str, e: impl std::error::Error) -> StreamError {
    StreamError::Call {
        call,
        table: table.to_owned(),
        message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
    }
}

/// The ARN of `table`'s stream, turning it on first (`NEW_AND_OLD_IMAGES`) when it is off.
pub async fn ensure_stream(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<String, StreamError> {
    let describe = || async {
        let out = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| call_failed("DescribeTable", table, e))?;
        let t = out
            .table
            .ok_or_else(|| StreamError::NoStream(table.into()))?;
        let on = t
            .stream_specification
            .as_ref()
            .is_some_and(|s| s.stream_enabled);
        Ok::<_, StreamError>(on.then_some(t.latest_stream_arn).flatten())
    };
    if let Some(arn) = describe().await? {
        return Ok(arn);
    }
    let spec = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(|e| call_failed("UpdateTable", table, e))?;
    dynamodb
        .update_table()
        .table_name(table)
        .stream_specification(spec)
        .send()
        .await
        .map_err(|e| call_failed("UpdateTable", table, e))?;
    describe()
        .await?
        .ok_or_else(|| StreamError::NoStream(table.into()))
}

/// Where a reader starts in the shards that exist when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// From the oldest record the stream keeps (the stack's `StartingPosition`).
    TrimHorizon,
    /// From the next record written.
    Latest,
}

/// Where a reader is in one shard.
#[derive(Debug, Default)]
struct Shard {
    /// The iterator of its next records; none: to get (again).
    iterator: Option<String>,
    /// The last record read, where a new iterator starts after.
    last: Option<String>,
    /// Where its first iterator starts, when nothing was read yet.
    first: Option<ShardIteratorType>,
    /// DynamoDB closed it (it has an ending sequence number): read to its end, it is done.
    ending: bool,
}

/// One table's stream, followed shard by shard.
pub struct StreamReader {
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    stream_arn: String,
    region: String,
    /// Shards being read, by id.
    open: BTreeMap<String, Shard>,
    /// Shards read to their end.
    closed: BTreeSet<String>,
    start: Start,
    started: bool,
}

impl StreamReader {
    /// A reader of `table`'s stream `stream_arn`, in `region` (the events' `awsRegion`).
    pub fn new(
        streams: aws_sdk_dynamodbstreams::Client,
        table: &str,
        stream_arn: &str,
        region: &str,
        start: Start,
    ) -> Self {
        Self {
            streams,
            table: table.to_owned(),
            stream_arn: stream_arn.to_owned(),
            region: region.to_owned(),
            open: BTreeMap::new(),
            closed: BTreeSet::new(),
            start,
            started: false,
        }
    }

    /// The table read.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The records written since the last read, by shard, each as the record of Lambda's
    /// DynamoDB event, in the shard's order. A parent shard is read before its children.
    pub async fn read(&mut self) -> Result<Vec<(String, Vec<Value>)>, StreamError> {
        self.discover().await?;
        let mut out = Vec::new();
        let ids: Vec<String> = self.open.keys().cloned().collect();
        for id in ids {
            let iterator = match self.open[&id].iterator.clone() {
                Some(iterator) => iterator,
                None => match self.iterator(&id).await? {
                    Some(iterator) => iterator,
                    None => continue,
                },
            };
            let answer = match self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
            {
                Ok(answer) => answer,
                // DynamoDB Local answers so for a shard with no record yet, DynamoDB for one
                // whose records aged out (24 h) or an iterator that expired (15 min): start
                // again, after the last record read if it is still there, else from the oldest.
                Err(e) if e.as_service_error().is_some_and(start_again) => {
                    let shard = self.open.get_mut(&id).expect("an open shard");
                    shard.iterator = None;
                    if e.as_service_error()
                        .is_some_and(GetRecordsError::is_trimmed_data_access_exception)
                    {
                        shard.last = None;
                        shard.first = Some(ShardIteratorType::TrimHorizon);
                    }
                    continue;
                }
                Err(e) => return Err(call_failed("GetRecords", &self.table, e)),
            };
            let records: Vec<Value> = answer
                .records()
                .iter()
                .map(|r| lambda_record(r, &self.stream_arn, &self.region))
                .collect();
            let shard = self.open.get_mut(&id).expect("an open shard");
            if let Some(last) = answer
                .records()
                .last()
                .and_then(|r| r.dynamodb.as_ref()?.sequence_number.clone())
            {
                shard.last = Some(last);
            }
            // No next iterator: a closed shard is done; an open one (DynamoDB Local answers so
            // while a shard has nothing new) gets a new iterator after its last record.
            shard.iterator = answer.next_shard_iterator;
            if shard.iterator.is_none() && shard.ending {
                self.open.remove(&id);
                self.closed.insert(id.clone());
            }
            if !records.is_empty() {
                out.push((id, records));
            }
        }
        Ok(out)
    }

    /// A new iterator for shard `id`: after its last record read, else where it starts.
    async fn iterator(&self, id: &str) -> Result<Option<String>, StreamError> {
        let shard = &self.open[id];
        let mut request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(id);
        request = match (&shard.last, &shard.first) {
            (Some(last), _) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(last),
            (None, Some(first)) => request.shard_iterator_type(first.clone()),
            (None, None) => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        Ok(request
            .send()
            .await
            .map_err(|e| call_failed("GetShardIterator", &self.table, e))?
            .shard_iterator)
    }

    /// Starts every shard not seen yet: those found at the start at [`Start`], later ones
    /// (DynamoDB opens a new shard every few hours, or on a split) from their oldest record.
    async fn discover(&mut self) -> Result<(), StreamError> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(after.clone())
                .send()
                .await
                .map_err(|e| call_failed("DescribeStream", &self.table, e))?;
            let Some(description) = out.stream_description else {
                break;
            };
            shards.extend(description.shards.unwrap_or_default());
            match description.last_evaluated_shard_id {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        let first = match (self.started, self.start) {
            (false, Start::Latest) => ShardIteratorType::Latest,
            _ => ShardIteratorType::TrimHorizon,
        };
        for shard in shards {
            let Some(id) = shard.shard_id else { continue };
            let ending = shard
                .sequence_number_range
                .as_ref()
                .is_some_and(|r| r.ending_sequence_number.is_some());
            if let Some(known) = self.open.get_mut(&id) {
                known.ending = ending;
                continue;
            }
            if self.closed.contains(&id) {
                continue;
            }
            // A child waits for its parent to be read to its end: a key's changes stay in order.
            let parent_open = shard
                .parent_shard_id
                .as_ref()
                .is_some_and(|p| self.open.contains_key(p));
            if parent_open {
                continue;
            }
            let state = Shard {
                first: Some(first.clone()),
                ending,
                ..Shard::default()
            };
            self.open.insert(id, state);
        }
        self.started = true;
        Ok(())
    }
}

fn start_again(e: &GetRecordsError) -> bool {
    e.is_trimmed_data_access_exception() || e.is_expired_iterator_exception()
}

/// A stream record as the record of Lambda's DynamoDB event: `eventID`, `eventName`,
/// `eventVersion`, `eventSource`, `awsRegion`, `dynamodb` (`ApproximateCreationDateTime` in
/// epoch seconds, `Keys`, `NewImage`, `OldImage`, `SequenceNumber`, `SizeBytes`,
/// `StreamViewType`, images in DynamoDB JSON) and `eventSourceARN`.
pub fn lambda_record(record: &Record, stream_arn: &str, region: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(change) = &record.dynamodb {
        let created = change
            .approximate_creation_date_time
            .map_or(0, |t| t.secs());
        dynamodb.insert("ApproximateCreationDateTime".into(), json!(created));
        for (name, image) in [
            ("Keys", &change.keys),
            ("NewImage", &change.new_image),
            ("OldImage", &change.old_image),
        ] {
            if let Some(image) = image {
                dynamodb.insert(name.into(), item_json(image));
            }
        }
        dynamodb.insert("SequenceNumber".into(), json!(change.sequence_number));
        dynamodb.insert("SizeBytes".into(), json!(change.size_bytes));
        if let Some(view) = &change.stream_view_type {
            dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name.as_ref().map(|n| n.as_str()),
        "eventVersion": record.event_version.as_deref().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": Value::Object(dynamodb),
        "eventSourceARN": stream_arn,
    })
}

fn item_json(item: &std::collections::HashMap<String, AttributeValue>) -> Value {
    let sorted: BTreeMap<&String, Value> = item.iter().map(|(k, v)| (k, value_json(v))).collect();
    json!(sorted)
}

fn value_json(v: &AttributeValue) -> Value {
    let b64 =
        |b: &aws_smithy_types::Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Ss(ss) => json!({ "SS": ss }),
        AttributeValue::Ns(ns) => json!({ "NS": ns }),
        AttributeValue::Bs(bs) => json!({ "BS": bs.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(value_json).collect::<Vec<_>>() }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        _ => Value::Null,
    }
}

/// The first record the function's answer reports as failed, read as Lambda reads a stream
/// consumer's partial batch response: `None` when all succeeded; the first record of the
/// batch when the answer is not one Lambda accepts (or names a record not in the batch).
pub fn first_failed(answer: &[u8], batch: &[Value]) -> Option<usize> {
    let sequence = |r: &Value| r["dynamodb"]["SequenceNumber"].as_str().map(str::to_owned);
    if answer.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let Ok(answer) = serde_json::from_slice::<Value>(answer) else {
        return Some(0);
    };
    let items = match &answer {
        Value::Null => return None,
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return None,
            Some(Value::Array(items)) => items,
            Some(_) => return Some(0),
        },
        _ => return Some(0),
    };
    let mut first: Option<usize> = None;
    for item in items {
        let Some(id) = item.get("itemIdentifier").and_then(Value::as_str) else {
            return Some(0);
        };
        let Some(at) = batch
            .iter()
            .position(|r| sequence(r).as_deref() == Some(id))
        else {
            return Some(0);
        };
        first = Some(first.map_or(at, |f: usize| f.min(at)));
    }
    first
}

/// The mapping of tables' streams to one function, invoking it through `I`.
pub struct StreamMapping<I> {
    readers: Vec<StreamReader>,
    invoke: I,
    function: String,
    batch_size: usize,
    /// Records read but not yet delivered (or to deliver again), by table and shard.
    pending: BTreeMap<(String, String), VecDeque<Value>>,
}

/// What one round of [`StreamMapping::poll_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Records delivered and accepted.
    pub delivered: usize,
    /// Records left to deliver again (a failed record and those after it in its shard).
    pub retrying: usize,
}

impl<I: Invoke> StreamMapping<I> {
    /// Delivers the records `readers` read to `function`, at most `batch_size` at a time.
    pub fn new(readers: Vec<StreamReader>, invoke: I, function: &str, batch_size: usize) -> Self {
        Self {
            readers,
            invoke,
            function: function.to_owned(),
            batch_size: batch_size.max(1),
            pending: BTreeMap::new(),
        }
    }

    /// One round: read every stream, then deliver each shard's pending records in batches
    /// until one fails (it stays, with the rest of its shard, for the next round).
    pub async fn poll_once(&mut self) -> Result<Round, StreamError> {
        for reader in &mut self.readers {
            for (shard, records) in reader.read().await? {
                self.pending
                    .entry((reader.table().to_owned(), shard))
                    .or_default()
                    .extend(records);
            }
        }
        let mut round = Round::default();
        for ((table, _shard), queue) in self.pending.iter_mut() {
            while !queue.is_empty() {
                let take = queue.len().min(self.batch_size);
                let batch: Vec<Value> = queue.iter().take(take).cloned().collect();
                let event = json!({ "Records": batch });
                let failed = match self.invoke.invoke(&self.function, &event).await {
                    Ok(answer) => first_failed(&answer, &batch),
                    Err(e) => {
                        tracing::warn!(table = %table, error = %e, "invocation failed: the batch is delivered again");
                        Some(0)
                    }
                };
                let done = failed.unwrap_or(take);
                queue.drain(..done);
                round.delivered += done;
                if failed.is_some() {
                    round.retrying += queue.len();
                    tracing::info!(table = %table, delivered = done, retrying = queue.len(), "a record failed: it and the rest of its shard come again");
                    break;
                }
            }
        }
        self.pending.retain(|_, q| !q.is_empty());
        Ok(round)
    }

    /// Polls forever, every `interval`; a failed round or a record to deliver again waits
    /// longer, up to 30 s, as Lambda backs off a failing shard.
    pub async fn run(&mut self, interval: Duration) {
        let mut pause = interval;
        loop {
            match self.poll_once().await {
                Ok(round) if round.retrying == 0 => {
                    if round.delivered > 0 {
                        tracing::info!(function = %self.function, records = round.delivered, "records delivered");
                    }
                    pause = interval;
                }
                Ok(_) => pause = (pause * 2).min(Duration::from_secs(30)),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = pause.as_secs(), "stream poll failed");
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(sequences: &[&str]) -> Vec<Value> {
        sequences
            .iter()
            .map(|s| json!({"dynamodb": {"SequenceNumber": s}}))
            .collect()
    }

    #[test]
    fn the_first_failed_record_is_where_the_shard_starts_again() {
        let b = batch(&["1", "2", "3"]);
        for answer in [&b""[..], b"null", b"{}", br#"{"batchItemFailures":[]}"#] {
            assert_eq!(first_failed(answer, &b), None);
        }
        let two = br#"{"batchItemFailures":[{"itemIdentifier":"3"},{"itemIdentifier":"2"}]}"#;
        assert_eq!(first_failed(two, &b), Some(1));
        for bad in [
            &b"not json"[..],
            b"[]",
            br#"{"batchItemFailures":[{"itemIdentifier":"9"}]}"#,
            br#"{"batchItemFailures":[{}]}"#,
        ] {
            assert_eq!(first_failed(bad, &b), Some(0));
        }
    }

    #[test]
    fn a_record_is_lambdas_dynamodb_record() {
        use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord};
        let record = Record::builder()
            .event_id("e1")
            .event_name(OperationType::Modify)
            .event_version("1.1")
            .dynamodb(
                StreamRecord::builder()
                    .keys("account_id", AttributeValue::S("acc_a".into()))
                    .new_image("balance", AttributeValue::N("5".into()))
                    .old_image("balance", AttributeValue::N("7".into()))
                    .sequence_number("100")
                    .size_bytes(10)
                    .stream_view_type(
                        aws_sdk_dynamodbstreams::types::StreamViewType::NewAndOldImages,
                    )
                    .build(),
            )
            .build();
        let arn = "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x";
        let v = lambda_record(&record, arn, "us-east-1");
        assert_eq!(v["eventName"], "MODIFY");
        assert_eq!(v["dynamodb"]["NewImage"]["balance"], json!({"N": "5"}));
        assert_eq!(v["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
        let event: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(json!({ "Records": [v] })).expect("Lambda's event");
        assert_eq!(event.records[0].event_id, "e1");
        assert_eq!(
            event.records[0].change.sequence_number.as_deref(),
            Some("100")
        );
    }
}
