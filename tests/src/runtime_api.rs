//! A minimal Lambda Runtime API (the 2018-06-01 interface a function's runtime polls), enough to
//! run a function binary, or the peer's Python loop, as Lambda does: `invocation/next` hands out
//! the queued events, `invocation/{id}/response` and `/error` answer them, `init/error` reports
//! a failed init. HTTP/1.1 with keep-alive, read with [`crate::http_request`] (no server
//! features added to hyper: that would rebuild the SDK's HTTP stack for every workspace build).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::http_request::{read_request, RawRequest};

const PREFIX: &str = "/2018-06-01/runtime";

/// How the function answered one invocation.
#[derive(Debug)]
pub struct Reply {
    /// The response (or error) document the function posted.
    pub body: Vec<u8>,
    pub error: bool,
    /// The `x-bench-timing` header the peer's loop adds (handler time, call intervals).
    pub timing: Option<String>,
    /// When `invocation/next` handed the event over, and when the answer arrived.
    pub polled_at: Instant,
    pub answered_at: Instant,
}

impl Reply {
    /// The API Gateway response's `statusCode`.
    pub fn status(&self) -> Option<u16> {
        let doc: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        doc.get("statusCode")?.as_u64().map(|s| s as u16)
    }
}

struct Pending {
    event: Vec<u8>,
    reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct State {
    /// Handed out by `next`, not yet answered: request id -> (polled at, reply channel).
    open: HashMap<String, (Instant, oneshot::Sender<Reply>)>,
    first_poll: Option<Instant>,
    init_error: Option<String>,
}

/// One Runtime API on 127.0.0.1; stops when dropped.
pub struct Runtime {
    pub addr: SocketAddr,
    queue: mpsc::UnboundedSender<Pending>,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Queue = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>>;

impl Runtime {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (queue, pending) = mpsc::unbounded_channel();
        let pending: Queue = Arc::new(tokio::sync::Mutex::new(pending));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, pending.clone(), shared.clone()));
            }
        });
        Ok(Self {
            addr,
            queue,
            state,
            task,
        })
    }

    /// The environment Lambda gives a function's process.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "bench".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".into()),
            // Not Lambda's, but what a local function needs in it: client secrets are sealed
            // under the development data key, which a function in Lambda refuses unless told.
            ("SECRETS_MODE", "dev".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Queues `event` and waits for the function's answer (at most `timeout`).
    pub async fn invoke(
        &self,
        event: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Reply, String> {
        let (reply, answer) = oneshot::channel();
        let event = serde_json::to_vec(event).map_err(|e| e.to_string())?;
        self.queue
            .send(Pending { event, reply })
            .map_err(|_| "runtime API stopped".to_owned())?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err("runtime API stopped".into()),
            Err(_) => Err(match self.state.lock().unwrap().init_error.clone() {
                Some(e) => format!("init failed: {e}"),
                None => format!("no answer within {timeout:?}"),
            }),
        }
    }

    /// When the function first asked for an event: the end of its init phase.
    pub fn first_poll(&self) -> Option<Instant> {
        self.state.lock().unwrap().first_poll
    }
}

async fn serve(mut stream: TcpStream, pending: Queue, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut stream, &mut buf).await {
        let (status, headers, body) = route(req, &pending, &state).await;
        let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn route(
    req: RawRequest,
    pending: &Queue,
    state: &Mutex<State>,
) -> (&'static str, Vec<(&'static str, String)>, Vec<u8>) {
    let path = req.target.strip_prefix(PREFIX).unwrap_or("");
    match (req.method.as_str(), path) {
        ("GET", "/invocation/next") => {
            state
                .lock()
                .unwrap()
                .first_poll
                .get_or_insert_with(Instant::now);
            let Some(next) = pending.lock().await.recv().await else {
                return ("500 Internal Server Error", vec![], vec![]);
            };
            let id = uuid::Uuid::new_v4().to_string();
            let deadline =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
            state
                .lock()
                .unwrap()
                .open
                .insert(id.clone(), (Instant::now(), next.reply));
            let headers = vec![
                ("content-type", "application/json".to_owned()),
                ("lambda-runtime-aws-request-id", id),
                (
                    "lambda-runtime-deadline-ms",
                    deadline.as_millis().to_string(),
                ),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000".to_owned(),
                ),
            ];
            ("200 OK", headers, next.event)
        }
        ("POST", "/init/error") => {
            state.lock().unwrap().init_error =
                Some(String::from_utf8_lossy(&req.body).into_owned());
            ("202 Accepted", vec![], b"{}".to_vec())
        }
        ("POST", p) if p.starts_with("/invocation/") => {
            let rest = &p["/invocation/".len()..];
            let (id, error) = match rest.rsplit_once('/') {
                Some((id, "response")) => (id, false),
                Some((id, "error")) => (id, true),
                _ => return ("404 Not Found", vec![], vec![]),
            };
            let Some((polled_at, reply)) = state.lock().unwrap().open.remove(id) else {
                return ("400 Bad Request", vec![], vec![]);
            };
            let timing = req.header("x-bench-timing").map(str::to_owned);
            let _ = reply.send(Reply {
                body: req.body,
                error,
                timing,
                polled_at,
                answered_at: Instant::now(),
            });
            ("202 Accepted", vec![], b"{}".to_vec())
        }
        _ => ("404 Not Found", vec![], vec![]),
    }
}
