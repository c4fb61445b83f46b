//! Every way a request can fail, with the contract's code. `http::problem` turns one into an
//! RFC 9457 response; nothing else decides a status.

use thiserror::Error;

use crate::idempotency::StoredRefusal;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ApiError {
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("a POST needs an Idempotency-Key header")]
    IdempotencyKeyMissing,
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    IdempotencyKeyInvalid,
    #[error("the request carries no Signature or Signature-Input")]
    SignatureMissing,
    #[error("{0}")]
    SignatureInvalid(String),
    #[error("the signature's keyid is not an active client")]
    UnknownKey,
    #[error("{0}")]
    DigestMismatch(String),
    #[error("the signature was created outside the accepted window")]
    StaleRequest,
    #[error("this nonce was already used")]
    NonceReused,
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    ValidationFailed(String),
    #[error("no such resource")]
    NotFound,
    #[error("an account with this id already exists")]
    AccountExists,
    #[error("the accounts hold different currencies")]
    CurrencyMismatch,
    #[error("the balance does not cover the amount")]
    InsufficientFunds,
    #[error("a request with this Idempotency-Key is being processed; retry shortly")]
    RequestInProgress,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("a later attempt of this operation was already answered; this one has no effect")]
    AttemptSuperseded,
    /// The refusal this very invocation answered earlier (the SDK re-sent its fence write, or
    /// Lambda re-delivered the invocation), answered again as it was.
    #[error("{}", .0.detail)]
    Refused(StoredRefusal),
    #[error("the service is busy; retry shortly")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        use ApiError::*;
        match self {
            InvalidJson(_)
            | ValidationFailed(_)
            | IdempotencyKeyMissing
            | IdempotencyKeyInvalid
            | DigestMismatch(_) => 400,
            SignatureMissing | SignatureInvalid(_) | UnknownKey | StaleRequest | NonceReused => 401,
            NotFound => 404,
            AccountExists | InsufficientFunds | CurrencyMismatch | RequestInProgress
            | AttemptSuperseded => 409,
            Refused(r) => r.status,
            BodyTooLarge { .. } => 413,
            IdempotencyKeyReused => 422,
            Internal => 500,
            Unavailable => 503,
        }
    }

    pub fn code(&self) -> &str {
        use ApiError::*;
        match self {
            BodyTooLarge { .. } => "body-too-large",
            IdempotencyKeyMissing => "idempotency-key-missing",
            IdempotencyKeyInvalid => "idempotency-key-invalid",
            SignatureMissing => "signature-missing",
            SignatureInvalid(_) => "signature-invalid",
            UnknownKey => "unknown-key",
            DigestMismatch(_) => "digest-mismatch",
            StaleRequest => "stale-request",
            NonceReused => "nonce-reused",
            InvalidJson(_) => "invalid-json",
            ValidationFailed(_) => "validation-failed",
            NotFound => "not-found",
            AccountExists => "account-exists",
            CurrencyMismatch => "currency-mismatch",
            InsufficientFunds => "insufficient-funds",
            RequestInProgress => "request-in-progress",
            IdempotencyKeyReused => "idempotency-key-reused",
            AttemptSuperseded => "attempt-superseded",
            Refused(r) => &r.code,
            Unavailable => "unavailable",
            Internal => "internal",
        }
    }

    pub fn title(&self) -> &str {
        use ApiError::*;
        match self {
            BodyTooLarge { .. } => "Body too large",
            IdempotencyKeyMissing => "Idempotency-Key missing",
            IdempotencyKeyInvalid => "Idempotency-Key invalid",
            SignatureMissing => "Signature missing",
            SignatureInvalid(_) => "Signature invalid",
            UnknownKey => "Unknown key",
            DigestMismatch(_) => "Content-Digest mismatch",
            StaleRequest => "Stale request",
            NonceReused => "Nonce reused",
            InvalidJson(_) => "Invalid JSON",
            ValidationFailed(_) => "Validation failed",
            NotFound => "Not found",
            AccountExists => "Account exists",
            CurrencyMismatch => "Currency mismatch",
            InsufficientFunds => "Insufficient funds",
            RequestInProgress => "Request in progress",
            IdempotencyKeyReused => "Idempotency-Key reused",
            AttemptSuperseded => "Attempt superseded",
            Refused(r) => &r.title,
            Unavailable => "Service unavailable",
            Internal => "Internal error",
        }
    }

    /// A final answer to the operation, given after its nonce was consumed: the body or a
    /// business rule refused it. The guard fences the key before answering one, so that no
    /// attempt signed earlier can take effect afterwards.
    pub fn is_refusal(&self) -> bool {
        use ApiError::*;
        matches!(
            self,
            InvalidJson(_)
                | ValidationFailed(_)
                | NotFound
                | AccountExists
                | CurrencyMismatch
                | InsufficientFunds
        )
    }

    /// Seconds a client should wait before retrying, for the errors that invite a retry.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::RequestInProgress | ApiError::Unavailable => Some(1),
            _ => None,
        }
    }
}
