//! An answer: a handler's response as a client reads it, and the contract's assertions on it.

use http::HeaderMap;
use lambda_http::Body;
use serde_json::Value;

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }

    /// An RFC 9457 problem with the contract's status and code, marked `no-store`, never a
    /// replay, with `Retry-After` where the contract asks for one.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        self.assert_problem_in(status, code, code);
    }

    /// [`Answer::assert_problem`], saying `what` was sent when it fails.
    #[track_caller]
    pub fn assert_problem_in(&self, status: u16, code: &str, what: &str) {
        assert_eq!(
            self.status, status,
            "{what}: expected {code}: {}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        let problem = self.json();
        assert_eq!(problem["code"], code, "{what}: {}", self.body);
        assert_eq!(problem["status"], status, "{what}: {}", self.body);
        let kind = problem["type"].as_str().expect("type is a string");
        assert!(kind.ends_with(&format!("/{code}")), "{what}: type {kind}");
        assert!(
            problem["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{what}: {}",
            self.body
        );
        assert!(problem["detail"].is_string(), "{what}: {}", self.body);
        if matches!(code, "request-in-progress" | "unavailable") {
            let after = self.header("retry-after").expect("Retry-After");
            assert!(after.parse::<u32>().is_ok(), "{what}: Retry-After: {after}");
        }
        assert!(!self.replayed(), "{what}: an error is never a replay");
        assert_eq!(self.header("cache-control"), Some("no-store"), "{what}");
    }

    /// The problem code, for an error.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == Some("true")
    }

    /// A handler's response, as a client reads it.
    pub fn of(response: lambda_http::Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let body = match body {
            Body::Text(t) => t,
            Body::Binary(b) => String::from_utf8(b).expect("utf-8 body"),
            _ => String::new(),
        };
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}
