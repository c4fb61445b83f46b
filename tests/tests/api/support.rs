//! The helpers the contract's files share: Alice paying Bob, reading an account, the balances and
//! transfers as stored, and calls edited part by part.

use replaysafe::metrics::METRIC_NAMES;
use replaysafe_tests::{Answer, Call, TestApp, TestClient};

pub const WINDOW: i64 = 300;
pub const MAX_BODY: usize = 64 * 1024;

/// Alice pays Bob `amount`, signed now with a fresh key.
pub fn pay(app: &TestApp, amount: u64) -> Call {
    let body = TestApp::transfer_body("acc_alice", "acc_bob", amount);
    app.signed(&app.alice, "POST", "/transfers", &body)
}

pub fn read_account(app: &TestApp, client: &TestClient, id: &str) -> Call {
    app.signed(client, "GET", &format!("/accounts/{id}"), "")
}

pub async fn transfers(app: &TestApp) -> usize {
    app.scan_count(&app.ledger.tables().transfers).await
}

pub async fn assert_balances(app: &TestApp, alice: u64, bob: u64) {
    assert_eq!(app.balance("acc_alice").await, alice, "acc_alice");
    assert_eq!(app.balance("acc_bob").await, bob, "acc_bob");
}

/// A 201 that did its own work (not a replay).
#[track_caller]
pub fn assert_fresh(answer: &Answer) {
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert!(!answer.replayed(), "unexpectedly replayed");
}

pub fn with_key(call: &Call, key: &str) -> Call {
    let mut next = call.clone();
    next.idempotency_key = Some(key.to_owned());
    next
}

pub fn with_body(call: &Call, body: &str) -> Call {
    let mut next = call.clone();
    next.body = body.as_bytes().to_vec();
    next
}

/// A client no table knows: its key is unknown.
pub fn stranger() -> TestClient {
    TestClient {
        id: replaysafe::ClientId::generate().to_string(),
        secret: vec![9; 32],
    }
}

/// The one metric document of `call` (`replaysafe::metrics`), in which `metric` is 1 and every
/// other counter 0 (`""`: none).
#[track_caller]
pub fn assert_counted_once(app: &TestApp, call: &Call, metric: &str) -> serde_json::Value {
    let doc = app.document_of(call);
    for name in METRIC_NAMES {
        let want = match *name {
            "Requests" => 1,
            "Latency" => continue,
            n if n == metric => 1,
            _ => 0,
        };
        assert_eq!(doc[*name], want, "{name} in {doc}");
    }
    doc
}
