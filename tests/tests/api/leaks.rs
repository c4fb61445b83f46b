//! Nothing the server knows leaks out: no response, on any error path (500 and 503 included),
//! carries an SDK message, a table name, an AWS error code or the client's secret; no log line
//! carries a secret or a signature.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use payments::{Payments, PaymentsStore, PaymentsTables};
use replaysafe::store::clients::ClientRecord;
use replaysafe::store::sdk_client;
use replaysafe::{Clock, Store, Tables};
use replaysafe_tests::{send_via, Answer, Call, TestApp, TestClient, T0};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The app over `tables` on its own DynamoDB client and clock.
fn app_on(app: &TestApp, (guard, ledger): (Tables, PaymentsTables)) -> Payments {
    let client = app.store.client().clone();
    app.app_with(
        Store::new(client.clone(), guard),
        PaymentsStore::new(client, ledger),
        app.clock.clone(),
    )
}

/// Every table under `prefix`, where none exists.
fn all_missing(prefix: &str) -> (Tables, PaymentsTables) {
    (
        Tables::with_prefix(prefix),
        PaymentsTables::with_prefix(prefix),
    )
}

/// The app's tables with those named in `missing` pointing at tables that do not exist.
fn with_missing(app: &TestApp, missing_prefix: &str, missing: &[&str]) -> (Tables, PaymentsTables) {
    let (mut t, mut l) = (app.store.tables().clone(), app.ledger.tables().clone());
    let (gone, gone_ledger) = all_missing(missing_prefix);
    for name in missing {
        match *name {
            "clients" => t.clients = gone.clients.clone(),
            "accounts" => l.accounts = gone_ledger.accounts.clone(),
            "transfers" => l.transfers = gone_ledger.transfers.clone(),
            "idempotency" => t.idempotency = gone.idempotency.clone(),
            "nonces" => t.nonces = gone.nonces.clone(),
            other => panic!("no table {other}"),
        }
    }
    (t, l)
}

/// Every string that must never reach a client for this client's requests.
fn forbidden(app: &TestApp, client: &TestClient, calls: &[&Call]) -> Vec<String> {
    let mut out: Vec<String> = [
        "ResourceNotFound",
        "Exception",
        "ConditionalCheckFailed",
        "TransactionCanceled",
        "TransactionConflict",
        "ValidationException",
        "dynamodb",
        "DynamoDB",
        "aws",
        "AWS",
        "smithy",
        "Smithy",
        "SdkError",
        "DispatchFailure",
        "service error",
        "127.0.0.1",
        "localhost",
        "8765",
        "panicked",
        "src/",
        "missing-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    out.push(app.table_prefix());
    for table in [
        &app.store.tables().clients,
        &app.ledger.tables().accounts,
        &app.ledger.tables().transfers,
        &app.store.tables().idempotency,
        &app.store.tables().nonces,
    ] {
        out.push(table.clone());
    }
    out.extend(secret_forms(&client.secret));
    for call in calls {
        out.extend(signature_forms(call));
    }
    out
}

fn secret_forms(secret: &[u8]) -> Vec<String> {
    vec![
        STANDARD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        hex(secret),
    ]
}

/// The Signature value, its MAC in base64 and hex, and the whole Signature-Input.
fn signature_forms(call: &Call) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(sig) = call.sent_header("signature") {
        out.push(sig.to_owned());
        if let Some(b64) = sig.split(':').nth(1).filter(|s| s.len() > 8) {
            out.push(b64.to_owned());
            if let Ok(mac) = STANDARD.decode(b64) {
                out.push(hex(&mac));
                out.push(URL_SAFE_NO_PAD.encode(&mac));
            }
        }
    }
    if let Some(input) = call.sent_header("signature-input") {
        out.push(input.to_owned());
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn assert_clean(answer: &Answer, what: &str, forbidden: &[String], secret: &[u8]) {
    for f in forbidden {
        assert!(
            !answer.body.contains(f.as_str()),
            "{what}: the response body contains {f:?}: {}",
            answer.body
        );
        for (name, value) in &answer.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            assert!(
                !value.contains(f.as_str()),
                "{what}: header {name} contains {f:?}"
            );
        }
    }
    assert!(
        !answer
            .body
            .as_bytes()
            .windows(secret.len())
            .any(|w| w == secret),
        "{what}: the raw secret is in the body"
    );
}

/// The contract's problem (see [`Answer::assert_problem_in`]) with nothing beyond the RFC 9457
/// members: no field a leak could hide in.
#[track_caller]
fn assert_bare_problem(answer: &Answer, status: u16, code: &str, what: &str) {
    answer.assert_problem_in(status, code, what);
    let json = answer.json();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "detail", "status", "title", "type"],
        "{what}: nothing beyond the RFC 9457 members"
    );
}

async fn app_with_accounts() -> TestApp {
    let app = TestApp::new().await;
    app.open_account(&app.alice, "acc_alice", "EUR", 10_000)
        .await;
    app.open_account(&app.alice, "acc_bob", "EUR", 0).await;
    app.open_account(&app.alice, "acc_usd", "USD", 0).await;
    app
}

#[tokio::test]
async fn no_error_response_carries_internals_or_secrets() {
    let app = app_with_accounts().await;
    let alice = &app.alice;
    let transfer = |amount: u64| TestApp::transfer_body("acc_alice", "acc_bob", amount);

    let ok = app.signed(alice, "POST", "/transfers", &transfer(1));
    assert_eq!(app.send(&ok).await.status, 201);
    let mut reused = ok.clone();
    reused.body = transfer(2).into_bytes();
    let reused = reused.resigned(T0);

    let revoked = {
        let id = replaysafe::ClientId::generate();
        let secret = rand::random::<[u8; 32]>().to_vec();
        let record = ClientRecord {
            client_id: id.clone(),
            secret: secret.clone(),
            active: false,
        };
        app.store.put_client(&record, T0).await.unwrap();
        TestClient {
            id: id.to_string(),
            secret,
        }
    };
    let stranger = TestClient {
        id: "cli_nobody".into(),
        secret: alice.secret.clone(),
    };
    let mut stale = app.signed(alice, "POST", "/transfers", &transfer(1));
    stale.created = T0 - 301;
    let stale = stale.sign();
    let mut no_key = app.signed(alice, "POST", "/transfers", &transfer(1));
    no_key.idempotency_key = None;
    let mut edited = app.signed(alice, "POST", "/transfers", &transfer(1));
    edited.body = transfer(9).into_bytes();
    let mut oversized = app.signed(alice, "POST", "/transfers", "");
    oversized.body = vec![b' '; 70_000];
    let oversized = oversized.sign();

    let cases: Vec<(&str, Call, u16, &str)> = vec![
        (
            "invalid json",
            app.signed(alice, "POST", "/transfers", "{\"from\":"),
            400,
            "invalid-json",
        ),
        (
            "unknown field",
            app.signed(
                alice,
                "POST",
                "/transfers",
                &transfer(1).replace('}', r#","secret":"x"}"#),
            ),
            400,
            "validation-failed",
        ),
        (
            "bad amount",
            app.signed(alice, "POST", "/transfers", &transfer(0)),
            400,
            "validation-failed",
        ),
        (
            "bad account id",
            app.signed(
                alice,
                "POST",
                "/accounts",
                r#"{"currency":"EUR","account_id":"a#b"}"#,
            ),
            400,
            "validation-failed",
        ),
        ("no key", no_key, 400, "idempotency-key-missing"),
        ("edited body", edited, 400, "digest-mismatch"),
        (
            "wrong MAC",
            app.signed(alice, "POST", "/transfers", &transfer(1))
                .edit_header("signature", |_| "sig1=:AAAA:".into()),
            401,
            "signature-invalid",
        ),
        (
            "unsigned",
            app.signed(alice, "GET", "/accounts/acc_alice", "")
                .without_header("signature"),
            401,
            "signature-missing",
        ),
        (
            "unknown key",
            app.signed(&stranger, "GET", "/accounts/acc_alice", ""),
            401,
            "unknown-key",
        ),
        (
            "revoked key",
            app.signed(&revoked, "GET", "/accounts/acc_alice", ""),
            401,
            "unknown-key",
        ),
        ("stale", stale, 401, "stale-request"),
        ("replay", ok.replayed(), 401, "nonce-reused"),
        (
            "unknown account",
            app.signed(alice, "GET", "/accounts/acc_nobody", ""),
            404,
            "not-found",
        ),
        (
            "unknown transfer",
            app.signed(alice, "GET", "/transfers/tr_nobody", ""),
            404,
            "not-found",
        ),
        (
            "to unknown",
            app.signed(
                alice,
                "POST",
                "/transfers",
                &TestApp::transfer_body("acc_alice", "acc_nobody", 1),
            ),
            404,
            "not-found",
        ),
        (
            "account exists",
            app.signed(
                alice,
                "POST",
                "/accounts",
                r#"{"currency":"EUR","account_id":"acc_bob"}"#,
            ),
            409,
            "account-exists",
        ),
        (
            "currency mismatch",
            app.signed(
                alice,
                "POST",
                "/transfers",
                &TestApp::transfer_body("acc_alice", "acc_usd", 1),
            ),
            409,
            "currency-mismatch",
        ),
        (
            "insufficient funds",
            app.signed(alice, "POST", "/transfers", &transfer(1_000_000)),
            409,
            "insufficient-funds",
        ),
        ("oversized", oversized, 413, "body-too-large"),
        ("key reused", reused, 422, "idempotency-key-reused"),
    ];
    for (what, call, status, code) in &cases {
        let answer = app.send(call).await;
        assert_bare_problem(&answer, *status, code, what);
        let client = if call
            .sent_header("signature-input")
            .is_some_and(|i| i.contains("cli_nobody"))
        {
            &stranger
        } else {
            alice
        };
        assert_clean(
            &answer,
            what,
            &forbidden(&app, client, &[call]),
            &client.secret,
        );
        assert_clean(
            &answer,
            what,
            &secret_forms(&revoked.secret),
            &revoked.secret,
        );
    }
}

#[tokio::test]
async fn failures_of_dynamodb_become_500_or_503_with_nothing_of_aws_in_them() {
    let app = app_with_accounts().await;
    let alice = &app.alice;
    let missing_prefix = format!(
        "missing-{}-",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let transfer = TestApp::transfer_body("acc_alice", "acc_bob", 1);
    let account = r#"{"currency":"EUR"}"#;

    // Which tables are gone, and which request then reaches the missing one.
    let cases: Vec<(&str, Vec<&str>, &str, &str, &str)> = vec![
        (
            "every table (the brief's 'missing-' prefix)",
            vec![],
            "POST",
            "/transfers",
            &transfer,
        ),
        ("clients", vec!["clients"], "GET", "/accounts/acc_alice", ""),
        ("nonces", vec!["nonces"], "POST", "/transfers", &transfer),
        (
            "nonces, on a read",
            vec!["nonces"],
            "GET",
            "/accounts/acc_alice",
            "",
        ),
        (
            "idempotency",
            vec!["idempotency"],
            "POST",
            "/transfers",
            &transfer,
        ),
        (
            "accounts, on a read",
            vec!["accounts"],
            "GET",
            "/accounts/acc_alice",
            "",
        ),
        (
            "accounts, in the transaction",
            vec!["accounts"],
            "POST",
            "/transfers",
            &transfer,
        ),
        (
            "accounts, creating one",
            vec!["accounts"],
            "POST",
            "/accounts",
            account,
        ),
        (
            "transfers, in the transaction",
            vec!["transfers"],
            "POST",
            "/transfers",
            &transfer,
        ),
        (
            "transfers, on a read",
            vec!["transfers"],
            "GET",
            "/transfers/tr_x",
            "",
        ),
    ];
    for (what, missing, method, path, body) in cases {
        let tables = if missing.is_empty() {
            all_missing("missing-")
        } else {
            with_missing(&app, &missing_prefix, &missing)
        };
        let guard = app_on(&app, tables);
        let call = app.signed(alice, method, path, body);
        let answer = send_via(&guard, &call).await;
        let what = format!("missing {what}: {method} {path}");
        assert_bare_problem(&answer, 500, "internal", &what);
        let mut forbidden = forbidden(&app, alice, &[&call]);
        forbidden.push(missing_prefix.clone());
        assert_clean(&answer, &what, &forbidden, &alice.secret);
    }
    assert_eq!(
        app.balance("acc_alice").await,
        10_000,
        "no partial transfer"
    );

    // DynamoDB unreachable: 503 with Retry-After.
    let dead = sdk_client(Some("http://127.0.0.1:9")).await;
    let guard = app.app_on(
        Store::new(dead, app.store.tables().clone()),
        app.clock.clone(),
    );
    for (method, path, body) in [
        ("POST", "/transfers", transfer.as_str()),
        ("GET", "/accounts/acc_alice", ""),
    ] {
        let call = app.signed(alice, method, path, body);
        let answer = send_via(&guard, &call).await;
        let what = format!("unreachable: {method} {path}");
        assert_bare_problem(&answer, 503, "unavailable", &what);
        assert!(answer.header("retry-after").is_some(), "{what}");
        assert_clean(
            &answer,
            &what,
            &forbidden(&app, alice, &[&call]),
            &alice.secret,
        );
    }
}

/// A writer into a shared buffer, for a tracing subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// tracing-core 0.1.36 caches `Interest::never` for a callsite that a thread without a
/// subscriber (any other test running in parallel) hits first while exactly one `Dispatch` is
/// registered in the process (tokio-rs/tracing#3611): the capture below would then miss events.
/// A second, never-installed `Dispatch` that lives for the whole run keeps tracing on the path
/// that asks every registered dispatch.
fn keep_callsite_interest_honest() {
    static KEEPER: OnceLock<tracing::Dispatch> = OnceLock::new();
    KEEPER.get_or_init(|| tracing::Dispatch::new(tracing_subscriber::registry()));
}

/// The `request` lines of `logs` (one per request, from `replaysafe::http::respond`).
fn request_lines(logs: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "request")
        .collect()
}

/// Runs a mix of requests (success, refusals, a replay, a 500 and a 503) with a JSON
/// subscriber at `filter` installed for this thread, and returns what it wrote and the calls.
async fn logged_requests(filter: Option<&str>) -> (String, TestApp, Vec<Call>) {
    keep_callsite_interest_honest();
    let capture = Capture::default();
    // The functions' own logging (`telemetry::init`), into a buffer instead of stdout.
    let subscriber =
        tracing_subscriber::registry().with(replaysafe::telemetry::layer(filter, capture.clone()));
    let _default = tracing::subscriber::set_default(subscriber);

    let app = app_with_accounts().await;
    let alice = &app.alice;
    let transfer = TestApp::transfer_body("acc_alice", "acc_bob", 10);
    let mut calls = Vec::new();

    let ok = app.signed(alice, "POST", "/transfers", &transfer);
    assert_eq!(app.send(&ok).await.status, 201);
    let retry = ok.resigned(app.clock.now());
    assert!(app.send(&retry).await.replayed());
    let replay = ok.replayed();
    assert_eq!(app.send(&replay).await.status, 401);
    // A well-formed signature that belongs to another request.
    let other_sig = ok.sent_header("signature").unwrap().to_owned();
    let bad_mac = app
        .signed(alice, "POST", "/transfers", &transfer)
        .edit_header("signature", |_| other_sig.clone());
    app.send(&bad_mac).await;
    let get = app.signed(alice, "GET", "/accounts/acc_alice", "");
    assert_eq!(app.send(&get).await.status, 200);
    let poor = app.signed(
        alice,
        "POST",
        "/transfers",
        &TestApp::transfer_body("acc_bob", "acc_alice", 1_000_000),
    );
    assert_eq!(app.send(&poor).await.status, 409);

    let broken = app_on(&app, all_missing("missing-"));
    let lost = app.signed(alice, "POST", "/transfers", &transfer);
    assert_eq!(send_via(&broken, &lost).await.status, 500);
    let dead = app.app_on(
        Store::new(
            sdk_client(Some("http://127.0.0.1:9")).await,
            app.store.tables().clone(),
        ),
        app.clock.clone(),
    );
    let unlucky = app.signed(alice, "GET", "/accounts/acc_alice", "");
    assert_eq!(send_via(&dead, &unlucky).await.status, 503);

    calls.extend([ok, retry, replay, bad_mac, get, poor, lost, unlucky]);
    (capture.text(), app, calls)
}

#[tokio::test]
async fn logs_carry_no_secret_and_no_signature() {
    // RUST_LOG unset: the default filter.
    let (logs, app, calls) = logged_requests(None).await;
    // The capture works: one JSON line per request, from `replaysafe::http::respond`.
    let request_lines = request_lines(&logs);
    for call in &calls {
        let lines: Vec<_> = request_lines
            .iter()
            .filter(|l| l["fields"]["request_id"] == call.request_id.as_str())
            .collect();
        assert_eq!(lines.len(), 1, "{} {}: {logs}", call.method, call.path);
        assert!(lines[0]["fields"]["status"].is_u64(), "{}", lines[0]);
    }
    // The 500's cause (the missing table) is logged once, at the edge, with its request id;
    // the answer carried none of it (see `failures_of_dynamodb_become_500_or_503_...`).
    let lost = &calls[6];
    let causes: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "internal error")
        .collect();
    assert_eq!(causes.len(), 1, "{logs}");
    assert_eq!(causes[0]["fields"]["request_id"], lost.request_id.as_str());
    let cause = causes[0]["fields"]["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("ResourceNotFound"), "{cause}");

    let refs: Vec<&Call> = calls.iter().collect();
    let mut forbidden: Vec<String> = secret_forms(&app.alice.secret);
    for call in &refs {
        forbidden.extend(signature_forms(call));
    }
    for f in &forbidden {
        assert!(
            !logs.contains(f.as_str()),
            "the logs contain {f:?}:\n{logs}"
        );
    }
}

/// An operator debugging with `RUST_LOG=trace` must not get secrets either: at TRACE the AWS
/// SDK prints whole DynamoDB responses, the clients table's `GetItem` (with the secret) among
/// them, so `telemetry::layer` drops the SDK's TRACE events.
#[tokio::test]
async fn even_trace_logs_carry_no_secret_and_no_signature() {
    for filter in [
        "debug",
        "trace",
        "aws_smithy_runtime::client::orchestrator=trace",
    ] {
        let (logs, app, calls) = logged_requests(Some(filter)).await;
        if !filter.starts_with("aws") {
            assert!(logs.contains("\"message\":\"request\""), "{filter}: {logs}");
        }
        let mut forbidden: Vec<String> = secret_forms(&app.alice.secret);
        for call in &calls {
            forbidden.extend(signature_forms(call));
        }
        for f in &forbidden {
            let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(f.as_str())).collect();
            assert!(
                leaks.is_empty(),
                "RUST_LOG={filter}: the logs contain {f:?}: {leaks:#?}"
            );
        }
    }
}

/// The metric documents (one per request, see `replaysafe::metrics`) carry no secret, no
/// signature, no header value, no body and no token, whatever the request's fate: the mix of
/// [`logged_requests`], a signed POST with a body that would be recognised, and the same behind
/// a JWT authorizer with a bearer token.
#[tokio::test]
async fn metric_documents_carry_no_secret_signature_header_body_or_token() {
    let (_, app, mut calls) = logged_requests(None).await;
    let marked = r#"{"from":"acc_alice","to":"acc_bob","amount":5,"currency":"EUR","reference":"body-marker-5d1e"}"#;
    let signed = app.signed(&app.alice, "POST", "/transfers", marked);
    assert_eq!(app.send(&signed).await.status, 201);
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0b2tlbi1tYXJrZXIifQ.c2lnbmF0dXJlLW1hcmtlcg";
    let jwt = app.app_in_mode(replaysafe::Auth::jwt());
    let bearer = app
        .signed(&app.alice, "POST", "/transfers", marked)
        .authorized_as(Some("token-subject"))
        .with_header("authorization", &format!("Bearer {token}"));
    send_via(&jwt, &bearer).await;
    calls.extend([signed, bearer]);

    let docs = app.metrics.lines();
    assert_eq!(
        docs.len(),
        calls.len() + 3,
        "one per request (and the 3 accounts)"
    );
    let mut forbidden = secret_forms(&app.alice.secret);
    forbidden.extend(["body-marker-5d1e", token, "Bearer"].map(String::from));
    for call in &calls {
        forbidden.extend(signature_forms(call));
        forbidden.extend(call.headers.iter().map(|(_, value)| value.clone()));
        forbidden.extend(call.idempotency_key.clone());
        if !call.body.is_empty() {
            forbidden.push(String::from_utf8_lossy(&call.body).into_owned());
        }
    }
    for doc in &docs {
        for f in &forbidden {
            assert!(
                !doc.contains(f.as_str()),
                "a document contains {f:?}: {doc}"
            );
        }
    }
}

/// A request's `request` log line and its metric document say the same: status, problem code,
/// replayed; and the document's `Outcome` follows from them.
#[tokio::test]
async fn each_request_log_line_and_its_metric_document_agree() {
    let (logs, app, calls) = logged_requests(None).await;
    let lines = request_lines(&logs);
    for call in &calls {
        let line = lines
            .iter()
            .find(|l| l["fields"]["request_id"] == call.request_id.as_str())
            .map(|l| &l["fields"])
            .unwrap_or_else(|| panic!("no log line for {}: {logs}", call.request_id));
        let doc = app.document_of(call);
        let what = format!("{} {}: {line} vs {doc}", call.method, call.path);
        assert_eq!(doc["Status"], line["status"], "{what}");
        assert_eq!(doc["Code"], line["code"], "{what}");
        let replayed = line["replayed"].as_bool().expect("replayed is logged");
        assert_eq!(doc["Replayed"], u64::from(replayed), "{what}");
        let outcome = match (replayed, line["code"].as_str()) {
            (true, _) => "replayed",
            (false, Some(code)) => code,
            (false, None) => "ok",
        };
        assert_eq!(doc["Outcome"], outcome, "{what}");
    }
}
