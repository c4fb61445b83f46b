//! Typed failures: the API's RFC 9457 problems, and the ways no answer arrives.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::retry::settles;
use crate::types::IdempotencyKey;

/// The contract's problem codes, with a fallback for codes this client does not know yet (a
/// newer server) and for error answers that are not problem documents (an empty code).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProblemCode {
    InvalidJson,
    ValidationFailed,
    IdempotencyKeyMissing,
    IdempotencyKeyInvalid,
    DigestMismatch,
    /// 401: authorizer mode, and the request carried no principal (API Gateway passed it on
    /// without a `sub`). Final: nothing ran.
    Unauthenticated,
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
    /// 409: this attempt was signed no later than an attempt of the same key that the server
    /// refused (its fence), so it had no effect, and it never will. Final for this attempt.
    ///
    /// A client's own retries never meet it: it signs each attempt of a key later than the one
    /// before. It means another process used the key and was refused, this process's clock
    /// stepped back, or an older copy of an attempt arrived late. The operation stands refused.
    /// If you still mean to perform it (the cause fixed), call again with the same key: the new
    /// attempt is signed later, and proceeds once it is signed after the fence (a second after
    /// the refused attempt). Never switch to a new key to "get around" it unless you know the
    /// refusal was final for what you meant to do.
    AttemptSuperseded,
    /// 422: the bank refused a withdrawal; the held funds are back. Stored under the key as
    /// the operation's final answer: use a new key once the cause (the IBAN) is fixed.
    BankRefused,
    BodyTooLarge,
    IdempotencyKeyReused,
    Unavailable,
    Internal,
    Other(String),
}

const CODES: [(&str, ProblemCode); 22] = [
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
    ("unauthenticated", ProblemCode::Unauthenticated),
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
    ("attempt-superseded", ProblemCode::AttemptSuperseded),
    ("bank-refused", ProblemCode::BankRefused),
    ("body-too-large", ProblemCode::BodyTooLarge),
    ("idempotency-key-reused", ProblemCode::IdempotencyKeyReused),
    ("unavailable", ProblemCode::Unavailable),
    ("internal", ProblemCode::Internal),
];

impl ProblemCode {
    /// Every slug the contract defines (what `openapi.yaml` lists, as a test checks).
    pub fn known_slugs() -> impl Iterator<Item = &'static str> {
        CODES.iter().map(|(slug, _)| *slug)
    }

    /// The code for a slug; `Other` for one the contract does not define.
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
pub struct ProblemDetails {
    pub status: u16,
    pub code: ProblemCode,
    pub title: String,
    pub detail: String,
    /// `Retry-After`, when the answer had one (409 `request-in-progress`, 503 `unavailable`).
    pub retry_after: Option<Duration>,
    /// The operation's key, for the answer to a POST.
    pub idempotency_key: Option<IdempotencyKey>,
    /// `Idempotent-Replayed: true`: the key's stored answer. In `jwt` mode a business refusal
    /// (404 `not-found`, 409 `account-exists`, `currency-mismatch`, `insufficient-funds`) is
    /// stored under the key like a success: the same key gets it again for the whole
    /// retention, with no effect. To try again once the cause is fixed, use a new key.
    pub replayed: bool,
    /// Whether this answer settles its POST (see [`ProblemDetails::outcome_unknown`]): set by the
    /// client from the status and code, the replay mark, its mode and the attempts before
    /// this one. [`ProblemDetails::from_answer`] judges by status and code alone, as for a signing
    /// client's only attempt.
    pub settles: bool,
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

impl ProblemDetails {
    /// The problem in an error answer. An answer that is not a problem document (a proxy's
    /// HTML page, say) still becomes one, with an empty code and the start of its text.
    pub fn from_answer(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        match serde_json::from_slice::<ProblemBody>(body) {
            Ok(p) if !p.code.is_empty() => ProblemDetails {
                status,
                settles: settles(status, Some(&ProblemCode::parse(&p.code))),
                code: ProblemCode::parse(&p.code),
                title: p.title,
                detail: p.detail,
                retry_after,
                idempotency_key: None,
                replayed: false,
            },
            _ => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let detail: String = text.chars().take(200).collect();
                ProblemDetails {
                    status,
                    code: ProblemCode::Other(String::new()),
                    title: reason(status).to_owned(),
                    detail,
                    retry_after,
                    idempotency_key: None,
                    replayed: false,
                    settles: settles(status, Some(&ProblemCode::Other(String::new()))),
                }
            }
        }
    }

    /// The answer to a POST that does not settle it: one the retry policy retries or re-signs
    /// (it gave up), a redirect, or (bearer token) the authorizer's 401/403 after an attempt
    /// that got no settling answer. Another attempt may have taken effect, or still can until
    /// its `expires`: resume with the same key. A replayed answer always settles it.
    pub fn outcome_unknown(&self) -> bool {
        self.idempotency_key.is_some() && !self.settles
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        300..=399 => "Redirect (not followed)",
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

impl fmt::Display for ProblemDetails {
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

/// The words every error of a POST with an open outcome ends with.
struct Unknown<'a>(Option<&'a IdempotencyKey>);

impl<'a> Unknown<'a> {
    fn of(problem: &'a ProblemDetails) -> Self {
        Unknown(
            problem
                .idempotency_key
                .as_ref()
                .filter(|_| problem.outcome_unknown()),
        )
    }
}

/// The words a replayed refusal ends with: it is the key's final answer.
struct Stored<'a>(&'a ProblemDetails);

impl fmt::Display for Stored<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.idempotency_key, self.0.replayed) {
            (Some(key), true) => write!(
                f,
                " (replayed: the stored answer of Idempotency-Key {key}, which answers the same \
                 again; to try again once the cause is fixed, use a new key)"
            ),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Unknown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(
                f,
                "; the outcome is unknown: resume it with the same Idempotency-Key {key} \
                 (a new key could execute it twice)"
            ),
            None => Ok(()),
        }
    }
}

/// Why a call failed. Every error of a POST that sent something carries the operation's
/// [`IdempotencyKey`] ([`Error::idempotency_key`]), and says when the outcome is unknown
/// ([`Error::outcome_unknown`]): then resume the operation with that same key (a new key could
/// execute it twice). [`Error::InvalidInput`] and [`Error::Credentials`] come before anything
/// is sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error status. For a retryable problem (409
    /// `request-in-progress`, 5xx) this is the last answer, after the retry policy gave up.
    #[error("{}{}{}", .0, Stored(.0), Unknown::of(.0))]
    Api(ProblemDetails),
    /// No answer arrived: connection refused or reset, timeout, or the answer was cut off.
    #[error("no answer from {url} after {attempts} attempt(s): {message}{}", Unknown(.idempotency_key.as_ref()))]
    Transport {
        url: String,
        message: String,
        attempts: u32,
        /// The last attempt timed out (rather than failed to connect, say).
        timed_out: bool,
        /// The operation's key, for a POST: its outcome is unknown.
        idempotency_key: Option<IdempotencyKey>,
    },
    /// An answer that is not what the contract says: a success status with another body, or
    /// a body longer than [`crate::MAX_ANSWER_BYTES`]. Not retried.
    #[error("unexpected answer: {message}{}", Unknown(.idempotency_key.as_ref()))]
    Protocol {
        message: String,
        /// The operation's key, for a POST: its outcome is unknown (the stored answer, if any,
        /// comes back when it is resumed with this key).
        idempotency_key: Option<IdempotencyKey>,
    },
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

    /// The key of the POST that failed (None for a GET, or when nothing was sent).
    pub fn idempotency_key(&self) -> Option<&IdempotencyKey> {
        match self {
            Error::Api(p) => p.idempotency_key.as_ref(),
            Error::Transport {
                idempotency_key, ..
            }
            | Error::Protocol {
                idempotency_key, ..
            } => idempotency_key.as_ref(),
            Error::InvalidInput(_) | Error::Credentials(_) => None,
        }
    }

    /// A POST whose outcome is unknown: no answer, an answer that is not one (see
    /// [`ProblemDetails::outcome_unknown`]), or an unreadable one. Resume it with
    /// [`Error::idempotency_key`]. False for a refusal: that is final (a signing client's
    /// refusal is fenced by the server, a bearer-token client's comes after the API checked the
    /// key), nothing happened, and no earlier attempt of the operation ever will.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Api(p) => p.outcome_unknown(),
            _ => self.idempotency_key().is_some(),
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
        let p = ProblemDetails::from_answer(409, body, None);
        assert_eq!(p.code, ProblemCode::InsufficientFunds);
        assert_eq!(p.title, "Insufficient funds");
        assert_eq!(
            p.to_string(),
            "409 insufficient-funds: the balance does not cover the amount"
        );
    }

    #[test]
    fn problem_from_anything_else() {
        let p = ProblemDetails::from_answer(502, b"<html>\n<b>Bad   gateway</b></html>", None);
        assert_eq!(p.code, ProblemCode::Other(String::new()));
        assert_eq!(
            p.to_string(),
            "502 Bad Gateway: <html> <b>Bad gateway</b></html>"
        );
        let p = ProblemDetails::from_answer(503, b"", Some(Duration::from_secs(2)));
        assert_eq!(p.to_string(), "503 Service Unavailable (retry after 2 s)");
    }

    #[test]
    fn an_open_outcome_says_so_and_names_the_key() {
        let key = IdempotencyKey::parse("inv-42").unwrap();
        let body = br#"{"code":"unavailable","detail":"try later"}"#;
        let mut p = ProblemDetails::from_answer(503, body, None);
        assert!(!p.outcome_unknown(), "a GET has no outcome to lose");
        p.idempotency_key = Some(key.clone());
        assert!(p.outcome_unknown());
        assert_eq!(
            p.to_string(),
            "503 unavailable: try later",
            "the answer as it came"
        );
        assert_eq!(
            Error::Api(p).to_string(),
            "503 unavailable: try later; the outcome is unknown: resume it with the same \
             Idempotency-Key inv-42 (a new key could execute it twice)"
        );
        let refused = ProblemDetails {
            idempotency_key: Some(key.clone()),
            ..ProblemDetails::from_answer(
                409,
                br#"{"code":"insufficient-funds","detail":"d"}"#,
                None,
            )
        };
        assert!(!refused.outcome_unknown());
        assert_eq!(
            Error::Api(refused.clone()).to_string(),
            "409 insufficient-funds: d"
        );
        let stored = ProblemDetails {
            replayed: true,
            ..refused
        };
        assert!(!stored.outcome_unknown());
        assert_eq!(
            Error::Api(stored).to_string(),
            "409 insufficient-funds: d (replayed: the stored answer of Idempotency-Key inv-42, \
             which answers the same again; to try again once the cause is fixed, use a new key)"
        );
        let lost = Error::Transport {
            url: "http://x/transfers".into(),
            message: "timed out".into(),
            attempts: 3,
            timed_out: true,
            idempotency_key: Some(key.clone()),
        };
        assert!(lost.outcome_unknown());
        assert_eq!(lost.idempotency_key(), Some(&key));
        assert!(lost
            .to_string()
            .ends_with("Idempotency-Key inv-42 (a new key could execute it twice)"));
    }
}
