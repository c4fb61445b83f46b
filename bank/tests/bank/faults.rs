//! The faults of `/_control/faults`, each as a client of the bank sees it.

use std::time::{Duration, Instant};

use fake_bank::{binary_path, FaultMode};
use serde_json::json;

use crate::client::{pay, payment, send, start, try_pay};

#[tokio::test]
async fn fail_is_an_outage_that_pays_nothing() {
    let bank = start().await;
    bank.set_fault(FaultMode::Fail, 2, 0).await;
    for _ in 0..2 {
        let answer = pay(&bank, "w-1", &payment(100)).await;
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.body, json!({ "error": "unavailable" }));
    }
    assert!(bank.payments().await.is_empty());
    let answer = pay(&bank, "w-1", &payment(100)).await;
    assert_eq!((answer.status, answer.replayed), (201, false));
    assert_eq!(bank.requests().await["w-1"], 3);
}

#[tokio::test]
async fn fail_after_pays_loses_the_answer_and_the_retry_gets_it() {
    let bank = start().await;
    bank.set_fault(FaultMode::FailAfter, 1, 0).await;
    let lost = pay(&bank, "w-1", &payment(100)).await;
    assert_eq!(lost.status, 500, "{lost:?}");
    let payments = bank.payments().await;
    assert_eq!(payments.len(), 1);
    let retry = pay(&bank, "w-1", &payment(100)).await;
    assert_eq!((retry.status, retry.replayed), (201, true), "{retry:?}");
    assert_eq!(retry.body["bank_reference"], payments[0].bank_reference);
    assert_eq!(bank.payments().await.len(), 1);
}

#[tokio::test]
async fn slow_pays_even_when_the_client_gave_up() {
    let bank = start().await;
    bank.set_fault(FaultMode::Slow, 1, 2_000).await;
    let body = serde_json::to_vec(&payment(100)).unwrap();
    let gave_up = try_pay(&bank, Some("w-1"), &body, Duration::from_millis(300)).await;
    assert!(gave_up.unwrap_err().is_timeout());
    // Slow pays first and delays the answer: the payment is there while the answer is not.
    let payments = bank.payments().await;
    assert_eq!(payments.len(), 1);
    let retry = pay(&bank, "w-1", &payment(100)).await;
    assert_eq!((retry.status, retry.replayed), (201, true), "{retry:?}");
    assert_eq!(retry.body["bank_reference"], payments[0].bank_reference);
}

#[tokio::test]
async fn hang_before_records_nothing_until_the_delay_is_over() {
    let bank = start().await;
    bank.set_fault(FaultMode::HangBefore, 1, 1_000).await;
    let started = Instant::now();
    let body = serde_json::to_vec(&payment(100)).unwrap();
    let gave_up = try_pay(&bank, Some("w-1"), &body, Duration::from_millis(200)).await;
    assert!(gave_up.unwrap_err().is_timeout());
    assert!(bank.payments().await.is_empty());
    assert_eq!(bank.requests().await["w-1"], 1);
    tokio::time::sleep(Duration::from_millis(1_300).saturating_sub(started.elapsed())).await;
    assert_eq!(bank.payments().await.len(), 1);
    let retry = pay(&bank, "w-1", &payment(100)).await;
    assert_eq!((retry.status, retry.replayed), (201, true), "{retry:?}");
    // A client that waits gets its answer once the delay is over, not a second delay later.
    bank.set_fault(FaultMode::HangBefore, 1, 500).await;
    let started = Instant::now();
    let waited = pay(&bank, "w-2", &payment(100)).await;
    let took = started.elapsed();
    assert_eq!((waited.status, waited.replayed), (201, false));
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1_000),
        "{took:?}"
    );
}

#[tokio::test]
async fn refuse_is_a_stored_refusal() {
    let bank = start().await;
    bank.set_fault(FaultMode::Refuse, 1, 0).await;
    let refused = pay(&bank, "w-1", &payment(100)).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert_eq!(refused.body["error"], "refused");
    assert!(refused.body["detail"].is_string());
    let retry = pay(&bank, "w-1", &payment(100)).await;
    assert_eq!((retry.status, retry.replayed), (422, true));
    assert_eq!(retry.body, refused.body);
    assert!(bank.payments().await.is_empty());
    assert_eq!(pay(&bank, "w-2", &payment(100)).await.status, 201);
}

#[tokio::test]
async fn a_later_fault_replaces_the_queued_one_and_ok_or_delete_clear_it() {
    let bank = start().await;
    bank.set_fault(FaultMode::Fail, 5, 0).await;
    bank.set_fault(FaultMode::Refuse, 1, 0).await;
    assert_eq!(pay(&bank, "w-1", &payment(100)).await.status, 422);
    assert_eq!(pay(&bank, "w-2", &payment(100)).await.status, 201);
    bank.set_fault(FaultMode::Fail, 5, 0).await;
    bank.set_fault(FaultMode::Ok, 1, 0).await;
    assert_eq!(pay(&bank, "w-3", &payment(100)).await.status, 201);
    bank.set_fault(FaultMode::Fail, 5, 0).await;
    bank.clear_faults().await;
    assert_eq!(pay(&bank, "w-4", &payment(100)).await.status, 201);
    let (status, body) = send(&bank, "POST", "/_control/faults", r#"{"mode":"explode"}"#).await;
    assert_eq!((status, body), (400, json!({ "error": "invalid-request" })));
}

#[tokio::test]
async fn a_killed_bank_refuses_connections() {
    let mut bank = start().await;
    bank.kill().unwrap();
    let body = serde_json::to_vec(&payment(100)).unwrap();
    let refused = try_pay(&bank, Some("w-1"), &body, Duration::from_secs(5)).await;
    assert!(refused.unwrap_err().is_connect());
}

#[test]
fn binary_path_finds_the_built_binary() {
    let built = std::fs::canonicalize(env!("CARGO_BIN_EXE_fake-bank")).unwrap();
    assert_eq!(std::fs::canonicalize(binary_path()).unwrap(), built);
}
