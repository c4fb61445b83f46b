//! Every request this client sends or hands out is signed here (or, for a bearer-token client,
//! given its `Authorization` here). An operation's attempts are signed with a `created` from the
//! ledger, always later than the attempt before under the same key, because the server fences a
//! refused attempt's `created` and refuses anything signed at or before it (409
//! `attempt-superseded`). A bearer-token attempt has no `created`: the ledger is not used.

use std::time::Duration;

use replaysafe_signing::{random_nonce, AttemptParams};

use super::Client;
use crate::auth::Auth;
use crate::error::Error;
use crate::prepared::{now_unix, PreparedRequest};
use crate::retry::EXPIRES_MARGIN;
use crate::types::IdempotencyKey;

impl Client {
    /// Signs the next attempt: `created` after every earlier attempt of the key, `expires` when
    /// waiting for its answer ends plus a margin. A bearer-token attempt is the same request
    /// every time.
    pub(super) fn sign_attempt(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
        timeout: Duration,
    ) -> PreparedRequest {
        if let Auth::Bearer(token) = &self.inner.auth {
            let full_path = format!("{}{path}", self.inner.base_path);
            return PreparedRequest::bearer(token, method, &full_path, body, idempotency_key);
        }
        let now = now_unix();
        let created = match idempotency_key {
            Some(key) => self.inner.ledger.next_created(key, now),
            None => now,
        };
        let lifetime = (timeout + EXPIRES_MARGIN).as_secs_f64().ceil() as i64;
        let nonce = random_nonce();
        let attempt = AttemptParams {
            created,
            expires: Some(created.saturating_add(lifetime)),
            nonce: &nonce,
        };
        self.prepare_attempt(method, path, body, idempotency_key, &attempt)
    }

    /// The latest `created` this client signed under `key` (None if it signed none, or
    /// forgot it: it remembers the last few thousand keys; always None for a bearer-token
    /// client, which signs nothing). A later attempt of the operation
    /// must be signed after it: the server fences a refused attempt's `created`.
    pub fn last_created(&self, key: &IdempotencyKey) -> Option<i64> {
        self.inner.ledger.last_created(key)
    }

    /// Waits until the wall clock is past the second of the latest attempt signed under `key`
    /// (at most 10 s), so that another process resuming the operation after this one ends
    /// signs a later `created` and is not refused as `attempt-superseded`. This client needs no
    /// such wait: it signs later by itself. For a program that exits after a refusal or an
    /// unknown outcome (the CLI does this). Returns at once for a bearer-token client.
    pub async fn wait_past_last_attempt(&self, key: &IdempotencyKey) {
        let Some(last) = self.last_created(key) else {
            return;
        };
        let past =
            std::time::UNIX_EPOCH + Duration::from_secs(last.saturating_add(1).max(0) as u64);
        if let Ok(wait) = past.duration_since(std::time::SystemTime::now()) {
            tokio::time::sleep(wait.min(Duration::from_secs(10))).await;
        }
    }

    /// Signs a request now, with a random nonce and no `expires` (for a request sent by hand,
    /// later: `replaysafe sign`). `path` is relative to the endpoint.
    pub fn prepare(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
    ) -> PreparedRequest {
        self.prepare_at(
            method,
            path,
            body,
            idempotency_key,
            now_unix(),
            &random_nonce(),
        )
    }

    /// Signs a request with a given `created` and nonce, and no `expires`.
    pub fn prepare_at(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
        created: i64,
        nonce: &str,
    ) -> PreparedRequest {
        let attempt = AttemptParams {
            created,
            expires: None,
            nonce,
        };
        self.prepare_attempt(method, path, body, idempotency_key, &attempt)
    }

    /// Signs a request with the given signature parameters. A bearer-token client ignores
    /// them: its request carries the token ([`PreparedRequest::bearer`]).
    pub fn prepare_attempt(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
        attempt: &AttemptParams,
    ) -> PreparedRequest {
        let full_path = format!("{}{path}", self.inner.base_path);
        match &self.inner.auth {
            Auth::Signature(signer) => {
                PreparedRequest::sign(signer, method, &full_path, body, idempotency_key, attempt)
            }
            Auth::Bearer(token) => {
                PreparedRequest::bearer(token, method, &full_path, body, idempotency_key)
            }
        }
    }
}

/// A request path must start with `/` and hold no whitespace or control characters: the
/// signature base is line-based, and a line break in `@path` could forge another component.
pub fn check_path(path: &str) -> Result<(), Error> {
    if path.starts_with('/') && !path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "a path starts with / and holds no spaces or control characters: {path:?}"
        )))
    }
}
