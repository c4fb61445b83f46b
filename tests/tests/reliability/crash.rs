//! An invocation that dies mid-request: after its transaction committed (the client retries and
//! gets the original answer), or after its nonce was written and before the transaction (a
//! re-signed retry completes the operation exactly once; the captured copy stays spent).

use replaysafe::Clock;
use replaysafe_tests::crash::{crashing_sdk_client, CrashAt, Crasher};
use replaysafe_tests::{Call, TestApp};

fn transfer_700(app: &TestApp) -> Call {
    let body = TestApp::transfer_body("acc_a", "acc_b", 700);
    app.signed(&app.alice, "POST", "/transfers", &body)
}

async fn crashing_app() -> (TestApp, Crasher) {
    let crasher = Crasher::default();
    let app = TestApp::with_sdk_client(crashing_sdk_client(&crasher).await, |_| {}).await;
    app.open_account(&app.alice, "acc_a", "EUR", 10_000).await;
    app.open_account(&app.alice, "acc_b", "EUR", 0).await;
    (app, crasher)
}

#[tokio::test]
async fn a_function_that_dies_after_the_commit_leaves_an_answer_for_the_retry() {
    let (app, crasher) = crashing_app().await;
    let call = transfer_700(&app);
    crasher.arm(CrashAt::AfterCommit);
    let _never_delivered = app.send(&call).await;
    assert!(crasher.take_crashed(), "the crash point was not reached");
    let stored = app.transfers().await;
    assert_eq!(
        stored.len(),
        1,
        "the transaction committed before the crash"
    );

    let retry = app.send(&call.resigned(app.clock.now())).await;
    assert_eq!(retry.status, 201, "{retry:?}");
    assert!(retry.replayed(), "{retry:?}");
    assert_eq!(retry.json()["transfer_id"], stored[0].transfer_id.as_str());
    let again = app.send(&call.resigned(app.clock.now())).await;
    assert_eq!(again.body, retry.body, "every retry gets the same bytes");
    assert_eq!(app.transfers().await.len(), 1);
    assert_eq!(app.balance("acc_a").await, 9_300);
    assert_eq!(app.balance("acc_b").await, 700);
}

#[tokio::test]
async fn a_function_that_dies_between_nonce_and_transaction_is_completed_once_by_a_resigned_retry()
{
    let (app, crasher) = crashing_app().await;
    let call = transfer_700(&app);
    crasher.arm(CrashAt::BeforeTransaction);
    let _never_delivered = app.send(&call).await;
    assert!(crasher.take_crashed(), "the crash point was not reached");
    assert!(app.transfers().await.is_empty());
    assert_eq!(app.balance("acc_a").await, 10_000);

    // The captured bytes again: the nonce was written before the crash, so they are spent.
    let replay = app.send(&call.replayed()).await;
    assert_eq!(
        (replay.status, replay.code().as_str()),
        (401, "nonce-reused")
    );

    let retry = app.send(&call.resigned(app.clock.now())).await;
    assert_eq!(retry.status, 201, "{retry:?}");
    assert!(!retry.replayed(), "nothing had committed: {retry:?}");
    let again = app.send(&call.resigned(app.clock.now())).await;
    assert!(again.replayed());
    assert_eq!(again.body, retry.body);
    assert_eq!(app.transfers().await.len(), 1);
    assert_eq!(app.balance("acc_a").await, 9_300);
    assert_eq!(app.balance("acc_b").await, 700);
}
