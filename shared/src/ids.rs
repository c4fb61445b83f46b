//! The id rule every id of the contract follows, and the ids the guard itself knows: clients'
//! and their keys'.

use std::fmt;

/// `^[A-Za-z0-9_-]{1,64}$`: the contract's shape for every id (clients', and an app's own).
pub fn is_valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A value that does not follow [`is_valid_id`]; the text names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} must match ^[A-Za-z0-9_-]{{1,64}}$")]
pub struct InvalidId(pub &'static str);

/// Who signed a request (the owner of the key its signature names), the owner of what it creates.
///
/// ```
/// use replaysafe::ClientId;
/// assert!(ClientId::parse("cli_4a75").is_ok());
/// assert!(ClientId::parse("cli#4a75").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// A client id, if `s` follows the id rule.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if is_valid_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId("client_id"))
        }
    }

    /// A fresh random id, `cli_` and 32 hex digits.
    pub fn generate() -> Self {
        Self(format!("cli_{}", uuid::Uuid::new_v4().simple()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a signature's `keyid` names: one of a client's keys. A client's first key has the
/// client's id as its key id, so signers that send their client id keep working; later keys
/// have ids of their own.
///
/// ```
/// use replaysafe::{ClientId, KeyId};
///
/// let client = ClientId::parse("cli_4a75").unwrap();
/// assert_eq!(KeyId::first_of(&client).as_str(), "cli_4a75");
/// assert!(KeyId::generate().as_str().starts_with("key_"));
/// assert!(KeyId::parse("key#1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// A key id, if `s` follows the id rule.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if is_valid_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId("key_id"))
        }
    }

    /// The id of `client`'s first key: the client's own id.
    pub fn first_of(client: &ClientId) -> Self {
        Self(client.as_str().to_owned())
    }

    /// A fresh random id, `key_` and 32 hex digits: no client id (`cli_…`) can equal it, and no
    /// one can have asked for it before it exists, save by guessing.
    pub fn generate() -> Self {
        Self(format!("key_{}", uuid::Uuid::new_v4().simple()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
