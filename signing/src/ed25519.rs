//! Ed25519 (RFC 8032) over the RFC 9421 signature base: the same base an HMAC-SHA256
//! signature covers, signed with a 32-byte private seed and verified with the 32-byte public
//! key (RFC 9421 §3.3.6).

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519 as RING_ED25519};

/// The `alg` signature parameter of an Ed25519 signature (RFC 9421 §6.2.2).
pub const ED25519: &str = "ed25519";

/// Why an Ed25519 key or signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ed25519Error {
    /// The public key is not 32 bytes (the length is given).
    #[error("an Ed25519 public key is 32 bytes, not {0}")]
    PublicKeyLength(usize),
    /// The signature is not 64 bytes (the length is given).
    #[error("an Ed25519 signature is 64 bytes, not {0}")]
    SignatureLength(usize),
    /// The private key is not standard base64 of 32 bytes.
    #[error("an Ed25519 private key is standard base64 of a 32-byte seed")]
    PrivateKey,
    /// The signature is well formed but not one of this key over this base.
    #[error("Ed25519 signature mismatch")]
    Mismatch,
}

/// The 32-byte public key of a 32-byte private seed: what a server keeps of an Ed25519 key.
///
/// ```
/// use replaysafe_signing::{ed25519_public_key, sign_ed25519, verify_ed25519};
///
/// let seed = [7u8; 32];
/// let public_key = ed25519_public_key(&seed);
/// let signature = sign_ed25519(&seed, "base");
/// assert_eq!(verify_ed25519(&public_key, "base", &signature), Ok(()));
/// ```
pub fn ed25519_public_key(seed: &[u8; 32]) -> [u8; 32] {
    let public_key = key_pair(seed).public_key().as_ref().try_into();
    public_key.expect("an Ed25519 public key is 32 bytes")
}

/// The Ed25519 signature of `base` under the private `seed`. Ed25519 is deterministic: the same
/// seed and base always give the same 64 bytes.
///
/// ```
/// use replaysafe_signing::sign_ed25519;
///
/// assert_eq!(sign_ed25519(&[1; 32], "base"), sign_ed25519(&[1; 32], "base"));
/// assert_ne!(sign_ed25519(&[1; 32], "base"), sign_ed25519(&[1; 32], "base "));
/// ```
pub fn sign_ed25519(seed: &[u8; 32], base: &str) -> [u8; 64] {
    let signature = key_pair(seed).sign(base.as_bytes()).as_ref().try_into();
    signature.expect("an Ed25519 signature is 64 bytes")
}

/// Checks that `signature` is the Ed25519 signature of `base` under `public_key`. A key or
/// signature of the wrong length is an error, as is any other key, base or signature.
///
/// ```
/// use replaysafe_signing::{ed25519_public_key, sign_ed25519, verify_ed25519, Ed25519Error};
///
/// let public_key = ed25519_public_key(&[2; 32]);
/// let signature = sign_ed25519(&[2; 32], "base");
/// assert_eq!(verify_ed25519(&public_key, "other base", &signature), Err(Ed25519Error::Mismatch));
/// assert_eq!(
///     verify_ed25519(&public_key[..31], "base", &signature),
///     Err(Ed25519Error::PublicKeyLength(31))
/// );
/// assert_eq!(
///     verify_ed25519(&public_key, "base", &signature[..63]),
///     Err(Ed25519Error::SignatureLength(63))
/// );
/// ```
pub fn verify_ed25519(public_key: &[u8], base: &str, signature: &[u8]) -> Result<(), Ed25519Error> {
    if public_key.len() != 32 {
        return Err(Ed25519Error::PublicKeyLength(public_key.len()));
    }
    if signature.len() != 64 {
        return Err(Ed25519Error::SignatureLength(signature.len()));
    }
    UnparsedPublicKey::new(&RING_ED25519, public_key)
        .verify(base.as_bytes(), signature)
        .map_err(|_| Ed25519Error::Mismatch)
}

fn key_pair(seed: &[u8; 32]) -> Ed25519KeyPair {
    // "Unchecked" only means no public key is given to compare with; any 32 bytes are a seed.
    Ed25519KeyPair::from_seed_unchecked(seed).expect("any 32 bytes are an Ed25519 seed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_the_exact_signature() {
        let public_key = ed25519_public_key(&[3; 32]);
        let signature = sign_ed25519(&[3; 32], "base");
        assert_eq!(verify_ed25519(&public_key, "base", &signature), Ok(()));
        let mut flipped = signature;
        flipped[10] ^= 1;
        assert_eq!(
            verify_ed25519(&public_key, "base", &flipped),
            Err(Ed25519Error::Mismatch)
        );
        let other = ed25519_public_key(&[4; 32]);
        assert_eq!(
            verify_ed25519(&other, "base", &signature),
            Err(Ed25519Error::Mismatch)
        );
    }

    #[test]
    fn wrong_lengths_are_errors_not_panics() {
        let public_key = ed25519_public_key(&[5; 32]);
        let signature = sign_ed25519(&[5; 32], "base");
        assert_eq!(
            verify_ed25519(&[], "base", &signature),
            Err(Ed25519Error::PublicKeyLength(0))
        );
        assert_eq!(
            verify_ed25519(&[0; 33], "base", &signature),
            Err(Ed25519Error::PublicKeyLength(33))
        );
        assert_eq!(
            verify_ed25519(&public_key, "base", &[]),
            Err(Ed25519Error::SignatureLength(0))
        );
        assert_eq!(
            verify_ed25519(&public_key, "base", &[0; 65]),
            Err(Ed25519Error::SignatureLength(65))
        );
    }
}
