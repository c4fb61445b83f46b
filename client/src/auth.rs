//! How a client proves who it is: one of the API's two deployment modes (`AUTH_MODE`).
//!
//! - [`Auth::Signature`] (`signature` mode): every attempt is signed per RFC 9421 with the
//!   client's secret, a fresh nonce and a `created` later than the attempt before.
//! - [`Auth::Bearer`] (`jwt` mode, behind an API Gateway JWT authorizer): every attempt carries
//!   `Authorization: Bearer <token>`; API Gateway verifies the token and the API takes its `sub`
//!   claim as the principal. No signature, no nonce, no freshness window.

use std::fmt;

use replaysafe_signing::Signer;

use crate::credentials::Credentials;
use crate::error::Error;

/// The longest token accepted (API Gateway refuses request heads much past 10 KB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// How a client authenticates its requests. Chosen once, at the builder
/// ([`crate::Client::builder_with_auth`]).
pub enum Auth {
    /// Sign every attempt (RFC 9421 HMAC-SHA256): a `signature`-mode API.
    Signature(Signer),
    /// Send a bearer token: a `jwt`-mode API behind an API Gateway JWT authorizer.
    Bearer(BearerToken),
}

impl Auth {
    /// Signing with the credentials `admin create-client` printed.
    pub fn signature(credentials: &Credentials) -> Result<Self, Error> {
        Ok(Auth::Signature(credentials.signer()?))
    }

    /// A bearer token (a JWT), checked by [`BearerToken::new`].
    pub fn bearer(token: impl Into<String>) -> Result<Self, Error> {
        Ok(Auth::Bearer(BearerToken::new(token)?))
    }

    pub(crate) fn scheme(&self) -> Scheme {
        match self {
            Auth::Signature(_) => Scheme::Signature,
            Auth::Bearer(_) => Scheme::Bearer,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Signature(s) => f
                .debug_struct("Signature")
                .field("key_id", &s.client_id)
                .finish_non_exhaustive(),
            Auth::Bearer(t) => f.debug_tuple("Bearer").field(t).finish(),
        }
    }
}

/// Which mode a client speaks, for the rules that differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Signature,
    Bearer,
}

/// A bearer token: what follows `Bearer ` in `Authorization`. Its `Debug` does not show it (a
/// token is a credential until it expires).
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// A token with RFC 6750's `b64token` syntax (`A-Z a-z 0-9 - . _ ~ + /`, then any `=`),
    /// which every JWT has, of at most [`MAX_TOKEN_BYTES`]. Anything else could not be a header
    /// value, or is not a token: refused before anything is sent. Surrounding whitespace (a
    /// token pasted from a file) is trimmed; a leading `Bearer ` is not accepted.
    pub fn new(token: impl Into<String>) -> Result<Self, Error> {
        let token = token.into();
        let token = token.trim();
        let body = token.trim_end_matches('=');
        let valid = !body.is_empty()
            && token.len() <= MAX_TOKEN_BYTES
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if valid {
            Ok(Self(token.to_owned()))
        } else {
            Err(Error::Credentials(format!(
                "not a bearer token: expected 1 to {MAX_TOKEN_BYTES} characters of A-Z a-z 0-9 \
                 - . _ ~ + / (a JWT), without the word Bearer"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Authorization` header value.
    pub(crate) fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_";
        assert_eq!(BearerToken::new(jwt).unwrap().as_str(), jwt);
        assert_eq!(BearerToken::new(format!(" {jwt}\n")).unwrap().as_str(), jwt);
        assert!(BearerToken::new("abc==").is_ok());
        for bad in [
            "",
            "  ",
            "==",
            "Bearer abc",
            "a b",
            "a\r\nX-Evil: 1",
            "caf\u{e9}",
            "a=b",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert!(BearerToken::new(bad).is_err(), "{bad:?}");
        }
        let token = BearerToken::new("secret.token.value").unwrap();
        assert!(!format!("{token:?}").contains("secret"));
        assert!(!format!("{:?}", Auth::Bearer(token)).contains("secret"));
        assert_eq!(
            BearerToken::new("t").unwrap().header_value(),
            "Bearer t",
            "one space, RFC 6750"
        );
    }
}
