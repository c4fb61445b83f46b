//! Typed failures: the API's RFC 9457 problems, and the ways no answer arrives.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// The contract's problem codes, with a fallback for codes this client does not know yet (a
/// newer server) and for error answers that are not problem documents (an empty code).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProblemCode {
    InvalidJson,
    ValidationFailed,
    IdempotencyKeyMissing,
    IdempotencyKeyInvalid,
    DigestMismatch,
    SignatureMissing,
    SignatureInvalid,
    UnknownKey,
    StaleRequest,
    NonceReused,
    NotFound,
    AccountExists,
    InsufficientFunds,
    CurrencyMismatch,
    RequestInProgress,
    BodyTooLarge,
    IdempotencyKeyReused,
    Unavailable,
    Internal,
    Other(String),
}

const CODES: [(&str, ProblemCode); 19] = [
    ("invalid-json", ProblemCode::InvalidJson),
    ("validation-failed", ProblemCode::ValidationFailed),
    (
        "idempotency-key-missing",
        ProblemCode::IdempotencyKeyMissing,
    ),
    (
        "idempotency-key-invalid",
        ProblemCode::IdempotencyKeyInvalid,
    ),
    ("digest-mismatch", ProblemCode::DigestMismatch),
    ("signature-missing", ProblemCode::SignatureMissing),
    ("signature-invalid", ProblemCode::SignatureInvalid),
    ("unknown-key", ProblemCode::UnknownKey),
    ("stale-request", ProblemCode::StaleRequest),
    ("nonce-reused", ProblemCode::NonceReused),
    ("not-found", ProblemCode::NotFound),
    ("account-exists", ProblemCode::AccountExists),
    ("insufficient-funds", ProblemCode::InsufficientFunds),
    ("currency-mismatch", ProblemCode::CurrencyMismatch),
    ("request-in-progress", ProblemCode::RequestInProgress),
    ("body-too-large", ProblemCode::BodyTooLarge),
    ("idempotency-key-reused", ProblemCode::IdempotencyKeyReused),
    ("unavailable", ProblemCode::Unavailable),
    ("internal", ProblemCode::Internal),
];

impl ProblemCode {
    pub fn parse(slug: &str) -> Self {
        CODES
            .iter()
            .find(|(s, _)| *s == slug)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| ProblemCode::Other(slug.to_owned()))
    }

    /// The contract's slug, e.g. `insufficient-funds`.
    pub fn as_str(&self) -> &str {
        match self {
            ProblemCode::Other(s) => s,
            known => CODES
                .iter()
                .find(|(_, c)| c == known)
                .map(|(s, _)| *s)
                .expect("every known code has a slug"),
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 9457 problem the API answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub code: ProblemCode,
    pub title: String,
    pub detail: String,
    /// `Retry-After`, when the answer had one (409 `request-in-progress`, 503 `unavailable`).
    pub retry_after: Option<Duration>,
}

#[derive(Deserialize)]
struct ProblemBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
}

impl Problem {
    /// The problem in an error answer. An answer that is not a problem document (a proxy's
    /// HTML page, say) still becomes one, with an empty code and the start of its text.
    pub fn from_answer(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        match serde_json::from_slice::<ProblemBody>(body) {
            Ok(p) if !p.code.is_empty() => Problem {
                status,
                code: ProblemCode::parse(&p.code),
                title: p.title,
                detail: p.detail,
                retry_after,
            },
            _ => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let detail: String = text.chars().take(200).collect();
                Problem {
                    status,
                    code: ProblemCode::Other(String::new()),
                    title: reason(status).to_owned(),
                    detail,
                    retry_after,
                }
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

impl fmt::Display for Problem {
    /// One line: `409 insufficient-funds: the balance does not cover the amount`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = match self.code.as_str() {
            "" => self.title.as_str(),
            c => c,
        };
        write!(f, "{} {code}", self.status)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if let Some(after) = self.retry_after {
            write!(f, " (retry after {} s)", after.as_secs())?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error status. For a retryable problem (409
    /// `request-in-progress`, 5xx) this is the last answer, after the retry policy gave up.
    #[error("{0}")]
    Api(Problem),
    /// No answer arrived: connection refused or reset, timeout, or the answer was cut off.
    #[error("no answer from {url} after {attempts} attempt(s): {message}")]
    Transport {
        url: String,
        message: String,
        attempts: u32,
        /// The last attempt timed out (rather than failed to connect, say).
        timed_out: bool,
    },
    /// A success status whose body is not what the contract says.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// The request cannot be sent as given (an invalid id or idempotency key, a bad endpoint).
    #[error("{0}")]
    InvalidInput(String),
    /// The credentials could not be read.
    #[error("{0}")]
    Credentials(String),
}

impl Error {
    /// The problem code, for an [`Error::Api`].
    pub fn code(&self) -> Option<&ProblemCode> {
        match self {
            Error::Api(p) => Some(&p.code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (slug, code) in CODES {
            assert_eq!(ProblemCode::parse(slug), code);
            assert_eq!(code.as_str(), slug);
        }
        assert_eq!(
            ProblemCode::parse("brand-new"),
            ProblemCode::Other("brand-new".into())
        );
        assert_eq!(ProblemCode::Other("x".into()).to_string(), "x");
    }

    #[test]
    fn problem_from_problem_json() {
        let body = br#"{"type":"https://replaysafe.dev/problems/insufficient-funds","title":"Insufficient funds","status":409,"detail":"the balance does not cover the amount","code":"insufficient-funds"}"#;
        let p = Problem::from_answer(409, body, None);
        assert_eq!(p.code, ProblemCode::InsufficientFunds);
        assert_eq!(p.title, "Insufficient funds");
        assert_eq!(
            p.to_string(),
            "409 insufficient-funds: the balance does not cover the amount"
        );
    }

    #[test]
    fn problem_from_anything_else() {
        let p = Problem::from_answer(502, b"<html>\n<b>Bad   gateway</b></html>", None);
        assert_eq!(p.code, ProblemCode::Other(String::new()));
        assert_eq!(
            p.to_string(),
            "502 Bad Gateway: <html> <b>Bad gateway</b></html>"
        );
        let p = Problem::from_answer(503, b"", Some(Duration::from_secs(2)));
        assert_eq!(p.to_string(), "503 Service Unavailable (retry after 2 s)");
    }
}
