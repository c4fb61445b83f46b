//! `replaysafe` against a `jwt`-mode API, as a user runs it: `admin token` (the token verifies
//! with the public key and carries the claims), and `--token` / `--sub` / `REPLAYSAFE_TOKEN` on
//! the API commands, against a stub HTTP server on 127.0.0.1 that records what it receives and
//! answers from a script. No database: these run in `make unit`.
//!
//! `data/jwt-test-key.pem` is a test-only RSA key (see `data/README.md`).

use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use replaysafe_tests::http_request::read_request;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const ISSUER: &str = "http://127.0.0.1:9000/jwt-test";
const AUDIENCE: &str = "replaysafe-test";
const KID: &str = "test-key-1";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A scratch folder with a jwt-dev file for the test key, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("replaysafe-jwt-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// `.local/jwt-dev.json` as `AUTH_MODE=jwt make run` writes it, for the test key.
    fn jwt_dev(&self) -> PathBuf {
        let pem = std::fs::read_to_string(data("jwt-test-key.pem")).unwrap();
        let dev = serde_json::json!({
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "kid": KID,
            "private_key_pem": pem,
        });
        self.file("jwt-dev.json", &dev.to_string())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_replaysafe"));
    for var in [
        "REPLAYSAFE_CLIENT",
        "REPLAYSAFE_ENDPOINT",
        "REPLAYSAFE_TOKEN",
        "REPLAYSAFE_JWT_DEV",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUST_BACKTRACE", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A refusal: exit 2, one line on stderr, nothing on stdout.
fn refused(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    assert!(output.stdout.is_empty(), "{}", stdout(output));
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err:?}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_owned()
}

/// The claims of `token`, verified with the test key's public half as API Gateway would:
/// RS256, the issuer, the audience, `exp` and `nbf`.
fn verify(token: &str) -> (jsonwebtoken::Header, Value) {
    let public = std::fs::read(data("jwt-test-key.pub.pem")).unwrap();
    let key = DecodingKey::from_rsa_pem(&public).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["iss", "aud", "sub", "exp", "nbf"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{token}: {e}"));
    (data.header, data.claims)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn token(scratch: &Scratch, args: &[&str]) -> Output {
    let dev = scratch.jwt_dev();
    cli()
        .args(["admin", "token", "--jwt-dev", dev.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn admin_token_prints_an_rs256_jwt_with_the_claims() {
    let scratch = Scratch::new();
    let before = now();
    let out = token(&scratch, &["--sub", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
    let (header, claims) = verify(text.trim_end());
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(KID));
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["sub"], "alice");
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(iat >= before && iat <= now(), "iat {iat}");
    assert_eq!(nbf, iat);
    assert_eq!(exp - iat, 3600, "one hour by default");

    let out = token(&scratch, &["--sub", "bob", "--expires-in", "60"]);
    let (_, claims) = verify(stdout(&out).trim_end());
    assert_eq!(claims["sub"], "bob");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
}

#[test]
fn any_sub_of_1_to_255_characters_is_taken_exactly() {
    let scratch = Scratch::new();
    let long: String = "é".repeat(255); // 255 characters, 510 bytes
    for sub in [
        "a",
        "Zoë 🦀",
        "ALICE",
        " padded ",
        "cli_7f3a",
        "line\nbreak",
        long.as_str(),
    ] {
        let out = token(&scratch, &["--sub", sub]);
        assert!(out.status.success(), "{sub:?}: {}", stderr(&out));
        let (_, claims) = verify(stdout(&out).trim_end());
        assert_eq!(claims["sub"], sub, "taken as given");
    }
}

#[test]
fn bad_input_is_refused_in_one_line() {
    let scratch = Scratch::new();
    let too_long = "a".repeat(256);
    for (args, reason) in [
        (vec!["--sub", ""], "must not be empty"),
        (vec!["--sub", too_long.as_str()], "256 characters"),
        (vec!["--sub", "a", "--expires-in", "0"], "--expires-in"),
        (
            vec!["--sub", "a", "--expires-in", "999999999999"],
            "--expires-in",
        ),
    ] {
        let out = token(&scratch, &args);
        let line = refused(&out);
        assert!(line.contains(reason), "{args:?}: {line}");
    }
    let out = cli()
        .args(["admin", "token", "--sub", "a", "--expires-in", "-5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = cli().args(["admin", "token"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--sub is required");
    assert!(stderr(&out).contains("--sub"));

    // No jwt-dev file: the stack was not started in jwt mode.
    let out = cli()
        .args(["admin", "token", "--sub", "a", "--jwt-dev"])
        .arg(scratch.0.join("missing.json"))
        .output()
        .unwrap();
    let line = refused(&out);
    assert!(line.contains("AUTH_MODE=jwt make run"), "{line}");
    // Not a jwt-dev file, and a key that is not RSA PEM.
    let garbage = scratch.file("garbage.json", r#"{"issuer": 1}"#);
    let out = cli()
        .args(["admin", "token", "--sub", "a", "--jwt-dev"])
        .arg(&garbage)
        .output()
        .unwrap();
    assert!(refused(&out).contains("not a jwt-dev file"));
    let bad_key = scratch.file(
        "bad-key.json",
        r#"{"issuer":"i","audience":"a","kid":"k","private_key_pem":"nope"}"#,
    );
    let out = cli()
        .args(["admin", "token", "--sub", "a", "--jwt-dev"])
        .arg(&bad_key)
        .output()
        .unwrap();
    assert!(refused(&out).contains("not an RSA private key"));
    // The environment names the file too.
    let out = cli()
        .env("REPLAYSAFE_JWT_DEV", scratch.jwt_dev())
        .args(["admin", "token", "--sub", "a"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// One request as the stub saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The bearer token the request carried.
    fn token(&self) -> &str {
        self.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_else(|| panic!("no bearer token: {self:?}"))
    }
}

/// Answers the n-th request with `script[n]` (the last one for every later request): status,
/// extra headers, body.
struct Stub {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Answer = (u16, Vec<(&'static str, &'static str)>, &'static str);

impl Stub {
    async fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream, &mut Vec::new()).await else {
                        return;
                    };
                    let (status, headers, body) = {
                        let mut log = log.lock().unwrap();
                        log.push(Seen {
                            headers: request.text_headers(),
                            method: request.method,
                            target: request.target,
                            body: request.body,
                        });
                        script[(log.len() - 1).min(script.len() - 1)].clone()
                    };
                    let mut out = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
                    for (n, v) in headers {
                        out.push_str(&format!("{n}: {v}\r\n"));
                    }
                    out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
                    let _ = stream.write_all(out.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Stub { url, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn run(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().expect("run replaysafe"))
        .await
        .unwrap()
}

const TRANSFER: &str = r#"{"transfer_id":"trf_1","from":"acc_a","to":"acc_b","amount":5,"currency":"EUR","reference":null,"created_at":"2025-11-22T12:00:00Z"}"#;
const ACCOUNT: &str = r#"{"account_id":"acc_a","currency":"EUR","balance":100,"version":1,"updated_at":"2025-11-22T12:00:00Z"}"#;
const JSON: (&str, &str) = ("content-type", "application/json");

fn problem(code: &'static str) -> &'static str {
    match code {
        "unavailable" => r#"{"title":"t","status":503,"detail":"d","code":"unavailable"}"#,
        "insufficient-funds" => {
            r#"{"title":"t","status":409,"detail":"the balance does not cover the amount","code":"insufficient-funds"}"#
        }
        _ => unreachable!(),
    }
}

const TRANSFER_ARGS: [&str; 10] = [
    "transfer",
    "create",
    "--from",
    "acc_a",
    "--to",
    "acc_b",
    "--amount",
    "5",
    "--currency",
    "EUR",
];

/// Every attempt of a jwt-mode POST: the token, one key, the same bytes, no signature.
fn assert_bearer_attempts(seen: &[Seen], token: &str) {
    let key = seen[0].header("idempotency-key").expect("a key");
    for s in seen {
        assert_eq!(
            (s.method.as_str(), s.target.as_str()),
            ("POST", "/transfers")
        );
        assert_eq!(s.token(), token);
        assert_eq!(s.header("idempotency-key"), Some(key));
        assert_eq!(s.body, seen[0].body);
        assert!(s.header("content-digest").is_some());
        assert_eq!(s.header("signature"), None);
        assert_eq!(s.header("signature-input"), None);
    }
}

#[tokio::test]
async fn token_calls_with_a_bearer_token_and_retries_with_one_key() {
    let stub = Stub::start(vec![
        (503, vec![("retry-after", "0")], problem("unavailable")),
        (201, vec![JSON], TRANSFER),
    ])
    .await;
    let token = "header.payload.signature";
    let mut args = TRANSFER_ARGS.to_vec();
    args.extend(["--endpoint", &stub.url, "--token", token, "--json"]);
    let out = run(cli(), &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["transfer"]["transfer_id"], "trf_1");
    assert_eq!(created["attempts"], 2);
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_bearer_attempts(&seen, token);
    assert_eq!(
        seen[0].header("idempotency-key"),
        created["idempotency_key"].as_str()
    );
    assert!(
        stderr(&out).contains("sending again with the same Idempotency-Key"),
        "{}",
        stderr(&out)
    );

    // REPLAYSAFE_TOKEN, for a GET; no client file is needed or read.
    let stub = Stub::start(vec![(200, vec![JSON, ("etag", "\"v1\"")], ACCOUNT)]).await;
    let mut cmd = cli();
    cmd.env("REPLAYSAFE_TOKEN", token)
        .env("REPLAYSAFE_CLIENT", "/nonexistent/client.json");
    let out = run(cmd, &["account", "get", "acc_a", "--endpoint", &stub.url]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("account acc_a"));
    let seen = stub.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("GET", "/accounts/acc_a")
    );
    assert_eq!(seen[0].token(), token);
    assert_eq!(seen[0].header("idempotency-key"), None);
}

#[tokio::test]
async fn sub_mints_a_token_for_the_principal_on_every_api_command() {
    let scratch = Scratch::new();
    let dev = scratch.jwt_dev();
    let dev = dev.to_str().unwrap();
    let stub = Stub::start(vec![(201, vec![JSON], ACCOUNT)]).await;
    let base = [
        "--endpoint",
        stub.url.as_str(),
        "--sub",
        "Zoë",
        "--jwt-dev",
        dev,
    ];
    let commands: [Vec<&str>; 4] = [
        vec!["account", "create", "--currency", "EUR", "--id", "acc_a"],
        vec!["account", "get", "acc_a"],
        vec!["transfer", "get", "trf_1"],
        vec![
            "call",
            "POST",
            "/accounts",
            "--data",
            r#"{"currency":"EUR"}"#,
        ],
    ];
    for command in &commands {
        let mut args = command.clone();
        args.extend(base);
        // The answers are not all what each command expects: only the requests matter here.
        run(cli(), &args).await;
    }
    let seen = stub.seen();
    assert_eq!(seen.len(), commands.len());
    for s in &seen {
        let (header, claims) = verify(s.token());
        assert_eq!(header.kid.as_deref(), Some(KID));
        assert_eq!(claims["sub"], "Zoë");
        assert_eq!(s.header("signature-input"), None);
    }
    assert!(seen[0].header("idempotency-key").is_some());
    assert!(seen[3].header("idempotency-key").is_some(), "call POST");
    // --sub takes precedence over REPLAYSAFE_TOKEN.
    let mut cmd = cli();
    cmd.env("REPLAYSAFE_TOKEN", "from.the.environment");
    run(
        cmd,
        &["account", "get", "acc_a"]
            .iter()
            .chain(&base)
            .copied()
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(verify(stub.seen()[4].token()).1["sub"], "Zoë");
}

/// In jwt mode a business refusal is the key's stored answer: a retry with the same key gets it
/// replayed. The CLI says so, first time and replayed, and that a new key is needed to try
/// again; it prints no `resume:`.
#[tokio::test]
async fn a_refusal_is_final_and_says_to_use_a_new_key() {
    let stub = Stub::start(vec![(
        409,
        vec![
            ("content-type", "application/problem+json"),
            ("idempotent-replayed", "true"),
        ],
        problem("insufficient-funds"),
    )])
    .await;
    let mut args = TRANSFER_ARGS.to_vec();
    args.extend([
        "--endpoint",
        &stub.url,
        "--token",
        "t.t.t",
        "--idempotency-key",
        "pay-1",
    ]);
    let out = run(cli(), &args).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: 409 insufficient-funds")
            && err.contains("replayed")
            && err.contains("use a new key"),
        "{err}"
    );
    assert!(!err.contains("resume:"), "{err}");
    assert_eq!(stub.seen().len(), 1, "not retried");

    // The first refusal is stored too: the CLI says a new key is needed to try again.
    let first = Stub::start(vec![(
        404,
        vec![("content-type", "application/problem+json")],
        r#"{"title":"t","status":404,"detail":"no such account","code":"not-found"}"#,
    )])
    .await;
    let mut again = args.clone();
    again[11] = &first.url; // after "--endpoint"
    let out = run(cli(), &again).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: 404 not-found")
            && err.contains("Idempotency-Key pay-1")
            && err.contains("use a new key"),
        "{err}"
    );
    // Signing mode says nothing of the kind: a signed retry with the key goes through.
    let scratch = Scratch::new();
    let client = scratch.file(
        "client.json",
        r#"{"client_id":"cli_x","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}"#,
    );
    let signed: Vec<&str> = again
        .iter()
        .copied()
        .filter(|a| *a != "--token" && *a != "t.t.t")
        .chain(["--client", client.to_str().unwrap()])
        .collect();
    let out = run(cli(), &signed).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("new key"), "{}", stderr(&out));
    assert!(first.seen()[1].header("signature").is_some());

    args.push("--json");
    let out = run(cli(), &args).await;
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["error"]["replayed"], true);
    assert_eq!(answer["error"]["outcome_unknown"], false);
    assert_eq!(answer["error"]["idempotency_key"], "pay-1");
}

#[test]
fn jwt_mode_refusals() {
    let nowhere = "http://127.0.0.1:9";
    // A token that cannot be one is refused before anything is sent.
    let out = cli()
        .args(["account", "get", "acc_a", "--endpoint", nowhere])
        .args(["--token", "Bearer abc"])
        .output()
        .unwrap();
    assert!(refused(&out).contains("not a bearer token"));
    let out = cli()
        .args(["account", "get", "acc_a", "--endpoint", nowhere])
        .args(["--sub", ""])
        .output()
        .unwrap();
    assert!(refused(&out).contains("must not be empty"));
    let out = cli()
        .args([
            "account",
            "get",
            "acc_a",
            "--endpoint",
            nowhere,
            "--sub",
            "a",
        ])
        .args(["--jwt-dev", "/nonexistent/jwt-dev.json"])
        .output()
        .unwrap();
    assert!(refused(&out).contains("AUTH_MODE=jwt make run"));
    // The signature-mode commands say so.
    let out = cli()
        .args(["demo", "--token", "a.b.c", "--endpoint", nowhere])
        .output()
        .unwrap();
    assert!(refused(&out).contains("signature-mode"));
    let out = cli()
        .args(["sign", "GET", "/accounts/a", "--token", "a.b.c"])
        .output()
        .unwrap();
    assert!(refused(&out).contains("signature-mode"));
}

#[test]
fn help_documents_jwt_mode_without_showing_the_token() {
    let out = cli()
        .env("REPLAYSAFE_TOKEN", "secret.token.value")
        .args(["account", "--help"])
        .output()
        .unwrap();
    let help = stdout(&out);
    for expected in [
        "--token <JWT>",
        "REPLAYSAFE_TOKEN",
        "--sub <SUB>",
        "--jwt-dev",
    ] {
        assert!(help.contains(expected), "{expected}: {help}");
    }
    assert!(!help.contains("secret.token.value"), "{help}");
    let out = cli().args(["admin", "token", "--help"]).output().unwrap();
    let help = stdout(&out);
    assert!(
        help.contains("--expires-in") && help.contains("RS256"),
        "{help}"
    );
}
