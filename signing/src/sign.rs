//! The client side: producing the headers the server verifies.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::base::{hmac_sha256, required_components, signature_base, Message};
use crate::digest::content_digest;
use crate::input::{SignatureInput, ALG};
use crate::sfv::{self, BareItem, InnerList, Item};

const LABEL: &str = "sig1";

pub struct Signer {
    pub client_id: String,
    pub secret: Vec<u8>,
}

/// The signature parameters that change from one attempt to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptParams<'a> {
    /// Unix seconds the attempt is signed at.
    pub created: i64,
    /// Unix seconds after which the server refuses the attempt as stale (`now > expires`).
    /// None: only the server's replay window bounds it (what the contract's test vector signs).
    pub expires: Option<i64>,
    pub nonce: &'a str,
}

/// Header values to send; `content_digest` is None for an empty body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub content_digest: Option<String>,
    pub signature_input: String,
    pub signature: String,
}

impl Signer {
    pub fn new(client_id: impl Into<String>, secret: Vec<u8>) -> Self {
        Signer {
            client_id: client_id.into(),
            secret,
        }
    }

    /// Decodes a standard-base64 secret (the `secret` of `{"client_id","secret"}`).
    pub fn from_base64(
        client_id: impl Into<String>,
        secret_b64: &str,
    ) -> Result<Self, base64::DecodeError> {
        Ok(Self::new(client_id, STANDARD.decode(secret_b64.trim())?))
    }

    /// Signs a request with no `expires`. `path_and_query` is split on the first '?'. Covers
    /// exactly `required_components`, label "sig1", params created, nonce, keyid, alg: the
    /// layout of the contract's test vector.
    ///
    /// # Panics
    /// If `method` is POST and `idempotency_key` is None, or if a covered value contains
    /// CR or LF. Both are caller bugs: validate keys with [`valid_idempotency_key`].
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        idempotency_key: Option<&str>,
        created: i64,
        nonce: &str,
    ) -> SignedHeaders {
        let params = AttemptParams {
            created,
            expires: None,
            nonce,
        };
        self.sign_attempt(method, path_and_query, body, idempotency_key, &params)
    }

    /// [`Signer::sign`], with `expires` (when given) signed right after `created`: params
    /// created, expires, nonce, keyid, alg.
    ///
    /// # Panics
    /// As [`Signer::sign`].
    pub fn sign_attempt(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        idempotency_key: Option<&str>,
        attempt: &AttemptParams,
    ) -> SignedHeaders {
        let AttemptParams {
            created,
            expires,
            nonce,
        } = *attempt;
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let has_query = query.is_some_and(|q| !q.is_empty());
        let digest = (!body.is_empty()).then(|| content_digest(body));
        let components = required_components(method, has_query, digest.is_some());

        let string = |s: &str| BareItem::String(s.to_owned());
        let list = InnerList {
            items: components
                .iter()
                .map(|c| Item {
                    bare: string(c),
                    params: vec![],
                })
                .collect(),
            params: [("created".to_owned(), BareItem::Integer(created))]
                .into_iter()
                .chain(expires.map(|e| ("expires".to_owned(), BareItem::Integer(e))))
                .chain([
                    ("nonce".into(), string(nonce)),
                    ("keyid".into(), string(&self.client_id)),
                    ("alg".into(), string(ALG)),
                ])
                .collect(),
        };
        let input = SignatureInput {
            label: LABEL.into(),
            components: components.iter().map(|c| c.to_string()).collect(),
            created,
            expires,
            nonce: nonce.into(),
            keyid: self.client_id.clone(),
            alg: Some(ALG.into()),
            params: sfv::serialize_inner_list(&list),
        };
        // Reusing the verifier's base builder keeps client and server byte-identical.
        let header = |name: &str| -> Vec<String> {
            match name {
                "content-digest" => digest.iter().cloned().collect(),
                "idempotency-key" => idempotency_key.map(str::to_owned).into_iter().collect(),
                _ => vec![],
            }
        };
        let msg = Message {
            method,
            path,
            query,
            authority: None,
            header: &header,
        };
        let base = match signature_base(&input, &msg, digest.is_some()) {
            Ok(base) => base,
            Err(e) => panic!("cannot sign {method} {path_and_query}: {e}"),
        };
        let mac = hmac_sha256(&self.secret, &base);
        SignedHeaders {
            content_digest: digest,
            signature_input: format!("{LABEL}={}", input.params),
            signature: format!("{LABEL}=:{}:", STANDARD.encode(mac)),
        }
    }
}

/// 16 random bytes as base64url without padding (22 chars).
pub fn random_nonce() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// Validates an Idempotency-Key value: 1..=255 visible ASCII characters (0x21..=0x7E).
pub fn valid_idempotency_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|c| (0x21..=0x7e).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_key_edges() {
        assert!(!valid_idempotency_key(""));
        assert!(valid_idempotency_key("a"));
        assert!(valid_idempotency_key(&"a".repeat(255)));
        assert!(!valid_idempotency_key(&"a".repeat(256)));
        assert!(valid_idempotency_key("!~"));
        assert!(!valid_idempotency_key("a b"));
        assert!(!valid_idempotency_key("a\tb"));
        assert!(!valid_idempotency_key("a\u{7f}"));
        assert!(!valid_idempotency_key("caf\u{e9}"));
    }

    #[test]
    fn random_nonce_shape() {
        let (a, b) = (random_nonce(), random_nonce());
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
    }

    #[test]
    fn from_base64() {
        let s = Signer::from_base64("c", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert_eq!(s.secret, (0u8..32).collect::<Vec<_>>());
        assert_eq!(s.client_id, "c");
        assert!(Signer::from_base64("c", "not base64!").is_err());
    }

    #[test]
    #[should_panic(expected = "covered header absent")]
    fn post_without_idempotency_key_panics() {
        Signer::new("c", vec![1]).sign("POST", "/transfers", b"{}", None, 1, "aaaaaaaaaaaaaaaa");
    }
}
