//! `make run`'s stack over its real HTTP port: `cargo lambda watch` on an internal port and
//! `local-gateway` in front of it, started as `scripts/run.sh` starts them, on free ports,
//! against the DynamoDB Local of `make test` (AWS_ENDPOINT_URL_DYNAMODB). Requests go out as
//! raw bytes over TCP, so repeated header lines and non-UTF-8 bodies reach the gateway as sent.
//!
//! One thing differs from run.sh: the gateway invokes the functions through a recorder, a
//! pass-through of the Lambda Invoke API that keeps every event. It tells which function ran,
//! if any, and what event it was given.
//!
//! Needs, and fails without: AWS_ENDPOINT_URL_DYNAMODB, cargo-lambda in .venv
//! (scripts/bootstrap.sh lambda), target/debug/replaysafe (the CLI: tables and a client).
//! `scripts/test.sh` provides all three.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use replaysafe_gateway::event::Outgoing;
use replaysafe_gateway::{read_request, write_response, Read};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The two stacks run one after the other: each counts what the other could write.
static ONE_STACK_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A function's first start under `cargo lambda watch` builds it (`cargo run`).
const FIRST_ANSWER: Duration = Duration::from_secs(600);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run this test through `make test` (scripts/test.sh)")
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The CLI binary `cargo build --workspace --bins` wrote next to this test's own directory.
fn cli() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("replaysafe");
    assert!(
        bin.exists(),
        "{} is missing: `cargo build --workspace --bins` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A process group (`cargo lambda watch` and the functions it runs, or the gateway), killed
/// whole when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.0.id());
        for signal in ["-TERM", "-KILL"] {
            let _ = Command::new("kill").args([signal, "--", &pgid]).status();
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command, log: &Path) -> Group {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log).unwrap();
    let child = cmd
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    Group(child)
}

async fn wait_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port}; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Lambda Invoke API, passed through to `upstream`, keeping (function, event) of each call.
struct Recorder {
    url: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let kept = calls.clone();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, peer)) = listener.accept().await {
                let (kept, client, upstream) = (kept.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let Ok(Read::Request(req, _)) =
                        read_request(&mut stream, &mut buf, peer, peer).await
                    else {
                        return;
                    };
                    let function = req
                        .path()
                        .strip_prefix("/2015-03-31/functions/")
                        .and_then(|p| p.strip_suffix("/invocations"))
                        .unwrap_or("?")
                        .to_owned();
                    let event = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                    kept.lock().unwrap().push((function, event));
                    let answer = client
                        .post(format!("{upstream}{}", req.target))
                        .body(req.body)
                        .timeout(FIRST_ANSWER)
                        .send()
                        .await;
                    let out = match answer {
                        Ok(a) => Outgoing {
                            status: a.status().as_u16(),
                            headers: a
                                .headers()
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                                .collect(),
                            body: a.bytes().await.unwrap_or_default().to_vec(),
                        },
                        Err(e) => Outgoing::message(502, &e.to_string()),
                    };
                    let _ = stream.write_all(&write_response(&out, false)).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { url, calls, task }
    }

    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

/// `cargo lambda watch` + `local-gateway`, as run.sh starts them, with the recorder between.
struct Stack {
    addr: SocketAddr,
    /// cargo lambda watch's Lambda Invoke API.
    watch_url: String,
    recorder: Recorder,
    gateway_log: PathBuf,
    // Dropped in this order: the gateway first, then watch and its functions.
    _gateway: Group,
    _watch: Group,
}

impl Stack {
    async fn start(mode: &str, jwt_dev: Option<&Path>) -> Self {
        Self::start_with(mode, jwt_dev, &[]).await
    }

    /// [`Stack::start`], the functions also given `env` (run.sh's `BANK_URL`, say).
    async fn start_with(mode: &str, jwt_dev: Option<&Path>, env: &[(&str, &str)]) -> Self {
        let endpoint = required_env("AWS_ENDPOINT_URL_DYNAMODB");
        let venv_bin = root().join(".venv/bin");
        assert!(
            venv_bin.join("cargo-lambda").exists(),
            "cargo-lambda is not installed in .venv: scripts/bootstrap.sh lambda (make test runs it)"
        );
        let logs = root().join("target/local-gateway-test");
        std::fs::create_dir_all(&logs).unwrap();

        let (watch_port, api_port) = (free_port(), free_port());
        let path = format!("{}:{}", venv_bin.display(), required_env("PATH"));
        let watch_log = logs.join(format!("watch-{mode}.log"));
        let watch = spawn(
            Command::new("cargo")
                .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
                .args(["--invoke-port", &watch_port.to_string()])
                .env("PATH", path)
                .env("AUTH_MODE", mode)
                .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
                .env("AWS_ACCESS_KEY_ID", "local")
                .env("AWS_SECRET_ACCESS_KEY", "local")
                .env("AWS_REGION", "us-east-1")
                .envs(env.iter().copied()),
            &watch_log,
        );
        wait_port(watch_port, "cargo lambda watch", &watch_log).await;

        let recorder = Recorder::start(format!("http://127.0.0.1:{watch_port}")).await;
        let gateway_log = logs.join(format!("gateway-{mode}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_local-gateway"));
        cmd.args(["--listen", &format!("127.0.0.1:{api_port}")])
            .args(["--lambda-url", &recorder.url])
            .args(["--manifest", root().join("Cargo.toml").to_str().unwrap()])
            .args(["--auth-mode", mode]);
        if let Some(file) = jwt_dev {
            cmd.arg("--jwt-dev").arg(file);
        }
        let gateway = spawn(&mut cmd, &gateway_log);
        wait_port(api_port, "local-gateway", &gateway_log).await;
        Self {
            addr: ([127, 0, 0, 1], api_port).into(),
            watch_url: format!("http://127.0.0.1:{watch_port}"),
            recorder,
            gateway_log,
            _gateway: gateway,
            _watch: watch,
        }
    }

    fn gateway_log(&self) -> String {
        std::fs::read_to_string(&self.gateway_log).unwrap_or_default()
    }
}

/// An answer as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn is_problem(&self, status: u16, codes: &[&str]) -> bool {
        self.status == status
            && self.header("content-type") == Some("application/problem+json")
            && codes.contains(&self.json()["code"].as_str().unwrap_or_default())
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} {}",
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// Sends one request, header lines exactly as given, and reads the whole answer.
async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut wire = format!("{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        wire.push_str(&format!("{name}: {value}\r\n"));
    }
    wire.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = wire.into_bytes();
    bytes.extend_from_slice(body);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&bytes).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(FIRST_ANSWER, stream.read_to_end(&mut raw))
        .await
        .expect("an answer in time")
        .unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// The demo client's credentials, as `replaysafe admin create-client` prints them.
struct Client {
    id: String,
    secret: Vec<u8>,
}

impl Client {
    /// Tables (kept if they exist) and a new client, in the DynamoDB of the functions.
    fn create() -> Self {
        admin(&["create-tables", "--with-app-tables"]);
        let client: Value = serde_json::from_slice(&admin(&["create-client"])).unwrap();
        Self {
            id: client["client_id"].as_str().unwrap().to_owned(),
            secret: base64::engine::general_purpose::STANDARD
                .decode(client["secret"].as_str().unwrap())
                .unwrap(),
        }
    }

    /// The signature headers for one request, as the client crate signs it.
    fn sign(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        key: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let signer = replaysafe_signing::Signer::new(self.id.clone(), self.secret.clone());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let signed = signer.sign(
            method,
            path,
            body,
            key,
            now,
            &replaysafe_signing::random_nonce(),
        );
        let mut headers = vec![
            ("signature-input", signed.signature_input),
            ("signature", signed.signature),
        ];
        if let Some(digest) = signed.content_digest {
            headers.push(("content-digest", digest));
        }
        if let Some(key) = key {
            headers.push(("idempotency-key", key.to_owned()));
        }
        headers
    }
}

fn as_refs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// `replaysafe admin ARGS` on the functions' DynamoDB and tables; its stdout.
fn admin(args: &[&str]) -> Vec<u8> {
    let endpoint = required_env("AWS_ENDPOINT_URL_DYNAMODB");
    let out = Command::new(cli())
        .arg("admin")
        .args(args)
        .args(["--endpoint-url", &endpoint])
        .env("TABLE_PREFIX", "replaysafe-") // what Cargo.toml's lambda env gives the functions
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replaysafe admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Item counts of every `replaysafe-` table, through DynamoDB's own JSON API.
async fn table_counts() -> Vec<(String, u64)> {
    let endpoint = required_env("AWS_ENDPOINT_URL_DYNAMODB");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |target: &'static str, body: Value| {
        http.post(&endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{target}"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
            )
            .body(body.to_string())
            .send()
    };
    let tables: Value = call("ListTables", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut counts = Vec::new();
    for table in tables["TableNames"].as_array().unwrap() {
        let name = table.as_str().unwrap();
        if !name.starts_with("replaysafe-") {
            continue;
        }
        let scan: Value = call(
            "Scan",
            json!({"TableName": name, "Select": "COUNT", "ConsistentRead": true}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        counts.push((name.to_owned(), scan["Count"].as_u64().expect("a count")));
    }
    assert!(counts.len() >= 4, "the replaysafe- tables: {counts:?}");
    counts
}

fn run<F: std::future::Future>(test: F) -> F::Output {
    let _one = ONE_STACK_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}

#[test]
fn signature_mode_behaves_as_api_gateway() {
    run(async {
        let client = Client::create();
        let stack = Stack::start("signature", None).await;
        let addr = stack.addr;

        // A fresh account id: the tables may outlive one run (make db).
        let account = format!("acc_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);

        // 1. Routes nobody declared reach no function, and nothing is written.
        let before = table_counts().await;
        let url_body = json!({"account_id": account, "currency": "EUR"}).to_string();
        for (method, path, body) in [
            (
                "POST",
                "/lambda-url/create-transfer/accounts",
                url_body.as_bytes(),
            ),
            ("GET", "/lambda-url/get-account/accounts/x", &b""[..]),
            ("DELETE", "/accounts/x", &b""[..]),
        ] {
            let key = (method == "POST").then_some("url-key");
            let headers = client.sign(method, path, body, key);
            let answer = send(addr, method, path, &as_refs(&headers), body).await;
            assert_eq!(answer.status, 404, "{method} {path}: {answer}");
            assert_eq!(
                answer.body, br#"{"message":"Not Found"}"#,
                "{method} {path}"
            );
        }
        assert_eq!(stack.recorder.calls(), vec![], "no function ran");
        assert_eq!(table_counts().await, before, "nothing was written");

        // 2. Two Signature lines reach the function joined by `,`: the second, another value
        // under the same label, is the one a structured-field parser keeps, and it does not
        // verify. (Served the first line only, as cargo lambda watch alone does, the request
        // would execute.)
        let body =
            json!({"account_id": account, "currency": "EUR", "initial_balance": 100}).to_string();
        let body = body.as_bytes();
        let mut headers = client.sign("POST", "/accounts", body, Some("two-sigs"));
        let forged = client.sign(
            "POST",
            "/accounts",
            br#"{"account_id":"other"}"#,
            Some("two-sigs"),
        );
        headers.push((
            "signature",
            forged
                .iter()
                .find(|(n, _)| *n == "signature")
                .unwrap()
                .1
                .clone(),
        ));
        let answer = send(addr, "POST", "/accounts", &as_refs(&headers), body).await;
        assert!(
            answer.is_problem(401, &["signature-invalid"]),
            "two Signature lines: {answer}"
        );
        let (function, event) = stack.recorder.calls().pop().expect("the function ran");
        assert_eq!(function, "create-account");
        let joined = event["headers"]["signature"].as_str().unwrap();
        assert_eq!(joined.matches("sig1=").count(), 2, "joined: {joined}");
        assert!(
            joined.contains(":,sig1="),
            "joined by a bare comma: {joined}"
        );

        // Two Idempotency-Key lines: joined, they are no key.
        let mut headers = client.sign("POST", "/accounts", body, Some("key-one"));
        headers.push(("idempotency-key", "key-two".into()));
        let answer = send(addr, "POST", "/accounts", &as_refs(&headers), body).await;
        assert!(
            answer.is_problem(400, &["idempotency-key-invalid"]),
            "two Idempotency-Key lines: {answer}"
        );
        let (_, event) = stack.recorder.calls().pop().unwrap();
        assert_eq!(event["headers"]["idempotency-key"], "key-one,key-two");

        // Neither executed: the account does not exist. The same request with one Signature
        // line creates it (the refusals above were the duplicates' doing).
        let get = |id: &str| {
            let path = format!("/accounts/{id}");
            (path.clone(), client.sign("GET", &path, b"", None))
        };
        let (path, headers) = get(&account);
        let answer = send(addr, "GET", &path, &as_refs(&headers), b"").await;
        assert!(
            answer.is_problem(404, &["not-found"]),
            "after the refusals: {answer}"
        );
        let headers = client.sign("POST", "/accounts", body, Some("one-sig"));
        let answer = send(addr, "POST", "/accounts", &as_refs(&headers), body).await;
        assert_eq!(answer.status, 201, "one Signature line: {answer}");

        // 3. A body that is not UTF-8, correctly signed: the function gets it base64-encoded
        // and answers problem+json 400 invalid-json, not a runtime's 500.
        let body = b"{\"account_id\":\"acc_\xff\xfe\",\"currency\":\"EUR\"}";
        let headers = client.sign("POST", "/accounts", body, Some("not-utf8"));
        let answer = send(addr, "POST", "/accounts", &as_refs(&headers), body).await;
        assert!(
            answer.is_problem(400, &["invalid-json"]),
            "a body that is not UTF-8: {answer}"
        );
        let (_, event) = stack.recorder.calls().pop().unwrap();
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(
            event["body"],
            base64::engine::general_purpose::STANDARD.encode(body),
            "{}",
            stack.gateway_log()
        );
        assert!(
            event["requestContext"].get("authorizer").is_none(),
            "no authorizer context"
        );
    });
}

#[test]
fn jwt_mode_authorizes_before_any_function_runs() {
    run(async {
        let dir = root().join("target/local-gateway-test");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jwt-dev.json");
        let _ = std::fs::remove_file(&file);
        // The key file as run.sh writes it.
        let script = format!("source scripts/lib.sh && jwt_dev_init '{}'", file.display());
        let status = Command::new("bash")
            .args(["-c", &script])
            .current_dir(root())
            .status()
            .unwrap();
        assert!(status.success(), "jwt_dev_init");
        let dev: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let keys: Vec<&str> = dev
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["issuer", "audience", "kid", "private_key_pem"]);

        admin(&["create-tables", "--with-app-tables"]);
        let stack = Stack::start("jwt", Some(&file)).await;
        let addr = stack.addr;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = |sub: &str, exp: i64| {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some(dev["kid"].as_str().unwrap().to_owned());
            let claims = json!({"sub": sub, "iss": dev["issuer"], "aud": dev["audience"], "exp": exp, "iat": now});
            let key = jsonwebtoken::EncodingKey::from_rsa_pem(
                dev["private_key_pem"].as_str().unwrap().as_bytes(),
            )
            .unwrap();
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        };

        // No token, an expired one: API Gateway's 401, and no function runs.
        let expired = format!("Bearer {}", token("user-1", now - 10));
        for headers in [vec![], vec![("authorization", expired.as_str())]] {
            let answer = send(addr, "GET", "/accounts/acc_x", &headers, b"").await;
            assert_eq!(answer.status, 401, "{answer}");
            assert_eq!(answer.body, br#"{"message":"Unauthorized"}"#);
        }
        assert_eq!(stack.recorder.calls(), vec![], "no function ran");

        // A good token reaches the function, its claims in the request context.
        let good = format!("Bearer {}", token("user-é-1", now + 300));
        let answer = send(
            addr,
            "GET",
            "/accounts/acc_x",
            &[("authorization", good.as_str())],
            b"",
        )
        .await;
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "answered by the function: {answer}"
        );
        let calls = stack.recorder.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        let (function, event) = &calls[0];
        assert_eq!(function, "get-account");
        let jwt = &event["requestContext"]["authorizer"]["jwt"];
        assert_eq!(jwt["claims"]["sub"], "user-é-1");
        assert_eq!(jwt["claims"]["exp"], (now + 300).to_string());
        assert_eq!(jwt["claims"]["iss"], dev["issuer"]);

        // The contract in jwt mode, end to end through the port.
        let alice = format!("Bearer {}", token("alice-é", now + 300));
        let mallory = format!("Bearer {}", token("mallory", now + 300));
        let key = format!("k-{now}-{}", std::process::id());
        let account =
            format!(r#"{{"account_id":"acc_jwt_{now}","currency":"EUR","initial_balance":100}}"#);
        let as_alice = |key: &str| {
            vec![
                ("authorization", alice.clone()),
                ("idempotency-key", key.to_owned()),
            ]
        };
        let post_as_alice = async |path: &str, key: &str, body: &[u8]| {
            send(addr, "POST", path, &as_refs(&as_alice(key)), body).await
        };
        let first = post_as_alice("/accounts", &key, account.as_bytes()).await;
        assert_eq!(first.status, 201, "{first}");
        assert_eq!(first.header("idempotent-replayed"), None);
        let again = post_as_alice("/accounts", &key, account.as_bytes()).await;
        assert_eq!(
            (again.status, again.header("idempotent-replayed")),
            (201, Some("true")),
            "{again}"
        );
        assert_eq!(again.body, first.body);
        let path = format!("/accounts/acc_jwt_{now}");
        let own = send(
            addr,
            "GET",
            &path,
            &[("authorization", alice.as_str())],
            b"",
        )
        .await;
        assert_eq!(own.status, 200, "{own}");
        assert_eq!(own.json()["balance"], 100);
        let stranger = send(
            addr,
            "GET",
            &path,
            &[("authorization", mallory.as_str())],
            b"",
        )
        .await;
        assert!(stranger.is_problem(404, &["not-found"]), "{stranger}");

        // A refusal is the key's final answer.
        let second = format!(r#"{{"account_id":"acc_jwt_{now}_b","currency":"EUR"}}"#);
        let opened = post_as_alice("/accounts", &format!("{key}-b2"), second.as_bytes()).await;
        assert_eq!(opened.status, 201, "{opened}");
        let transfer = format!(
            r#"{{"from":"acc_jwt_{now}","to":"acc_jwt_{now}_b","amount":1000,"currency":"EUR"}}"#
        );
        let refused_key = format!("{key}-t");
        for replayed in [None, Some("true")] {
            let answer = post_as_alice("/transfers", &refused_key, transfer.as_bytes()).await;
            assert!(answer.is_problem(409, &["insufficient-funds"]), "{answer}");
            assert_eq!(answer.header("idempotent-replayed"), replayed, "{answer}");
        }
        // Two key lines: no key (no signature here to refuse them), nothing runs.
        let mut two = as_alice(&format!("{key}-a"));
        two.push(("idempotency-key", format!("{key}-b")));
        let joined = send(
            addr,
            "POST",
            "/accounts",
            &as_refs(&two),
            account.as_bytes(),
        )
        .await;
        assert!(
            joined.is_problem(400, &["idempotency-key-invalid"]),
            "{joined}"
        );
        // No key: 400, nothing runs.
        let keyless = send(
            addr,
            "POST",
            "/accounts",
            &[("authorization", alice.as_str())],
            account.as_bytes(),
        )
        .await;
        assert!(
            keyless.is_problem(400, &["idempotency-key-missing"]),
            "{keyless}"
        );
    });
}

/// The payouts queue, its mapping to the `payouts` function and the fake bank, as run.sh
/// starts them beside the stack: contract-modes §2 and §3 end to end.
#[test]
fn payouts_and_withdrawals_run_end_to_end() {
    use replaysafe_gateway::invoke::HttpInvoke;
    use replaysafe_gateway::queue_mapping::{MappingConfig, QueueMapping};
    use replaysafe_gateway::queues::{create_payout_queues, sqs_client};

    run(async {
        let client = Client::create();
        let bank = fake_bank::BankProcess::start(&fake_bank::binary_path())
            .await
            .expect("the fake bank (cargo build -p fake-bank)");
        let stack = Stack::start_with("signature", None, &[("BANK_URL", bank.url())]).await;
        let addr = stack.addr;
        let sqs = sqs_client(Some(&required_env("AWS_ENDPOINT_URL_SQS"))).await;
        let prefix = format!("e2e{}-", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let (queues, _) = create_payout_queues(&sqs, &prefix, 5).await.unwrap();
        let mapping = QueueMapping::new(
            sqs,
            HttpInvoke::new(&stack.watch_url, FIRST_ANSWER),
            MappingConfig {
                queue_url: queues.queue_url.clone(),
                function: "payouts".into(),
                batch_size: 10,
                wait_seconds: 1,
                visibility_timeout: Some(5),
            },
        )
        .await
        .unwrap();
        let mapping = tokio::spawn(async move { mapping.run().await });

        // Alice's two accounts, through the API.
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..10];
        let (from, to) = (format!("acc_a{suffix}"), format!("acc_b{suffix}"));
        for (id, balance) in [(&from, 10_000), (&to, 0)] {
            let body = json!({"account_id": id, "currency": "EUR", "initial_balance": balance})
                .to_string();
            let key = format!("open-{id}");
            let headers = client.sign("POST", "/accounts", body.as_bytes(), Some(&key));
            let answer = send(
                addr,
                "POST",
                "/accounts",
                &as_refs(&headers),
                body.as_bytes(),
            )
            .await;
            assert_eq!(answer.status, 201, "{answer}");
        }
        let get = |path: String| {
            let headers = client.sign("GET", &path, b"", None);
            async move { send(addr, "GET", &path, &as_refs(&headers), b"").await }
        };

        // A payout enqueued twice (a duplicate delivery), settled once.
        let payout_id = format!("po_{suffix}");
        let out = Command::new(cli())
            .args([
                "payout",
                "send",
                "--payout-id",
                &payout_id,
                "--owner",
                &client.id,
            ])
            .args([
                "--from",
                &from,
                "--to",
                &to,
                "--amount",
                "1500",
                "--currency",
                "EUR",
            ])
            .args(["--queue-url", &queues.queue_url, "--copies", "2"])
            .args(["--endpoint-url", &required_env("AWS_ENDPOINT_URL_SQS")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let started = Instant::now();
        let paid = loop {
            let answer = get(format!("/payouts/{payout_id}")).await;
            if answer.status == 200 {
                break answer;
            }
            assert!(started.elapsed() < FIRST_ANSWER, "no payout: {answer}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(paid.json()["status"], "paid", "{paid}");
        // Both copies delivered: the queue is empty, and money moved once.
        loop {
            let attrs = aws_sdk_sqs_attrs(&queues.queue_url).await;
            if attrs == (0, 0) {
                break;
            }
            assert!(
                started.elapsed() < FIRST_ANSWER,
                "the queue never drained: {attrs:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let balance = |answer: Answer| answer.json()["balance"].as_u64().unwrap();
        assert_eq!(balance(get(format!("/accounts/{from}")).await), 8_500);
        assert_eq!(balance(get(format!("/accounts/{to}")).await), 1_500);

        // The consumer through the Lambda Invoke API directly: its answer is the partial batch
        // response, a bad message reported alone.
        let event = json!({"Records": [{
            "messageId": "m-bad", "receiptHandle": "rh", "body": "{not json",
            "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:replaysafe-payouts",
            "awsRegion": "us-east-1",
        }]});
        let answer: Value = reqwest::Client::new()
            .post(format!(
                "{}/2015-03-31/functions/payouts/invocations",
                stack.watch_url
            ))
            .json(&event)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}]})
        );

        // A withdrawal: the bank paid once, a retry answered the first 201.
        let body = json!({"from": from, "amount": 500, "currency": "EUR", "iban": "DE89370400440532013000"})
            .to_string();
        let key = format!("wd-{suffix}");
        let mut answers = Vec::new();
        for _ in 0..2 {
            let headers = client.sign("POST", "/withdrawals", body.as_bytes(), Some(&key));
            answers.push(
                send(
                    addr,
                    "POST",
                    "/withdrawals",
                    &as_refs(&headers),
                    body.as_bytes(),
                )
                .await,
            );
        }
        assert_eq!(answers[0].status, 201, "{}", answers[0]);
        assert_eq!(
            answers[1].header("idempotent-replayed"),
            Some("true"),
            "{}",
            answers[1]
        );
        assert_eq!(answers[0].body, answers[1].body);
        assert_eq!(bank.payments().await.len(), 1);
        let id = answers[0].json()["withdrawal_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            get(format!("/withdrawals/{id}")).await.json()["status"],
            "paid"
        );
        assert_eq!(balance(get(format!("/accounts/{from}")).await), 8_000);
        mapping.abort();
    });
}

/// The queue's visible and in-flight message counts.
async fn aws_sdk_sqs_attrs(queue_url: &str) -> (u64, u64) {
    use aws_sdk_sqs::types::QueueAttributeName as Name;
    let sqs =
        replaysafe_gateway::queues::sqs_client(Some(&required_env("AWS_ENDPOINT_URL_SQS"))).await;
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(Name::ApproximateNumberOfMessages)
        .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let count = |name: Name| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    (
        count(Name::ApproximateNumberOfMessages),
        count(Name::ApproximateNumberOfMessagesNotVisible),
    )
}
