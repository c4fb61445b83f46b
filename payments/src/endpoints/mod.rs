//! The four endpoints: each parses, asks the guard and the store, and maps the outcome to a
//! response. Each function's `main.rs` hands one of these to `replaysafe::lambda::run`.

mod accounts;
mod transfers;
mod views;

pub use accounts::{create_account, get_account};
pub use transfers::{create_transfer, get_transfer};

/// What an endpoint answers.
pub type Reply = replaysafe::http::Reply<crate::PaymentsError>;
