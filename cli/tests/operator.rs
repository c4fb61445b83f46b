//! The operator commands, run as an operator runs them, on a test app's tables in DynamoDB
//! Local (the one `make test` starts): `admin idempotency show|purge` and `admin audit`.

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use replaysafe::idempotency::{IdempotencyKey, KeyState};
use replaysafe::store::inspect::KeyDelete;
use replaysafe::store::AttributeValue;
use replaysafe::Principal;
use replaysafe_tests::outside::{deliver, payout_body, sqs_event, Message, QUEUE_ARN};
use replaysafe_tests::{endpoint, Call, TestApp, World};
use serde_json::Value;

/// `replaysafe admin …` on `app`'s tables in DynamoDB Local.
fn admin(app: &TestApp, args: &[&str]) -> Command {
    let prefix = app
        .store
        .tables()
        .idempotency
        .strip_suffix("idempotency")
        .expect("tables of one prefix")
        .to_owned();
    admin_at(&endpoint(), &prefix, args)
}

/// `replaysafe admin …` on the tables of `prefix` at the DynamoDB of `endpoint_url`.
fn admin_at(endpoint_url: &str, prefix: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replaysafe"));
    cmd.arg("admin")
        .args(args)
        .args(["--endpoint-url", endpoint_url, "--table-prefix", prefix])
        .env("RUST_BACKTRACE", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

/// Runs the command off the async runtime.
async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run replaysafe"))
        .await
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit code, with what was printed when it is not `want`.
fn assert_exit(out: &Output, want: i32) {
    assert_eq!(
        out.status.code(),
        Some(want),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// The one line on stderr, an `error: ` line.
fn error_line(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err.trim_end().to_owned()
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Alice's transfer of `amount` to bob (both accounts hers), sent; its key.
async fn transfer(app: &TestApp, amount: u64, want: u16) -> String {
    let body = TestApp::transfer_body(World::ALICE, World::BOB, amount);
    let call = app.signed(&app.alice, "POST", "/transfers", &body);
    let answer = app.send(&call).await;
    assert_eq!(answer.status, want, "{}", answer.body);
    call.idempotency_key.clone().expect("a POST has a key")
}

async fn opened(app: &TestApp) {
    app.open_account(&app.alice, World::ALICE, "EUR", 10_000)
        .await;
    app.open_account(&app.alice, World::BOB, "EUR", 0).await;
}

/// What the idempotency table holds under alice's `key`, read past the CLI.
async fn stored(app: &TestApp, key: &str) -> Option<KeyState> {
    let alice = Principal::from_stored(app.alice.id.clone());
    let key = IdempotencyKey::parse(Some(key)).unwrap();
    app.store.read_key_state(&alice, &key).await.unwrap()
}

/// `admin idempotency show` of alice's `key` with `extra` arguments: what it printed, and that
/// as JSON.
async fn show(app: &TestApp, key: &str, extra: &[&str]) -> (String, Value) {
    let mut args = vec![
        "idempotency",
        "show",
        "--client",
        &app.alice.id,
        "--key",
        key,
    ];
    args.extend_from_slice(extra);
    let out = run(admin(app, &args)).await;
    assert_exit(&out, 0);
    let shown = serde_json::from_slice(&out.stdout).expect("JSON");
    (stdout(&out), shown)
}

/// `admin idempotency purge` of alice's `key` with `extra` arguments.
async fn purge(app: &TestApp, key: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "idempotency",
        "purge",
        "--client",
        &app.alice.id,
        "--key",
        key,
    ];
    args.extend_from_slice(extra);
    run(admin(app, &args)).await
}

#[tokio::test]
async fn show_prints_the_record_without_its_body_or_any_secret_and_the_fence_of_a_refusal() {
    let app = TestApp::with_system_clock().await;
    opened(&app).await;
    let key = transfer(&app, 1500, 201).await;
    let (printed, shown) = show(&app, &key, &[]).await;
    assert_eq!(shown["state"], "answered", "{shown}");
    assert_eq!(shown["principal"], app.alice.id.as_str());
    assert_eq!(shown["key"], key.as_str());
    assert_eq!(shown["live"], true);
    assert_eq!(shown["response"]["status"], 201);
    assert!(shown["response"]["body_bytes"].as_u64().unwrap() > 0);
    assert!(
        shown["response"].get("body").is_none(),
        "no body unless asked"
    );
    assert!(shown["fingerprint"].is_string() && shown["created"].is_string());
    assert!(shown["expires"].is_string() && shown["purgeable_from"].is_string());
    let secret = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        &app.alice.secret,
    );
    assert!(!printed.contains(&secret), "a secret was printed");
    assert!(!printed.contains("acc_alice"), "the body was printed");

    let (_, shown) = show(&app, &key, &["--body"]).await;
    let body: Value = serde_json::from_str(shown["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["amount"], 1500);

    // A refusal leaves a fence: the refused attempt's time and its problem.
    let refused = transfer(&app, 900_000, 409).await;
    let (_, shown) = show(&app, &refused, &[]).await;
    assert_eq!(shown["state"], "fenced", "{shown}");
    assert_eq!(shown["refusal"]["code"], "insufficient-funds");
}

#[tokio::test]
async fn purge_refuses_inside_the_replay_window_needs_yes_without_a_terminal_and_force_purges() {
    let app = TestApp::with_system_clock().await;
    opened(&app).await;
    let key = transfer(&app, 1500, 201).await;
    let out = purge(&app, &key, &["--yes"]).await;
    assert_exit(&out, 1);
    let error = error_line(&out);
    assert!(error.contains("inside the replay window"), "{error}");
    assert!(error.contains("run the operation again"), "{error}");
    assert!(stored(&app, &key).await.is_some(), "nothing deleted");

    // No terminal and no --yes: nothing is deleted, even with --force.
    let out = purge(&app, &key, &["--force"]).await;
    assert_exit(&out, 2);
    assert!(error_line(&out).contains("--yes"), "{}", stderr(&out));
    assert!(stored(&app, &key).await.is_some(), "nothing deleted");

    let out = purge(&app, &key, &["--force", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("purged"), "{}", stderr(&out));
    assert!(stored(&app, &key).await.is_none(), "the record is gone");

    // Gone: a second purge finds nothing, and says so.
    let out = purge(&app, &key, &["--force", "--yes"]).await;
    assert_exit(&out, 1);
    assert!(error_line(&out).contains("nothing is stored"));
}

#[tokio::test]
async fn purge_after_the_window_deletes_without_force_and_bad_input_changes_nothing() {
    // The app's clock is a year behind the real one: its record was written long ago.
    let app = TestApp::new().await;
    opened(&app).await;
    let key = transfer(&app, 1500, 201).await;
    let before = stored(&app, &key).await;
    assert!(before.is_some());

    for (args, code, says) in [
        (
            vec!["--client", "cli_nobody", "--key", key.as_str()],
            1,
            "no client cli_nobody",
        ),
        (
            vec!["--client", app.alice.id.as_str(), "--key", "two words"],
            2,
            "--key",
        ),
        (
            vec!["--client", "not a client id", "--key", key.as_str()],
            2,
            "",
        ),
        (
            vec!["--principal", "sub:***", "--key", key.as_str()],
            2,
            "--principal",
        ),
        (
            vec!["--client", app.alice.id.as_str(), "--key", "other-key"],
            1,
            "nothing is stored",
        ),
    ] {
        let mut all = vec!["idempotency", "purge", "--yes"];
        all.extend(args.iter().copied());
        let out = run(admin(&app, &all)).await;
        assert_exit(&out, code);
        let error = error_line(&out);
        assert!(error.contains(says), "{args:?}: {error}");
        assert_eq!(stored(&app, &key).await, before, "{args:?} changed nothing");
    }

    let out = run(admin(
        &app,
        &[
            "idempotency",
            "purge",
            "--principal",
            &app.alice.id,
            "--key",
            &key,
            "--yes",
        ],
    ))
    .await;
    assert_exit(&out, 0);
    let shown: Value = serde_json::from_slice(&out.stdout).expect("what it purged, as JSON");
    assert_eq!(shown["live"], false);
    assert!(stored(&app, &key).await.is_none());
}

/// Alice's withdrawal of `amount` to `iban`, paid out by `payments`; its answer's status.
async fn withdraw(app: &TestApp, payments: &payments::Payments, amount: u64, iban: &str) -> u16 {
    let body = format!(
        r#"{{"from":"{}","amount":{amount},"currency":"EUR","iban":"{iban}"}}"#,
        World::ALICE
    );
    let call: Call = app.signed(&app.alice, "POST", "/withdrawals", &body);
    let answer = replaysafe_tests::send_via(payments, &call).await;
    assert!(answer.status < 500, "{}", answer.body);
    answer.status
}

#[tokio::test]
async fn audit_passes_after_real_operations_and_reports_a_tampered_table() {
    let app = TestApp::new().await;
    opened(&app).await;
    transfer(&app, 1500, 201).await;
    transfer(&app, 250, 201).await;
    // A withdrawal paid and one the bank refuses (funds given back).
    let bank = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bank_url = format!("http://{}", bank.local_addr().unwrap());
    tokio::spawn(fake_bank::serve(bank, Arc::new(fake_bank::Bank::new())));
    let payments = app.with_bank(&bank_url, 10, 3).await;
    let paid = withdraw(&app, &payments, 700, "DE89370400440532013000").await;
    assert_eq!(paid, 201, "paid");
    // A syntactically valid IBAN the bank does not know: 422 bank-refused.
    let refused = withdraw(&app, &payments, 300, "DE00370400440532013000").await;
    assert_eq!(refused, 422, "refused");
    // A payout: it puts a transfer of its own.
    let payouts = app.payouts().await;
    let body = payout_body("po_1", &app.alice.id, World::BOB, World::ALICE, 100);
    let response = deliver(
        &payouts,
        sqs_event(
            QUEUE_ARN,
            &[Message {
                id: "m1",
                body: &body,
            }],
        ),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());

    let out = run(admin(&app, &["audit"])).await;
    assert_exit(&out, 0);
    let report = stdout(&out);
    assert_eq!(report.lines().count(), 1, "{report}");
    assert!(
        report.starts_with("audit ok: 2 accounts, 3 transfers, 2 withdrawals, 1 paid payouts"),
        "{report}"
    );

    // Bob's balance changed past the app.
    let add_to_bob = |amount: i64| {
        app.store
            .client()
            .update_item()
            .table_name(&app.ledger.tables().accounts)
            .key("account_id", AttributeValue::S(World::BOB.into()))
            .update_expression("SET balance = balance + :amount")
            .expression_attribute_values(":amount", AttributeValue::N(amount.to_string()))
            .send()
    };
    add_to_bob(1).await.unwrap();
    let out = run(admin(&app, &["audit"])).await;
    assert_exit(&out, 1);
    let report = stdout(&out);
    assert!(
        report.contains("balance     acc_bob holds 1651"),
        "{report}"
    );
    assert!(report.contains("conserved   EUR"), "{report}");
    assert_eq!(report.lines().count(), 2, "{report}");
    assert!(error_line(&out).contains("2 violation(s)"));
    add_to_bob(-1).await.unwrap();

    // A transfer deleted: both its accounts no longer reconcile; money is still conserved.
    let transfers = app.transfers().await;
    let gone = transfers.iter().find(|t| t.amount == 250).unwrap();
    app.store
        .client()
        .delete_item()
        .table_name(&app.ledger.tables().transfers)
        .key("transfer_id", AttributeValue::S(gone.transfer_id.clone()))
        .send()
        .await
        .unwrap();
    let out = run(admin(&app, &["audit"])).await;
    assert_exit(&out, 1);
    let report = stdout(&out);
    assert!(report.contains("acc_alice holds"), "{report}");
    assert!(report.contains("acc_bob holds"), "{report}");
    assert!(!report.contains("conserved"), "{report}");
}

#[tokio::test]
async fn audit_exits_2_when_it_cannot_read_the_tables() {
    let out = run(admin_at(&endpoint(), "no-such-stack-", &["audit"])).await;
    assert_exit(&out, 2);
    assert!(error_line(&out).contains("does not exist"));

    let out = run(admin_at(&closed_port_url(), "replaysafe-", &["audit"])).await;
    assert_exit(&out, 2);
    error_line(&out);
}

#[tokio::test]
async fn a_lease_is_shown_and_never_purged_without_force_and_a_changed_item_is_not_deleted() {
    let app = TestApp::with_system_clock().await;
    opened(&app).await;
    // The bank is down: the withdrawal holds its funds under a lease and answers 503.
    let payments = app.with_bank(&closed_port_url(), 10, 3).await;
    let body = format!(
        r#"{{"from":"{}","amount":100,"currency":"EUR","iban":"DE89370400440532013000"}}"#,
        World::ALICE
    );
    let call = app.signed(&app.alice, "POST", "/withdrawals", &body);
    let answer = replaysafe_tests::send_via(&payments, &call).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    let key = call.idempotency_key.clone().unwrap();
    let (printed, shown) = show(&app, &key, &[]).await;
    assert_eq!(shown["state"], "leased", "{shown}");
    assert!(shown["lease"]["held_bytes"].as_u64().unwrap() > 0);
    assert!(
        !printed.contains("DE89370400440532013000"),
        "held state printed"
    );
    assert!(shown["purgeable_from"].is_null());

    let out = purge(&app, &key, &["--yes"]).await;
    assert_exit(&out, 1);
    assert!(error_line(&out).contains("holds a lease"));
    let leased = stored(&app, &key).await.expect("still leased");

    // What was read is what goes: once the item changed (a lease taken over has a new token),
    // a delete of what was read deletes nothing.
    let alice = Principal::from_stored(app.alice.id.clone());
    let parsed = IdempotencyKey::parse(Some(key.as_str())).unwrap();
    let KeyState::Leased(mut lease) = leased.clone() else {
        panic!("a lease: {leased:?}")
    };
    lease.token = "another-token".into();
    let stale = KeyState::Leased(lease);
    let outcome = app.store.delete_key_state(&alice, &parsed, &stale).await;
    assert_eq!(outcome.unwrap(), KeyDelete::Changed);
    assert_eq!(
        stored(&app, &key).await,
        Some(leased.clone()),
        "not deleted"
    );
    let outcome = app.store.delete_key_state(&alice, &parsed, &leased).await;
    assert_eq!(outcome.unwrap(), KeyDelete::Deleted);
    assert_eq!(stored(&app, &key).await, None);
}

#[tokio::test]
async fn show_exits_3_in_one_line_when_dynamodb_cannot_answer() {
    let args = ["idempotency", "show", "--client", "cli_a", "--key", "k"];
    let out = run(admin_at(&closed_port_url(), "replaysafe-", &args)).await;
    assert_exit(&out, 3);
    assert!(error_line(&out).contains("DynamoDB"));
    let out = run(admin_at(&endpoint(), "no-such-stack-", &args)).await;
    assert_exit(&out, 3);
    assert!(
        error_line(&out).contains("ResourceNotFound"),
        "{}",
        stderr(&out)
    );
}
