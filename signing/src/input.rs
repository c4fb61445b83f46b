//! Parsing and validating `Signature-Input` / `Signature` (RFC 9421 §4).

use crate::sfv::{self, BareItem, InnerList, Member};

/// A parsed Signature-Input (exactly one member) plus the matching Signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInput {
    pub label: String,
    /// Covered component names, in received order.
    pub components: Vec<String>,
    pub created: i64,
    pub expires: Option<i64>,
    pub nonce: String,
    pub keyid: String,
    pub alg: Option<String>,
    /// The `tag` parameter (RFC 9421 §2.3): which application profile the signer meant the
    /// signature for. Covered like every parameter, so it cannot be added or changed in
    /// transit; a server that requires one compares it (`SIGNATURE_TAG`).
    pub tag: Option<String>,
    /// The inner list re-serialized canonically per RFC 8941 (the `@signature-params`
    /// value), parameters in received order.
    pub params: String,
}

impl SignatureInput {
    /// Whether the signature covers the component `name` (`"@authority"`, `"content-digest"`).
    ///
    /// ```
    /// use replaysafe_signing::parse_signature;
    ///
    /// let (input, _) = parse_signature(
    ///     r#"sig1=("@method" "@authority" "@path");created=1;nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="k";tag="payments""#,
    ///     "sig1=:AAAA:",
    /// )?;
    /// assert!(input.covers("@authority"));
    /// assert!(!input.covers("@query"));
    /// assert_eq!(input.tag.as_deref(), Some("payments"));
    /// # Ok::<(), replaysafe_signing::SignatureError>(())
    /// ```
    pub fn covers(&self, name: &str) -> bool {
        self.components.iter().any(|c| c == name)
    }

    /// `Ok` when the signature's `tag` is `required`, byte for byte; else
    /// [`SignatureError::Tag`].
    ///
    /// ```
    /// use replaysafe_signing::{parse_signature, SignatureError};
    ///
    /// let input = |params: &str| {
    ///     let header = format!(r#"sig1=("@method" "@path");created=1;nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="k"{params}"#);
    ///     parse_signature(&header, "sig1=:AAAA:").map(|(input, _)| input)
    /// };
    /// assert_eq!(input(r#";tag="payments""#)?.require_tag("payments"), Ok(()));
    /// assert_eq!(input(r#";tag="Payments""#)?.require_tag("payments"), Err(SignatureError::Tag));
    /// assert_eq!(input("")?.require_tag("payments"), Err(SignatureError::Tag));
    /// # Ok::<(), SignatureError>(())
    /// ```
    pub fn require_tag(&self, required: &str) -> Result<(), SignatureError> {
        match self.tag.as_deref() == Some(required) {
            true => Ok(()),
            false => Err(SignatureError::Tag),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing Signature or Signature-Input")]
    Missing,
    #[error("malformed signature: {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm")]
    UnsupportedAlg,
    #[error("signature does not cover {0}")]
    NotCovered(&'static str),
    /// The signature carries no `tag`, or not the one the verifier requires.
    #[error("signature tag is missing or not the one required")]
    Tag,
    #[error("signature mismatch")]
    Mismatch,
}

use SignatureError::Malformed;

pub(crate) const DERIVED: [&str; 4] = ["@method", "@path", "@query", "@authority"];

/// The most components a signature may cover: the four derived ones and a dozen fields is far
/// more than any request of this API needs. Checked right after the (linear) parse, before the
/// checks that compare components and parameters with each other, so no header costs more than
/// its length to refuse.
pub const MAX_COMPONENTS: usize = 16;
/// The most signature parameters: RFC 9421 defines six (`created`, `expires`, `nonce`, `alg`,
/// `keyid`, `tag`).
pub const MAX_PARAMETERS: usize = 12;

/// Parses both headers: exactly one member in each, under the same (any) label.
/// Returns the input and the raw signature bytes.
pub fn parse_signature(
    signature_input: &str,
    signature: &str,
) -> Result<(SignatureInput, Vec<u8>), SignatureError> {
    let inputs = only_member(signature_input)?;
    let sigs = only_member(signature)?;
    let ((label, input), (sig_label, sig)) = (inputs, sigs);
    if label != sig_label {
        return Err(Malformed("Signature and Signature-Input labels differ"));
    }
    let Member::InnerList(list) = input else {
        return Err(Malformed("Signature-Input member is not an inner list"));
    };
    // Parameters on the Signature member have no meaning in RFC 9421; ignore them.
    let Member::Item(sfv::Item {
        bare: BareItem::ByteSeq(sig),
        ..
    }) = sig
    else {
        return Err(Malformed("Signature member is not a byte sequence"));
    };
    if list.items.len() > MAX_COMPONENTS {
        return Err(Malformed("too many covered components"));
    }
    if list.params.len() > MAX_PARAMETERS {
        return Err(Malformed("too many signature parameters"));
    }
    let components = components(&list)?;
    let p = Params::from(&list)?;
    let input = SignatureInput {
        label,
        components,
        created: p.created,
        expires: p.expires,
        nonce: p.nonce,
        keyid: p.keyid,
        alg: p.alg,
        tag: p.tag,
        params: sfv::serialize_inner_list(&list),
    };
    Ok((input, sig))
}

fn only_member(header: &str) -> Result<(String, Member), SignatureError> {
    let mut dict = sfv::parse_dictionary(header).map_err(|e| Malformed(e.0))?;
    match dict.len() {
        0 => Err(SignatureError::Missing),
        1 => Ok(dict.remove(0)),
        // Includes a repeated label, which RFC 8941 would silently collapse.
        _ => Err(Malformed("more than one signature")),
    }
}

fn components(list: &InnerList) -> Result<Vec<String>, SignatureError> {
    let mut out: Vec<String> = Vec::with_capacity(list.items.len());
    for item in &list.items {
        let BareItem::String(name) = &item.bare else {
            return Err(Malformed("component is not a string"));
        };
        // Component parameters (;sf, ;key, ;req, ...) would change the base in ways
        // this verifier does not implement; reject rather than mis-verify.
        if !item.params.is_empty() {
            return Err(Malformed("component parameters are not supported"));
        }
        if name.starts_with('@') {
            if !DERIVED.contains(&name.as_str()) {
                return Err(Malformed("unsupported derived component"));
            }
        } else if name.is_empty()
            || !name
                .bytes()
                .all(|c| sfv::is_tchar(c) && !c.is_ascii_uppercase())
        {
            return Err(Malformed("component is not a lowercase field name"));
        }
        if out.contains(name) {
            return Err(Malformed("duplicate component"));
        }
        out.push(name.clone());
    }
    Ok(out)
}

struct Params {
    created: i64,
    expires: Option<i64>,
    nonce: String,
    keyid: String,
    alg: Option<String>,
    tag: Option<String>,
}

impl Params {
    fn from(list: &InnerList) -> Result<Self, SignatureError> {
        let mut created = None;
        let mut expires = None;
        let mut nonce = None;
        let mut keyid = None;
        let mut alg = None;
        let mut tag = None;
        for (i, (key, value)) in list.params.iter().enumerate() {
            // A repeated parameter would be resolved differently by different parsers.
            if list.params[..i].iter().any(|(k, _)| k == key) {
                return Err(Malformed("duplicate signature parameter"));
            }
            match (key.as_str(), value) {
                ("created", BareItem::Integer(n)) => created = Some(*n),
                ("created", _) => return Err(Malformed("created is not an integer")),
                ("expires", BareItem::Integer(n)) => expires = Some(*n),
                ("expires", _) => return Err(Malformed("expires is not an integer")),
                ("nonce", BareItem::String(s)) if valid_nonce(s) => nonce = Some(s.clone()),
                ("nonce", _) => return Err(Malformed("invalid nonce")),
                ("keyid", BareItem::String(s)) if !s.is_empty() => keyid = Some(s.clone()),
                ("keyid", _) => return Err(Malformed("invalid keyid")),
                // Which algorithms are accepted is the verifier's to say; the parser only
                // insists on the form RFC 9421 gives `alg`.
                ("alg", BareItem::String(s)) => alg = Some(s.clone()),
                ("alg", _) => return Err(SignatureError::UnsupportedAlg),
                // RFC 9421 §2.3: an sf-string; an empty one names no profile.
                ("tag", BareItem::String(s)) if !s.is_empty() => tag = Some(s.clone()),
                ("tag", _) => return Err(Malformed("tag is not a non-empty string")),
                _ => {}
            }
        }
        Ok(Params {
            created: created.ok_or(Malformed("missing created"))?,
            expires,
            nonce: nonce.ok_or(Malformed("missing nonce"))?,
            keyid: keyid.ok_or(Malformed("missing keyid"))?,
            alg,
            tag,
        })
    }
}

fn valid_nonce(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._~+/=-".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "sig1=:wxeW+lfvQjNP5Zzu/OaUr5KssobE4jlR5kRwUxUJgwo=:";

    fn with_fields(fields: usize, params: usize) -> String {
        let names: Vec<String> = (0..fields).map(|i| format!("\"x-f{i}\"")).collect();
        let extra: String = (0..params).map(|i| format!(";p{i}=1")).collect();
        format!(
            r#"sig1=({});created=1;nonce="0123456789abcdef";keyid="k"{extra}"#,
            names.join(" ")
        )
    }

    #[test]
    fn a_signature_covering_too_much_is_refused_before_its_parts_are_compared() {
        assert!(parse_signature(&with_fields(MAX_COMPONENTS, 0), SIG).is_ok());
        assert_eq!(
            parse_signature(&with_fields(MAX_COMPONENTS + 1, 0), SIG).err(),
            Some(Malformed("too many covered components"))
        );
        // Ten thousand components (about 90 KB): refused, not compared pairwise.
        assert_eq!(
            parse_signature(&with_fields(10_000, 0), SIG).err(),
            Some(Malformed("too many covered components"))
        );
        assert!(parse_signature(&with_fields(1, MAX_PARAMETERS - 3), SIG).is_ok());
        assert_eq!(
            parse_signature(&with_fields(1, 10_000), SIG).err(),
            Some(Malformed("too many signature parameters"))
        );
    }
    const COMPONENTS: &str = r#"("@method" "@path" "content-digest" "idempotency-key")"#;
    const PARAMS: &str =
        r#";created=1763812800;nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="cli_7f3a";alg="hmac-sha256""#;

    fn parse_with(components: &str, params: &str) -> Result<SignatureInput, SignatureError> {
        parse_signature(&format!("sig1={components}{params}"), SIG).map(|(i, _)| i)
    }

    fn parse_params(params: &str) -> Result<SignatureInput, SignatureError> {
        parse_with(COMPONENTS, params)
    }

    #[test]
    fn parses_contract_vector() {
        let input = parse_params(PARAMS).unwrap();
        assert_eq!(input.label, "sig1");
        assert_eq!(
            input.components,
            ["@method", "@path", "content-digest", "idempotency-key"]
        );
        assert_eq!(input.created, 1_763_812_800);
        assert_eq!(input.expires, None);
        assert_eq!(input.nonce, "q9X2mY7rT1vK4pLs8dWz3A");
        assert_eq!(input.keyid, "cli_7f3a");
        assert_eq!(input.alg.as_deref(), Some("hmac-sha256"));
        assert_eq!(input.params, format!("{COMPONENTS}{PARAMS}"));
    }

    #[test]
    fn optional_and_unknown_params_are_kept() {
        let params =
            r#";tag="x";expires=1763813100;keyid="k";created=1;nonce="AAAAAAAAAAAAAAAA";flag"#;
        let input = parse_params(params).unwrap();
        assert_eq!(input.expires, Some(1_763_813_100));
        assert_eq!(input.alg, None);
        assert_eq!(input.params, format!("{COMPONENTS}{params}"));
    }

    #[test]
    fn tag_is_parsed_and_signed_where_it_was_received() {
        let params = format!(r#"{PARAMS};tag="payments-prod""#);
        let input = parse_params(&params).unwrap();
        assert_eq!(input.tag.as_deref(), Some("payments-prod"));
        assert_eq!(input.params, format!("{COMPONENTS}{params}"));
        // RFC 9421 Appendix B.2.2's tag, before the other parameters: kept in that place.
        let first = r#";tag="header-example";created=1;keyid="k";nonce="aaaaaaaaaaaaaaaa""#;
        let input = parse_params(first).unwrap();
        assert_eq!(input.tag.as_deref(), Some("header-example"));
        assert_eq!(input.params, format!("{COMPONENTS}{first}"));
        // An escaped quote survives the round trip, escaped again.
        let quoted = format!(r#"{PARAMS};tag="a\"b""#);
        let input = parse_params(&quoted).unwrap();
        assert_eq!(input.tag.as_deref(), Some("a\"b"));
        assert_eq!(input.params, format!("{COMPONENTS}{quoted}"));
        assert_eq!(parse_params(PARAMS).unwrap().tag, None);
    }

    #[test]
    fn tag_must_be_a_non_empty_string() {
        let not_a_tag = Err(Malformed("tag is not a non-empty string"));
        for tag in ["payments", "1", "?1", r#""""#, ":AAAA:"] {
            assert_eq!(
                parse_params(&format!("{PARAMS};tag={tag}")),
                not_a_tag,
                "{tag}"
            );
        }
        let twice = format!(r#"{PARAMS};tag="a";tag="b""#);
        assert_eq!(
            parse_params(&twice),
            Err(Malformed("duplicate signature parameter"))
        );
    }

    #[test]
    fn required_params() {
        let nonce = r#";nonce="q9X2mY7rT1vK4pLs8dWz3A""#;
        assert_eq!(
            parse_params(&format!(";keyid=\"k\"{nonce}")),
            Err(Malformed("missing created"))
        );
        assert_eq!(
            parse_params(";created=1;keyid=\"k\""),
            Err(Malformed("missing nonce"))
        );
        assert_eq!(
            parse_params(&format!(";created=1{nonce}")),
            Err(Malformed("missing keyid"))
        );
        let bad_types = [
            (
                format!(";created=\"1\";keyid=\"k\"{nonce}"),
                "created is not an integer",
            ),
            (format!(";created=1;keyid=k{nonce}"), "invalid keyid"),
            (format!(";created=1;keyid=\"\"{nonce}"), "invalid keyid"),
            (
                format!(";created=1;keyid=\"k\";expires=1.5{nonce}"),
                "expires is not an integer",
            ),
            (
                format!(";created=1;created=2;keyid=\"k\"{nonce}"),
                "duplicate signature parameter",
            ),
        ];
        for (params, why) in bad_types {
            assert_eq!(parse_params(&params), Err(Malformed(why)), "{params}");
        }
    }

    #[test]
    fn nonce_rules() {
        let with = |n: &str| parse_params(&format!(";created=1;keyid=\"k\";nonce=\"{n}\""));
        assert!(with(&"a".repeat(16)).is_ok());
        assert!(with(&"a".repeat(128)).is_ok());
        assert!(with("AZaz09._~+/=-AZaz09").is_ok());
        for bad in [
            "a".repeat(15),
            "a".repeat(129),
            "aaaaaaaaaaaaaaa!".into(),
            "aaaaaaaa aaaaaaaa".into(),
        ] {
            assert_eq!(with(&bad), Err(Malformed("invalid nonce")), "{bad}");
        }
        let token = parse_params(";created=1;keyid=\"k\";nonce=aaaaaaaaaaaaaaaa");
        assert_eq!(token, Err(Malformed("invalid nonce")));
    }

    #[test]
    fn alg_must_be_a_string() {
        let base = r#";created=1;keyid="k";nonce="aaaaaaaaaaaaaaaa""#;
        for alg in ["hmac-sha256", "1", "?1"] {
            let r = parse_params(&format!("{base};alg={alg}"));
            assert_eq!(r, Err(SignatureError::UnsupportedAlg), "{alg}");
        }
        for alg in ["hmac-sha256", "ed25519"] {
            let r = parse_params(&format!("{base};alg=\"{alg}\""));
            assert_eq!(r.unwrap().alg.as_deref(), Some(alg));
        }
    }

    #[test]
    fn components_rules() {
        let cases = [
            (r#"("@method" "@method")"#, "duplicate component"),
            (
                r#"("@method" "content-digest";sf)"#,
                "component parameters are not supported",
            ),
            (
                r#"("@method" "@target-uri")"#,
                "unsupported derived component",
            ),
            (r#"("@signature-params")"#, "unsupported derived component"),
            (r#"("@Method")"#, "unsupported derived component"),
            (
                r#"("Content-Digest")"#,
                "component is not a lowercase field name",
            ),
            (
                r#"("content digest")"#,
                "component is not a lowercase field name",
            ),
            (r#"("")"#, "component is not a lowercase field name"),
            (r#"(content-digest)"#, "component is not a string"),
        ];
        for (components, why) in cases {
            assert_eq!(
                parse_with(components, PARAMS),
                Err(Malformed(why)),
                "{components}"
            );
        }
        let ok = parse_with(r#"("@authority" "@query" "x-custom_1")"#, PARAMS).unwrap();
        assert_eq!(ok.components, ["@authority", "@query", "x-custom_1"]);
    }

    #[test]
    fn exactly_one_signature_under_one_label() {
        let input = format!("sig1={COMPONENTS}{PARAMS}");
        let two_inputs = format!("{input}, sig2={COMPONENTS}{PARAMS}");
        let two_sigs = format!("{SIG}, sig2=:AAAA:");
        let same_label = format!("{SIG}, {SIG}");
        let more = Err(Malformed("more than one signature"));
        assert_eq!(parse_signature(&two_inputs, SIG), more);
        assert_eq!(parse_signature(&input, &two_sigs), more);
        assert_eq!(parse_signature(&input, &same_label), more);
        let other = SIG.replace("sig1", "other");
        let r = parse_signature(&input, &other);
        assert_eq!(
            r,
            Err(Malformed("Signature and Signature-Input labels differ"))
        );
        let relabelled = parse_signature(&input.replace("sig1", "other"), &other).unwrap();
        assert_eq!(relabelled.0.label, "other");
    }

    #[test]
    fn missing_headers() {
        let input = format!("sig1={COMPONENTS}{PARAMS}");
        assert_eq!(parse_signature("", SIG), Err(SignatureError::Missing));
        assert_eq!(parse_signature(&input, "  "), Err(SignatureError::Missing));
    }

    #[test]
    fn signature_value_must_be_a_byte_sequence() {
        let input = format!("sig1={COMPONENTS}{PARAMS}");
        let not_bytes = Err(Malformed("Signature member is not a byte sequence"));
        for sig in [r#"sig1="wxeW""#, "sig1=wxeW", "sig1", "sig1=(:AAAA:)"] {
            assert_eq!(parse_signature(&input, sig), not_bytes, "{sig}");
        }
        let garbled = parse_signature(
            &input,
            "sig1=:wxeW+lfvQjNP5Z$u/OaUr5KssobE4jlR5kRwUxUJgwo=:",
        );
        assert!(matches!(garbled, Err(Malformed(_))));
        // 41 base64 characters cannot encode whole bytes.
        let truncated = parse_signature(&input, "sig1=:wxeW+lfvQjNP5Zzu/OaUr5KssobE4jlR5kRwUxUJg:");
        assert_eq!(truncated, Err(Malformed("invalid base64 in byte sequence")));
        let inner_as_item = parse_signature(&format!("sig1=\"x\"{PARAMS}"), SIG);
        assert_eq!(
            inner_as_item,
            Err(Malformed("Signature-Input member is not an inner list"))
        );
    }
}
