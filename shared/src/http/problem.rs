use serde::Serialize;

use super::Response;
use crate::error::Problem;

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

/// The RFC 9457 response for an error; `type` is `type_base` followed by the code. The detail
/// is the error's own, never an SDK's: server faults (5xx) get a fixed sentence.
pub fn problem(err: &dyn Problem, type_base: &str) -> Response {
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
    let mut builder = http::Response::builder()
        .status(err.status())
        .header("content-type", "application/problem+json");
    if let Some(seconds) = err.retry_after() {
        builder = builder.header("retry-after", seconds.to_string());
    }
    builder
        .body(serde_json::to_string(&body).expect("a problem serializes"))
        .expect("status and headers are valid")
}
