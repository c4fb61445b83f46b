//! Coverage policy, the RFC 9421 §2.5 signature base, and the HMAC itself.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::input::{SignatureError, SignatureInput};

type HmacSha256 = Hmac<Sha256>;

/// The `alg` signature parameter of an HMAC-SHA256 signature (RFC 9421 §6.2.2).
pub const HMAC_SHA256: &str = "hmac-sha256";

/// What the server received, as the signature base needs it.
pub struct Message<'a> {
    /// e.g. "POST"
    pub method: &'a str,
    /// Path without query, e.g. "/transfers".
    pub path: &'a str,
    /// Raw query string without '?', None when the request has none.
    pub query: Option<&'a str>,
    pub authority: Option<&'a str>,
    /// Returns all values of a header (lowercase name), in order; the base joins them
    /// with ", " after trimming each (RFC 9421 §2.1).
    pub header: &'a dyn Fn(&str) -> Vec<String>,
}

/// Which components a request must cover, in the order the client signs them.
pub fn required_components(method: &str, has_query: bool, has_body: bool) -> Vec<&'static str> {
    let mut out = vec!["@method", "@path"];
    if has_query {
        out.push("@query");
    }
    if has_body {
        out.push("content-digest");
    }
    // Case-insensitive so that an odd-cased POST can never sign less than a POST.
    if method.eq_ignore_ascii_case("POST") {
        out.push("idempotency-key");
    }
    out
}

/// Checks coverage (`NotCovered` for the first missing required component), then builds
/// the RFC 9421 §2.5 signature base.
pub fn signature_base(
    input: &SignatureInput,
    msg: &Message<'_>,
    has_body: bool,
) -> Result<String, SignatureError> {
    let has_query = msg.query.is_some_and(|q| !q.is_empty());
    for name in required_components(msg.method, has_query, has_body) {
        if !input.components.iter().any(|c| c == name) {
            return Err(SignatureError::NotCovered(name));
        }
    }
    let mut base = String::new();
    for name in &input.components {
        let value = component_value(name, msg)?;
        // A line break would let one component's value forge further base lines.
        if value.contains(['\r', '\n']) {
            return Err(SignatureError::Malformed(
                "component value contains a line break",
            ));
        }
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&input.params);
    Ok(base)
}

fn component_value(name: &str, msg: &Message<'_>) -> Result<String, SignatureError> {
    Ok(match name {
        "@method" => msg.method.to_owned(),
        // RFC 9421 §2.2.6: an empty path is normalized to "/".
        "@path" if msg.path.is_empty() => "/".to_owned(),
        "@path" => msg.path.to_owned(),
        "@query" => format!("?{}", msg.query.unwrap_or("")),
        // RFC 9421 §2.2.3: host is case-insensitive, so the base uses lowercase.
        "@authority" => msg
            .authority
            .ok_or(SignatureError::Malformed("covered @authority absent"))?
            .to_ascii_lowercase(),
        // Unsupported derived components never get past parse_signature.
        _ if name.starts_with('@') => {
            return Err(SignatureError::Malformed("unsupported derived component"))
        }
        _ => {
            let values = (msg.header)(name);
            if values.is_empty() {
                return Err(SignatureError::Malformed("covered header absent"));
            }
            let trimmed: Vec<&str> = values.iter().map(|v| v.trim_matches([' ', '\t'])).collect();
            trimmed.join(", ")
        }
    })
}

/// HMAC-SHA256(secret, base).
pub fn hmac_sha256(secret: &[u8], base: &str) -> [u8; 32] {
    mac(secret, base).finalize().into_bytes().into()
}

/// Compares HMAC-SHA256(secret, base) with `signature` in constant time.
pub fn verify_hmac(secret: &[u8], base: &str, signature: &[u8]) -> Result<(), SignatureError> {
    mac(secret, base)
        .verify_slice(signature)
        .map_err(|_| SignatureError::Mismatch)
}

fn mac(secret: &[u8], base: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(base.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(components: &[&str]) -> SignatureInput {
        SignatureInput {
            label: "sig1".into(),
            components: components.iter().map(|c| c.to_string()).collect(),
            created: 1,
            expires: None,
            nonce: "aaaaaaaaaaaaaaaa".into(),
            keyid: "k".into(),
            alg: None,
            params: "(...)".into(),
        }
    }

    fn headers(name: &str) -> Vec<String> {
        match name {
            "x-multi" => vec![" a ".into(), "\tb".into()],
            "x-evil" => vec!["a\n\"@method\": GET".into()],
            "idempotency-key" => vec!["k1".into()],
            _ => vec![],
        }
    }

    fn msg<'a>(method: &'a str, query: Option<&'a str>) -> Message<'a> {
        Message {
            method,
            path: "",
            query,
            authority: Some("API.Example.com"),
            header: &headers,
        }
    }

    #[test]
    fn required_components_by_request_shape() {
        assert_eq!(
            required_components("GET", false, false),
            ["@method", "@path"]
        );
        assert_eq!(
            required_components("POST", true, true),
            [
                "@method",
                "@path",
                "@query",
                "content-digest",
                "idempotency-key"
            ]
        );
        assert_eq!(
            required_components("post", false, false),
            ["@method", "@path", "idempotency-key"]
        );
        assert_eq!(
            required_components("DELETE", false, true),
            ["@method", "@path", "content-digest"]
        );
    }

    #[test]
    fn derived_and_header_values() {
        let i = input(&["@method", "@path", "@query", "@authority", "x-multi"]);
        let base = signature_base(&i, &msg("GET", Some("a=1&b")), false).unwrap();
        let expected = "\"@method\": GET\n\"@path\": /\n\"@query\": ?a=1&b\n\
            \"@authority\": api.example.com\n\"x-multi\": a, b\n\"@signature-params\": (...)";
        assert_eq!(base, expected);
        // A covered but empty query is still "?" (RFC 9421 §2.2.7).
        let i = input(&["@method", "@path", "@query"]);
        let base = signature_base(&i, &msg("GET", None), false).unwrap();
        assert!(base.contains("\"@query\": ?\n"), "{base}");
    }

    #[test]
    fn coverage_is_checked_first_and_in_order() {
        let m = msg("POST", Some("x=1"));
        let r = signature_base(&input(&["@path"]), &m, true);
        assert_eq!(r, Err(SignatureError::NotCovered("@method")));
        let r = signature_base(&input(&["@method", "@path", "idempotency-key"]), &m, true);
        assert_eq!(r, Err(SignatureError::NotCovered("@query")));
        let r = signature_base(&input(&["@method", "@path", "@query"]), &m, true);
        assert_eq!(r, Err(SignatureError::NotCovered("content-digest")));
        let r = signature_base(&input(&["@method", "@path"]), &msg("POST", Some("")), false);
        assert_eq!(r, Err(SignatureError::NotCovered("idempotency-key")));
    }

    #[test]
    fn absent_or_unsafe_values() {
        let m = msg("GET", None);
        let r = signature_base(&input(&["@method", "@path", "x-absent"]), &m, false);
        assert_eq!(r, Err(SignatureError::Malformed("covered header absent")));
        let r = signature_base(&input(&["@method", "@path", "x-evil"]), &m, false);
        assert_eq!(
            r,
            Err(SignatureError::Malformed(
                "component value contains a line break"
            ))
        );
        let no_authority = Message {
            authority: None,
            ..msg("GET", None)
        };
        let r = signature_base(
            &input(&["@method", "@path", "@authority"]),
            &no_authority,
            false,
        );
        assert_eq!(
            r,
            Err(SignatureError::Malformed("covered @authority absent"))
        );
    }

    #[test]
    fn hmac_verifies_only_the_exact_mac() {
        let mac = hmac_sha256(b"secret", "base");
        assert_eq!(verify_hmac(b"secret", "base", &mac), Ok(()));
        assert_eq!(
            verify_hmac(b"secret", "base ", &mac),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_hmac(b"secreT", "base", &mac),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_hmac(b"secret", "base", &mac[..31]),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_hmac(b"secret", "base", &[]),
            Err(SignatureError::Mismatch)
        );
    }
}
