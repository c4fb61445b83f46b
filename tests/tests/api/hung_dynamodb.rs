//! A DynamoDB that accepts connections and never answers: the SDK's timeouts turn every hung
//! call into 503 `unavailable` with `Retry-After`, well inside the function's timeout, and the
//! operation completes exactly once when retried after DynamoDB recovers.

use std::time::Duration;

use replaysafe::config::DynamoDbTimeouts;
use replaysafe::store::sdk_client_with;
use replaysafe::{Clock, Store};
use replaysafe_tests::stall::StallingProxy;
use replaysafe_tests::{endpoint, send_via, TestApp};

/// The function's timeout in `template.yaml`: past it, API Gateway answers a bare 5xx.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_hung_dynamodb_is_answered_503_with_retry_after_and_the_retry_moves_money_once() {
    let app = TestApp::new().await;
    app.open_account(&app.alice, "acc_alice", "EUR", 10_000)
        .await;
    app.open_account(&app.alice, "acc_bob", "EUR", 0).await;
    let proxy = StallingProxy::start(endpoint().trim_start_matches("http://")).await;
    let timeouts = DynamoDbTimeouts {
        connect: Duration::from_millis(200),
        attempt: Duration::from_millis(300),
        operation: Duration::from_millis(900),
    };
    let store = Store::new(
        sdk_client_with(Some(&proxy.url), Some(timeouts)).await,
        app.store.tables().clone(),
    );
    let guard = app.app_on(store, app.clock.clone());

    // Through the proxy while it forwards: the client's secret is cached from here on.
    let read = app.signed(&app.alice, "GET", "/accounts/acc_alice", "");
    assert_eq!(send_via(&guard, &read).await.status, 200);

    proxy.stall(true);
    let body = TestApp::transfer_body("acc_alice", "acc_bob", 1_500);
    let pay = app.signed(&app.alice, "POST", "/transfers", &body);
    let answer = tokio::time::timeout(FUNCTION_TIMEOUT, send_via(&guard, &pay))
        .await
        .expect("answered inside the function's timeout");
    answer.assert_problem(503, "unavailable");
    assert_eq!(answer.header("retry-after"), Some("1"));

    proxy.stall(false);
    app.clock.advance(1);
    let retry = send_via(&guard, &pay.resigned(app.clock.now())).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(app.balance("acc_bob").await, 1_500, "moved once");
    assert_eq!(app.balance("acc_alice").await, 8_500);
}
