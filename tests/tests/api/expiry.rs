//! Expiry: idempotency records past their retention count as absent, races with a commit are
//! settled inside the transaction, and a nonce is reusable only once every request carrying it
//! is stale.

use replaysafe::idempotency::StoredResponse;
use replaysafe::testing::Committed;
use replaysafe::GuardError;
use replaysafe_tests::{staged_answer, TestApp, World, T0};

use crate::support::{
    assert_balances, assert_fresh, pay, read_account, transfers, with_body, WINDOW,
};

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
