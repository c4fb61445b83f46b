//! The whole request check (`Guard::read` with a read that does nothing: size,
//! idempotency key, signature, digest, freshness, then the nonce) on requests that are signed with the client's secret and then possibly changed,
//! or not signed at all. Never a panic; a request passes only if it was signed and nothing the
//! signature covers changed afterwards. The client lookup and the nonce put are answered by SDK
//! mocks (every nonce is new to them, so only the checks before it can refuse).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use lambda_http::{Body, RequestExt};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use replaysafe::http::Incoming;
use replaysafe::{Config, Guard, ManualClock, Tables};
use replaysafe_signing::Signer;

const NOW: i64 = 1_763_812_800;
const SECRET: &[u8] = b"fuzzing-secret-0123456789abcdef!";
const SECRET_B64: &str = "ZnV6emluZy1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZiE=";

#[derive(Arbitrary, Debug)]
enum Change {
    Method,
    Path(u8, u8),
    Body(u16, u8),
    Key(u8, u8),
    SignatureInput(u8, u8),
    AddHeader(String, String),
}

#[derive(Arbitrary, Debug)]
struct Case {
    post: bool,
    path: String,
    query: Option<String>,
    body: Vec<u8>,
    key: String,
    nonce: String,
    created_offset: i16,
    keyid: String,
    sign: bool,
    changes: Vec<Change>,
    raw_signature_input: String,
    raw_signature: String,
}

fn guard() -> &'static (tokio::runtime::Runtime, Guard) {
    static GUARD: OnceLock<(tokio::runtime::Runtime, Guard)> = OnceLock::new();
    GUARD.get_or_init(|| {
        let client = mock!(aws_sdk_dynamodb::Client::get_item)
            .sequence()
            .output(|| {
                GetItemOutput::builder()
                    .item("secret", AttributeValue::S(SECRET_B64.into()))
                    .item("status", AttributeValue::S("active".into()))
                    .build()
            })
            .repeatedly()
            .build();
        let nonce = mock!(aws_sdk_dynamodb::Client::put_item)
            .sequence()
            .output(|| PutItemOutput::builder().build())
            .repeatedly()
            .build();
        let sdk = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&client, &nonce]);
        let config = Config::builder()
            .tables(Tables::with_prefix("fuzz-"))
            .client_cache(Duration::from_secs(86_400))
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let guard = Guard::builder(config)
            .sdk_client(sdk)
            .clock(ManualClock::new(NOW))
            .warm_up(false)
            .build();
        let guard = runtime.block_on(guard).unwrap();
        (runtime, guard)
    })
}

/// `s` with byte `at` (mod length) xored with a non-zero `by`; false when nothing changed.
fn flip(s: &mut Vec<u8>, at: usize, by: u8) -> bool {
    if s.is_empty() || by == 0 {
        return false;
    }
    let i = at % s.len();
    s[i] ^= by;
    true
}

fuzz_target!(|case: Case| {
    let (runtime, guard) = guard();
    let method = if case.post { "POST" } else { "GET" };
    let target = match &case.query {
        Some(q) => format!("/{}?{}", case.path, q),
        None => format!("/{}", case.path),
    };
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let mut method_bytes = method.as_bytes().to_vec();
    let mut target_bytes = target.clone().into_bytes();
    let mut body = case.body.clone();
    let mut key = case.key.clone().into_bytes();
    let mut signed = false;
    if case.sign
        && replaysafe_signing::valid_idempotency_key(&case.key)
        && !target.contains(['\r', '\n'])
        && http::Uri::try_from(target.as_str())
            .is_ok_and(|u| u.path_and_query().map(|p| p.as_str()) == Some(target.as_str()))
    {
        let signer = Signer::new(case.keyid.clone(), SECRET.to_vec());
        let nonce = if case.nonce.len() >= 16 {
            case.nonce.clone()
        } else {
            "n".repeat(16)
        };
        if !nonce.contains(['"', '\\']) && nonce.is_ascii() {
            let created = NOW + i64::from(case.created_offset);
            let h = signer.sign(
                method,
                &target,
                &body,
                case.post.then_some(case.key.as_str()),
                created,
                &nonce,
            );
            if let Some(d) = h.content_digest {
                headers.push(("content-digest".into(), d.into_bytes()));
            }
            headers.push(("signature-input".into(), h.signature_input.into_bytes()));
            headers.push(("signature".into(), h.signature.into_bytes()));
            signed = true;
        }
    } else {
        headers.push((
            "signature-input".into(),
            case.raw_signature_input.clone().into_bytes(),
        ));
        headers.push(("signature".into(), case.raw_signature.clone().into_bytes()));
    }
    // What was signed, to tell afterwards whether the changes changed it (two flips of one
    // byte undo each other).
    let signed_as = (
        method_bytes.clone(),
        target_bytes.clone(),
        body.clone(),
        key.clone(),
        headers.clone(),
    );
    for change in &case.changes {
        let _ = match change {
            Change::Method => {
                method_bytes = b"PUT".to_vec();
                true
            }
            // Never the leading '/': a target without it is no path (API Gateway's rawPath
            // always has it), and the URI parser reads it back as "/".
            Change::Path(at, by) => {
                let mut rest = target_bytes.split_off(1);
                let changed = flip(&mut rest, usize::from(*at), *by);
                target_bytes.extend(rest);
                changed
            }
            Change::Body(at, by) => flip(&mut body, usize::from(*at), *by),
            Change::Key(at, by) => case.post && flip(&mut key, usize::from(*at), *by),
            Change::SignatureInput(at, by) => {
                let input = headers.iter_mut().find(|(n, _)| n == "signature-input");
                input.is_some_and(|(_, v)| flip(v, usize::from(*at), *by))
            }
            Change::AddHeader(name, value) => {
                // Headers the check reads are changed through the other variants.
                let name = name.to_ascii_lowercase();
                let read = [
                    "signature",
                    "signature-input",
                    "content-digest",
                    "idempotency-key",
                ];
                if !read.contains(&name.as_str()) {
                    headers.push((name, value.clone().into_bytes()));
                }
                false
            }
        };
    }
    let mut builder = http::Request::builder()
        .method(method_bytes.as_slice())
        .uri(target_bytes.as_slice());
    if case.post {
        builder = builder.header("idempotency-key", key.as_slice());
    }
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_slice());
    }
    let Ok(request) = builder.body(if body.is_empty() {
        Body::Empty
    } else {
        Body::Binary(body.clone())
    }) else {
        return; // not a request HTTP could carry
    };
    let request = request.with_lambda_context(lambda_http::Context::default());
    let incoming = Incoming::from_lambda(&request);
    let read = async { Ok::<(), replaysafe::Error<std::convert::Infallible>>(()) };
    let verdict = runtime.block_on(guard.read(&incoming, read));
    let tampered = (&method_bytes, &target_bytes, &body, &key)
        != (&signed_as.0, &signed_as.1, &signed_as.2, &signed_as.3)
        || headers[..signed_as.4.len()] != signed_as.4[..];
    if verdict.is_ok() {
        assert!(
            signed && !tampered,
            "accepted a request that was not signed as sent: {case:?}"
        );
    }
});
