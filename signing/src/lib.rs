//! RFC 9421 HTTP Message Signatures (HMAC-SHA256) and RFC 9530 Content-Digest,
//! as profiled by the replaysafe API contract ("Every request is signed").
//!
//! Shared by the server-side verifier and the client, so it stays free of any
//! AWS, async runtime or HTTP framework dependency.

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
    hmac_sha256, required_components, signature_base, verify_hmac, Message, HMAC_SHA256,
};
pub use digest::{content_digest, verify_content_digest, DigestError};
pub use ed25519::{ed25519_public_key, sign_ed25519, verify_ed25519, Ed25519Error, ED25519};
pub use input::{parse_signature, SignatureError, SignatureInput};
pub use key::idempotency_key_from_header;
pub use sign::{random_nonce, valid_idempotency_key, AttemptParams, SignedHeaders, Signer};
