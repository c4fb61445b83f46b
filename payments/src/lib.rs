//! The payments API on the replaysafe guard: accounts and transfers, four endpoints.
//!
//! Each endpoint in [`endpoints`] parses, asks the guard and the store, and maps the outcome
//! to a response; each function's `main.rs` is one call to [`replaysafe::lambda::run`].

mod app;
pub mod domain;
pub mod endpoints;
mod error;
pub mod routes;
pub mod store;

pub use app::{Payments, PROBLEM_TYPE_BASE};
pub use endpoints::{create_account, create_transfer, get_account, get_transfer};
pub use error::PaymentsError;
pub use store::{PaymentsStore, PaymentsTables};
