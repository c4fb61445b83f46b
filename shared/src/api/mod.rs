//! The four endpoints: each parses, asks the guard and the store, and maps the outcome to a
//! response. The functions' `main.rs` only wires one of these to the Lambda runtime.

mod accounts;
mod transfers;

use std::time::Instant;

use lambda_http::{Body, Request, Response};

pub use accounts::{create_account, get_account};
pub use transfers::{create_transfer, get_transfer};

use crate::guard::Guard;
use crate::http::{finish, Incoming, Reply};

/// Runs one endpoint and logs one structured line for it: never a header value, a body, a
/// secret or a signature.
pub async fn serve<'a, F, Fut>(guard: &'a Guard, req: &'a Request, endpoint: F) -> Response<Body>
where
    F: FnOnce(&'a Guard, Incoming<'a>) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let started = Instant::now();
    let incoming = Incoming::from_lambda(req);
    let (method, path, request_id) = (incoming.method, incoming.path, incoming.request_id.clone());
    let reply = endpoint(guard, incoming).await;
    let code = reply.as_ref().err().map(|e| e.code().to_owned());
    let response = finish(reply);
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

/// Lambda's entry point for an endpoint: errors always become problem responses.
pub async fn handle<'a, F, Fut>(
    guard: &'a Guard,
    req: &'a Request,
    endpoint: F,
) -> Result<Response<Body>, lambda_http::Error>
where
    F: FnOnce(&'a Guard, Incoming<'a>) -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    Ok(serve(guard, req, endpoint).await)
}
