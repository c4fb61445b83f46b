//! An answer is kept as received, whatever its status, because the caller decides what it
//! means: the retry loop judges it, `replay` and the demo show it, the typed calls decode it.
//! Decoding errors carry the request's key: an unreadable answer to a POST is no outcome.

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::auth::Scheme;
use crate::error::{Error, ProblemCode, ProblemDetails};
use crate::retry::{parse_retry_after, settles_for, verdict_for, Answer, Verdict};
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
    /// Whether this answer settles the request's operation (a POST): the client's judgement,
    /// which [`RawResponse::problem`] passes on ([`ProblemDetails::settles`]).
    pub settles: bool,
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

    /// The problem, for an error status, with the request's key, whether it was replayed, and
    /// whether it settles the operation.
    pub fn problem(&self) -> ProblemDetails {
        let retry_after = self.header("retry-after").and_then(parse_retry_after);
        ProblemDetails {
            idempotency_key: self.idempotency_key.clone(),
            replayed: self.replayed(),
            settles: self.settles,
            ..ProblemDetails::from_answer(self.status, &self.body, retry_after)
        }
    }

    /// What the rules of `scheme` make of this answer: retry, re-send, or final.
    pub(super) fn verdict(&self, scheme: Scheme) -> Verdict {
        let code = self.code();
        verdict_for(scheme, self.answer(code.as_ref()))
    }

    /// Whether this answer settles its operation, `earlier_open` saying whether an earlier
    /// attempt of it got no settling answer.
    pub(super) fn judge_settles(&self, scheme: Scheme, earlier_open: bool) -> bool {
        let code = self.code();
        settles_for(scheme, self.answer(code.as_ref()), earlier_open)
    }

    fn answer<'a>(&self, code: Option<&'a ProblemCode>) -> Answer<'a> {
        Answer {
            status: self.status,
            code,
            replayed: self.replayed(),
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
