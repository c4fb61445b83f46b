//! RFC 9421 HTTP Message Signatures (HMAC-SHA256) and RFC 9530 Content-Digest,
//! as profiled by the replaysafe API contract ("Every request is signed").
//!
//! Shared by the server-side verifier and the client, so it stays free of any
//! AWS, async runtime or HTTP framework dependency.

mod base;
mod digest;
mod input;
mod key;
mod sfv;
mod sign;

#[cfg(test)]
mod tests;

pub use base::{hmac_sha256, required_components, signature_base, verify_hmac, Message};
pub use digest::{content_digest, verify_content_digest, DigestError};
pub use input::{parse_signature, SignatureError, SignatureInput};
pub use key::idempotency_key_from_header;
pub use sign::{random_nonce, valid_idempotency_key, AttemptParams, SignedHeaders, Signer};
