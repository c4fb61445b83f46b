use std::future::Future;
use std::time::Instant;

use super::{finish, Incoming, Reply, Response};
use crate::error::Problem;
use crate::guard::Guard;
use crate::metrics::{tallied, Document, Tally, UNROUTED};

/// Runs one endpoint on `app` (anything that lends the [`Guard`]) and logs one structured line
/// for it: never a header value, a body, a secret or a signature. An error becomes its RFC 9457
/// problem; every response gets `Cache-Control: no-store`. The Lambda adapter calls it for each
/// invocation; call it yourself from any other HTTP stack. Its metric document (see
/// [`crate::metrics`]) names the Lambda function as its `Route`, or `unrouted`: to name the
/// route, call [`respond_route`].
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
    respond_route(app, None, req, endpoint).await
}

/// [`respond`], for a request on `route` (`"POST /orders"`, as API Gateway names a route): the
/// `Route` of its metric document (`None`: as [`respond`]).
///
/// ```
/// use replaysafe::http::{json, respond_route, Incoming, Reply, Response};
/// use replaysafe::Guard;
///
/// async fn health(guard: &Guard, req: Incoming<'_>) -> Reply {
///     guard.read(&req, async { Ok(()) }).await?;
///     Ok(json(200, &"ok"))
/// }
///
/// /// What another HTTP stack's handler for `GET /health` calls, with the request it received.
/// async fn on_health(guard: &Guard, req: Incoming<'_>) -> Response {
///     respond_route(guard, "GET /health", req, health).await
/// }
/// ```
pub async fn respond_route<'a, A, E, F, Fut>(
    app: &'a A,
    route: impl Into<Option<&'a str>>,
    req: Incoming<'a>,
    endpoint: F,
) -> Response
where
    A: AsRef<Guard>,
    E: Problem,
    F: FnOnce(&'a A, Incoming<'a>) -> Fut,
    Fut: Future<Output = Reply<E>>,
{
    let started = Instant::now();
    let at = At {
        method: req.method,
        path: req.path,
        request_id: req.request_id.clone(),
        route: route.into(),
    };
    // Boxed: an endpoint's future is large, and held inline under the tally's scope it grew
    // every future awaiting this one until a debug build overflowed a 2 MiB thread stack.
    let (reply, tally) = tallied(Box::pin(endpoint(app, req))).await;
    conclude(app.as_ref(), &at, started, reply, tally)
}

/// Where a request was received: what its log line and its metric document name it by.
pub(crate) struct At<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub request_id: String,
    /// The route key, when the caller named one.
    pub route: Option<&'a str>,
}

/// The response for `reply`, the request's one log line (with the cause of an internal error,
/// which the response never carries), and its metric document, which says what the log line
/// says.
pub(crate) fn conclude<E: Problem>(
    guard: &Guard,
    at: &At<'_>,
    started: Instant,
    reply: Reply<E>,
    tally: Tally,
) -> Response {
    let (method, path, request_id) = (at.method, at.path, at.request_id.as_str());
    let code = reply.as_ref().err().map(|e| e.code().to_owned());
    if let Some(cause) = reply.as_ref().err().and_then(|e| e.cause()) {
        tracing::error!(request_id, %cause, "internal error");
    }
    let response = finish(reply, &guard.config().problem_type_base);
    let (status, replayed) = (
        response.status().as_u16(),
        response.headers().contains_key("idempotent-replayed"),
    );
    let elapsed = started.elapsed();
    tracing::info!(
        method,
        path,
        request_id,
        status,
        code,
        replayed,
        elapsed_us = elapsed.as_micros() as u64,
        "request"
    );
    let metrics = guard.metrics();
    let route = at.route.or(metrics.scheme().function()).unwrap_or(UNROUTED);
    let answered = crate::metrics::Answered {
        route,
        request_id,
        status,
        code: code.as_deref(),
        replayed,
        latency: elapsed,
    };
    metrics.emit(Document::http(metrics.scheme(), answered, tally));
    response
}
