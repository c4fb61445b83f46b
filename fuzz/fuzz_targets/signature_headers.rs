//! `Signature-Input` + `Signature` (RFC 9421 over RFC 8941) and `Content-Digest` (RFC 9530):
//! never a panic, and whatever parses re-serializes to parameters that parse to the same input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replaysafe_signing::{parse_signature, verify_content_digest};

fuzz_target!(|data: &[u8]| {
    // First line: Signature-Input; second: Signature; the rest is a body for the digest.
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let input = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();
    if let Ok((parsed, _)) = parse_signature(&input, &signature) {
        // The canonical form is what the base signs: it must mean the same thing again.
        let again = format!("{}={}", parsed.label, parsed.params);
        let (reparsed, _) =
            parse_signature(&again, &signature).expect("the canonical serialization parses");
        assert_eq!(reparsed.params, parsed.params);
        assert_eq!(reparsed.components, parsed.components);
    }
    let _ = verify_content_digest(&input, body);
});
