use serde::Serialize;

use super::Response;
use crate::error::{Error, Problem};
use crate::idempotency::StoredResponse;

/// An RFC 9457 problem document, as sent.
#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
}

/// The problem document for an error; `type` is `type_base` followed by the code. The detail
/// is the error's own, never an SDK's: server faults (5xx) get a fixed sentence.
fn body<E: Problem>(err: &Error<E>, type_base: &str) -> String {
    let detail = match err.status() {
        500..=599 if err.retry_after().is_none() => {
            "The server failed to handle the request.".to_owned()
        }
        _ => err.detail(),
    };
    let body = ProblemBody {
        kind: format!("{type_base}{}", err.code()),
        title: err.title(),
        status: err.status(),
        detail,
        code: err.code(),
    };
    serde_json::to_string(&body).expect("a problem serializes")
}

const PROBLEM_JSON: &str = "application/problem+json";

/// The RFC 9457 response for an error, with `Retry-After` when it invites a retry.
pub fn problem<E: Problem>(err: &Error<E>, type_base: &str) -> Response {
    let mut builder = http::Response::builder()
        .status(err.status())
        .header("content-type", PROBLEM_JSON);
    if let Some(seconds) = err.retry_after() {
        builder = builder.header("retry-after", seconds.to_string());
    }
    builder
        .body(body(err, type_base))
        .expect("status and headers are valid")
}

/// A refusal as the answer stored under its key (authorizer mode): the same document.
pub(crate) fn problem_answer<E: Problem>(err: &Error<E>, type_base: &str) -> StoredResponse {
    StoredResponse::new(err.status(), body(err, type_base))
        .with_header("content-type", PROBLEM_JSON)
}
