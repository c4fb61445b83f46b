//! RFC 9530 Content-Digest, sha-256 only.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::sfv::{self, BareItem, Member};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("malformed Content-Digest")]
    Malformed,
    #[error("Content-Digest has no sha-256")]
    MissingSha256,
    #[error("Content-Digest does not match the body")]
    Mismatch,
}

/// RFC 9530 Content-Digest for a body: `sha-256=:<base64 std of SHA-256(body)>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// Parses the header as an RFC 8941 dictionary and checks its sha-256 member against
/// the body. Other algorithms are ignored (the contract only trusts sha-256).
pub fn verify_content_digest(header: &str, body: &[u8]) -> Result<(), DigestError> {
    let dict = sfv::parse_dictionary(header).map_err(|_| DigestError::Malformed)?;
    let mut sha256 = dict.iter().filter(|(k, _)| k == "sha-256");
    let Some((_, member)) = sha256.next() else {
        return Err(DigestError::MissingSha256);
    };
    // RFC 8941 would let the last duplicate win; an intermediary might pick the
    // first, so refuse to guess.
    if sha256.next().is_some() {
        return Err(DigestError::Malformed);
    }
    let Member::Item(sfv::Item {
        bare: BareItem::ByteSeq(expected),
        ..
    }) = member
    else {
        return Err(DigestError::Malformed);
    };
    let actual = Sha256::digest(body);
    if bool::from(expected.as_slice().ct_eq(actual.as_slice())) {
        Ok(())
    } else {
        Err(DigestError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR"}"#;
    const DIGEST: &str = "sha-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:";
    const SHA512_EMPTY: &str = "sha-512=:z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==:";

    #[test]
    fn content_digest_matches_contract_vector() {
        assert_eq!(content_digest(BODY), DIGEST);
        assert_eq!(verify_content_digest(DIGEST, BODY), Ok(()));
    }

    #[test]
    fn other_algorithms_are_ignored() {
        let both = format!("{SHA512_EMPTY}, {DIGEST}, unixsum=:AAAA:");
        assert_eq!(verify_content_digest(&both, BODY), Ok(()));
        assert_eq!(
            verify_content_digest(&format!("{DIGEST},md5=?1"), BODY),
            Ok(())
        );
    }

    #[test]
    fn sha512_alone_is_missing_sha256() {
        assert_eq!(
            verify_content_digest(SHA512_EMPTY, b""),
            Err(DigestError::MissingSha256)
        );
        assert_eq!(
            verify_content_digest("", b""),
            Err(DigestError::MissingSha256)
        );
    }

    #[test]
    fn mismatch() {
        assert_eq!(
            verify_content_digest(DIGEST, b"{}"),
            Err(DigestError::Mismatch)
        );
        assert_eq!(
            verify_content_digest("sha-256=:AAAA:", BODY),
            Err(DigestError::Mismatch)
        );
        let empty = content_digest(b"");
        assert_eq!(
            verify_content_digest(&empty, BODY),
            Err(DigestError::Mismatch)
        );
        assert_eq!(verify_content_digest(&empty, b""), Ok(()));
    }

    #[test]
    fn malformed() {
        for bad in [
            "sha-256=bHfL",
            "sha-256=\"bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=\"",
            "sha-256",
            "sha-256=(:AAAA:)",
            "sha-256=:bHf!:",
            "SHA-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:",
            "sha-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:,",
        ] {
            assert_eq!(
                verify_content_digest(bad, BODY),
                Err(DigestError::Malformed),
                "{bad}"
            );
        }
        let twice = format!("{DIGEST}, sha-256=:AAAA:");
        assert_eq!(
            verify_content_digest(&twice, BODY),
            Err(DigestError::Malformed)
        );
    }
}
