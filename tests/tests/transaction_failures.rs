//! The library's failure paths that DynamoDB Local never produces (transaction conflicts,
//! throttling, SDK retries of writes that had committed, dispatch failures and timeouts), driven
//! through the real `POST /transfers` handler over an SDK client whose responses come from
//! `aws-smithy-mocks`: no DynamoDB Local needed. Requests are the harness's [`Call`]s, answers
//! its [`Answer`]s.
//!
//! SDK retries: every client here is built with `RetryConfig::disabled()` unless a test says
//! otherwise, so a rule's `num_calls()` counts exactly the calls the guard made. One test turns
//! the SDK's standard retries on to show that its retries of a throttled transaction are
//! bounded too. (`mock_client!` alone would use the SDK default: standard mode, 3 attempts,
//! which retries throttling and dispatch failures with real back-off sleeps.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, InternalServerError, ProvisionedThroughputExceededException,
    ResourceNotFoundException, ThrottlingException, TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use lambda_http::{Context, Request, RequestExt};
use payments::routes::Route;
use payments::{Payments, PaymentsStore, PaymentsTables};
use replaysafe::idempotency::Fingerprint;
use replaysafe::metrics::Scheme;
use replaysafe::testing::CapturedMetrics;
use replaysafe::{Config, Guard, ManualClock, Tables};
use replaysafe_signing::Signer;
use replaysafe_tests::{emf, Answer, Call, T0};
use serde_json::Value;

/// The contract's test-vector time, which the mocked guard's clock reads.
const T: i64 = T0;
const CLIENT_ID: &str = "cli_mocked";
const KEY: &str = "5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21";
const BODY: &str = r#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR"}"#;
const OTHER_BODY: &str = r#"{"from":"acc_alice","to":"acc_bob","amount":9999,"currency":"EUR"}"#;
/// What the idempotency table holds for a request that committed earlier.
const STORED_BODY: &str = r#"{"transfer_id":"tr_stored","from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR","reference":null,"created_at":"2025-11-22T11:59:00Z"}"#;
const STORED_LOCATION: &str = "/transfers/tr_stored";
/// Put into every mocked SDK error message: it must never reach a response.
const SDK_TEXT: &str =
    "SDK-INTERNAL-DETAIL arn:aws:dynamodb:us-east-1:123456789012:table/t-accounts";

fn secret() -> Vec<u8> {
    (0u8..32).collect()
}

fn tables() -> Tables {
    Tables::with_prefix("t-")
}

// ---------------------------------------------------------------------------------------------
// Requests and answers

/// A correctly signed `POST /transfers` (fresh nonce) arriving as Lambda invocation
/// `request_id`.
fn transfer_request(request_id: &str, body: &str) -> Request {
    let mut call = Call::new(
        Signer::new(CLIENT_ID, secret()),
        "POST",
        "/transfers",
        body,
        T,
    );
    call.idempotency_key = Some(KEY.to_owned());
    call.request_id = request_id.to_owned();
    call.sign().request()
}

/// `POST /transfers` as API Gateway hands it on after its JWT authorizer accepted a token for
/// `alice`: no signature, the `sub` in the request context.
fn authorized_request(request_id: &str, body: &str) -> Request {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    replaysafe::testing::authorized("POST", "/transfers", body.as_bytes(), Some(KEY), "alice")
        .with_lambda_context(context)
}

/// What no answer may say: the SDK's words, its error text, the tables and the account.
const INTERNALS: &[&str] = &[
    "sdk-internal-detail",
    "arn:aws",
    "dynamodb",
    "t-accounts",
    "t-idempotency",
    "t-nonces",
    "t-clients",
    "t-transfers",
    "exception",
    "throttl",
    "cancel",
    "dispatch",
    "timeout",
    "connector",
];

/// The contract's problem (see [`Answer::assert_problem`]), saying nothing of the SDK or the
/// tables.
#[track_caller]
fn assert_opaque_problem(answer: &Answer, status: u16, code: &str) {
    answer.assert_problem(status, code);
    let lower = answer.body.to_lowercase();
    for leak in INTERNALS {
        assert!(
            !lower.contains(leak),
            "{leak:?} leaked into {}",
            answer.body
        );
    }
}

#[track_caller]
fn assert_unavailable(answer: &Answer) {
    assert_opaque_problem(answer, 503, "unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"));
}

async fn send(app: &Payments, req: &Request) -> Answer {
    Answer::of(Route::CreateTransfer.serve(app, req).await)
}

// ---------------------------------------------------------------------------------------------
// The mocked SDK client

/// How the SDK client under the guard is configured beyond its mocked responses.
#[derive(Clone, Default)]
struct Sdk {
    /// `None`: SDK retries disabled.
    retry: Option<RetryConfig>,
    http: Option<SharedHttpClient>,
    timeout: Option<TimeoutConfig>,
    /// Where the guard's metric documents go (`None`: nowhere).
    metrics: Option<CapturedMetrics>,
}

fn guard(rules: &[&Rule]) -> Payments {
    guard_with(rules, Sdk::default())
}

fn guard_with(rules: &[&Rule], sdk: Sdk) -> Payments {
    guard_tuned(rules, sdk, |config| config)
}

fn guard_tuned(
    rules: &[&Rule],
    sdk: Sdk,
    tune: impl FnOnce(replaysafe::config::ConfigBuilder) -> replaysafe::config::ConfigBuilder,
) -> Payments {
    // The guard notes when a key was last used, off the request's path: any answer will do.
    let key_used = key_used();
    let rules: Vec<&Rule> = rules.iter().copied().chain([&key_used]).collect();
    let metrics = sdk.metrics.clone();
    let client: Client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        &rules,
        move |mut builder: aws_sdk_dynamodb::config::Builder| {
            builder = builder.retry_config(sdk.retry.clone().unwrap_or_else(RetryConfig::disabled));
            if let Some(http) = &sdk.http {
                builder = builder.http_client(http.clone());
            }
            if let Some(timeout) = &sdk.timeout {
                builder = builder.timeout_config(timeout.clone());
            }
            builder
        }
    );
    let config = tune(Config::builder().tables(tables()))
        .build()
        .expect("a valid config");
    let mut guard = Guard::builder(config)
        .sdk_client(client.clone())
        .clock(ManualClock::new(T))
        .warm_up(false);
    if let Some(metrics) = &metrics {
        guard = guard.metrics(metrics.metrics(Scheme::new("replaysafe", "mocked")));
    }
    // Nothing to wait for: the SDK client is given and nothing is warmed up.
    let guard = futures::executor::block_on(guard.build()).expect("a valid config");
    Payments::new(
        guard,
        PaymentsStore::new(client, PaymentsTables::with_prefix("t-")),
    )
}

/// The guard's write of a key's `last_used_at`.
fn key_used() -> Rule {
    mock!(Client::update_item)
        .match_requests(|r| r.table_name() == Some("t-clients"))
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        })
}

fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message(SDK_TEXT)
        .build()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The client's record: active, with the test secret.
fn clients_rule() -> Rule {
    use base64::Engine;
    mock!(Client::get_item)
        .match_requests(|r| r.table_name() == Some("t-clients"))
        .then_output(|| {
            let item = HashMap::from([
                ("client_id".to_owned(), s(CLIENT_ID)),
                (
                    "secret".to_owned(),
                    s(&base64::engine::general_purpose::STANDARD.encode(secret())),
                ),
                ("status".to_owned(), s("active")),
            ]);
            GetItemOutput::builder().set_item(Some(item)).build()
        })
}

fn nonce_ok() -> Rule {
    mock!(Client::put_item)
        .match_requests(|r| r.table_name() == Some("t-nonces"))
        .then_output(|| PutItemOutput::builder().build())
}

/// The nonce put fails its condition; the record that holds the nonce was written by
/// invocation `holder`.
fn nonce_held_by(holder: &str) -> Rule {
    let holder = holder.to_owned();
    mock!(Client::put_item)
        .match_requests(|r| r.table_name() == Some("t-nonces"))
        .then_error(move || {
            let old = HashMap::from([
                ("pk".to_owned(), s(&format!("{CLIENT_ID}#nonce"))),
                ("request_id".to_owned(), s(&holder)),
                ("expires_at".to_owned(), n(T + 360)),
            ]);
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .message(SDK_TEXT)
                    .set_item(Some(old))
                    .meta(meta("ConditionalCheckFailedException"))
                    .build(),
            )
        })
}

fn is_idempotency_read(r: &aws_sdk_dynamodb::operation::get_item::GetItemInput) -> bool {
    r.table_name() == Some("t-idempotency")
}

fn no_idempotency_record() -> Rule {
    mock!(Client::get_item)
        .match_requests(is_idempotency_read)
        .then_output(|| GetItemOutput::builder().build())
}

/// Clients, nonces and the idempotency read all succeed: the request reaches the transaction.
fn admitted() -> [Rule; 3] {
    [clients_rule(), nonce_ok(), no_idempotency_record()]
}

fn transact_ok() -> Rule {
    mock!(Client::transact_write_items).then_output(|| TransactWriteItemsOutput::builder().build())
}

fn reason(code: &str) -> CancellationReason {
    let builder = CancellationReason::builder().code(code);
    if code == "None" {
        builder.build()
    } else {
        builder.message(SDK_TEXT).build()
    }
}

/// A cancellation with one reason per item: idempotency claim, credit, debit, transfer record.
fn cancelled(reasons: Vec<CancellationReason>) -> TransactWriteItemsError {
    TransactWriteItemsError::TransactionCanceledException(
        TransactionCanceledException::builder()
            .message(format!("Transaction cancelled: {SDK_TEXT}"))
            .set_cancellation_reasons(Some(reasons))
            .meta(meta("TransactionCanceledException"))
            .build(),
    )
}

fn conflict_on_account() -> TransactWriteItemsError {
    cancelled(vec![
        reason("None"),
        reason("TransactionConflict"),
        reason("None"),
        reason("None"),
    ])
}

/// The idempotency record as `claim_key` writes it, held by invocation `request_id`.
fn held_record(request_id: &str, fingerprint: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(&format!("{CLIENT_ID}#{KEY}"))),
        ("fingerprint".to_owned(), s(fingerprint)),
        ("status".to_owned(), n(201)),
        ("body".to_owned(), s(STORED_BODY)),
        (
            "headers".to_owned(),
            AttributeValue::L(vec![AttributeValue::L(vec![
                s("location"),
                s(STORED_LOCATION),
            ])]),
        ),
        ("request_id".to_owned(), s(request_id)),
        ("expires_at".to_owned(), n(T + 86_400)),
    ])
}

/// The idempotency claim's condition failed on `held`; the other items were fine.
fn key_held(held: HashMap<String, AttributeValue>) -> Rule {
    mock!(Client::transact_write_items).then_error(move || {
        cancelled(vec![
            CancellationReason::builder()
                .code("ConditionalCheckFailed")
                .message("The conditional request failed")
                .set_item(Some(held.clone()))
                .build(),
            reason("None"),
            reason("None"),
            reason("None"),
        ])
    })
}

fn our_fingerprint() -> String {
    Fingerprint::of("POST", "/transfers", BODY.as_bytes())
        .as_str()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Transaction conflicts

#[tokio::test]
async fn a_transaction_conflict_on_the_idempotency_record_is_request_in_progress_without_retry() {
    let [clients, nonce, read] = admitted();
    let transact = mock!(Client::transact_write_items).then_error(|| {
        cancelled(vec![
            reason("TransactionConflict"),
            reason("None"),
            reason("None"),
            reason("None"),
        ])
    });
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 409, "request-in-progress");
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(
        transact.num_calls(),
        1,
        "a conflict on the key is not retried"
    );
}

#[tokio::test]
async fn a_conflict_on_an_account_every_time_is_retried_a_bounded_number_of_times_then_unavailable()
{
    let [clients, nonce, read] = admitted();
    let transact = mock!(Client::transact_write_items).then_error(conflict_on_account);
    let guard = guard(&[&clients, &nonce, &read, &transact]);
    let attempts = guard.guard().config().transaction_attempts as usize;
    assert!(attempts > 1);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_unavailable(&answer);
    assert_eq!(transact.num_calls(), attempts);
    assert_eq!(nonce.num_calls(), 1, "the nonce is consumed once");
}

#[tokio::test]
async fn a_request_stops_calling_dynamodb_in_time_to_answer_before_lambdas_deadline() {
    let [clients, nonce, read] = admitted();
    // Every attempt of the transaction takes 600 ms, then conflicts on an account.
    let transact = mock!(Client::transact_write_items).then_error(|| {
        std::thread::sleep(Duration::from_millis(600));
        conflict_on_account()
    });
    let guard = guard_tuned(&[&clients, &nonce, &read, &transact], Sdk::default(), |c| {
        c.dynamodb_timeouts(replaysafe::config::DynamoDbTimeouts {
            connect: Duration::from_millis(500),
            attempt: Duration::from_secs(1),
            operation: Duration::from_secs(1),
        })
    });
    assert_eq!(guard.guard().config().transaction_attempts, 4);
    // Lambda's deadline 2.4 s away: the budget (less half a second to answer) ends at 1.9 s.
    // Attempts start at about 0, 0.6 and 1.2 s (plus jittered pauses); a fourth would start
    // past 1.8 s, with less than a call's minimum left: refused, answered 503 in time.
    let req = transfer_request("inv-1", BODY);
    let mut context = req.lambda_context_ref().cloned().expect("a context");
    let epoch_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.deadline = epoch_ms + 2_400;
    let req = req.with_lambda_context(context);

    let answer = send(&guard, &req).await;

    assert_unavailable(&answer);
    assert_eq!(transact.num_calls(), 3, "no attempt past the budget");
}

#[tokio::test]
async fn behind_an_authorizer_a_fresh_post_is_one_round_trip_the_transaction() {
    // Only the transaction is answered: a nonce or a read first would fail the request.
    let transact = transact_ok();
    let guard = guard_tuned(&[&transact], Sdk::default(), |c| {
        c.auth(replaysafe::Auth::jwt())
    });

    let answer = send(&guard, &authorized_request("inv-1", BODY)).await;

    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn a_conflict_on_an_account_once_then_success_commits_on_the_retry() {
    let [clients, nonce, read] = admitted();
    let transact = mock!(Client::transact_write_items)
        .sequence()
        .error(conflict_on_account)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let captured = CapturedMetrics::new();
    let sdk = Sdk {
        metrics: Some(captured.clone()),
        ..Sdk::default()
    };
    let guard = guard_with(&[&clients, &nonce, &read, &transact], sdk);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("idempotent-replayed"), None);
    let docs = captured.documents();
    emf::assert_valid(&docs);
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["TransactionRetries"], 1, "{}", docs[0]);
    assert_eq!(docs[0]["Outcome"], "ok");
    let json = answer.json();
    assert_eq!(json["amount"], 1500);
    assert_eq!(json["from"], "acc_alice");
    let location = answer.header("location").expect("Location");
    assert_eq!(
        location,
        format!("/transfers/{}", json["transfer_id"].as_str().unwrap())
    );
    assert_eq!(transact.num_calls(), 2);
}

// ---------------------------------------------------------------------------------------------
// Throttling

#[tokio::test]
async fn a_throttled_transaction_is_unavailable_and_says_nothing_of_the_sdk() {
    let throttled: [fn() -> TransactWriteItemsError; 2] = [
        || {
            TransactWriteItemsError::ThrottlingException(
                ThrottlingException::builder()
                    .message(SDK_TEXT)
                    .meta(meta("ThrottlingException"))
                    .build(),
            )
        },
        || {
            TransactWriteItemsError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message(SDK_TEXT)
                    .meta(meta("ProvisionedThroughputExceededException"))
                    .build(),
            )
        },
    ];
    for error in throttled {
        let [clients, nonce, read] = admitted();
        let transact = mock!(Client::transact_write_items).then_error(error);
        let guard = guard(&[&clients, &nonce, &read, &transact]);

        let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

        assert_unavailable(&answer);
        // A service error is not a cancellation: the guard leaves its retries to the SDK
        // (disabled here).
        assert_eq!(transact.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_throttled_transaction_is_retried_by_the_sdk_a_bounded_number_of_times_then_unavailable()
{
    let [clients, nonce, read] = admitted();
    let transact = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::ThrottlingException(
            ThrottlingException::builder()
                .message(SDK_TEXT)
                .meta(meta("ThrottlingException"))
                .build(),
        )
    });
    let sdk = Sdk {
        retry: Some(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        ),
        ..Sdk::default()
    };
    let guard = guard_with(&[&clients, &nonce, &read, &transact], sdk);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_unavailable(&answer);
    assert_eq!(transact.num_calls(), 3, "the SDK's three attempts, no more");
}

#[tokio::test]
async fn a_cancellation_for_throttling_is_retried_a_bounded_number_of_times_then_unavailable() {
    for throttled_item in [0, 1] {
        for code in ["ThrottlingError", "ProvisionedThroughputExceeded"] {
            let [clients, nonce, read] = admitted();
            let transact = mock!(Client::transact_write_items).then_error(move || {
                let mut reasons = vec![
                    reason("None"),
                    reason("None"),
                    reason("None"),
                    reason("None"),
                ];
                reasons[throttled_item] = reason(code);
                cancelled(reasons)
            });
            let guard = guard(&[&clients, &nonce, &read, &transact]);
            let attempts = guard.guard().config().transaction_attempts as usize;

            let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

            assert_unavailable(&answer);
            assert_eq!(
                transact.num_calls(),
                attempts,
                "{code} on item {throttled_item}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The idempotency record met inside the transaction

#[tokio::test]
async fn our_own_committed_record_met_on_an_sdk_retry_is_our_fresh_201() {
    let [clients, nonce, read] = admitted();
    let transact = key_held(held_record("inv-1", &our_fingerprint()));
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("idempotent-replayed"), None);
    assert_eq!(answer.body, STORED_BODY);
    assert_eq!(answer.header("location"), Some(STORED_LOCATION));
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn another_invocations_record_with_the_same_fingerprint_is_replayed() {
    let [clients, nonce, read] = admitted();
    let transact = key_held(held_record("inv-0", &our_fingerprint()));
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("idempotent-replayed"), Some("true"));
    assert_eq!(answer.body, STORED_BODY);
    assert_eq!(answer.header("location"), Some(STORED_LOCATION));
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn another_invocations_record_with_a_different_fingerprint_is_key_reused() {
    let [clients, nonce, read] = admitted();
    let transact = key_held(held_record("inv-0", &our_fingerprint()));
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    // Same key, another body: the record's fingerprint is not this request's.
    let answer = send(&guard, &transfer_request("inv-1", OTHER_BODY)).await;

    assert_opaque_problem(&answer, 422, "idempotency-key-reused");
    assert_eq!(answer.header("idempotent-replayed"), None);
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn a_held_record_that_cannot_be_read_is_internal() {
    let [clients, nonce, read] = admitted();
    let transact = key_held(HashMap::from([(
        "pk".to_owned(),
        s(&format!("{CLIENT_ID}#{KEY}")),
    )]));
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 500, "internal");
    assert_eq!(transact.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------------
// The nonce

#[tokio::test]
async fn a_nonce_record_carrying_our_request_id_is_our_own_put_retried_by_the_sdk() {
    let clients = clients_rule();
    let nonce = nonce_held_by("inv-1");
    let read = no_idempotency_record();
    let transact = transact_ok();
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("idempotent-replayed"), None);
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn a_nonce_record_of_another_invocation_is_nonce_reused() {
    let clients = clients_rule();
    let nonce = nonce_held_by("inv-0");
    let read = no_idempotency_record();
    let transact = transact_ok();
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 401, "nonce-reused");
    assert_eq!(transact.num_calls(), 0, "no effect");
}

// ---------------------------------------------------------------------------------------------
// SDK failures outside the transaction

/// An HTTP client under the mocks: the idempotency table's `GetItem` never gets an answer
/// (the connection fails, or hangs); every other request gets a dummy response that the
/// mocked output then replaces.
#[derive(Debug, Clone, Copy)]
enum BrokenIdempotencyReads {
    ConnectTimeout,
    Io,
    Hang,
}

impl BrokenIdempotencyReads {
    fn is_idempotency_read(request: &HttpRequest) -> bool {
        let get_item = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.ends_with(".GetItem"));
        let body = request.body().bytes().unwrap_or_default();
        let table = String::from_utf8_lossy(body).contains("\"t-idempotency\"");
        get_item && table
    }
}

impl HttpConnector for BrokenIdempotencyReads {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if Self::is_idempotency_read(&request) {
            let why = format!("{SDK_TEXT}: no route to dynamodb.us-east-1.amazonaws.com");
            return match self {
                Self::ConnectTimeout => {
                    HttpConnectorFuture::ready(Err(ConnectorError::timeout(why.into())))
                }
                Self::Io => HttpConnectorFuture::ready(Err(ConnectorError::io(why.into()))),
                Self::Hang => HttpConnectorFuture::new(std::future::pending()),
            };
        }
        let dummy = HttpResponse::new(418.try_into().expect("valid status"), SdkBody::from("mock"));
        HttpConnectorFuture::ready(Ok(dummy))
    }
}

impl HttpClient for BrokenIdempotencyReads {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        (*self).into_shared()
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("broken-idempotency-reads", None))
    }
}

#[tokio::test]
async fn an_idempotency_read_that_cannot_reach_dynamodb_is_unavailable() {
    for broken in [
        BrokenIdempotencyReads::ConnectTimeout,
        BrokenIdempotencyReads::Io,
        BrokenIdempotencyReads::Hang,
    ] {
        let clients = clients_rule();
        let nonce = nonce_ok();
        // An HTTP-level rule, so that nothing replaces the connector's failure with a modeled
        // output; the broken connector never returns it.
        let read = mock!(Client::get_item)
            .match_requests(is_idempotency_read)
            .then_http_response(|| {
                HttpResponse::new(200.try_into().expect("valid status"), SdkBody::empty())
            });
        let transact = transact_ok();
        let sdk = Sdk {
            http: Some(broken.into_shared()),
            timeout: Some(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(200))
                    .build(),
            ),
            ..Sdk::default()
        };
        let guard = guard_with(&[&clients, &nonce, &read, &transact], sdk);

        let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

        assert_unavailable(&answer);
        assert_eq!(read.num_calls(), 1, "{broken:?}");
        assert_eq!(transact.num_calls(), 0, "{broken:?}: no effect");
    }
}

#[tokio::test]
async fn an_idempotency_read_failing_inside_dynamodb_is_unavailable() {
    let clients = clients_rule();
    let nonce = nonce_ok();
    let read = mock!(Client::get_item)
        .match_requests(is_idempotency_read)
        .then_error(|| {
            GetItemError::InternalServerError(
                InternalServerError::builder()
                    .message(SDK_TEXT)
                    .meta(meta("InternalServerError"))
                    .build(),
            )
        });
    let transact = transact_ok();
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_unavailable(&answer);
    assert_eq!(transact.num_calls(), 0);
}

#[tokio::test]
async fn a_transaction_failing_for_a_reason_not_worth_retrying_is_internal() {
    let [clients, nonce, read] = admitted();
    let transact = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message(SDK_TEXT)
                .meta(meta("ResourceNotFoundException"))
                .build(),
        )
    });
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 500, "internal");
    assert_eq!(answer.header("retry-after"), None);
    assert_eq!(transact.num_calls(), 1);
}

#[tokio::test]
async fn a_cancellation_for_an_unknown_reason_is_internal_and_not_retried() {
    let [clients, nonce, read] = admitted();
    let transact = mock!(Client::transact_write_items).then_error(|| {
        cancelled(vec![
            reason("None"),
            reason("ValidationError"),
            reason("None"),
            reason("None"),
        ])
    });
    let guard = guard(&[&clients, &nonce, &read, &transact]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 500, "internal");
    assert_eq!(transact.num_calls(), 1);
}

// ---------------------------------------------------------------------------------------------
// The fence a refusal writes: its answer lost, its write throttled, a success already there

/// The debit's condition failed on the caller's own EUR account, which holds too little.
fn refused_for_funds() -> Rule {
    mock!(Client::transact_write_items).then_error(|| {
        let account = HashMap::from([
            ("account_id".to_owned(), s("acc_alice")),
            ("owner".to_owned(), s(CLIENT_ID)),
            ("currency".to_owned(), s("EUR")),
            ("balance".to_owned(), n(10)),
        ]);
        // Items: the claim, the credit, the debit, the transfer record.
        cancelled(vec![
            reason("None"),
            reason("None"),
            CancellationReason::builder()
                .code("ConditionalCheckFailed")
                .message("The conditional request failed")
                .set_item(Some(account))
                .build(),
            reason("None"),
        ])
    })
}

fn is_fence_write(r: &aws_sdk_dynamodb::operation::put_item::PutItemInput) -> bool {
    r.table_name() == Some("t-idempotency")
}

fn fence_written() -> Rule {
    mock!(Client::put_item)
        .match_requests(is_fence_write)
        .then_output(|| PutItemOutput::builder().build())
}

/// The fence as `write_fence` puts it, by invocation `request_id` for an attempt at `created`.
fn held_fence(request_id: &str, created: i64) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(&format!("{CLIENT_ID}#{KEY}"))),
        ("fence".to_owned(), n(created)),
        ("request_id".to_owned(), s(request_id)),
        ("refusal_status".to_owned(), n(409)),
        ("refusal_code".to_owned(), s("insufficient-funds")),
        ("refusal_title".to_owned(), s("Insufficient funds")),
        (
            "refusal_detail".to_owned(),
            s("the balance does not cover the amount"),
        ),
        ("expires_at".to_owned(), n(created + 360)),
    ])
}

/// The fence write's condition failed on `held`.
fn fence_meets(held: HashMap<String, AttributeValue>) -> PutItemError {
    PutItemError::ConditionalCheckFailedException(
        ConditionalCheckFailedException::builder()
            .message(SDK_TEXT)
            .set_item(Some(held))
            .meta(meta("ConditionalCheckFailedException"))
            .build(),
    )
}

fn fence_throttled() -> PutItemError {
    PutItemError::ProvisionedThroughputExceededException(
        ProvisionedThroughputExceededException::builder()
            .message(SDK_TEXT)
            .meta(meta("ProvisionedThroughputExceededException"))
            .build(),
    )
}

fn fence_server_error() -> PutItemError {
    PutItemError::InternalServerError(
        InternalServerError::builder()
            .message(SDK_TEXT)
            .meta(meta("InternalServerError"))
            .build(),
    )
}

fn fast_sdk_retries() -> Sdk {
    Sdk {
        retry: Some(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        ),
        ..Sdk::default()
    }
}

#[tokio::test]
async fn a_refusal_is_answered_once_its_fence_is_written() {
    let [clients, nonce, read] = admitted();
    let (transact, fence) = (refused_for_funds(), fence_written());
    let guard = guard(&[&clients, &nonce, &read, &transact, &fence]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 409, "insufficient-funds");
    assert_eq!(fence.num_calls(), 1, "one extra call for a refusal");
}

#[tokio::test]
async fn a_fence_write_re_sent_by_the_sdk_after_it_was_applied_answers_the_refusal() {
    let [clients, nonce, read] = admitted();
    let transact = refused_for_funds();
    // The first try was applied but its answer lost (a retryable error stands in for the lost
    // answer); the SDK's re-send meets our own fence.
    let fence = mock!(Client::put_item)
        .match_requests(is_fence_write)
        .sequence()
        .error(fence_throttled)
        .error(|| fence_meets(held_fence("inv-1", T)))
        .build();
    let guard = guard_with(
        &[&clients, &nonce, &read, &transact, &fence],
        fast_sdk_retries(),
    );

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 409, "insufficient-funds");
    assert_eq!(fence.num_calls(), 2);
}

#[tokio::test]
async fn a_fence_write_meeting_a_later_attempts_fence_answers_the_refusal() {
    let [clients, nonce, read] = admitted();
    let transact = refused_for_funds();
    let fence = mock!(Client::put_item)
        .match_requests(is_fence_write)
        .then_error(|| fence_meets(held_fence("inv-9", T + 5)));
    let guard = guard(&[&clients, &nonce, &read, &transact, &fence]);

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_opaque_problem(&answer, 409, "insufficient-funds");
}

#[tokio::test]
async fn a_fence_write_that_fails_transiently_is_unavailable_never_the_refusal() {
    let failures: [fn() -> PutItemError; 2] = [fence_throttled, fence_server_error];
    for failure in failures {
        let [clients, nonce, read] = admitted();
        let transact = refused_for_funds();
        let fence = mock!(Client::put_item)
            .match_requests(is_fence_write)
            .then_error(failure);
        let guard = guard(&[&clients, &nonce, &read, &transact, &fence]);

        let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

        assert_unavailable(&answer);
    }
}

#[tokio::test]
async fn a_fence_write_meeting_a_concurrent_success_answers_it_through_the_fingerprint() {
    for (body, status, replayed) in [(BODY, 201, Some("true")), (OTHER_BODY, 422, None)] {
        let [clients, nonce, read] = admitted();
        let transact = refused_for_funds();
        let fence = mock!(Client::put_item)
            .match_requests(is_fence_write)
            .then_error(|| fence_meets(held_record("inv-0", &our_fingerprint())));
        let guard = guard(&[&clients, &nonce, &read, &transact, &fence]);

        let answer = send(&guard, &transfer_request("inv-1", body)).await;

        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.header("idempotent-replayed"), replayed);
    }
}

#[tokio::test]
async fn a_bad_body_whose_fence_meets_a_success_answers_through_the_fingerprint_not_a_replay() {
    let [clients, nonce, read] = admitted();
    let fence = mock!(Client::put_item)
        .match_requests(is_fence_write)
        .then_error(|| fence_meets(held_record("inv-0", &our_fingerprint())));
    let guard = guard(&[&clients, &nonce, &read, &fence]);

    let answer = send(
        &guard,
        &transfer_request("inv-1", r#"{"from":"acc_alice"}"#),
    )
    .await;

    assert_opaque_problem(&answer, 422, "idempotency-key-reused");
    assert_eq!(fence.num_calls(), 1);
}

#[tokio::test]
async fn the_sdk_sends_one_client_request_token_across_its_retries_of_a_transaction() {
    let tokens = Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
    let seen = tokens.clone();
    let [clients, nonce, read] = admitted();
    let transact = mock!(Client::transact_write_items)
        .match_requests(move |r| {
            seen.lock()
                .unwrap()
                .push(r.client_request_token().map(str::to_owned));
            true
        })
        .sequence()
        .error(|| {
            TransactWriteItemsError::ThrottlingException(
                ThrottlingException::builder()
                    .message(SDK_TEXT)
                    .meta(meta("ThrottlingException"))
                    .build(),
            )
        })
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let guard = guard_with(&[&clients, &nonce, &read, &transact], fast_sdk_retries());

    let answer = send(&guard, &transfer_request("inv-1", BODY)).await;

    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(transact.num_calls(), 2, "the SDK retried once");
    let tokens = tokens.lock().unwrap().clone();
    assert!(!tokens.is_empty());
    let first = tokens[0].clone().expect("the SDK fills ClientRequestToken");
    assert!(!first.is_empty());
    assert!(
        tokens.iter().all(|t| t.as_deref() == Some(first.as_str())),
        "one token for every attempt: {tokens:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The payouts consumer

/// The payouts consumer over the mocked client, its metric documents into `metrics`.
fn payouts(rules: &[&Rule], metrics: &CapturedMetrics) -> payments::Payouts {
    let client: Client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        rules,
        |builder: aws_sdk_dynamodb::config::Builder| builder.retry_config(RetryConfig::disabled())
    );
    let config = Config::builder()
        .tables(tables())
        .build()
        .expect("a valid config");
    let guard = Guard::builder(config)
        .sdk_client(client.clone())
        .clock(ManualClock::new(T))
        .warm_up(false)
        .metrics(metrics.metrics(Scheme::new("replaysafe", "mocked")))
        .build();
    let guard = futures::executor::block_on(guard).expect("a valid config");
    let store = PaymentsStore::new(client, PaymentsTables::with_prefix("t-"));
    payments::Payouts::new(guard, store, 86_400).expect("retention within the TTL")
}

fn payout_event(ids: &[&str]) -> lambda_http::aws_lambda_events::event::sqs::SqsEvent {
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            let body = format!(
                r#"{{"payout_id":"po_{id}","owner":"{CLIENT_ID}","from":"acc_alice","to":"acc_bob","amount":15,"currency":"EUR"}}"#
            );
            serde_json::json!({"messageId": id, "body": body,
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:payouts"})
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

/// Whether the transaction is payout `id`'s.
fn for_payout(
    input: &aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput,
    id: &str,
) -> bool {
    format!("{:?}", input.transact_items()).contains(&format!("po_{id}"))
}

#[tokio::test]
async fn a_payout_whose_transaction_keeps_conflicting_is_reported_alone_for_redelivery() {
    let conflicting = mock!(Client::transact_write_items)
        .match_requests(|r| for_payout(r, "m-2"))
        .then_error(conflict_on_account);
    let on_its_key = mock!(Client::transact_write_items)
        .match_requests(|r| for_payout(r, "m-3"))
        .then_error(|| {
            cancelled(vec![
                reason("TransactionConflict"),
                reason("None"),
                reason("None"),
                reason("None"),
                reason("None"),
            ])
        });
    let ok = transact_ok();
    let captured = CapturedMetrics::new();
    let consumer = payouts(&[&conflicting, &on_its_key, &ok], &captured);
    let event = payout_event(&["m-1", "m-2", "m-3", "m-4"]);

    let answer = payments::consume_payouts(
        &consumer,
        lambda_http::LambdaEvent::new(event, Context::default()),
    )
    .await;

    let failed: Vec<&str> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m-2", "m-3"], "transient: only they come back");
    assert_eq!(ok.num_calls(), 2, "the others committed once each");
    assert_eq!(
        conflicting.num_calls(),
        consumer.consumer().guard().config().transaction_attempts as usize,
        "a conflict on an account is retried within the budget"
    );
    assert_eq!(on_its_key.num_calls(), 1, "a conflict on the key is not");

    // One document per record, each counting only its own record's retries although the four
    // ran at once.
    let docs = captured.documents();
    emf::assert_valid(&docs);
    let doc = |id: &str| {
        let of: Vec<_> = docs.iter().filter(|d| d["RecordId"] == id).collect();
        assert_eq!(of.len(), 1, "{id}: {docs:?}");
        of[0].clone()
    };
    let retries = consumer.consumer().guard().config().transaction_attempts - 1;
    for (id, outcome, retried, in_progress) in [
        ("m-1", "executed", 0, 0),
        ("m-2", "failed", retries, 0),
        ("m-3", "failed", 0, 1),
        ("m-4", "executed", 0, 0),
    ] {
        let d = doc(id);
        assert_eq!(d["Route"], "sqs payouts", "{d}");
        assert_eq!(d["Outcome"], outcome, "{d}");
        assert_eq!(d["TransactionRetries"], retried, "{d}");
        assert_eq!(d["InProgress"], in_progress, "{d}");
        assert_eq!(d["Unavailable"], u32::from(outcome == "failed"), "{d}");
    }
}
