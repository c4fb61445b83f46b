//! Faults between the functions and DynamoDB: a TCP proxy in front of DynamoDB Local that, per
//! request, passes it on or injects one of [`Fault`], and the SDK client the tests point at it.
//!
//! Each request gets its own upstream connection (`connection: close` both ways), so a fault on
//! one request never leaks into the next one on a kept-alive connection. Faults are drawn from a
//! seeded mix ([`FaultProxy::set_mix`]) or scripted for the next request of one operation
//! ([`FaultProxy::inject`]); scripted faults win. [`FaultProxy::on_answer`] runs a hook of the
//! test's between DynamoDB's answer and its delivery (the real-process crash test kills the
//! function there), and loses the answer.
//!
//! ## SDK retry settings and timeouts under test, and why
//!
//! [`faulty_sdk_client`] is the functions' own client (`replaysafe::store::sdk_client`, the
//! defaults of `replaysafe::config::DynamoDbTimeouts`) pointed at the proxy, so the faults meet
//! the settings that run in Lambda:
//! - standard retry mode, 3 attempts (the SDK default), exponential backoff with jitter: a
//!   lost answer, a reset, a throttle or a stalled attempt is retried by the SDK first. Every
//!   call the guard makes is safe to retry: the nonce put and the transaction carry the
//!   invocation's request id, so a retry that meets its own committed write takes it as its own.
//! - attempt timeout 1 s: far above DynamoDB's latency (milliseconds; DynamoDB Local under the
//!   tests' load stays well under it), so only a stall trips it; without it a stalled
//!   connection hangs the invocation until Lambda kills it (10 s in template.yaml) and the
//!   client gets a 502/504 from API Gateway instead of a clean 503.
//! - operation timeout 2.5 s: all attempts and their backoff for one call; a request makes at
//!   most three calls one after another, so it ends inside the function's 10 s, as 503
//!   `unavailable` with `Retry-After` when DynamoDB cannot be reached.
//! - connect timeout 500 ms: a connect inside a region takes a millisecond.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http_request::{read_request, RawRequest};

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward the request, wait for DynamoDB's answer, then reset the function's connection:
    /// the write committed and the function never hears of it.
    DropResponse,
    /// Forward after this delay.
    Latency(Duration),
    /// Reset the connection without forwarding.
    Reset,
    /// Accept the request and never answer (nor forward it).
    Stall,
    /// Answer `400 ThrottlingException` without forwarding, as DynamoDB does when throttled.
    Throttle,
}

impl Fault {
    const KINDS: [&'static str; 5] = ["drop-response", "latency", "reset", "stall", "throttle"];

    fn index(self) -> usize {
        match self {
            Fault::DropResponse => 0,
            Fault::Latency(_) => 1,
            Fault::Reset => 2,
            Fault::Stall => 3,
            Fault::Throttle => 4,
        }
    }
}

/// How often faults happen when none is scripted: `rate` of all requests get one, drawn by the
/// weights (drop-response, latency, reset, stall, throttle).
#[derive(Debug, Clone, Copy)]
pub struct FaultMix {
    pub rate: f64,
    pub weights: [u32; 5],
    pub latency: Duration,
}

impl FaultMix {
    pub const NONE: FaultMix = FaultMix {
        rate: 0.0,
        weights: [0; 5],
        latency: Duration::ZERO,
    };

    /// Every kind; stalls rarer, since each one costs an attempt timeout.
    pub fn all(rate: f64) -> Self {
        Self {
            rate,
            weights: [4, 4, 3, 1, 4],
            latency: Duration::from_millis(150),
        }
    }

    fn draw(&self, rng: &mut StdRng) -> Option<Fault> {
        let total: u32 = self.weights.iter().sum();
        if total == 0 || !rng.random_bool(self.rate.clamp(0.0, 1.0)) {
            return None;
        }
        let mut pick = rng.random_range(0..total);
        for (i, w) in self.weights.iter().enumerate() {
            if pick < *w {
                return Some(match i {
                    0 => Fault::DropResponse,
                    1 => Fault::Latency(self.latency),
                    2 => Fault::Reset,
                    3 => Fault::Stall,
                    _ => Fault::Throttle,
                });
            }
            pick -= w;
        }
        None
    }
}

/// Faults injected so far, by kind, and requests forwarded untouched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub passed: usize,
    pub by_kind: [usize; 5],
}

impl FaultCounts {
    pub fn total(&self) -> usize {
        self.by_kind.iter().sum()
    }

    /// `drop-response 3, latency 1, ...`
    pub fn summary(&self) -> String {
        let parts: Vec<String> = Fault::KINDS
            .iter()
            .zip(self.by_kind)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        parts.join(", ")
    }
}

/// Run with the HTTP status of DynamoDB's answer, before the answer would go on.
type AnswerHook = Box<dyn FnOnce(u16) + Send>;

/// A hook for the next request of `operation` on `table` (any table when `None`).
struct Armed {
    operation: String,
    table: Option<String>,
    hook: AnswerHook,
}

struct State {
    upstream: SocketAddr,
    mix: Mutex<(FaultMix, StdRng)>,
    /// (operation or any, fault, times left)
    scripted: Mutex<Vec<(Option<String>, Fault, usize)>>,
    hooks: Mutex<Vec<Armed>>,
    passed: AtomicUsize,
    injected: [AtomicUsize; 5],
}

impl State {
    /// The hook armed for this request, taken (each fires once).
    fn take_hook(&self, operation: &str, request: &RawRequest) -> Option<AnswerHook> {
        let mut hooks = self.hooks.lock().unwrap();
        let table = table_name(request);
        let at = hooks.iter().position(|h| {
            h.operation == operation && h.table.as_ref().is_none_or(|t| Some(t) == table.as_ref())
        })?;
        Some(hooks.remove(at).hook)
    }

    fn decide(&self, operation: &str) -> Option<Fault> {
        {
            let mut scripted = self.scripted.lock().unwrap();
            let hit = scripted
                .iter_mut()
                .find(|(op, _, left)| *left > 0 && op.as_deref().is_none_or(|o| o == operation));
            if let Some((_, fault, left)) = hit {
                *left -= 1;
                let fault = *fault;
                scripted.retain(|(_, _, left)| *left > 0);
                return Some(fault);
            }
        }
        let mut mix = self.mix.lock().unwrap();
        let (mix, rng) = &mut *mix;
        mix.draw(rng)
    }
}

/// The proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`, for the SDK's endpoint.
    pub url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// In front of the DynamoDB at `upstream_url` (`http://host:port`), passing everything.
    pub async fn start(upstream_url: &str, seed: u64) -> Self {
        let host = upstream_url
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let upstream = tokio::net::lookup_host(host)
            .await
            .expect("resolve DynamoDB endpoint")
            .next()
            .expect("an address for the DynamoDB endpoint");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(State {
            upstream,
            mix: Mutex::new((FaultMix::NONE, StdRng::seed_from_u64(seed))),
            scripted: Mutex::default(),
            hooks: Mutex::default(),
            passed: AtomicUsize::new(0),
            injected: Default::default(),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, shared.clone()));
            }
        });
        Self { url, state, task }
    }

    pub fn set_mix(&self, mix: FaultMix) {
        self.state.mix.lock().unwrap().0 = mix;
    }

    /// The next `times` requests of `operation` (e.g. `"TransactWriteItems"`; `None`: any) get
    /// `fault`.
    pub fn inject(&self, operation: Option<&str>, fault: Fault, times: usize) {
        self.state
            .scripted
            .lock()
            .unwrap()
            .push((operation.map(str::to_owned), fault, times));
    }

    /// The next request of `operation` on `table` (`None`: any table; a transaction names none)
    /// is forwarded, DynamoDB's answer read in full, then `hook` runs with its HTTP status, and
    /// the answer is lost as with [`Fault::DropResponse`]: whatever the hook does (kill the
    /// function's process) happens after DynamoDB acted and before the function hears of it.
    /// Not counted among the faults; it wins over them.
    pub fn on_answer(
        &self,
        operation: &str,
        table: Option<&str>,
        hook: impl FnOnce(u16) + Send + 'static,
    ) {
        self.state.hooks.lock().unwrap().push(Armed {
            operation: operation.to_owned(),
            table: table.map(str::to_owned),
            hook: Box::new(hook),
        });
    }

    /// No more faults, scripted or drawn, and no hooks.
    pub fn calm(&self) {
        self.set_mix(FaultMix::NONE);
        self.state.scripted.lock().unwrap().clear();
        self.state.hooks.lock().unwrap().clear();
    }

    pub fn counts(&self) -> FaultCounts {
        let mut by_kind = [0; 5];
        for (n, c) in by_kind.iter_mut().zip(&self.state.injected) {
            *n = c.load(Ordering::SeqCst);
        }
        FaultCounts {
            passed: self.state.passed.load(Ordering::SeqCst),
            by_kind,
        }
    }
}

/// One request of the function's connection: the SDK sees `connection: close` on every answer,
/// so it opens a new connection for the next call.
async fn relay(mut client: TcpStream, state: Arc<State>) {
    let Some(request) = read_request(&mut client, &mut Vec::new()).await else {
        return;
    };
    let operation = request
        .header("x-amz-target")
        .and_then(|t| t.rsplit('.').next().map(str::to_owned))
        .unwrap_or_default();
    if let Some(hook) = state.take_hook(&operation, &request) {
        return forward(client, &request, state.upstream, Then::Hook(hook)).await;
    }
    let fault = state.decide(&operation);
    match fault {
        Some(f) => state.injected[f.index()].fetch_add(1, Ordering::SeqCst),
        None => state.passed.fetch_add(1, Ordering::SeqCst),
    };
    match fault {
        Some(Fault::Reset) => reset(client),
        Some(Fault::Stall) => {
            // Hold the connection until the SDK gives up on it.
            let mut sink = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(30), async {
                while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
        Some(Fault::Throttle) => {
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
            let head = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                 x-amzn-requestid: fault-proxy\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = client.write_all(head.as_bytes()).await;
            let _ = client.write_all(body.as_bytes()).await;
            let _ = client.shutdown().await;
        }
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(d).await;
            forward(client, &request, state.upstream, Then::Deliver).await;
        }
        Some(Fault::DropResponse) => forward(client, &request, state.upstream, Then::Lose).await,
        None => forward(client, &request, state.upstream, Then::Deliver).await,
    }
}

/// The `TableName` of a single-table call (DynamoDB's JSON protocol); `None` for a transaction.
fn table_name(request: &RawRequest) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
    body.get("TableName")?.as_str().map(str::to_owned)
}

/// Closes with a TCP reset (RST), as a crashed peer or a load balancer does.
fn reset(stream: TcpStream) {
    // Deprecated for blocking on drop with a positive linger; a zero linger resets at once.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// What becomes of DynamoDB's answer.
enum Then {
    Deliver,
    Lose,
    /// Run the hook with the answer's status, then lose the answer.
    Hook(AnswerHook),
}

async fn forward(mut client: TcpStream, request: &RawRequest, upstream: SocketAddr, then: Then) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return reset(client);
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target).into_bytes();
    for (name, value) in &request.headers {
        if name != "connection" {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    head.extend_from_slice(&request.body);
    let mut answer = Vec::new();
    if server.write_all(&head).await.is_err() || server.read_to_end(&mut answer).await.is_err() {
        return reset(client);
    }
    match then {
        Then::Deliver => {}
        Then::Lose => return reset(client),
        Then::Hook(hook) => {
            hook(status_of(&answer));
            return reset(client);
        }
    }
    let _ = client.write_all(&with_connection_close(answer)).await;
    let _ = client.shutdown().await;
}

/// The status code of an HTTP/1.1 answer (0 when there is none).
fn status_of(answer: &[u8]) -> u16 {
    let line = answer.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The answer with its `Connection` header replaced by `close`.
fn with_connection_close(answer: Vec<u8>) -> Vec<u8> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return answer;
    };
    let head = String::from_utf8_lossy(&answer[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&answer[end + 4..]);
    bytes
}

/// The functions' SDK client (see the module documentation), for `url` (the proxy).
pub async fn faulty_sdk_client(url: &str) -> aws_sdk_dynamodb::Client {
    let timeouts = replaysafe::config::DynamoDbTimeouts::default();
    replaysafe::store::sdk_client_with(Some(url), Some(timeouts)).await
}
