//! The client: typed calls on top of one retrying, re-signing `execute`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use replaysafe_signing::{random_nonce, Signer};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::credentials::Credentials;
use crate::error::{Error, Problem, ProblemCode};
use crate::prepared::{now_unix, PreparedRequest};
use crate::retry::{parse_retry_after, verdict, RetryPolicy, Verdict};
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

    /// The problem, for an error status.
    pub fn problem(&self) -> Problem {
        let retry_after = self.header("retry-after").and_then(parse_retry_after);
        Problem::from_answer(self.status, &self.body, retry_after)
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
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("replaysafe-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                origin,
                base_path,
                signer: self.signer,
                policy: self.policy,
                on_retry: self.on_retry,
            }),
        })
    }
}

/// A client of the API for one set of credentials. Cheap to clone (shared connection pool).
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

    /// Sends one logical request under the retry policy: every attempt is signed anew (fresh
    /// `created`, random nonce) with the same `idempotency_key` and the same `body` bytes.
    /// Returns the final answer whatever its status (use [`RawResponse::problem`]); errs only
    /// when no answer arrived. `path` is relative to the endpoint and may carry a query.
    /// `extra_headers` are sent unsigned (e.g. `if-none-match`).
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
        let policy = &self.inner.policy;
        let started = Instant::now();
        let mut resigned = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.prepare(method, path, &body, idempotency_key);
            for (name, value) in extra_headers {
                request.set_header(name, *value);
            }
            let left = policy.max_elapsed.saturating_sub(started.elapsed());
            let timeout = policy
                .attempt_timeout
                .min(left)
                .max(Duration::from_millis(1));
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
                Err(e) => (Verdict::Retry, None, e.to_string()),
            };
            let delay = match verdict {
                Verdict::Final => None,
                Verdict::Resign if resigned => None,
                Verdict::Resign => {
                    resigned = true;
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
                    Err(e) => Err(Error::Transport {
                        url: self.url(path),
                        message: e.to_string(),
                        attempts: attempt,
                        timed_out: e.timed_out,
                    }),
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

    /// Signs a request now, with a random nonce. `path` is relative to the endpoint.
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

    /// Signs a request with a given `created` and nonce.
    pub fn prepare_at(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&IdempotencyKey>,
        created: i64,
        nonce: &str,
    ) -> PreparedRequest {
        let full_path = format!("{}{path}", self.inner.base_path);
        PreparedRequest::sign(
            &self.inner.signer,
            method,
            &full_path,
            body,
            idempotency_key,
            created,
            nonce,
        )
    }

    /// Sends `request` exactly as it is, once: no retry, no re-signing (what `replay` and an
    /// attacker do). Errs only when no answer arrived.
    pub async fn send_once(&self, request: &PreparedRequest) -> Result<RawResponse, Error> {
        self.send(request, self.inner.policy.attempt_timeout)
            .await
            .map_err(|e| Error::Transport {
                url: format!("{}{}", self.inner.origin, request.path),
                message: e.to_string(),
                attempts: 1,
                timed_out: e.timed_out,
            })
    }

    async fn send(
        &self,
        request: &PreparedRequest,
        timeout: Duration,
    ) -> Result<RawResponse, SendError> {
        let url = format!("{}{}", self.inner.origin, request.path);
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| SendError {
                message: format!("not an HTTP method: {:?}", request.method),
                timed_out: false,
            })?;
        let mut builder = self.inner.http.request(method, &url).timeout(timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body.clone());
        }
        let response = builder.send().await.map_err(SendError::from)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // An answer cut off mid-body is no answer: retried like a lost one.
        let body = response.bytes().await.map_err(SendError::from)?.to_vec();
        Ok(RawResponse {
            status,
            headers,
            body,
            attempts: 1,
        })
    }
}

/// A transport failure of one attempt.
struct SendError {
    message: String,
    timed_out: bool,
}

impl From<reqwest::Error> for SendError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display is "error sending request for url (…)"; the cause is in the sources.
        let mut message = if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            "connection failed".to_owned()
        };
        let mut source = std::error::Error::source(&e);
        let mut last = String::new();
        while let Some(s) = source {
            let text = s.to_string();
            // hyper-util's "client error (Connect)" layers say nothing the next source does not.
            let noise = text.starts_with("client error (");
            if !text.is_empty() && !noise && !last.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
                last = text;
            }
            source = s.source();
        }
        SendError {
            message,
            timed_out: e.is_timeout(),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn json_body<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("request bodies serialize")
}

fn decode<T: DeserializeOwned>(response: &RawResponse) -> Result<T, Error> {
    serde_json::from_slice(&response.body).map_err(|e| {
        Error::Protocol(format!(
            "{} answer is not the expected JSON ({e}): {}",
            response.status,
            String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect::<String>()
        ))
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
