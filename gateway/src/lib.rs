//! The local API Gateway of `make run`: what API Gateway's HTTP API does in front of the
//! functions, for everything a function reads (contract-modes §0, §1).
//!
//! - Only the routes declared in the workspace's router table reach a function; anything else
//!   gets API Gateway's own `404 {"message":"Not Found"}`.
//! - A declared route's request becomes a payload 2.0 event ([`event`]): header names
//!   lower-cased and repeated lines joined by `,`, a body that is not UTF-8 base64-encoded with
//!   `isBase64Encoded: true`. The event goes to the function through the Lambda Invoke API of
//!   `cargo lambda watch` (`POST /2015-03-31/functions/<function>/invocations`), and the
//!   function's payload 2.0 answer back to the client.
//! - In `jwt` mode, a JWT authorizer ([`jwt`]) checks the token first; a refused one gets
//!   `401 {"message":"Unauthorized"}` and no function runs.
//!
//! HTTP/1.1 (keep-alive, `Content-Length` bodies) is read with `httparse` over tokio, as the
//! repository's test servers are.

pub mod event;
pub mod invoke;
pub mod jwt;
pub mod queue_mapping;
pub mod queues;
pub mod router;
pub mod stream_mapping;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use event::{EventParts, Incoming, Outgoing};
use invoke::{HttpInvoke, Invoke};
use jwt::Authorizer;
use router::Router;

/// The SDK configuration of the local tools (rustls on ring, as the functions' DynamoDB
/// client): credentials and region the SDK's standard way, `endpoint_url` when given.
pub async fn sdk_config(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// JSON log lines on stderr, filtered by `RUST_LOG` (default `info`): the local tools' logs.
pub fn json_logs_on_stderr() {
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}

/// API Gateway's HTTP API refuses larger request bodies (its payload quota, 10 MB).
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// The most header lines one request may carry here.
const MAX_HEADERS: usize = 128;

pub enum Auth {
    /// Requests pass with no authorizer context (the functions check signatures).
    Signature,
    /// The JWT authorizer checks `Authorization` first.
    Jwt(Authorizer),
}

pub struct Gateway {
    pub router: Router,
    pub auth: Auth,
    /// The Lambda Invoke API, e.g. `http://127.0.0.1:9001`.
    pub lambda: HttpInvoke,
}

impl Gateway {
    pub fn new(router: Router, auth: Auth, lambda_url: &str) -> Self {
        // cargo lambda watch compiles a function on its first invocation.
        let lambda = HttpInvoke::new(lambda_url, std::time::Duration::from_secs(900));
        Self {
            router,
            auth,
            lambda,
        }
    }

    /// The answer to one request, as API Gateway would give it.
    pub async fn handle(&self, req: Incoming) -> Outgoing {
        let Some(matched) = self.router.route(&req.method, req.path()) else {
            log(&req, "404", "no declared route");
            return Outgoing::message(404, "Not Found");
        };
        let jwt = match &self.auth {
            Auth::Signature => None,
            Auth::Jwt(authorizer) => {
                match authorizer.authorize(req.header("authorization").as_deref()) {
                    Ok(ctx) => Some(ctx),
                    Err(refusal) => {
                        log(&req, "401", refusal.reason());
                        let mut out = Outgoing::message(401, "Unauthorized");
                        if let Some(challenge) = refusal.www_authenticate() {
                            out.headers
                                .push(("www-authenticate".into(), challenge.into_bytes()));
                        }
                        return out;
                    }
                }
            }
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let parts = EventParts {
            route_key: &matched.route_key,
            path_parameters: &matched.path_parameters,
            request_id: &request_id,
            jwt: jwt.as_ref(),
            now: time::OffsetDateTime::now_utc(),
        };
        let event = match event::build_event(&req, &parts).and_then(|e| event::event_json(&e)) {
            Ok(event) => event,
            Err(e) => {
                log(&req, "400", &e);
                return Outgoing::message(400, "Bad Request");
            }
        };
        let function = &matched.route.function;
        let out = match self.lambda.invoke(function, &event).await {
            Ok(payload) => event::response_from_payload(&payload),
            Err(e) => {
                let excerpt = e.payload_excerpt();
                let detail = if excerpt.is_empty() {
                    e.to_string()
                } else {
                    format!("{e}: {excerpt}")
                };
                log(&req, "500", &format!("{function}: {detail}"));
                Outgoing::message(500, "Internal Server Error")
            }
        };
        log(
            &req,
            &out.status.to_string(),
            &format!("{} -> {function}", matched.route_key),
        );
        out
    }
}

fn log(req: &Incoming, status: &str, what: &str) {
    eprintln!(
        "local-gateway: {} {} {status} ({what})",
        req.method, req.target
    );
}

/// Serves `gateway` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>) {
    while let Ok((stream, peer)) = listener.accept().await {
        let gateway = gateway.clone();
        let local = stream.local_addr().unwrap_or(peer);
        tokio::spawn(async move { serve_connection(stream, peer, local, &gateway).await });
    }
}

async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    gateway: &Gateway,
) {
    let mut buf = Vec::new();
    loop {
        let (answer, keep_alive) = match read_request(&mut stream, &mut buf, peer, local).await {
            Ok(Read::Request(req, keep_alive)) => (gateway.handle(req).await, keep_alive),
            Ok(Read::Closed) => return,
            Err(answer) => (answer, false),
        };
        if stream
            .write_all(&write_response(&answer, keep_alive))
            .await
            .is_err()
            || !keep_alive
        {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

pub enum Read {
    /// A request, and whether the connection stays open after its answer.
    Request(Incoming, bool),
    /// The peer closed the connection between requests.
    Closed,
}

/// Reads one HTTP/1.1 request from `stream`; `buf` keeps what was read past it (the next
/// request on a kept-alive connection). An `Err` is the answer to send before closing.
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    peer: SocketAddr,
    local: SocketAddr,
) -> Result<Read, Outgoing> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head)) => {
                let headers: Vec<(String, Vec<u8>)> = parsed
                    .headers
                    .iter()
                    .map(|h| (h.name.to_owned(), h.value.to_vec()))
                    .collect();
                let method = parsed.method.unwrap_or_default().to_owned();
                let target = parsed.path.unwrap_or_default().to_owned();
                let http10 = parsed.version == Some(0);
                let has = |name: &str, token: &str| {
                    headers.iter().any(|(n, v)| {
                        n.eq_ignore_ascii_case(name)
                            && String::from_utf8_lossy(v)
                                .split(',')
                                .any(|t| t.trim().eq_ignore_ascii_case(token))
                    })
                };
                let keep_alive = if http10 {
                    has("connection", "keep-alive")
                } else {
                    !has("connection", "close")
                };
                if headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
                {
                    return Err(Outgoing::message(411, "Length Required"));
                }
                let lengths: Vec<&[u8]> = headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.as_slice())
                    .collect();
                let length = match lengths.as_slice() {
                    [] => 0,
                    [one] => std::str::from_utf8(one)
                        .ok()
                        .and_then(|s| s.trim().parse::<usize>().ok())
                        .ok_or_else(|| Outgoing::message(400, "Bad Request"))?,
                    _ => return Err(Outgoing::message(400, "Bad Request")),
                };
                if length > MAX_BODY {
                    return Err(Outgoing::message(413, "Request Entity Too Large"));
                }
                if !target.starts_with('/') {
                    return Err(Outgoing::message(400, "Bad Request"));
                }
                while buf.len() < head + length {
                    let n = stream.read(&mut chunk).await.map_err(|_| closed())?;
                    if n == 0 {
                        return Err(closed());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = buf[head..head + length].to_vec();
                buf.drain(..head + length);
                let req = Incoming {
                    method,
                    target,
                    headers,
                    body,
                    peer,
                    local,
                };
                return Ok(Read::Request(req, keep_alive));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Outgoing::message(431, "Request Header Fields Too Large"))
            }
            Err(_) => return Err(Outgoing::message(400, "Bad Request")),
        }
        if buf.len() > 64 * 1024 {
            return Err(Outgoing::message(431, "Request Header Fields Too Large"));
        }
        let n = stream.read(&mut chunk).await.map_err(|_| closed())?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(Read::Closed)
            } else {
                Err(closed())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A connection cut mid-request: nothing can be answered, so the answer is a 400 that goes
/// nowhere.
fn closed() -> Outgoing {
    Outgoing::message(400, "Bad Request")
}

/// The response's bytes, with `content-length`, `date`, `apigw-requestid` and `connection`
/// set here (any the function sent of the first two and the last are replaced).
pub fn write_response(out: &Outgoing, keep_alive: bool) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(out.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut bytes = format!("HTTP/1.1 {} {reason}\r\n", out.status).into_bytes();
    for (name, value) in &out.headers {
        if ["content-length", "connection", "transfer-encoding", "date"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    }
    let date = httpdate(time::OffsetDateTime::now_utc());
    let request_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
    bytes.extend_from_slice(
        format!(
            "date: {date}\r\ncontent-length: {}\r\napigw-requestid: {request_id}\r\nconnection: {}\r\n\r\n",
            out.body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(&out.body);
    bytes
}

/// An IMF-fixdate: `Sun, 06 Dec 2026 13:04:28 GMT`.
fn httpdate(t: time::OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[t.month() as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:9000".parse().unwrap()
    }

    async fn read(bytes: &[u8]) -> (Vec<Result<Incoming, Outgoing>>, Vec<u8>) {
        let mut stream = bytes;
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            match read_request(&mut stream, &mut buf, addr(), addr()).await {
                Ok(Read::Request(req, _)) => got.push(Ok(req)),
                Ok(Read::Closed) => break,
                Err(out) => {
                    got.push(Err(out));
                    break;
                }
            }
        }
        (got, buf)
    }

    #[tokio::test]
    async fn reads_kept_alive_requests_with_repeated_lines_and_binary_bodies() {
        let wire = b"POST /accounts?x=1 HTTP/1.1\r\nHost: h\r\nSignature: a\r\nSignature: b\r\nContent-Length: 3\r\n\r\n\xff\x00\xfeGET /accounts/a HTTP/1.1\r\nHost: h\r\n\r\n";
        let (got, rest) = read(wire).await;
        assert_eq!(got.len(), 2);
        let first = got[0].as_ref().unwrap();
        assert_eq!(
            (first.method.as_str(), first.target.as_str()),
            ("POST", "/accounts?x=1")
        );
        assert_eq!(first.body, b"\xff\x00\xfe");
        assert_eq!(first.header("signature").as_deref(), Some("a,b"));
        let second = got[1].as_ref().unwrap();
        assert_eq!((second.method.as_str(), second.body.len()), ("GET", 0));
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn refuses_what_it_cannot_frame() {
        for (wire, status) in [
            (
                &b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
                411,
            ),
            (
                b"POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                400,
            ),
            (b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
            (b"POST /a HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
            (b"GET http://h/a HTTP/1.1\r\n\r\n", 400),
            (b"NOT HTTP\r\n\r\n", 400),
        ] {
            let (got, _) = read(wire).await;
            let Some(Err(out)) = got.last() else {
                panic!("no refusal for {}", String::from_utf8_lossy(wire));
            };
            assert_eq!(out.status, status, "{}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn writes_a_response() {
        let out = Outgoing {
            status: 201,
            headers: vec![
                ("location".into(), b"/a".to_vec()),
                ("content-length".into(), b"999".to_vec()),
            ],
            body: b"{}".to_vec(),
        };
        let text = String::from_utf8(write_response(&out, true)).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 201 Created\r\nlocation: /a\r\n"),
            "{text}"
        );
        assert!(text.contains("content-length: 2\r\n"));
        assert!(!text.contains("content-length: 999"), "{text}");
        assert!(text.contains("connection: keep-alive\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }

    #[test]
    fn http_dates() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_796_562_268).unwrap();
        assert_eq!(httpdate(t), "Sun, 06 Dec 2026 13:04:28 GMT");
    }

    fn gateway(auth: Auth) -> Gateway {
        let router = Router::new(vec![router::Route::new(
            "POST",
            "/accounts",
            "create-account",
        )
        .unwrap()]);
        // A port nothing listens on any more: an invocation fails.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Gateway::new(router, auth, &format!("http://127.0.0.1:{port}"))
    }

    fn incoming(method: &str, target: &str, headers: &[(&str, &str)]) -> Incoming {
        Incoming {
            method: method.into(),
            target: target.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
            body: Vec::new(),
            peer: addr(),
            local: addr(),
        }
    }

    #[tokio::test]
    async fn undeclared_routes_get_api_gateways_404() {
        let gw = gateway(Auth::Signature);
        for (m, p) in [
            ("POST", "/lambda-url/create-account/accounts"),
            ("GET", "/accounts"),
        ] {
            let out = gw.handle(incoming(m, p, &[])).await;
            assert_eq!(out.status, 404);
            assert_eq!(out.body, br#"{"message":"Not Found"}"#);
            assert_eq!(out.header("content-type"), Some(&b"application/json"[..]));
        }
        // A declared route is invoked (here: nothing listens, so API Gateway's 500).
        let out = gw.handle(incoming("POST", "/accounts", &[])).await;
        assert_eq!(out.status, 500);
        assert_eq!(out.body, br#"{"message":"Internal Server Error"}"#);
    }

    #[tokio::test]
    async fn jwt_mode_refuses_before_any_invocation() {
        let dev = jwt::JwtDev {
            issuer: "https://issuer.local".into(),
            audience: "aud".into(),
            kid: "k".into(),
            private_key_pem: include_str!("../testdata/test-key-a.pem").into(),
        };
        let gw = gateway(Auth::Jwt(Authorizer::new(&dev).unwrap()));
        let out = gw.handle(incoming("POST", "/accounts", &[])).await;
        assert_eq!(
            (out.status, out.body.as_slice()),
            (401, &br#"{"message":"Unauthorized"}"#[..])
        );
        assert_eq!(out.header("www-authenticate"), None);
        let out = gw
            .handle(incoming(
                "POST",
                "/accounts",
                &[("Authorization", "Bearer x.y.z")],
            ))
            .await;
        assert_eq!(out.status, 401);
        assert!(out.header("www-authenticate").is_some());
        // An undeclared route is a 404 first, token or not.
        let out = gw.handle(incoming("POST", "/nowhere", &[])).await;
        assert_eq!(out.status, 404);
    }
}
