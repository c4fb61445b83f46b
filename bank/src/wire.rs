//! HTTP/1.1 on the wire, read with `httparse` over tokio as the repository's other servers are
//! (no server features added to hyper: that would rebuild the SDK's HTTP stack). Keep-alive and
//! `Content-Length` bodies only; a chunked body is refused with 411.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Payment requests are a few hundred bytes; anything near this is not one.
pub const MAX_BODY: usize = 1024 * 1024;
/// The most header lines one request may carry.
const MAX_HEADERS: usize = 64;
/// The most a request head may take before it is refused.
const MAX_HEAD: usize = 64 * 1024;

/// One request as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The header lines in the order received, names as sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The `Content-Length` bytes after the head.
    pub body: Vec<u8>,
}

impl Request {
    /// Every value of header `name` (case-insensitive), in the order received.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name).any(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    }
}

/// One response: the status, extra headers, and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Headers besides `content-type`, `content-length` and `connection`.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON document sent as body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with `value` as its JSON body.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(value).expect("a serializable value"),
        }
    }

    /// `{"error": code}`.
    pub fn error(status: u16, code: &str) -> Self {
        Self::json(status, &serde_json::json!({ "error": code }))
    }

    /// `{"error": code, "detail": detail}`.
    pub fn error_detail(status: u16, code: &str, detail: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({ "error": code, "detail": detail }),
        )
    }

    /// The response's bytes; `keep_alive` says whether the connection stays open after it.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let reason = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\nconnection: {}\r\n\r\n",
            self.body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        ));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// What reading the next request on a connection gave.
#[derive(Debug)]
pub enum Read {
    /// A request, and whether the connection stays open after its answer.
    Request(Request, bool),
    /// The peer closed the connection between requests.
    Closed,
}

/// Reads one request from `stream`; `buf` keeps what was read past it (the next request on a
/// kept-alive connection). An `Err` is the answer to send before closing the connection.
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Read, Response> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let target = parsed.path.unwrap_or_default();
                if !target.starts_with('/') {
                    return Err(bad_request());
                }
                let mut req = Request {
                    method: parsed.method.unwrap_or_default().to_owned(),
                    path: target.split('?').next().unwrap_or_default().to_owned(),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|h| (h.name.to_owned(), h.value.to_vec()))
                        .collect(),
                    body: Vec::new(),
                };
                let keep_alive = if parsed.version == Some(0) {
                    req.has_token("connection", "keep-alive")
                } else {
                    !req.has_token("connection", "close")
                };
                let length = body_length(&req)?;
                while buf.len() < head_len + length {
                    if !read_more(stream, buf).await {
                        return Err(bad_request());
                    }
                }
                req.body = buf[head_len..head_len + length].to_vec();
                buf.drain(..head_len + length);
                return Ok(Read::Request(req, keep_alive));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(head_too_large()),
            Err(_) => return Err(bad_request()),
        }
        if buf.len() > MAX_HEAD {
            return Err(head_too_large());
        }
        let was_empty = buf.is_empty();
        if !read_more(stream, buf).await {
            return if was_empty {
                Ok(Read::Closed)
            } else {
                Err(bad_request())
            };
        }
    }
}

fn body_length(req: &Request) -> Result<usize, Response> {
    if req.header_values("transfer-encoding").next().is_some() {
        return Err(Response::error(411, "length-required"));
    }
    let lengths: Vec<&[u8]> = req.header_values("content-length").collect();
    let length = match lengths.as_slice() {
        [] => 0,
        [one] => std::str::from_utf8(one)
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .ok_or_else(bad_request)?,
        _ => return Err(bad_request()),
    };
    if length > MAX_BODY {
        return Err(Response::error(413, "body-too-large"));
    }
    Ok(length)
}

/// False when the peer closed the connection or it failed.
async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn bad_request() -> Response {
    Response::error(400, "bad-request")
}

fn head_too_large() -> Response {
    Response::error(431, "headers-too-large")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(mut wire: &[u8]) -> Vec<Result<Request, u16>> {
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            match read_request(&mut wire, &mut buf).await {
                Ok(Read::Request(req, _)) => got.push(Ok(req)),
                Ok(Read::Closed) => return got,
                Err(answer) => {
                    got.push(Err(answer.status));
                    return got;
                }
            }
        }
    }

    #[tokio::test]
    async fn reads_kept_alive_requests() {
        let wire = b"POST /payments?x=1 HTTP/1.1\r\nIdempotency-Key: k\r\nContent-Length: 2\r\n\r\n{}GET /health HTTP/1.1\r\n\r\n";
        let got = read_all(wire).await;
        let [Ok(first), Ok(second)] = got.as_slice() else {
            panic!("{got:?}");
        };
        assert_eq!(
            (first.method.as_str(), first.path.as_str()),
            ("POST", "/payments")
        );
        assert_eq!(first.body, b"{}");
        assert_eq!(
            first.header_values("idempotency-key").collect::<Vec<_>>(),
            [b"k"]
        );
        assert_eq!((second.path.as_str(), second.body.len()), ("/health", 0));
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
            (b"POST /a HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
            (b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 400),
            (b"GET http://h/a HTTP/1.1\r\n\r\n", 400),
            (b"NOT HTTP\r\n\r\n", 400),
        ] {
            let got = read_all(wire).await;
            assert_eq!(
                got.last(),
                Some(&Err(status)),
                "{}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn writes_a_response() {
        let mut answer = Response::error(409, "idempotency-key-reused");
        answer.headers.push(("idempotent-replayed", "true".into()));
        let text = String::from_utf8(answer.to_bytes(false)).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 409 Conflict\r\nidempotent-replayed: true\r\ncontent-type: application/json\r\ncontent-length: 34\r\nconnection: close\r\n\r\n{\"error\":\"idempotency-key-reused\"}"
        );
    }
}
