//! Infrastructure failures: a database that cannot be reached is a 503 with `Retry-After` and
//! no internals.

use std::sync::Arc;

use payments::{PaymentsStore, PaymentsTables};
use replaysafe::config::Tables;
use replaysafe::{ManualClock, Store};
use replaysafe_tests::{TestApp, TestClient, T0};

use crate::support::read_account;

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
        metrics: healthy.metrics.clone(),
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
