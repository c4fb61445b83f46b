//! One HTTP exchange: no redirects followed, an answer's body read up to a cap.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::prepared::PreparedRequest;

/// The longest answer body the client reads (the API's answers are a few hundred bytes; a
/// longer one is not from the API, and reading it unbounded would let whoever answers exhaust
/// the caller's memory).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// The HTTP client: follows no redirect. A redirect would carry the signed headers (and, on
/// 307/308, the body) to wherever it points: the signature does not cover the authority, so that
/// host could deliver the attempt to the API. A 3xx is returned as the answer.
pub(crate) fn http_client(connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("replaysafe-client/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// An answer as received.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Why one attempt got no usable answer.
pub(crate) struct SendError {
    pub message: String,
    pub timed_out: bool,
    /// An answer arrived but is longer than [`MAX_ANSWER_BYTES`]: not retried.
    pub too_long: bool,
}

pub(crate) async fn send(
    http: &reqwest::Client,
    url: &str,
    request: &PreparedRequest,
    timeout: Duration,
) -> Result<Answer, SendError> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| SendError {
        message: format!("not an HTTP method: {:?}", request.method),
        timed_out: false,
        too_long: false,
    })?;
    let mut builder = http.request(method, url).timeout(timeout);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if !request.body.is_empty() {
        builder = builder.body(request.body.clone());
    }
    let mut response = builder.send().await.map_err(SendError::from)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let too_long = || SendError {
        message: format!("a {status} answer longer than {MAX_ANSWER_BYTES} bytes"),
        timed_out: false,
        too_long: true,
    };
    let mut body = Vec::new();
    // Read chunk by chunk: a Content-Length may be absent or lie. An answer cut off mid-body
    // is no answer: retried like a lost one.
    while let Some(chunk) = response.chunk().await.map_err(SendError::from)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

impl From<reqwest::Error> for SendError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display is "error sending request for url (…)"; the cause is in the sources.
        let mut message = if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            "connection failed".to_owned()
        };
        let mut source = std::error::Error::source(&e);
        let mut last = String::new();
        while let Some(s) = source {
            let text = s.to_string();
            // hyper-util's "client error (Connect)" layers say nothing the next source does not.
            let noise = text.starts_with("client error (");
            if !text.is_empty() && !noise && !last.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
                last = text;
            }
            source = s.source();
        }
        SendError {
            message,
            timed_out: e.is_timeout(),
            too_long: false,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
