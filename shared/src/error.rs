//! Errors. An app's error type says only what it is ([`Problem`]: status, code, title, detail);
//! the library's [`Error`] wraps it beside the guard's own [`GuardError`], and everything that
//! follows from an error is derived from its status in one place ([`Error::kind`]): whether it
//! settles the operation, its `Retry-After`, what is logged. So an app cannot forget to say that
//! a refusal is final, and cannot say it wrongly.

use std::sync::Arc;

use thiserror::Error as ThisError;

use crate::idempotency::StoredRefusal;

/// What an app's error is, as an RFC 9457 problem: nothing else. A 4xx is a refusal: the guard
/// makes it the operation's final answer (fenced in signature mode, stored under the key in
/// authorizer mode; a 400 is never stored). A 5xx is a failure: nothing is settled, its
/// [`source`](std::error::Error::source) chain goes to the log, a 503 gets `Retry-After`.
///
/// ```
/// use replaysafe::Problem;
///
/// #[derive(Debug, thiserror::Error)]
/// enum OrderError {
///     #[error("an order with this id already exists")]
///     Exists,
///     #[error("the orders table failed")]
///     Storage(#[source] std::io::Error),
/// }
///
/// impl Problem for OrderError {
///     fn status(&self) -> u16 {
///         match self { Self::Exists => 409, Self::Storage(_) => 500 }
///     }
///     fn code(&self) -> &str {
///         match self { Self::Exists => "order-exists", Self::Storage(_) => "internal" }
///     }
///     fn title(&self) -> &str {
///         match self { Self::Exists => "Order exists", Self::Storage(_) => "Internal error" }
///     }
/// }
/// assert_eq!(OrderError::Exists.code(), "order-exists");
/// ```
pub trait Problem: std::error::Error + Send + Sync + 'static {
    /// The HTTP status, 400 to 599. Anything else is answered as a 500 (and logged).
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
}

/// An endpoint with no errors of its own.
impl Problem for std::convert::Infallible {
    fn status(&self) -> u16 {
        match *self {}
    }
    fn code(&self) -> &str {
        match *self {}
    }
    fn title(&self) -> &str {
        match *self {}
    }
}

/// What an endpoint fails with: the guard's refusal or fault, or the app's own error. Both
/// convert with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error<E> {
    /// Refused or failed by the guard.
    Guard(GuardError),
    /// The app's own.
    App(E),
}

/// What an error means for the operation, derived from what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The guard's own answer (authentication, idempotency, capacity): settles nothing.
    Guard,
    /// 400 from the app: the request itself is invalid. Fenced in signature mode (its nonce was
    /// consumed), never stored in authorizer mode.
    Invalid,
    /// Another 4xx from the app: a business refusal, the operation's final answer.
    Refusal,
    /// 5xx from the app: settles nothing.
    Failure,
}

impl<E> From<GuardError> for Error<E> {
    fn from(e: GuardError) -> Self {
        Self::Guard(e)
    }
}

impl<E: Problem> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Self::App(e)
    }
}

impl<E: Problem> Error<E> {
    /// The app's status when it is one a problem can have, else 500.
    fn app_status(e: &E) -> u16 {
        match e.status() {
            s @ 400..=599 => s,
            _ => 500,
        }
    }

    /// What this error means for the operation.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Guard(_) => Kind::Guard,
            Self::App(e) => match Self::app_status(e) {
                400 => Kind::Invalid,
                401..=499 => Kind::Refusal,
                _ => Kind::Failure,
            },
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Guard(e) => e.status(),
            Self::App(e) => Self::app_status(e),
        }
    }

    /// The problem's code.
    pub fn code(&self) -> &str {
        match self {
            Self::Guard(e) => e.code(),
            Self::App(e) if Self::app_status(e) != e.status() => "internal",
            Self::App(e) => e.code(),
        }
    }

    /// The problem's title.
    pub fn title(&self) -> &str {
        match self {
            Self::Guard(e) => e.title(),
            Self::App(e) if Self::app_status(e) != e.status() => "Internal error",
            Self::App(e) => e.title(),
        }
    }

    /// What the client is told (a 5xx's detail is replaced when rendered).
    pub fn detail(&self) -> String {
        match self {
            Self::Guard(e) => e.to_string(),
            Self::App(e) => e.detail(),
        }
    }

    /// Seconds to wait before a retry, for the errors that invite one.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            Self::Guard(e) => e.retry_after(),
            Self::App(e) => (Self::app_status(e) == 503).then_some(1),
        }
    }

    /// What went wrong inside, for the log only: the guard's cause, or a failing app error
    /// with its source chain.
    pub fn cause(&self) -> Option<String> {
        match self {
            Self::Guard(e) => e.cause().map(ToString::to_string),
            Self::App(e) if self.kind() == Kind::Failure => {
                let mut words = format!("{e} (status {})", e.status());
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    words.push_str(&format!(": {s}"));
                    source = s.source();
                }
                Some(words)
            }
            Self::App(_) => None,
        }
    }
}

impl<E: Problem> std::fmt::Display for Error<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Guard(e) => std::fmt::Display::fmt(e, f),
            Self::App(e) => std::fmt::Display::fmt(e, f),
        }
    }
}

impl<E: Problem + std::fmt::Debug> std::error::Error for Error<E> {}

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
#[derive(Debug, ThisError, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// 413: the body is over the configured limit.
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// 404: a method and path outside the function's own route.
    #[error("no such resource")]
    NotFound,
    /// 400: a POST without `Idempotency-Key`.
    #[error("a POST needs an Idempotency-Key header")]
    IdempotencyKeyMissing,
    /// 400: a key that is not 1 to 255 visible ASCII characters, bare or as an sf-string.
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    IdempotencyKeyInvalid,
    /// 401: authorizer mode, and the request context names no principal.
    #[error("the request carries no authenticated principal")]
    Unauthenticated,
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
    /// 409 `request-in-progress`: another attempt holds the operation's lease for
    /// `retry_after` more seconds.
    #[error("a request with this Idempotency-Key is being processed; retry after its lease")]
    LeaseHeld {
        /// Seconds until the lease may be taken over.
        retry_after: u32,
    },
    /// 503 `unavailable`: the outside call did not settle (a timeout, a 5xx); what it needs is
    /// held, and a retry once the lease ends completes the operation.
    #[error("the operation is pending an outside service; retry after its lease")]
    Unsettled {
        /// Seconds until the lease may be taken over.
        retry_after: u32,
    },
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
    /// 503: DynamoDB throttled, timed out or was unreachable, or the request's time budget
    /// cannot cover the next step.
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
    /// use replaysafe::GuardError;
    ///
    /// let err = GuardError::internal("the orders item has no sku");
    /// assert_eq!(err.status(), 500);
    /// assert_eq!(err.to_string(), "internal error");
    /// assert_eq!(err.cause().unwrap().to_string(), "the orders item has no sku");
    /// ```
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::Internal(Cause::new(cause))
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        use GuardError::*;
        match self {
            IdempotencyKeyMissing | IdempotencyKeyInvalid | DigestMismatch(_) => 400,
            Unauthenticated | SignatureMissing | SignatureInvalid(_) | UnknownKey
            | StaleRequest | NonceReused => 401,
            NotFound => 404,
            RequestInProgress | AttemptSuperseded | LeaseHeld { .. } => 409,
            BodyTooLarge { .. } => 413,
            IdempotencyKeyReused => 422,
            Refused(r) => r.status,
            ResponseTooLarge | Internal(_) => 500,
            Unavailable | Unsettled { .. } => 503,
        }
    }

    /// The contract's code.
    pub fn code(&self) -> &str {
        use GuardError::*;
        match self {
            BodyTooLarge { .. } => "body-too-large",
            NotFound => "not-found",
            IdempotencyKeyMissing => "idempotency-key-missing",
            IdempotencyKeyInvalid => "idempotency-key-invalid",
            Unauthenticated => "unauthenticated",
            SignatureMissing => "signature-missing",
            SignatureInvalid(_) => "signature-invalid",
            UnknownKey => "unknown-key",
            DigestMismatch(_) => "digest-mismatch",
            StaleRequest => "stale-request",
            NonceReused => "nonce-reused",
            RequestInProgress | LeaseHeld { .. } => "request-in-progress",
            IdempotencyKeyReused => "idempotency-key-reused",
            AttemptSuperseded => "attempt-superseded",
            Refused(r) => &r.code,
            Unavailable | Unsettled { .. } => "unavailable",
            ResponseTooLarge | Internal(_) => "internal",
        }
    }

    /// A short, fixed summary.
    pub fn title(&self) -> &str {
        use GuardError::*;
        match self {
            BodyTooLarge { .. } => "Body too large",
            NotFound => "Not found",
            IdempotencyKeyMissing => "Idempotency-Key missing",
            IdempotencyKeyInvalid => "Idempotency-Key invalid",
            Unauthenticated => "Unauthenticated",
            SignatureMissing => "Signature missing",
            SignatureInvalid(_) => "Signature invalid",
            UnknownKey => "Unknown key",
            DigestMismatch(_) => "Content-Digest mismatch",
            StaleRequest => "Stale request",
            NonceReused => "Nonce reused",
            RequestInProgress | LeaseHeld { .. } => "Request in progress",
            IdempotencyKeyReused => "Idempotency-Key reused",
            AttemptSuperseded => "Attempt superseded",
            Refused(r) => &r.title,
            Unavailable | Unsettled { .. } => "Service unavailable",
            ResponseTooLarge | Internal(_) => "Internal error",
        }
    }

    /// Seconds a client should wait before retrying, for the errors that invite a retry.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            GuardError::RequestInProgress | GuardError::Unavailable => Some(1),
            GuardError::LeaseHeld { retry_after } | GuardError::Unsettled { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// What went wrong inside, for the log: never rendered.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            GuardError::Internal(cause) => Some(cause),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, ThisError)]
    enum AppError {
        #[error("bad body")]
        Invalid,
        #[error("no funds")]
        Funds,
        #[error("broken")]
        Broken(#[source] std::io::Error),
        #[error("busy")]
        Busy,
        #[error("odd")]
        Odd(u16),
    }

    impl Problem for AppError {
        fn status(&self) -> u16 {
            match self {
                Self::Invalid => 400,
                Self::Funds => 409,
                Self::Broken(_) => 500,
                Self::Busy => 503,
                Self::Odd(s) => *s,
            }
        }
        fn code(&self) -> &str {
            "app"
        }
        fn title(&self) -> &str {
            "App"
        }
    }

    fn app(e: AppError) -> Error<AppError> {
        e.into()
    }

    #[test]
    fn what_an_error_means_follows_from_its_status() {
        assert_eq!(app(AppError::Invalid).kind(), Kind::Invalid);
        assert_eq!(app(AppError::Funds).kind(), Kind::Refusal);
        assert_eq!(app(AppError::Busy).kind(), Kind::Failure);
        assert_eq!(app(AppError::Busy).retry_after(), Some(1));
        assert_eq!(app(AppError::Funds).retry_after(), None);
        let guard: Error<AppError> = GuardError::NonceReused.into();
        assert_eq!(guard.kind(), Kind::Guard);
    }

    #[test]
    fn a_failure_carries_its_source_chain_to_the_log_and_a_refusal_carries_none() {
        let broken = app(AppError::Broken(std::io::Error::other("disk gone")));
        assert_eq!(
            broken.cause().as_deref(),
            Some("broken (status 500): disk gone")
        );
        assert_eq!(app(AppError::Funds).cause(), None);
    }

    #[test]
    fn a_status_no_problem_can_have_is_an_internal_error() {
        for odd in [0, 200, 302, 600, 1000] {
            let e = app(AppError::Odd(odd));
            assert_eq!(e.status(), 500, "{odd}");
            assert_eq!(e.code(), "internal");
            assert_eq!(e.kind(), Kind::Failure);
            assert!(e.cause().is_some());
        }
    }
}
