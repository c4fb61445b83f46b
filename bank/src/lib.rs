//! The fake external bank that `POST /withdrawals` pays out to, served on loopback by the
//! `fake-bank` binary for `make run` and the tests (docs/fake-bank.md).
//!
//! It behaves as a careful real bank does: `POST /payments` checks the IBAN (ISO 13616,
//! mod 97) and honours its `Idempotency-Key` (the first answer under a key is the answer to
//! every retry of that request; another request under the key is a 409), so that a client's
//! retries can be seen to pay once. A `/_control` API queues faults (a slow bank, a lost
//! answer, an outage, a refusal) and shows what was paid and how often each key was tried.
//!
//! [`BankProcess`] runs the binary from a test and drives that API.

#![deny(missing_docs)]

mod bank;
pub mod faults;
pub mod iban;
mod ledger;
mod payout;
mod process;
mod server;
pub mod wire;

pub use bank::Bank;
pub use faults::{Fault, FaultMode};
pub use ledger::Payment;
pub use process::{binary_path, BankProcess};
pub use server::serve;
