#![deny(missing_docs)]

//! replaysafe: a guard that makes AWS Lambda endpoints over DynamoDB safe against replay and
//! safe to retry, atomically.
//!
//! An endpoint hands [`Guard::post`] what a POST does, an [`Effect`]: its writes, each with the
//! refusal its condition stands for, and the answer to store. The guard authenticates the
//! caller (RFC 9421 signatures with nonces, or an API Gateway authorizer), answers a retry from
//! the key's record, and commits the effect with the key's record in ONE `TransactWriteItems`.
//! A refusal (an app error with a 4xx status, see [`Problem`]) is made final before it is
//! answered. Reads go through [`Guard::read`]. There is no other way in: nothing can be
//! admitted without being settled, committed twice, or refused unfenced.
//!
//! Six names guard an endpoint: [`Guard`], [`http::Incoming`], [`http::Reply`], [`Effect`],
//! [`Problem`], and [`lambda::run`]. `shared/examples/orders` is a complete one.

pub mod auth;
pub mod clock;
pub mod config;
pub mod effect;
pub mod error;
pub mod guard;
pub mod http;
pub mod idempotency;
pub mod ids;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod lease;
pub mod metrics;
pub mod principal;
#[cfg(feature = "lambda")]
pub mod records;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Auth, Config, Tables};
pub use effect::Effect;
pub use error::{Error, GuardError, Problem};
pub use guard::{Admitted, Guard};
pub use ids::{ClientId, KeyId};
pub use principal::Principal;
pub use store::Store;
