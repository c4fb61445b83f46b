//! The payments app's refusals, beside the guard's. `replaysafe::http::problem` renders both.

use replaysafe::{GuardError, Problem};
use thiserror::Error;

/// Every way a payments request can fail: the guard's errors, and the app's own.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PaymentsError {
    /// Refused or failed by the guard.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// 400: the body is not JSON (or not an object of the right shape).
    #[error("{0}")]
    InvalidJson(String),
    /// 400: a field out of its range, an unknown field, a bad id.
    #[error("{0}")]
    ValidationFailed(String),
    /// 404: no such account or transfer, or not the caller's.
    #[error("no such resource")]
    NotFound,
    /// 409: the account id is taken.
    #[error("an account with this id already exists")]
    AccountExists,
    /// 409: the accounts hold different currencies.
    #[error("the accounts hold different currencies")]
    CurrencyMismatch,
    /// 409: the balance does not cover the amount.
    #[error("the balance does not cover the amount")]
    InsufficientFunds,
}

impl Problem for PaymentsError {
    fn status(&self) -> u16 {
        use PaymentsError::*;
        match self {
            Guard(e) => e.status(),
            InvalidJson(_) | ValidationFailed(_) => 400,
            NotFound => 404,
            AccountExists | CurrencyMismatch | InsufficientFunds => 409,
        }
    }

    fn code(&self) -> &str {
        use PaymentsError::*;
        match self {
            Guard(e) => e.code(),
            InvalidJson(_) => "invalid-json",
            ValidationFailed(_) => "validation-failed",
            NotFound => "not-found",
            AccountExists => "account-exists",
            CurrencyMismatch => "currency-mismatch",
            InsufficientFunds => "insufficient-funds",
        }
    }

    fn title(&self) -> &str {
        use PaymentsError::*;
        match self {
            Guard(e) => e.title(),
            InvalidJson(_) => "Invalid JSON",
            ValidationFailed(_) => "Validation failed",
            NotFound => "Not found",
            AccountExists => "Account exists",
            CurrencyMismatch => "Currency mismatch",
            InsufficientFunds => "Insufficient funds",
        }
    }

    fn retry_after(&self) -> Option<u32> {
        match self {
            PaymentsError::Guard(e) => e.retry_after(),
            _ => None,
        }
    }

    /// Everything but the guard's own answers settles the operation.
    fn is_refusal(&self) -> bool {
        !matches!(self, PaymentsError::Guard(_))
    }

    fn cause(&self) -> Option<&replaysafe::error::Cause> {
        match self {
            PaymentsError::Guard(e) => e.cause(),
            _ => None,
        }
    }
}
