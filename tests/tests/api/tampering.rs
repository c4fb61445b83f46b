//! Whatever is edited in flight (body, path, method, key, `created`) is refused, and a tampered
//! copy does not burn the genuine request's nonce.

use payments::routes::Route;
use replaysafe_tests::{Answer, TestApp, World, T0};

use crate::support::{
    assert_balances, assert_counted_once, assert_fresh, pay, read_account, transfers, with_body,
    with_key,
};

#[tokio::test]
async fn a_body_edited_in_flight_with_the_old_digest_is_refused_with_digest_mismatch() {
    let World { app, .. } = World::open().await;
    let genuine = pay(&app, 100);
    let edited = with_body(
        &genuine,
        &TestApp::transfer_body("acc_alice", "acc_bob", 9_000),
    );
    app.send(&edited)
        .await
        .assert_problem(400, "digest-mismatch");
    assert_counted_once(&app, &edited, "SignatureInvalid");
    assert_balances(&app, 10_000, 0).await;
    assert_eq!(transfers(&app).await, 0);
}

#[tokio::test]
async fn a_body_edited_with_a_recomputed_digest_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let genuine = pay(&app, 100);
    let body = TestApp::transfer_body("acc_alice", "acc_bob", 9_000);
    let digest = replaysafe_signing::content_digest(body.as_bytes());
    let edited = with_body(&genuine, &body).edit_header("content-digest", |_| digest.clone());
    app.send(&edited)
        .await
        .assert_problem(401, "signature-invalid");
    assert_balances(&app, 10_000, 0).await;
}

#[tokio::test]
async fn an_edited_path_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    app.open_account(&app.alice, "acc_alice_2", "EUR", 1).await;
    let mut read = read_account(&app, &app.alice, "acc_alice");
    read.path = "/accounts/acc_alice_2".into();
    app.send(&read)
        .await
        .assert_problem(401, "signature-invalid");

    let mut post = app.signed(&app.alice, "POST", "/accounts", r#"{"currency":"EUR"}"#);
    post.path = "/transfers".into();
    app.send(&post)
        .await
        .assert_problem(401, "signature-invalid");
}

#[tokio::test]
async fn an_edited_method_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let read = read_account(&app, &app.alice, "acc_alice");
    let mut req = read.request();
    *req.method_mut() = http::Method::DELETE;
    let answer = Answer::of(Route::GetAccount.serve(&app.app, &req).await);
    answer.assert_problem(401, "signature-invalid");

    // Control: the same request, unedited, is accepted.
    let answer = Answer::of(Route::GetAccount.serve(&app.app, &read.request()).await);
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn an_edited_idempotency_key_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 100);
    assert_fresh(&app.send(&first).await);
    // A capture resent under another key would otherwise execute a second time.
    let edited = with_key(&first.replayed(), "attacker-chosen-key");
    app.send(&edited)
        .await
        .assert_problem(401, "signature-invalid");
    assert_balances(&app, 9_900, 100).await;
}

#[tokio::test]
async fn an_edited_created_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 100);
    assert_fresh(&app.send(&first).await);

    app.clock.advance(1_000);
    let freshened = first.replayed().edit_header("signature-input", |v| {
        v.replace(&format!("created={T0}"), &format!("created={}", T0 + 1_000))
    });
    assert_ne!(freshened.headers, first.headers);
    app.send(&freshened)
        .await
        .assert_problem(401, "signature-invalid");
    assert_balances(&app, 9_900, 100).await;
}

#[tokio::test]
async fn a_tampered_copy_does_not_burn_the_genuine_requests_nonce() {
    let World { app, .. } = World::open().await;
    let genuine = pay(&app, 100);
    let tampered = with_body(
        &genuine,
        &TestApp::transfer_body("acc_alice", "acc_bob", 9_000),
    );
    app.send(&tampered)
        .await
        .assert_problem(400, "digest-mismatch");
    let forged = with_key(&genuine, "forged");
    app.send(&forged)
        .await
        .assert_problem(401, "signature-invalid");

    assert_fresh(&app.send(&genuine).await);
    assert_balances(&app, 9_900, 100).await;
}
