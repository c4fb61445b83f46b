//! The client: typed calls on top of one retrying, re-signing `execute`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use replaysafe_signing::{random_nonce, AttemptParams, Signer};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::attempts::Ledger;
use crate::credentials::Credentials;
use crate::error::{Error, Problem, ProblemCode};
use crate::prepared::{now_unix, PreparedRequest};
use crate::retry::{parse_retry_after, verdict, Resign, RetryPolicy, Verdict, EXPIRES_MARGIN};
use crate::transport::{self, SendError};
use crate::types::{
    check_id, Account, Conditional, Created, Fetched, IdempotencyKey, NewAccount, NewTransfer,
    Transfer,
};

/// A retry about to happen, for logging (see [`ClientBuilder::on_retry`]).
#[derive(Debug, Clone)]
pub struct RetryEvent {
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// Why: `503 unavailable`, `409 request-in-progress`, `401 nonce-reused`, or the transport
    /// error.
    pub reason: String,
    /// The wait before the next attempt.
    pub delay: Duration,
    /// The operation's key, which the next attempt carries again (None for a GET).
    pub idempotency_key: Option<IdempotencyKey>,
}

type RetryHook = Arc<dyn Fn(&RetryEvent) + Send + Sync>;

/// An answer as received, after the retry policy.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// HTTP requests it took.
    pub attempts: u32,
    /// The key the request carried (a POST).
    pub idempotency_key: Option<IdempotencyKey>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status) || self.status == 304
    }

    /// The problem, for an error status, with the request's key.
    pub fn problem(&self) -> Problem {
        let retry_after = self.header("retry-after").and_then(parse_retry_after);
        Problem {
            idempotency_key: self.idempotency_key.clone(),
            ..Problem::from_answer(self.status, &self.body, retry_after)
        }
    }

    /// The problem code, when the body is a problem document.
    fn code(&self) -> Option<ProblemCode> {
        if self.is_success() {
            return None;
        }
        Some(self.problem().code)
    }
}

pub struct ClientBuilder {
    endpoint: String,
    signer: Signer,
    policy: RetryPolicy,
    on_retry: Option<RetryHook>,
    connect_timeout: Duration,
}

impl ClientBuilder {
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Called before every retry (e.g. to log it).
    pub fn on_retry(mut self, hook: impl Fn(&RetryEvent) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// Time to establish a connection (default 5 s), within the attempt's timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the client. Installs rustls' ring provider as the process default when none is
    /// installed yet (HTTPS endpoints need one; this workspace never uses aws-lc).
    pub fn build(self) -> Result<Client, Error> {
        let url = reqwest::Url::parse(&self.endpoint).map_err(|e| {
            Error::InvalidInput(format!("invalid endpoint {:?}: {e}", self.endpoint))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::InvalidInput(format!(
                "invalid endpoint {:?}: expected http(s)://host[:port][/base]",
                self.endpoint
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::InvalidInput(format!(
                "invalid endpoint {:?}: no query or fragment",
                self.endpoint
            )));
        }
        if self.policy.max_attempts == 0 {
            return Err(Error::InvalidInput(
                "max attempts must be at least 1".into(),
            ));
        }
        let origin = url.origin().ascii_serialization();
        let base_path = url.path().trim_end_matches('/').to_owned();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = transport::http_client(self.connect_timeout)
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                origin,
                base_path,
                signer: self.signer,
                policy: self.policy,
                on_retry: self.on_retry,
                ledger: Ledger::default(),
            }),
        })
    }
}

/// A client of the API for one set of credentials. Cheap to clone (shared connection pool, and
/// shared memory of the keys it signed: each key's latest `created`, and which keys have an
/// operation running, so a clone never runs a second operation with a key at the same time).
///
/// It follows no redirect (the signature does not cover the host, so a redirect would hand a
/// valid attempt, and on 307/308 its body, to wherever it points) and reads at most
/// [`crate::MAX_ANSWER_BYTES`] of an answer.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `http://127.0.0.1:9000`
    origin: String,
    /// The endpoint's path (no trailing slash), prefixed to every request's path and signed.
    base_path: String,
    signer: Signer,
    policy: RetryPolicy,
    on_retry: Option<RetryHook>,
    ledger: Ledger,
}

impl Client {
    /// A client with the default [`RetryPolicy`].
    pub fn new(endpoint: &str, credentials: &Credentials) -> Result<Self, Error> {
        Self::builder(endpoint, credentials)?.build()
    }

    pub fn builder(endpoint: &str, credentials: &Credentials) -> Result<ClientBuilder, Error> {
        Ok(Self::builder_with_signer(endpoint, credentials.signer()?))
    }

    pub fn builder_with_signer(endpoint: &str, signer: Signer) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.to_owned(),
            signer,
            policy: RetryPolicy::default(),
            on_retry: None,
            connect_timeout: Duration::from_secs(5),
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    pub fn client_id(&self) -> &str {
        &self.inner.signer.client_id
    }

    /// The URL a request path goes to.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{path}", self.inner.origin, self.inner.base_path)
    }

    // ---- Typed calls ----

    /// `POST /accounts` with a fresh key.
    pub async fn create_account(&self, account: &NewAccount) -> Result<Created<Account>, Error> {
        self.create_account_with_key(account, IdempotencyKey::new_v4())
            .await
    }

    /// `POST /accounts` under `key`: the same key and body again returns the stored answer.
    pub async fn create_account_with_key(
        &self,
        account: &NewAccount,
        key: IdempotencyKey,
    ) -> Result<Created<Account>, Error> {
        if let Some(id) = &account.account_id {
            check_id("account", id)?;
        }
        self.create("/accounts", json_body(account), key).await
    }

    /// `GET /accounts/{id}`.
    pub async fn get_account(&self, account_id: &str) -> Result<Fetched<Account>, Error> {
        check_id("account", account_id)?;
        let response = self
            .execute(
                "GET",
                &format!("/accounts/{account_id}"),
                Vec::new(),
                None,
                &[],
            )
            .await?;
        fetched(response)
    }

    /// `GET /accounts/{id}` with `If-None-Match: etag`: [`Conditional::NotModified`] on 304.
    pub async fn get_account_if_none_match(
        &self,
        account_id: &str,
        etag: &str,
    ) -> Result<Conditional<Account>, Error> {
        check_id("account", account_id)?;
        if etag.contains(['\r', '\n']) {
            return Err(Error::InvalidInput("an ETag has no line breaks".into()));
        }
        let path = format!("/accounts/{account_id}");
        let response = self
            .execute("GET", &path, Vec::new(), None, &[("if-none-match", etag)])
            .await?;
        if response.status == 304 {
            return Ok(Conditional::NotModified {
                etag: response.header("etag").map(str::to_owned),
            });
        }
        fetched(response).map(Conditional::Modified)
    }

    /// `POST /transfers` with a fresh key.
    pub async fn create_transfer(
        &self,
        transfer: &NewTransfer,
    ) -> Result<Created<Transfer>, Error> {
        self.create_transfer_with_key(transfer, IdempotencyKey::new_v4())
            .await
    }

    /// `POST /transfers` under `key`: the same key and body again (e.g. after a crash, within
    /// the server's idempotency retention) returns the stored answer, never a second transfer.
    pub async fn create_transfer_with_key(
        &self,
        transfer: &NewTransfer,
        key: IdempotencyKey,
    ) -> Result<Created<Transfer>, Error> {
        check_id("account", &transfer.from)?;
        check_id("account", &transfer.to)?;
        self.create("/transfers", json_body(transfer), key).await
    }

    /// `GET /transfers/{id}`.
    pub async fn get_transfer(&self, transfer_id: &str) -> Result<Fetched<Transfer>, Error> {
        check_id("transfer", transfer_id)?;
        let response = self
            .execute(
                "GET",
                &format!("/transfers/{transfer_id}"),
                Vec::new(),
                None,
                &[],
            )
            .await?;
        fetched(response)
    }

    async fn create<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
        key: IdempotencyKey,
    ) -> Result<Created<T>, Error> {
        let response = self.execute("POST", path, body, Some(&key), &[]).await?;
        if !(200..300).contains(&response.status) {
            return Err(Error::Api(response.problem()));
        }
        Ok(Created {
            value: decode(&response)?,
            replayed: response.replayed(),
            idempotency_key: key,
            location: response.header("location").map(str::to_owned),
            attempts: response.attempts,
        })
    }

    // ---- The retry loop ----

    /// Sends one logical request under the retry policy: every attempt is signed anew (a
    /// `created` later than the previous attempt's under the same key, a short `expires`, a
    /// random nonce) with the same `idempotency_key` and the same `body` bytes, one attempt at
    /// a time; a second call with the same key waits until this one is done.
    /// Returns the final answer whatever its status (use [`RawResponse::problem`]); errs when
    /// no answer arrived, or an unreadable one. `path` is relative to the endpoint and may
    /// carry a query. `extra_headers` are sent unsigned (e.g. `if-none-match`).
    pub async fn execute(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        idempotency_key: Option<&IdempotencyKey>,
        extra_headers: &[(&str, &str)],
    ) -> Result<RawResponse, Error> {
        check_path(path)?;
        if method.eq_ignore_ascii_case("POST") && idempotency_key.is_none() {
            return Err(Error::InvalidInput(
                "a POST needs an Idempotency-Key".into(),
            ));
        }
        // Held until the operation ends: never two operations of one key in flight.
        let _hold = match idempotency_key {
            Some(key) => Some(self.inner.ledger.hold(key).await),
            None => None,
        };
        let policy = &self.inner.policy;
        let started = Instant::now();
        let mut resigned: Vec<Resign> = Vec::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = policy.max_elapsed.saturating_sub(started.elapsed());
            let timeout = policy
                .attempt_timeout
                .min(left)
                .max(Duration::from_millis(1));
            let mut request = self.sign_attempt(method, path, &body, idempotency_key, timeout);
            for (name, value) in extra_headers {
                request.set_header(name, *value);
            }
            // Awaited to its end (answer or timeout) before anything else is signed.
            let outcome = self.send(&request, timeout).await;
            let (verdict, retry_after, reason) = match &outcome {
                Ok(r) => {
                    let code = r.code();
                    let reason = match &code {
                        Some(c) if !c.as_str().is_empty() => format!("{} {c}", r.status),
                        _ => format!("HTTP {}", r.status),
                    };
                    let after = r.header("retry-after").and_then(parse_retry_after);
                    (verdict(r.status, code.as_ref()), after, reason)
                }
                Err(e) if e.too_long => (Verdict::Final, None, e.to_string()),
                Err(e) => (Verdict::Retry, None, e.to_string()),
            };
            let delay = match verdict {
                Verdict::Final => None,
                Verdict::Resign(why) if resigned.contains(&why) => None,
                Verdict::Resign(why) => {
                    resigned.push(why);
                    Some(Duration::ZERO)
                }
                Verdict::Retry => {
                    Some(policy.backoff(attempt).max(retry_after.unwrap_or_default()))
                }
            };
            let delay = delay.filter(|delay| {
                // checked: a hostile Retry-After may be near u64::MAX seconds.
                attempt < policy.max_attempts
                    && started
                        .elapsed()
                        .checked_add(*delay)
                        .is_some_and(|end| end < policy.max_elapsed)
            });
            let Some(delay) = delay else {
                return match outcome {
                    Ok(mut r) => {
                        r.attempts = attempt;
                        Ok(r)
                    }
                    Err(e) => Err(self.no_answer(&request, e, attempt)),
                };
            };
            if let Some(hook) = &self.inner.on_retry {
                hook(&RetryEvent {
                    attempt,
                    reason,
                    delay,
                    idempotency_key: idempotency_key.cloned(),
                });
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// Signs the next attempt: `created` after every earlier attempt of the key, `expires` when
    /// waiting for its answer ends plus a margin.
    fn sign_attempt(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
        timeout: Duration,
    ) -> PreparedRequest {
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
    /// forgot it: it remembers the last few thousand keys). A later attempt of the operation
    /// must be signed after it: the server fences a refused attempt's `created`.
    pub fn last_created(&self, key: &IdempotencyKey) -> Option<i64> {
        self.inner.ledger.last_created(key)
    }

    /// Waits until the wall clock is past the second of the latest attempt signed under `key`
    /// (at most 10 s), so that another process resuming the operation after this one ends
    /// signs a later `created` and is not refused as `attempt-superseded`. This client needs no
    /// such wait: it signs later by itself. For a program that exits after a refusal or an
    /// unknown outcome (the CLI does this).
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

    /// Signs a request with the given signature parameters.
    pub fn prepare_attempt(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
        attempt: &AttemptParams,
    ) -> PreparedRequest {
        let full_path = format!("{}{path}", self.inner.base_path);
        PreparedRequest::sign(
            &self.inner.signer,
            method,
            &full_path,
            body,
            idempotency_key,
            attempt,
        )
    }

    /// Sends `request` exactly as it is, once: no retry, no re-signing (what `replay` and an
    /// attacker do). Errs only when no answer arrived, or an unreadable one.
    pub async fn send_once(&self, request: &PreparedRequest) -> Result<RawResponse, Error> {
        self.send(request, self.inner.policy.attempt_timeout)
            .await
            .map_err(|e| self.no_answer(request, e, 1))
    }

    async fn send(
        &self,
        request: &PreparedRequest,
        timeout: Duration,
    ) -> Result<RawResponse, SendError> {
        let url = format!("{}{}", self.inner.origin, request.path);
        let answer = transport::send(&self.inner.http, &url, request, timeout).await?;
        Ok(RawResponse {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            attempts: 1,
            idempotency_key: key_of(request),
        })
    }

    /// The error for an attempt that got no usable answer, with the request's key.
    fn no_answer(&self, request: &PreparedRequest, e: SendError, attempts: u32) -> Error {
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

fn json_body<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("request bodies serialize")
}

fn decode<T: DeserializeOwned>(response: &RawResponse) -> Result<T, Error> {
    serde_json::from_slice(&response.body).map_err(|e| Error::Protocol {
        message: format!(
            "{} answer is not the expected JSON ({e}): {}",
            response.status,
            String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect::<String>()
        ),
        idempotency_key: response.idempotency_key.clone(),
    })
}

fn fetched<T: DeserializeOwned>(response: RawResponse) -> Result<Fetched<T>, Error> {
    if response.status != 200 {
        return Err(Error::Api(response.problem()));
    }
    Ok(Fetched {
        value: decode(&response)?,
        etag: response.header("etag").map(str::to_owned),
        attempts: response.attempts,
    })
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
