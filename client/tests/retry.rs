//! The retry policy against a stub server on 127.0.0.1:0 that answers from a script and records
//! every request it receives (`stub/`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use replaysafe_client::{
    Client, Conditional, Credentials, Error, NewAccount, NewTransfer, PreparedRequest, ProblemCode,
    RetryEvent, RetryPolicy,
};

mod stub;

use stub::*;

fn credentials() -> Credentials {
    Credentials::new("cli_test", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
}

fn client(stub: &Stub, policy: RetryPolicy) -> Client {
    Client::builder(&stub.url, &credentials())
        .unwrap()
        .retry_policy(policy)
        .build()
        .unwrap()
}

/// Every attempt of one operation: same key and body bytes, a new signature and nonce.
fn assert_one_operation(seen: &[Seen]) {
    let first = &seen[0];
    let key = first.header("idempotency-key").expect("a key");
    assert!(replaysafe_client::signing::valid_idempotency_key(key));
    for s in seen {
        assert_eq!(s.method, first.method);
        assert_eq!(s.path, first.path);
        assert_eq!(s.header("idempotency-key"), Some(key), "same key");
        assert_eq!(s.body, first.body, "same body bytes");
        assert_eq!(s.header("content-digest"), first.header("content-digest"));
        assert!(s.created() >= first.created());
    }
    let mut nonces: Vec<String> = seen.iter().map(Seen::nonce).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), seen.len(), "a new nonce on every attempt");
    let mut signatures: Vec<&str> = seen
        .iter()
        .map(|s| s.header("signature").unwrap())
        .collect();
    signatures.sort();
    signatures.dedup();
    assert_eq!(signatures.len(), seen.len(), "signed anew on every attempt");
}

#[tokio::test]
async fn retries_5xx_request_in_progress_and_throttling_with_one_key_and_the_same_bytes() {
    let stub = Stub::start(vec![
        problem(503, "unavailable"),
        problem(500, "internal"),
        Step::Answer {
            status: 502,
            headers: vec![],
            body: "<html>bad gateway</html>".into(),
        },
        with_retry_after(problem(409, "request-in-progress"), "0"),
        // API Gateway's throttling answer: not a problem document, and nothing ran.
        Step::Answer {
            status: 429,
            headers: vec![],
            body: r#"{"message":"Too Many Requests"}"#.into(),
        },
        created(201, ACCOUNT, true),
    ])
    .await;
    let account = NewAccount::new("EUR", 100).with_id("acc_a");
    let policy = RetryPolicy {
        max_attempts: 6,
        ..fast()
    };
    let done = client(&stub, policy)
        .create_account(&account)
        .await
        .unwrap();
    let seen = stub.seen();
    assert_eq!(seen.len(), 6);
    assert_one_operation(&seen);
    assert_eq!(done.attempts, 6);
    assert!(done.replayed);
    assert_eq!(done.value.account_id, "acc_a");
    assert_eq!(done.location.as_deref(), Some("/accounts/acc_a"));
    assert_eq!(
        seen[0].header("idempotency-key"),
        Some(done.idempotency_key.as_str())
    );
    assert_eq!(
        seen[0].body,
        br#"{"account_id":"acc_a","currency":"EUR","initial_balance":100}"#
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn lost_answers_and_timeouts_are_retried() {
    let stub = Stub::start(vec![
        Step::Drop,
        Step::Stall(Duration::from_secs(5)),
        created(201, TRANSFER, false),
    ])
    .await;
    let policy = RetryPolicy {
        attempt_timeout: Duration::from_secs(1),
        ..fast()
    };
    let events = Arc::new(Mutex::new(Vec::<RetryEvent>::new()));
    let log = events.clone();
    let client = Client::builder(&stub.url, &credentials())
        .unwrap()
        .retry_policy(policy)
        .on_retry(move |e| log.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let key = "order-42-payment".parse().unwrap();
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let done = client
        .create_transfer_with_key(&transfer, key)
        .await
        .unwrap();
    assert_eq!(done.value.transfer_id, "trf_1");
    assert_eq!(done.idempotency_key.as_str(), "order-42-payment");
    assert!(!done.replayed);
    let seen = stub.seen();
    assert_eq!(seen.len(), 3);
    assert_one_operation(&seen);
    assert_eq!(seen[0].header("idempotency-key"), Some("order-42-payment"));
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[1].reason.contains("timed out"), "{:?}", events[1]);
}

#[tokio::test]
async fn other_4xx_are_never_retried() {
    // 400 digest-mismatch and 401 signature-invalid were here: they are re-signed once now
    // (altered_bytes_are_resigned_once_with_the_same_key).
    for (status, code) in [
        (400, "validation-failed"),
        (401, "stale-request"),
        (401, "unknown-key"),
        (409, "attempt-superseded"),
        (404, "not-found"),
        (409, "insufficient-funds"),
        (409, "account-exists"),
        (413, "body-too-large"),
        (422, "idempotency-key-reused"),
    ] {
        let stub = Stub::start(vec![problem(status, code), created(201, TRANSFER, false)]).await;
        let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
        let err = client(&stub, fast())
            .create_transfer(&transfer)
            .await
            .unwrap_err();
        // A refusal settles the operation: final, and it names the key.
        assert!(!err.outcome_unknown(), "{err}");
        let sent = stub.seen()[0].header("idempotency-key").unwrap().to_owned();
        assert_eq!(
            err.idempotency_key().map(|k| k.as_str()),
            Some(sent.as_str())
        );
        let Error::Api(p) = err else {
            panic!("{code}: {err:?}")
        };
        assert_eq!((p.status, p.code.as_str()), (status, code));
        assert_eq!(stub.seen().len(), 1, "{code} was retried");
    }
}

#[tokio::test]
async fn nonce_reused_is_resigned_once() {
    let stub = Stub::start(vec![
        problem(401, "nonce-reused"),
        created(201, TRANSFER, true),
    ])
    .await;
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let done = client(&stub, fast())
        .create_transfer(&transfer)
        .await
        .unwrap();
    assert!(done.replayed);
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_one_operation(&seen);

    // Only once: a second nonce-reused is final.
    let stub = Stub::start(vec![problem(401, "nonce-reused")]).await;
    let err = client(&stub, fast())
        .create_transfer(&transfer)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ProblemCode::NonceReused));
    assert_eq!(stub.seen().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_and_created_moves_on() {
    let stub = Stub::start(vec![
        with_retry_after(problem(503, "unavailable"), "1"),
        created(201, TRANSFER, false),
    ])
    .await;
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    client(&stub, fast())
        .create_transfer(&transfer)
        .await
        .unwrap();
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_one_operation(&seen);
    let waited = seen[1].at - seen[0].at;
    assert!(waited >= Duration::from_secs(1), "waited {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert!(seen[1].created() > seen[0].created(), "a fresh created");
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let stub = Stub::start(vec![problem(503, "unavailable")]).await;
    let policy = RetryPolicy {
        max_attempts: 3,
        ..fast()
    };
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let err = client(&stub, policy)
        .create_transfer(&transfer)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ProblemCode::Unavailable));
    assert_eq!(stub.seen().len(), 3);
    assert_one_operation(&stub.seen());
}

#[tokio::test]
async fn gives_up_before_max_elapsed() {
    // Each answer asks for 2 s; 3 s in all leaves room for one wait, not two.
    let stub = Stub::start(vec![with_retry_after(
        problem(409, "request-in-progress"),
        "2",
    )])
    .await;
    let policy = RetryPolicy {
        max_attempts: 100,
        max_elapsed: Duration::from_secs(3),
        ..fast()
    };
    let started = Instant::now();
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let err = client(&stub, policy.clone())
        .create_transfer(&transfer)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ProblemCode::RequestInProgress));
    let Error::Api(p) = err else { unreachable!() };
    assert_eq!(p.retry_after, Some(Duration::from_secs(2)));
    assert_eq!(stub.seen().len(), 2);
    assert!(started.elapsed() < Duration::from_secs(3));

    // A Retry-After past the budget: give up at once rather than sleep through it.
    let stub = Stub::start(vec![with_retry_after(problem(503, "unavailable"), "60")]).await;
    let started = Instant::now();
    let err = client(&stub, policy)
        .create_transfer(&transfer)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ProblemCode::Unavailable));
    assert_eq!(stub.seen().len(), 1);
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn a_hostile_retry_after_gives_up_instead_of_overflowing() {
    // More than a second in, so elapsed + u64::MAX seconds would overflow a Duration.
    let stub = Stub::start(vec![
        Step::Stall(Duration::from_secs(3)),
        with_retry_after(problem(503, "unavailable"), "18446744073709551615"),
    ])
    .await;
    let policy = RetryPolicy {
        attempt_timeout: Duration::from_millis(1100),
        ..fast()
    };
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let err = client(&stub, policy)
        .create_transfer(&transfer)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ProblemCode::Unavailable));
    assert_eq!(stub.seen().len(), 2);
}

#[tokio::test]
async fn a_path_with_a_line_break_is_refused_before_signing() {
    let stub = Stub::start(vec![]).await;
    let err = client(&stub, fast())
        .execute("GET", "/accounts/a\r\n\"@method\": POST", vec![], None, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(stub.seen().is_empty());
}

#[tokio::test]
async fn backoff_waits_stay_within_the_jitter_bounds() {
    let stub = Stub::start(vec![problem(500, "internal")]).await;
    let policy = RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(80),
        ..fast()
    };
    let events = Arc::new(Mutex::new(Vec::<RetryEvent>::new()));
    let log = events.clone();
    let client = Client::builder(&stub.url, &credentials())
        .unwrap()
        .retry_policy(policy.clone())
        .on_retry(move |e| log.lock().unwrap().push(e.clone()))
        .build()
        .unwrap();
    let started = Instant::now();
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    assert!(client.create_transfer(&transfer).await.is_err());
    let events = events.lock().unwrap();
    let attempts: Vec<u32> = events.iter().map(|e| e.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5]);
    for e in events.iter() {
        assert!(e.delay <= policy.backoff_ceiling(e.attempt), "{e:?}");
        assert_eq!(e.reason, "500 internal");
    }
    // 20 + 40 + 80 + 80 + 80 ms at most, plus five local round trips.
    assert!(started.elapsed() < Duration::from_secs(2));
    let seen = stub.seen();
    assert_eq!(seen.len(), 6);
    // The waits between requests are at least what the client said it would wait.
    for (i, e) in events.iter().enumerate() {
        assert!(seen[i + 1].at - seen[i].at >= e.delay);
    }
}

#[tokio::test]
async fn gets_are_retried_and_304_is_not_modified() {
    let stub = Stub::start(vec![
        problem(503, "unavailable"),
        Step::Answer {
            status: 304,
            headers: vec![("etag", "\"v3\"")],
            body: String::new(),
        },
    ])
    .await;
    let answer = client(&stub, fast())
        .get_account_if_none_match("acc_a", "\"v3\"")
        .await
        .unwrap();
    assert_eq!(
        answer,
        Conditional::NotModified {
            etag: Some("\"v3\"".into())
        }
    );
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.path.as_str()),
            ("GET", "/accounts/acc_a")
        );
        assert_eq!(s.header("if-none-match"), Some("\"v3\""));
        assert_eq!(s.header("idempotency-key"), None);
        assert_eq!(s.header("content-digest"), None);
        assert!(s.body.is_empty());
    }
    assert_ne!(seen[0].nonce(), seen[1].nonce());
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error_after_the_attempts() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Client::builder(&format!("http://127.0.0.1:{port}"), &credentials())
        .unwrap()
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            ..fast()
        })
        .build()
        .unwrap();
    let err = client.get_transfer("trf_1").await.unwrap_err();
    let Error::Transport {
        attempts,
        timed_out,
        message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(attempts, 3);
    assert!(!timed_out);
    assert!(message.contains("refused"), "{message}");
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let stub = Stub::start(vec![created(201, TRANSFER, false)]).await;
    let client = client(&stub, fast());
    let bad_id = client.get_account("../clients").await.unwrap_err();
    assert!(matches!(bad_id, Error::InvalidInput(_)), "{bad_id:?}");
    let transfer = NewTransfer::new("acc a", "acc_b", 5, "EUR");
    assert!(matches!(
        client.create_transfer(&transfer).await,
        Err(Error::InvalidInput(_))
    ));
    assert!("line\nbreak"
        .parse::<replaysafe_client::IdempotencyKey>()
        .is_err());
    assert!(stub.seen().is_empty());
}

#[tokio::test]
async fn an_endpoint_base_path_is_part_of_the_signed_path() {
    let stub = Stub::start(vec![created(200, TRANSFER, false)]).await;
    let client = Client::new(&format!("{}/prod/", stub.url), &credentials()).unwrap();
    client.get_transfer("trf_1").await.unwrap();
    assert_eq!(stub.seen()[0].path, "/prod/transfers/trf_1");
    let prepared: PreparedRequest = client.prepare("GET", "/transfers/trf_1", b"", None);
    assert_eq!(prepared.path, "/prod/transfers/trf_1");
    assert!(Client::new("ftp://x", &credentials()).is_err());
    assert!(Client::new("not a url", &credentials()).is_err());
}

#[tokio::test]
async fn send_once_sends_the_exact_bytes_once() {
    let stub = Stub::start(vec![problem(503, "unavailable")]).await;
    let client = client(&stub, fast());
    let key = "k-1".parse().unwrap();
    let request = client.prepare("POST", "/transfers", b"{\"a\":1}", Some(&key));
    let answer = client.send_once(&request).await.unwrap();
    assert_eq!(answer.status, 503);
    let again = client.send_once(&request).await.unwrap();
    assert_eq!(again.status, 503);
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].headers, seen[1].headers, "byte for byte");
    assert_eq!(seen[0].body, b"{\"a\":1}");
}

/// Waits until a wall-clock second has just begun, so that what follows (a few local round
/// trips) happens within one second: a `created` taken from the clock alone would repeat.
async fn at_the_start_of_a_second() {
    let into = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis();
    if into > 50 {
        tokio::time::sleep(Duration::from_millis(u64::from(1000 - into) + 5)).await;
    }
}

fn key(k: &str) -> replaysafe_client::IdempotencyKey {
    k.parse().unwrap()
}

/// One transfer through a stub answering `script`: every request the stub saw, all attempts of
/// one operation.
async fn one_transfer(script: Vec<Step>, policy: RetryPolicy) -> Vec<Seen> {
    let stub = Stub::start(script).await;
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    client(&stub, policy)
        .create_transfer(&transfer)
        .await
        .unwrap();
    let seen = stub.seen();
    assert_one_operation(&seen);
    seen
}

#[tokio::test]
async fn every_attempt_expires_soon_after_its_timeout() {
    let policy = RetryPolicy {
        attempt_timeout: Duration::from_millis(2500),
        ..fast()
    };
    let script = vec![problem(503, "unavailable"), created(201, TRANSFER, false)];
    let seen = one_transfer(script, policy).await;
    assert_eq!(seen.len(), 2);
    for s in &seen {
        // 2.5 s of timeout and 5 s of margin, rounded up: dead 8 s after it was signed.
        assert_eq!(
            s.expires(),
            Some(s.created() + 8),
            "{:?}",
            s.header("signature-input")
        );
    }
    assert_eq!(replaysafe_client::EXPIRES_MARGIN, Duration::from_secs(5));
    // GETs too.
    let stub = Stub::start(vec![created(200, TRANSFER, false)]).await;
    client(&stub, fast()).get_transfer("trf_1").await.unwrap();
    let get = &stub.seen()[0];
    assert_eq!(get.expires(), Some(get.created() + 10));
}

#[tokio::test]
async fn altered_bytes_are_resigned_once_with_the_same_key() {
    for (status, code) in [
        (401, "signature-invalid"),
        (401, "signature-missing"),
        (400, "digest-mismatch"),
    ] {
        let stub = Stub::start(vec![problem(status, code), created(201, TRANSFER, false)]).await;
        let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
        let done = client(&stub, fast())
            .create_transfer(&transfer)
            .await
            .unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(done.attempts, 2, "{code}");
        assert_one_operation(&stub.seen());

        // Only once: a second one is final, and the outcome stays open (the untampered copy
        // of either attempt may still be delivered until it expires).
        let stub = Stub::start(vec![problem(status, code)]).await;
        let given = key("order-7");
        let err = client(&stub, fast())
            .create_transfer_with_key(&transfer, given.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code().map(|c| c.as_str()), Some(code));
        assert_eq!(stub.seen().len(), 2, "{code}");
        assert!(err.outcome_unknown(), "{code}");
        assert_eq!(err.idempotency_key(), Some(&given));
    }
}

#[tokio::test]
async fn created_strictly_increases_across_the_attempts_of_one_operation() {
    at_the_start_of_a_second().await;
    let script = vec![
        Step::Drop,
        problem(503, "unavailable"),
        problem(401, "nonce-reused"),
        with_retry_after(problem(409, "request-in-progress"), "0"),
        created(201, TRANSFER, true),
    ];
    let seen = one_transfer(script, fast()).await;
    assert_eq!(seen.len(), 5);
    // All five within a second or so of wall clock, yet each signed after the one before.
    for pair in seen.windows(2) {
        assert!(pair[1].created() > pair[0].created(), "{seen:?}");
    }
}

#[tokio::test]
async fn a_retry_after_a_refusal_is_signed_a_second_after_it() {
    at_the_start_of_a_second().await;
    let stub = Stub::start(vec![
        problem(409, "insufficient-funds"),
        created(201, TRANSFER, false),
    ])
    .await;
    let client = client(&stub, fast());
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let k = key("invoice-9");
    let refused = client
        .create_transfer_with_key(&transfer, k.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(&ProblemCode::InsufficientFunds));
    // The caller fixes the cause and asks again, at once, with the same key.
    let done = client
        .create_transfer_with_key(&transfer, k.clone())
        .await
        .unwrap();
    assert_eq!(done.idempotency_key, k);
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    // The server's fence holds the refused attempt's `created`: not after it is superseded.
    assert!(
        seen[1].created() > seen[0].created(),
        "{} then {}",
        seen[0].created(),
        seen[1].created()
    );
    assert_eq!(client.last_created(&k), Some(seen[1].created()));
    // A clone shares the memory.
    assert_eq!(client.clone().last_created(&k), Some(seen[1].created()));
}

#[tokio::test]
async fn one_operation_per_key_at_a_time() {
    // Whichever request comes first is held 400 ms, then dropped unanswered.
    let stub = Stub::start(vec![
        Step::Stall(Duration::from_millis(400)),
        created(201, TRANSFER, true),
    ])
    .await;
    let once = client(&stub, RetryPolicy::no_retries());
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let twin = once.clone(); // clones share the hold
    let (a, b) = tokio::join!(
        once.create_transfer_with_key(&transfer, key("same")),
        twin.create_transfer_with_key(&transfer, key("same")),
    );
    // One call's only attempt was lost, the other's was answered; never both in flight.
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(400),
        "two in flight at once: {gap:?}"
    );
    assert!(seen[1].created() > seen[0].created());

    // Other keys do not wait.
    let stub = Stub::start(vec![
        Step::Stall(Duration::from_millis(400)),
        created(201, TRANSFER, false),
    ])
    .await;
    let once = client(&stub, RetryPolicy::no_retries());
    let (_, _) = tokio::join!(
        once.create_transfer_with_key(&transfer, key("one")),
        once.create_transfer_with_key(&transfer, key("two")),
    );
    let seen = stub.seen();
    assert!(seen[1].at - seen[0].at < Duration::from_millis(300));
}

#[tokio::test]
async fn giving_up_on_a_post_says_the_outcome_is_unknown_and_carries_the_key() {
    let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
    let scripts: [(&str, Vec<Step>); 4] = [
        ("unavailable", vec![problem(503, "unavailable")]),
        ("nonce-reused", vec![problem(401, "nonce-reused")]),
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
        let given = key("pay-77");
        let err = client(&stub, policy)
            .create_transfer_with_key(&transfer, given.clone())
            .await
            .unwrap_err();
        assert!(err.outcome_unknown(), "{what}: {err}");
        assert_eq!(err.idempotency_key(), Some(&given), "{what}");
        let text = err.to_string();
        assert!(
            text.contains("the outcome is unknown") && text.contains("same Idempotency-Key pay-77"),
            "{what}: {text}"
        );
        assert_eq!(stub.seen().len(), 2, "{what}");
    }

    // Nothing listening: the POST may still have left on an earlier attempt.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nowhere = Client::builder(&format!("http://127.0.0.1:{port}"), &credentials())
        .unwrap()
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let err = nowhere.create_transfer(&transfer).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }) && err.outcome_unknown());
    assert!(err.idempotency_key().is_some());
    // A GET has no outcome to lose, and no key.
    let err = nowhere.get_transfer("trf_1").await.unwrap_err();
    assert!(!err.outcome_unknown() && err.idempotency_key().is_none());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = Stub::start(vec![created(201, TRANSFER, false)]).await;
    let location: &'static str = Box::leak(format!("{}/transfers", elsewhere.url).into_boxed_str());
    for status in [307, 308, 302] {
        let stub = Stub::start(vec![Step::Answer {
            status,
            headers: vec![("location", location)],
            body: String::new(),
        }])
        .await;
        let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
        let err = client(&stub, fast())
            .create_transfer(&transfer)
            .await
            .unwrap_err();
        let Error::Api(p) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(p.status, status);
        assert!(err.outcome_unknown(), "{err}");
        assert_eq!(stub.seen().len(), 1, "not retried");
    }
    assert!(
        elsewhere.seen().is_empty(),
        "the signed request went elsewhere"
    );
}

#[tokio::test]
async fn an_over_long_answer_is_a_protocol_error() {
    // Valid JSON, one byte past the cap: read whole, it would decode.
    let reference = "x".repeat(replaysafe_client::MAX_ANSWER_BYTES);
    let long = TRANSFER.replace(
        "\"reference\":null",
        &format!("\"reference\":\"{reference}\""),
    );
    for step in [created(201, &long, false), Step::Unsized(long.clone())] {
        let stub = Stub::start(vec![step]).await;
        let transfer = NewTransfer::new("acc_a", "acc_b", 5, "EUR");
        let err = client(&stub, fast())
            .create_transfer(&transfer)
            .await
            .unwrap_err();
        let Error::Protocol { message, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(message.contains("longer than 1048576 bytes"), "{message}");
        assert!(err.outcome_unknown() && err.idempotency_key().is_some());
        assert_eq!(stub.seen().len(), 1, "not retried");
    }
    // At the cap exactly, still read: `null` (4 bytes) becomes `"x…x"` (n + 2 bytes).
    let n = replaysafe_client::MAX_ANSWER_BYTES - TRANSFER.len() + 4 - 2;
    let fits = TRANSFER.replace(
        "\"reference\":null",
        &format!("\"reference\":\"{}\"", "x".repeat(n)),
    );
    assert_eq!(fits.len(), replaysafe_client::MAX_ANSWER_BYTES);
    let stub = Stub::start(vec![Step::Unsized(fits)]).await;
    client(&stub, fast()).get_transfer("trf_1").await.unwrap();
}
