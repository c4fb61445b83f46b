//! The signature algorithm the guard verifies with. RFC 9421 leaves the choice to the verifier;
//! the contract says HMAC-SHA256, and that is the default.

/// A signature algorithm: its RFC 9421 `alg` name and its verification.
///
/// A signature whose `alg` parameter names another algorithm is refused (401
/// `signature-invalid`) before its key is looked up; one without `alg` is verified with this one.
///
/// ```
/// use replaysafe::auth::{HmacSha256, SignatureAlgorithm};
///
/// let mac = replaysafe_signing::hmac_sha256(b"secret", "base");
/// assert_eq!(HmacSha256.name(), "hmac-sha256");
/// assert!(HmacSha256.verify(b"secret", "base", &mac));
/// assert!(!HmacSha256.verify(b"secret", "base!", &mac));
/// ```
pub trait SignatureAlgorithm: Send + Sync {
    /// The `alg` value it answers to, e.g. `hmac-sha256`.
    fn name(&self) -> &str;
    /// Whether `signature` signs `base` (the RFC 9421 signature base) under the client's `key`.
    /// Compare in constant time.
    fn verify(&self, key: &[u8], base: &str, signature: &[u8]) -> bool;
}

/// HMAC-SHA256 with the client's secret: `hmac-sha256`, the contract's algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct HmacSha256;

impl SignatureAlgorithm for HmacSha256 {
    fn name(&self) -> &str {
        "hmac-sha256"
    }

    fn verify(&self, key: &[u8], base: &str, signature: &[u8]) -> bool {
        replaysafe_signing::verify_hmac(key, base, signature).is_ok()
    }
}
