//! End to end: the contract's test vector, client/server round trips, tampering.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::*;

const SECRET_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const BODY: &[u8] = br#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR"}"#;
const IDEM: &str = "5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21";
const DIGEST: &str = "sha-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:";
const CREATED: i64 = 1_763_812_800;
const NONCE: &str = "q9X2mY7rT1vK4pLs8dWz3A";
const INPUT: &str = r#"sig1=("@method" "@path" "content-digest" "idempotency-key");created=1763812800;nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="cli_7f3a";alg="hmac-sha256""#;
const BASE: &str = r#""@method": POST
"@path": /transfers
"content-digest": sha-256=:bHfL+RmpW2P+ZfveeIeddY1AAultp8fTC6PByaPpRFg=:
"idempotency-key": 5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21
"@signature-params": ("@method" "@path" "content-digest" "idempotency-key");created=1763812800;nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="cli_7f3a";alg="hmac-sha256""#;
const SIGNATURE: &str = "sig1=:wxeW+lfvQjNP5Zzu/OaUr5KssobE4jlR5kRwUxUJgwo=:";

fn signer() -> Signer {
    Signer::from_base64("cli_7f3a", SECRET_B64).unwrap()
}

/// A request as the server sees it.
struct Req<'a> {
    method: &'a str,
    path_and_query: &'a str,
    body: &'a [u8],
    digest: Option<String>,
    idem: Option<&'a str>,
    input: String,
    signature: String,
    /// The host the server derives `"@authority"` from.
    authority: Option<&'a str>,
}

impl<'a> Req<'a> {
    fn signed(method: &'a str, pq: &'a str, body: &'a [u8], idem: Option<&'a str>) -> Self {
        let h = signer().sign(method, pq, body, idem, CREATED, NONCE);
        Req {
            method,
            path_and_query: pq,
            body,
            digest: h.content_digest,
            idem,
            input: h.signature_input,
            signature: h.signature,
            authority: None,
        }
    }

    fn vector() -> Self {
        Req {
            method: "POST",
            path_and_query: "/transfers",
            body: BODY,
            digest: Some(DIGEST.into()),
            idem: Some(IDEM),
            input: INPUT.into(),
            signature: SIGNATURE.into(),
            authority: None,
        }
    }

    /// The server's signature checks (the body's digest is checked separately).
    fn verify(&self) -> Result<String, SignatureError> {
        let (input, sig) = parse_signature(&self.input, &self.signature)?;
        let (path, query) = match self.path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.path_and_query, None),
        };
        let header = |name: &str| -> Vec<String> {
            match name {
                "content-digest" => self.digest.iter().cloned().collect(),
                "idempotency-key" => self.idem.iter().map(|s| s.to_string()).collect(),
                _ => vec![],
            }
        };
        let msg = Message {
            method: self.method,
            path,
            query,
            authority: self.authority,
            header: &header,
        };
        let base = signature_base(&input, &msg, !self.body.is_empty())?;
        verify_hmac(&signer().secret, &base, &sig)?;
        Ok(base)
    }
}

#[test]
fn contract_vector_client_side() {
    let h = signer().sign("POST", "/transfers", BODY, Some(IDEM), CREATED, NONCE);
    assert_eq!(h.content_digest.as_deref(), Some(DIGEST));
    assert_eq!(h.signature_input, INPUT);
    assert_eq!(h.signature, SIGNATURE);
}

#[test]
fn contract_vector_server_side() {
    let (input, sig) = parse_signature(INPUT, SIGNATURE).unwrap();
    assert_eq!(
        hmac_sha256(&signer().secret, BASE).as_slice(),
        sig.as_slice()
    );
    assert_eq!(Req::vector().verify().unwrap(), BASE);
    assert_eq!(input.keyid, "cli_7f3a");
    assert_eq!(verify_content_digest(DIGEST, BODY), Ok(()));
}

#[test]
fn round_trips() {
    // (method, path_and_query, body, idempotency key, expected covered components)
    type Case = (
        &'static str,
        &'static str,
        &'static [u8],
        Option<&'static str>,
        &'static [&'static str],
    );
    let cases: [Case; 5] = [
        (
            "GET",
            "/accounts/acc_alice",
            b"",
            None,
            &["@method", "@path"],
        ),
        (
            "GET",
            "/accounts/acc_alice?x=1&y",
            b"",
            None,
            &["@method", "@path", "@query"],
        ),
        (
            "GET",
            "/accounts/acc_alice?",
            b"",
            None,
            &["@method", "@path"],
        ),
        (
            "POST",
            "/transfers",
            BODY,
            Some("k"),
            &["@method", "@path", "content-digest", "idempotency-key"],
        ),
        (
            "POST",
            "/accounts?a=b",
            b"",
            Some("k"),
            &["@method", "@path", "@query", "idempotency-key"],
        ),
    ];
    for (method, pq, body, idem, covered) in cases {
        let req = Req::signed(method, pq, body, idem);
        assert_eq!(req.digest.is_some(), !body.is_empty());
        let base = req
            .verify()
            .unwrap_or_else(|e| panic!("{method} {pq}: {e}"));
        if let Some(d) = &req.digest {
            assert_eq!(verify_content_digest(d, body), Ok(()));
        }
        let names: Vec<_> = base.lines().map(|l| l.split('"').nth(1).unwrap()).collect();
        assert_eq!(names[..names.len() - 1], *covered, "{method} {pq}");
    }
}

#[test]
fn expires_is_signed_after_created_and_verifies() {
    let attempt = AttemptParams {
        created: CREATED,
        expires: Some(CREATED + 15),
        nonce: NONCE,
    };
    let h = signer().sign_attempt("POST", "/transfers", BODY, Some(IDEM), &attempt);
    assert_eq!(
        h.signature_input,
        INPUT.replace(";nonce=", ";expires=1763812815;nonce=")
    );
    let req = Req {
        input: h.signature_input,
        signature: h.signature.clone(),
        ..Req::vector()
    };
    let base = req.verify().unwrap();
    assert!(base.ends_with(";created=1763812800;expires=1763812815;nonce=\"q9X2mY7rT1vK4pLs8dWz3A\";keyid=\"cli_7f3a\";alg=\"hmac-sha256\""));
    let (input, _) = parse_signature(&req.input, &req.signature).unwrap();
    assert_eq!(input.expires, Some(CREATED + 15));
    // Without expires, sign_attempt is the contract's vector, byte for byte.
    let vector = signer().sign_attempt(
        "POST",
        "/transfers",
        BODY,
        Some(IDEM),
        &AttemptParams {
            expires: None,
            ..attempt
        },
    );
    assert_eq!(
        (vector.signature_input.as_str(), vector.signature.as_str()),
        (INPUT, SIGNATURE)
    );
    // expires is covered: moving it breaks the signature.
    let stretched = Req {
        input: req.input.replace("1763812815", "1763899999"),
        ..req
    };
    assert_eq!(stretched.verify(), Err(SignatureError::Mismatch));
}

#[test]
fn parameters_in_another_order_still_verify() {
    let params =
        r#"keyid="cli_7f3a";alg="hmac-sha256";nonce="q9X2mY7rT1vK4pLs8dWz3A";created=1763812800"#;
    let list = r#"("@method" "@path" "content-digest" "idempotency-key")"#;
    let base = BASE.rsplit_once(": ").unwrap().0.to_owned() + ": " + list + ";" + params;
    let sig = format!(
        "sig1=:{}:",
        STANDARD.encode(hmac_sha256(&signer().secret, &base))
    );
    let req = Req {
        input: format!("sig1={list};{params}"),
        signature: sig,
        ..Req::vector()
    };
    assert_eq!(req.verify().unwrap(), base);
    // The vector's MAC covers the other order, so it must not verify here.
    let reordered = Req {
        signature: SIGNATURE.into(),
        ..req
    };
    assert_eq!(reordered.verify(), Err(SignatureError::Mismatch));
}

#[test]
fn non_canonical_whitespace_is_reserialized() {
    let sloppy = r#"sig1=(  "@method"  "@path" "content-digest"   "idempotency-key" );created=1763812800;  nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="cli_7f3a";alg="hmac-sha256"  "#;
    let req = Req {
        input: format!("  {sloppy}"),
        ..Req::vector()
    };
    assert_eq!(req.verify().unwrap(), BASE);
}

#[test]
fn coverage_rejections() {
    let get_q = Req::signed("GET", "/accounts/a", b"", None);
    let with_query = Req {
        path_and_query: "/accounts/a?x=1",
        ..get_q
    };
    assert_eq!(
        with_query.verify(),
        Err(SignatureError::NotCovered("@query"))
    );

    let no_digest = Req::signed("DELETE", "/accounts/a", b"", None);
    let with_body = Req {
        body: b"{}",
        digest: Some(content_digest(b"{}")),
        ..no_digest
    };
    assert_eq!(
        with_body.verify(),
        Err(SignatureError::NotCovered("content-digest"))
    );

    let get = Req::signed("GET", "/transfers", b"", None);
    let as_post = Req {
        method: "POST",
        idem: Some(IDEM),
        ..get
    };
    assert_eq!(
        as_post.verify(),
        Err(SignatureError::NotCovered("idempotency-key"))
    );
}

#[test]
fn tampering_is_a_mismatch() {
    let v = Req::vector;
    let other_digest = content_digest(b"{}");
    let tampered = [
        (
            "digest",
            Req {
                digest: Some(other_digest),
                ..v()
            },
        ),
        (
            "path",
            Req {
                path_and_query: "/transfers/",
                ..v()
            },
        ),
        (
            "method",
            Req {
                method: "PUT",
                ..v()
            },
        ),
        (
            "idempotency-key",
            Req {
                idem: Some("5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a22"),
                ..v()
            },
        ),
        (
            "created",
            Req {
                input: INPUT.replace("1763812800", "1763812801"),
                ..v()
            },
        ),
        (
            "nonce",
            Req {
                input: INPUT.replace("q9X2", "q9X3"),
                ..v()
            },
        ),
        (
            "keyid",
            Req {
                input: INPUT.replace("cli_7f3a", "cli_7f3b"),
                ..v()
            },
        ),
        (
            "signature",
            Req {
                signature: SIGNATURE.replace("wxeW", "wxeX"),
                ..v()
            },
        ),
        (
            "truncated signature",
            Req {
                signature: SIGNATURE.replace("gwo=", "gw"),
                ..v()
            },
        ),
    ];
    for (what, req) in tampered {
        assert_eq!(req.verify(), Err(SignatureError::Mismatch), "{what}");
    }
    assert_eq!(v().verify(), Ok(BASE.into()));
}

#[test]
fn tampered_body_fails_the_digest_not_the_signature() {
    let req = Req {
        body: br#"{"from":"acc_alice","to":"acc_bob","amount":9500,"currency":"EUR"}"#,
        ..Req::vector()
    };
    assert_eq!(req.verify(), Ok(BASE.into()));
    assert_eq!(
        verify_content_digest(DIGEST, req.body),
        Err(DigestError::Mismatch)
    );
}

#[test]
fn method_case_is_signed() {
    let req = Req {
        method: "post",
        ..Req::vector()
    };
    assert_eq!(req.verify(), Err(SignatureError::Mismatch));
}

#[test]
fn a_tag_and_the_authority_are_signed_only_when_asked() {
    let profiled = signer()
        .with_tag("payments-prod")
        .unwrap()
        .covering_authority("API.example.com")
        .unwrap();
    let h = profiled.sign("POST", "/transfers", BODY, Some(IDEM), CREATED, NONCE);
    assert_eq!(
        h.signature_input,
        r#"sig1=("@method" "@authority" "@path" "content-digest" "idempotency-key");created=1763812800;nonce="q9X2mY7rT1vK4pLs8dWz3A";keyid="cli_7f3a";alg="hmac-sha256";tag="payments-prod""#
    );
    let req = Req {
        input: h.signature_input.clone(),
        signature: h.signature.clone(),
        authority: Some("api.example.com"),
        ..Req::vector()
    };
    let base = req.verify().unwrap();
    assert!(
        base.starts_with("\"@method\": POST\n\"@authority\": api.example.com\n\"@path\""),
        "{base}"
    );
    let (input, _) = parse_signature(&req.input, &req.signature).unwrap();
    assert_eq!(input.tag.as_deref(), Some("payments-prod"));
    assert!(input.covers("@authority"));
    // Captured for one host, sent to another: the base differs, the signature fails.
    let elsewhere = Req {
        authority: Some("staging.example.com"),
        ..req
    };
    assert_eq!(elsewhere.verify(), Err(SignatureError::Mismatch));
    // The tag is covered: changing it in transit breaks the signature.
    let retagged = Req {
        input: h.signature_input.replace("payments-prod", "payments-test"),
        signature: h.signature,
        authority: Some("api.example.com"),
        ..Req::vector()
    };
    assert_eq!(retagged.verify(), Err(SignatureError::Mismatch));
    // Neither option asked for: the contract's vector, byte for byte.
    let plain = signer().sign("POST", "/transfers", BODY, Some(IDEM), CREATED, NONCE);
    assert_eq!(
        (plain.signature_input.as_str(), plain.signature.as_str()),
        (INPUT, SIGNATURE)
    );
}

#[test]
fn signer_options_are_checked() {
    assert_eq!(signer().with_tag("").err(), Some(SignerOptionError::Tag));
    assert_eq!(
        signer().with_tag("a".repeat(MAX_TAG_BYTES + 1)).err(),
        Some(SignerOptionError::Tag)
    );
    assert_eq!(
        signer().with_tag("tab\t").err(),
        Some(SignerOptionError::Tag)
    );
    assert!(signer().with_tag("a".repeat(MAX_TAG_BYTES)).is_ok());
    for bad in [
        "",
        "https://api.example.com",
        "api.example.com/v1",
        "a b",
        "u@h",
        "h?q",
    ] {
        assert_eq!(
            signer().covering_authority(bad).err(),
            Some(SignerOptionError::Authority),
            "{bad}"
        );
    }
    assert!(signer().covering_authority("[::1]:9000").is_ok());
}
