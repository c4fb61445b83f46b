//! The Lambda adapter (feature `lambda`, on by default): API Gateway HTTP API events in and out
//! through `lambda_http`, and one call that serves an endpoint for the life of the execution
//! environment.
//!
//! ```no_run
//! use replaysafe::http::{Incoming, Reply};
//! use replaysafe::Guard;
//!
//! async fn health(guard: &Guard, req: Incoming<'_>) -> Reply {
//!     guard.read(&req, async { Ok(()) }).await?;
//!     Ok(replaysafe::http::json(200, &"ok"))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_http::Error> {
//!     replaysafe::lambda::run(Guard::from_env().await?, "GET /health", health).await
//! }
//! ```

use std::future::Future;
use std::time::{Duration, Instant, UNIX_EPOCH};

use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Request, RequestExt};

use crate::error::{GuardError, Problem};
use crate::guard::Guard;
use crate::http::{conclude, respond_route, route_matches, At, Incoming, Reply, Response};

/// An endpoint: an async fn of the app (anything that lends the [`Guard`]) and a request,
/// answering a response or an error. Implemented for every such function.
pub trait Endpoint<'a, A: 'a, E>: Fn(&'a A, Incoming<'a>) -> Self::Answer {
    /// The endpoint's future.
    type Answer: Future<Output = Reply<E>> + Send + 'a;
}

impl<'a, A: 'a, E, F, Fut> Endpoint<'a, A, E> for F
where
    F: Fn(&'a A, Incoming<'a>) -> Fut,
    Fut: Future<Output = Reply<E>> + Send + 'a,
{
    type Answer = Fut;
}

/// Initialises JSON logs, then hands every event of a queue or stream to `handler` on `app`
/// (built once, at cold start; usually a [`Consumer`](crate::records::Consumer) or an app
/// holding one). The handler's answer is the partial batch response Lambda reads (an
/// EventBridge consumer's failure is the invocation's error, so the event is retried).
pub async fn consume<A, Ev, F, Fut>(app: A, handler: F) -> Result<(), lambda_http::Error>
where
    A: Send + Sync + 'static,
    Ev: serde::de::DeserializeOwned + Send + 'static,
    F: Fn(&'static A, lambda_http::LambdaEvent<Ev>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: crate::records::Answer,
{
    use crate::records::Answer;
    crate::telemetry::init();
    // As in `run`: both live as long as the execution environment.
    let app: &'static A = Box::leak(Box::new(app));
    let handler: &'static F = Box::leak(Box::new(handler));
    lambda_http::lambda_runtime::run(service_fn(
        move |event: lambda_http::LambdaEvent<Ev>| async move {
            handler(app, event)
                .await
                .into_result()
                .map_err(lambda_http::Error::from)
        },
    ))
    .await
}

/// Initialises JSON logs, then serves `endpoint` on `app` (built once, at cold start) for
/// every invocation for `route` (`"POST /orders"`, `"GET /orders/{order_id}"`). Any other
/// method or path gets 404 `not-found` before the guard or the endpoint run: API Gateway
/// routes already, and this keeps a function to its own route wherever it is reached from.
/// Errors become RFC 9457 problems; nothing reaches Lambda as a failure. Every invocation, the
/// 404s included, writes one metric document whose `Route` is `route` (see [`crate::metrics`]).
pub async fn run<A, E, F>(
    app: A,
    route: &'static str,
    endpoint: F,
) -> Result<(), lambda_http::Error>
where
    A: AsRef<Guard> + Send + Sync + 'static,
    E: Problem,
    F: for<'a> Endpoint<'a, A, E> + Send + Sync + 'static,
{
    crate::telemetry::init();
    // Both live as long as the execution environment; leaking them lends them to every
    // invocation without a lock or a reference count.
    let app: &'static A = Box::leak(Box::new(app));
    let endpoint: &'static F = Box::leak(Box::new(endpoint));
    lambda_http::run(service_fn(move |req: Request| async move {
        let incoming = Incoming::from_lambda(&req);
        if !route_matches(route, incoming.method, incoming.path) {
            let at = At {
                method: incoming.method,
                path: incoming.path,
                request_id: incoming.request_id.clone(),
                route: Some(route),
            };
            let refused: Reply = Err(GuardError::NotFound.into());
            return Ok::<_, lambda_http::Error>(to_lambda(conclude(
                app.as_ref(),
                &at,
                Instant::now(),
                refused,
                Default::default(),
            )));
        }
        Ok(to_lambda(
            respond_route(app, route, incoming, endpoint).await,
        ))
    }))
    .await
}

/// Serves one API Gateway request with `endpoint` on `app` (see [`crate::http::respond`]), whatever its
/// route: call it to serve several endpoints from one function. [`serve_route`] names the
/// route in the request's metric document.
///
/// ```
/// use lambda_http::{Body, Request};
/// use replaysafe::http::{json, Incoming, Reply};
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
///     let unsigned: Request = http::Request::get("/health").body(Body::Empty).unwrap();
///     let response = replaysafe::lambda::serve(&guard, &unsigned, health).await;
///     assert_eq!(response.status(), 401);
///     assert_eq!(response.headers()["cache-control"], "no-store");
/// }
/// ```
pub async fn serve<'a, A, E, F, Fut>(
    app: &'a A,
    req: &'a Request,
    endpoint: F,
) -> lambda_http::Response<Body>
where
    A: AsRef<Guard>,
    E: Problem,
    F: FnOnce(&'a A, Incoming<'a>) -> Fut,
    Fut: Future<Output = Reply<E>>,
{
    serve_route(app, None, req, endpoint).await
}

/// [`serve`] for a request on `route` (`"GET /health"`): its metric document's `Route` (see
/// [`crate::http::respond_route`]).
pub async fn serve_route<'a, A, E, F, Fut>(
    app: &'a A,
    route: impl Into<Option<&'a str>>,
    req: &'a Request,
    endpoint: F,
) -> lambda_http::Response<Body>
where
    A: AsRef<Guard>,
    E: Problem,
    F: FnOnce(&'a A, Incoming<'a>) -> Fut,
    Fut: Future<Output = Reply<E>>,
{
    to_lambda(respond_route(app, route, Incoming::from_lambda(req), endpoint).await)
}

/// An empty body goes out as no body at all (a 304), any other as text.
fn to_lambda(response: Response) -> lambda_http::Response<Body> {
    response.map(|body| match body.is_empty() {
        true => Body::Empty,
        false => Body::Text(body),
    })
}

impl<'a> Incoming<'a> {
    /// The view of a `lambda_http` request: its raw path (what the client signed, not the
    /// normalised URI), the invocation's request id (a fresh UUID when there is no Lambda
    /// context, as in a hand-built request) and deadline, and from the request context the
    /// authorizer's word on the caller and the domain name the request was received on.
    pub fn from_lambda(req: &'a Request) -> Self {
        let context = req.lambda_context_ref();
        let request_id = context
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let deadline = context
            .map(|c| c.deadline)
            .filter(|&ms| ms > 0)
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        let (authorizer, domain_name) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (
                ctx.authorizer
                    .as_ref()
                    .and_then(|a| serde_json::to_value(a).ok()),
                // API Gateway's own word on the host it was called on (the custom domain when
                // called through one), where `Host` is only what the client sent.
                ctx.domain_name.as_deref(),
            ),
            _ => (None, None),
        };
        // "@path" is the path as API Gateway received it (rawPath). The URI lambda_http builds
        // from it is normalised (dot segments resolved, some characters re-encoded), so it is
        // not what the client signed. Hand-built requests carry no raw path.
        let path = match req.raw_http_path() {
            "" => req.uri().path(),
            raw => raw,
        };
        Self {
            method: req.method().as_str(),
            path,
            query: req.uri().query(),
            headers: req.headers(),
            domain_name,
            body: req.body().as_ref(),
            request_id,
            authorizer,
            deadline,
        }
    }
}
