//! Ed25519 against RFC 9421's own test vector: Appendix B.2.6 ("Signing a Request Using
//! ed25519"), with the key `test-key-ed25519` of Appendix B.1.4, the request of Appendix B.2
//! and the signature base of B.2.6, byte for byte.
//!
//! Our `signature_base` cannot build B.2.6's base: it refuses a POST that does not cover
//! `idempotency-key`, or a query string not covered by `@query` (the contract's coverage rules),
//! and B.2.6 covers neither. So the RFC's base is taken literally for the signature check, and
//! our builder's base for our own components is checked separately, with the same key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use replaysafe_signing::{
    ed25519_public_key, parse_signature, sign_ed25519, signature_base, verify_content_digest,
    verify_ed25519, Ed25519Error, Message, Signer, ED25519,
};

/// RFC 9421 Appendix B.1.4: the private key of `test-key-ed25519`, PKCS#8 DER in base64 (the
/// PEM's body). Its last 32 bytes are the seed.
const RFC_PRIVATE_KEY_DER: &str =
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";
/// RFC 9421 Appendix B.1.4: its public key, SubjectPublicKeyInfo DER in base64. Its last 32
/// bytes are the key.
const RFC_PUBLIC_KEY_DER: &str = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";
/// The DER both keys' 32 bytes follow: the OID 1.3.101.112 (Ed25519) in PKCS#8 and SPKI.
const PKCS8_PREFIX: &str = "302e020100300506032b657004220420";
const SPKI_PREFIX: &str = "302a300506032b6570032100";

/// RFC 9421 Appendix B.2.6: the signature base (lines unwrapped per RFC 8792).
const RFC_BASE: &str = r#""date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
/// RFC 9421 Appendix B.2.6: the `Signature-Input` and `Signature` fields.
const RFC_SIGNATURE_INPUT: &str = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
const RFC_SIGNATURE: &str = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";

/// The contract's HMAC test vector request (docs/contract.md), signed with the RFC key.
const BODY: &[u8] = br#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR"}"#;
const IDEMPOTENCY_KEY: &str = "5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21";
const CREATED: i64 = 1_763_812_800;
const NONCE: &str = "q9X2mY7rT1vK4pLs8dWz3A";
/// The contract vector's base with only `keyid` and `alg` changed: Ed25519 signs the same base.
const CONTRACT_BASE: &str = r#""@method": POST
"@path": /transfers
"content-digest": sha-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:
"idempotency-key": 5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21
"@signature-params": ("@method" "@path" "content-digest" "idempotency-key");created=1763812800;nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="test-key-ed25519";alg="ed25519""#;
/// Ed25519 of CONTRACT_BASE under the RFC key, computed with Python's `cryptography` (an
/// implementation other than ring), so that this file pins a value we did not produce.
const CONTRACT_SIGNATURE: &str = "sig1=:aeDHJzgMypNJmhsBW+dAyFltKzahRrMj8FUEjVfWuMZ+NsIUxeRBHPe6WUBtp/NmLalgIJK/HzbGpWFZHknsDw==:";

fn last_32(der_b64: &str, prefix_hex: &str) -> [u8; 32] {
    let der = STANDARD.decode(der_b64).unwrap();
    let (prefix, key) = der.split_at(der.len() - 32);
    let hex: String = prefix.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, prefix_hex, "not the DER of an Ed25519 key");
    key.try_into().unwrap()
}

fn rfc_seed() -> [u8; 32] {
    last_32(RFC_PRIVATE_KEY_DER, PKCS8_PREFIX)
}

fn rfc_public_key() -> [u8; 32] {
    last_32(RFC_PUBLIC_KEY_DER, SPKI_PREFIX)
}

/// The bytes of a `label=:base64:` Signature field.
fn signature_bytes(field: &str) -> Vec<u8> {
    let (_, value) = field.split_once('=').unwrap();
    STANDARD
        .decode(value.strip_prefix(':').unwrap().strip_suffix(':').unwrap())
        .unwrap()
}

#[test]
fn the_rfc_seed_gives_the_rfc_public_key() {
    assert_eq!(ed25519_public_key(&rfc_seed()), rfc_public_key());
}

#[test]
fn rfc_b26_signature_is_reproduced_byte_for_byte() {
    let signature = sign_ed25519(&rfc_seed(), RFC_BASE);
    assert_eq!(
        format!("sig-b26=:{}:", STANDARD.encode(signature)),
        RFC_SIGNATURE
    );
}

#[test]
fn rfc_b26_signature_verifies_and_nothing_near_it_does() {
    let public_key = rfc_public_key();
    let signature = signature_bytes(RFC_SIGNATURE);
    assert_eq!(verify_ed25519(&public_key, RFC_BASE, &signature), Ok(()));
    // The base's last line is the Signature-Input member's inner list, as RFC 9421 §2.5 says.
    let (_, inner_list) = RFC_SIGNATURE_INPUT.split_once('=').unwrap();
    assert!(RFC_BASE.ends_with(&format!("\"@signature-params\": {inner_list}")));

    let other_date = RFC_BASE.replace("02:07:55", "02:07:56");
    assert_eq!(
        verify_ed25519(&public_key, &other_date, &signature),
        Err(Ed25519Error::Mismatch)
    );
    let with_newline = format!("{RFC_BASE}\n");
    assert_eq!(
        verify_ed25519(&public_key, &with_newline, &signature),
        Err(Ed25519Error::Mismatch)
    );
    let other_key = ed25519_public_key(&[0; 32]);
    assert_eq!(
        verify_ed25519(&other_key, RFC_BASE, &signature),
        Err(Ed25519Error::Mismatch)
    );
}

#[test]
fn our_signer_signs_our_base_with_the_rfc_key() {
    let signer = Signer::ed25519("test-key-ed25519", rfc_seed());
    let signed = signer.sign(
        "POST",
        "/transfers",
        BODY,
        Some(IDEMPOTENCY_KEY),
        CREATED,
        NONCE,
    );
    assert_eq!(signed.signature, CONTRACT_SIGNATURE);

    // The server's side: parse, rebuild the base with our builder, verify with the public key.
    let (input, signature) = parse_signature(&signed.signature_input, &signed.signature).unwrap();
    assert_eq!(input.alg.as_deref(), Some(ED25519));
    assert_eq!(input.keyid, "test-key-ed25519");
    let digest = signed.content_digest.clone().unwrap();
    let header = |name: &str| -> Vec<String> {
        match name {
            "content-digest" => vec![digest.clone()],
            "idempotency-key" => vec![IDEMPOTENCY_KEY.to_owned()],
            _ => vec![],
        }
    };
    let message = Message {
        method: "POST",
        path: "/transfers",
        query: None,
        authority: None,
        header: &header,
    };
    let base = signature_base(&input, &message, true).unwrap();
    assert_eq!(base, CONTRACT_BASE);
    assert_eq!(verify_ed25519(&rfc_public_key(), &base, &signature), Ok(()));
    assert_eq!(verify_content_digest(&digest, BODY), Ok(()));
}
