//! Every fault of the proxy, on each of the three calls a transfer makes (nonce put, record
//! read, transaction), once (the SDK's retries absorb it) and on every attempt (the SDK gives
//! up): the client sees a success, a replay, or a clean 503 `unavailable` with `Retry-After`;
//! a retry with the same key after the faults stop converges to exactly one transfer.

use std::time::Duration;

use replaysafe::Clock;
use replaysafe_tests::faults::{faulty_sdk_client, Fault, FaultProxy};
use replaysafe_tests::{endpoint, Answer, Call, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Fresh,
    Replayed,
    Unavailable,
}

/// The only answers a client may see under faults.
fn outcome(a: &Answer, what: &str) -> Outcome {
    match a.status {
        201 if a.replayed() => Outcome::Replayed,
        201 => Outcome::Fresh,
        503 => {
            assert_eq!(a.code(), "unavailable", "{what}: {a:?}");
            assert!(a.header("retry-after").is_some(), "{what}: {a:?}");
            assert_eq!(
                a.header("content-type"),
                Some("application/problem+json"),
                "{what}"
            );
            Outcome::Unavailable
        }
        _ => panic!("{what}: not a success, a replay or a clean 503: {a:?}"),
    }
}

pub async fn app_behind(proxy: &FaultProxy) -> TestApp {
    TestApp::with_sdk_client(faulty_sdk_client(&proxy.url).await, |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_every_fault_a_transfer_succeeds_replays_or_is_a_clean_503_and_converges() {
    let proxy = FaultProxy::start(&endpoint(), 7).await;
    let app = app_behind(&proxy).await;
    let alice = &app.alice;
    app.open_account(alice, "acc_a", "EUR", 1_000_000).await;
    app.open_account(alice, "acc_b", "EUR", 0).await;

    let faults = [
        Fault::DropResponse,
        Fault::Latency(Duration::from_millis(300)),
        Fault::Reset,
        Fault::Stall,
        Fault::Throttle,
    ];
    let mut seen = Vec::new();
    let mut moved = 0u64;
    for op in ["PutItem", "GetItem", "TransactWriteItems"] {
        for fault in faults {
            // Once: the SDK's retry absorbs it. Three times: every attempt of the call fails.
            for times in [1, 3] {
                let what = format!("{fault:?} x{times} on {op}");
                let call = app.signed(alice, "POST", "/transfers", &transfer(100));
                proxy.inject(Some(op), fault, times);
                let first = app.send(&call).await;
                let first_outcome = outcome(&first, &what);
                proxy.calm();

                let retry = until_answered(&app, &call, &what).await;
                let retry_outcome = outcome(&retry, &format!("{what}, retry"));
                let count = app.transfers().await.len() as u64;
                let twice =
                    first_outcome != Outcome::Unavailable && retry_outcome == Outcome::Fresh;
                if twice || count != moved / 100 + 1 {
                    let ids = [&first, &retry].map(transfer_id);
                    let key = call.idempotency_key.clone().unwrap_or_default();
                    let needles = [key.as_str(), ids[0].as_str(), ids[1].as_str()];
                    eprintln!(
                        "{what}: {count} transfers, {}",
                        app.evidence(&needles).await
                    );
                }
                if first_outcome != Outcome::Unavailable {
                    assert_eq!(retry_outcome, Outcome::Replayed, "{what}");
                    assert_eq!(retry.body, first.body, "{what}: not the first body");
                }
                let again = until_answered(&app, &call, &what).await;
                assert!(again.replayed(), "{what}: {again:?}");
                assert_eq!(again.body, retry.body, "{what}: not byte-identical");

                moved += 100;
                assert_eq!(app.transfers().await.len() as u64, moved / 100, "{what}");
                assert_eq!(app.balance("acc_a").await, 1_000_000 - moved, "{what}");
                assert_eq!(app.balance("acc_b").await, moved, "{what}");
                seen.push((what, first_outcome, retry_outcome));
            }
        }
    }
    let counts = proxy.counts();
    assert_eq!(
        counts.by_kind.iter().filter(|n| **n > 0).count(),
        5,
        "{counts:?}"
    );
    // The case the guard exists for: the transaction committed, no attempt heard of it, the
    // client got a 503, and its retry got the stored answer.
    let lost = seen
        .iter()
        .find(|(w, ..)| w == "DropResponse x3 on TransactWriteItems")
        .unwrap();
    assert_eq!(
        (lost.1, lost.2),
        (Outcome::Unavailable, Outcome::Replayed),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|(_, f, r)| *f == Outcome::Unavailable && *r == Outcome::Fresh),
        "no fault left a transfer undone for its retry to do: {seen:#?}"
    );
}

/// The call signed anew until it is answered with more than a 503: with the faults stopped, a
/// 503 can only come from a DynamoDB Local slowed down by a busy machine.
async fn until_answered(app: &TestApp, call: &Call, what: &str) -> Answer {
    for _ in 0..5 {
        let answer = app.send(&call.resigned(app.clock.now())).await;
        if outcome(&answer, what) != Outcome::Unavailable {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{what}: still 503 after the faults stopped");
}

/// The transfer id a 201 carries, else "".
fn transfer_id(a: &Answer) -> String {
    let json = serde_json::from_str::<serde_json::Value>(&a.body).unwrap_or_default();
    json["transfer_id"].as_str().unwrap_or("").to_owned()
}

fn transfer(amount: u64) -> String {
    TestApp::transfer_body("acc_a", "acc_b", amount)
}
