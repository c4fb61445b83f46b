//! The guard's own errors, and [`Problem`]: what any error type needs to be answered as an
//! RFC 9457 problem. An app's error type implements it and wraps [`GuardError`]; `http::problem`
//! renders either, and nothing else decides a status.

use std::sync::Arc;

use thiserror::Error;

use crate::idempotency::StoredRefusal;

/// An error that can be answered as an RFC 9457 problem.
///
/// ```
/// use replaysafe::Problem;
///
/// #[derive(Debug, thiserror::Error)]
/// enum OrderError {
///     #[error("an order with this id already exists")]
///     Exists,
///     #[error(transparent)]
///     Guard(#[from] replaysafe::GuardError),
/// }
///
/// impl Problem for OrderError {
///     fn status(&self) -> u16 {
///         match self { Self::Exists => 409, Self::Guard(e) => e.status() }
///     }
///     fn code(&self) -> &str {
///         match self { Self::Exists => "order-exists", Self::Guard(e) => e.code() }
///     }
///     fn title(&self) -> &str {
///         match self { Self::Exists => "Order exists", Self::Guard(e) => e.title() }
///     }
///     fn retry_after(&self) -> Option<u32> {
///         match self { Self::Exists => None, Self::Guard(e) => e.retry_after() }
///     }
///     fn is_refusal(&self) -> bool {
///         matches!(self, Self::Exists)
///     }
///     fn cause(&self) -> Option<&replaysafe::error::Cause> {
///         match self { Self::Exists => None, Self::Guard(e) => e.cause() }
///     }
/// }
/// assert_eq!(OrderError::Exists.code(), "order-exists");
/// ```
pub trait Problem: std::fmt::Display + std::fmt::Debug {
    /// The HTTP status.
    fn status(&self) -> u16;
    /// The slug that ends the problem's `type` and fills its `code`.
    fn code(&self) -> &str;
    /// A short, fixed summary.
    fn title(&self) -> &str;
    /// What the client is told; the `Display` text unless overridden. Server faults (5xx) get a
    /// fixed sentence whatever this says.
    fn detail(&self) -> String {
        self.to_string()
    }
    /// Seconds a client should wait before retrying, for the errors that invite a retry.
    fn retry_after(&self) -> Option<u32> {
        None
    }
    /// A final answer to the operation, given after its nonce was consumed (the body or a
    /// business rule refused it). The guard fences the key before answering one, so that no
    /// attempt signed earlier can take effect afterwards.
    fn is_refusal(&self) -> bool {
        false
    }
    /// What went wrong inside, for the log: the edge logs it once and never renders it.
    /// Delegate to the wrapped [`GuardError`] so its causes reach the log.
    fn cause(&self) -> Option<&Cause> {
        None
    }
}

/// Why an internal error happened, in words for the log (an SDK error with its chain, an item
/// that does not decode). Never sent to a client. Every cause compares equal to every other:
/// to a client, one internal error is the same answer as another.
#[derive(Clone)]
pub struct Cause(Arc<str>);

impl Cause {
    /// A cause in `words`.
    pub fn new(words: impl Into<String>) -> Self {
        Self(Arc::from(words.into()))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cause({:?})", &*self.0)
    }
}

impl PartialEq for Cause {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Cause {}

/// Every way the guard itself refuses or fails a request, with the contract's code.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// 413: the body is over the configured limit.
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// 400: a POST without `Idempotency-Key`.
    #[error("a POST needs an Idempotency-Key header")]
    IdempotencyKeyMissing,
    /// 400: a key that is not 1 to 255 visible ASCII characters, bare or as an sf-string.
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    IdempotencyKeyInvalid,
    /// 401: no `Signature` or `Signature-Input`.
    #[error("the request carries no Signature or Signature-Input")]
    SignatureMissing,
    /// 401: a malformed signature, one covering too little, or a wrong MAC.
    #[error("{0}")]
    SignatureInvalid(String),
    /// 401: the `keyid` is not an active client.
    #[error("the signature's keyid is not an active client")]
    UnknownKey,
    /// 400: `Content-Digest` lacks `sha-256` or does not match the body.
    #[error("{0}")]
    DigestMismatch(String),
    /// 401: `created` outside the window, or `expires` past.
    #[error("the signature was created outside the accepted window")]
    StaleRequest,
    /// 401: this client used the nonce before.
    #[error("this nonce was already used")]
    NonceReused,
    /// 409: another attempt with the key is mid-transaction.
    #[error("a request with this Idempotency-Key is being processed; retry shortly")]
    RequestInProgress,
    /// 422: the key's stored answer is for another request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// 409: an attempt signed no later than the key's last refusal.
    #[error("a later attempt of this operation was already answered; this one has no effect")]
    AttemptSuperseded,
    /// The refusal this very invocation answered earlier (the SDK re-sent its fence write, or
    /// Lambda re-delivered the invocation), answered again as it was.
    #[error("{}", .0.detail)]
    Refused(StoredRefusal),
    /// 500: the answer to store does not fit a DynamoDB item; refused before the transaction.
    #[error("the response is too large to store")]
    ResponseTooLarge,
    /// 503: DynamoDB throttled, timed out or was unreachable.
    #[error("the service is busy; retry shortly")]
    Unavailable,
    /// 500: our fault; the cause goes to the log at the edge, never to the client.
    #[error("internal error")]
    Internal(Cause),
}

impl GuardError {
    /// 500 for the reason given in `cause` (logged, never rendered).
    ///
    /// ```
    /// use replaysafe::{GuardError, Problem};
    ///
    /// let err = GuardError::internal("the orders item has no sku");
    /// assert_eq!(err.status(), 500);
    /// assert_eq!(err.to_string(), "internal error");
    /// assert_eq!(err.cause().unwrap().to_string(), "the orders item has no sku");
    /// ```
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::Internal(Cause::new(cause))
    }
}

impl Problem for GuardError {
    fn status(&self) -> u16 {
        use GuardError::*;
        match self {
            IdempotencyKeyMissing | IdempotencyKeyInvalid | DigestMismatch(_) => 400,
            SignatureMissing | SignatureInvalid(_) | UnknownKey | StaleRequest | NonceReused => 401,
            RequestInProgress | AttemptSuperseded => 409,
            BodyTooLarge { .. } => 413,
            IdempotencyKeyReused => 422,
            Refused(r) => r.status,
            ResponseTooLarge | Internal(_) => 500,
            Unavailable => 503,
        }
    }

    fn code(&self) -> &str {
        use GuardError::*;
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
            RequestInProgress => "request-in-progress",
            IdempotencyKeyReused => "idempotency-key-reused",
            AttemptSuperseded => "attempt-superseded",
            Refused(r) => &r.code,
            Unavailable => "unavailable",
            ResponseTooLarge | Internal(_) => "internal",
        }
    }

    fn title(&self) -> &str {
        use GuardError::*;
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
            RequestInProgress => "Request in progress",
            IdempotencyKeyReused => "Idempotency-Key reused",
            AttemptSuperseded => "Attempt superseded",
            Refused(r) => &r.title,
            Unavailable => "Service unavailable",
            ResponseTooLarge | Internal(_) => "Internal error",
        }
    }

    fn retry_after(&self) -> Option<u32> {
        match self {
            GuardError::RequestInProgress | GuardError::Unavailable => Some(1),
            _ => None,
        }
    }

    fn cause(&self) -> Option<&Cause> {
        match self {
            GuardError::Internal(cause) => Some(cause),
            _ => None,
        }
    }
}
