use replaysafe_tests::{TestApp, T0};

#[tokio::test]
async fn a_transfer_moves_money_and_its_retry_replays_the_first_answer() {
    let app = TestApp::new().await;
    let alice = &app.alice;
    app.open_account(alice, "acc_alice", "EUR", 10_000).await;
    app.open_account(alice, "acc_bob", "EUR", 0).await;

    let body = TestApp::transfer_body("acc_alice", "acc_bob", 1500);
    let first = app.signed(alice, "POST", "/transfers", &body);
    let answer = app.send(&first).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert!(!answer.replayed());
    let location = answer.header("location").unwrap().to_owned();

    app.clock.advance(5);
    let retry = app.send(&first.resigned(T0 + 5)).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed());
    assert_eq!(retry.body, answer.body);
    assert_eq!(retry.header("location"), Some(location.as_str()));

    let replay = app.send(&first.replayed()).await;
    assert_eq!(replay.status, 401);
    assert_eq!(replay.code(), "nonce-reused");

    assert_eq!(app.balance("acc_alice").await, 8_500);
    assert_eq!(app.balance("acc_bob").await, 1_500);

    let get = app.signed(alice, "GET", &location, "");
    let got = app.send(&get).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.json(), answer.json());
}
