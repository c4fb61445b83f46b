//! Accounts: a taken id is refused, a retry gets its stored 201, the idempotent answer wins, and
//! the server makes up an id when none is given.

use replaysafe_tests::{TestApp, World, T0};

use crate::support::{assert_fresh, read_account, with_body};

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
