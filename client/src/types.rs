//! The API's resources and what a call returns.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// An account as the API shows it. `created_at` comes with a 201, `updated_at` with a 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub currency: String,
    /// Minor units (cents).
    pub balance: u64,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub transfer_id: String,
    pub from: String,
    pub to: String,
    /// Minor units (cents).
    pub amount: u64,
    pub currency: String,
    #[serde(default)]
    pub reference: Option<String>,
    pub created_at: String,
}

/// The body of `POST /accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAccount {
    /// Absent: the server generates one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub currency: String,
    pub initial_balance: u64,
}

impl NewAccount {
    pub fn new(currency: impl Into<String>, initial_balance: u64) -> Self {
        Self {
            account_id: None,
            currency: currency.into(),
            initial_balance,
        }
    }

    pub fn with_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(account_id.into());
        self
    }
}

/// The body of `POST /transfers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTransfer {
    pub from: String,
    pub to: String,
    pub amount: u64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl NewTransfer {
    pub fn new(
        from: impl Into<String>,
        to: impl Into<String>,
        amount: u64,
        currency: impl Into<String>,
    ) -> Self {
        Self {
            from: from.into(),
            to: to.into(),
            amount,
            currency: currency.into(),
            reference: None,
        }
    }

    pub fn with_reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }
}

/// The answer to a POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created<T> {
    pub value: T,
    /// `Idempotent-Replayed: true`: the stored answer of an earlier request with this key.
    /// Nothing happened this time; what `value` describes happened once, then.
    pub replayed: bool,
    /// The key every attempt carried: quote it to retry the same operation later.
    pub idempotency_key: IdempotencyKey,
    pub location: Option<String>,
    /// HTTP requests it took (1 without retries).
    pub attempts: u32,
}

/// The answer to a GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<T> {
    pub value: T,
    pub etag: Option<String>,
    pub attempts: u32,
}

/// The answer to a conditional GET (`If-None-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional<T> {
    Modified(Fetched<T>),
    /// 304: the resource still has the ETag you sent.
    NotModified {
        etag: Option<String>,
    },
}

/// An `Idempotency-Key`: a fresh UUID v4, or one you give (an order number, say, or a key you
/// persisted to resume an operation): 1 to 255 visible ASCII characters (the contract's rule).
///
/// The client sends it as given; its own keys are bare. The server also reads the RFC 8941
/// sf-string form (draft-ietf-httpapi-idempotency-key-header-09: `"inv-42"`) as the same key
/// as the bare `inv-42`, so a key you give in double quotes is, to the server, the key between
/// them, and must be a well-formed sf-string: [`IdempotencyKey::parse`] checks it with the
/// server's own reading (`replaysafe_signing::idempotency_key_from_header`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh key for a new logical operation.
    pub fn new_v4() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        // As the server reads the header this value is sent in.
        if replaysafe_signing::idempotency_key_from_header(&key).is_some() {
            Ok(Self(key))
        } else {
            Err(Error::InvalidInput(format!(
                "invalid Idempotency-Key {key:?}: it must be 1 to 255 visible ASCII characters \
                 (no spaces or line breaks), bare (then without a comma) or as a well-formed \
                 \"quoted\" string"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdempotencyKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// The contract's id rule, `^[A-Za-z0-9_-]{1,64}$`, for account and transfer ids.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(crate) fn check_id(kind: &str, id: &str) -> Result<(), Error> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid {kind} id {id:?}: ids are 1 to 64 characters of A-Z a-z 0-9 _ -"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = IdempotencyKey::new_v4();
        assert_eq!(k.as_str().len(), 36);
        assert_ne!(k, IdempotencyKey::new_v4());
        assert!(IdempotencyKey::parse("inv-42").is_ok());
        for bad in [
            "",
            "a b",
            "a\r\nb",
            "caf\u{e9}",
            &"k".repeat(256),
            "\"unclosed",
            "\"a b\"",
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        // A key the caller gives is taken as given, whatever its shape (not only a UUID or an
        // RFC 8941 token, which cannot start with a digit).
        for given in ["9-invoice", "\"quoted\"", "a:b/c", &"k".repeat(255)] {
            assert_eq!(IdempotencyKey::parse(given).unwrap().as_str(), given);
        }
    }

    #[test]
    fn ids() {
        assert!(valid_id("acc_alice-1"));
        assert!(valid_id(&"a".repeat(64)));
        for bad in ["", "a/b", "../x", "a?b", "é", &"a".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn bodies_serialize_as_the_contract_shows() {
        let t = NewTransfer::new("acc_alice", "acc_bob", 1500, "EUR");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR"}"#
        );
        let a = NewAccount::new("EUR", 10_000).with_id("acc_alice");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"account_id":"acc_alice","currency":"EUR","initial_balance":10000}"#
        );
    }
}
