//! Every request ends with one CloudWatch EMF document (`replaysafe::metrics`), valid by the
//! specification, in the namespace and dimensions the alarms and dashboard are built on, and
//! counting what happened to it: a replayed POST, a replayed capture, a stale request, a reused
//! key (an unknown key and an edited body: `signatures.rs`, `tampering.rs`).

use replaysafe::metrics::METRIC_NAMES;
use replaysafe_tests::{TestApp, World, T0};

use crate::support::{assert_counted_once, pay, read_account, with_body, WINDOW};

#[tokio::test]
async fn every_request_has_one_document_with_every_metric_named_by_its_route_and_outcome() {
    let World { app, bob } = World::open().await;
    let first = pay(&app, 1500);
    assert_eq!(app.send(&first).await.status, 201);
    let read = read_account(&app, &bob, "acc_alice");
    assert_eq!(app.send(&read).await.status, 404);

    let docs = app.documents();
    assert_eq!(
        docs.len(),
        4,
        "two accounts opened, a transfer, a read: {docs:?}"
    );
    for doc in &docs {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "replaysafe");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Service"], ["Service", "Route", "Outcome"]])
        );
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, METRIC_NAMES);
        assert_eq!(doc["Service"], "replaysafe");
    }
    let paid = assert_counted_once(&app, &first, "");
    assert_eq!(paid["Route"], "POST /transfers");
    assert_eq!(paid["Outcome"], "ok");
    assert_eq!(paid["Status"], 201);
    assert_eq!(paid["Principal"], app.alice.id.as_str());
    let refused = assert_counted_once(&app, &read, "");
    assert_eq!(refused["Route"], "GET /accounts/{account_id}");
    assert_eq!(refused["Outcome"], "not-found");
    assert_eq!(refused["Principal"], bob.id.as_str());
}

#[tokio::test]
async fn a_replayed_post_counts_replayed() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    assert_eq!(app.send(&first).await.status, 201);
    let retry = first.resigned(T0 + 1);
    assert!(app.send(&retry).await.replayed());

    let doc = assert_counted_once(&app, &retry, "Replayed");
    assert_eq!(doc["Outcome"], "replayed");
    assert_eq!(doc["Status"], 201);
}

#[tokio::test]
async fn a_captured_request_sent_again_counts_nonce_reused() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    assert_eq!(app.send(&first).await.status, 201);
    let copy = first.replayed();
    app.send(&copy).await.assert_problem(401, "nonce-reused");

    let doc = assert_counted_once(&app, &copy, "NonceReused");
    assert_eq!(doc["Outcome"], "nonce-reused");
}

#[tokio::test]
async fn a_stale_request_counts_request_stale() {
    let World { app, .. } = World::open().await;
    let stale = pay(&app, 100).resigned(T0 - WINDOW - 1);
    app.send(&stale).await.assert_problem(401, "stale-request");

    let doc = assert_counted_once(&app, &stale, "RequestStale");
    assert_eq!(doc["Outcome"], "stale-request");
}

#[tokio::test]
async fn a_key_reused_for_another_body_counts_key_reused() {
    let World { app, .. } = World::open().await;
    let first = pay(&app, 1500);
    assert_eq!(app.send(&first).await.status, 201);
    let other = with_body(
        &first,
        &TestApp::transfer_body("acc_alice", "acc_bob", 2000),
    );
    let other = other.resigned(T0 + 1);
    app.send(&other)
        .await
        .assert_problem(422, "idempotency-key-reused");

    let doc = assert_counted_once(&app, &other, "KeyReused");
    assert_eq!(doc["Outcome"], "idempotency-key-reused");
}
