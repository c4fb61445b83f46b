//! The record consumer on the sources beside SQS, tested as an adopter would (the test kit
//! alone, a table of its own, DynamoDB Local): a shipment is counted once per order, however
//! often a Kinesis shard, a DynamoDB stream or EventBridge delivers it; a shard stops at its
//! first failure; a refusal is final; the key's records must outlive the source's horizon.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use lambda_http::aws_lambda_events::event::dynamodb::{
    Event as DynamoDbEvent, EventRecord as StreamRecord,
};
use lambda_http::aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_http::aws_lambda_events::event::kinesis::KinesisEvent;
use replaysafe::idempotency::IdempotencyKey;
use replaysafe::records::{
    Consumer, Delivery, DynamoDbStreams, EventBridge, Job, Kinesis, Source, DAY_SECONDS,
};
use replaysafe::store::schema::{create_tables, TableSpec};
use replaysafe::store::AttributeValue;
use replaysafe::testing;
use replaysafe::{Config, Effect, Guard, ManualClock, Principal, Problem};
use serde_json::json;

const T0: i64 = 1_763_812_800;

#[derive(Debug, thiserror::Error)]
enum ShipError {
    #[error("not a shipment")]
    Invalid,
    #[error("the order is on hold")]
    OnHold,
}

impl Problem for ShipError {
    fn status(&self) -> u16 {
        match self {
            ShipError::Invalid => 400,
            ShipError::OnHold => 409,
        }
    }
    fn code(&self) -> &str {
        match self {
            ShipError::Invalid => "invalid",
            ShipError::OnHold => "on-hold",
        }
    }
    fn title(&self) -> &str {
        "Shipment"
    }
}

#[derive(serde::Deserialize)]
struct Shipped {
    order_id: String,
}

struct Warehouse {
    table: String,
    config: Config,
    sdk: aws_sdk_dynamodb::Client,
}

impl Warehouse {
    async fn open(ttl: i64) -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
            .expect("AWS_ENDPOINT_URL_DYNAMODB: run with `make test`");
        let sdk = testing::local_sdk_client(&endpoint).await;
        let prefix = format!("w{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut config = Config::builder().table_prefix(&prefix).build().unwrap();
        config.idempotency_ttl_seconds = ttl;
        testing::create_tables(&sdk, &config.tables).await.unwrap();
        let table = format!("{prefix}shipments");
        let spec = TableSpec {
            logical: "shipments",
            partition_key: "order_id",
            ttl_attribute: None,
        };
        create_tables(&sdk, &[(table.as_str(), spec)])
            .await
            .unwrap();
        Self { table, config, sdk }
    }

    async fn consumer<S: Source>(
        &self,
        source: S,
    ) -> Result<Consumer<S>, replaysafe::config::ConfigError> {
        let guard = Guard::builder(self.config.clone())
            .sdk_client(self.sdk.clone())
            .clock(Arc::new(ManualClock::new(T0)))
            .build()
            .await
            .unwrap();
        Consumer::new(guard, source)
    }

    /// Each order's shipment count goes up by one per effect: more than one is a duplicate.
    /// The order is the content's `order_id`.
    async fn handle<S: Source>(&self, consumer: &Consumer<S>, event: &S::Event) -> S::Response {
        let order_of = |record: &Delivery<'_, S::Record>| {
            serde_json::from_slice::<Shipped>(record.content())
                .ok()
                .map(|s| s.order_id)
        };
        self.handle_by(consumer, event, order_of).await
    }

    /// [`Warehouse::handle`], the order being what `order_of` finds in a record.
    async fn handle_by<S: Source>(
        &self,
        consumer: &Consumer<S>,
        event: &S::Event,
        order_of: impl Fn(&Delivery<'_, S::Record>) -> Option<String>,
    ) -> S::Response {
        let parse = |record: &Delivery<'_, S::Record>| {
            let order_id = order_of(record).ok_or(ShipError::Invalid)?;
            let key = IdempotencyKey::parse(Some(&order_id)).map_err(|_| ShipError::Invalid)?;
            let owner = Principal::authorized("warehouse").unwrap();
            Ok(Job::new(owner, key, order_id))
        };
        consumer
            .handle(event, None, parse, async |_op, order_id: String| {
                if order_id.starts_with("held") {
                    return Err(ShipError::OnHold.into());
                }
                let count = Update::builder()
                    .table_name(&self.table)
                    .key("order_id", AttributeValue::S(order_id))
                    .update_expression("ADD shipments :one")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .unwrap();
                Ok(Effect::<ShipError>::json(200, &"shipped")
                    .unconditional(TransactWriteItem::builder().update(count).build()))
            })
            .await
    }

    async fn shipments(&self, order_id: &str) -> u64 {
        let item = self
            .sdk
            .get_item()
            .table_name(&self.table)
            .key("order_id", AttributeValue::S(order_id.into()))
            .send()
            .await
            .unwrap()
            .item;
        item.and_then(|i| i.get("shipments").and_then(|v| v.as_n().ok()?.parse().ok()))
            .unwrap_or(0)
    }
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn kinesis(records: &[(&str, &str)]) -> KinesisEvent {
    let records: Vec<_> = records
        .iter()
        .map(|(seq, data)| {
            json!({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "p", "sequenceNumber": seq,
                            "data": base64(data), "approximateArrivalTimestamp": 1767225600.0},
                "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": format!("shardId-000:{seq}"),
                "eventName": "aws:kinesis:record", "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:kinesis:eu-west-1:000000000000:stream/shipments",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn failures(v: impl serde::Serialize) -> Vec<String> {
    let v = serde_json::to_value(v).unwrap();
    v["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_kinesis_shard_counts_each_order_once_and_stops_at_its_first_failure() {
    let w = Warehouse::open(DAY_SECONDS).await;
    let consumer = w.consumer(Kinesis::retention(DAY_SECONDS)).await.unwrap();
    let batch = kinesis(&[
        ("1", r#"{"order_id":"o-1"}"#),
        ("2", r#"{"order_id":"held-2"}"#),
        ("3", "not json"),
        ("4", r#"{"order_id":"o-4"}"#),
    ]);
    // The refusal (held-2) is done; the bad record stops the shard there.
    assert_eq!(failures(w.handle(&consumer, &batch).await), ["3", "4"]);
    assert_eq!((w.shipments("o-1").await, w.shipments("o-4").await), (1, 0));
    // Lambda restarts the shard at the failure; the whole batch again changes nothing done.
    let again = kinesis(&[
        ("1", r#"{"order_id":"o-1"}"#),
        ("4", r#"{"order_id":"o-4"}"#),
    ]);
    assert!(failures(w.handle(&consumer, &again).await).is_empty());
    assert_eq!((w.shipments("o-1").await, w.shipments("o-4").await), (1, 1));
}

#[tokio::test]
async fn a_dynamodb_stream_record_delivered_twice_counts_once() {
    let w = Warehouse::open(DAY_SECONDS).await;
    let consumer = w.consumer(DynamoDbStreams).await.unwrap();
    let record = |seq: &str, order: &str| {
        json!({
            "eventID": format!("e-{seq}"), "eventName": "INSERT", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
            "eventSourceARN": "arn:aws:dynamodb:eu-west-1:000000000000:table/orders/stream/2026",
            "dynamodb": {"Keys": {"order_id": {"S": order}}, "SequenceNumber": seq,
                         "SizeBytes": 10, "StreamViewType": "KEYS_ONLY"},
        })
    };
    // Keyed by the changed item's order: a stream record's content is its change.
    let event: DynamoDbEvent =
        serde_json::from_value(json!({"Records": [record("10", "o-9"), record("10", "o-9")]}))
            .unwrap();
    let order_of =
        |record: &Delivery<'_, StreamRecord>| match record.record().change.keys.get("order_id") {
            Some(serde_dynamo::AttributeValue::S(order)) => Some(order.clone()),
            _ => None,
        };
    assert!(failures(w.handle_by(&consumer, &event, order_of).await).is_empty());
    assert_eq!(w.shipments("o-9").await, 1);
}

#[tokio::test]
async fn an_eventbridge_event_retried_counts_once_and_a_bad_one_fails_the_invocation() {
    let w = Warehouse::open(DAY_SECONDS).await;
    let consumer = w.consumer(EventBridge).await.unwrap();
    let event = |id: &str, detail: serde_json::Value| -> EventBridgeEvent {
        serde_json::from_value(json!({
            "version": "0", "id": id, "detail-type": "Shipped", "source": "shop.orders",
            "account": "000000000000", "time": "2026-12-06T12:00:00Z", "region": "eu-west-1",
            "resources": [], "detail": detail,
        }))
        .unwrap()
    };
    let shipped = event("ev-1", json!({"order_id": "o-5"}));
    for _ in 0..3 {
        assert!(w.handle(&consumer, &shipped).await.is_ok());
    }
    assert_eq!(w.shipments("o-5").await, 1);
    let bad = event("ev-2", json!({"sku": "x"}));
    assert!(
        w.handle(&consumer, &bad).await.is_err(),
        "retried, then its dead-letter queue"
    );
}

#[tokio::test]
async fn a_consumer_whose_records_expire_before_the_source_redelivers_is_refused() {
    let w = Warehouse::open(3600).await;
    let err = w.consumer(EventBridge).await.err().expect("refused");
    assert_eq!(err.name, "IDEMPOTENCY_TTL_SECONDS");
    assert!(w
        .consumer(Kinesis::retention(7 * DAY_SECONDS))
        .await
        .is_err());
    assert!(w.consumer(Kinesis::retention(3600)).await.is_ok());
}
