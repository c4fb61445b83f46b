//! RFC 9421 HTTP Message Signatures (HMAC-SHA256 and Ed25519) and RFC 9530 Content-Digest,
//! as profiled by the replaysafe API contract ("Every request is signed").
//!
//! Shared by the server-side verifier and the client, so it stays free of any
//! AWS, async runtime or HTTP framework dependency.
//!
//! Both algorithms sign the same signature base ([`signature_base`]); only the `alg` parameter
//! ([`HMAC_SHA256`] or [`ED25519`]) and the bytes in `Signature` differ: a 32-byte HMAC-SHA256
//! under a shared secret, or a 64-byte Ed25519 signature under a 32-byte private seed, which the
//! server checks with the public key alone ([`ed25519_public_key`], [`verify_ed25519`]).
//! Ed25519 is ring's, checked against RFC 9421 Appendix B.2.6 and against the Python package
//! http-message-signatures (docs/signing.md).
//!
//! ```
//! use replaysafe_signing::{
//!     ed25519_public_key, parse_signature, signature_base, verify_ed25519, Message, Signer,
//! };
//!
//! let seed = [7u8; 32];
//! let signer = Signer::ed25519("key_2b7e", seed);
//! let signed = signer.sign("GET", "/accounts/acc_alice", b"", None, 1763812800, "q9X2mY7rT1vK4pLs8dWz3A");
//!
//! // The server: parse, rebuild the base from the request, verify with the public key.
//! let (input, signature) = parse_signature(&signed.signature_input, &signed.signature)?;
//! let no_headers = |_: &str| Vec::new();
//! let request = Message {
//!     method: "GET",
//!     path: "/accounts/acc_alice",
//!     query: None,
//!     authority: None,
//!     header: &no_headers,
//! };
//! let base = signature_base(&input, &request, false)?;
//! assert_eq!(input.alg.as_deref(), Some("ed25519"));
//! assert!(verify_ed25519(&ed25519_public_key(&seed), &base, &signature).is_ok());
//! # Ok::<(), replaysafe_signing::SignatureError>(())
//! ```

mod base;
mod digest;
mod ed25519;
mod input;
mod key;
mod sfv;
mod sign;

#[cfg(test)]
mod tests;

pub use base::{
    hmac_sha256, normalize_authority, required_components, signature_base, verify_hmac, Message,
    HMAC_SHA256,
};
pub use digest::{content_digest, verify_content_digest, DigestError};
pub use ed25519::{ed25519_public_key, sign_ed25519, verify_ed25519, Ed25519Error, ED25519};
pub use input::{parse_signature, SignatureError, SignatureInput};
pub use key::idempotency_key_from_header;
pub use sign::{
    random_nonce, valid_authority, valid_idempotency_key, valid_tag, AttemptParams, SignedHeaders,
    Signer, SignerOptionError, MAX_TAG_BYTES,
};
