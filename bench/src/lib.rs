#![recursion_limit = "256"]
//! `make bench`: replaysafe measured beside a Powertools peer and the bare SDK floor on one
//! DynamoDB Local, with cold starts under a Lambda Runtime API emulator and in-process
//! concurrency; batches of SQS payouts beside a Powertools batch peer, and withdrawals against
//! the fake bank. `src/main.rs` runs it all and writes `bench/RESULTS.md`; the parts live here.

pub mod calls;
pub mod capacity;
pub mod cold;
pub mod concurrency;
pub mod floor;
pub mod paths;
pub mod payouts;
pub mod peer;
pub mod report;
pub mod sizes;
pub mod stats;
pub mod tls;
pub mod withdrawals;

/// The Lambda Runtime API emulator; it lives in the test crate, whose real-process crash test
/// runs the functions under it too.
pub use replaysafe_tests::runtime_api as emulator;
