//! A bearer-token client (`jwt` mode, behind an API Gateway JWT authorizer) against the stub
//! server (`stub/`): the same retry discipline as a signing client (one key, the same bytes,
//! Retry-After, outcome unknown), `Authorization: Bearer` in place of a signature, and a
//! replayed refusal taken as the key's final answer.

use std::time::Duration;

use replaysafe_client::{
    Auth, Client, Credentials, Error, IdempotencyKey, NewAccount, NewTransfer, ProblemCode,
    RetryPolicy,
};

#[allow(dead_code)] // the signature helpers are retry.rs's
mod stub;

use stub::*;

const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

fn client(stub: &Stub, policy: RetryPolicy) -> Client {
    Client::builder_with_token(&stub.url, TOKEN)
        .unwrap()
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn key(k: &str) -> IdempotencyKey {
    k.parse().unwrap()
}

fn transfer() -> NewTransfer {
    NewTransfer::new("acc_a", "acc_b", 5, "EUR")
}

/// Every attempt of one operation: the token, the same key and bytes, no signature.
fn assert_one_bearer_operation(seen: &[Seen]) {
    let first = &seen[0];
    let key = first.header("idempotency-key").expect("a key");
    for s in seen {
        assert_eq!(
            s.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/transfers"));
        assert_eq!(s.header("idempotency-key"), Some(key), "same key");
        assert_eq!(s.body, first.body, "same body bytes");
        assert_eq!(
            s.header("content-digest"),
            Some(replaysafe_client::signing::content_digest(&first.body).as_str()),
            "the optional digest, checked by the server when sent"
        );
        assert_eq!(s.header("content-type"), Some("application/json"));
        assert_eq!(s.header("signature"), None);
        assert_eq!(s.header("signature-input"), None);
    }
}

#[tokio::test]
async fn retries_with_one_key_the_same_bytes_and_the_token() {
    let stub = Stub::start(vec![
        Step::Drop,
        problem(503, "unavailable"),
        with_retry_after(problem(409, "request-in-progress"), "0"),
        // API Gateway's throttling: nothing ran.
        Step::Answer {
            status: 429,
            headers: vec![],
            body: r#"{"message":"Too Many Requests"}"#.into(),
        },
        created(201, TRANSFER, true),
    ])
    .await;
    let done = client(&stub, fast())
        .create_transfer_with_key(&transfer(), key("order-42"))
        .await
        .unwrap();
    assert!(done.replayed);
    assert_eq!(done.attempts, 5);
    assert_eq!(done.idempotency_key.as_str(), "order-42");
    let seen = stub.seen();
    assert_eq!(seen.len(), 5);
    assert_one_bearer_operation(&seen);
    assert_eq!(seen[0].header("idempotency-key"), Some("order-42"));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let stub = Stub::start(vec![
        with_retry_after(problem(503, "unavailable"), "1"),
        created(201, TRANSFER, false),
    ])
    .await;
    client(&stub, fast())
        .create_transfer(&transfer())
        .await
        .unwrap();
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_one_bearer_operation(&seen);
    let waited = seen[1].at - seen[0].at;
    assert!(waited >= Duration::from_secs(1), "waited {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

/// In `jwt` mode a business refusal is stored under the key and replayed: the same key gets it
/// again, so it is final, settled, and says a new key is needed to try again.
#[tokio::test]
async fn a_replayed_refusal_is_the_keys_final_answer() {
    for (status, code) in [
        (404, "not-found"),
        (409, "insufficient-funds"),
        (409, "currency-mismatch"),
        (409, "account-exists"),
    ] {
        let mut replayed = problem(status, code);
        if let Step::Answer { headers, .. } = &mut replayed {
            headers.push(("idempotent-replayed", "true"));
        }
        // The first attempt's answer was lost; the second gets the stored refusal.
        let stub = Stub::start(vec![Step::Drop, replayed, created(201, TRANSFER, false)]).await;
        let err = client(&stub, fast())
            .create_transfer_with_key(&transfer(), key("pay-1"))
            .await
            .unwrap_err();
        assert_eq!(stub.seen().len(), 2, "{code}: not retried");
        assert!(!err.outcome_unknown(), "{code}: {err}");
        assert_eq!(err.idempotency_key(), Some(&key("pay-1")));
        let text = err.to_string();
        assert!(
            text.contains("replayed") && text.contains("use a new key"),
            "{code}: {text}"
        );
        let Error::Api(p) = err else {
            panic!("{code}: {err:?}")
        };
        assert_eq!((p.status, p.code.as_str()), (status, code));
        assert!(p.replayed && p.settles, "{code}");
    }
}

#[tokio::test]
async fn a_replayed_answer_is_never_retried_whatever_its_status() {
    // The contract stores no 5xx; an answer marked replayed is the key's all the same.
    let mut stored = problem(503, "unavailable");
    if let Step::Answer { headers, .. } = &mut stored {
        headers.push(("idempotent-replayed", "true"));
    }
    let stub = Stub::start(vec![stored, created(201, TRANSFER, false)]).await;
    let err = client(&stub, fast())
        .create_transfer(&transfer())
        .await
        .unwrap_err();
    assert_eq!(stub.seen().len(), 1);
    assert!(!err.outcome_unknown(), "{err}");
}

#[tokio::test]
async fn a_first_refusal_is_final_and_settles() {
    for (status, code) in [
        (404, "not-found"),
        (409, "insufficient-funds"),
        (400, "validation-failed"),
        (422, "idempotency-key-reused"),
        (401, "unauthenticated"),
        // A signature-mode API refusing a request that carries no signature: nothing to sign
        // anew, nothing happened.
        (401, "signature-missing"),
        (401, "nonce-reused"),
    ] {
        let stub = Stub::start(vec![problem(status, code), created(201, TRANSFER, false)]).await;
        let err = client(&stub, fast())
            .create_transfer(&transfer())
            .await
            .unwrap_err();
        assert_eq!(stub.seen().len(), 1, "{code} was retried");
        assert!(!err.outcome_unknown(), "{code}: {err}");
        assert_eq!(err.code().map(ProblemCode::as_str), Some(code));
    }
}

/// API Gateway's own 401 (`{"message":"Unauthorized"}`: a token missing, bad or expired) comes
/// before the API sees the request. First: nothing happened. After an attempt whose answer was
/// lost (the token expired meanwhile): that attempt may have taken effect.
#[tokio::test]
async fn the_authorizers_401_after_a_lost_attempt_leaves_the_outcome_unknown() {
    let unauthorized = Step::Answer {
        status: 401,
        headers: vec![("www-authenticate", "Bearer")],
        body: r#"{"message":"Unauthorized"}"#.into(),
    };
    let stub = Stub::start(vec![unauthorized.clone()]).await;
    let err = client(&stub, fast())
        .create_transfer(&transfer())
        .await
        .unwrap_err();
    assert_eq!(stub.seen().len(), 1);
    assert!(!err.outcome_unknown(), "first attempt refused: {err}");

    for lost in [Step::Drop, problem(503, "unavailable")] {
        let stub = Stub::start(vec![lost, unauthorized.clone()]).await;
        let err = client(&stub, fast())
            .create_transfer_with_key(&transfer(), key("pay-9"))
            .await
            .unwrap_err();
        assert_eq!(stub.seen().len(), 2, "a 401 is not retried");
        assert!(err.outcome_unknown(), "{err}");
        assert_eq!(err.idempotency_key(), Some(&key("pay-9")));
        assert!(
            err.to_string().contains("same Idempotency-Key pay-9"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn giving_up_says_the_outcome_is_unknown_and_carries_the_key() {
    let scripts: [(&str, Vec<Step>); 3] = [
        ("unavailable", vec![problem(503, "unavailable")]),
        ("throttled", vec![problem(429, "")]),
        ("timed out", vec![Step::Stall(Duration::from_secs(3))]),
    ];
    for (what, script) in scripts {
        let stub = Stub::start(script).await;
        let policy = RetryPolicy {
            max_attempts: 2,
            attempt_timeout: Duration::from_millis(500),
            ..fast()
        };
        let err = client(&stub, policy)
            .create_transfer_with_key(&transfer(), key("pay-77"))
            .await
            .unwrap_err();
        assert!(err.outcome_unknown(), "{what}: {err}");
        assert_eq!(err.idempotency_key(), Some(&key("pay-77")), "{what}");
        assert_eq!(stub.seen().len(), 2, "{what}");
        assert_one_bearer_operation(&stub.seen());
    }
}

#[tokio::test]
async fn altered_bytes_are_sent_again_once() {
    let stub = Stub::start(vec![
        problem(400, "digest-mismatch"),
        created(201, TRANSFER, false),
    ])
    .await;
    let done = client(&stub, fast())
        .create_transfer(&transfer())
        .await
        .unwrap();
    assert_eq!(done.attempts, 2);
    assert_one_bearer_operation(&stub.seen());

    let stub = Stub::start(vec![problem(400, "digest-mismatch")]).await;
    let err = client(&stub, fast())
        .create_transfer(&transfer())
        .await
        .unwrap_err();
    assert_eq!(stub.seen().len(), 2, "only once");
    assert!(err.outcome_unknown(), "{err}");
}

#[tokio::test]
async fn gets_and_accounts_carry_the_token_and_no_key() {
    let stub = Stub::start(vec![
        problem(503, "unavailable"),
        created(200, TRANSFER, false),
    ])
    .await;
    let client = client(&stub, fast());
    client.get_transfer("trf_1").await.unwrap();
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.path.as_str()),
            ("GET", "/transfers/trf_1")
        );
        assert_eq!(
            s.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(s.header("idempotency-key"), None);
        assert_eq!(s.header("content-digest"), None);
        assert_eq!(s.header("signature-input"), None);
    }

    let stub = Stub::start(vec![created(201, ACCOUNT, false)]).await;
    let done =
        Client::builder_with_auth(&format!("{}/prod", stub.url), Auth::bearer(TOKEN).unwrap())
            .build()
            .unwrap()
            .create_account(&NewAccount::new("EUR", 100).with_id("acc_a"))
            .await
            .unwrap();
    let seen = &stub.seen()[0];
    assert_eq!(seen.path, "/prod/accounts", "the endpoint's base path");
    assert_eq!(
        seen.header("idempotency-key"),
        Some(done.idempotency_key.as_str())
    );
    assert!(seen.header("authorization").is_some());
}

#[tokio::test]
async fn a_bearer_client_keeps_no_signing_state() {
    let stub = Stub::start(vec![problem(409, "insufficient-funds")]).await;
    let client = client(&stub, fast());
    assert_eq!(client.client_id(), None);
    let k = key("k");
    assert!(client
        .create_transfer_with_key(&transfer(), k.clone())
        .await
        .is_err());
    assert_eq!(client.last_created(&k), None);
    let started = std::time::Instant::now();
    client.wait_past_last_attempt(&k).await;
    assert!(started.elapsed() < Duration::from_millis(100), "no wait");
    // `prepare` (what `replaysafe call` sends) carries the token too.
    let prepared = client.prepare("POST", "/transfers", b"{}", Some(&k));
    assert_eq!(
        prepared.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(!format!("{prepared:?}").contains(TOKEN), "Debug hides it");
}

#[tokio::test]
async fn a_signing_client_sends_no_authorization_header() {
    let stub = Stub::start(vec![created(201, TRANSFER, false)]).await;
    let credentials = Credentials::new("cli_test", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    let client = Client::builder_with_auth(&stub.url, Auth::signature(&credentials).unwrap())
        .build()
        .unwrap();
    assert_eq!(client.client_id(), Some("cli_test"));
    client.create_transfer(&transfer()).await.unwrap();
    let seen = &stub.seen()[0];
    assert_eq!(seen.header("authorization"), None);
    assert!(seen.header("signature").is_some() && seen.header("signature-input").is_some());
}

#[test]
fn a_token_that_cannot_be_one_is_refused_at_the_builder() {
    for bad in ["", "Bearer x.y.z", "x.y.z\r\nX-Evil: 1", "two words"] {
        let err = Client::builder_with_token("http://127.0.0.1:1", bad).err();
        assert!(
            matches!(err, Some(Error::Credentials(_))),
            "{bad:?}: {err:?}"
        );
    }
}
