//! A real function process that dies mid-request. The `create-transfer` binary (the one Lambda
//! runs, built by `cargo test --workspace`) serves events from the Runtime API emulator, its
//! DynamoDB calls go through the fault proxy, and the proxy SIGKILLs the process the moment
//! DynamoDB has answered a chosen call, before the answer reaches it: after the transaction
//! (DynamoDB committed; nobody was told), or after the nonce put (before the transaction).
//! A new process, a new cold start, then serves the client's retries.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::Duration;

use replaysafe::{Clock, SystemClock};
use replaysafe_tests::faults::FaultProxy;
use replaysafe_tests::function::{workspace_binary, Function};
use replaysafe_tests::{endpoint, Answer, Call, TestApp};

const OPENING: [(&str, u64); 2] = [("acc_a", 10_000), ("acc_b", 0)];

/// Tables, accounts and the proxy; the function's environment pointing at both.
struct Setup {
    app: TestApp,
    proxy: FaultProxy,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl Setup {
    async fn new(name: &str) -> Self {
        // The process signs nothing and reads the real clock; so do the clients here.
        let app = TestApp::with_system_clock().await;
        for (id, balance) in OPENING {
            app.open_account(&app.alice, id, "EUR", balance).await;
        }
        let proxy = FaultProxy::start(&endpoint(), 0).await;
        let var = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.into());
        let env = vec![
            ("AWS_ENDPOINT_URL_DYNAMODB".into(), proxy.url.clone()),
            (
                "AWS_ACCESS_KEY_ID".into(),
                var("AWS_ACCESS_KEY_ID", "local"),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                var("AWS_SECRET_ACCESS_KEY", "local"),
            ),
            ("AWS_REGION".into(), var("AWS_REGION", "us-east-1")),
            ("TABLE_PREFIX".into(), app.table_prefix()),
            ("RUST_LOG".into(), "info".into()),
            // The payouts consumer's queue keeps messages no longer than its keys live.
            ("QUEUE_RETENTION_SECONDS".into(), "86400".into()),
        ];
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.log"));
        let _ = std::fs::remove_file(&log);
        Self {
            app,
            proxy,
            env,
            log,
        }
    }

    /// A new execution environment: a fresh `create-transfer` process.
    async fn cold_start(&self) -> Function {
        self.cold_start_of("create-transfer").await
    }

    /// A fresh process of `function`.
    async fn cold_start_of(&self, function: &str) -> Function {
        Function::start(&workspace_binary(function), &self.env, &self.log).await
    }

    fn transfer_700(&self) -> Call {
        let body = TestApp::transfer_body("acc_a", "acc_b", 700);
        self.app
            .signed(&self.app.alice, "POST", "/transfers", &body)
    }

    /// Sends `call` to a fresh process and SIGKILLs it once DynamoDB has answered its next
    /// `operation` on `table`. Returns the status DynamoDB answered and the attempt that was
    /// killed: `call`, or a re-signed copy if the process answered a clean 503 first (DynamoDB
    /// Local slow on a loaded machine: a client retries). Fails on any other answer, or if the
    /// process is still alive.
    async fn killed_after(&self, call: &Call, operation: &str, table: Option<&str>) -> (u16, Call) {
        let function = self.cold_start().await;
        let kill = function.killer();
        let (killed, mut dynamodb_said) = tokio::sync::oneshot::channel();
        self.proxy.on_answer(operation, table, move |status| {
            kill();
            let _ = killed.send(status);
        });
        let mut attempt = call.clone();
        let mut status = None;
        for _ in 0..5 {
            tokio::select! {
                answer = function.invoke(&attempt) => {
                    let log = self.log.display();
                    let answer = answer.unwrap_or_else(|e| panic!("{e} (log: {log})"));
                    answer.assert_problem_in(503, "unavailable", "answered before the kill");
                    attempt = attempt.resigned(SystemClock.now());
                }
                said = &mut dynamodb_said => {
                    status = Some(said.expect("the proxy's hook ran"));
                    break;
                }
            }
        }
        let status = status.unwrap_or_else(|| panic!("never reached {operation}"));
        let exit = function
            .exit_status(Duration::from_secs(10))
            .await
            .expect("the killed process is gone");
        assert_eq!(exit.signal(), Some(9), "SIGKILLed: {exit:?}");
        self.proxy.calm();
        (status, attempt)
    }

    /// `send(function)` until an answer that is not a clean 503 (at most 5 tries): a client
    /// retries a 503, and DynamoDB Local can be slow on a loaded machine.
    async fn answered(&self, function: &Function, send: impl Fn() -> Call) -> Answer {
        for _ in 0..5 {
            let answer = function
                .invoke(&send())
                .await
                .unwrap_or_else(|e| panic!("no answer: {e} (log: {})", self.log.display()));
            if answer.status != 503 {
                return answer;
            }
            answer.assert_problem(503, "unavailable");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("still 503 after 5 tries (log: {})", self.log.display())
    }

    /// A re-signed retry (same key and body, new nonce, the time now) served by `function`.
    async fn retry(&self, function: &Function, call: &Call) -> Answer {
        self.answered(function, || call.resigned(SystemClock.now()))
            .await
    }

    /// Money moved exactly once (700 from acc_a to acc_b) by exactly one transfer; nothing
    /// created or lost.
    async fn assert_moved_once(&self, what: &str) {
        let app = &self.app;
        let transfers = app.transfers().await;
        assert_eq!(transfers.len(), 1, "{what}: one transfer: {transfers:?}");
        let (a, b) = (app.balance("acc_a").await, app.balance("acc_b").await);
        let opening: u64 = OPENING.iter().map(|(_, b)| b).sum();
        assert_eq!(a + b, opening, "{what}: money conserved");
        assert_eq!((a, b), (9_300, 700), "{what}: one debit, one credit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_process_killed_after_the_commit_leaves_the_original_answer_for_the_retry() {
    let setup = Setup::new("process-killed-after-commit").await;
    let call = setup.transfer_700();
    let (dynamodb, call) = setup.killed_after(&call, "TransactWriteItems", None).await;
    assert_eq!(dynamodb, 200, "DynamoDB committed the transaction");
    setup.assert_moved_once("after the kill").await;

    let function = setup.cold_start().await;
    let retry = setup.retry(&function, &call).await;
    assert_eq!(retry.status, 201, "{retry:?}");
    assert!(
        retry.replayed(),
        "the stored answer, not a new one: {retry:?}"
    );
    // What the dead process would have said: the answer committed with the transfer.
    let key = call.idempotency_key.as_deref().unwrap();
    let original = setup
        .app
        .idempotency_record(&setup.app.alice, key)
        .await
        .expect("the answer was committed with the transfer")
        .response;
    assert_eq!(original.status, 201);
    assert_eq!(
        retry.body, original.body,
        "the original body, byte for byte"
    );
    assert_eq!(
        retry.json()["transfer_id"].as_str(),
        Some(setup.app.transfers().await[0].transfer_id.as_str())
    );
    let again = setup.retry(&function, &call).await;
    assert!(again.replayed(), "executed a second time: {again:?}");
    assert_eq!(again.body, original.body, "every retry gets the same bytes");
    setup.assert_moved_once("after the retries").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_process_killed_between_nonce_and_transaction_is_completed_once_by_a_resigned_retry(
) {
    let setup = Setup::new("process-killed-after-nonce").await;
    let call = setup.transfer_700();
    let nonces = setup.app.store.tables().nonces.clone();
    let (dynamodb, call) = setup.killed_after(&call, "PutItem", Some(&nonces)).await;
    assert_eq!(dynamodb, 200, "DynamoDB stored the nonce");
    assert!(setup.app.transfers().await.is_empty(), "no transaction yet");
    assert_eq!(setup.app.balance("acc_a").await, 10_000);
    assert_eq!(setup.app.balance("acc_b").await, 0);

    let function = setup.cold_start().await;
    // The captured bytes again: their nonce was spent before the process died.
    let replay = setup.answered(&function, || call.replayed()).await;
    replay.assert_problem(401, "nonce-reused");

    let retry = setup.retry(&function, &call).await;
    assert_eq!(retry.status, 201, "{retry:?}");
    assert!(!retry.replayed(), "nothing had committed: {retry:?}");
    let again = setup.retry(&function, &call).await;
    assert!(again.replayed(), "executed a second time: {again:?}");
    assert_eq!(again.body, retry.body, "every retry gets the same bytes");
    setup.assert_moved_once("after the retries").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_reached_outside_its_own_route_answers_404_and_consumes_nothing() {
    let setup = Setup::new("outside_its_route").await;
    let function = setup.cold_start().await;
    let app = &setup.app;
    let account = r#"{"account_id":"acc_c","currency":"EUR","initial_balance":5}"#;
    let transfer = TestApp::transfer_body("acc_a", "acc_b", 700);
    // create-transfer, reached for another function's route or through a function-URL path.
    let calls = [
        app.signed(&app.alice, "POST", "/accounts", account),
        app.signed(
            &app.alice,
            "POST",
            "/lambda-url/create-transfer/transfers",
            &transfer,
        ),
        app.signed(&app.alice, "GET", "/transfers/tr_1", ""),
    ];
    for call in &calls {
        let answer = function.invoke(call).await.expect("an answer");
        answer.assert_problem_in(404, "not-found", &call.path);
    }
    assert!(app.transfers().await.is_empty());
    assert_eq!(
        (app.balance("acc_a").await, app.balance("acc_b").await),
        (10_000, 0)
    );
    // Nothing was consumed: the account's request, at its own function, executes.
    let own = app.send(&calls[0].replayed()).await;
    assert_eq!(own.status, 201, "{}", own.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payouts_process_killed_after_the_commit_moves_money_once_when_the_queue_redelivers() {
    use replaysafe_tests::outside::{payout_body, sqs_event, Message, QUEUE_ARN};
    let setup = Setup::new("payouts-killed-after-commit").await;
    let body = payout_body("po_crash", &setup.app.alice.id, "acc_a", "acc_b", 700);
    let batch = serde_json::to_value(sqs_event(
        QUEUE_ARN,
        &[Message {
            id: "m-1",
            body: &body,
        }],
    ))
    .expect("an event");

    let function = setup.cold_start_of("payouts").await;
    let kill = function.killer();
    let (killed, dynamodb_said) = tokio::sync::oneshot::channel();
    setup
        .proxy
        .on_answer("TransactWriteItems", None, move |status| {
            kill();
            let _ = killed.send(status);
        });
    let died = function.invoke_event(&batch).await;
    assert!(died.is_err(), "the process answered: {died:?}");
    assert_eq!(dynamodb_said.await.expect("the hook ran"), 200, "committed");
    let exit = function
        .exit_status(Duration::from_secs(10))
        .await
        .expect("gone");
    assert_eq!(exit.signal(), Some(9), "SIGKILLed: {exit:?}");
    setup.proxy.calm();
    setup.assert_moved_once("after the kill").await;

    // Lambda saw no answer: the whole batch comes back, to a new process.
    let function = setup.cold_start_of("payouts").await;
    let answer = function.invoke_event(&batch).await.expect("an answer");
    assert_eq!(
        answer["batchItemFailures"],
        serde_json::json!([]),
        "done: {answer}"
    );
    setup.assert_moved_once("after the redelivery").await;
}
