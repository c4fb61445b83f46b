use http::HeaderMap;
use lambda_http::RequestExt;

use crate::error::GuardError;

/// What the guard reads of a request.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The HTTP method; a `POST` must carry an `Idempotency-Key`.
    pub method: &'a str,
    /// The path as received, without the query string: what `"@path"` signs.
    pub path: &'a str,
    /// The query string without its `?`, if there is one: what `"@query"` signs.
    pub query: Option<&'a str>,
    /// The request's headers, repeated ones included.
    pub headers: &'a HeaderMap,
    /// The body as received: what the `Content-Digest` and the fingerprint cover.
    pub body: &'a [u8],
    /// The Lambda request id; it marks the items this invocation writes.
    pub request_id: String,
}

impl<'a> Incoming<'a> {
    /// The view of a `lambda_http` request: its raw path (what the client signed, not the
    /// normalised URI) and the invocation's request id (a fresh UUID when there is no Lambda
    /// context, as in a hand-built request).
    pub fn from_lambda(req: &'a lambda_http::Request) -> Self {
        let request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        // "@path" is the path as API Gateway received it (rawPath). The URI lambda_http builds
        // from it is normalised (dot segments resolved, some characters re-encoded), so it is
        // not what the client signed. Hand-built requests carry no raw path.
        let path = match req.raw_http_path() {
            "" => req.uri().path(),
            raw => raw,
        };
        Self {
            method: req.method().as_str(),
            path,
            query: req.uri().query(),
            headers: req.headers(),
            body: req.body().as_ref(),
            request_id,
        }
    }

    /// Every value of a header that is valid text, in order.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// All values joined with ", ", as RFC 9110 combines a repeated field.
    pub fn joined_header(&self, name: &str) -> Option<String> {
        let values = self.header_values(name);
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// A header that must appear at most once; a repeated or non-text value is invalid.
    pub fn single_header(&self, name: &str) -> Result<Option<&'a str>, GuardError> {
        let mut values = self.headers.get_all(name).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(invalid_header(name));
        }
        first.to_str().map(Some).map_err(|_| invalid_header(name))
    }

    /// The last path segment, where the functions' `{id}` sits.
    pub fn last_segment(&self) -> &'a str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

fn invalid_header(name: &str) -> GuardError {
    if name == "idempotency-key" {
        GuardError::IdempotencyKeyInvalid
    } else {
        GuardError::SignatureInvalid(format!("the {name} header is repeated or not text"))
    }
}
