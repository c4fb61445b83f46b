//! The contract (`api-contract.md`), rule by rule, as a client and an attacker see it.

use std::sync::Arc;

use payments::routes::Route;
use payments::{PaymentsStore, PaymentsTables};
use replaysafe::config::Tables;
use replaysafe::idempotency::StoredResponse;
use replaysafe::store::clients::ClientRecord;
use replaysafe::testing::Committed;
use replaysafe::{Clock, GuardError, ManualClock, Store};
use replaysafe_tests::{staged_answer, Answer, Call, TestApp, TestClient, World, T0};

const WINDOW: i64 = 300;
const MAX_BODY: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Alice pays Bob `amount`, signed now with a fresh key.
fn pay(app: &TestApp, amount: u64) -> Call {
    let body = TestApp::transfer_body("acc_alice", "acc_bob", amount);
    app.signed(&app.alice, "POST", "/transfers", &body)
}

fn read_account(app: &TestApp, client: &TestClient, id: &str) -> Call {
    app.signed(client, "GET", &format!("/accounts/{id}"), "")
}

async fn transfers(app: &TestApp) -> usize {
    app.scan_count(&app.ledger.tables().transfers).await
}

async fn assert_balances(app: &TestApp, alice: u64, bob: u64) {
    assert_eq!(app.balance("acc_alice").await, alice, "acc_alice");
    assert_eq!(app.balance("acc_bob").await, bob, "acc_bob");
}

/// A 201 that did its own work (not a replay).
#[track_caller]
fn assert_fresh(answer: &Answer) {
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert!(!answer.replayed(), "unexpectedly replayed");
}

fn with_key(call: &Call, key: &str) -> Call {
    let mut next = call.clone();
    next.idempotency_key = Some(key.to_owned());
    next
}

fn with_body(call: &Call, body: &str) -> Call {
    let mut next = call.clone();
    next.body = body.as_bytes().to_vec();
    next
}

// ---------------------------------------------------------------------------------------------
// Replays and retries

#[tokio::test]
async fn an_exact_replay_is_refused_with_nonce_reused_and_moves_no_money() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    assert_fresh(&app.send(&first).await);

    app.clock.advance(2);
    let replay = app.send(&first.replayed()).await;
    replay.assert_problem(401, "nonce-reused");
    assert_balances(&app, 8_500, 1_500).await;
    assert_eq!(transfers(&app).await, 1);
}

#[tokio::test]
async fn a_resigned_retry_with_the_same_key_gets_the_first_answer_and_moves_no_money() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    let answer = app.send(&first).await;
    assert_fresh(&answer);

    for delay in [1, 60, 3_600] {
        app.clock.set(T0 + delay);
        let retry = app.send(&first.resigned(T0 + delay)).await;
        assert_eq!(retry.status, 201, "{}", retry.body);
        assert!(retry.replayed(), "Idempotent-Replayed: true");
        assert_eq!(retry.body, answer.body);
        assert_eq!(retry.header("location"), answer.header("location"));
    }
    assert_balances(&app, 8_500, 1_500).await;
    assert_eq!(transfers(&app).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_as_reused_and_has_no_effect() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    let answer = app.send(&first).await;
    assert_fresh(&answer);

    let other = with_body(
        &first,
        &TestApp::transfer_body("acc_alice", "acc_bob", 2000),
    );
    let refused = app.send(&other.resigned(T0 + 1)).await;
    refused.assert_problem(422, "idempotency-key-reused");
    assert_balances(&app, 8_500, 1_500).await;
    assert_eq!(transfers(&app).await, 1);

    // The key still answers with the first request's response.
    let retry = app.send(&first.resigned(T0 + 2)).await;
    assert!(retry.replayed());
    assert_eq!(retry.body, answer.body);
}

#[tokio::test]
async fn the_same_key_with_the_same_body_from_another_client_is_independent() {
    let World { app, bob } = World::open().await;
    let body = r#"{"currency":"EUR","initial_balance":7}"#;
    let by_alice = app.signed(&app.alice, "POST", "/accounts", body);
    let key = by_alice.idempotency_key.clone().unwrap();
    let alices = app.send(&by_alice).await;
    assert_fresh(&alices);

    let by_bob = with_key(&app.signed(&bob, "POST", "/accounts", body), &key).sign();
    let bobs = app.send(&by_bob).await;
    assert_fresh(&bobs);
    assert_ne!(bobs.json()["account_id"], alices.json()["account_id"]);

    // Each owns the account its own request created.
    let id = bobs.json()["account_id"].as_str().unwrap().to_owned();
    assert_eq!(app.send(&read_account(&app, &bob, &id)).await.status, 200);
    assert_eq!(
        app.send(&read_account(&app, &app.alice, &id)).await.status,
        404
    );
}

#[tokio::test]
async fn another_clients_key_never_replays_the_first_clients_transfer() {
    let World { app, bob } = World::open().await;
    app.open_account(&bob, "acc_bob_savings", "EUR", 500).await;
    let alices = pay(&app, 1500);
    let key = alices.idempotency_key.clone().unwrap();
    let alice_answer = app.send(&alices).await;
    assert_fresh(&alice_answer);

    let body = TestApp::transfer_body("acc_bob_savings", "acc_alice", 200);
    let bobs = with_key(&app.signed(&bob, "POST", "/transfers", &body), &key).sign();
    let bob_answer = app.send(&bobs).await;
    assert_fresh(&bob_answer);
    assert_ne!(bob_answer.body, alice_answer.body);
    assert_eq!(bob_answer.json()["from"], "acc_bob_savings");
    assert_eq!(app.balance("acc_bob_savings").await, 300);
    assert_balances(&app, 8_700, 1_500).await;
    assert_eq!(transfers(&app).await, 2);
}

#[tokio::test]
async fn a_nonce_is_scoped_to_the_client_that_used_it() {
    let World { app, bob } = World::open().await;
    let alices = read_account(&app, &app.alice, "acc_alice");
    assert_eq!(app.send(&alices).await.status, 200);

    let mut bobs = read_account(&app, &bob, "acc_bob");
    bobs.nonce = alices.nonce.clone();
    let answer = app.send(&bobs.sign()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_have_exactly_one_effect() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    let copies: Vec<Call> = (0..8).map(|_| first.resigned(T0)).collect();
    let answers = futures::future::join_all(copies.iter().map(|c| app.send(c))).await;

    let fresh: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == 201 && !a.replayed())
        .collect();
    assert_eq!(fresh.len(), 1, "{answers:#?}");
    for a in &answers {
        if a.status == 201 {
            assert_eq!(a.body, fresh[0].body);
        } else {
            a.assert_problem(409, "request-in-progress");
        }
    }
    assert_balances(&app, 8_500, 1_500).await;
    assert_eq!(transfers(&app).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Freshness

#[tokio::test]
async fn a_request_created_longer_ago_than_the_window_is_stale() {
    let World { app, .. } = World::open().await;
    app.clock.set(T0 + 1_000);
    let now = app.clock.now();

    let at_edge = pay(&app, 100).resigned(now - WINDOW);
    assert_fresh(&app.send(&at_edge).await);

    let too_old = pay(&app, 100).resigned(now - WINDOW - 1);
    app.send(&too_old)
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 9_900, 100).await;
}

#[tokio::test]
async fn a_request_created_further_ahead_than_the_window_is_stale() {
    let World { app, .. } = World::open().await;
    let now = app.clock.now();

    let at_edge = pay(&app, 100).resigned(now + WINDOW);
    assert_fresh(&app.send(&at_edge).await);

    let too_new = pay(&app, 100).resigned(now + WINDOW + 1);
    app.send(&too_new)
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 9_900, 100).await;
}

#[tokio::test]
async fn a_capture_replayed_after_the_window_is_refused_as_stale() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    assert_fresh(&app.send(&first).await);

    app.clock.advance(WINDOW + 1);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 8_500, 1_500).await;
}

#[tokio::test]
async fn a_signature_whose_expires_has_passed_is_stale() {
    let World { app, .. } = World::open().await;
    let now = app.clock.now();
    let full = ["@method", "@path", "content-digest", "idempotency-key"];

    let expired = pay(&app, 100).sign_covering(&full, &format!(";expires={}", now - 1));
    app.send(&expired)
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 10_000, 0).await;

    // The same hand-made signature, still valid: the refusal above was the expiry.
    let expires_now = pay(&app, 100).sign_covering(&full, &format!(";expires={now}"));
    assert_fresh(&app.send(&expires_now).await);
    let later = pay(&app, 100).sign_covering(&full, &format!(";expires={}", now + 30));
    assert_fresh(&app.send(&later).await);
    assert_balances(&app, 9_800, 200).await;
}

#[tokio::test]
async fn a_capture_replayed_after_its_expires_is_refused_as_stale_even_inside_the_window() {
    let World { app, .. } = World::open().await;
    let full = ["@method", "@path", "content-digest", "idempotency-key"];
    let first = pay(&app, 100).sign_covering(&full, &format!(";expires={}", T0 + 10));
    assert_fresh(&app.send(&first).await);

    app.clock.advance(10);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "nonce-reused");
    app.clock.advance(1);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "stale-request");
    assert_balances(&app, 9_900, 100).await;
}

// ---------------------------------------------------------------------------------------------
// Tampering

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

// ---------------------------------------------------------------------------------------------
// Keys and coverage

#[tokio::test]
async fn an_unknown_keyid_is_refused_with_unknown_key() {
    let World { app, .. } = World::open().await;
    let stranger = TestClient {
        id: replaysafe::ClientId::generate().to_string(),
        secret: vec![9; 32],
    };
    let read = read_account(&app, &stranger, "acc_alice");
    app.send(&read).await.assert_problem(401, "unknown-key");

    let malformed = TestClient {
        id: "not a client id".into(),
        secret: vec![9; 32],
    };
    let read = read_account(&app, &malformed, "acc_alice");
    app.send(&read).await.assert_problem(401, "unknown-key");
}

#[tokio::test]
async fn a_revoked_client_is_refused_with_unknown_key() {
    let World { app, .. } = World::open().await;
    let revoked = TestClient {
        id: replaysafe::ClientId::generate().to_string(),
        secret: rand::random::<[u8; 32]>().to_vec(),
    };
    let record = ClientRecord {
        client_id: replaysafe::ClientId::parse(&revoked.id).unwrap(),
        secret: revoked.secret.clone(),
        active: false,
    };
    app.store.put_client(&record, T0).await.unwrap();

    let create = app.signed(&revoked, "POST", "/accounts", r#"{"currency":"EUR"}"#);
    app.send(&create).await.assert_problem(401, "unknown-key");
    app.send(&read_account(&app, &revoked, "acc_alice"))
        .await
        .assert_problem(401, "unknown-key");
}

#[tokio::test]
async fn a_request_without_signature_headers_is_refused_with_signature_missing() {
    let World { app, .. } = World::open().await;
    let cases: [&[&str]; 3] = [
        &["signature", "signature-input"],
        &["signature"],
        &["signature-input"],
    ];
    for removed in cases {
        let mut call = pay(&app, 100);
        for name in removed {
            call = call.without_header(name);
        }
        app.send(&call)
            .await
            .assert_problem(401, "signature-missing");
    }
    assert_balances(&app, 10_000, 0).await;
}

#[tokio::test]
async fn a_query_string_not_covered_by_query_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let mut uncovered = read_account(&app, &app.alice, "acc_alice");
    uncovered.path.push_str("?expand=owner");
    app.send(&uncovered)
        .await
        .assert_problem(401, "signature-invalid");

    let covered = app.signed(&app.alice, "GET", "/accounts/acc_alice?expand=owner", "");
    let answer = app.send(&covered).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let mut edited = covered.resigned(T0);
    edited.path = "/accounts/acc_alice?expand=everything".into();
    app.send(&edited)
        .await
        .assert_problem(401, "signature-invalid");
}

#[tokio::test]
async fn a_post_not_covering_its_idempotency_key_or_digest_is_refused_with_signature_invalid() {
    let World { app, .. } = World::open().await;
    let no_key = pay(&app, 100).sign_covering(&["@method", "@path", "content-digest"], "");
    app.send(&no_key)
        .await
        .assert_problem(401, "signature-invalid");
    let no_digest = pay(&app, 100).sign_covering(&["@method", "@path", "idempotency-key"], "");
    app.send(&no_digest)
        .await
        .assert_problem(401, "signature-invalid");
    assert_balances(&app, 10_000, 0).await;

    // The same hand-made signature covering everything, in any order, is accepted.
    let reordered = pay(&app, 100).sign_covering(
        &["idempotency-key", "content-digest", "@path", "@method"],
        "",
    );
    assert_fresh(&app.send(&reordered).await);
    assert_balances(&app, 9_900, 100).await;
}

// ---------------------------------------------------------------------------------------------
// Idempotency-Key header, and the order of checks

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

// ---------------------------------------------------------------------------------------------
// Business refusals

#[tokio::test]
async fn insufficient_funds_store_nothing_so_a_retry_succeeds_once_funded_and_the_capture_stays_dead(
) {
    let World { app, bob } = World::open().await;
    app.open_account(&bob, "acc_bob_savings", "EUR", 50_000)
        .await;
    let first = pay(&app, 20_000);
    let key = first.idempotency_key.clone().unwrap();
    app.send(&first)
        .await
        .assert_problem(409, "insufficient-funds");
    assert!(app.idempotency_record(&app.alice, &key).await.is_none());
    assert_eq!(transfers(&app).await, 0);

    app.clock.advance(5);
    let funding = TestApp::transfer_body("acc_bob_savings", "acc_alice", 15_000);
    assert_fresh(
        &app.send(&app.signed(&bob, "POST", "/transfers", &funding))
            .await,
    );

    app.clock.advance(5);
    let retry = app.send(&first.resigned(T0 + 10)).await;
    assert_fresh(&retry);

    let replay = app.send(&first.replayed()).await;
    replay.assert_problem(401, "nonce-reused");
    let again = app.send(&first.resigned(T0 + 10)).await;
    assert!(again.replayed());
    assert_eq!(again.body, retry.body);

    assert_eq!(app.balance("acc_alice").await, 10_000 + 15_000 - 20_000);
    assert_eq!(app.balance("acc_bob").await, 20_000);
    assert_eq!(transfers(&app).await, 2);
}

#[tokio::test]
async fn other_business_refusals_are_problem_details() {
    let World { app, bob } = World::open().await;
    app.open_account(&bob, "acc_bob_usd", "USD", 0).await;
    let to_usd = TestApp::transfer_body("acc_alice", "acc_bob_usd", 100);
    let answer = app
        .send(&app.signed(&app.alice, "POST", "/transfers", &to_usd))
        .await;
    answer.assert_problem(409, "currency-mismatch");

    let to_nowhere = TestApp::transfer_body("acc_alice", "acc_nobody", 100);
    let answer = app
        .send(&app.signed(&app.alice, "POST", "/transfers", &to_nowhere))
        .await;
    answer.assert_problem(404, "not-found");

    for bad in [
        r#"{"from":"acc_alice","to":"acc_bob","amount":1.5,"currency":"EUR"}"#,
        r#"{"from":"acc_alice","to":"acc_bob","amount":100,"currency":"EUR","x":1}"#,
        r#"{"from":"acc_alice","to":"acc_bob","amount":"100","currency":"EUR"}"#,
    ] {
        let answer = app
            .send(&app.signed(&app.alice, "POST", "/transfers", bad))
            .await;
        answer.assert_problem(400, "validation-failed");
    }
    assert_balances(&app, 10_000, 0).await;
    assert_eq!(transfers(&app).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Ownership

#[tokio::test]
async fn a_stranger_cannot_see_anothers_account_or_transfer() {
    let World { app, bob } = World::open().await;
    let answer = app.send(&pay(&app, 100)).await;
    assert_fresh(&answer);
    let location = answer.header("location").unwrap().to_owned();

    let missing = app.send(&read_account(&app, &bob, "acc_nobody")).await;
    missing.assert_problem(404, "not-found");
    let account = app.send(&read_account(&app, &bob, "acc_alice")).await;
    account.assert_problem(404, "not-found");
    assert_eq!(account.body, missing.body, "indistinguishable from absent");

    let transfer = app.send(&app.signed(&bob, "GET", &location, "")).await;
    transfer.assert_problem(404, "not-found");
    let owner = app
        .send(&app.signed(&app.alice, "GET", &location, ""))
        .await;
    assert_eq!(owner.status, 200, "{}", owner.body);
}

#[tokio::test]
async fn a_stranger_cannot_debit_anothers_account_and_the_404_stores_nothing() {
    let World { app, bob } = World::open().await;
    let body = TestApp::transfer_body("acc_alice", "acc_bob", 1_000);
    let theft = app.signed(&bob, "POST", "/transfers", &body);
    let key = theft.idempotency_key.clone().unwrap();
    app.send(&theft).await.assert_problem(404, "not-found");
    assert_balances(&app, 10_000, 0).await;
    assert!(app.idempotency_record(&bob, &key).await.is_none());

    // The key is free: Bob may use it for a request he is allowed to make.
    app.open_account(&bob, "acc_bob_savings", "EUR", 2_000)
        .await;
    let own = with_body(
        &theft,
        &TestApp::transfer_body("acc_bob_savings", "acc_bob", 1_000),
    );
    assert_fresh(&app.send(&own.resigned(T0 + 1)).await);
    assert_balances(&app, 10_000, 1_000).await;
}

// ---------------------------------------------------------------------------------------------
// ETags

async fn etag(app: &TestApp, client: &TestClient) -> String {
    let answer = app.send(&read_account(app, client, "acc_alice")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.header("etag").expect("ETag").to_owned()
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_answers_304_without_a_body() {
    let World { app, .. } = World::open().await;
    let tag = etag(&app, &app.alice).await;
    let call = read_account(&app, &app.alice, "acc_alice").with_header("if-none-match", &tag);
    let answer = app.send(&call).await;
    assert_eq!(answer.status, 304);
    assert!(answer.body.is_empty(), "{}", answer.body);
    assert_eq!(answer.header("etag"), Some(tag.as_str()));
}

#[tokio::test]
async fn after_a_transfer_the_etag_changes_and_the_old_one_gets_200() {
    let World { app, .. } = World::open().await;
    let old = etag(&app, &app.alice).await;
    assert_fresh(&app.send(&pay(&app, 100)).await);

    let call = read_account(&app, &app.alice, "acc_alice").with_header("if-none-match", &old);
    let answer = app.send(&call).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["balance"], 9_900);
    let new = answer.header("etag").expect("ETag");
    assert_ne!(new, old);
}

#[tokio::test]
async fn a_stranger_with_the_owners_etag_gets_404_not_304() {
    let World { app, bob } = World::open().await;
    let tag = etag(&app, &app.alice).await;
    for tag in [tag.as_str(), "*"] {
        let call = read_account(&app, &bob, "acc_alice").with_header("if-none-match", tag);
        app.send(&call).await.assert_problem(404, "not-found");
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry: idempotency records and nonces

#[tokio::test]
async fn a_key_past_its_retention_counts_as_absent_although_its_record_remains() {
    let World { app, .. } = World::open_with(|c| c.idempotency_ttl_seconds = 60).await;
    let first = pay(&app, 100);
    let answer = app.send(&first).await;
    assert_fresh(&answer);

    app.clock.set(T0 + 59);
    let within = app.send(&first.resigned(T0 + 59)).await;
    assert!(within.replayed(), "{}", within.body);
    assert_eq!(within.body, answer.body);

    app.clock.set(T0 + 60);
    assert!(
        app.idempotency_expiries().await.contains(&(T0 + 60)),
        "the expired record is still in the table"
    );
    let past = app.send(&first.resigned(T0 + 60)).await;
    assert_fresh(&past);
    assert_ne!(past.json()["transfer_id"], answer.json()["transfer_id"]);
    assert_balances(&app, 9_800, 200).await;
    assert_eq!(transfers(&app).await, 2);

    // The key now holds the new answer, for the new retention.
    app.clock.set(T0 + 61);
    let retry = app.send(&first.resigned(T0 + 61)).await;
    assert!(retry.replayed());
    assert_eq!(retry.body, past.body);
}

#[tokio::test]
async fn a_duplicate_committing_after_the_read_is_answered_inside_the_transaction() {
    let app = TestApp::new().await;
    let body = r#"{"currency":"EUR"}"#;
    let r = app.signed(&app.alice, "POST", "/accounts", body);
    let admitted = app.admit(&r).await;

    // A concurrent copy (same key, same body) commits first.
    let other = app.send(&r.resigned(T0)).await;
    assert_fresh(&other);
    let outcome = app.commit_staged(&admitted, staged_answer()).await;
    match outcome {
        Ok(Committed::Replayed(stored)) => assert_eq!(stored.body, other.body),
        other => panic!("expected the other copy's answer, got {other:?}"),
    }
}

#[tokio::test]
async fn a_different_request_committing_after_the_read_is_refused_inside_the_transaction() {
    let app = TestApp::new().await;
    let r = app.signed(&app.alice, "POST", "/accounts", r#"{"currency":"EUR"}"#);
    let admitted = app.admit(&r).await;

    let other = with_body(&r, r#"{"currency":"USD"}"#).resigned(T0);
    assert_fresh(&app.send(&other).await);
    let outcome = app.commit_staged(&admitted, staged_answer()).await;
    assert_eq!(outcome, Err(GuardError::IdempotencyKeyReused));
}

#[tokio::test]
async fn an_expired_record_met_inside_the_transaction_counts_as_absent() {
    let app = TestApp::with_config(|c| c.idempotency_ttl_seconds = 60).await;
    let r = app.signed(&app.alice, "POST", "/accounts", r#"{"currency":"EUR"}"#);
    let admitted = app.admit(&r).await;

    // After the read, a record appears under the key that expired before our `now` (T0).
    app.clock.set(T0 - 100);
    let old = with_body(&r, r#"{"currency":"USD"}"#).resigned(T0 - 100);
    assert_fresh(&app.send(&old).await);
    app.clock.set(T0);
    assert!(app.idempotency_expiries().await.contains(&(T0 - 40)));

    let outcome = app.commit_staged(&admitted, staged_answer()).await;
    assert_eq!(outcome, Ok(Committed::Fresh(staged_answer())));
    let key = r.idempotency_key.clone().unwrap();
    let held = app.idempotency_record(&app.alice, &key).await.unwrap();
    assert_eq!(held.response, staged_answer());
}

#[tokio::test]
async fn a_transaction_retried_after_it_committed_answers_fresh_with_its_own_response() {
    let app = TestApp::new().await;
    let r = app.signed(&app.alice, "POST", "/accounts", r#"{"currency":"EUR"}"#);
    let admitted = app.admit(&r).await;

    let first = app.commit_staged(&admitted, staged_answer()).await;
    assert_eq!(first, Ok(Committed::Fresh(staged_answer())));
    let other = StoredResponse {
        body: r#"{"mine":"again"}"#.into(),
        ..staged_answer()
    };
    let again = app.commit_staged(&admitted, other).await;
    assert_eq!(
        again,
        Ok(Committed::Fresh(staged_answer())),
        "the committed answer"
    );
}

#[tokio::test]
async fn a_nonce_is_reusable_only_after_every_request_carrying_it_has_gone_stale() {
    let World { app, .. } = World::open().await;
    let first = read_account(&app, &app.alice, "acc_alice");
    assert_eq!(app.send(&first).await.status, 200);
    let reusing = |now: i64| {
        let mut c = first.replayed();
        c.created = now;
        c.sign()
    };

    // Until the capture is stale it is refused for its nonce...
    app.clock.set(T0 + WINDOW);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "nonce-reused");
    // ...and after, for its age.
    app.clock.set(T0 + WINDOW + 1);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "stale-request");

    // The nonce record lives until created + window + 60.
    app.clock.set(T0 + WINDOW + 59);
    let early = reusing(T0 + WINDOW + 59);
    app.send(&early).await.assert_problem(401, "nonce-reused");

    // Then the client itself may sign a new request with it; the capture stays refused.
    app.clock.set(T0 + WINDOW + 60);
    app.send(&first.replayed())
        .await
        .assert_problem(401, "stale-request");
    let reuse = reusing(T0 + WINDOW + 60);
    let answer = app.send(&reuse).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // And that request's own replay is refused in turn.
    app.send(&reuse.replayed())
        .await
        .assert_problem(401, "nonce-reused");
}

// ---------------------------------------------------------------------------------------------
// The same Lambda invocation, retried by the SDK

#[tokio::test]
async fn an_invocation_meeting_its_own_nonce_is_not_a_replay() {
    let World { app, .. } = World::open().await;
    let read = read_account(&app, &app.alice, "acc_alice");
    assert_eq!(app.send(&read).await.status, 200);
    let again = app.send(&read.clone()).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

#[tokio::test]
async fn an_invocation_meeting_its_own_idempotency_record_answers_its_201_not_a_replay() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    let answer = app.send(&first).await;
    assert_fresh(&answer);

    let again = app.send(&first.clone()).await;
    assert_fresh(&again);
    assert_eq!(again.body, answer.body);
    assert_eq!(again.header("location"), answer.header("location"));
    assert_balances(&app, 8_500, 1_500).await;
    assert_eq!(transfers(&app).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Accounts

#[tokio::test]
async fn creating_an_account_with_a_taken_id_is_refused_with_account_exists() {
    let World { app, bob } = World::open().await;
    let body = r#"{"account_id":"acc_alice","currency":"EUR","initial_balance":99}"#;
    for client in [&app.alice, &bob] {
        let call = app.signed(client, "POST", "/accounts", body);
        app.send(&call).await.assert_problem(409, "account-exists");
        let key = call.idempotency_key.clone().unwrap();
        assert!(app.idempotency_record(client, &key).await.is_none());
    }
    assert_eq!(app.balance("acc_alice").await, 10_000);
    // Still Alice's.
    let answer = app.send(&read_account(&app, &app.alice, "acc_alice")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn a_retry_of_the_creating_request_gets_its_stored_201() {
    let app = TestApp::new().await;
    let body = r#"{"account_id":"acc_new","currency":"EUR","initial_balance":5}"#;
    let create = app.signed(&app.alice, "POST", "/accounts", body);
    let first = app.send(&create).await;
    assert_fresh(&first);
    assert_eq!(first.header("location"), Some("/accounts/acc_new"));

    app.clock.advance(30);
    let retry = app.send(&create.resigned(T0 + 30)).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed());
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
}

#[tokio::test]
async fn when_the_key_and_the_account_both_exist_the_idempotency_answer_wins() {
    let app = TestApp::new().await;
    let body = r#"{"account_id":"acc_new","currency":"EUR","initial_balance":5}"#;
    let create = app.signed(&app.alice, "POST", "/accounts", body);
    assert_fresh(&app.send(&create).await);

    let changed = r#"{"account_id":"acc_new","currency":"EUR","initial_balance":6}"#;
    let reused = with_body(&create, changed).resigned(T0 + 1);
    app.send(&reused)
        .await
        .assert_problem(422, "idempotency-key-reused");
    assert_eq!(app.balance("acc_new").await, 5);
}

#[tokio::test]
async fn the_server_generates_an_account_id_when_none_is_given() {
    let app = TestApp::new().await;
    let body = r#"{"currency":"EUR","initial_balance":5}"#;
    let first = app
        .send(&app.signed(&app.alice, "POST", "/accounts", body))
        .await;
    assert_fresh(&first);
    let second = app
        .send(&app.signed(&app.alice, "POST", "/accounts", body))
        .await;
    assert_fresh(&second);

    let id = first.json()["account_id"].as_str().unwrap().to_owned();
    assert_ne!(second.json()["account_id"], id.as_str());
    assert!(payments::domain::AccountId::parse(&id).is_ok(), "{id}");
    assert_eq!(
        first.header("location"),
        Some(format!("/accounts/{id}").as_str())
    );
    let read = app.send(&read_account(&app, &app.alice, &id)).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["balance"], 5);
}

// ---------------------------------------------------------------------------------------------
// Infrastructure failures

#[tokio::test]
async fn an_unreachable_database_answers_503_with_retry_after_and_no_internals() {
    let healthy = TestApp::new().await;
    let config = healthy
        .store
        .client()
        .config()
        .to_builder()
        .endpoint_url("http://127.0.0.1:1")
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let tables = Tables::with_prefix("tunreachable-");
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let store = Store::new(client.clone(), tables.clone());
    let ledger = PaymentsStore::new(client, PaymentsTables::with_prefix("tunreachable-"));
    let clock = Arc::new(ManualClock::new(T0));
    let app = TestApp {
        app: healthy.app_with(store.clone(), ledger.clone(), clock.clone()),
        clock,
        store,
        ledger,
        alice: TestClient {
            id: healthy.alice.id.clone(),
            secret: healthy.alice.secret.clone(),
        },
    };

    for call in [
        read_account(&app, &app.alice, "acc_alice"),
        app.signed(&app.alice, "POST", "/accounts", r#"{"currency":"EUR"}"#),
    ] {
        let answer = app.send(&call).await;
        answer.assert_problem(503, "unavailable");
        for secret in [
            "tunreachable",
            "127.0.0.1",
            "dispatch",
            "DynamoDB",
            "dynamodb",
        ] {
            assert!(!answer.body.contains(secret), "{}", answer.body);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// "@path" on AWS

/// An API Gateway HTTP API event for `GET raw_path`, signed by `client` over `signed_path`.
fn gateway_get(
    app: &TestApp,
    client: &TestClient,
    raw_path: &str,
    signed_path: &str,
) -> lambda_http::Request {
    use lambda_http::RequestExt;
    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/get-account.json"
    ))
    .expect("events/get-account.json");
    let mut event: serde_json::Value = serde_json::from_str(&event).expect("event JSON");
    let signed = client.signer().sign(
        "GET",
        signed_path,
        b"",
        None,
        app.clock.now(),
        &replaysafe_signing::random_nonce(),
    );
    event["rawPath"] = raw_path.into();
    event["requestContext"]["http"]["path"] = raw_path.into();
    event["headers"]["signature-input"] = signed.signature_input.into();
    event["headers"]["signature"] = signed.signature.into();
    let mut context = lambda_http::Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    lambda_http::request::from_str(&event.to_string())
        .expect("a payload 2.0 event")
        .with_lambda_context(context)
}

#[tokio::test]
async fn the_signed_path_is_the_path_api_gateway_received_not_a_normalised_one() {
    let World { app, .. } = World::open().await;
    let raw = "/accounts/x/../acc_alice";

    let as_sent = gateway_get(&app, &app.alice, raw, raw);
    let answer = Route::GetAccount.serve(&app.app, &as_sent).await;
    assert_eq!(answer.status(), 200, "{:?}", answer.body());

    // Signed over what a normaliser would make of it: not what the server received.
    let normalised = gateway_get(&app, &app.alice, raw, "/accounts/acc_alice");
    let answer = Route::GetAccount.serve(&app.app, &normalised).await;
    assert_eq!(answer.status(), 401);
}
