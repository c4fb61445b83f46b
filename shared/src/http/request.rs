use http::HeaderMap;

use crate::error::GuardError;

/// What the guard reads of a request: the Lambda adapter makes one from an API Gateway event
/// (`Incoming::from_lambda`); another HTTP stack fills the fields from its own request.
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
    /// Unique per invocation, the same when the runtime delivers it again (the Lambda request
    /// id); it marks the items this invocation writes, so that meeting them again is known as
    /// its own. Elsewhere, a fresh UUID per request.
    pub request_id: String,
}

impl<'a> Incoming<'a> {
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
