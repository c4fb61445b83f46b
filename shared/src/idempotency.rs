//! Idempotency: the key a client sends, the fingerprint of the request it sent with it, the
//! response stored under both, and the fence a refusal leaves under the key.

use sha2::{Digest, Sha256};

use crate::error::{Error, GuardError, Problem};

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters, scoped to the client that sent it.
/// The header is an sf-string (`"abc"`, draft-ietf-httpapi-idempotency-key-header-09) or a
/// bare token (`abc`): both name the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key in an `Idempotency-Key` header's value (`None` when the header is absent):
    /// 400 `idempotency-key-missing` without one, 400 `idempotency-key-invalid` for one that
    /// is empty, too long, or has spaces or non-ASCII characters.
    ///
    /// ```
    /// use replaysafe::idempotency::IdempotencyKey;
    /// use replaysafe::GuardError;
    ///
    /// let key = IdempotencyKey::parse(Some("\"order-42\"")).unwrap();
    /// assert_eq!(key.as_str(), "order-42");
    /// assert_eq!(IdempotencyKey::parse(Some("order-42")), Ok(key));
    /// assert_eq!(IdempotencyKey::parse(None), Err(GuardError::IdempotencyKeyMissing));
    /// assert_eq!(
    ///     IdempotencyKey::parse(Some("two words")),
    ///     Err(GuardError::IdempotencyKeyInvalid)
    /// );
    /// ```
    pub fn parse(header: Option<&str>) -> Result<Self, GuardError> {
        let value = header.ok_or(GuardError::IdempotencyKeyMissing)?;
        replaysafe_signing::idempotency_key_from_header(value)
            .map(Self)
            .ok_or(GuardError::IdempotencyKeyInvalid)
    }

    /// The key itself, without the sf-string's quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 over method, path and body bytes, each length-prefixed so that no two different
/// requests share a fingerprint by moving bytes from one part to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of one request, as 64 lowercase hex digits.
    ///
    /// ```
    /// use replaysafe::idempotency::Fingerprint;
    ///
    /// let first = Fingerprint::of("POST", "/orders", br#"{"sku":"a"}"#);
    /// assert_eq!(first, Fingerprint::of("POST", "/orders", br#"{"sku":"a"}"#));
    /// assert_ne!(first, Fingerprint::of("POST", "/orders", br#"{"sku":"b"}"#));
    /// assert_eq!(first.as_str().len(), 64);
    /// ```
    pub fn of(method: &str, path: &str, body: &[u8]) -> Self {
        let mut h = Sha256::new();
        for part in [method.as_bytes(), path.as_bytes(), body] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        Self(hex(&h.finalize()))
    }

    /// A fingerprint as the idempotency table keeps it, taken as it is.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The hex digits, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The response a first request produced, replayed to its retries: status, the headers the app
/// chose to keep, and the body.
///
/// ```
/// use replaysafe::idempotency::StoredResponse;
///
/// let created = StoredResponse::new(201, r#"{"order_id":"ord_1"}"#)
///     .with_header("Location", "/orders/ord_1");
/// assert_eq!(created.header("location"), Some("/orders/ord_1"));
/// // Without a Content-Type of its own, a stored answer is sent as JSON.
/// assert_eq!(created.content_type(), "application/json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status, e.g. 201.
    pub status: u16,
    /// Headers sent with the answer and with every replay of it (lowercase names, at most one
    /// value each), such as `location` or an `etag`. The guard sets `idempotent-replayed`,
    /// `cache-control` and `content-length` itself.
    pub headers: Vec<(String, String)>,
    /// The body, sent as it is.
    pub body: String,
}

/// The statuses a stored answer may have: a success, or (authorizer mode) a refusal. A 1xx or
/// 3xx is not an operation's answer, and anything outside 100 to 999 is not HTTP at all.
pub(crate) const STORABLE_STATUS: std::ops::RangeInclusive<u16> = 200..=599;

/// Headers whose value the guard decides: an app's copy would contradict it on replay.
pub(crate) const GUARD_HEADERS: [&str; 3] =
    ["idempotent-replayed", "cache-control", "content-length"];

impl StoredResponse {
    /// A response with `status` and `body`, and no headers yet.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A JSON response: `body` serialized, sent as `application/json`.
    ///
    /// ```
    /// use replaysafe::idempotency::StoredResponse;
    ///
    /// let answer = StoredResponse::json(201, &serde_json::json!({"id": 7}));
    /// assert_eq!(answer.body, r#"{"id":7}"#);
    /// ```
    pub fn json(status: u16, body: &impl serde::Serialize) -> Self {
        Self::new(
            status,
            serde_json::to_string(body).expect("a view serializes"),
        )
    }

    /// The same response with header `name` (lowercased) set to `value`, replacing any earlier
    /// value of it.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    /// The value of header `name` (any case), if the response keeps one.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Its `content-type` header, `application/json` when it keeps none.
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("application/json")
    }

    /// Bytes it takes in the idempotency item, beside the record's fixed attributes.
    pub(crate) fn stored_bytes(&self) -> usize {
        self.body.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }

    /// Why it could not be sent as it is, if so: a status outside 200 to 599, a header HTTP
    /// cannot carry, one the guard sets itself, or a name kept twice.
    pub(crate) fn header_problem(&self) -> Option<String> {
        if !STORABLE_STATUS.contains(&self.status) {
            return Some(format!("status {} is not an answer to store", self.status));
        }
        for (i, (name, value)) in self.headers.iter().enumerate() {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || http::HeaderValue::from_str(value).is_err()
                || name.bytes().any(|b| b.is_ascii_uppercase())
            {
                return Some(format!(
                    "header {name:?} is not a valid lowercase HTTP header"
                ));
            }
            if GUARD_HEADERS.contains(&name.as_str()) {
                return Some(format!("header {name:?} is set by the guard"));
            }
            if self.headers[..i].iter().any(|(n, _)| n == name) {
                return Some(format!("header {name:?} is kept twice"));
            }
        }
        None
    }
}

/// What the idempotency table holds under one client's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The request that committed: a later one under the key must match it to be answered.
    pub fingerprint: Fingerprint,
    /// What every retry of that request is answered.
    pub response: StoredResponse,
    /// The Lambda request that wrote it: a request meeting its own record is an SDK retry of a
    /// write that already committed, not a replay.
    pub request_id: String,
    /// Unix seconds from which the record counts as gone (DynamoDB's TTL deletes it later).
    pub expires_at: i64,
}

impl IdempotencyRecord {
    /// What a later request with the same key gets: its stored answer, or 422.
    pub fn answer(self, fingerprint: &Fingerprint) -> Result<StoredResponse, GuardError> {
        if &self.fingerprint == fingerprint {
            Ok(self.response)
        } else {
            Err(GuardError::IdempotencyKeyReused)
        }
    }
}

/// A refusal as it was answered: what a fence keeps so that the invocation that wrote it can
/// answer the same again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefusal {
    /// Its HTTP status.
    pub status: u16,
    /// Its problem code.
    pub code: String,
    /// Its problem title.
    pub title: String,
    /// Its problem detail.
    pub detail: String,
}

impl StoredRefusal {
    /// The refusal as it is answered.
    pub fn of<E: Problem>(err: &Error<E>) -> Self {
        Self {
            status: err.status(),
            code: err.code().to_owned(),
            title: err.title().to_owned(),
            detail: err.detail(),
        }
    }
}

/// What a refusal leaves under the key: no attempt of the operation signed at or before
/// `created` may take effect while the fence lives (see `guard.rs` for why that is enough).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The refused attempt's `created`.
    pub created: i64,
    /// The invocation that was refused: meeting its own fence, it answers `refusal` again.
    pub request_id: String,
    /// The refusal that was answered.
    pub refusal: StoredRefusal,
    /// Unix seconds from which the fence counts as gone: `created + window + 60`, after every
    /// attempt it covers has failed freshness.
    pub expires_at: i64,
}

/// An operation whose effect outside DynamoDB is under way: the writes that precede it (a
/// hold on funds) committed with this lease, and only the holder of `token` may complete or
/// release it. See [`Guard::post_leased`](crate::Guard::post_leased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The request that took the operation: a later one under the key must match it.
    pub fingerprint: Fingerprint,
    /// The invocation holding the lease.
    pub request_id: String,
    /// The fencing token: new on every take-over.
    pub token: String,
    /// Unix seconds from which another attempt may take the lease over.
    pub until: i64,
    /// What the app held (JSON): the outside call needs it on a take-over.
    pub held: String,
    /// Unix seconds from which the item counts as gone.
    pub expires_at: i64,
}

impl Lease {
    /// What a later request with the same key meets while the lease lives: 409 with the
    /// seconds until it may take over, or 422 for another request.
    pub fn refusal(&self, fingerprint: &Fingerprint, now: i64) -> GuardError {
        if &self.fingerprint != fingerprint {
            return GuardError::IdempotencyKeyReused;
        }
        GuardError::LeaseHeld {
            retry_after: seconds_until(self.until, now),
        }
    }
}

/// Whole seconds from `now` until `until`, at least one: a `Retry-After` for a lease.
pub(crate) fn seconds_until(until: i64, now: i64) -> u32 {
    u32::try_from((until - now).max(1)).unwrap_or(u32::MAX)
}

/// What the idempotency table holds under one client's key, when something live does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// The operation succeeded: its answer.
    Answered(IdempotencyRecord),
    /// The operation was refused: attempts signed up to the fence are settled.
    Fenced(Fence),
    /// The operation's outside effect is under way (or was left so by a crash).
    Leased(Lease),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_covers_method_path_and_body() {
        let f = Fingerprint::of("POST", "/transfers", b"{}");
        assert_eq!(f, Fingerprint::of("POST", "/transfers", b"{}"));
        assert_ne!(f, Fingerprint::of("PUT", "/transfers", b"{}"));
        assert_ne!(f, Fingerprint::of("POST", "/accounts", b"{}"));
        assert_ne!(f, Fingerprint::of("POST", "/transfers", b"{ }"));
        assert_ne!(
            Fingerprint::of("POST", "/a", b"b"),
            Fingerprint::of("POST", "/ab", b"")
        );
    }

    #[test]
    fn keys_are_visible_ascii() {
        assert_eq!(
            IdempotencyKey::parse(None),
            Err(GuardError::IdempotencyKeyMissing)
        );
        for bad in ["", "a b", "ключ", &"k".repeat(256), "\"k", "\"\""] {
            assert_eq!(
                IdempotencyKey::parse(Some(bad)),
                Err(GuardError::IdempotencyKeyInvalid)
            );
        }
        assert!(IdempotencyKey::parse(Some(&"k".repeat(255))).is_ok());
        assert_eq!(
            IdempotencyKey::parse(Some("\"abc\"")),
            IdempotencyKey::parse(Some("abc")),
            "the sf-string and the bare token are one key"
        );
    }
}
