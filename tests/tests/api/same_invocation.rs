//! The same Lambda invocation met again (the SDK retried a write that had committed): its own
//! nonce and record are not replays.

use replaysafe_tests::World;

use crate::support::{assert_balances, assert_fresh, pay, read_account, transfers};

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
