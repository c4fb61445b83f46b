//! The Idempotency-Key header's rules, and the order in which the checks report: size first,
//! then key, signature, digest, body.

use replaysafe_tests::{TestApp, TestClient, World, T0};

use crate::support::{assert_balances, assert_fresh, pay, with_body, with_key, MAX_BODY};

#[tokio::test]
async fn a_post_without_an_idempotency_key_is_refused_with_idempotency_key_missing() {
    let World { app, .. } = World::open().await;
    let mut call = pay(&app, 100);
    call.idempotency_key = None;
    app.send(&call)
        .await
        .assert_problem(400, "idempotency-key-missing");
    // Before the signature is even looked at.
    let unsigned = call
        .without_header("signature")
        .without_header("signature-input");
    app.send(&unsigned)
        .await
        .assert_problem(400, "idempotency-key-missing");
    assert_balances(&app, 10_000, 0).await;
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused_with_idempotency_key_invalid() {
    let World { app, .. } = World::open().await;
    for bad in ["", "two words", "tab\there", &"k".repeat(256)] {
        let call = with_key(&pay(&app, 100), bad).sign();
        app.send(&call)
            .await
            .assert_problem(400, "idempotency-key-invalid");
    }
    let longest = with_key(&pay(&app, 100), &"k".repeat(255)).sign();
    assert_fresh(&app.send(&longest).await);
    assert_balances(&app, 9_900, 100).await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413_before_anything_else() {
    let World { app, .. } = World::open().await;
    let mut call = pay(&app, 100);
    call.body = vec![b' '; MAX_BODY + 1];
    call.idempotency_key = None;
    let call = call
        .without_header("signature")
        .without_header("signature-input");
    app.send(&call).await.assert_problem(413, "body-too-large");
}

#[tokio::test]
async fn a_body_of_exactly_64_kib_is_accepted() {
    let World { app, .. } = World::open().await;
    let mut body = TestApp::transfer_body("acc_alice", "acc_bob", 100);
    body.push_str(&" ".repeat(MAX_BODY - body.len()));
    let call = app.signed(&app.alice, "POST", "/transfers", &body);
    assert_fresh(&app.send(&call).await);
}

#[tokio::test]
async fn a_missing_key_is_reported_before_a_bad_signature() {
    let World { app, .. } = World::open().await;
    let mut call = pay(&app, 100).edit_header("signature", |_| "sig1=:AAAA:".into());
    call.idempotency_key = None;
    app.send(&call)
        .await
        .assert_problem(400, "idempotency-key-missing");
}

#[tokio::test]
async fn a_stale_request_with_a_bad_signature_is_reported_as_signature_invalid() {
    let World { app, .. } = World::open().await;
    let stale = with_key(&pay(&app, 100).resigned(T0 - 1_000), "edited");
    app.send(&stale)
        .await
        .assert_problem(401, "signature-invalid");
}

#[tokio::test]
async fn an_unknown_key_is_reported_before_a_wrong_digest() {
    let World { app, .. } = World::open().await;
    let stranger = TestClient {
        id: replaysafe::ClientId::generate().to_string(),
        secret: vec![1; 32],
    };
    let body = TestApp::transfer_body("acc_alice", "acc_bob", 1);
    let call = app.signed(&stranger, "POST", "/transfers", &body);
    let call = with_body(&call, &TestApp::transfer_body("acc_alice", "acc_bob", 2));
    app.send(&call).await.assert_problem(401, "unknown-key");
}

#[tokio::test]
async fn a_stale_request_with_a_wrong_digest_is_reported_as_digest_mismatch() {
    let World { app, .. } = World::open().await;
    let stale = pay(&app, 100).resigned(T0 - 1_000);
    let edited = with_body(&stale, &TestApp::transfer_body("acc_alice", "acc_bob", 200));
    app.send(&edited)
        .await
        .assert_problem(400, "digest-mismatch");
}

#[tokio::test]
async fn a_replayed_request_with_an_invalid_body_is_refused_as_nonce_reused() {
    let World { app, .. } = World::open().await;
    let broken = app.signed(&app.alice, "POST", "/transfers", r#"{"from":"acc_alice","#);
    app.send(&broken).await.assert_problem(400, "invalid-json");
    // The nonce was consumed although the request failed.
    app.send(&broken.replayed())
        .await
        .assert_problem(401, "nonce-reused");
}

#[tokio::test]
async fn an_invalid_body_is_reported_before_the_key_is_found_reused() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 100);
    assert_fresh(&app.send(&first).await);
    let broken = with_body(&first, "{").resigned(T0 + 1);
    app.send(&broken).await.assert_problem(400, "invalid-json");
    let same = with_body(&first, &TestApp::transfer_body("acc_alice", "acc_alice", 1));
    app.send(&same.resigned(T0 + 2))
        .await
        .assert_problem(400, "validation-failed");
}

#[tokio::test]
async fn a_request_refused_for_its_body_can_be_fixed_and_retried_with_the_same_key() {
    let World { app, .. } = World::open().await;
    let zero = pay(&app, 0);
    app.send(&zero)
        .await
        .assert_problem(400, "validation-failed");
    let key = zero.idempotency_key.clone().unwrap();
    assert!(app.idempotency_record(&app.alice, &key).await.is_none());

    let fixed = with_body(&zero, &TestApp::transfer_body("acc_alice", "acc_bob", 100));
    assert_fresh(&app.send(&fixed.resigned(T0 + 1)).await);
    assert_balances(&app, 9_900, 100).await;
}
