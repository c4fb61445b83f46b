//! Properties of Ed25519 signatures: one verifies over exactly the base it was made over and
//! under exactly the key of the seed that made it.

use proptest::prelude::*;
use replaysafe_signing::{ed25519_public_key, sign_ed25519, verify_ed25519, Ed25519Error};

fn seed() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

/// Signature bases and text near them: any text, and ASCII lines like a real base's.
fn base() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "(\"[@a-z-]{1,16}\": [ -~]{0,40}\n){0,5}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn a_signature_verifies_over_its_own_base_only(
        seed in seed(),
        base in base(),
        other in base(),
    ) {
        let public_key = ed25519_public_key(&seed);
        let signature = sign_ed25519(&seed, &base);
        prop_assert_eq!(verify_ed25519(&public_key, &base, &signature), Ok(()));
        prop_assume!(other != base);
        prop_assert_eq!(
            verify_ed25519(&public_key, &other, &signature),
            Err(Ed25519Error::Mismatch)
        );
    }

    #[test]
    fn a_base_with_one_more_byte_does_not_verify(seed in seed(), base in base(), extra in any::<char>()) {
        let signature = sign_ed25519(&seed, &base);
        let longer = format!("{base}{extra}");
        prop_assert_eq!(
            verify_ed25519(&ed25519_public_key(&seed), &longer, &signature),
            Err(Ed25519Error::Mismatch)
        );
    }

    #[test]
    fn a_signature_from_one_seed_never_verifies_under_another_key(
        seed in seed(),
        other in seed(),
        base in base(),
    ) {
        prop_assume!(other != seed);
        let signature = sign_ed25519(&seed, &base);
        prop_assert_eq!(
            verify_ed25519(&ed25519_public_key(&other), &base, &signature),
            Err(Ed25519Error::Mismatch)
        );
    }

    #[test]
    fn a_seed_one_bit_away_gives_a_key_that_refuses(
        seed in seed(),
        bit in 0usize..256,
        base in base(),
    ) {
        let mut other = seed;
        other[bit / 8] ^= 1 << (bit % 8);
        let signature = sign_ed25519(&seed, &base);
        prop_assert_eq!(
            verify_ed25519(&ed25519_public_key(&other), &base, &signature),
            Err(Ed25519Error::Mismatch)
        );
    }

    #[test]
    fn any_key_and_signature_bytes_are_an_answer_not_a_panic(
        public_key in proptest::collection::vec(any::<u8>(), 0..70),
        signature in proptest::collection::vec(any::<u8>(), 0..130),
        base in base(),
    ) {
        let result = verify_ed25519(&public_key, &base, &signature);
        if public_key.len() != 32 {
            prop_assert_eq!(result, Err(Ed25519Error::PublicKeyLength(public_key.len())));
        } else if signature.len() != 64 {
            prop_assert_eq!(result, Err(Ed25519Error::SignatureLength(signature.len())));
        }
    }
}
