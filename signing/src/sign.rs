//! The client side: producing the headers the server verifies.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::base::{hmac_sha256, required_components, signature_base, Message, HMAC_SHA256};
use crate::digest::content_digest;
use crate::ed25519::{sign_ed25519, Ed25519Error, ED25519};
use crate::input::SignatureInput;
use crate::sfv::{self, BareItem, InnerList, Item};

const LABEL: &str = "sig1";

/// Signs requests under one key: HMAC-SHA256 ([`Signer::new`]) or Ed25519
/// ([`Signer::ed25519`]), over the same signature base either way.
///
/// Its `Debug` output names the key and the algorithm, never the secret.
///
/// ```
/// use replaysafe_signing::Signer;
///
/// let signer = Signer::ed25519("key_2b7e", [9; 32]);
/// let headers = signer.sign("GET", "/accounts/acc_alice", b"", None, 1763812800, "q9X2mY7rT1vK4pLs8dWz3A");
/// assert!(headers.signature_input.ends_with(r#";keyid="key_2b7e";alg="ed25519""#));
/// assert!(!format!("{signer:?}").contains("9, 9"));
/// ```
pub struct Signer {
    /// The `keyid` every signature names: a key id (a client's first key has the client id as
    /// its key id).
    pub client_id: String,
    /// The HMAC-SHA256 secret, or the 32-byte Ed25519 private seed.
    pub secret: Vec<u8>,
    algorithm: Algorithm,
    /// The `tag` parameter every signature carries ([`Signer::with_tag`]), if any.
    tag: Option<String>,
    /// The `@authority` every signature covers ([`Signer::covering_authority`]), if any.
    authority: Option<String>,
}

/// A [`Signer`] option the signature could not carry.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignerOptionError {
    /// A tag must be 1 to [`MAX_TAG_BYTES`] printable ASCII characters (an RFC 8941 string).
    #[error("a signature tag must be 1 to 128 printable ASCII characters")]
    Tag,
    /// An authority must be a host with an optional port: no scheme, path, user or whitespace.
    #[error("an authority must be host[:port], without scheme, path, user or whitespace")]
    Authority,
}

/// The longest `tag` a [`Signer`] sends and a server can be configured to require.
pub const MAX_TAG_BYTES: usize = 128;

/// Whether `tag` can be a signature's `tag`: 1 to [`MAX_TAG_BYTES`] printable ASCII characters,
/// what an RFC 8941 string holds.
///
/// ```
/// use replaysafe_signing::valid_tag;
///
/// assert!(valid_tag("payments-prod"));
/// assert!(!valid_tag(""));
/// assert!(!valid_tag("caf\u{e9}"));
/// ```
pub fn valid_tag(tag: &str) -> bool {
    (1..=MAX_TAG_BYTES).contains(&tag.len()) && tag.bytes().all(|c| (0x20..=0x7e).contains(&c))
}

/// Whether `authority` is a `host[:port]` an `"@authority"` can sign: visible ASCII, none of
/// the characters that end a URI's authority (`/`, `?`, `#`) or start its user part (`@`).
///
/// ```
/// use replaysafe_signing::valid_authority;
///
/// assert!(valid_authority("api.example.com"));
/// assert!(valid_authority("127.0.0.1:9000"));
/// assert!(!valid_authority("https://api.example.com"));
/// assert!(!valid_authority("user@api.example.com"));
/// ```
pub fn valid_authority(authority: &str) -> bool {
    (1..=255).contains(&authority.len())
        && authority
            .bytes()
            .all(|c| c.is_ascii_graphic() && !b"/?#@\\\"".contains(&c))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    HmacSha256,
    Ed25519,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("client_id", &self.client_id)
            .field("alg", &self.alg())
            .field("tag", &self.tag)
            .field("authority", &self.authority)
            .field("secret", &"<redacted>")
            .finish()
    }
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
    /// An HMAC-SHA256 signer: `keyid` is `client_id`, `alg` is `hmac-sha256`.
    ///
    /// ```
    /// use replaysafe_signing::Signer;
    ///
    /// let signer = Signer::new("cli_7f3a", (0u8..32).collect());
    /// assert_eq!(signer.alg(), "hmac-sha256");
    /// ```
    pub fn new(client_id: impl Into<String>, secret: Vec<u8>) -> Self {
        Signer {
            client_id: client_id.into(),
            secret,
            algorithm: Algorithm::HmacSha256,
            tag: None,
            authority: None,
        }
    }

    /// An Ed25519 signer: `keyid` is `key_id`, `alg` is `ed25519`, and `Signature` carries the
    /// 64-byte Ed25519 signature of the signature base.
    ///
    /// ```
    /// use replaysafe_signing::Signer;
    ///
    /// let signer = Signer::ed25519("key_2b7e", [9; 32]);
    /// assert_eq!(signer.alg(), "ed25519");
    /// assert_eq!(signer.client_id, "key_2b7e");
    /// ```
    pub fn ed25519(key_id: impl Into<String>, seed: [u8; 32]) -> Self {
        Signer {
            client_id: key_id.into(),
            secret: seed.to_vec(),
            algorithm: Algorithm::Ed25519,
            tag: None,
            authority: None,
        }
    }

    /// Decodes the `private_key` that `admin create-key --alg ed25519` prints: standard base64
    /// of the 32-byte seed.
    ///
    /// ```
    /// use replaysafe_signing::{Ed25519Error, Signer};
    ///
    /// let private_key = "n4Ni+HpISpVObnQMW0wOhCKROaIKqKtW/2ZYb2p9KcU=";
    /// assert_eq!(Signer::ed25519_from_base64("key_2b7e", private_key)?.alg(), "ed25519");
    /// assert!(Signer::ed25519_from_base64("key_2b7e", "AAAA").is_err());
    /// # Ok::<(), Ed25519Error>(())
    /// ```
    pub fn ed25519_from_base64(
        key_id: impl Into<String>,
        private_key_b64: &str,
    ) -> Result<Self, Ed25519Error> {
        let seed = STANDARD
            .decode(private_key_b64.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or(Ed25519Error::PrivateKey)?;
        Ok(Self::ed25519(key_id, seed))
    }

    /// The `alg` parameter this signer sends: [`HMAC_SHA256`](crate::HMAC_SHA256) or
    /// [`ED25519`](crate::ED25519).
    ///
    /// ```
    /// use replaysafe_signing::{Signer, ED25519, HMAC_SHA256};
    ///
    /// assert_eq!(Signer::new("cli_7f3a", vec![1; 32]).alg(), HMAC_SHA256);
    /// assert_eq!(Signer::ed25519("key_2b7e", [1; 32]).alg(), ED25519);
    /// ```
    pub fn alg(&self) -> &'static str {
        match self.algorithm {
            Algorithm::HmacSha256 => HMAC_SHA256,
            Algorithm::Ed25519 => ED25519,
        }
    }

    /// Every signature carries `tag` as its `tag` parameter, after `alg`: the value a server's
    /// `SIGNATURE_TAG` requires. Without it a signer sends no `tag`.
    ///
    /// ```
    /// use replaysafe_signing::Signer;
    ///
    /// let signer = Signer::new("cli_7f3a", vec![1; 32]).with_tag("payments-prod")?;
    /// let headers = signer.sign("GET", "/accounts/acc_alice", b"", None, 1763812800, "q9X2mY7rT1vK4pLs8dWz3A");
    /// assert!(headers.signature_input.ends_with(r#";alg="hmac-sha256";tag="payments-prod""#));
    /// assert!(Signer::new("cli_7f3a", vec![1; 32]).with_tag("").is_err());
    /// # Ok::<(), replaysafe_signing::SignerOptionError>(())
    /// ```
    pub fn with_tag(mut self, tag: impl Into<String>) -> Result<Self, SignerOptionError> {
        let tag = tag.into();
        if !valid_tag(&tag) {
            return Err(SignerOptionError::Tag);
        }
        self.tag = Some(tag);
        Ok(self)
    }

    /// Every signature covers `"@authority"`, right after `"@method"`, with `authority` as
    /// its value: the host (and non-default port) requests are sent to, which a server with
    /// `REQUIRE_AUTHORITY` checks. Lowercased here; give it without the scheme's default port
    /// ([`normalize_authority`](crate::normalize_authority) does both from a URL's parts).
    ///
    /// ```
    /// use replaysafe_signing::{normalize_authority, Signer};
    ///
    /// let authority = normalize_authority("https", "API.Example.com:443");
    /// let signer = Signer::new("cli_7f3a", vec![1; 32]).covering_authority(&authority)?;
    /// let headers = signer.sign("GET", "/accounts/acc_alice", b"", None, 1763812800, "q9X2mY7rT1vK4pLs8dWz3A");
    /// assert!(headers.signature_input.starts_with(r#"sig1=("@method" "@authority" "@path")"#));
    /// assert_eq!(signer.authority(), Some("api.example.com"));
    /// # Ok::<(), replaysafe_signing::SignerOptionError>(())
    /// ```
    pub fn covering_authority(mut self, authority: &str) -> Result<Self, SignerOptionError> {
        if !valid_authority(authority) {
            return Err(SignerOptionError::Authority);
        }
        self.authority = Some(authority.to_ascii_lowercase());
        Ok(self)
    }

    /// The `tag` every signature carries, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The `"@authority"` every signature covers, if any.
    pub fn authority(&self) -> Option<&str> {
        self.authority.as_deref()
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
    /// layout of the contract's test vector. A signer [`covering_authority`](Self::covering_authority)
    /// also covers `"@authority"` after `"@method"`; one [`with_tag`](Self::with_tag) adds `tag`
    /// after `alg`.
    ///
    /// # Panics
    /// If `method` is POST and `idempotency_key` is None, or if a covered value contains
    /// CR or LF. Both are caller bugs: validate keys with [`valid_idempotency_key`]. Also if an
    /// Ed25519 signer's `secret` was replaced by one that is not 32 bytes.
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
        let mut components = required_components(method, has_query, digest.is_some());
        if self.authority.is_some() {
            // After "@method", as RFC 9421's own examples order a request's derived components.
            components.insert(1, "@authority");
        }

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
                    ("alg".into(), string(self.alg())),
                ])
                .chain(self.tag.as_deref().map(|t| ("tag".to_owned(), string(t))))
                .collect(),
        };
        let input = SignatureInput {
            label: LABEL.into(),
            components: components.iter().map(|c| c.to_string()).collect(),
            created,
            expires,
            nonce: nonce.into(),
            keyid: self.client_id.clone(),
            alg: Some(self.alg().into()),
            tag: self.tag.clone(),
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
            authority: self.authority.as_deref(),
            header: &header,
        };
        let base = match signature_base(&input, &msg, digest.is_some()) {
            Ok(base) => base,
            Err(e) => panic!("cannot sign {method} {path_and_query}: {e}"),
        };
        let signature = match self.algorithm {
            Algorithm::HmacSha256 => STANDARD.encode(hmac_sha256(&self.secret, &base)),
            Algorithm::Ed25519 => {
                let seed = <&[u8; 32]>::try_from(self.secret.as_slice())
                    .expect("an Ed25519 signer's secret is its 32-byte seed");
                STANDARD.encode(sign_ed25519(seed, &base))
            }
        };
        SignedHeaders {
            content_digest: digest,
            signature_input: format!("{LABEL}={}", input.params),
            signature: format!("{LABEL}=:{signature}:"),
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
    fn ed25519_signs_the_hmac_layout_with_its_own_alg() {
        let hmac = Signer::new("key_1", vec![1; 32]);
        let ed25519 = Signer::ed25519("key_1", [1; 32]);
        let args = (
            "POST",
            "/transfers?x=1",
            &b"{}"[..],
            Some("k1"),
            1,
            "aaaaaaaaaaaaaaaa",
        );
        let h = hmac.sign(args.0, args.1, args.2, args.3, args.4, args.5);
        let e = ed25519.sign(args.0, args.1, args.2, args.3, args.4, args.5);
        assert_eq!(e.content_digest, h.content_digest);
        assert_eq!(
            e.signature_input,
            h.signature_input
                .replace(r#"alg="hmac-sha256""#, r#"alg="ed25519""#)
        );
        let signature = |s: &str| {
            let b64 = s.strip_prefix("sig1=:").unwrap().strip_suffix(':').unwrap();
            STANDARD.decode(b64).unwrap()
        };
        assert_eq!(signature(&h.signature).len(), 32);
        assert_eq!(signature(&e.signature).len(), 64);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        for signer in [
            Signer::new("key_1", vec![0xab; 32]),
            Signer::ed25519("key_1", [0xab; 32]),
        ] {
            let debug = format!("{signer:?} {signer:#?}");
            assert!(debug.contains("key_1"), "{debug}");
            assert!(debug.contains(signer.alg()), "{debug}");
            assert!(!debug.contains("171"), "{debug}");
            assert!(!debug.contains("ab"), "{debug}");
        }
    }

    #[test]
    fn ed25519_from_base64() {
        let seed = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let s = Signer::ed25519_from_base64("k", seed).unwrap();
        assert_eq!(s.secret, (0u8..32).collect::<Vec<_>>());
        assert_eq!(s.alg(), "ed25519");
        for bad in [
            "not base64!",
            "AAAA",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",
        ] {
            assert_eq!(
                Signer::ed25519_from_base64("k", bad).err(),
                Some(Ed25519Error::PrivateKey),
                "{bad}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "covered header absent")]
    fn post_without_idempotency_key_panics() {
        Signer::new("c", vec![1]).sign("POST", "/transfers", b"{}", None, 1, "aaaaaaaaaaaaaaaa");
    }
}
