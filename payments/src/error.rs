//! The payments app's own errors: what each is, nothing else. The guard derives the rest (a 4xx
//! is a final refusal, a 5xx is logged with its cause) and renders them beside its own.

use replaysafe::Problem;
use thiserror::Error;

/// Every way the payments app itself refuses or fails a request.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PaymentsError {
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
    /// 422: the bank refused the withdrawal (an IBAN it does not know, say): the held funds
    /// are back, and this is the operation's final answer.
    #[error("{0}")]
    BankRefused(String),
    /// 503: the bank timed out or failed; the funds stay held, and a retry completes it.
    #[error("the bank did not answer: {0}")]
    BankUnavailable(String),
    /// 500: an item of ours that does not decode, a condition that failed for no business
    /// reason. The words go to the log only.
    #[error("{0}")]
    Internal(&'static str),
}

impl Problem for PaymentsError {
    fn status(&self) -> u16 {
        use PaymentsError::*;
        match self {
            InvalidJson(_) | ValidationFailed(_) => 400,
            NotFound => 404,
            AccountExists | CurrencyMismatch | InsufficientFunds => 409,
            BankRefused(_) => 422,
            Internal(_) => 500,
            BankUnavailable(_) => 503,
        }
    }

    fn code(&self) -> &str {
        use PaymentsError::*;
        match self {
            InvalidJson(_) => "invalid-json",
            ValidationFailed(_) => "validation-failed",
            NotFound => "not-found",
            AccountExists => "account-exists",
            CurrencyMismatch => "currency-mismatch",
            InsufficientFunds => "insufficient-funds",
            BankRefused(_) => "bank-refused",
            BankUnavailable(_) => "unavailable",
            Internal(_) => "internal",
        }
    }

    fn title(&self) -> &str {
        use PaymentsError::*;
        match self {
            InvalidJson(_) => "Invalid JSON",
            ValidationFailed(_) => "Validation failed",
            NotFound => "Not found",
            AccountExists => "Account exists",
            CurrencyMismatch => "Currency mismatch",
            InsufficientFunds => "Insufficient funds",
            BankRefused(_) => "Bank refused",
            BankUnavailable(_) => "Service unavailable",
            Internal(_) => "Internal error",
        }
    }
}
