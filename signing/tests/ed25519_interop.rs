//! Our Ed25519 signatures against an implementation other than ours: the Python package
//! http-message-signatures (tests/interop/requirements.txt), through tests/interop/ed25519_interop.py.
//! It verifies what our `Signer::ed25519` signs, and signs requests that our `signature_base` and
//! `verify_ed25519` must accept.
//!
//! Both sides sign what the contract has a request cover: `@method`, `@path`, `@query` for a query
//! string, `content-digest` for a body, `idempotency-key` for a POST, with `created`, `nonce`,
//! `keyid` and `alg` (the library adds `expires` only when asked; ours sends it when given). The
//! library orders the parameters `created`, `keyid`, `alg`, `nonce`, ours `created`, `nonce`,
//! `keyid`, `alg`: the signature base carries them as sent, so both orders are exercised.
//!
//! Needs `.venv/bin/python` with the package: `scripts/bootstrap.sh interop` installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use replaysafe_signing::{
    ed25519_public_key, parse_signature, required_components, signature_base,
    verify_content_digest, verify_ed25519, AttemptParams, Message, Signer, ED25519,
};
use serde_json::{json, Map, Value};

const KEY_ID: &str = "key_ed25519_interop";
const SEED: [u8; 32] = [0x42; 32];
const CREATED: i64 = 1_763_812_800;
const AUTHORITY: &str = "https://api.example.com";

/// A request of the API: method, path and query, body, Idempotency-Key, `expires`.
struct Case {
    method: &'static str,
    path_and_query: &'static str,
    body: &'static [u8],
    idempotency_key: Option<&'static str>,
    expires: Option<i64>,
}

const CASES: [Case; 4] = [
    Case {
        method: "POST",
        path_and_query: "/transfers",
        body: br#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR"}"#,
        idempotency_key: Some("5b1c6a1e-3f0e-4a43-9d8e-0c3c1f5e7a21"),
        expires: None,
    },
    Case {
        method: "POST",
        path_and_query: "/accounts?source=interop",
        body: br#"{"account_id":"acc_carol","currency":"EUR"}"#,
        idempotency_key: Some("\"k-2\""),
        // 2100-01-01: `expires` is signed, and the library refuses an expired signature.
        expires: Some(4_102_444_800),
    },
    Case {
        method: "GET",
        path_and_query: "/accounts/acc_alice?x=1&y",
        body: b"",
        idempotency_key: None,
        expires: None,
    },
    Case {
        method: "GET",
        path_and_query: "/transfers/tr_1",
        body: b"",
        idempotency_key: None,
        expires: None,
    },
];

impl Case {
    fn components(&self) -> Vec<&'static str> {
        let has_query = self
            .path_and_query
            .split_once('?')
            .is_some_and(|(_, q)| !q.is_empty());
        required_components(self.method, has_query, !self.body.is_empty())
    }

    fn nonce(&self, i: usize) -> String {
        format!("interop-nonce-{i:04}")
    }

    /// The request as the script reads it; `headers` are those sent besides the signature's.
    fn json(&self, i: usize, headers: Map<String, Value>) -> Value {
        json!({
            "method": self.method,
            "url": format!("{AUTHORITY}{}", self.path_and_query),
            "headers": headers,
            "body": STANDARD.encode(self.body),
            "components": self.components(),
            "created": CREATED,
            "nonce": self.nonce(i),
        })
    }
}

/// `.venv/bin/python` of the repository, with http-message-signatures installed.
fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join(".venv/bin/python");
    let installed = Command::new(&python)
        .args(["-c", "import http_message_signatures"])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        installed,
        "{} cannot import http_message_signatures (the Ed25519 interop test's other \
         implementation): run scripts/bootstrap.sh interop",
        python.display()
    );
    python
}

/// A fresh folder for one run of the script, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "replaysafe-ed25519-interop-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    fn write(&self, file: &str, contents: &str) {
        std::fs::write(self.0.join(file), contents).unwrap();
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_script(command: &str, folder: &Folder) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ed25519_interop.py");
    Command::new(python())
        .arg(script)
        .arg(command)
        .arg(&folder.0)
        .output()
        .unwrap()
}

/// Runs `ed25519_interop.py verify` over these requests and this public key.
fn python_verifies(name: &str, public_key: &[u8; 32], requests: &[Value]) -> Output {
    let folder = Folder::new(name);
    folder.write("public_key", &STANDARD.encode(public_key));
    let spec = json!({ "key_id": KEY_ID, "requests": requests });
    folder.write("requests.json", &spec.to_string());
    run_script("verify", &folder)
}

/// Every case, signed by our Signer: the request JSON and, separately, its headers.
fn signed_by_us(seed: [u8; 32]) -> Vec<Value> {
    let signer = Signer::ed25519(KEY_ID, seed);
    CASES
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let nonce = case.nonce(i);
            let attempt = AttemptParams {
                created: CREATED,
                expires: case.expires,
                nonce: &nonce,
            };
            let signed = signer.sign_attempt(
                case.method,
                case.path_and_query,
                case.body,
                case.idempotency_key,
                &attempt,
            );
            let mut headers = Map::new();
            if let Some(digest) = signed.content_digest {
                headers.insert("Content-Digest".into(), digest.into());
            }
            if let Some(key) = case.idempotency_key {
                headers.insert("Idempotency-Key".into(), key.into());
            }
            headers.insert("Signature-Input".into(), signed.signature_input.into());
            headers.insert("Signature".into(), signed.signature.into());
            case.json(i, headers)
        })
        .collect()
}

/// Checks the script's exit: success, or a refusal by the library (not a crash of the script).
fn assert_status(out: &Output, success: bool, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let refused = out.status.code() == Some(1) && stderr.contains("does not verify");
    assert!(
        if success {
            out.status.success()
        } else {
            refused
        },
        "{what}: exit {:?}\nstdout: {}\nstderr: {stderr}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
    );
}

#[test]
fn the_python_library_verifies_what_our_signer_signs() {
    let out = python_verifies("verify", &ed25519_public_key(&SEED), &signed_by_us(SEED));
    assert_status(
        &out,
        true,
        "our signatures, verified by http-message-signatures",
    );
}

#[test]
fn the_python_library_refuses_our_signatures_when_anything_changed() {
    let public_key = ed25519_public_key(&SEED);
    let other_key = ed25519_public_key(&[0x43; 32]);
    let out = python_verifies("other-key", &other_key, &signed_by_us(SEED));
    assert_status(&out, false, "verified under another key");

    let mut requests = signed_by_us(SEED);
    requests[0]["headers"]["Idempotency-Key"] = "another-key".into();
    let out = python_verifies("other-idempotency-key", &public_key, &requests);
    assert_status(&out, false, "verified with another Idempotency-Key");

    let mut requests = signed_by_us(SEED);
    requests[2]["url"] = format!("{AUTHORITY}/accounts/acc_mallory?x=1&y").into();
    let out = python_verifies("other-path", &public_key, &requests);
    assert_status(&out, false, "verified with another path");

    let mut requests = signed_by_us(SEED);
    requests[1]["body"] = STANDARD.encode(b"{}").into();
    let out = python_verifies("other-body", &public_key, &requests);
    assert_status(&out, false, "verified with another body");
}

#[test]
fn we_verify_what_the_python_library_signs() {
    let folder = Folder::new("sign");
    folder.write("private_key", &STANDARD.encode(SEED));
    let requests: Vec<Value> = CASES
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let mut headers = Map::new();
            if let Some(key) = case.idempotency_key {
                headers.insert("Idempotency-Key".into(), key.into());
            }
            case.json(i, headers)
        })
        .collect();
    let spec = json!({ "key_id": KEY_ID, "requests": requests });
    folder.write("requests.json", &spec.to_string());
    let out = run_script("sign", &folder);
    assert_status(&out, true, "signing with http-message-signatures");

    let signed: Vec<Map<String, Value>> =
        serde_json::from_str(&std::fs::read_to_string(folder.0.join("signed.json")).unwrap())
            .unwrap();
    assert_eq!(signed.len(), CASES.len());
    let public_key = ed25519_public_key(&SEED);
    for (case, headers) in CASES.iter().zip(&signed) {
        let what = format!("{} {}: {headers:?}", case.method, case.path_and_query);
        let header = |name: &str| -> Vec<String> {
            headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str().unwrap().to_owned())
                .collect()
        };
        let (input, signature) =
            parse_signature(&header("signature-input")[0], &header("signature")[0])
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(input.alg.as_deref(), Some(ED25519), "{what}");
        assert_eq!(input.keyid, KEY_ID, "{what}");
        assert_eq!(input.components, case.components(), "{what}");
        let (path, query) = match case.path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (case.path_and_query, None),
        };
        let message = Message {
            method: case.method,
            path,
            query,
            authority: None,
            header: &header,
        };
        let base = signature_base(&input, &message, !case.body.is_empty())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            verify_ed25519(&public_key, &base, &signature),
            Ok(()),
            "{what}\n{base}"
        );
        match header("content-digest").first() {
            Some(digest) => assert_eq!(verify_content_digest(digest, case.body), Ok(()), "{what}"),
            None => assert!(case.body.is_empty(), "{what}"),
        }
    }
}
