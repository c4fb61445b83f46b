//! The CPU work of a request outside DynamoDB: verifying a signature (parse, base, HMAC),
//! checking a Content-Digest, and the idempotency fingerprint.

use criterion::{criterion_group, criterion_main, Criterion};
use replaysafe::idempotency::Fingerprint;
use replaysafe_signing::{
    content_digest, parse_signature, signature_base, verify_content_digest, verify_hmac, Message,
    Signer,
};
use std::hint::black_box;

const BODY: &[u8] = br#"{"from":"acc_alice","to":"acc_bob","amount":1500,"currency":"EUR","reference":"invoice 42"}"#;
const KEY: &str = "8e0f7a8e-3f3c-4a52-9a4e-6f1b2c3d4e5f";

fn micro(c: &mut Criterion) {
    let secret = vec![7u8; 32];
    let signer = Signer::new("cl_bench", secret.clone());
    let signed = signer.sign(
        "POST",
        "/transfers",
        BODY,
        Some(KEY),
        1_763_812_800,
        "n0nce-n0nce-n0nce-n0nc",
    );
    let digest = signed.content_digest.clone().expect("a body has a digest");
    c.bench_function("verify_signature", |b| {
        b.iter(|| {
            let (input, mac) = parse_signature(
                black_box(&signed.signature_input),
                black_box(&signed.signature),
            )
            .expect("parses");
            let header = |name: &str| match name {
                "content-digest" => vec![digest.clone()],
                "idempotency-key" => vec![KEY.to_owned()],
                _ => vec![],
            };
            let message = Message {
                method: "POST",
                path: "/transfers",
                query: None,
                authority: None,
                header: &header,
            };
            let base = signature_base(&input, &message, true).expect("base");
            verify_hmac(&secret, &base, &mac).expect("valid")
        })
    });
    c.bench_function("content_digest", |b| {
        b.iter(|| verify_content_digest(black_box(&digest), black_box(BODY)).expect("matches"))
    });
    c.bench_function("content_digest_sign", |b| {
        b.iter(|| content_digest(black_box(BODY)))
    });
    c.bench_function("fingerprint", |b| {
        b.iter(|| Fingerprint::of(black_box("POST"), black_box("/transfers"), black_box(BODY)))
    });
}

criterion_group! {
    name = benches;
    // Short: these run on every `make bench`; a microsecond-scale function settles quickly.
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = micro
}
criterion_main!(benches);
