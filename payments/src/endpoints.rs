//! The endpoints and the payouts consumer: each parses, asks the guard and the store, and maps
//! the outcome to a response. Each function's `main.rs` hands one of these to
//! `replaysafe::lambda::run` (or `consume`, for the queue).

mod accounts;
mod payouts;
mod transfers;
mod views;
mod withdrawals;

pub use accounts::{create_account, get_account};
pub use payouts::{consume_payouts, get_payout};
pub use transfers::{create_transfer, get_transfer};
pub use withdrawals::{create_withdrawal, get_withdrawal};

/// What an endpoint answers.
pub type Reply = replaysafe::http::Reply<crate::PaymentsError>;
