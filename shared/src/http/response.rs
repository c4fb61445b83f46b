use serde::Serialize;

use super::problem;
use crate::error::{Error, Problem};
use crate::idempotency::StoredResponse;

/// A response as the guard and its endpoints build it: any HTTP stack can send it.
pub type Response = http::Response<String>;

/// What an endpoint returns: a response, or an error (the guard's or the app's `E`) turned into
/// an RFC 9457 problem in one place ([`finish`]).
pub type Reply<E = std::convert::Infallible> = Result<Response, Error<E>>;

/// A JSON response with `status`.
pub fn json(status: u16, body: &impl Serialize) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_string(body).expect("a view serializes"))
        .expect("status and headers are valid")
}

/// A stored (or freshly committed) POST answer with its headers; a replay says so. Its headers
/// were checked before it was stored.
pub fn stored(response: &StoredResponse, replayed: bool) -> Response {
    let mut builder = http::Response::builder()
        .status(response.status)
        .header("content-type", response.content_type());
    for (name, value) in &response.headers {
        if name != "content-type" {
            builder = builder.header(name, value);
        }
    }
    if replayed {
        builder = builder.header("idempotent-replayed", "true");
    }
    builder
        .body(response.body.clone())
        .expect("status and headers are valid")
}

/// 304 with the current `etag`.
pub fn not_modified(etag: &str) -> Response {
    http::Response::builder()
        .status(304)
        .header("etag", etag)
        .body(String::new())
        .expect("status and headers are valid")
}

/// The response for a reply, errors included, problems typed under `type_base`. Every one is
/// `Cache-Control: no-store`: with signatures the authentication is in `Signature`, not
/// `Authorization`, so a shared cache would otherwise be free to keep a signed GET's answer and
/// hand it to anyone.
pub fn finish<E: Problem>(reply: Reply<E>, type_base: &str) -> Response {
    let mut response = reply.unwrap_or_else(|e| problem(&e, type_base));
    response
        .headers_mut()
        .insert("cache-control", http::HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_carries_the_headers_the_app_kept() {
        let answer = StoredResponse::new(201, "<ok/>")
            .with_header("location", "/orders/1")
            .with_header("content-type", "application/xml")
            .with_header("etag", "\"1\"");
        let replay = stored(&answer, true);
        let headers = replay.headers();
        assert_eq!(replay.status(), 201);
        assert_eq!(headers["location"], "/orders/1");
        assert_eq!(headers["etag"], "\"1\"");
        assert_eq!(headers.get_all("content-type").iter().count(), 1);
        assert_eq!(headers["content-type"], "application/xml");
        assert_eq!(headers["idempotent-replayed"], "true");
        assert!(!stored(&answer, false)
            .headers()
            .contains_key("idempotent-replayed"));
    }
}
