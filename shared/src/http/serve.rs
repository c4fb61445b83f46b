use std::future::Future;
use std::time::Instant;

use lambda_http::{Body, Request, Response};

use super::{finish, Incoming, Reply};
use crate::error::Problem;
use crate::guard::Guard;

/// Runs one endpoint on `app` (anything that lends the [`Guard`]) and logs one structured line
/// for it: never a header value, a body, a secret or a signature.
pub async fn serve<'a, A, E, F, Fut>(app: &'a A, req: &'a Request, endpoint: F) -> Response<Body>
where
    A: AsRef<Guard>,
    E: Problem,
    F: FnOnce(&'a A, Incoming<'a>) -> Fut,
    Fut: Future<Output = Reply<E>>,
{
    let started = Instant::now();
    let incoming = Incoming::from_lambda(req);
    let (method, path, request_id) = (incoming.method, incoming.path, incoming.request_id.clone());
    let reply = endpoint(app, incoming).await;
    let code = reply.as_ref().err().map(|e| e.code().to_owned());
    let response = finish(reply, &app.as_ref().config().problem_type_base);
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
