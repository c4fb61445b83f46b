//! A client sees and debits only its own accounts: a stranger gets 404 and stores nothing.

use replaysafe_tests::{TestApp, World, T0};

use crate::support::{assert_balances, assert_fresh, pay, read_account, with_body};

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
