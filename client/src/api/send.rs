//! One attempt on the wire, with no policy: the retry loop and `send_once` (what `replay` and
//! an attacker do) share it, so both see the same answers and the same errors. An error keeps
//! the request's key, because a POST that got no answer may still have taken effect.

use std::time::Duration;

use super::response::RawResponse;
use super::Client;
use crate::error::Error;
use crate::prepared::PreparedRequest;
use crate::transport::{self, SendError};
use crate::types::IdempotencyKey;

impl Client {
    /// Sends `request` exactly as it is, once: no retry, no re-signing (what `replay` and an
    /// attacker do). Errs only when no answer arrived, or an unreadable one.
    pub async fn send_once(&self, request: &PreparedRequest) -> Result<RawResponse, Error> {
        self.send(request, self.inner.policy.attempt_timeout)
            .await
            .map_err(|e| self.no_answer(request, e, 1))
    }

    pub(super) async fn send(
        &self,
        request: &PreparedRequest,
        timeout: Duration,
    ) -> Result<RawResponse, SendError> {
        let url = format!("{}{}", self.inner.origin, request.path);
        let answer = transport::send(&self.inner.http, &url, request, timeout).await?;
        let mut response = RawResponse {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            attempts: 1,
            idempotency_key: key_of(request),
            settles: false,
        };
        // As the only attempt; the retry loop judges again with the attempts before it.
        response.settles = response.judge_settles(self.inner.auth.scheme(), false);
        Ok(response)
    }

    /// The error for an attempt that got no usable answer, with the request's key.
    pub(super) fn no_answer(
        &self,
        request: &PreparedRequest,
        e: SendError,
        attempts: u32,
    ) -> Error {
        let idempotency_key = key_of(request);
        if e.too_long {
            return Error::Protocol {
                message: e.message,
                idempotency_key,
            };
        }
        Error::Transport {
            url: format!("{}{}", self.inner.origin, request.path),
            message: e.message,
            attempts,
            timed_out: e.timed_out,
            idempotency_key,
        }
    }
}

fn key_of(request: &PreparedRequest) -> Option<IdempotencyKey> {
    request
        .header("idempotency-key")
        .and_then(|k| IdempotencyKey::parse(k).ok())
}
