//! Idempotency: the key a client sends, the fingerprint of the request it sent with it, the
//! response stored under both, and the fence a refusal leaves under the key.

use sha2::{Digest, Sha256};

use crate::error::{GuardError, Problem};

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters, scoped to the client that sent it.
/// The header is an sf-string (`"abc"`, draft-ietf-httpapi-idempotency-key-header-09) or a
/// bare token (`abc`): both name the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(header: Option<&str>) -> Result<Self, GuardError> {
        let value = header.ok_or(GuardError::IdempotencyKeyMissing)?;
        replaysafe_signing::idempotency_key_from_header(value)
            .map(Self)
            .ok_or(GuardError::IdempotencyKeyInvalid)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 over method, path and body bytes, each length-prefixed so that no two different
/// requests share a fingerprint by moving bytes from one part to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(method: &str, path: &str, body: &[u8]) -> Self {
        let mut h = Sha256::new();
        for part in [method.as_bytes(), path.as_bytes(), body] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        Self(hex(&h.finalize()))
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The response a first request produced, replayed to its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

/// What the idempotency table holds under one client's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: Fingerprint,
    pub response: StoredResponse,
    /// The Lambda request that wrote it: a request meeting its own record is an SDK retry of a
    /// write that already committed, not a replay.
    pub request_id: String,
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
    pub status: u16,
    pub code: String,
    pub title: String,
    pub detail: String,
}

impl StoredRefusal {
    /// The refusal as it is answered.
    pub fn of(err: &dyn Problem) -> Self {
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
    pub refusal: StoredRefusal,
    pub expires_at: i64,
}

/// What the idempotency table holds under one client's key, when something live does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// The operation succeeded: its answer.
    Answered(IdempotencyRecord),
    /// The operation was refused: attempts signed up to the fence are settled.
    Fenced(Fence),
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
