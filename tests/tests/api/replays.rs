//! A replay changes nothing: an exact copy is refused, a re-signed retry with the same key gets
//! the first answer, another body under the key is refused, and keys and nonces are each
//! client's own.

use replaysafe_tests::{Answer, Call, TestApp, World, T0};

use crate::support::{
    assert_balances, assert_fresh, pay, read_account, transfers, with_body, with_key,
};

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
