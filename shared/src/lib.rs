//! replaysafe: a guard that makes AWS Lambda endpoints over DynamoDB safe against replay
//! and safe to retry.
//!
//! Every request passes [`Guard::admit`] (size, idempotency key, RFC 9421 signature, content
//! digest, freshness, nonce) before it may have any effect. A POST then hands its writes to
//! [`Guard::commit`], which adds the idempotency record and commits everything in ONE
//! `TransactWriteItems`. Accounts and transfers in [`api`] are the first two users.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod guard;
pub mod http;
pub mod idempotency;
pub mod store;
pub mod telemetry;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, Tables};
pub use error::ApiError;
pub use guard::{Admitted, Committed, Guard};
pub use store::Store;
