//! Concurrency: one key racing with itself, many transfers racing with each other (some sent
//! twice), and a captured request racing with its own replays. Money is conserved and moves
//! once per idempotency key; a nonce is accepted once.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use replaysafe::Clock;
use replaysafe_tests::{Answer, Call, TestApp};
use tokio::sync::Barrier;

/// Sends every call at once (released together by a barrier), answers in the calls' order.
async fn race(app: &Arc<TestApp>, calls: Vec<Call>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|call| {
            let (app, barrier) = (app.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                app.send(&call).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

fn is_in_progress(a: &Answer) -> bool {
    a.status == 409
        && a.code() == "request-in-progress"
        && a.header("retry-after").is_some()
        && a.header("content-type") == Some("application/problem+json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_copies_of_one_keyed_request_move_money_once() {
    sixteen_copies_move_money_once(TestApp::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_an_authorizer_sixteen_concurrent_copies_of_one_keyed_request_move_money_once() {
    sixteen_copies_move_money_once(TestApp::authorized().await).await;
}

async fn sixteen_copies_move_money_once(app: TestApp) {
    let started = Instant::now();
    let app = Arc::new(app);
    let alice = &app.alice;
    app.open_account(alice, "acc_alice", "EUR", 100_000).await;
    app.open_account(alice, "acc_bob", "EUR", 0).await;

    let rounds = 5u64;
    let (mut replays, mut in_progress) = (0, 0);
    for round in 1..=rounds {
        let body = TestApp::transfer_body("acc_alice", "acc_bob", 1_000);
        let first = app.signed(alice, "POST", "/transfers", &body);
        let now = app.clock.now();
        // Same key and body, each signed anew with its own nonce, each its own invocation.
        let calls: Vec<Call> = (0..16).map(|_| first.resigned(now)).collect();
        let answers = race(&app, calls).await;

        let fresh: Vec<&Answer> = answers
            .iter()
            .filter(|a| a.status == 201 && !a.replayed())
            .collect();
        assert_eq!(fresh.len(), 1, "round {round}: {answers:#?}");
        let winner = fresh[0];
        for a in &answers {
            if a.status == 201 && a.replayed() {
                assert_eq!(a.body, winner.body, "round {round}");
                assert_eq!(a.header("location"), winner.header("location"));
                replays += 1;
            } else if is_in_progress(a) {
                in_progress += 1;
            } else {
                assert!(std::ptr::eq(a, winner), "round {round}: unexpected {a:#?}");
            }
        }
        assert_eq!(app.transfers().await.len() as u64, round);
        assert_eq!(app.balance("acc_alice").await, 100_000 - 1_000 * round);
        assert_eq!(app.balance("acc_bob").await, 1_000 * round);

        // Once the dust settles, the key answers with the winner's response.
        let later = app.send(&first.resigned(now)).await;
        assert_eq!(later.status, 201);
        assert!(later.replayed());
        assert_eq!(later.body, winner.body);
    }
    assert_eq!(app.balance("acc_bob").await, 1_000 * rounds);
    println!(
        "16 x {rounds} same-key copies: {replays} replays, {in_progress} in progress, {:?}",
        started.elapsed()
    );
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dup {
    /// Sent alongside the original, at the same moment.
    Concurrent,
    /// Sent by the same worker right after the original's answer.
    After,
    /// Queued at the end, for any worker.
    Later,
}

struct Job {
    index: usize,
    call: Call,
    /// For an original: how its duplicate goes, if it has one. None for a duplicate.
    dup: Option<Dup>,
}

#[derive(Debug, Clone)]
struct Outcome {
    index: usize,
    status: u16,
    code: String,
    replayed: bool,
    body: String,
}

impl Outcome {
    fn of(index: usize, a: &Answer) -> Self {
        Self {
            index,
            status: a.status,
            code: if a.status >= 400 {
                a.code()
            } else {
                String::new()
            },
            replayed: a.replayed(),
            body: a.body.clone(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_racing_transfers_conserve_money_and_move_it_once_per_key() {
    const ACCOUNTS: usize = 5;
    const TRANSFERS: usize = 500;
    const WORKERS: usize = 8;
    const INITIAL: u64 = 20_000;

    let started = Instant::now();
    let seed = std::env::var("RACE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("RACE_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let app = Arc::new(TestApp::new().await);
    let alice = &app.alice;
    let ids: Vec<String> = (0..ACCOUNTS).map(|i| format!("acc_{i}")).collect();
    for id in &ids {
        app.open_account(alice, id, "EUR", INITIAL).await;
    }

    // (from, to, amount) per transfer; a third of them get a duplicate.
    let mut plan = Vec::new();
    let mut queue = VecDeque::new();
    for index in 0..TRANSFERS {
        let from = rng.random_range(0..ACCOUNTS);
        let to = (from + rng.random_range(1..ACCOUNTS)) % ACCOUNTS;
        let amount = rng.random_range(1..=9_000u64);
        plan.push((ids[from].clone(), ids[to].clone(), amount));
        let body = TestApp::transfer_body(&ids[from], &ids[to], amount);
        let dup = (index % 3 == 0).then(|| match rng.random_range(0..3) {
            0 => Dup::Concurrent,
            1 => Dup::After,
            _ => Dup::Later,
        });
        queue.push_back(Job {
            index,
            call: app.signed(alice, "POST", "/transfers", &body),
            dup,
        });
    }
    let queue = Arc::new(Mutex::new(queue));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (app, queue, outcomes) = (app.clone(), queue.clone(), outcomes.clone());
            tokio::spawn(async move {
                loop {
                    let Some(job) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    let now = app.clock.now();
                    let record =
                        |a: &Answer| outcomes.lock().unwrap().push(Outcome::of(job.index, a));
                    match job.dup {
                        None => record(&app.send(&job.call).await),
                        Some(Dup::Concurrent) => {
                            let copy = job.call.resigned(now);
                            let (a, b) = tokio::join!(app.send(&job.call), app.send(&copy));
                            record(&a);
                            record(&b);
                        }
                        Some(Dup::After) => {
                            record(&app.send(&job.call).await);
                            record(&app.send(&job.call.resigned(now)).await);
                        }
                        Some(Dup::Later) => {
                            record(&app.send(&job.call).await);
                            queue.lock().unwrap().push_back(Job {
                                index: job.index,
                                call: job.call.resigned(now),
                                dup: None,
                            });
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    let elapsed_requests = started.elapsed();
    let outcomes = Arc::try_unwrap(outcomes).unwrap().into_inner().unwrap();
    assert_eq!(outcomes.len(), TRANSFERS + TRANSFERS.div_ceil(3));

    // Every answer is a success, a replay of one, or a refusal that had no effect.
    let mut by_key: BTreeMap<usize, Vec<&Outcome>> = BTreeMap::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outcomes {
        let kind = match (o.status, o.code.as_str(), o.replayed) {
            (201, _, false) => "fresh",
            (201, _, true) => "replayed",
            (409, "insufficient-funds", _) => "insufficient-funds",
            (409, "request-in-progress", _) => "request-in-progress",
            // A copy signed in the same second as an attempt already refused: fenced, no effect.
            (409, "attempt-superseded", _) => "attempt-superseded",
            // The contract's answer when conflicts outlast the guard's retries; no effect.
            (503, "unavailable", _) => "unavailable",
            _ => panic!("unexpected answer: {o:#?}"),
        };
        *tally.entry(kind.into()).or_default() += 1;
        by_key.entry(o.index).or_default().push(o);
    }

    // At most one effect per key; a replay repeats it byte for byte.
    let mut expected_ids = HashSet::new();
    let mut expected = [INITIAL as i128; ACCOUNTS];
    for (index, answers) in &by_key {
        let fresh: Vec<_> = answers
            .iter()
            .filter(|o| o.status == 201 && !o.replayed)
            .collect();
        assert!(
            fresh.len() <= 1,
            "key {index} moved money twice: {answers:#?}"
        );
        for replay in answers.iter().filter(|o| o.replayed) {
            let original = fresh
                .first()
                .unwrap_or_else(|| panic!("replay without effect: {answers:#?}"));
            assert_eq!(replay.body, original.body, "key {index}");
        }
        if let Some(o) = fresh.first() {
            let body: serde_json::Value = serde_json::from_str(&o.body).unwrap();
            let (from, to, amount) = &plan[*index];
            assert_eq!(body["from"], from.as_str());
            assert_eq!(body["to"], to.as_str());
            assert_eq!(body["amount"], *amount);
            expected_ids.insert(body["transfer_id"].as_str().unwrap().to_owned());
            let f: usize = from[4..].parse().unwrap();
            let t: usize = to[4..].parse().unwrap();
            expected[f] -= *amount as i128;
            expected[t] += *amount as i128;
        }
    }

    // One transfer record per successful key, and nothing else.
    let records = app.transfers().await;
    let record_ids: HashSet<String> = records.iter().map(|r| r.transfer_id.clone()).collect();
    assert_eq!(records.len(), record_ids.len());
    assert_eq!(record_ids, expected_ids);
    assert_eq!(
        app.snapshot().await.idempotency,
        ACCOUNTS + expected_ids.len(),
        "one idempotency record per effect"
    );

    // The records' amounts explain every balance; money is conserved; nothing went negative
    // (a negative balance would not even parse as u64).
    let mut from_records: HashMap<&str, i128> = ids
        .iter()
        .map(|id| (id.as_str(), INITIAL as i128))
        .collect();
    for r in &records {
        *from_records.get_mut(r.from.as_str()).unwrap() -= r.amount as i128;
        *from_records.get_mut(r.to.as_str()).unwrap() += r.amount as i128;
    }
    let mut total = 0i128;
    for (i, id) in ids.iter().enumerate() {
        let balance = app.balance(id).await as i128;
        assert_eq!(
            balance,
            from_records[id.as_str()],
            "{id} vs transfer records"
        );
        assert_eq!(balance, expected[i], "{id} vs answers");
        total += balance;
    }
    assert_eq!(total, (INITIAL as i128) * ACCOUNTS as i128);
    assert!(
        tally.get("fresh").copied().unwrap_or(0) > TRANSFERS / 4,
        "too few transfers succeeded to mean anything: {tally:?}"
    );
    println!(
        "{} requests from {WORKERS} workers in {elapsed_requests:?} (total {:?}): {tally:?}",
        outcomes.len(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_captured_request_racing_its_replays_passes_the_nonce_once() {
    let started = Instant::now();
    let app = Arc::new(TestApp::new().await);
    let alice = &app.alice;
    app.open_account(alice, "acc_alice", "EUR", 100_000).await;
    app.open_account(alice, "acc_bob", "EUR", 0).await;

    let rounds = 20u64;
    for round in 1..=rounds {
        let body = TestApp::transfer_body("acc_alice", "acc_bob", 1);
        let captured = app.signed(alice, "POST", "/transfers", &body);
        // The same bytes (same nonce, same signature), each arriving as its own invocation.
        let copies: Vec<Call> = (0..8).map(|_| captured.replayed()).collect();
        let answers = race(&app, copies).await;
        let passed: Vec<_> = answers.iter().filter(|a| a.status != 401).collect();
        assert_eq!(passed.len(), 1, "round {round}: {answers:#?}");
        assert_eq!(passed[0].status, 201, "round {round}: {}", passed[0].body);
        for a in answers.iter().filter(|a| a.status == 401) {
            assert_eq!(a.code(), "nonce-reused", "round {round}");
        }
        assert_eq!(app.balance("acc_bob").await, round);
    }

    // Reads too: one of the copies of a captured GET is answered, the rest refused.
    for round in 0..10 {
        let captured = app.signed(alice, "GET", "/accounts/acc_bob", "");
        let copies: Vec<Call> = (0..8).map(|_| captured.replayed()).collect();
        let answers = race(&app, copies).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "GET round {round}: {statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 401).count(),
            7,
            "GET round {round}: {statuses:?}"
        );
    }
    assert_eq!(app.transfers().await.len() as u64, rounds);
    assert_eq!(app.balance("acc_alice").await, 100_000 - rounds);
    println!("captured-request races: {:?}", started.elapsed());
}
