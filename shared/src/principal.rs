//! Who is calling: a signing client, or a principal API Gateway's authorizer vouched for. The
//! guard scopes nonces and idempotency keys by it, and an app stamps what it creates with it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::ids::ClientId;

/// Who is calling, in one string that is the same for every request of the same caller and
/// differs between any two callers: a signing client is its client id (`cli_4a75`); a
/// principal from an authorizer (a JWT `sub`, an IAM ARN, a Lambda authorizer's id) is `sub:`
/// and the base64url of its UTF-8 bytes, so no authorizer principal can take a client's name,
/// and none contains the `#` the guard's keys are joined with.
///
/// ```
/// use replaysafe::{ClientId, Principal};
///
/// let client = Principal::client(&ClientId::parse("cli_4a75").unwrap());
/// assert_eq!(client.as_str(), "cli_4a75");
/// let subject = Principal::authorized("cli_4a75").unwrap();
/// assert_ne!(subject, client);
/// assert_eq!(subject.as_str(), "sub:Y2xpXzRhNzU");
/// assert!(Principal::authorized("").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal(String);

/// The longest authorizer principal accepted, in Unicode scalar values.
pub const MAX_AUTHORIZED_CHARS: usize = 255;

impl Principal {
    /// A signing client.
    pub fn client(id: &ClientId) -> Self {
        Self(id.as_str().to_owned())
    }

    /// A principal an authorizer vouched for: 1 to 255 characters, compared exactly (no case
    /// folding, no normalisation); `None` otherwise.
    pub fn authorized(name: &str) -> Option<Self> {
        let chars = name.chars().count();
        (1..=MAX_AUTHORIZED_CHARS)
            .contains(&chars)
            .then(|| Self(format!("sub:{}", URL_SAFE_NO_PAD.encode(name))))
    }

    /// The source of records keyed by their own ids (a queue's or stream's ARN): `src:` and
    /// its base64url, apart from every client and authorizer principal.
    pub fn source(origin: &str) -> Self {
        Self(format!("src:{}", URL_SAFE_NO_PAD.encode(origin)))
    }

    /// A principal as an app stored it ([`Principal::as_str`]), taken as it is.
    pub fn from_stored(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The one string naming this caller: store it as the owner of what it creates.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorized_principals_never_collide_with_clients_or_each_other() {
        let names = ["a", "A", "cli_a", "sub:a", "a#b", "é", "e\u{301}", "ключ"];
        let mut seen = std::collections::BTreeSet::new();
        for n in names {
            let p = Principal::authorized(n).unwrap();
            assert!(!p.as_str().contains('#'), "{p}");
            assert!(
                ClientId::parse(p.as_str()).is_err(),
                "{p} looks like a client id"
            );
            assert!(seen.insert(p));
        }
    }

    #[test]
    fn an_authorized_principal_is_1_to_255_characters() {
        assert!(Principal::authorized(&"é".repeat(255)).is_some());
        assert!(Principal::authorized(&"é".repeat(256)).is_none());
        assert!(Principal::authorized("").is_none());
    }
}
