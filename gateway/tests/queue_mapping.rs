//! The local event source mapping against a real SQS server (the moto server `make test`
//! starts: AWS_ENDPOINT_URL_SQS) and a stub consumer behind an in-process Lambda Invoke API,
//! reached over HTTP as `cargo lambda watch` is. Each test has queues of its own (a 1 s
//! visibility timeout, redrive after 5 receives) and drives the mapping one poll at a time.
//!
//! Skipped, saying so, when AWS_ENDPOINT_URL_SQS is unset; scripts/test.sh sets it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use replaysafe_gateway::event::Outgoing;
use replaysafe_gateway::invoke::HttpInvoke;
use replaysafe_gateway::queue_mapping::{BatchReport, MappingConfig, QueueMapping};
use replaysafe_gateway::queues::{create_payout_queues, sqs_client, PayoutQueues};
use replaysafe_gateway::{read_request, write_response, Read};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// The queues' visibility timeout: a failed message is back after it.
const VISIBILITY: u32 = 1;
/// Bound on every wait for the queue to show something (generous: a slow machine only waits).
const PATIENCE: Duration = Duration::from_secs(60);

/// How the stub function answers one event.
enum Answer {
    /// An SqsBatchResponse failing these message ids.
    Fail(Vec<String>),
    /// A function error, as the Invoke API reports one.
    FunctionError,
    /// A 200 whose body is not an SqsBatchResponse.
    Raw(&'static str),
    /// No answer before the invocation's time limit.
    Hang,
}

type Policy = Box<dyn Fn(&SqsEvent) -> Answer + Send + Sync>;

/// A Lambda Invoke API with one function, `payouts`, that records every event it is given.
struct Stub {
    url: String,
    events: Arc<Mutex<Vec<SqsEvent>>>,
    policy: Arc<Mutex<Policy>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    async fn start(policy: Policy) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let events = Arc::new(Mutex::new(Vec::new()));
        let policy = Arc::new(Mutex::new(policy));
        let (e, p) = (events.clone(), policy.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, peer)) = listener.accept().await {
                let (e, p) = (e.clone(), p.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    while let Ok(Read::Request(req, keep_alive)) =
                        read_request(&mut stream, &mut buf, peer, peer).await
                    {
                        let out = answer(&req.method, &req.target, &req.body, &e, &p).await;
                        if stream
                            .write_all(&write_response(&out, keep_alive))
                            .await
                            .is_err()
                            || !keep_alive
                        {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url,
            events,
            policy,
            task,
        }
    }

    fn set(&self, policy: Policy) {
        *self.policy.lock().unwrap() = policy;
    }

    fn events(&self) -> Vec<SqsEvent> {
        self.events.lock().unwrap().clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    method: &str,
    target: &str,
    body: &[u8],
    events: &Mutex<Vec<SqsEvent>>,
    policy: &Mutex<Policy>,
) -> Outgoing {
    let json = |status, body: Vec<u8>| Outgoing {
        status,
        headers: vec![("content-type".into(), b"application/json".to_vec())],
        body,
    };
    if method != "POST" || target != "/2015-03-31/functions/payouts/invocations" {
        return json(
            404,
            br#"{"Type":"User","Message":"Function not found"}"#.to_vec(),
        );
    }
    let event: SqsEvent = serde_json::from_slice(body).expect("an SqsEvent");
    events.lock().unwrap().push(event.clone());
    let decision = (policy.lock().unwrap())(&event);
    match decision {
        Answer::Fail(ids) => {
            let mut response = SqsBatchResponse::default();
            for id in ids {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
            json(200, serde_json::to_vec(&response).unwrap())
        }
        Answer::FunctionError => {
            let mut out = json(
                200,
                br#"{"errorType":"&str","errorMessage":"boom"}"#.to_vec(),
            );
            out.headers
                .push(("x-amz-function-error".into(), b"Unhandled".to_vec()));
            out
        }
        Answer::Raw(body) => json(200, body.as_bytes().to_vec()),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            json(200, b"{}".to_vec())
        }
    }
}

fn succeed() -> Policy {
    Box::new(|_| Answer::Fail(Vec::new()))
}

/// Fails every message whose body starts with "fail".
fn fail_bodies_starting_with_fail() -> Policy {
    Box::new(|event| {
        Answer::Fail(
            event
                .records
                .iter()
                .filter(|m| m.body.as_deref().unwrap_or("").starts_with("fail"))
                .filter_map(|m| m.message_id.clone())
                .collect(),
        )
    })
}

/// Queues of this test's own on the SQS server, or None (and a note) when there is none.
async fn queues() -> Option<(aws_sdk_sqs::Client, PayoutQueues)> {
    if std::env::var_os("AWS_ENDPOINT_URL_SQS").is_none() {
        eprintln!(
            "skipped: AWS_ENDPOINT_URL_SQS is not set (scripts/test.sh starts an SQS server and sets it)"
        );
        return None;
    }
    let sqs = sqs_client(None).await;
    let prefix = format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let (queues, _) = create_payout_queues(&sqs, &prefix, VISIBILITY)
        .await
        .expect("the test's queues");
    Some((sqs, queues))
}

async fn mapping(
    sqs: &aws_sdk_sqs::Client,
    queues: &PayoutQueues,
    stub: &Stub,
    invoke_timeout: Duration,
) -> QueueMapping<HttpInvoke> {
    let config = MappingConfig {
        queue_url: queues.queue_url.clone(),
        function: "payouts".into(),
        batch_size: 10,
        wait_seconds: 1,
        visibility_timeout: None,
    };
    QueueMapping::new(
        sqs.clone(),
        HttpInvoke::new(&stub.url, invoke_timeout),
        config,
    )
    .await
    .expect("the mapping")
}

async fn send(sqs: &aws_sdk_sqs::Client, queue_url: &str, bodies: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for body in bodies {
        let sent = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(*body)
            .send()
            .await
            .unwrap();
        ids.push(sent.message_id.unwrap());
    }
    ids
}

/// Polls until `n` messages were received in all (SQS may spread them over batches); the
/// reports of the polls that received any.
async fn poll_until<I: replaysafe_gateway::invoke::Invoke>(
    mapping: &QueueMapping<I>,
    n: usize,
) -> Vec<BatchReport> {
    let deadline = Instant::now() + PATIENCE;
    let mut reports = Vec::new();
    let mut received = 0;
    while received < n {
        assert!(
            Instant::now() < deadline,
            "only {received} of {n} messages received in {PATIENCE:?}"
        );
        let report = mapping.poll_once().await.expect("a poll");
        if !report.received.is_empty() {
            received += report.received.len();
            reports.push(report);
        }
    }
    reports
}

fn all<'a>(
    reports: &'a [BatchReport],
    field: impl Fn(&'a BatchReport) -> &'a Vec<String>,
) -> Vec<String> {
    let mut ids: Vec<String> = reports.iter().flat_map(field).cloned().collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn delivers_a_batch_as_lambda_and_deletes_only_successes() {
    let Some((sqs, queues)) = queues().await else {
        return;
    };
    let stub = Stub::start(fail_bodies_starting_with_fail()).await;
    let mapping = mapping(&sqs, &queues, &stub, Duration::from_secs(30)).await;
    let ids = send(&sqs, &queues.queue_url, &["ok-1", "fail-2", "ok-3"]).await;

    let reports = poll_until(&mapping, 3).await;
    assert_eq!(all(&reports, |r| &r.received), sorted(ids.clone()));
    assert_eq!(all(&reports, |r| &r.failed), vec![ids[1].clone()]);
    assert_eq!(
        all(&reports, |r| &r.deleted),
        sorted(vec![ids[0].clone(), ids[2].clone()])
    );
    assert!(reports.iter().all(|r| r.batch_failure.is_none()));

    // The events are Lambda's.
    let event = &stub.events()[0];
    let m = &event.records[0];
    assert_eq!(m.event_source.as_deref(), Some("aws:sqs"));
    assert_eq!(
        m.event_source_arn.as_deref(),
        Some(queues.queue_arn.as_str())
    );
    assert_eq!(m.aws_region.as_deref(), Some("us-east-1"));
    assert!(m.receipt_handle.is_some() && m.md5_of_body.is_some());
    for name in [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ] {
        assert!(m.attributes.contains_key(name), "no {name}: {m:?}");
    }
    assert_eq!(m.attributes["ApproximateReceiveCount"], "1");

    // Only the failed one is left: it comes back alone.
    let again = poll_until(&mapping, 1).await;
    assert_eq!(all(&again, |r| &r.received), vec![ids[1].clone()]);
}

#[tokio::test]
async fn a_reported_failure_comes_back_after_the_visibility_timeout() {
    let Some((sqs, queues)) = queues().await else {
        return;
    };
    let stub = Stub::start(fail_bodies_starting_with_fail()).await;
    let mapping = mapping(&sqs, &queues, &stub, Duration::from_secs(30)).await;
    let ids = send(&sqs, &queues.queue_url, &["fail-1"]).await;

    let first = Instant::now();
    poll_until(&mapping, 1).await;
    stub.set(succeed());
    let second = poll_until(&mapping, 1).await;
    assert!(
        first.elapsed() >= Duration::from_secs(VISIBILITY.into()),
        "back before its visibility timeout ended"
    );
    assert_eq!(second[0].deleted, ids);
    let events = stub.events();
    let counts: Vec<&str> = events
        .iter()
        .map(|e| e.records[0].attributes["ApproximateReceiveCount"].as_str())
        .collect();
    assert_eq!(counts, ["1", "2"]);
    assert_eq!(
        events[1].records[0].message_id.as_deref(),
        Some(ids[0].as_str())
    );
}

#[tokio::test]
async fn after_five_receives_a_failing_message_is_in_the_dlq() {
    let Some((sqs, queues)) = queues().await else {
        return;
    };
    let stub = Stub::start(fail_bodies_starting_with_fail()).await;
    let mapping = mapping(&sqs, &queues, &stub, Duration::from_secs(30)).await;
    let ids = send(&sqs, &queues.queue_url, &["fail-always"]).await;

    for _ in 0..5 {
        poll_until(&mapping, 1).await;
    }
    let counts: Vec<String> = stub
        .events()
        .iter()
        .map(|e| e.records[0].attributes["ApproximateReceiveCount"].clone())
        .collect();
    assert_eq!(counts, ["1", "2", "3", "4", "5"]);

    // The sixth receive moves it to the DLQ instead of delivering it.
    let deadline = Instant::now() + PATIENCE;
    let moved = loop {
        assert!(
            Instant::now() < deadline,
            "not in the DLQ after {PATIENCE:?}"
        );
        let report = mapping.poll_once().await.unwrap();
        assert!(report.received.is_empty(), "delivered a sixth time");
        let found = sqs
            .receive_message()
            .queue_url(&queues.dlq_url)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if let Some(m) = found.into_iter().next() {
            break m;
        }
    };
    assert_eq!(moved.message_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(moved.body.as_deref(), Some("fail-always"));
    assert_eq!(stub.events().len(), 5);
}

#[tokio::test]
async fn a_failed_invocation_deletes_nothing() {
    let cases: Vec<(&str, Policy)> = vec![
        ("function error", Box::new(|_| Answer::FunctionError)),
        ("not an SqsBatchResponse", Box::new(|_| Answer::Raw("ok"))),
        (
            "a failure naming no message of the batch",
            Box::new(|_| Answer::Fail(vec!["not-in-the-batch".into()])),
        ),
        ("timeout", Box::new(|_| Answer::Hang)),
    ];
    for (case, policy) in cases {
        let Some((sqs, queues)) = queues().await else {
            return;
        };
        let stub = Stub::start(policy).await;
        let mapping = mapping(&sqs, &queues, &stub, Duration::from_secs(2)).await;
        let ids = send(&sqs, &queues.queue_url, &["ok-1", "ok-2"]).await;

        let reports = poll_until(&mapping, 2).await;
        assert!(
            reports.iter().all(|r| r.batch_failure.is_some()),
            "{case}: {reports:?}"
        );
        assert!(all(&reports, |r| &r.deleted).is_empty(), "{case}");

        // The whole batch comes back; delivered fine now, it is deleted.
        stub.set(succeed());
        let before = stub.events().len();
        let again = poll_until(&mapping, 2).await;
        assert_eq!(all(&again, |r| &r.deleted), sorted(ids.clone()), "{case}");
        let back = &stub.events()[before..];
        assert!(
            back.iter()
                .flat_map(|e| &e.records)
                .all(|m| m.attributes["ApproximateReceiveCount"] == "2"),
            "{case}"
        );
    }
}
