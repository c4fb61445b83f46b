//! The payments API on the replaysafe guard: accounts, transfers, withdrawals to a bank,
//! payouts from a queue, and the ledger auditor on the money tables' streams.
//!
//! Each endpoint in [`endpoints`] parses, asks the guard and the store, and maps the outcome
//! to a response; each function's `main.rs` is one call to [`replaysafe::lambda::run`].

mod app;
pub mod audit;
pub mod bank;
pub mod domain;
pub mod endpoints;
mod error;
pub mod metrics;
pub mod routes;
pub mod store;

pub use app::{Payments, Payouts, PROBLEM_TYPE_BASE};
pub use audit::{audit_ledger, Auditor};
pub use endpoints::{
    consume_payouts, create_account, create_transfer, create_withdrawal, get_account, get_payout,
    get_transfer, get_withdrawal,
};
pub use error::PaymentsError;
pub use store::{PaymentsStore, PaymentsTables};
