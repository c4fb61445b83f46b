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
    /// The host the request was sent to, what `"@authority"` signs (lowercased by the base;
    /// give it without the scheme's default port: [`normalize_authority`]). None: a signature
    /// that covers `"@authority"` is malformed.
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

/// The `@authority` of a request sent to `authority` (`host[:port]`) over `scheme`, as RFC 9421
/// §2.2.3 signs it (by RFC 9110 §4.2.3): lowercase, without the scheme's default port (80 for
/// `http`, 443 for `https`).
///
/// ```
/// use replaysafe_signing::normalize_authority;
///
/// assert_eq!(normalize_authority("https", "API.Example.com:443"), "api.example.com");
/// assert_eq!(normalize_authority("http", "127.0.0.1:9000"), "127.0.0.1:9000");
/// assert_eq!(normalize_authority("http", "example.com:443"), "example.com:443");
/// ```
pub fn normalize_authority(scheme: &str, authority: &str) -> String {
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        _ => None,
    };
    let host = default_port
        .and_then(|port| authority.strip_suffix(port))
        .unwrap_or(authority);
    host.to_ascii_lowercase()
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
        if !input.covers(name) {
            return Err(SignatureError::NotCovered(name));
        }
    }
    base_of(input, msg)
}

/// The RFC 9421 §2.5 signature base of the components `input` covers, whatever they are.
fn base_of(input: &SignatureInput, msg: &Message<'_>) -> Result<String, SignatureError> {
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
            tag: None,
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

    /// RFC 9421 §2.2.3: a request to `www.example.com` signs `"@authority": www.example.com`,
    /// whatever the case it was sent with and with the default port left out.
    #[test]
    fn authority_is_the_lowercase_host_without_the_default_port() {
        let i = input(&["@method", "@authority", "@path"]);
        for sent in ["www.example.com", "WWW.Example.COM", "www.example.com:443"] {
            let authority = normalize_authority("https", sent);
            let m = Message {
                authority: Some(&authority),
                ..msg("GET", None)
            };
            let base = signature_base(&i, &m, false).unwrap();
            assert_eq!(
                base,
                "\"@method\": GET\n\"@authority\": www.example.com\n\"@path\": /\n\
                 \"@signature-params\": (...)",
                "{sent}"
            );
        }
        assert_eq!(normalize_authority("HTTP", "Example.com:80"), "example.com");
        assert_eq!(
            normalize_authority("https", "example.com:8443"),
            "example.com:8443"
        );
        assert_eq!(normalize_authority("https", "[::1]:443"), "[::1]");
        assert_eq!(normalize_authority("http", "[::1]:8080"), "[::1]:8080");
    }

    /// RFC 9421 Appendix B.2.5 ("Signing a Request Using hmac-sha256"): the base of the RFC's
    /// test request (Host: example.com) with `"@authority"` in it, and its MAC under the
    /// RFC's `test-shared-secret` (Appendix B.1.5), byte for byte. The RFC's request covers
    /// neither `@method` nor `@path`, which `signature_base` insists on, so the base is built
    /// past the coverage check.
    #[test]
    fn rfc_9421_b_2_5_signs_the_authority() {
        use base64::engine::general_purpose::STANDARD;
        use base64::Engine;
        let secret = STANDARD
            .decode(
                "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==",
            )
            .unwrap();
        let (input, signature) = crate::parse_signature(
            r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret";nonce="0123456789abcdef""#,
            "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
        )
        .unwrap();
        // The RFC's input has no nonce, which our parser requires: parse with one, sign without.
        let input = SignatureInput {
            params: r#"("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#.into(),
            ..input
        };
        let headers = |name: &str| match name {
            "date" => vec!["Tue, 20 Apr 2021 02:07:55 GMT".to_owned()],
            "content-type" => vec!["application/json".to_owned()],
            _ => vec![],
        };
        let authority = normalize_authority("https", "example.com");
        let request = Message {
            method: "POST",
            path: "/foo",
            query: Some("param=Value&Pet=dog"),
            authority: Some(&authority),
            header: &headers,
        };
        let base = base_of(&input, &request).unwrap();
        assert_eq!(
            base,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@authority\": example.com\n\
             \"content-type\": application/json\n\"@signature-params\": (\"date\" \
             \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\""
        );
        assert_eq!(verify_hmac(&secret, &base, &signature), Ok(()));
        // Sent to another host, the same signature does not verify.
        let elsewhere = Message {
            authority: Some("staging.example.com"),
            ..request
        };
        let moved = base_of(&input, &elsewhere).unwrap();
        assert_eq!(
            verify_hmac(&secret, &moved, &signature),
            Err(SignatureError::Mismatch)
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
