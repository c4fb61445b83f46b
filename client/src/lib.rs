//! Client for the replaysafe payments API.
//!
//! It does what a caller of a replay-safe API must do, by default:
//!
//! - **signs every attempt** per the contract (RFC 9421 HMAC-SHA256 over `@method`, `@path`,
//!   `@query`, `content-digest`, `idempotency-key`; RFC 9530 `Content-Digest`), with a fresh
//!   `created` and a random nonce each time;
//! - **one `Idempotency-Key` per logical operation** (a UUID v4 unless you give one), kept across
//!   every retry of that operation, with the **same body bytes** (serialized once);
//! - **retries what is safe to retry**: connection errors, timeouts, 5xx (503 `unavailable`
//!   included), 409 `request-in-progress`, and 429 (API Gateway's throttling, answered before
//!   the function runs), with exponential backoff, full jitter, a cap, and `Retry-After`
//!   honoured. It never retries any other 4xx: those stored nothing and will not change by
//!   themselves;
//! - **re-signs once on 401 `nonce-reused`**: the server consumed that nonce but the answer never
//!   arrived (e.g. an intermediary delivered the same bytes twice). A new nonce with the same key
//!   gets the operation's stored answer;
//! - **stops well within the idempotency retention**: [`RetryPolicy::max_elapsed`] (5 min by
//!   default) bounds the whole operation, while the server keeps a key's answer for
//!   `IDEMPOTENCY_TTL_SECONDS` (24 h by default). A retry later than the retention would be a
//!   new operation, so the client must never get near it. If you persist a key to resume an
//!   operation after a crash ([`Client::create_transfer_with_key`]), resume it within the
//!   retention too.
//!
//! Results say what happened: [`Created::replayed`] is true when the answer is the stored answer
//! of an earlier request with the same key (`Idempotent-Replayed: true`), and
//! [`Created::idempotency_key`] is the key to quote when asking about the operation. Failures
//! are typed: [`Error::Api`] carries the RFC 9457 [`Problem`] with the contract's
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
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! # Why a crate of its own
//!
//! The server crate (`replaysafe`) links the AWS SDK for DynamoDB, `lambda_http` and their
//! dependency tree: minutes of compilation and megabytes of binary that a program calling the API
//! never uses, and AWS credentials handling it must never need. This crate depends only on HTTP
//! (`reqwest` with rustls on ring), serde, tokio's timer, and `replaysafe-signing`: the ONE
//! signing implementation, which the server's verifier also uses (the contract's test vector is
//! checked on both sides), so client and server cannot drift apart.

mod client;
mod credentials;
mod error;
pub mod events;
mod prepared;
mod retry;
mod types;

pub use client::{check_path, Client, ClientBuilder, RawResponse, RetryEvent};
pub use credentials::Credentials;
pub use error::{Error, Problem, ProblemCode};
pub use prepared::{now_unix, PreparedRequest};
pub use retry::RetryPolicy;
pub use types::{
    valid_id, Account, Conditional, Created, Fetched, IdempotencyKey, NewAccount, NewTransfer,
    Transfer,
};

/// The signing crate this client shares with the server, re-exported for callers who sign by
/// hand.
pub use replaysafe_signing as signing;
