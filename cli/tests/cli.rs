//! Every `replaysafe` command, run as a user runs it, against the real handlers served over real
//! HTTP on 127.0.0.1 (`replaysafe_tests::server`) on tables of their own in DynamoDB Local (the
//! one `make test` starts).

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use assert_cmd::assert::OutputAssertExt;
use assert_cmd::Command;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use payments::{Payments, PaymentsStore, PaymentsTables};
use predicates::str::contains;
use replaysafe::store::{sdk_client, AttributeValue};
use replaysafe::{Config, Guard, Tables};
use replaysafe_client::{Client, Credentials, NewTransfer, PreparedRequest};
use replaysafe_tests::server::{ApiServer, DroppingProxy};
use replaysafe_tests::{endpoint, TestApp};
use serde_json::Value;

/// A scratch folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("replaysafe-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Tables, the API over HTTP, and a client file for the app's client `alice`.
struct Stack {
    app: TestApp,
    server: ApiServer,
    scratch: Scratch,
    client_file: PathBuf,
}

impl Stack {
    async fn start() -> Self {
        let app = TestApp::with_system_clock().await;
        let server = app.http_server().await;
        let scratch = Scratch::new();
        let client_file = scratch.file("client.json", &app.alice.credentials_json());
        Self {
            app,
            server,
            scratch,
            client_file,
        }
    }

    /// A stack with acc_alice (10000 EUR) and acc_bob (0 EUR), both alice's.
    async fn with_alice_and_bob() -> Self {
        let stack = Self::start().await;
        stack.open("acc_alice", 10_000).await;
        stack.open("acc_bob", 0).await;
        stack
    }

    /// `replaysafe` aimed at this stack through the environment, as a user would set it.
    fn cli(&self) -> Command {
        let mut cmd = cli();
        cmd.env("REPLAYSAFE_CLIENT", &self.client_file)
            .env("REPLAYSAFE_ENDPOINT", &self.server.url);
        cmd
    }

    async fn run(&self, args: &[&str]) -> Output {
        run(self.cli(), args).await
    }

    /// `created` (a `--json` answer) is the stored answer of the only transfer, 1500 from
    /// acc_alice (10000 before) to acc_bob (0 before), debited and credited once.
    async fn assert_the_one_transfer_of_1500(&self, created: &Value) {
        assert_eq!(created["replayed"], true, "{created}");
        let stored = self.app.transfers().await;
        assert_eq!(stored.len(), 1, "exactly one transfer");
        assert_eq!(
            created["transfer"]["transfer_id"],
            stored[0].transfer_id.as_str()
        );
        assert_eq!(self.app.balance("acc_alice").await, 8_500, "one debit");
        assert_eq!(self.app.balance("acc_bob").await, 1_500, "one credit");
    }

    /// Opens an EUR account owned by alice (in-process: no CLI involved).
    async fn open(&self, id: &str, balance: u64) {
        self.app
            .open_account(&self.app.alice, id, "EUR", balance)
            .await;
    }
}

fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replaysafe"));
    cmd.env_remove("REPLAYSAFE_CLIENT")
        .env_remove("REPLAYSAFE_ENDPOINT")
        .env("RUST_BACKTRACE", "1") // a panic would print one; errors must not
        .timeout(Duration::from_secs(120));
    cmd
}

/// Runs the command off the async runtime, which keeps serving the API meanwhile.
async fn run(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().expect("run replaysafe"))
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(output)))
}

/// An error is one line on stderr, never a backtrace.
fn one_line_error(output: &Output) -> String {
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {err:?}");
    assert!(lines[0].starts_with("error: "), "{err:?}");
    assert!(
        !err.contains("backtrace") && !err.contains("panicked"),
        "{err}"
    );
    lines[0].to_owned()
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let out = cli().arg("--help").output().unwrap();
    out.clone()
        .assert()
        .success()
        .stdout(contains("Exit codes:"))
        .stdout(contains(
            "3  the API, or DynamoDB or SQS for `admin` and `payout`, could not be reached",
        ))
        .stdout(contains("or an admin command was refused"))
        .stdout(contains("replaysafe demo"))
        .stdout(contains("account"))
        .stdout(contains("transfer"))
        .stdout(contains("sign"));
    for (args, example) in [
        (
            vec!["account", "--help"],
            "replaysafe account create --currency EUR",
        ),
        (vec!["transfer", "create", "--help"], "--idempotency-key"),
        (vec!["transfer", "--help"], "minor units"),
        (vec!["sign", "--help"], "curl"),
        (vec!["demo", "--help"], "make run"),
    ] {
        cli()
            .args(&args)
            .assert()
            .success()
            .stdout(contains(example));
    }
}

#[test]
fn usage_errors_exit_2_in_one_line() {
    cli().assert().code(2);
    cli()
        .args(["transfer", "create", "--from", "acc_a"])
        .assert()
        .code(2)
        .stderr(contains("--to"));

    let scratch = Scratch::new();
    let file = scratch.file(
        "client.json",
        r#"{"client_id":"cli_x","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}"#,
    );
    let file = file.to_str().unwrap();
    let nowhere = closed_port_url();
    let base = ["--client", file, "--endpoint", nowhere.as_str()];
    let cases: [(&[&str], &str); 7] = [
        (&["demo", "--json"], "no --json output"),
        (
            &[
                "transfer",
                "create",
                "--from",
                "a",
                "--to",
                "b",
                "--amount",
                "1",
                "--currency",
                "EUR",
                "--idempotency-key",
                "two words",
            ],
            "invalid Idempotency-Key",
        ),
        (&["account", "get", "../clients"], "invalid account id"),
        (&["transfer", "get", "trf?x=1"], "invalid transfer id"),
        (
            &[
                "call",
                "POST",
                "/accounts",
                "--idempotency-key",
                "a\r\nX-Evil: 1",
            ],
            "invalid Idempotency-Key",
        ),
        (&["sign", "DELETE", "/accounts/a"], "GET and POST"),
        (
            &["account", "get", "acc_a", "--max-attempts", "0"],
            "--max-attempts",
        ),
    ];
    for (args, message) in cases {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(base);
        let out = cli().args(&all).output().unwrap();
        out.clone().assert().code(2);
        assert!(
            one_line_error(&out).contains(message),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    let out = cli()
        .args(["account", "get", "acc_a", "--endpoint", nowhere.as_str()])
        .args(["--client", "/nonexistent/client.json"])
        .output()
        .unwrap();
    out.clone().assert().code(2);
    let line = one_line_error(&out);
    assert!(
        line.contains("cannot read client file") && line.contains("make run"),
        "{line}"
    );

    let garbage = scratch.file("garbage.json", "{\"client_id\": 1}");
    let out = cli()
        .args([
            "account",
            "get",
            "acc_a",
            "--client",
            garbage.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    out.clone().assert().code(2);
    assert!(one_line_error(&out).contains("not a client file"));
}

#[test]
fn unreachable_exits_3_after_the_retries() {
    let scratch = Scratch::new();
    let file = scratch.file(
        "client.json",
        r#"{"client_id":"cli_x","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}"#,
    );
    let nowhere = closed_port_url();
    let args = [
        "account",
        "get",
        "acc_a",
        "--endpoint",
        &nowhere,
        "--client",
        file.to_str().unwrap(),
        "--max-attempts",
        "2",
    ];
    let out = cli().args(args).arg("--quiet").output().unwrap();
    out.clone().assert().code(3);
    let line = one_line_error(&out);
    assert!(
        line.contains("after 2 attempt(s)") && line.contains("refused"),
        "{line}"
    );

    // Without --quiet the retry is reported as it happens.
    let out = cli().args(args).output().unwrap();
    out.clone().assert().code(3);
    let err = stderr(&out);
    assert!(
        err.starts_with("retry: attempt 1 got cannot connect"),
        "{err}"
    );
    assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1);

    // `call` sends once.
    let out = cli()
        .args(["call", "GET", "/accounts/acc_a", "--endpoint", &nowhere])
        .args(["--client", file.to_str().unwrap()])
        .output()
        .unwrap();
    out.clone().assert().code(3);
    one_line_error(&out);
}

#[tokio::test]
async fn account_create_and_get() {
    let stack = Stack::start().await;
    let out = stack
        .run(&[
            "account",
            "create",
            "--currency",
            "EUR",
            "--initial-balance",
            "10000",
            "--id",
            "acc_alice",
        ])
        .await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("account acc_alice created"))
        .stdout(contains("balance          10000 (minor units)"))
        .stdout(contains("idempotency-key"));

    // No id: the server picks one. --json for scripts.
    let out = stack
        .run(&[
            "account",
            "create",
            "--currency",
            "EUR",
            "--json",
            "--idempotency-key",
            "open-2",
        ])
        .await;
    out.clone().assert().success();
    let created = json(&out);
    let generated = created["account"]["account_id"].as_str().unwrap();
    assert!(generated.starts_with("acc_"), "{created}");
    assert_eq!(created["replayed"], false);
    assert_eq!(created["idempotency_key"], "open-2");
    assert_eq!(created["location"], format!("/accounts/{generated}"));

    // The same key and body again: the stored answer.
    let again = stack
        .run(&[
            "account",
            "create",
            "--currency",
            "EUR",
            "--json",
            "--idempotency-key",
            "open-2",
        ])
        .await;
    again.clone().assert().success();
    assert_eq!(json(&again)["replayed"], true);
    assert_eq!(json(&again)["account"], created["account"]);

    let out = stack.run(&["account", "get", "acc_alice"]).await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("account acc_alice"))
        .stdout(contains("currency         EUR"))
        .stdout(contains("etag             \"v1\""));
    let out = stack.run(&["account", "get", "acc_alice", "--json"]).await;
    let got = json(&out);
    assert_eq!(got["account"]["balance"], 10000);
    assert_eq!(got["etag"], "\"v1\"");

    let out = stack
        .run(&["account", "get", "acc_alice", "--if-none-match", "\"v1\""])
        .await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("account acc_alice not modified (ETag \"v1\")"));
    let out = stack
        .run(&[
            "account",
            "get",
            "acc_alice",
            "--if-none-match",
            "\"v0\"",
            "--json",
        ])
        .await;
    assert_eq!(json(&out)["account"]["version"], 1);
}

#[tokio::test]
async fn transfer_create_get_and_retry_with_the_same_key() {
    let stack = Stack::start().await;
    stack.open("acc_alice", 10_000).await;
    stack.open("acc_bob", 0).await;
    let create = [
        "transfer",
        "create",
        "--from",
        "acc_alice",
        "--to",
        "acc_bob",
        "--amount",
        "1500",
        "--currency",
        "EUR",
        "--reference",
        "invoice 42",
        "--idempotency-key",
        "invoice-42",
    ];
    let out = stack.run(&create).await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("created: 1500 EUR from acc_alice to acc_bob"))
        .stdout(contains("reference        invoice 42"))
        .stdout(contains("idempotency-key  invoice-42"));
    let first_line = stdout(&out).lines().next().unwrap().to_owned();
    let transfer_id = first_line.split_whitespace().nth(1).unwrap().to_owned();
    assert!(transfer_id.starts_with("tr_"), "{first_line}");

    // Run it again, as a user unsure whether it went through: the same transfer, once.
    let out = stack.run(&create).await;
    out.clone()
        .assert()
        .success()
        .stdout(contains(format!("transfer {transfer_id}: 1500 EUR")))
        .stdout(contains("replayed         the stored answer"));
    let mut with_json = create.to_vec();
    with_json.push("--json");
    let out = stack.run(&with_json).await;
    let replayed = json(&out);
    assert_eq!(replayed["replayed"], true);
    assert_eq!(replayed["transfer"]["transfer_id"], transfer_id.as_str());
    assert_eq!(stack.app.transfers().await.len(), 1);
    assert_eq!(stack.app.balance("acc_alice").await, 8_500);
    assert_eq!(stack.app.balance("acc_bob").await, 1_500);

    let out = stack.run(&["transfer", "get", &transfer_id]).await;
    out.clone().assert().success().stdout(contains(format!(
        "transfer {transfer_id}: 1500 EUR from acc_alice to acc_bob"
    )));
    let out = stack
        .run(&["transfer", "get", &transfer_id, "--json"])
        .await;
    assert_eq!(json(&out)["transfer"]["reference"], "invoice 42");
}

#[tokio::test]
async fn api_errors_exit_1_with_the_problem_code() {
    let stack = Stack::start().await;
    stack.open("acc_alice", 100).await;
    stack.open("acc_bob", 0).await;
    let transfer = |amount: &'static str| {
        vec![
            "transfer",
            "create",
            "--from",
            "acc_alice",
            "--to",
            "acc_bob",
            "--amount",
            amount,
            "--currency",
            "EUR",
        ]
    };
    let out = stack.run(&transfer("5000")).await;
    out.clone().assert().code(1);
    let line = one_line_error(&out);
    assert_eq!(
        line,
        "error: 409 insufficient-funds: the balance does not cover the amount"
    );
    assert!(out.stdout.is_empty());

    let mut args = transfer("5000");
    args.push("--json");
    let out = stack.run(&args).await;
    out.clone().assert().code(1);
    let problem = json(&out);
    assert_eq!(problem["error"]["code"], "insufficient-funds");
    assert_eq!(problem["error"]["status"], 409);
    // A refusal is an outcome: it names the key, and there is nothing to resume.
    assert!(problem["error"]["idempotency_key"].is_string(), "{problem}");
    assert_eq!(problem["error"]["outcome_unknown"], false);
    assert!(problem["error"].get("resume").is_none());

    for (args, code) in [
        (vec!["account", "get", "acc_nobody"], "404 not-found"),
        (vec!["transfer", "get", "trf_nothing"], "404 not-found"),
        (
            vec![
                "account",
                "create",
                "--currency",
                "EUR",
                "--id",
                "acc_alice",
            ],
            "409 account-exists",
        ),
        (
            vec!["account", "create", "--currency", "eur"],
            "400 validation-failed",
        ),
    ] {
        let out = stack.run(&args).await;
        out.clone().assert().code(1);
        assert!(
            one_line_error(&out).contains(code),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    // A client the API does not know.
    let stranger = stack.scratch.file(
        "stranger.json",
        r#"{"client_id":"cli_stranger","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}"#,
    );
    let out = stack
        .run(&[
            "account",
            "get",
            "acc_alice",
            "--client",
            stranger.to_str().unwrap(),
        ])
        .await;
    out.clone().assert().code(1);
    assert!(one_line_error(&out).contains("401 unknown-key"));
    assert_eq!(stack.app.balance("acc_alice").await, 100);
}

#[tokio::test]
async fn sign_prints_headers_and_a_curl_command_that_works() {
    let stack = Stack::start().await;
    let body = r#"{"account_id":"acc_signed","currency":"EUR","initial_balance":700}"#;
    let out = stack
        .run(&[
            "sign",
            "POST",
            "/accounts",
            "--data",
            body,
            "--idempotency-key",
            "sig-1",
        ])
        .await;
    out.clone().assert()
        .success()
        .stdout(contains("Idempotency-Key: sig-1\n"))
        .stdout(contains("Content-Digest: sha-256=:"))
        .stdout(contains("Signature-Input: sig1=(\"@method\" \"@path\" \"content-digest\" \"idempotency-key\");created="))
        .stdout(contains("Signature: sig1=:"))
        .stdout(contains(format!("curl -sS -i -X POST '{}/accounts'", stack.server.url)))
        .stderr(contains("one use only"));

    // The --json headers, sent as they are: accepted.
    let out = stack
        .run(&["sign", "POST", "/accounts", "--data", body, "--json"])
        .await;
    let signed = json(&out);
    let headers = signed["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let request = PreparedRequest {
        method: "POST".into(),
        path: "/accounts".into(),
        headers,
        body: signed["body"].as_str().unwrap().as_bytes().to_vec(),
    };
    let credentials = Credentials::from_file(&stack.client_file).unwrap();
    let client = Client::new(&stack.server.url, &credentials).unwrap();
    let answer = client.send_once(&request).await.unwrap();
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );

    // The printed curl command, run by a shell: signed GET.
    let out = stack
        .run(&["sign", "GET", "/accounts/acc_signed", "--curl-only"])
        .await;
    out.clone().assert().success();
    let curl = stdout(&out);
    let sh = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(curl)
            .output()
    })
    .await
    .unwrap();
    match sh {
        Ok(sh) if sh.status.code() != Some(127) => {
            let text = stdout(&sh);
            assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
            assert!(text.contains(r#""balance":700"#), "{text}");
        }
        _ => eprintln!("curl is not installed: the curl command was not run"),
    }
}

#[tokio::test]
async fn call_save_and_replay() {
    let stack = Stack::start().await;
    let saved = stack.scratch.0.join("captured.json");
    let saved = saved.to_str().unwrap();
    let body = r#"{"account_id":"acc_call","currency":"EUR","initial_balance":50}"#;
    let out = stack
        .run(&["call", "POST", "/accounts", "--data", body, "--save", saved])
        .await;
    out.clone()
        .assert()
        .success()
        .stderr(contains("HTTP 201"))
        .stderr(contains("location: /accounts/acc_call"))
        .stdout(contains("\"account_id\": \"acc_call\""));

    let out = stack.run(&["replay", saved]).await;
    out.clone()
        .assert()
        .code(1)
        .stderr(contains("HTTP 401"))
        .stdout(contains("nonce-reused"));
    let out = stack
        .run(&[
            "replay",
            saved,
            "--data",
            r#"{"account_id":"acc_call","currency":"EUR","initial_balance":5000000}"#,
        ])
        .await;
    out.clone()
        .assert()
        .code(1)
        .stdout(contains("signature-invalid"));

    let out = stack
        .run(&[
            "call",
            "GET",
            "/accounts/acc_call",
            "--if-none-match",
            "\"v1\"",
        ])
        .await;
    out.clone().assert().success().stderr(contains("HTTP 304"));
    assert_eq!(stack.app.balance("acc_call").await, 50);
}

#[tokio::test]
async fn demo_runs_every_scenario() {
    let stack = Stack::start().await;
    let dynamodb = endpoint();
    let prefix = stack.app.table_prefix();
    let out = stack
        .run(&[
            "demo",
            "--duplicates",
            "6",
            "--endpoint-url",
            &dynamodb,
            "--table-prefix",
            &prefix,
        ])
        .await;
    let text = stdout(&out);
    out.clone().assert().success();
    for expected in [
        "Setup: two new EUR accounts",
        "→ 201 Created   ✓",
        "→ 401 nonce-reused: this nonce was already used   ✓",
        "→ 401 stale-request",
        "→ 401 signature-invalid",
        "→ 400 digest-mismatch",
        "replayed: true",
        "no second transfer   ✓",
        "1 executed, 5 got the stored answer",
        "money moved exactly twice",
        "7. Key rotation while requests flow",
        "the signer now uses key B",
        "key A revoked",
        "no request failed across the rotation   ✓",
        "retried under key B",
        "every payment once   ✓",
        "Every replay was refused",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains('✗'), "{text}");
    let rotation_payments = stack
        .app
        .transfers()
        .await
        .iter()
        .filter(|t| t.from.starts_with("acc_rot_"))
        .count();
    assert!(rotation_payments > 12, "{text}");
    assert_eq!(stack.app.transfers().await.len(), 2 + rotation_payments);
}

/// What `make run` plus `replaysafe demo` writes besides its story: one CloudWatch metric
/// document per request (`replaysafe::metrics`), valid EMF, each counting what the demo did to
/// it: the replayed capture is `NonceReused`, the retry after a lost answer `Replayed`.
#[tokio::test]
async fn demo_writes_one_metric_document_per_request_counting_each_scenario() {
    let stack = Stack::start().await;
    let out = stack
        .run(&["demo", "--duplicates", "4", "--no-rotation"])
        .await;
    out.clone().assert().success();
    let docs = stack.app.documents();
    let seen: Vec<(&str, &str)> = docs
        .iter()
        .map(|d| (d["Route"].as_str().unwrap(), d["Outcome"].as_str().unwrap()))
        .collect();
    let (accounts, account, transfers) = (
        "POST /accounts",
        "GET /accounts/{account_id}",
        "POST /transfers",
    );
    let story = [
        (accounts, "ok"),
        (accounts, "ok"),
        (account, "ok"),
        (account, "ok"),
        (transfers, "ok"),
        (transfers, "nonce-reused"),
        (transfers, "stale-request"),
        (transfers, "signature-invalid"),
        (transfers, "digest-mismatch"),
        (transfers, "replayed"),
    ];
    assert!(seen.len() >= story.len() + 4 + 2, "{seen:?}");
    assert_eq!(seen[..story.len()], story, "{}", stdout(&out));
    // The duplicates: one executed, the others the stored answer (after 409s, if they raced).
    let duplicates = &seen[story.len()..seen.len() - 2];
    assert_eq!(
        duplicates
            .iter()
            .filter(|s| **s == (transfers, "ok"))
            .count(),
        1
    );
    let answered = duplicates
        .iter()
        .filter(|s| **s == (transfers, "replayed"))
        .count();
    assert_eq!(answered, 3, "{duplicates:?}");
    assert!(duplicates
        .iter()
        .all(|(_, o)| ["ok", "replayed", "request-in-progress"].contains(o)));
    assert_eq!(seen[seen.len() - 2..], [(account, "ok"), (account, "ok")]);

    let total = |metric: &str| {
        docs.iter()
            .map(|d| d[metric].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(total("Requests"), docs.len() as u64);
    assert_eq!(total("NonceReused"), 1);
    assert_eq!(total("RequestStale"), 1);
    assert_eq!(total("SignatureInvalid"), 2);
    assert_eq!(total("Replayed"), 4, "step 5 and three duplicates");
    for quiet in [
        "KeyUnknown",
        "KeyReused",
        "AttemptSuperseded",
        "ServerErrors",
        "Unavailable",
    ] {
        assert_eq!(total(quiet), 0, "{quiet}");
    }
    let retried = &docs[9];
    assert_eq!(
        (&retried["Replayed"], &retried["Status"]),
        (&1.into(), &201.into())
    );
    assert_eq!(retried["Principal"], stack.app.alice.id.as_str());
}

#[tokio::test]
async fn admin_creates_tables_and_a_client_the_api_accepts() {
    let prefix = format!("a{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let dynamodb = endpoint();
    let admin = |what: &'static str| {
        let mut cmd = cli();
        cmd.args([
            "admin",
            what,
            "--endpoint-url",
            &dynamodb,
            "--table-prefix",
            &prefix,
        ]);
        cmd
    };
    // The guard's tables only, by default.
    let out = run(admin("create-tables"), &[]).await;
    out.clone()
        .assert()
        .success()
        .stderr(contains(format!("created  {prefix}clients")))
        .stderr(contains(format!("created  {prefix}idempotency")))
        .stderr(contains(format!("created  {prefix}nonces")));
    assert!(!stderr(&out).contains("accounts"), "{}", stderr(&out));
    let sdk = sdk_client(Some(&dynamodb)).await;
    let names = sdk
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    assert!(!names.contains(&format!("{prefix}accounts")), "{names:?}");
    // And the app's with --with-app-tables.
    let out = run(admin("create-tables"), &["--with-app-tables"]).await;
    out.clone()
        .assert()
        .success()
        .stderr(contains(format!("exists  {prefix}clients")))
        .stderr(contains(format!("created  {prefix}accounts")))
        .stderr(contains(format!("created  {prefix}transfers")));
    let out = run(admin("create-tables"), &["--with-app-tables"]).await;
    out.clone()
        .assert()
        .success()
        .stderr(contains(format!("exists  {prefix}accounts")));
    let out = run(admin("create-client"), &[]).await;
    out.clone().assert().success();
    let client = json(&out);
    assert!(client["client_id"].as_str().is_some() && client["secret"].as_str().is_some());

    // That client, through the API on those tables.
    let tables = Tables::with_prefix(&prefix);
    let guard = Guard::builder(Config::builder().tables(tables).build().unwrap())
        .sdk_client(sdk.clone())
        .build()
        .await
        .unwrap();
    let ledger = PaymentsStore::new(sdk, PaymentsTables::with_prefix(&prefix));
    let server = ApiServer::start(Payments::new(guard, ledger)).await;
    let scratch = Scratch::new();
    let file = scratch.file("client.json", &client.to_string());
    let mut cmd = cli();
    cmd.args([
        "account",
        "create",
        "--currency",
        "EUR",
        "--id",
        "acc_admin",
    ]);
    let out = run(
        cmd,
        &[
            "--client",
            file.to_str().unwrap(),
            "--endpoint",
            &server.url,
        ],
    )
    .await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("account acc_admin created"));

    // DynamoDB that is not there: exit 3, one line.
    let out = run(
        cli(),
        &[
            "admin",
            "create-client",
            "--endpoint-url",
            &closed_port_url(),
            "--table-prefix",
            &prefix,
        ],
    )
    .await;
    out.clone().assert().code(3);
    one_line_error(&out);
}

/// The lost answer: the proxy forwards the first attempt to the API (the transfer commits),
/// then closes the connection without the answer. The client retries with the same key and
/// gets the original transfer back, not a second one.
#[tokio::test]
async fn a_retry_after_a_lost_answer_returns_the_original_transfer() {
    let stack = Stack::with_alice_and_bob().await;

    // Through the CLI.
    let proxy = DroppingProxy::start(stack.server.addr, 1).await;
    let out = stack
        .run(&[
            "transfer",
            "create",
            "--from",
            "acc_alice",
            "--to",
            "acc_bob",
            "--amount",
            "1500",
            "--currency",
            "EUR",
            "--endpoint",
            &proxy.url,
            "--json",
        ])
        .await;
    out.clone()
        .assert()
        .success()
        .stderr(contains("retry: attempt 1 got connection failed"));
    let created = json(&out);
    assert_eq!(created["attempts"], 2);
    assert_eq!((proxy.forwarded(), proxy.lost()), (2, 1));
    stack.assert_the_one_transfer_of_1500(&created).await;

    // Through the library, losing two answers in a row.
    let proxy = DroppingProxy::start(stack.server.addr, 2).await;
    let credentials = Credentials::from_file(&stack.client_file).unwrap();
    let client = Client::new(&proxy.url, &credentials).unwrap();
    let transfer = NewTransfer::new("acc_alice", "acc_bob", 700, "EUR");
    let created = client.create_transfer(&transfer).await.unwrap();
    assert!(created.replayed);
    assert_eq!(created.attempts, 3);
    assert_eq!((proxy.forwarded(), proxy.lost()), (3, 2));
    let stored = stack.app.transfers().await;
    assert_eq!(stored.len(), 2);
    assert!(stored
        .iter()
        .any(|t| t.transfer_id == created.value.transfer_id && t.amount == 700));
    assert_eq!(stack.app.balance("acc_alice").await, 7_800);
    assert_eq!(stack.app.balance("acc_bob").await, 2_200);
    assert!(
        stack
            .app
            .has_idempotency_record(&stack.app.alice, created.idempotency_key.as_str())
            .await
    );
}

/// `transfer create` of `amount` EUR from `from` to `to`.
fn transfer_create(
    from: &'static str,
    to: &'static str,
    amount: &'static str,
) -> Vec<&'static str> {
    vec![
        "transfer",
        "create",
        "--from",
        from,
        "--to",
        to,
        "--amount",
        amount,
        "--currency",
        "EUR",
    ]
}

/// Waits until a wall-clock second has just begun: what follows (a few CLI runs of a few tens of
/// milliseconds each) starts within the second of the first attempt.
fn at_the_start_of_a_second() {
    let into = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis();
    if into > 50 {
        std::thread::sleep(Duration::from_millis(u64::from(1000 - into) + 5));
    }
}

/// The proxy lets the only attempt commit and loses its answer: the CLI cannot know what
/// happened. It says so, names the key, and prints the command that resumes the operation;
/// run as printed, it returns the original transfer, and money moved once.
#[tokio::test]
async fn an_unknown_outcome_prints_the_command_that_resumes_it() {
    let stack = Stack::with_alice_and_bob().await;
    let proxy = DroppingProxy::start(stack.server.addr, 1).await;
    let mut args = transfer_create("acc_alice", "acc_bob", "1500");
    args.extend(["--reference", "rent march", "--max-attempts", "1"]);
    args.extend(["--endpoint", &proxy.url]);
    let out = stack.run(&args).await;
    out.clone().assert().code(3);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    let resume = lines[1].strip_prefix("resume: ").expect(&err);
    let words = shlex::split(resume).expect("a shell command");
    let key = words.last().unwrap().clone();
    assert!(
        lines[0].starts_with("error: no answer from")
            && lines[0].contains(&format!(
                "the outcome is unknown: resume it with the same Idempotency-Key {key}"
            )),
        "{err}"
    );
    assert_eq!(words[0], env!("CARGO_BIN_EXE_replaysafe"));
    assert_eq!(words[words.len() - 2], "--idempotency-key");
    assert!(words.iter().any(|w| w == "rent march"), "{words:?}");
    assert_eq!(
        stack.app.transfers().await.len(),
        1,
        "the lost attempt committed"
    );

    let mut again = stack.cli();
    again.args(&words[1..]);
    let out = run(again, &["--json"]).await;
    out.clone().assert().success();
    let created = json(&out);
    assert_eq!(created["idempotency_key"], key.as_str());
    stack.assert_the_one_transfer_of_1500(&created).await;

    // --json, with a key given: the error object carries it, and the resume command keeps it
    // (once).
    let proxy = DroppingProxy::start(stack.server.addr, 1).await;
    let open = "account create --currency EUR --idempotency-key open-7 --max-attempts 1 --json";
    let mut args: Vec<&str> = open.split(' ').collect();
    args.extend(["--endpoint", &proxy.url]);
    let out = stack.run(&args).await;
    out.clone().assert().code(3);
    let error = &json(&out)["error"];
    assert_eq!(error["idempotency_key"], "open-7");
    assert_eq!(error["outcome_unknown"], true);
    let words = shlex::split(error["resume"].as_str().unwrap()).unwrap();
    assert_eq!(
        words.iter().filter(|w| *w == "--idempotency-key").count(),
        1
    );
    assert_eq!(words.last().map(String::as_str), Some("open-7"));
}

/// Refused, then the cause fixed and the same command run at once: the server fenced the key at
/// the refused attempt's `created`, and the new process signs after it (the refused command
/// waited for the clock to pass that second before it exited), so it goes through.
#[tokio::test]
async fn a_refused_transfer_retried_at_once_with_its_key_goes_through() {
    let stack = Stack::start().await;
    stack.open("acc_alice", 100).await;
    stack.open("acc_bob", 0).await;
    stack.open("acc_carol", 10_000).await;
    let pay = |from, to, amount, key| {
        let mut args = transfer_create(from, to, amount);
        args.extend(["--idempotency-key", key]);
        args
    };
    at_the_start_of_a_second();
    let out = stack
        .run(&pay("acc_alice", "acc_bob", "500", "pay-500"))
        .await;
    out.clone().assert().code(1);
    assert!(one_line_error(&out).contains("409 insufficient-funds"));
    let out = stack
        .run(&pay("acc_carol", "acc_alice", "1000", "fund-1000"))
        .await;
    out.clone().assert().success();
    let out = stack
        .run(&pay("acc_alice", "acc_bob", "500", "pay-500"))
        .await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("created: 500 EUR from acc_alice to acc_bob"));
    assert_eq!(stack.app.balance("acc_alice").await, 600);
    assert_eq!(stack.app.balance("acc_bob").await, 500);
}

impl Stack {
    /// `replaysafe admin WHAT ARGS` on this stack's tables in DynamoDB Local.
    async fn admin(&self, what: &str, args: &[&str]) -> Output {
        let dynamodb = endpoint();
        let prefix = self.app.table_prefix();
        let mut cmd = cli();
        cmd.args([
            "admin",
            what,
            "--endpoint-url",
            &dynamodb,
            "--table-prefix",
            &prefix,
        ]);
        run(cmd, args).await
    }

    /// `admin list-keys` for alice, one JSON object a line.
    async fn alices_keys(&self) -> (Output, Vec<Value>) {
        let out = self
            .admin("list-keys", &["--client", &self.app.alice.id])
            .await;
        out.clone().assert().success();
        let lines = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (out, lines)
    }
}

#[tokio::test]
async fn a_created_key_signs_at_once_for_the_same_client_and_list_keys_never_prints_a_secret() {
    let stack = Stack::with_alice_and_bob().await;
    let alice = stack.app.alice.id.clone();
    let out = stack.admin("create-key", &["--client", &alice]).await;
    out.clone().assert().success();
    let key = json(&out);
    let fields: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["client_id", "key_id", "alg", "secret"], "{key}");
    assert_eq!(key["client_id"], alice.as_str());
    assert_eq!(key["alg"], "hmac-sha256");
    let key_id = key["key_id"].as_str().unwrap().to_owned();
    assert_ne!(key_id, alice);
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(STANDARD.decode(&secret).unwrap().len(), 32);

    // Signing with the new key (the file create-key printed) works at once, as alice: her
    // accounts are its accounts.
    let file = stack.scratch.file("new-key.json", &key.to_string());
    let out = stack
        .run(&[
            "account",
            "get",
            "acc_alice",
            "--client",
            file.to_str().unwrap(),
        ])
        .await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("balance          10000 (minor units)"));
    let out = stack
        .run(&[
            "transfer",
            "create",
            "--client",
            file.to_str().unwrap(),
            "--from",
            "acc_alice",
            "--to",
            "acc_bob",
            "--amount",
            "100",
            "--currency",
            "EUR",
        ])
        .await;
    out.clone().assert().success();
    assert_eq!(stack.app.balance("acc_bob").await, 100);

    // list-keys: both keys, everything but a secret.
    let (out, keys) = stack.alices_keys().await;
    let listed: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k["key_id"].as_str().unwrap(), k["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [(alice.as_str(), "active"), (key_id.as_str(), "active")]
    );
    for k in &keys {
        let mut fields: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "alg",
                "created_at",
                "expires_at",
                "key_id",
                "last_used_at",
                "status"
            ],
            "{k}"
        );
    }
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    let alices_secret = STANDARD.encode(&stack.app.alice.secret);
    for secret in [&secret, &alices_secret] {
        assert!(!printed.contains(secret.as_str()), "a secret in: {printed}");
    }
    assert!(!printed.contains("secret"), "{printed}");

    // Revoked: listed as such; its file is refused once the cache lets go (the server's
    // CLIENT_CACHE_SECONDS; tests/tests/keys.rs times it).
    let out = stack
        .admin("revoke-key", &["--client", &alice, "--key-id", &key_id])
        .await;
    out.clone().assert().success();
    let (_, keys) = stack.alices_keys().await;
    assert_eq!(keys[1]["status"], "revoked");
    assert_eq!(keys[0]["status"], "active");
}

#[tokio::test]
async fn a_third_active_key_is_refused_in_one_line_and_revoked_or_expired_keys_do_not_count() {
    let stack = Stack::start().await;
    let alice = stack.app.alice.id.clone();
    let create = |extra: &'static [&'static str]| {
        let alice = alice.clone();
        let stack = &stack;
        async move {
            let mut args = vec!["--client", alice.as_str()];
            args.extend(extra);
            stack.admin("create-key", &args).await
        }
    };
    // alice's first key and one more: two active.
    let second = create(&[]).await;
    second.clone().assert().success();
    let second = json(&second)["key_id"].as_str().unwrap().to_owned();
    let third = create(&[]).await;
    third.clone().assert().code(1);
    assert!(
        third.stdout.is_empty(),
        "nothing printed: {}",
        stdout(&third)
    );
    let reason = one_line_error(&third);
    assert!(reason.contains("already has 2 active keys"), "{reason}");

    // A revoked key does not count...
    stack
        .admin("revoke-key", &["--client", &alice, "--key-id", &second])
        .await
        .assert()
        .success();
    let expiring = create(&["--expires-in", "1"]).await;
    expiring.clone().assert().success();
    let expiring = json(&expiring)["key_id"].as_str().unwrap().to_owned();
    create(&[]).await.assert().code(1);
    // ...nor an expired one.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let fourth = create(&[]).await;
    fourth.clone().assert().success();
    let fourth = json(&fourth)["key_id"].as_str().unwrap().to_owned();
    let (_, keys) = stack.alices_keys().await;
    let status = |id: &str| {
        let key = keys.iter().find(|k| k["key_id"] == id).expect("listed");
        key["status"].as_str().unwrap().to_owned()
    };
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[0]["key_id"], alice.as_str(), "the first key first");
    assert_eq!(status(&alice), "active");
    assert_eq!(status(&second), "revoked");
    assert_eq!(status(&expiring), "expired");
    assert_eq!(status(&fourth), "active");

    // Unknown client, unknown key: refused in one line, exit 1.
    let out = stack.admin("create-key", &["--client", "cli_nobody"]).await;
    out.clone().assert().code(1);
    assert!(one_line_error(&out).contains("no client cli_nobody"));
    let out = stack
        .admin("revoke-key", &["--client", &alice, "--key-id", "key_nope"])
        .await;
    out.clone().assert().code(1);
    one_line_error(&out);
}

#[tokio::test]
async fn an_ed25519_key_signs_for_its_client_and_the_server_keeps_only_its_public_key() {
    let stack = Stack::with_alice_and_bob().await;
    let alice = stack.app.alice.id.clone();
    let out = stack
        .admin("create-key", &["--client", &alice, "--alg", "ed25519"])
        .await;
    out.clone().assert().success();
    let key = json(&out);
    let fields: Vec<&str> = key
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        ["client_id", "key_id", "alg", "private_key"],
        "{key}"
    );
    assert_eq!(key["alg"], "ed25519");
    let seed = STANDARD
        .decode(key["private_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(seed.len(), 32);

    // The file create-key printed signs at once, as alice.
    let file = stack.scratch.file("ed25519-key.json", &key.to_string());
    let out = stack
        .run(&[
            "account",
            "get",
            "acc_alice",
            "--client",
            file.to_str().unwrap(),
        ])
        .await;
    out.clone()
        .assert()
        .success()
        .stdout(contains("balance          10000 (minor units)"));

    // The table holds the public key, never the seed.
    let key_id = key["key_id"].as_str().unwrap();
    let stored = stack
        .app
        .store
        .get_key(&replaysafe::ids::KeyId::parse(key_id).unwrap())
        .await
        .unwrap()
        .expect("the key is stored");
    assert_eq!(stored.alg, "ed25519");
    let seed: [u8; 32] = seed.try_into().unwrap();
    assert_eq!(
        stored.material,
        replaysafe_signing::ed25519_public_key(&seed)
    );

    // An HMAC signature under the Ed25519 key's id, with the seed as its secret, is refused.
    let forged = serde_json::json!({
        "client_id": alice, "key_id": key_id, "secret": key["private_key"],
    });
    let forged = stack.scratch.file("forged.json", &forged.to_string());
    let out = stack
        .run(&[
            "account",
            "get",
            "acc_alice",
            "--client",
            forged.to_str().unwrap(),
        ])
        .await;
    out.clone().assert().code(1);
    // The client re-signs a signature-invalid once (the bytes may have been altered on the way).
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: 401 signature-invalid"), "{err}");
}

#[test]
fn secrets_are_never_sealed_under_the_development_key_for_aws() {
    // An https DynamoDB (AWS), no SECRETS_DATA_KEY: refused before any call, in one line.
    for args in [
        &["admin", "create-client"][..],
        &["admin", "create-key", "--client", "cli_x"],
        &["admin", "seal-secrets"],
    ] {
        let out = cli()
            .args(args)
            .args(["--endpoint-url", "https://dynamodb.eu-west-1.amazonaws.com"])
            .env_remove("SECRETS_DATA_KEY")
            .env_remove("SECRETS_MODE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            one_line_error(&out).contains("SECRETS_DATA_KEY"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[tokio::test]
async fn seal_secrets_seals_plaintext_secrets_in_place() {
    let prefix = format!("s{}-", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let dynamodb = endpoint();
    let admin = |what: &'static str| {
        let mut cmd = cli();
        cmd.args([
            "admin",
            what,
            "--endpoint-url",
            &dynamodb,
            "--table-prefix",
            &prefix,
        ])
        .env_remove("SECRETS_DATA_KEY")
        .env_remove("SECRETS_MODE");
        cmd
    };
    run(admin("create-tables"), &[]).await.assert().success();
    let sdk = sdk_client(Some(&dynamodb)).await;
    let clients = format!("{prefix}clients");
    // A client item as written before secrets were sealed.
    let plaintext = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    sdk.put_item()
        .table_name(&clients)
        .item("client_id", AttributeValue::S("cli_old".into()))
        .item("secret", AttributeValue::S(plaintext.into()))
        .item("status", AttributeValue::S("active".into()))
        .send()
        .await
        .unwrap();
    let out = run(admin("seal-secrets"), &[]).await;
    out.clone().assert().success().stderr(contains("sealed  1"));
    let item = sdk
        .get_item()
        .table_name(&clients)
        .key("client_id", AttributeValue::S("cli_old".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!item.contains_key("secret"), "{:?}", item.keys());
    assert!(item.contains_key("sealed_secret"));
    assert!(!format!("{item:?}").contains(plaintext));
    run(admin("seal-secrets"), &[])
        .await
        .assert()
        .success()
        .stderr(contains("sealed  0"));
}
