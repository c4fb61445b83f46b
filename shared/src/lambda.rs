//! The Lambda adapter: one call serves an endpoint for the life of the execution environment.
//!
//! ```no_run
//! use replaysafe::http::{Incoming, Reply};
//! use replaysafe::Guard;
//!
//! async fn health(guard: &Guard, req: Incoming<'_>) -> Reply {
//!     let (_signed, ()) = guard.admit_read(&req, async { Ok(()) }).await?;
//!     Ok(replaysafe::http::json(200, &"ok"))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_http::Error> {
//!     replaysafe::lambda::run(Guard::from_env().await?, health).await
//! }
//! ```

use std::future::Future;

use lambda_http::{service_fn, Request};

use crate::error::Problem;
use crate::guard::Guard;
use crate::http::{serve, Incoming, Reply};

/// An endpoint: an async fn of the app (anything that lends the [`Guard`]) and a request,
/// answering a response or an error of type `E`. Implemented for every such function.
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

/// Initialises JSON logs, then serves `endpoint` on `app` (built once, at cold start) for
/// every invocation. Errors become RFC 9457 problems; nothing reaches Lambda as a failure.
pub async fn run<A, E, F>(app: A, endpoint: F) -> Result<(), lambda_http::Error>
where
    A: AsRef<Guard> + Send + Sync + 'static,
    E: Problem + 'static,
    F: for<'a> Endpoint<'a, A, E> + Send + Sync + 'static,
{
    crate::telemetry::init();
    // Both live as long as the execution environment; leaking them lends them to every
    // invocation without a lock or a reference count.
    let app: &'static A = Box::leak(Box::new(app));
    let endpoint: &'static F = Box::leak(Box::new(endpoint));
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, lambda_http::Error>(serve(app, &req, endpoint).await)
    }))
    .await
}
