//! Jepsen's bank workload over HTTP: several clients and accounts in two currencies, logical
//! transfers from concurrent workers (each with its own idempotency key), mixed with immediate,
//! concurrent and late duplicates, captured replays, tampered copies and held attempts, all
//! while the proxy injects faults between the functions and DynamoDB. At the end the tables and
//! every answer clients got are checked (see [`check`]).
//!
//! Sized by the environment (bounded defaults for `make test`; `make soak` raises them):
//! `BANK_TRANSFERS` (400), `BANK_WORKERS` (8), `BANK_FAULT_RATE` (0.03), `BANK_HELD_RATE` (0.03),
//! `BANK_SEED`, and `BANK_REPORT` (a path: write the markdown report there).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use replaysafe::{Clock, SystemClock};
use replaysafe_tests::faults::{FaultMix, FaultProxy};
use replaysafe_tests::server::ApiServer;
use replaysafe_tests::wire::{send_bytes, WireAnswer};
use replaysafe_tests::{endpoint, Call, TestApp, TestClient};

use super::faults::app_behind;

const CURRENCIES: [&str; 2] = ["EUR", "USD"];
const ACCOUNTS_PER_CLIENT_AND_CURRENCY: usize = 2;
const CLIENTS: usize = 3;
const OPENING_BALANCE: u64 = 20_000;
const HELD_AMOUNT: u64 = 500;
/// Longer than any request can take: three SDK calls of at most 4 s each.
const ANSWER_WAIT: Duration = Duration::from_secs(20);

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Why a request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    /// The first attempt of a logical transfer.
    Original,
    /// The same key and body, signed anew, sent right after the original's answer.
    Immediate,
    /// Signed anew and sent at the same moment as the original.
    Concurrent,
    /// Signed anew and sent after every worker finished.
    Late,
    /// A retry after no answer or a 503, once the faults stopped.
    Retry,
    /// The exact bytes of an answered request, sent again.
    Replay,
    /// An answered request's bytes with the amount changed and the digest recomputed.
    Tampered,
    /// Signed before a later attempt was refused, delivered after funds arrived.
    Held,
}

#[derive(Debug, Clone)]
struct Attempt {
    key: String,
    kind: Kind,
    /// The signature's `created`.
    created: i64,
    answer: Option<WireAnswer>,
}

struct World {
    server: ApiServer,
    proxy: FaultProxy,
    app: TestApp,
    clients: Vec<TestClient>,
    /// (account id, owner index, currency)
    accounts: Vec<(String, usize, &'static str)>,
    /// One per held case: (owner index, account id), opened empty.
    held_accounts: Vec<(usize, String)>,
    log: Mutex<Vec<Attempt>>,
    /// Each logical transfer's first call, to sign its retries from.
    originals: Mutex<HashMap<String, Call>>,
    late: Mutex<Vec<Call>>,
    next: AtomicUsize,
    held_next: AtomicUsize,
}

impl World {
    async fn deliver(&self, call: &Call, kind: Kind) -> Option<WireAnswer> {
        let answer = send_bytes(self.server.addr, &call.http_bytes(), ANSWER_WAIT).await;
        self.log.lock().unwrap().push(Attempt {
            key: call.idempotency_key.clone().unwrap_or_default(),
            kind,
            created: call.created,
            answer: answer.clone(),
        });
        answer
    }

    /// A new logical transfer signed by `client` with the real clock, as an HTTP client would.
    fn transfer(&self, client: usize, from: &str, to: &str, amount: u64, currency: &str) -> Call {
        let body =
            format!(r#"{{"from":"{from}","to":"{to}","amount":{amount},"currency":"{currency}"}}"#);
        let call = self
            .app
            .signed(&self.clients[client], "POST", "/transfers", &body)
            .resigned(SystemClock.now());
        let key = call.idempotency_key.clone().expect("a POST has a key");
        self.originals.lock().unwrap().insert(key, call.clone());
        call
    }

    /// Sends `call`, then retries it signed anew until the answer is one the client can rely on.
    async fn until_definitive(&self, call: &Call) {
        let mut attempt = call.clone();
        for _ in 0..10 {
            if definitive(&self.deliver(&attempt, Kind::Original).await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            attempt = call.resigned(SystemClock.now().max(call.created));
        }
    }
}

/// An answer the client can rely on: anything but none, a 503 or a 409 in-progress.
fn definitive(a: &Option<WireAnswer>) -> bool {
    a.as_ref()
        .is_some_and(|a| a.status != 503 && a.code() != "request-in-progress")
}

fn is_refusal(a: &WireAnswer) -> bool {
    matches!(
        (a.status, a.code().as_str()),
        (409, "insufficient-funds" | "currency-mismatch") | (404, _)
    )
}

async fn worker(world: Arc<World>, total: usize, seed: u64, held_rate: f64) {
    loop {
        let i = world.next.fetch_add(1, Ordering::SeqCst);
        if i >= total {
            return;
        }
        let mut rng = StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if rng.random_bool(held_rate) {
            let h = world.held_next.fetch_add(1, Ordering::SeqCst);
            if h < world.held_accounts.len() {
                held_case(&world, h).await;
                continue;
            }
        }
        let pick = rng.random_range(0..world.accounts.len());
        let (from, client, currency) = world.accounts[pick].clone();
        // Some transfers are refused for good: another currency, or more than all the money.
        let to_currency = if rng.random_bool(0.05) {
            *CURRENCIES.iter().find(|c| **c != currency).unwrap()
        } else {
            currency
        };
        let amount = if rng.random_bool(0.05) {
            OPENING_BALANCE * 100
        } else {
            rng.random_range(1..=2_000)
        };
        let to: Vec<&String> = world
            .accounts
            .iter()
            .filter(|(id, _, c)| *c == to_currency && *id != from)
            .map(|(id, ..)| id)
            .collect();
        let to = to[rng.random_range(0..to.len())].clone();
        let call = world.transfer(client, &from, &to, amount, currency);

        let roll: f64 = rng.random();
        let answer = if roll < 0.1 {
            let mut copies = vec![(call.clone(), Kind::Original)];
            copies.extend((0..2).map(|_| (call.resigned(SystemClock.now()), Kind::Concurrent)));
            let answers =
                futures::future::join_all(copies.iter().map(|(c, k)| world.deliver(c, *k))).await;
            answers.into_iter().next().flatten()
        } else {
            world.deliver(&call, Kind::Original).await
        };
        if (0.1..0.2).contains(&roll) {
            let again = call.resigned(SystemClock.now());
            world.deliver(&again, Kind::Immediate).await;
        } else if (0.2..0.3).contains(&roll) {
            world.late.lock().unwrap().push(call.clone());
        }
        // A captured copy, or a tampered one, of a request whose nonce was surely consumed.
        if definitive(&answer) {
            if rng.random_bool(0.1) {
                world.deliver(&call.replayed(), Kind::Replay).await;
            }
            if rng.random_bool(0.1) {
                let copy = tampered(&call, amount, rng.random_bool(0.5));
                world.deliver(&copy, Kind::Tampered).await;
            }
        }
    }
}

/// The captured bytes with the amount raised by one and the digest recomputed (no secret is
/// needed for that); with `new_nonce`, the nonce in `Signature-Input` changed too, so that the
/// nonce check cannot stop it: only the signature can tell.
fn tampered(call: &Call, amount: u64, new_nonce: bool) -> Call {
    let body = String::from_utf8(call.body.clone()).expect("JSON is text");
    let mut copy = call.replayed();
    copy.body = body
        .replace(
            &format!("\"amount\":{amount}"),
            &format!("\"amount\":{}", amount + 1),
        )
        .into_bytes();
    let digest = replaysafe_signing::content_digest(&copy.body);
    let fresh = replaysafe_signing::random_nonce();
    let old = call.nonce.clone();
    copy.edit_header("content-digest", |_| digest.clone())
        .edit_header("signature-input", |v| {
            if new_nonce {
                v.replace(&format!("nonce=\"{old}\""), &format!("nonce=\"{fresh}\""))
            } else {
                v.to_owned()
            }
        })
}

/// An attempt signed and held back; a later-signed attempt with the same key is refused (the
/// account is empty); funds arrive; then the held attempt is delivered.
async fn held_case(world: &World, h: usize) {
    let (owner, account) = world.held_accounts[h].clone();
    let to = world
        .accounts
        .iter()
        .find(|(_, o, c)| *o != owner && *c == "EUR");
    let funder = world
        .accounts
        .iter()
        .find(|(_, o, c)| *o == owner && *c == "EUR");
    let (to, funder) = (to.unwrap().0.clone(), funder.unwrap().0.clone());
    let held = world.transfer(owner, &account, &to, HELD_AMOUNT, "EUR");
    world
        .until_definitive(&held.resigned(held.created + 1))
        .await;
    let top_up = world.transfer(owner, &funder, &account, HELD_AMOUNT, "EUR");
    world.until_definitive(&top_up).await;
    world.deliver(&held, Kind::Held).await;
}

/// Keys with no definitive answer yet are retried, signed anew, until they get one: every
/// logical transfer ends known.
async fn settle(world: &World) {
    for _ in 0..10 {
        let open: Vec<String> = {
            let log = world.log.lock().unwrap();
            let mut keys = HashSet::new();
            let mut known = HashSet::new();
            for a in log.iter().filter(|a| a.kind < Kind::Replay) {
                keys.insert(a.key.clone());
                if definitive(&a.answer) {
                    known.insert(a.key.clone());
                }
            }
            keys.difference(&known).cloned().collect()
        };
        if open.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        for key in open {
            let call = world.originals.lock().unwrap()[&key].clone();
            let retry = call.resigned(SystemClock.now().max(call.created + 1));
            world.deliver(&retry, Kind::Retry).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bank_workload_over_http_under_faults_keeps_every_invariant() {
    let started = Instant::now();
    let total: usize = env("BANK_TRANSFERS", 400);
    let workers: usize = env("BANK_WORKERS", 8);
    let fault_rate: f64 = env("BANK_FAULT_RATE", 0.03);
    let held_rate: f64 = env("BANK_HELD_RATE", 0.03);
    let seed: u64 = env("BANK_SEED", 11);

    let proxy = FaultProxy::start(&endpoint(), seed).await;
    let app = app_behind(&proxy).await;
    let mut clients = vec![app.new_client().await];
    for _ in 1..CLIENTS {
        clients.push(app.new_client().await);
    }
    let mut accounts = Vec::new();
    for (c, client) in clients.iter().enumerate() {
        for currency in CURRENCIES {
            for j in 0..ACCOUNTS_PER_CLIENT_AND_CURRENCY {
                let id = format!("acc_{c}_{currency}_{j}");
                app.open_account(client, &id, currency, OPENING_BALANCE)
                    .await;
                accounts.push((id, c, currency));
            }
        }
    }
    let mut held_accounts = Vec::new();
    let held_cases = (total as f64 * held_rate * 2.0).ceil() as usize;
    for h in 0..held_cases {
        let id = format!("acc_held_{h}");
        app.open_account(&clients[h % CLIENTS], &id, "EUR", 0).await;
        held_accounts.push((h % CLIENTS, id));
    }
    let world = Arc::new(World {
        server: app.http_server().await,
        proxy,
        app,
        clients,
        accounts,
        held_accounts,
        log: Mutex::default(),
        originals: Mutex::default(),
        late: Mutex::default(),
        next: AtomicUsize::new(0),
        held_next: AtomicUsize::new(0),
    });

    world.proxy.set_mix(FaultMix::all(fault_rate));
    let tasks: Vec<_> = (0..workers)
        .map(|_| tokio::spawn(worker(world.clone(), total, seed, held_rate)))
        .collect();
    for t in tasks {
        t.await.expect("worker");
    }
    let late: Vec<Call> = std::mem::take(&mut *world.late.lock().unwrap());
    for call in late {
        let again = call.resigned(SystemClock.now());
        world.deliver(&again, Kind::Late).await;
    }
    world.proxy.calm();
    let faults = world.proxy.counts();
    settle(&world).await;

    let violations = check(&world).await;
    let report = report(&world, fault_rate, &faults, &violations, started.elapsed());
    if let Ok(path) = std::env::var("BANK_REPORT") {
        std::fs::write(&path, &report).expect("write the report");
    }
    println!("{report}");
    assert!(violations.is_empty(), "{report}");
    assert!(faults.total() > 0 || fault_rate == 0.0, "no fault injected");
}

/// Every invariant, from the tables and from what clients were told.
async fn check(world: &World) -> Vec<String> {
    let mut violations = Vec::new();
    let snapshot = world.app.snapshot().await;
    let stored = world.app.transfers().await;
    let log = world.log.lock().unwrap().clone();

    // Money per currency is conserved, and every balance is what its transfers say.
    let mut currency_of: HashMap<&str, &str> = HashMap::new();
    let mut expected: HashMap<&str, i128> = HashMap::new();
    for (id, _, c) in &world.accounts {
        currency_of.insert(id, c);
        expected.insert(id, OPENING_BALANCE as i128);
    }
    for (_, id) in &world.held_accounts {
        currency_of.insert(id, "EUR");
        expected.insert(id, 0);
    }
    for t in &stored {
        *expected.get_mut(t.from.as_str()).unwrap() -= t.amount as i128;
        *expected.get_mut(t.to.as_str()).unwrap() += t.amount as i128;
    }
    let mut total: BTreeMap<&str, (i128, i128)> = BTreeMap::new();
    for (id, (balance, _)) in &snapshot.accounts {
        let want = expected[id.as_str()];
        if want < 0 || (*balance as i128) != want {
            violations.push(format!("{id}: balance {balance}, its transfers say {want}"));
        }
        let entry = total.entry(currency_of[id.as_str()]).or_default();
        entry.0 += *balance as i128;
    }
    for (id, c) in &currency_of {
        let opening = if id.starts_with("acc_held_") {
            0
        } else {
            OPENING_BALANCE
        };
        total.entry(c).or_default().1 += opening as i128;
    }
    for (c, (now, opening)) in &total {
        if now != opening {
            violations.push(format!("{c}: {now} in the accounts, {opening} opened with"));
        }
    }

    // Per key: one transfer per 201'd key, byte-identical 201 bodies, refused stays refused.
    let mut by_key: BTreeMap<&str, Vec<&Attempt>> = BTreeMap::new();
    for a in &log {
        by_key.entry(&a.key).or_default().push(a);
    }
    let mut acknowledged = HashSet::new();
    for (key, attempts) in &by_key {
        let ok: Vec<&WireAnswer> = attempts
            .iter()
            .filter(|a| a.kind < Kind::Replay || a.kind == Kind::Held)
            .filter_map(|a| a.answer.as_ref())
            .filter(|a| a.status == 201)
            .collect();
        if ok.iter().any(|a| a.body != ok[0].body) {
            violations.push(format!("{key}: 201 answers with different bodies"));
        }
        let fresh: Vec<&&Attempt> = attempts
            .iter()
            .filter(|a| {
                a.answer
                    .as_ref()
                    .is_some_and(|w| w.status == 201 && !w.replayed())
            })
            .collect();
        if fresh.len() > 1 {
            let ids: Vec<String> = fresh
                .iter()
                .filter_map(|a| a.answer.as_ref())
                .map(|w| w.json()["transfer_id"].as_str().unwrap_or("").to_owned())
                .collect();
            let mut needles = vec![*key];
            needles.extend(ids.iter().map(String::as_str));
            let evidence = world.app.evidence(&needles).await;
            violations.push(format!("{key}: {} fresh 201s; {evidence}", fresh.len()));
        }
        if let Some(first) = ok.first() {
            acknowledged.insert(
                first.json()["transfer_id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
        for refused in attempts
            .iter()
            .filter(|a| a.answer.as_ref().is_some_and(is_refusal))
        {
            if let Some(f) = fresh.iter().find(|f| f.created <= refused.created) {
                violations.push(format!(
                    "{key}: refused an attempt signed at {}, yet one signed at {} ({:?}) moved money",
                    refused.created, f.created, f.kind
                ));
            }
        }
        for a in attempts {
            if let Some(problem) = unexpected(a) {
                violations.push(format!("{key}: {:?} attempt got {problem}", a.kind));
            }
        }
    }
    let in_table: HashSet<String> = stored.iter().map(|t| t.transfer_id.clone()).collect();
    for id in in_table.difference(&acknowledged) {
        let evidence = world.app.evidence(&[id.as_str()]).await;
        violations.push(format!(
            "transfer {id} in the table, no key was answered 201 with it; {evidence}"
        ));
    }
    for id in acknowledged.difference(&in_table) {
        violations.push(format!(
            "a key was answered 201 with {id}, not in the table"
        ));
    }
    violations
}

/// An answer that no attempt of its kind may get.
fn unexpected(a: &Attempt) -> Option<String> {
    let w = a.answer.as_ref()?;
    let code = w.code();
    let problem_json = w.header("content-type") == Some("application/problem+json");
    if w.status >= 400 && !problem_json {
        return Some(format!("{} without problem+json", w.status));
    }
    let ok = match (a.kind, w.status, code.as_str()) {
        (_, 503, "unavailable") => w.header("retry-after").is_some(),
        (Kind::Replay, 401, "nonce-reused") => true,
        (Kind::Tampered, 401, "signature-invalid") => true,
        (Kind::Replay | Kind::Tampered, ..) => false,
        (_, 201, _) => true,
        (_, 409, "insufficient-funds" | "currency-mismatch" | "request-in-progress") => true,
        (_, 409, "attempt-superseded") => true,
        _ => false,
    };
    (!ok).then(|| format!("{} {code}", w.status))
}

fn report(
    world: &World,
    fault_rate: f64,
    faults: &replaysafe_tests::faults::FaultCounts,
    violations: &[String],
    took: Duration,
) -> String {
    let log = world.log.lock().unwrap();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for a in log.iter() {
        *kinds.entry(format!("{:?}", a.kind)).or_default() += 1;
        let answer = match &a.answer {
            Some(w) if w.status == 201 && w.replayed() => "201 replayed".to_owned(),
            Some(w) if w.status == 201 => "201".to_owned(),
            Some(w) => format!("{} {}", w.status, w.code()),
            None => "no answer".to_owned(),
        };
        *answers.entry(answer).or_default() += 1;
    }
    let logical = world.originals.lock().unwrap().len();
    let mut out = format!(
        "# Reliability report: the bank workload\n\n\
         - ran for {:.1} s; {} logical transfers (each its own key), {} requests over HTTP\n\
         - fault rate {fault_rate}: {} faults injected ({}); {} DynamoDB requests passed\n\
         - violations: **{}**\n\n## Requests by kind\n\n| kind | requests |\n|---|---|\n",
        took.as_secs_f64(),
        logical,
        log.len(),
        faults.total(),
        faults.summary(),
        faults.passed,
        violations.len(),
    );
    for (k, n) in &kinds {
        out.push_str(&format!("| {k} | {n} |\n"));
    }
    out.push_str("\n## Answers\n\n| answer | count |\n|---|---|\n");
    for (k, n) in &answers {
        out.push_str(&format!("| {k} | {n} |\n"));
    }
    out.push_str("\n## Violations\n\n");
    if violations.is_empty() {
        out.push_str("none\n");
    }
    for v in violations.iter().take(50) {
        out.push_str(&format!("- {v}\n"));
    }
    out
}
