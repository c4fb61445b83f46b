//! Pure types: money, ids and the request bodies. Built only through `parse`, so an invalid
//! amount or id cannot reach the store. No I/O, no HTTP, no AWS.

mod ids;
mod ledger;
mod money;
mod outside;
mod records;
mod requests;

pub use ids::{AccountId, PayoutId, TransferId, WithdrawalId};
pub use ledger::{Operation, LAST_OPERATION};
pub use money::{Amount, Balance, Currency};
pub use outside::{owner_from_message, Iban, NewPayout, NewWithdrawal};
pub use records::{Account, Payout, PayoutOutcome, Transfer, Withdrawal, WithdrawalStatus};
pub use replaysafe::{ClientId, Principal};
pub use requests::{NewAccount, NewTransfer};

/// Why a value was refused; becomes a 400 `validation-failed` with this text as detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);
