//! An answer is kept as received, whatever its status, because the caller decides what it
//! means: the retry loop judges it, `replay` and the demo show it, the typed calls decode it.
//! Decoding errors carry the request's key: an unreadable answer to a POST is no outcome.

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::{Error, Problem, ProblemCode};
use crate::retry::parse_retry_after;
use crate::types::IdempotencyKey;

/// An answer as received, after the retry policy.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// HTTP requests it took.
    pub attempts: u32,
    /// The key the request carried (a POST).
    pub idempotency_key: Option<IdempotencyKey>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status) || self.status == 304
    }

    /// The problem, for an error status, with the request's key.
    pub fn problem(&self) -> Problem {
        let retry_after = self.header("retry-after").and_then(parse_retry_after);
        Problem {
            idempotency_key: self.idempotency_key.clone(),
            ..Problem::from_answer(self.status, &self.body, retry_after)
        }
    }

    /// The problem code, when the body is a problem document.
    pub(super) fn code(&self) -> Option<ProblemCode> {
        if self.is_success() {
            return None;
        }
        Some(self.problem().code)
    }

    /// The body as the JSON the call expects.
    pub(super) fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Protocol {
            message: format!(
                "{} answer is not the expected JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
            idempotency_key: self.idempotency_key.clone(),
        })
    }
}
