//! Properties of the signature and digest parsers, over inputs no one planned for: they never
//! panic, they accept exactly what the contract allows, whatever the signer produces verifies,
//! and any single-byte change to a covered component (or to the `Signature-Input` that lists
//! them) fails verification.

use proptest::prelude::*;
use replaysafe_signing::{
    content_digest, idempotency_key_from_header, parse_signature, signature_base,
    valid_idempotency_key, verify_content_digest, verify_hmac, DigestError, Message,
    SignatureError, Signer,
};

/// What the server would conclude about a request made of these parts: `Ok` only when the
/// signature parses, covers what it must, matches the secret and the digest matches the body.
#[derive(Debug, Clone)]
struct Parts {
    method: String,
    path: String,
    query: Option<String>,
    body: Vec<u8>,
    key: Option<String>,
    digest: Option<String>,
    input: String,
    signature: String,
}

fn verify(p: &Parts, secret: &[u8]) -> Result<(), String> {
    let (input, mac) = parse_signature(&p.input, &p.signature).map_err(|e| e.to_string())?;
    let header = |name: &str| -> Vec<String> {
        match name {
            "content-digest" => p.digest.iter().cloned().collect(),
            "idempotency-key" => p.key.iter().cloned().collect(),
            _ => vec![],
        }
    };
    let msg = Message {
        method: &p.method,
        path: &p.path,
        query: p.query.as_deref(),
        authority: None,
        header: &header,
    };
    let base = signature_base(&input, &msg, !p.body.is_empty()).map_err(|e| e.to_string())?;
    verify_hmac(secret, &base, &mac).map_err(|e| e.to_string())?;
    if let Some(d) = &p.digest {
        verify_content_digest(d, &p.body).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn nonce() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/=-]{16,128}"
}

fn idempotency_key() -> impl Strategy<Value = String> {
    "[!-~]{1,255}"
}

prop_compose! {
    fn signed_request()(
        post in any::<bool>(),
        path in "/[A-Za-z0-9_./%-]{0,40}",
        query in proptest::option::of("[A-Za-z0-9=&%_.-]{0,30}"),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        key in idempotency_key(),
        created in 0i64..=4_102_444_800,
        nonce in nonce(),
        keyid in "[A-Za-z0-9_-]{1,64}",
        secret in proptest::collection::vec(any::<u8>(), 1..64),
    ) -> (Parts, Vec<u8>) {
        let method = if post { "POST" } else { "GET" };
        let key = post.then_some(key);
        let target = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let signer = Signer::new(keyid, secret.clone());
        let signed = signer.sign(method, &target, &body, key.as_deref(), created, &nonce);
        let parts = Parts {
            method: method.to_owned(),
            path,
            query,
            body,
            key,
            digest: signed.content_digest,
            input: signed.signature_input,
            signature: signed.signature,
        };
        (parts, secret)
    }
}

/// `s` with the byte at `at` replaced by another printable ASCII byte (the string stays text;
/// `s` must be printable ASCII).
fn change_byte(s: &str, at: prop::sample::Index, by: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = at.index(bytes.len());
    let old = bytes[i];
    // A case flip is the change a normalising verifier would miss; try it often.
    let new = if by % 4 == 0 && old.is_ascii_alphabetic() {
        old ^ 0x20
    } else {
        0x20 + (old - 0x20 + 1 + by % 94) % 95
    };
    bytes[i] = new;
    String::from_utf8(bytes).expect("ASCII in, ASCII out")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn parsers_never_panic_on_any_text(a in any::<String>(), b in any::<String>()) {
        let _ = parse_signature(&a, &b);
        let _ = verify_content_digest(&a, b.as_bytes());
        let _ = valid_idempotency_key(&a);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(
        (parts, _) in signed_request(),
        at in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        by in any::<u8>(),
    ) {
        // Structured-field text with one byte changed or cut short: past the easy rejections.
        let changed = change_byte(&parts.input, at, by);
        let short = &parts.input[..cut.index(parts.input.len())];
        let _ = parse_signature(&changed, &parts.signature);
        let _ = parse_signature(short, &parts.signature);
        let _ = parse_signature(&parts.input, &change_byte(&parts.signature, at, by));
        if let Some(d) = &parts.digest {
            let _ = verify_content_digest(&change_byte(d, at, by), &parts.body);
        }
    }

    #[test]
    fn what_the_signer_produces_verifies((parts, secret) in signed_request()) {
        prop_assert_eq!(verify(&parts, &secret), Ok(()));
    }

    #[test]
    fn another_secret_fails((parts, secret) in signed_request(), flip in any::<prop::sample::Index>()) {
        let mut other = secret.clone();
        let i = flip.index(other.len());
        other[i] ^= 0x01;
        prop_assert_eq!(verify(&parts, &other), Err(SignatureError::Mismatch.to_string()));
    }

    #[test]
    fn a_single_byte_change_to_a_covered_component_fails(
        (parts, secret) in signed_request(),
        which in 0usize..6,
        at in any::<prop::sample::Index>(),
        by in any::<u8>(),
        recompute_digest in any::<bool>(),
    ) {
        let mut tampered = parts.clone();
        match which {
            0 => tampered.method = change_byte(&parts.method, at, by),
            1 => tampered.path = change_byte(&parts.path, at, by),
            2 => match &parts.query {
                Some(q) if !q.is_empty() => tampered.query = Some(change_byte(q, at, by)),
                _ => tampered.query = Some(format!("{}", by % 10)),
            },
            3 => {
                if parts.body.is_empty() {
                    tampered.body = vec![by];
                } else {
                    let i = at.index(parts.body.len());
                    tampered.body[i] ^= by | 1;
                }
                // An attacker needs no secret to recompute the digest: then the MAC must fail.
                if recompute_digest && !tampered.body.is_empty() {
                    tampered.digest = Some(content_digest(&tampered.body));
                }
            }
            // A GET signs no key (adding one changes nothing it signed): change its path then.
            4 => match &parts.key {
                Some(k) => tampered.key = Some(change_byte(k, at, by)),
                None => tampered.path = change_byte(&parts.path, at, by),
            },
            _ => tampered.input = change_byte(&parts.input, at, by),
        }
        prop_assert!(verify(&tampered, &secret).is_err(), "{tampered:?} verified");
    }

    #[test]
    fn digest_accepts_exactly_its_body(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        other in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let header = content_digest(&body);
        prop_assert_eq!(verify_content_digest(&header, &body), Ok(()));
        let expected = if other == body { Ok(()) } else { Err(DigestError::Mismatch) };
        prop_assert_eq!(verify_content_digest(&header, &other), expected);
    }

    #[test]
    fn idempotency_keys_are_exactly_1_to_255_visible_ascii(key in any::<String>(), visible in idempotency_key()) {
        let contract = |k: &str| (1..=255).contains(&k.chars().count()) && k.chars().all(|c| c.is_ascii_graphic());
        prop_assert_eq!(valid_idempotency_key(&key), contract(&key));
        prop_assert!(valid_idempotency_key(&visible));
        let too_long = format!("{visible}{}", "x".repeat(256 - visible.len()));
        prop_assert!(!valid_idempotency_key(&too_long));
    }

    #[test]
    fn a_key_bare_or_as_an_sf_string_is_the_same_key(key in idempotency_key(), any_text in any::<String>()) {
        let quoted = format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""));
        prop_assert_eq!(idempotency_key_from_header(&quoted), Some(key.clone()));
        // Bare, it is the same key, unless it holds the `,` two joined header lines would.
        let bare = (!key.starts_with('"') && !key.contains(',')).then(|| key.clone());
        prop_assert_eq!(idempotency_key_from_header(&key), bare);
        let _ = idempotency_key_from_header(&any_text);
    }

    #[test]
    fn nonces_are_accepted_exactly_as_the_contract_says(n in "[ -~]{0,140}", good in nonce()) {
        let input = |n: &str| format!(
            r#"sig1=("@method" "@path");created=1;nonce="{}";keyid="k";alg="hmac-sha256""#,
            n.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let contract = |n: &str| (16..=128).contains(&n.len())
            && n.bytes().all(|c| c.is_ascii_alphanumeric() || b"._~+/=-".contains(&c));
        let parsed = parse_signature(&input(&n), "sig1=:AAAA:").map(|(i, _)| i.nonce);
        prop_assert_eq!(parsed.is_ok(), contract(&n), "{:?}", parsed);
        prop_assert_eq!(parse_signature(&input(&good), "sig1=:AAAA:").map(|(i, _)| i.nonce), Ok(good));
    }
}
