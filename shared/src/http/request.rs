use std::time::SystemTime;

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
    /// The host the request was received on as the HTTP stack knows it, when it knows it better
    /// than the `Host` header: API Gateway's `requestContext.domainName`. None: the `Host`
    /// header says ([`Incoming::authority`]).
    pub domain_name: Option<&'a str>,
    /// The body as received: what the `Content-Digest` and the fingerprint cover.
    pub body: &'a [u8],
    /// Unique per invocation, the same when the runtime delivers it again (the Lambda request
    /// id); it marks the items this invocation writes, so that meeting them again is known as
    /// its own. Elsewhere, a fresh UUID per request.
    pub request_id: String,
    /// What an API Gateway authorizer said of the caller: the request context's `authorizer`
    /// object (`{"jwt": {"claims": {...}}}`, `{"iam": {...}}`, `{"lambda": {...}}`), as API
    /// Gateway sends it; `None` without one. Read only behind an authorizer
    /// ([`Auth::Authorizer`](crate::config::Auth::Authorizer)).
    pub authorizer: Option<serde_json::Value>,
    /// When the invocation must have answered (Lambda's deadline), if known: the request's time
    /// budget ends before it.
    pub deadline: Option<SystemTime>,
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

    /// The host the function was called on, what a signature's `"@authority"` is verified
    /// against: [`Incoming::domain_name`] when the stack gave one, else the `Host` header (when it
    /// appears once, as text).
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("host", "api.example.com".parse().unwrap());
    /// let mut req = replaysafe::http::Incoming {
    ///     method: "GET", path: "/", query: None, headers: &headers, domain_name: None,
    ///     body: b"", request_id: "r".into(), authorizer: None, deadline: None,
    /// };
    /// assert_eq!(req.authority(), Some("api.example.com"));
    /// req.domain_name = Some("abc123.execute-api.eu-west-1.amazonaws.com");
    /// assert_eq!(req.authority(), Some("abc123.execute-api.eu-west-1.amazonaws.com"));
    /// ```
    pub fn authority(&self) -> Option<&'a str> {
        self.domain_name
            .filter(|d| !d.is_empty())
            .or_else(|| self.single_header("host").ok().flatten())
    }

    /// The last path segment, where the functions' `{id}` sits.
    pub fn last_segment(&self) -> &'a str {
        self.path.rsplit('/').next().unwrap_or_default()
    }

    /// Whether the request is for `route`, as API Gateway matches one: `"METHOD /path"`, where
    /// a `{param}` segment matches one non-empty segment.
    ///
    /// ```
    /// # let headers = http::HeaderMap::new();
    /// # let req = |method, path| replaysafe::http::Incoming {
    /// #     method, path, query: None, headers: &headers, domain_name: None, body: b"",
    /// #     request_id: "r".into(), authorizer: None, deadline: None,
    /// # };
    /// assert!(req("GET", "/orders/ord_1").is_for("GET /orders/{order_id}"));
    /// assert!(!req("GET", "/orders/").is_for("GET /orders/{order_id}"));
    /// assert!(!req("POST", "/lambda-url/orders/orders").is_for("POST /orders"));
    /// ```
    pub fn is_for(&self, route: &str) -> bool {
        route_matches(route, self.method, self.path)
    }
}

/// Whether `method` `path` is `route` (`"METHOD /a/{param}"`), as API Gateway routes.
pub fn route_matches(route: &str, method: &str, path: &str) -> bool {
    let Some((route_method, pattern)) = route.split_once(' ') else {
        return false;
    };
    let (mut pattern, mut segments) = (pattern.split('/'), path.split('/'));
    route_method == method
        && loop {
            match (pattern.next(), segments.next()) {
                (None, None) => break true,
                (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') && !s.is_empty() => {}
                (Some(p), Some(s)) if p == s => {}
                _ => break false,
            }
        }
}

fn invalid_header(name: &str) -> GuardError {
    if name == "idempotency-key" {
        GuardError::IdempotencyKeyInvalid
    } else {
        GuardError::SignatureInvalid(format!("the {name} header is repeated or not text"))
    }
}
