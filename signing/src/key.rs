//! The `Idempotency-Key` header: an RFC 8941 sf-string as in
//! draft-ietf-httpapi-idempotency-key-header-09 (`"8e03978e-..."`), or a bare token of the same
//! characters, which is the same key.

use crate::sfv::parse_string_item;
use crate::sign::valid_idempotency_key;

/// The key a header value names, or `None` when it is not 1 to 255 visible ASCII characters
/// (0x21..=0x7E), bare or inside an sf-string. `abc` and `"abc"` are the same key; a value that
/// opens with `"` is read as an sf-string and must be a well-formed one. A bare key has no `,`:
/// that is how API Gateway joins two header lines (`k1,k2`), and two keys are no key.
pub fn idempotency_key_from_header(value: &str) -> Option<String> {
    let key = if value.starts_with('"') {
        parse_string_item(value).ok()?
    } else if value.contains(',') {
        return None;
    } else {
        value.to_owned()
    };
    valid_idempotency_key(&key).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_sf_string_forms_name_the_same_key() {
        assert_eq!(idempotency_key_from_header("abc").as_deref(), Some("abc"));
        assert_eq!(
            idempotency_key_from_header("\"abc\"").as_deref(),
            Some("abc")
        );
        assert_eq!(
            idempotency_key_from_header(r#""a\"b\\c""#).as_deref(),
            Some(r#"a"b\c"#)
        );
        assert_eq!(
            idempotency_key_from_header("\"a,b\"").as_deref(),
            Some("a,b")
        );
    }

    #[test]
    fn malformed_or_out_of_range_keys_are_refused() {
        for bad in [
            "",
            "\"\"",
            "\"abc",
            "\"a b\"",
            "\"abc\";p=1",
            "\"abc\" x",
            r#""a\x""#,
            "a b",
            // Two header lines, as API Gateway joins them.
            "k1,k2",
            "\"k1\",\"k2\"",
        ] {
            assert_eq!(idempotency_key_from_header(bad), None, "{bad:?}");
        }
        let long = "k".repeat(255);
        assert_eq!(
            idempotency_key_from_header(&format!("\"{long}\"")).as_deref(),
            Some(long.as_str())
        );
        assert_eq!(idempotency_key_from_header(&format!("\"{long}k\"")), None);
    }
}
