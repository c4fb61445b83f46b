//! Test harness: each test gets its own tables (a fresh prefix) in the one DynamoDB Local that
//! `make test` starts, its own clients, and a clock it moves by hand. Requests go through the
//! same handlers the Lambda functions run, built and signed as a real client would.

mod answer;
mod app;
mod call;
mod idempotency;
mod snapshot;

pub mod crash;
pub mod emf;
pub mod faults;
pub mod function;
pub mod http_request;
pub mod ledger;
pub mod outside;
pub mod runtime_api;
pub mod server;
pub mod stall;
pub mod wire;

pub use answer::Answer;
pub use app::{guard_on, send_via, TestApp, TestClient, World};
pub use call::{Call, SignerBox};
pub use idempotency::staged_answer;
pub use snapshot::{Snapshot, StoredTransfer};

/// 2025-11-22T12:00:00Z, the contract's test-vector time.
pub const T0: i64 = 1_763_812_800;

/// DynamoDB Local's URL, as `make test` exports it.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `make test`, which starts \
         DynamoDB Local",
    )
}
