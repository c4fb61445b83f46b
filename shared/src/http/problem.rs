use lambda_http::{Body, Response};
use serde_json::json;

use crate::error::ApiError;

pub const PROBLEM_TYPE_BASE: &str = "https://replaysafe.dev/problems/";

/// The RFC 9457 response for an error. The detail is ours, never an SDK's: server-side
/// failures get a fixed sentence.
pub fn problem(err: &ApiError) -> Response<Body> {
    let detail = match err {
        ApiError::Internal => "The server failed to handle the request.".to_owned(),
        e => e.to_string(),
    };
    let body = json!({
        "type": format!("{PROBLEM_TYPE_BASE}{}", err.code()),
        "title": err.title(),
        "status": err.status(),
        "detail": detail,
        "code": err.code(),
    });
    let mut builder = Response::builder()
        .status(err.status())
        .header("content-type", "application/problem+json");
    if let Some(seconds) = err.retry_after() {
        builder = builder.header("retry-after", seconds.to_string());
    }
    builder
        .body(Body::Text(body.to_string()))
        .expect("status and headers are valid")
}
