//! The real handlers over real HTTP, for clients that speak HTTP (the CLI, the client crate):
//! what `make run` serves through `cargo lambda watch`, without cargo-lambda. Each request
//! becomes a `lambda_http::Request` and goes to `replaysafe::lambda::serve` with the endpoint the
//! workspace's watch router (Cargo.toml) names for its method and path.
//!
//! HTTP/1.1 is read with [`crate::http_request`] over a tokio listener on 127.0.0.1:0, one
//! request per connection (`connection: close`): enough for a test, and it adds no features to
//! `hyper`, which would rebuild the AWS SDK's HTTP stack for every build of the workspace.
//!
//! [`DroppingProxy`] stands between a client and a server and loses answers on purpose.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lambda_http::{Body, Context, RequestExt};
use payments::routes::Route;
use payments::Payments;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http_request::{read_request, RawRequest};

/// Every endpoint of the API on `127.0.0.1:<port>`; stops when dropped.
pub struct ApiServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ApiServer {
    /// Serves `app` (use [`crate::TestApp::http_server`]: HTTP clients sign with the real time).
    pub async fn start(app: Payments) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let app = Arc::new(app);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let app = app.clone();
                tokio::spawn(async move { serve_connection(stream, &app).await });
            }
        });
        Self {
            addr,
            url: format!("http://{addr}"),
            task,
        }
    }
}

async fn serve_connection(mut stream: TcpStream, app: &Payments) {
    let Some(raw) = read_request(&mut stream, &mut Vec::new()).await else {
        return;
    };
    let response = handle(app, raw).await;
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

async fn handle(app: &Payments, raw: RawRequest) -> Vec<u8> {
    let path = raw.target.split('?').next().unwrap_or_default().to_owned();
    let Some(route) = Route::matching(&raw.method, &path) else {
        let body = format!("no route for {} {path}\n", raw.method);
        return write_response(404, &[("content-type", b"text/plain")], body.as_bytes());
    };
    let mut builder = http::Request::builder()
        .method(raw.method.as_str())
        .uri(raw.target.as_str());
    for (name, value) in &raw.headers {
        builder = builder.header(name.as_str(), value.as_slice());
    }
    let body = if raw.body.is_empty() {
        Body::Empty
    } else {
        Body::Binary(raw.body)
    };
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    let Ok(request) = builder.body(body) else {
        return write_response(400, &[], b"malformed request\n");
    };
    let request = request.with_lambda_context(context);
    let response = route.serve(app, &request).await;
    let (parts, body) = response.into_parts();
    let body: Vec<u8> = match body {
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    write_response(parts.status.as_u16(), &headers, &body)
}

fn write_response(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

/// Forwards every request to `upstream` and relays the answer, except that the first `losses`
/// answers are lost: the request reaches the server (and takes effect), then the client's
/// connection is closed without a byte of the answer, as when a network or a load balancer drops
/// it. Stops when dropped.
pub struct DroppingProxy {
    pub url: String,
    forwarded: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for DroppingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DroppingProxy {
    pub async fn start(upstream: SocketAddr, losses: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let lost = Arc::new(AtomicUsize::new(0));
        let to_lose = Arc::new(AtomicUsize::new(losses));
        let (f, l) = (forwarded.clone(), lost.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (f, l, to_lose) = (f.clone(), l.clone(), to_lose.clone());
                tokio::spawn(async move {
                    let Some(raw) = read_request(&mut client, &mut Vec::new()).await else {
                        return;
                    };
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    if server.write_all(&raw.bytes).await.is_err() {
                        return;
                    }
                    // The server answers one request per connection, then closes it.
                    let mut answer = Vec::new();
                    if server.read_to_end(&mut answer).await.is_err() {
                        return;
                    }
                    f.fetch_add(1, Ordering::SeqCst);
                    let lose = to_lose
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if lose {
                        l.fetch_add(1, Ordering::SeqCst);
                        return; // dropping `client` closes it, unanswered
                    }
                    let _ = client.write_all(&answer).await;
                    let _ = client.shutdown().await;
                });
            }
        });
        Self {
            url,
            forwarded,
            lost,
            task,
        }
    }

    /// Requests that reached the server.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }

    /// Answers dropped on the way back.
    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }
}
