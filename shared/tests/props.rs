//! Properties of the guard's validator behind check 2: idempotency keys never panic and are
//! accepted exactly as the contract allows, bare or as an sf-string.

use proptest::prelude::*;
use replaysafe::idempotency::IdempotencyKey;

/// The key a header names: the value itself (with no `,`: that is two header lines joined), or
/// inside an sf-string (`"` opens one, which must then be well formed: `\"` and `\\` the only
/// escapes), 1 to 255 visible ASCII either way.
fn contract_key(header: &str) -> Option<String> {
    let key = match header.strip_prefix('"') {
        None if header.contains(',') => return None,
        None => header.to_owned(),
        Some(rest) => {
            let mut key = String::new();
            let mut chars = rest.chars();
            loop {
                match chars.next()? {
                    '"' if chars.as_str().is_empty() => break key,
                    '\\' => match chars.next()? {
                        c @ ('"' | '\\') => key.push(c),
                        _ => return None,
                    },
                    c if (' '..='~').contains(&c) && c != '"' => key.push(c),
                    _ => return None,
                }
            }
        }
    };
    let visible = key.chars().all(|c| c.is_ascii_graphic());
    ((1..=255).contains(&key.chars().count()) && visible).then_some(key)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn idempotency_keys_are_exactly_1_to_255_visible_ascii_bare_or_quoted(
        s in prop_oneof![
            "[!-~]{1,255}",
            "[ -~]{0,260}",
            "\"([!#-\\[\\]-~]|\\\\[\"\\\\]){0,256}\"?",
            any::<String>(),
        ]
    ) {
        let allowed = contract_key(&s).is_some();
        let parsed = IdempotencyKey::parse(Some(&s));
        if let (Ok(k), Some(want)) = (&parsed, contract_key(&s)) {
            prop_assert_eq!(k.as_str(), want.as_str());
        }
        prop_assert_eq!(parsed.is_ok(), allowed, "{:?}", s);
        if let Err(e) = parsed {
            prop_assert_eq!(e.code(), "idempotency-key-invalid");
        }
    }
}
