//! A function binary run as Lambda runs it: its own process, polling the [`Runtime`] emulator
//! for API Gateway events, on its own SDK client (built from the environment at cold start),
//! with its DynamoDB endpoint wherever the test points it (a [`crate::faults::FaultProxy`]).
//! The process can be SIGKILLed at any moment, as Lambda kills a timed-out or crashed
//! execution environment; the next [`Function::start`] is a new cold start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};

use crate::runtime_api::Runtime;
use crate::{Answer, Call};

/// Longest wait for one invocation's answer: a bound on a hung test, never an assertion.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// A workspace binary as `cargo test --workspace` builds it: `target/<profile>/<name>`, next
/// to the directory of this test executable (`target/<profile>/deps/`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test executable lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: `cargo test --workspace` (make test) builds every binary of the \
         workspace, or `cargo build -p {name}`",
        path.display()
    );
    path
}

/// One execution environment: a process of `program` under its own Runtime API emulator.
/// Killed (if still running) and reaped when dropped.
pub struct Function {
    runtime: Runtime,
    child: Arc<Mutex<Child>>,
}

impl Drop for Function {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Function {
    /// Spawns `program` with only `env` (and `PATH`) besides what Lambda sets, its stdout and
    /// stderr (JSON logs, no secrets) appended to `log`.
    pub async fn start(program: &Path, env: &[(String, String)], log: &Path) -> Self {
        let runtime = Runtime::start()
            .await
            .expect("start the Runtime API emulator");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open the function's log");
        let child = Command::new(program)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(runtime.env())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        Self {
            runtime,
            child: Arc::new(Mutex::new(child)),
        }
    }

    /// A handle that SIGKILLs the process (from a proxy hook, say); safe to call after it died.
    pub fn killer(&self) -> impl Fn() + Send + Sync + 'static {
        let child = self.child.clone();
        move || {
            let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
        }
    }

    /// Delivers `call` as an API Gateway event and waits for the function's answer, or fails
    /// (the process died, or no answer within [`INVOKE_TIMEOUT`]).
    pub async fn invoke(&self, call: &Call) -> Result<Answer, String> {
        let reply = self.runtime.invoke(&event(call), INVOKE_TIMEOUT).await?;
        if reply.error {
            return Err(format!(
                "the invocation failed: {}",
                String::from_utf8_lossy(&reply.body)
            ));
        }
        answer(&reply.body)
    }

    /// Delivers any other event (an SQS batch, say) and waits for the function's answer
    /// document, or fails as [`Function::invoke`] does.
    pub async fn invoke_event(&self, event: &Value) -> Result<Value, String> {
        let reply = self.runtime.invoke(event, INVOKE_TIMEOUT).await?;
        if reply.error {
            return Err(format!(
                "the invocation failed: {}",
                String::from_utf8_lossy(&reply.body)
            ));
        }
        serde_json::from_slice(&reply.body).map_err(|e| format!("not JSON: {e}"))
    }

    /// How the process ended, once it has (a killed one ends at once); `None` if it still runs
    /// after `within` (polled, so a process that never ends cannot hang the test).
    pub async fn exit_status(&self, within: Duration) -> Option<ExitStatus> {
        let step = Duration::from_millis(50);
        for _ in 0..=within.as_millis() / step.as_millis() {
            let status = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
                .expect("the function's process status");
            if status.is_some() {
                return status;
            }
            tokio::time::sleep(step).await;
        }
        None
    }
}

/// `call` as API Gateway's HTTP API (payload format 2.0) hands it to a function: the exact
/// bytes of its body and every header it carries.
pub fn event(call: &Call) -> Value {
    let (path, query) = call
        .path
        .split_once('?')
        .unwrap_or((call.path.as_str(), ""));
    let mut headers = serde_json::Map::new();
    headers.insert("host".into(), json!("api.replaysafe.test"));
    headers.insert("user-agent".into(), json!("replaysafe-tests"));
    if let Some(key) = &call.idempotency_key {
        headers.insert("idempotency-key".into(), json!(key));
    }
    if !call.body.is_empty() {
        headers.insert("content-type".into(), json!("application/json"));
        headers.insert("content-length".into(), json!(call.body.len().to_string()));
    }
    for (name, value) in &call.headers {
        headers.insert(name.clone(), json!(value));
    }
    let body = String::from_utf8(call.body.clone()).expect("a UTF-8 body");
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "replaysafe",
            "domainName": "api.replaysafe.test",
            "domainPrefix": "api",
            "http": {
                "method": call.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "replaysafe-tests"
            },
            "requestId": call.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2025:12:00:00 +0000",
            "timeEpoch": 1_763_812_800_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// The API Gateway response document a function posted, as the client reads it.
fn answer(document: &[u8]) -> Result<Answer, String> {
    let doc: Value = serde_json::from_slice(document)
        .map_err(|e| format!("the response is not JSON ({e}): {document:?}"))?;
    let status = doc["statusCode"]
        .as_u64()
        .ok_or_else(|| format!("no statusCode: {doc}"))? as u16;
    let mut headers = HeaderMap::new();
    for (name, value) in doc["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.append(name, value);
        }
    }
    let body = doc["body"].as_str().unwrap_or_default();
    let body = if doc["isBase64Encoded"].as_bool() == Some(true) {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("body is not base64: {e}"))?;
        String::from_utf8(bytes).map_err(|e| format!("body is not UTF-8: {e}"))?
    } else {
        body.to_owned()
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}
