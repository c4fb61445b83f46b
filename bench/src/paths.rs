//! The request paths, each driven the same way for every subject: replaysafe's handlers
//! in-process (signatures, and behind an authorizer), the Powertools peer (with and without its
//! nonce put), and the floors. Subjects take turns iteration by iteration (one request of each
//! path), the first of each turn rotating, so that DynamoDB Local's drift, and whatever one
//! subject leaves it busy with, falls on all of them alike; ratios are also taken per round, to
//! show what is left of it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lambda_http::Request;
use payments::routes::Route;
use payments::Payments;
use replaysafe::testing;
use replaysafe::{Clock, SystemClock};
use replaysafe_tests::{Answer, TestApp};

use crate::capacity::{self, Capacity};

use crate::calls::measure;
use crate::floor::Floor;
use crate::peer::{event, forged, Peer};
use crate::stats::Sample;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    Fresh,
    Replay,
    Insufficient,
    Get,
    BadSignature,
}

impl Path {
    pub const ALL: [Path; 5] = [
        Path::Fresh,
        Path::Replay,
        Path::Insufficient,
        Path::Get,
        Path::BadSignature,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Path::Fresh => "POST /transfers, fresh",
            Path::Replay => "POST /transfers, retry (replayed)",
            Path::Insufficient => "POST /transfers, insufficient funds",
            Path::Get => "GET /accounts/{id}",
            Path::BadSignature => "POST, bad signature",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    Ours,
    /// replaysafe behind an authorizer (`Auth::jwt()`): no signature, no nonce.
    Authorized,
    PeerNonce,
    Peer,
    Floor,
    /// The authorizer mode's floor: its one `TransactWriteItems`, bare.
    OneTransaction,
}

impl Subject {
    pub const ALL: [Subject; 6] = [
        Subject::Ours,
        Subject::Authorized,
        Subject::PeerNonce,
        Subject::Peer,
        Subject::Floor,
        Subject::OneTransaction,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Subject::Ours => "replaysafe",
            Subject::Authorized => "replaysafe, authorizer",
            Subject::PeerNonce => "Powertools + nonce",
            Subject::Peer => "Powertools, no nonce",
            Subject::Floor => "SDK floor",
            Subject::OneTransaction => "one TransactWriteItems",
        }
    }
}

/// Every sample, by subject and path, with the round it was taken in.
#[derive(Default)]
pub struct PathResults {
    pub samples: BTreeMap<(Subject, Path), Vec<(usize, Sample)>>,
}

impl PathResults {
    fn push(&mut self, subject: Subject, path: Path, round: usize, sample: Sample) {
        self.samples
            .entry((subject, path))
            .or_default()
            .push((round, sample));
    }

    pub fn get(&self, subject: Subject, path: Path) -> Vec<&Sample> {
        self.samples
            .get(&(subject, path))
            .map(|v| v.iter().map(|(_, s)| s).collect())
            .unwrap_or_default()
    }

    pub fn in_round(&self, subject: Subject, path: Path, round: usize) -> Vec<&Sample> {
        self.samples
            .get(&(subject, path))
            .map(|v| {
                v.iter()
                    .filter(|(r, _)| *r == round)
                    .map(|(_, s)| s)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Everything the subjects need, set up once on one DynamoDB Local.
pub struct Subjects {
    pub ours: TestApp,
    pub floor: Floor,
    /// The peer's own tables and client (created through our API, then left to the peer).
    pub peer_app: TestApp,
    pub peer_nonce: Peer,
    pub peer: Peer,
    /// The same handlers, tables and clock as `ours`, the guard behind a JWT authorizer.
    pub authorized: Payments,
    pub one_transaction: Floor,
}

/// The JWT `sub` of the authorizer mode's caller.
pub const SUB: &str = "alice";

/// `req` through the endpoint API Gateway routes it to, as its function serves it.
pub async fn serve(app: &Payments, req: &Request) -> Answer {
    let path = req.uri().path().to_owned();
    let route = Route::matching(req.method().as_str(), &path)
        .unwrap_or_else(|| panic!("no route for {path}"));
    Answer::of(route.serve(app, req).await)
}

const TRANSFER: &str = r#"{"from":"acc_a","to":"acc_b","amount":1,"currency":"EUR"}"#;
const TOO_MUCH: &str = r#"{"from":"acc_poor","to":"acc_b","amount":5,"currency":"EUR"}"#;
const FORGED: &str = r#"{"from":"acc_a","to":"acc_b","amount":999,"currency":"EUR"}"#;
const JWT_TRANSFER: &str = r#"{"from":"acc_ja","to":"acc_jb","amount":1,"currency":"EUR"}"#;
const JWT_TOO_MUCH: &str = r#"{"from":"acc_jpoor","to":"acc_jb","amount":5,"currency":"EUR"}"#;

fn check(subject: Subject, path: Path, status: u16, want: u16) {
    assert_eq!(
        status,
        want,
        "{} {}: status {status}, expected {want}",
        subject.name(),
        path.name()
    );
}

impl Subjects {
    /// One request of each path, as `subject` serves it.
    pub async fn iteration(&self, subject: Subject, round: usize, out: &mut PathResults) {
        match subject {
            Subject::Ours => self.ours_iteration(round, out).await,
            Subject::PeerNonce => {
                peer_iteration(&self.peer_app, &self.peer_nonce, subject, round, out).await
            }
            Subject::Peer => peer_iteration(&self.peer_app, &self.peer, subject, round, out).await,
            Subject::Floor => self.floor_iteration(round, out).await,
            Subject::Authorized => self.authorized_iteration(round, out).await,
            Subject::OneTransaction => self.one_transaction_iteration(round, out).await,
        }
    }

    /// Behind an authorizer there is no signature to get wrong: no bad-signature path.
    async fn authorized_iteration(&self, round: usize, out: &mut PathResults) {
        let app = &self.authorized;
        let s = Subject::Authorized;
        let key = uuid::Uuid::new_v4().to_string();
        let post = |body: &str, key: &str| {
            testing::authorized("POST", "/transfers", body.as_bytes(), Some(key), SUB)
        };
        let first = post(JWT_TRANSFER, &key);
        let (a, sample) = measure(serve(app, &first)).await;
        check(s, Path::Fresh, a.status, 201);
        assert!(!a.replayed(), "{}", a.body);
        out.push(s, Path::Fresh, round, sample);
        let retry = post(JWT_TRANSFER, &key);
        let (a, sample) = measure(serve(app, &retry)).await;
        check(s, Path::Replay, a.status, 201);
        assert!(a.replayed(), "a retry is answered from the record");
        out.push(s, Path::Replay, round, sample);
        let poor = post(JWT_TOO_MUCH, &uuid::Uuid::new_v4().to_string());
        let (a, sample) = measure(serve(app, &poor)).await;
        check(s, Path::Insufficient, a.status, 409);
        out.push(s, Path::Insufficient, round, sample);
        let get = testing::authorized("GET", "/accounts/acc_ja", b"", None, SUB);
        let (a, sample) = measure(serve(app, &get)).await;
        check(s, Path::Get, a.status, 200);
        out.push(s, Path::Get, round, sample);
    }

    /// The transaction committed under a new key, then sent again under the same key: cancelled
    /// on the claim, the record coming back in its `ALL_OLD`.
    async fn one_transaction_iteration(&self, round: usize, out: &mut PathResults) {
        let f = &self.one_transaction;
        let s = Subject::OneTransaction;
        let key = uuid::Uuid::new_v4().to_string();
        let (done, sample) = measure(f.one_transaction(&key, "acc_ta", "acc_tb", 1)).await;
        assert_eq!(done, Ok(()), "the one transaction commits");
        out.push(s, Path::Fresh, round, sample);
        let (done, sample) = measure(f.one_transaction(&key, "acc_ta", "acc_tb", 1)).await;
        assert_eq!(done, Err(true), "the same key's claim is cancelled");
        out.push(s, Path::Replay, round, sample);
    }

    async fn ours_iteration(&self, round: usize, out: &mut PathResults) {
        let app = &self.ours;
        let s = Subject::Ours;
        let first = app.signed(&app.alice, "POST", "/transfers", TRANSFER);
        let (a, sample) = measure(app.send(&first)).await;
        check(s, Path::Fresh, a.status, 201);
        out.push(s, Path::Fresh, round, sample);
        let (a, sample) = measure(app.send(&first.resigned(app.clock.now()))).await;
        check(s, Path::Replay, a.status, 201);
        assert!(a.replayed(), "a retry is answered from the record");
        out.push(s, Path::Replay, round, sample);
        let poor = app.signed(&app.alice, "POST", "/transfers", TOO_MUCH);
        let (a, sample) = measure(app.send(&poor)).await;
        check(s, Path::Insufficient, a.status, 409);
        out.push(s, Path::Insufficient, round, sample);
        let get = app.signed(&app.alice, "GET", "/accounts/acc_a", "");
        let (a, sample) = measure(app.send(&get)).await;
        check(s, Path::Get, a.status, 200);
        out.push(s, Path::Get, round, sample);
        let mut bad = app.signed(&app.alice, "POST", "/transfers", TRANSFER);
        bad.body = FORGED.as_bytes().to_vec();
        bad = bad.without_header("content-digest").with_header(
            "content-digest",
            &replaysafe_signing::content_digest(FORGED.as_bytes()),
        );
        let (a, sample) = measure(app.send(&bad)).await;
        check(s, Path::BadSignature, a.status, 401);
        out.push(s, Path::BadSignature, round, sample);
    }

    async fn floor_iteration(&self, round: usize, out: &mut PathResults) {
        let f = &self.floor;
        let s = Subject::Floor;
        // Nonce put ∥ record read, then the 4-item transaction.
        let transfer = |key: String, from: &'static str, amount: u64| async move {
            futures::join!(f.put_nonce(), f.read_record(&key));
            f.transact(&key, from, "acc_fb", amount).await
        };
        let key = uuid::Uuid::new_v4().to_string();
        let (done, sample) = measure(transfer(key.clone(), "acc_fa", 1)).await;
        assert!(done.is_ok(), "the floor's transfer commits");
        out.push(s, Path::Fresh, round, sample);
        let ((), sample) = measure(async {
            futures::join!(f.put_nonce(), f.read_record(&key));
        })
        .await;
        out.push(s, Path::Replay, round, sample);
        let other = uuid::Uuid::new_v4().to_string();
        let (done, sample) = measure(transfer(other, "acc_fpoor", 5)).await;
        assert!(done.is_err(), "the floor's overdraft is cancelled");
        out.push(s, Path::Insufficient, round, sample);
        let ((), sample) = measure(async {
            futures::join!(f.put_nonce(), f.read_account("acc_fa"));
        })
        .await;
        out.push(s, Path::Get, round, sample);
        // A bad signature needs no call at all: its floor is zero.
        out.push(
            s,
            Path::BadSignature,
            round,
            Sample::new(Duration::ZERO, vec![]),
        );
    }
}

async fn peer_iteration(
    app: &TestApp,
    peer: &Peer,
    s: Subject,
    round: usize,
    out: &mut PathResults,
) {
    let signer = app.alice.signer();
    let now = SystemClock.now();
    let key = uuid::Uuid::new_v4().to_string();
    let send = |e| async move { peer.send(&e).await.unwrap_or_else(|e| panic!("peer: {e}")) };
    let post = |body: &str, key: &str| event(&signer, "POST", "/transfers", body, Some(key), now);
    let other = uuid::Uuid::new_v4().to_string();
    let events = [
        (Path::Fresh, post(PEER_TRANSFER, &key), 201),
        (Path::Replay, post(PEER_TRANSFER, &key), 201),
        (Path::Insufficient, post(PEER_TOO_MUCH, &other), 409),
        (
            Path::Get,
            event(&signer, "GET", "/accounts/acc_pa", "", None, now),
            200,
        ),
        (
            Path::BadSignature,
            forged(post(PEER_TRANSFER, &key), PEER_FORGED),
            401,
        ),
    ];
    for (path, e, want) in events {
        let (status, sample) = send(e).await;
        check(s, path, status, want);
        out.push(s, path, round, sample);
    }
}

const PEER_TRANSFER: &str = r#"{"from":"acc_pa","to":"acc_pb","amount":1,"currency":"EUR"}"#;
const PEER_TOO_MUCH: &str = r#"{"from":"acc_ppoor","to":"acc_pb","amount":5,"currency":"EUR"}"#;
const PEER_FORGED: &str = r#"{"from":"acc_pa","to":"acc_pb","amount":999,"currency":"EUR"}"#;

/// Load on every subject for `duration`: DynamoDB Local's JIT and the peer's interpreter
/// reach their steady state before anything is measured.
pub async fn warm_up(subjects: &Subjects, duration: Duration) -> usize {
    let until = Instant::now() + duration;
    let mut scratch = PathResults::default();
    let mut n = 0;
    // Iterations of every subject, not requests.
    while Instant::now() < until {
        for subject in Subject::ALL {
            subjects.iteration(subject, 0, &mut scratch).await;
            n += 1;
        }
    }
    n
}

/// What each path consumes, by subject: one iteration of every subject with its calls
/// described (see [`crate::capacity`]), untimed.
pub async fn capacity(subjects: &Subjects) -> BTreeMap<(Subject, Path), Capacity> {
    capacity::capture(true);
    let mut scratch = PathResults::default();
    for subject in Subject::ALL {
        subjects.iteration(subject, 0, &mut scratch).await;
    }
    capacity::capture(false);
    scratch
        .samples
        .into_iter()
        .filter_map(|(at, samples)| samples.first().map(|(_, s)| (at, s.capacity)))
        .collect()
}

/// `rounds` rounds of `per_round` iterations of every subject, the subjects taking turns; who
/// goes first rotates, so none always follows the same one.
pub async fn run(subjects: &Subjects, rounds: usize, per_round: usize) -> PathResults {
    let mut out = PathResults::default();
    let n = Subject::ALL.len();
    for round in 0..rounds {
        for i in 0..per_round {
            for subject in Subject::ALL.iter().cycle().skip(i % n).take(n) {
                subjects.iteration(*subject, round, &mut out).await;
            }
        }
    }
    out
}
