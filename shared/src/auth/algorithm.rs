//! The signature algorithms the guard verifies with. Each key names its algorithm (`alg`); the
//! guard verifies with the one of that name. HMAC-SHA256 and Ed25519 are always there.

/// A signature algorithm: its RFC 9421 `alg` name and its verification.
///
/// A signature is verified with the algorithm its key names. One whose `alg` parameter names an
/// algorithm the guard does not have is refused (401 `signature-invalid`) before its key is
/// looked up, one whose `alg` is not its key's after; one without `alg` is verified with its
/// key's.
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
    /// Whether `signature` signs `base` (the RFC 9421 signature base) under `key`, the key's
    /// material (an HMAC secret, a public key). Compare in constant time.
    fn verify(&self, key: &[u8], base: &str, signature: &[u8]) -> bool;
}

/// HMAC-SHA256 with the key's secret: `hmac-sha256`, the contract's algorithm.
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

/// Ed25519 with the key's public key: `ed25519`. The server holds no secret for such a key,
/// so a read of its table cannot sign as its client.
///
/// ```
/// use replaysafe::auth::{Ed25519, SignatureAlgorithm};
/// use replaysafe_signing::{ed25519_public_key, sign_ed25519};
///
/// let seed = [7u8; 32];
/// let public = ed25519_public_key(&seed);
/// let signature = sign_ed25519(&seed, "base");
/// assert_eq!(Ed25519.name(), "ed25519");
/// assert!(Ed25519.verify(&public, "base", &signature));
/// assert!(!Ed25519.verify(&public, "another base", &signature));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Ed25519;

impl SignatureAlgorithm for Ed25519 {
    fn name(&self) -> &str {
        replaysafe_signing::ED25519
    }

    fn verify(&self, key: &[u8], base: &str, signature: &[u8]) -> bool {
        replaysafe_signing::verify_ed25519(key, base, signature).is_ok()
    }
}
