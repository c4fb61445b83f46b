//! The id rule every id of the contract follows, and the one id the guard itself knows: the
//! client's.

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

/// Who signed a request: the `keyid` of its signature, the owner of what it creates.
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
