//! The stub server of the client's tests: on 127.0.0.1:0, it answers from a script and records
//! every request it receives.

// The tests crate's request reader, included rather than depended on: `replaysafe-tests`
// depends on this crate, and a dev-dependency back on it would link the AWS SDK into the
// client's tests.
#[path = "../../../tests/src/http_request.rs"]
#[allow(dead_code)] // the stub reads no single header
mod http_request;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// What the stub does with one request.
#[derive(Clone)]
pub enum Step {
    Answer {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: String,
    },
    /// Reads the request, then closes the connection without a word: a lost answer.
    Drop,
    /// Reads the request and keeps the connection silent this long: a timeout.
    Stall(Duration),
    /// A 200 whose length is not announced: the body ends when the connection closes.
    Unsized(String),
}

/// Fast retries: waits of at most a few milliseconds unless an answer says otherwise.
pub fn fast() -> replaysafe_client::RetryPolicy {
    replaysafe_client::RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(10),
        max_elapsed: Duration::from_secs(20),
        attempt_timeout: Duration::from_secs(5),
    }
}

pub fn problem(status: u16, code: &str) -> Step {
    Step::Answer {
        status,
        headers: vec![("content-type", "application/problem+json")],
        body: format!(
            r#"{{"type":"https://replaysafe.dev/problems/{code}","title":"t","status":{status},"detail":"d","code":"{code}"}}"#
        ),
    }
}

pub fn with_retry_after(step: Step, seconds: &'static str) -> Step {
    match step {
        Step::Answer {
            status,
            mut headers,
            body,
        } => {
            headers.push(("retry-after", seconds));
            Step::Answer {
                status,
                headers,
                body,
            }
        }
        other => other,
    }
}

pub fn created(status: u16, body: &str, replayed: bool) -> Step {
    let mut headers = vec![
        ("content-type", "application/json"),
        ("location", "/accounts/acc_a"),
    ];
    if replayed {
        headers.push(("idempotent-replayed", "true"));
    }
    Step::Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub const ACCOUNT: &str = r#"{"account_id":"acc_a","currency":"EUR","balance":100,"version":1,"created_at":"2025-11-22T12:00:00Z"}"#;
pub const TRANSFER: &str = r#"{"transfer_id":"trf_1","from":"acc_a","to":"acc_b","amount":5,"currency":"EUR","reference":null,"created_at":"2025-11-22T12:00:00Z"}"#;

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn nonce(&self) -> String {
        let input = self.header("signature-input").expect("signed");
        input
            .split("nonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    }

    pub fn created(&self) -> i64 {
        self.param("created").expect("created")
    }

    pub fn expires(&self) -> Option<i64> {
        self.param("expires")
    }

    pub fn param(&self, name: &str) -> Option<i64> {
        let input = self.header("signature-input").expect("signed");
        let after = input.split(&format!(";{name}=")).nth(1)?;
        Some(after.split(';').next().unwrap().parse().unwrap())
    }
}

pub struct Stub {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    /// Answers the n-th request with `script[n]`, and every later one with the last step.
    pub async fn start(script: Vec<Step>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move { serve(stream, log, script).await });
            }
        });
        Stub { url, seen, task }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Seen>>>, script: Vec<Step>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let step = {
        let mut log = log.lock().unwrap();
        log.push(request);
        script[(log.len() - 1).min(script.len() - 1)].clone()
    };
    match step {
        Step::Drop => {}
        Step::Stall(d) => tokio::time::sleep(d).await,
        Step::Unsized(body) => {
            let head =
                "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Step::Answer {
            status,
            headers,
            body,
        } => {
            let mut out = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
            for (n, v) in headers {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
            out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// The next request on `stream`, as the stub saw it.
async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let request = http_request::read_request(stream, &mut Vec::new()).await?;
    Some(Seen {
        headers: request.text_headers(),
        method: request.method,
        path: request.target,
        body: request.body,
        at: Instant::now(),
    })
}
