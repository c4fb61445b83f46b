//! Business refusals are problem details that store nothing, so a retry can succeed later while
//! the captured request stays dead.

use replaysafe_tests::{TestApp, World, T0};

use crate::support::{assert_balances, assert_fresh, pay, transfers};

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
