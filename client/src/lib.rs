//! Client for the replaysafe payments API, in either of its deployment modes:
//!
//! - **`signature`** (the default deployment): the client signs every attempt with its
//!   credentials ([`Client::builder`], [`Auth::Signature`]), as described below;
//! - **`jwt`**, behind an API Gateway JWT authorizer: the client sends `Authorization: Bearer
//!   <token>` ([`Client::builder_with_token`], [`Auth::Bearer`]); see
//!   [Bearer tokens](#bearer-tokens-jwt-mode).
//!
//! It does what a caller of a replay-safe API must do, by default:
//!
//! - **signs every attempt** per the contract (RFC 9421 HMAC-SHA256 over `@method`, `@path`,
//!   `@query`, `content-digest`, `idempotency-key`; RFC 9530 `Content-Digest`), with a random
//!   nonce, a `created` later than the previous attempt's under the same key (`max(now,
//!   previous + 1)`, even if the clock steps back), and a short `expires` (`created` + the
//!   attempt's timeout + [`EXPIRES_MARGIN`]): an attempt lost on the way is refused as stale a
//!   few seconds later instead of staying deliverable for the whole replay window;
//! - **one `Idempotency-Key` per logical operation** (a UUID v4 unless you give one), kept across
//!   every retry of that operation, with the **same body bytes** (serialized once);
//! - **one attempt at a time, never hedged**: the next attempt is signed only once the previous
//!   one was answered or given up, and a second call with a key already running waits for it.
//!   The answer to the latest-signed attempt is the operation's outcome;
//! - **retries what is safe to retry**: connection errors, timeouts, 5xx (503 `unavailable`
//!   included), 409 `request-in-progress`, and 429 (API Gateway's throttling, answered before
//!   the function runs), with exponential backoff, full jitter, a cap, and `Retry-After`
//!   honoured. It never retries any other 4xx: those stored nothing and will not change by
//!   themselves;
//! - **re-signs once, at once, with the same key** on 401 `nonce-reused` (the server consumed
//!   that nonce but the answer never arrived: a new nonce gets the operation's stored answer),
//!   and once on 401 `signature-invalid`, 401 `signature-missing` or 400 `digest-mismatch` (an
//!   honest client and server never produce them: the bytes were changed on the way, and the
//!   untampered copy may still be held);
//! - **settles its own attempts**: after a refusal the server fences the key at the refused
//!   attempt's `created`, so no earlier attempt can ever take effect. A retry you ask for with
//!   the same key (the cause fixed) is signed after it (the client remembers each key's latest
//!   `created`, see [`Client::last_created`]), so it proceeds. 409 `attempt-superseded` means an
//!   attempt was not signed after such a fence: see [`ProblemCode::AttemptSuperseded`];
//! - **says when an outcome is unknown**: a 5xx, 429, 409 `request-in-progress`, a timeout, a
//!   lost answer, a 401 `nonce-reused`, an answer to altered bytes, a redirect and an
//!   unreadable answer are not outcomes of a POST (another copy of an attempt may have taken
//!   effect). When it gives up on one, the error says so ([`Error::outcome_unknown`]) and, like
//!   every error of a POST, carries the key ([`Error::idempotency_key`]): resume the operation
//!   with that key, never a new one, or it may execute twice;
//! - **follows no redirect** (the signature does not cover the host: a redirect would hand a
//!   valid attempt, and on 307/308 its body, to wherever it points) and **reads at most
//!   [`MAX_ANSWER_BYTES`]** of an answer (longer: [`Error::Protocol`]);
//! - **stops well within the idempotency retention**: [`RetryPolicy::max_elapsed`] (5 min by
//!   default) bounds the whole operation, while the server keeps a key's answer for
//!   `IDEMPOTENCY_TTL_SECONDS` (24 h by default). A retry later than the retention would be a
//!   new operation, so the client must never get near it. If you persist a key to resume an
//!   operation after a crash ([`Client::create_transfer_with_key`]), resume it within the
//!   retention too. A process that exits after a refusal or an unknown outcome, to be resumed
//!   by another one, calls [`Client::wait_past_last_attempt`] first, so that the other signs
//!   later.
//!
//! Results say what happened: [`Created::replayed`] is true when the answer is the stored answer
//! of an earlier request with the same key (`Idempotent-Replayed: true`), and
//! [`Created::idempotency_key`] is the key to quote when asking about the operation. Failures
//! are typed: [`Error::Api`] carries the RFC 9457 [`ProblemDetails`] with the contract's
//! [`ProblemCode`]; [`Error::Transport`] means no answer arrived.
//!
//! ```no_run
//! # async fn demo() -> Result<(), replaysafe_client::Error> {
//! use replaysafe_client::{Client, Credentials, NewTransfer, ProblemCode, Error};
//!
//! let credentials = Credentials::from_file(".local/demo-client.json")?;
//! let client = Client::new("http://127.0.0.1:9000", &credentials)?;
//! let transfer = NewTransfer::new("acc_alice", "acc_bob", 1500, "EUR");
//! match client.create_transfer(&transfer).await {
//!     Ok(created) => println!("{} (replayed: {})", created.value.transfer_id, created.replayed),
//!     Err(Error::Api(p)) if p.code == ProblemCode::InsufficientFunds => println!("not enough money"),
//!     // Keep the key: resuming with it returns the operation's answer, never a second transfer.
//!     Err(e) if e.outcome_unknown() => println!("unknown, resume with {:?}", e.idempotency_key()),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! # Bearer tokens (`jwt` mode)
//!
//! ```no_run
//! # async fn demo() -> Result<(), replaysafe_client::Error> {
//! use replaysafe_client::{Client, Error, NewTransfer};
//!
//! let token = std::env::var("REPLAYSAFE_TOKEN").unwrap_or_default(); // a JWT
//! let client = Client::builder_with_token("https://api.example.com", &token)?.build()?;
//! let transfer = NewTransfer::new("acc_alice", "acc_bob", 1500, "EUR");
//! match client.create_transfer(&transfer).await {
//!     Ok(created) => println!("{}", created.value.transfer_id),
//!     // The key's stored answer: the same key gets it again; fix the cause, use a new key.
//!     Err(Error::Api(p)) if p.replayed => println!("refused for good: {p}"),
//!     Err(e) if e.outcome_unknown() => println!("unknown, resume with {:?}", e.idempotency_key()),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! The same discipline holds: one `Idempotency-Key` per operation with the same body bytes on
//! every attempt (each with `Content-Digest`, which the API checks when sent), one attempt at a
//! time, the same retries, `Retry-After`, the same time bound and the same unknown outcomes. What
//! differs:
//!
//! - **nothing is signed**: no signature, nonce, `created` or `expires`; [`Client::last_created`]
//!   is None and [`Client::wait_past_last_attempt`] returns at once. The token goes unchanged on
//!   every attempt: if it expires during an operation, API Gateway answers 401 and the client
//!   stops; resume with the same key and a fresh token;
//! - **a refusal is stored**: the API stores a business refusal (404 `not-found`, 409
//!   `account-exists`, `currency-mismatch`, `insufficient-funds`) under the key as its final
//!   answer, and replays it with `Idempotent-Replayed: true`. The client takes any replayed
//!   answer as final and settled, never retries it, and marks it ([`ProblemDetails::replayed`], and
//!   the error's text says so). Asking again with the same key gets the same refusal for the
//!   whole retention: once the cause is fixed, a new operation needs a **new** key. (A signing
//!   client's refusal is not stored, which is why it may retry the same key.) A 400 and a 5xx
//!   store nothing;
//! - **the authorizer answers before the API**: its 401 or 403 (a missing, bad or expired token)
//!   means that attempt reached no function. On the first attempt it settles the operation
//!   (nothing happened); after an attempt that got no settling answer it does not, and the
//!   error says the outcome is unknown ([`ProblemDetails::settles`]);
//! - a 401 `signature-*` or `nonce-reused` (a `signature`-mode API) is final: nothing to sign.
//!
//! What `jwt` mode does not protect against: a captured request with a valid token, sent again
//! under a new key, is a new operation (there is no nonce). Only signatures (and short-lived
//! tokens) bound that.
//!
//! # Why a crate of its own
//!
//! The server crate (`replaysafe`) links the AWS SDK for DynamoDB, `lambda_http` and their
//! dependency tree: minutes of compilation and megabytes of binary that a program calling the API
//! never uses, and AWS credentials handling it must never need. This crate depends only on HTTP
//! (`reqwest` with rustls on ring), serde, tokio's timer, and `replaysafe-signing`: the ONE
//! signing implementation, which the server's verifier also uses (the contract's test vector is
//! checked on both sides), so client and server cannot drift apart.

mod api;
mod attempts;
mod auth;
mod credentials;
mod error;
pub mod events;
mod prepared;
mod retry;
mod transport;
mod types;

pub use api::{check_path, Client, ClientBuilder, RawResponse, RetryEvent};
pub use auth::{Auth, BearerToken, MAX_TOKEN_BYTES};
pub use credentials::Credentials;
pub use error::{Error, ProblemCode, ProblemDetails};
pub use prepared::{now_unix, wait_past, PreparedRequest};
pub use retry::{RetryPolicy, EXPIRES_MARGIN};
pub use transport::MAX_ANSWER_BYTES;
pub use types::{
    valid_id, Account, Conditional, Created, Fetched, IdempotencyKey, NewAccount, NewTransfer,
    Transfer,
};

/// The signing crate this client shares with the server, re-exported for callers who sign by
/// hand.
pub use replaysafe_signing as signing;
