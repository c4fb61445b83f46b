//! The one HTTP/1.1 request reader of the test servers (the API server and its dropping proxy,
//! the fault proxy, the Lambda Runtime API emulator, and the client crate's stub server):
//! `httparse` over a tokio stream, `Content-Length` bodies only, keep-alive through a buffer the
//! caller keeps per connection.
//!
//! It depends on tokio and httparse alone, so that `client/tests/stub` can include this very file
//! (`#[path]`): the client crate cannot dev-depend on this one, which depends on it.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Bodies larger than this are not read (the guard refuses anything over 64 KiB anyway).
pub const MAX_BODY: usize = 1024 * 1024;

/// One request as read off the wire: its head parsed, and every byte kept.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: String,
    /// Path with any query string.
    pub target: String,
    /// Lowercase names, values as sent.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Head and body exactly as received.
    pub bytes: Vec<u8>,
}

impl RawRequest {
    /// The first value of header `name` (lowercase), if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The headers with their values as text (lossy), for readers that want strings.
    pub fn text_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    }
}

/// Reads the next request on `stream`; `buf` keeps what was read past it (the next request on a
/// kept-alive connection), so pass the same one for every request of a connection. `None` when
/// the peer closes first or sends what this reader does not read: not HTTP/1.1, a chunked
/// body, an unreadable `Content-Length`, a body over [`MAX_BODY`].
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Option<RawRequest> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head) = parsed.parse(buf).ok()? {
            let headers: Vec<(String, Vec<u8>)> = parsed
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
                .collect();
            if headers.iter().any(|(n, _)| n == "transfer-encoding") {
                return None;
            }
            let length = match headers.iter().find(|(n, _)| n == "content-length") {
                Some((_, v)) => std::str::from_utf8(v).ok()?.trim().parse().ok()?,
                None => 0usize,
            };
            if length > MAX_BODY {
                return None;
            }
            let (method, target) = (parsed.method?.to_owned(), parsed.path?.to_owned());
            while buf.len() < head + length {
                read_more(stream, buf).await?;
            }
            let bytes: Vec<u8> = buf.drain(..head + length).collect();
            return Some(RawRequest {
                method,
                target,
                headers,
                body: bytes[head..].to_vec(),
                bytes,
            });
        }
        read_more(stream, buf).await?;
    }
}

/// `None` when the peer closed the connection or it failed.
async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}
