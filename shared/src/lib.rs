#![deny(missing_docs)]

//! replaysafe: a guard that makes AWS Lambda endpoints over DynamoDB safe against replay
//! and safe to retry, atomically.
//!
//! Every POST goes through [`Guard::post`]: size, idempotency key, RFC 9421 signature, content
//! digest, freshness, then the nonce (consumed whatever the outcome) while the key's record is
//! read; then the app parses the body and, unless the key already holds an answer, hands its
//! writes to [`Guard::commit`], which adds the idempotency record and commits everything in ONE
//! `TransactWriteItems`. A refusal is answered only after the key is fenced, so no attempt
//! signed before it can take effect later. Reads go through [`Guard::admit_read`].
//!
//! The library knows nothing of any app: an app's error type implements [`Problem`] and wraps
//! [`GuardError`]; its writes are [`store::Write`]s, each with the refusal it stands for.

pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod guard;
pub mod http;
pub mod idempotency;
pub mod ids;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod store;
pub mod telemetry;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, Tables};
pub use error::{GuardError, Problem};
pub use guard::{Admitted, Committed, Guard};
pub use ids::ClientId;
pub use store::Store;
