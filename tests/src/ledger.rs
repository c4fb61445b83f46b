//! What the ledger auditor's tests share: a test app's money tables with their streams on, a
//! real workload on them (accounts, transfers, payouts, withdrawals paid and refused by the
//! fake bank), the streams read back through `local-stream-mapping`'s reader and mapping, the
//! auditor invoked in process, and the recorded events of `events/ledger/`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::aws_lambda_events::event::dynamodb::Event;
use payments::audit::Outcome;
use payments::Auditor;
use replaysafe::metrics::Scheme;
use replaysafe_gateway::invoke::{Invoke, InvokeError};
use replaysafe_gateway::stream_mapping::{ensure_stream, Start, StreamMapping, StreamReader};
use serde_json::{json, Value};

use crate::outside::{deliver, payout_body, sqs_event, Message, QUEUE_ARN};
use crate::{send_via, TestApp, World};

/// The table prefix recorded events carry, the stack's default; replaced by a test app's.
pub const RECORDED_PREFIX: &str = "replaysafe-";

/// An IBAN the fake bank pays.
pub const GOOD_IBAN: &str = "DE89370400440532013000";
/// Valid syntax for the API, an unknown account for the bank: it refuses with 422.
pub const BAD_IBAN: &str = "DE00370400440532013000";

/// The auditor on `app`'s tables, its metric documents in a test namespace.
pub fn auditor(app: &TestApp) -> Auditor {
    Auditor::new(
        app.ledger.clone(),
        Scheme::new("replaysafe-test", "ledger-test"),
    )
}

/// The auditor as `local-stream-mapping` invokes it, in process: each batch audited, its
/// outcomes kept, its partial batch response answered.
#[derive(Clone)]
pub struct InProcess {
    auditor: Arc<Auditor>,
    /// Every record's outcome, in the order audited.
    pub outcomes: Arc<Mutex<Vec<Outcome>>>,
}

impl InProcess {
    pub fn new(auditor: Auditor) -> Self {
        Self {
            auditor: Arc::new(auditor),
            outcomes: Arc::default(),
        }
    }

    /// The outcomes so far, emptied.
    pub fn take(&self) -> Vec<Outcome> {
        std::mem::take(&mut self.outcomes.lock().unwrap())
    }
}

impl Invoke for InProcess {
    async fn invoke(&self, _function: &str, event: &Value) -> Result<Vec<u8>, InvokeError> {
        let event: Event = serde_json::from_value(event.clone())
            .map_err(|e| InvokeError::Transport(format!("not a DynamoDB event: {e}")))?;
        let audit = self.auditor.audit(&event).await;
        self.outcomes
            .lock()
            .unwrap()
            .extend(audit.records.into_iter().map(|(_, o)| o));
        Ok(serde_json::to_vec(&audit.response).expect("a batch response"))
    }
}

/// Readers of `app`'s money tables' streams (turned on first) from their oldest record, by
/// logical table name, as `make run` reads them.
pub async fn readers(app: &TestApp) -> Vec<(&'static str, StreamReader)> {
    let config = replaysafe_gateway::sdk_config(Some(&crate::endpoint())).await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let mut readers = Vec::new();
    for (logical, table) in app.ledger.tables().streamed() {
        let arn = ensure_stream(app.ledger.client(), table)
            .await
            .expect("a stream");
        let reader = StreamReader::new(
            streams.clone(),
            table,
            &arn,
            "us-east-1",
            Start::TrimHorizon,
        );
        readers.push((logical, reader));
    }
    readers
}

/// The mapping of `make run` from `app`'s money tables' streams to `invoke`.
pub async fn follow<I: Invoke>(app: &TestApp, invoke: I) -> StreamMapping<I> {
    let readers = readers(app).await.into_iter().map(|(_, r)| r).collect();
    StreamMapping::new(readers, invoke, "ledger-auditor", 100)
}

/// Every stream record of `app`'s money tables from their oldest, by table, as Lambda's event
/// records.
pub async fn read_streams(app: &TestApp) -> Vec<(&'static str, Vec<Value>)> {
    let mut all = Vec::new();
    for (logical, mut reader) in readers(app).await {
        let records = reader
            .read()
            .await
            .expect("read the stream")
            .into_iter()
            .flat_map(|(_, records)| records)
            .collect();
        all.push((logical, records));
    }
    all
}

/// The ids of a workload's operations.
#[derive(Debug, Default)]
pub struct Workload {
    pub transfer: String,
    pub paid_withdrawal: String,
    pub refused_withdrawal: String,
    pub payout_transfer: String,
}

/// A bank's day on `app`: Alice (10 000 EUR) and Bob (0 EUR) open accounts; Alice sends Bob
/// 1 500, Bob sends back 200, a transfer beyond Alice's funds is refused; a payout of 300
/// from Alice to Bob is delivered twice; Alice withdraws 1 000 (paid) and 500 to an IBAN the
/// bank refuses (the funds come back).
pub async fn bank_day(app: &TestApp, bank_url: &str) -> Workload {
    let bob = app.new_client().await;
    app.open_account(&app.alice, World::ALICE, "EUR", 10_000)
        .await;
    app.open_account(&bob, World::BOB, "EUR", 0).await;
    let transfer = |client, from, to, amount| {
        app.signed(
            client,
            "POST",
            "/transfers",
            &TestApp::transfer_body(from, to, amount),
        )
    };
    let sent = app
        .send(&transfer(&app.alice, World::ALICE, World::BOB, 1500))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let back = app
        .send(&transfer(&bob, World::BOB, World::ALICE, 200))
        .await;
    assert_eq!(back.status, 201, "{}", back.body);
    let refused = app
        .send(&transfer(&app.alice, World::ALICE, World::BOB, 1_000_000))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);

    let payouts = app.payouts().await;
    let body = payout_body("po_ledger", &app.alice.id, World::ALICE, World::BOB, 300);
    for id in ["m1", "m2"] {
        let event = sqs_event(QUEUE_ARN, &[Message { id, body: &body }]);
        let answer = deliver(&payouts, event).await;
        assert!(answer.batch_item_failures.is_empty());
    }
    let payout = app
        .ledger
        .get_payout(
            &replaysafe::Principal::from_stored(&app.alice.id),
            &payments::domain::PayoutId::parse("po_ledger").unwrap(),
        )
        .await
        .unwrap()
        .expect("the payout settled");
    let payout_transfer = match payout.outcome {
        payments::domain::PayoutOutcome::Paid { transfer_id } => transfer_id.to_string(),
        other => panic!("the payout was refused: {other:?}"),
    };

    let payments = app.with_bank(bank_url, 10, 3).await;
    let withdraw = |amount, iban| {
        let body = format!(
            r#"{{"from":"{}","amount":{amount},"currency":"EUR","iban":"{iban}"}}"#,
            World::ALICE
        );
        app.signed(&app.alice, "POST", "/withdrawals", &body)
    };
    let paid = send_via(&payments, &withdraw(1000, GOOD_IBAN)).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let bounced = send_via(&payments, &withdraw(500, BAD_IBAN)).await;
    assert_eq!(bounced.status, 422, "{}", bounced.body);
    let refused_withdrawal = app
        .scan_all(&app.ledger.tables().withdrawals)
        .await
        .iter()
        .find(|w| w["status"].as_s().is_ok_and(|s| s == "refused"))
        .and_then(|w| w["withdrawal_id"].as_s().ok().cloned())
        .expect("the refused withdrawal");
    Workload {
        transfer: sent.json()["transfer_id"].as_str().unwrap().to_owned(),
        paid_withdrawal: paid.json()["withdrawal_id"].as_str().unwrap().to_owned(),
        refused_withdrawal,
        payout_transfer,
    }
}

/// `events/ledger/`.
pub fn recorded_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("events/ledger")
}

/// A recorded event, its tables renamed to `app`'s.
pub fn recorded(app: &TestApp, name: &str) -> Value {
    let path = recorded_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let prefix = app.ledger.tables().accounts.trim_end_matches("accounts");
    let text = text.replace(
        &format!("table/{RECORDED_PREFIX}"),
        &format!("table/{prefix}"),
    );
    serde_json::from_str(&text).expect("a DynamoDB event")
}

/// Puts each item an event's records show (their newest image, in order) into `app`'s tables:
/// the operations and accounts a recorded batch names exist, as they did when it was recorded.
pub async fn seed(app: &TestApp, event: &Value) {
    for record in event["Records"].as_array().expect("Records") {
        let Some(image) = record["dynamodb"]["NewImage"].as_object() else {
            continue;
        };
        let arn = record["eventSourceARN"].as_str().expect("eventSourceARN");
        let table = arn
            .split_once(":table/")
            .and_then(|(_, rest)| rest.split('/').next())
            .expect("a table ARN");
        let item = image
            .iter()
            .map(|(name, value)| (name.clone(), attribute(value)))
            .collect();
        app.ledger
            .client()
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .expect("seed an item");
    }
}

/// A DynamoDB JSON value (`{"S": ..}`, `{"N": ..}`, ...) as the SDK's.
fn attribute(v: &Value) -> AttributeValue {
    let (kind, inner) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("a typed value");
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap().to_owned()),
        "N" => AttributeValue::N(inner.as_str().unwrap().to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(true),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), attribute(v)))
                .collect(),
        ),
        "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(attribute).collect()),
        other => panic!("a {other} value in a recorded image"),
    }
}

/// `{"Records": records}`.
pub fn event_of(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}
