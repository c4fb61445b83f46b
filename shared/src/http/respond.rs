use std::future::Future;
use std::time::Instant;

use super::{finish, Incoming, Reply, Response};
use crate::error::Problem;
use crate::guard::Guard;

/// Runs one endpoint on `app` (anything that lends the [`Guard`]) and logs one structured line
/// for it: never a header value, a body, a secret or a signature. An error becomes its RFC 9457
/// problem; every response gets `Cache-Control: no-store`. The Lambda adapter calls it for each
/// invocation; call it yourself from any other HTTP stack.
///
/// ```
/// use replaysafe::http::{json, respond, Incoming, Reply};
/// use replaysafe::{Config, Guard};
///
/// async fn health(guard: &Guard, req: Incoming<'_>) -> Reply {
///     guard.read(&req, async { Ok(()) }).await?;
///     Ok(json(200, &"ok"))
/// }
///
/// #[tokio::main]
/// async fn main() {
///     // An SDK client that is never called: the request is refused before any DynamoDB call.
///     let sdk = aws_sdk_dynamodb::Config::builder()
///         .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
///         .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
///         .build();
///     let guard = Guard::builder(Config::builder().build().unwrap())
///         .sdk_client(aws_sdk_dynamodb::Client::from_conf(sdk))
///         .warm_up(false)
///         .build()
///         .await
///         .unwrap();
///
///     // What any HTTP stack hands over: method, raw path, query, headers, body.
///     let headers = http::HeaderMap::new();
///     let unsigned = Incoming {
///         method: "GET",
///         path: "/health",
///         query: None,
///         headers: &headers,
///         domain_name: None,
///         body: b"",
///         request_id: "3f6c1a52-0000-4000-8000-000000000001".into(),
///         authorizer: None,
///         deadline: None,
///     };
///     let response = respond(&guard, unsigned, health).await;
///     assert_eq!(response.status(), 401);
///     assert_eq!(response.headers()["content-type"], "application/problem+json");
///     assert_eq!(response.headers()["cache-control"], "no-store");
/// }
/// ```
pub async fn respond<'a, A, E, F, Fut>(app: &'a A, req: Incoming<'a>, endpoint: F) -> Response
where
    A: AsRef<Guard>,
    E: Problem,
    F: FnOnce(&'a A, Incoming<'a>) -> Fut,
    Fut: Future<Output = Reply<E>>,
{
    let started = Instant::now();
    let (method, path, request_id) = (req.method, req.path, req.request_id.clone());
    let reply = endpoint(app, req).await;
    conclude(app.as_ref(), (method, path, &request_id), started, reply)
}

/// The response for `reply`, and the request's one log line (with the cause of an internal
/// error, which the response never carries).
pub(crate) fn conclude<E: Problem>(
    guard: &Guard,
    (method, path, request_id): (&str, &str, &str),
    started: Instant,
    reply: Reply<E>,
) -> Response {
    let code = reply.as_ref().err().map(|e| e.code().to_owned());
    if let Some(cause) = reply.as_ref().err().and_then(|e| e.cause()) {
        tracing::error!(request_id, %cause, "internal error");
    }
    let response = finish(reply, &guard.config().problem_type_base);
    tracing::info!(
        method,
        path,
        request_id,
        status = response.status().as_u16(),
        code,
        replayed = response.headers().contains_key("idempotent-replayed"),
        elapsed_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
