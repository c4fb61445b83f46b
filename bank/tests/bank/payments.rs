//! `POST /payments`: one payment per idempotency key, whatever the retries and races.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fake_bank::FaultMode;
use serde_json::json;

use crate::client::{pay, payment, send, start, try_pay, IBAN};

#[tokio::test]
async fn a_retry_is_answered_with_the_first_answer_and_pays_nothing_more() {
    let bank = start().await;
    let first = pay(&bank, "w-1", &payment(1250)).await;
    assert_eq!((first.status, first.replayed), (201, false), "{first:?}");
    let reference = first.body["bank_reference"].as_str().unwrap();
    assert!(reference.starts_with("bnk_"), "{reference}");
    assert_eq!(first.body["iban"], IBAN);
    assert_eq!(first.body["amount"], 1250);
    assert_eq!(first.body["idempotency_key"], "w-1");
    let retry = pay(&bank, "w-1", &payment(1250)).await;
    assert_eq!((retry.status, retry.replayed), (201, true), "{retry:?}");
    assert_eq!(retry.body, first.body);
    let payments = bank.payments().await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].bank_reference, reference);
    assert_eq!(payments[0].amount, 1250);
    assert_eq!(payments[0].reference.as_deref(), Some("withdrawal w-1"));
    assert_eq!(
        bank.requests().await,
        BTreeMap::from([("w-1".to_owned(), 2)])
    );
}

#[tokio::test]
async fn ten_concurrent_requests_with_one_key_pay_once() {
    let bank = Arc::new(start().await);
    // All ten wait in the bank together, then decide at once: the race a mutex must settle.
    bank.set_fault(FaultMode::HangBefore, 10, 300).await;
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let bank = bank.clone();
        racing.spawn(async move { pay(&bank, "w-race", &payment(700)).await });
    }
    let answers = racing.join_all().await;
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.body == answers[0].body),
        "{answers:?}"
    );
    let fresh = answers.iter().filter(|a| !a.replayed).count();
    assert_eq!(fresh, 1, "{answers:?}");
    assert_eq!(bank.payments().await.len(), 1);
    assert_eq!(bank.requests().await["w-race"], 10);
}

#[tokio::test]
async fn another_request_under_a_used_key_is_a_conflict_and_pays_nothing() {
    let bank = start().await;
    let first = pay(&bank, "w-1", &payment(1250)).await;
    assert_eq!(first.status, 201);
    let other = pay(&bank, "w-1", &payment(9999)).await;
    assert_eq!(other.status, 409, "{other:?}");
    assert_eq!(other.body, json!({ "error": "idempotency-key-reused" }));
    assert_eq!(bank.payments().await.len(), 1);
    // The conflict stored nothing: the first request is still the one under the key.
    let retry = pay(&bank, "w-1", &payment(1250)).await;
    assert_eq!((retry.status, retry.replayed), (201, true));
    assert_eq!(retry.body, first.body);
}

#[tokio::test]
async fn an_invalid_iban_is_refused_for_good_and_pays_nothing() {
    let bank = start().await;
    let mut request = payment(1250);
    request["iban"] = json!("DE00370400440532013000");
    let refused = pay(&bank, "w-bad", &request).await;
    assert_eq!(
        (refused.status, refused.replayed),
        (422, false),
        "{refused:?}"
    );
    assert_eq!(refused.body["error"], "invalid-iban");
    assert!(refused.body["detail"].as_str().unwrap().contains("mod 97"));
    let retry = pay(&bank, "w-bad", &request).await;
    assert_eq!((retry.status, retry.replayed), (422, true));
    assert_eq!(retry.body, refused.body);
    assert!(bank.payments().await.is_empty());
    assert_eq!(pay(&bank, "w-good", &payment(1250)).await.status, 201);
}

#[tokio::test]
async fn malformed_requests_are_400_and_store_nothing() {
    let bank = start().await;
    let body = serde_json::to_vec(&payment(5)).unwrap();
    let cases: [(Option<&str>, &[u8], &str); 6] = [
        (None, &body, "idempotency-key-missing"),
        (Some(""), &body, "idempotency-key-invalid"),
        (Some("has space"), &body, "idempotency-key-invalid"),
        (Some("w-1"), b"{not json", "invalid-request"),
        (
            Some("w-1"),
            br#"{"iban":"DE89370400440532013000","amount":0,"currency":"EUR"}"#,
            "invalid-request",
        ),
        (
            Some("w-1"),
            br#"{"iban":"DE89370400440532013000","amount":5,"currency":"euro"}"#,
            "invalid-request",
        ),
    ];
    for (key, body, error) in cases {
        let answer = try_pay(&bank, key, body, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (400, Some(error)),
            "{key:?}"
        );
    }
    assert!(bank.payments().await.is_empty());
    let paid = pay(&bank, "w-1", &payment(5)).await;
    assert_eq!((paid.status, paid.replayed), (201, false));
}

#[tokio::test]
async fn reset_forgets_payments_answers_counters_and_faults() {
    let bank = start().await;
    let first = pay(&bank, "w-1", &payment(1250)).await;
    bank.set_fault(FaultMode::Fail, 3, 0).await;
    bank.reset().await;
    assert!(bank.payments().await.is_empty());
    assert!(bank.requests().await.is_empty());
    let again = pay(&bank, "w-1", &payment(1250)).await;
    assert_eq!((again.status, again.replayed), (201, false), "{again:?}");
    assert_ne!(again.body["bank_reference"], first.body["bank_reference"]);
    assert_eq!(bank.payments().await.len(), 1);
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let bank = start().await;
    assert_eq!(send(&bank, "GET", "/health", "").await.0, 200);
    let (status, body) = send(&bank, "POST", "/withdrawals", "{}").await;
    assert_eq!((status, body), (404, json!({ "error": "not-found" })));
    let (status, body) = send(&bank, "GET", "/payments", "").await;
    assert_eq!(
        (status, body),
        (405, json!({ "error": "method-not-allowed" }))
    );
    assert_eq!(send(&bank, "PUT", "/_control/reset", "").await.0, 405);
}
