//! `make bench` (scripts/bench.sh starts DynamoDB Local and builds the binaries first):
//! warm-up, alternating rounds of the request paths, cold starts, concurrency, then
//! `bench/RESULTS.md` and `bench/latency.svg`.
//!
//! Knobs (environment): BENCH_WARMUP_SECS (45), BENCH_ROUNDS (5), BENCH_PER_ROUND (60),
//! BENCH_COLD_RUNS (10), BENCH_LEVEL_REQUESTS (400), BENCH_BIN_DIR (target/release),
//! BENCH_PYTHON (.venv/bin/python), BENCH_OUT_DIR (bench), BENCH_CRITERION_DIR
//! (target/criterion), BENCH_LAMBDA_DIR (target/lambda, where `make build` leaves its zips),
//! DYNAMODB_PID (DynamoDB Local's JVM, for its CPU time), BENCH_ABOUT (extra `label: value`
//! lines for the header, one a line), BENCH_BEFORE_BIN_DIR (binaries of another build whose
//! cold start to measure beside today's, over HTTP and HTTPS), BENCH_BEFORE_LABEL (what to call
//! them: "before"), BENCH_ONLY=cold (only the cold starts, printed, nothing written: for working
//! on init; run the binary itself, on a DynamoDB Local in the environment), BENCH_ONLY=payouts
//! (only the payout batches and the withdrawals, printed with their sections of RESULTS.md,
//! nothing written), BENCH_OUTSIDE_PER_ROUND (20: payout batches of each consumer, and
//! withdrawals of each mode, per round; the rounds are BENCH_ROUNDS), BENCH_OUTSIDE_WARMUP_SECS
//! (15: their own warm-up, after the paths', for the payouts peer's interpreter and the bank's
//! connections).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use payments::bank::Bank;
use payments::Payments;
use replaysafe::config::DynamoDbTimeouts;
use replaysafe::store::sdk_client_with;
use replaysafe::testing;
use replaysafe::Auth;
use replaysafe::{ClientId, Principal};
use replaysafe::{Clock, SystemClock};
use replaysafe_bench::cold::{cold_start, summarize, ColdRun, ColdSummary};
use replaysafe_bench::floor::Floor;
use replaysafe_bench::paths::{self, Subjects, SUB};
use replaysafe_bench::peer::{event, Peer};
use replaysafe_bench::{calls, capacity, concurrency, payouts, report, sizes, tls, withdrawals};
use replaysafe_tests::outside::start_bank;
use replaysafe_tests::{endpoint, guard_on, TestApp};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn path_knob(name: &str, default: &str) -> PathBuf {
    PathBuf::from(std::env::var(name).unwrap_or_else(|_| default.to_owned()))
}

async fn instrumented_app() -> TestApp {
    // A fresh DynamoDB Local's JVM can take seconds over its first table creations: the
    // functions' production timeouts would fail the setup, not measure anything.
    let patient = DynamoDbTimeouts {
        connect: Duration::from_secs(5),
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(60),
    };
    let client = calls::instrumented(&sdk_client_with(Some(&endpoint()), Some(patient)).await);
    TestApp::with_sdk_client(client, |_| {}).await
}

/// The table Powertools' DynamoDB persistence layer expects (partition key `id`), named
/// `<prefix><name>`.
async fn powertools_table(app: &TestApp, name: &str) {
    app.store
        .client()
        .create_table()
        .table_name(format!("{}{name}", app.table_prefix()))
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("create the Powertools table");
}

/// The environment of a function or peer process on `app`'s tables.
fn function_env(app: &TestApp, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![("TABLE_PREFIX".into(), app.table_prefix())];
    for name in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    ] {
        if let Ok(v) = std::env::var(name) {
            env.push((name.into(), v));
        }
    }
    env.push((
        "AWS_DEFAULT_REGION".into(),
        std::env::var("AWS_REGION").unwrap_or("us-east-1".into()),
    ));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

async fn subjects(python: &Path, bootstrap: &Path) -> Subjects {
    let ours = instrumented_app().await;
    for (id, balance) in [("acc_a", 1_000_000_000), ("acc_b", 0), ("acc_poor", 0)] {
        ours.open_account(&ours.alice, id, "EUR", balance).await;
    }
    for (id, balance) in [("acc_fa", 1_000_000_000), ("acc_fb", 0), ("acc_fpoor", 0)] {
        ours.open_account(&ours.alice, id, "EUR", balance).await;
    }
    let floor = Floor {
        client: ours.store.client().clone(),
        store: ours.store.clone(),
        ledger: ours.ledger.clone(),
        owner: Principal::client(&ClientId::parse(&ours.alice.id).expect("client id")),
        now: ours.clock.now(),
    };
    // The peer gets tables of its own, made and filled through our API.
    let peer_app = instrumented_app().await;
    for (id, balance) in [("acc_pa", 1_000_000_000), ("acc_pb", 0), ("acc_ppoor", 0)] {
        peer_app
            .open_account(&peer_app.alice, id, "EUR", balance)
            .await;
    }
    powertools_table(&peer_app, "powertools").await;
    let start = |nonce: &'static str| {
        let env = function_env(
            &peer_app,
            &[("PEER_NONCE", nonce), ("POWERTOOLS_SERVICE_NAME", "peer")],
        );
        async move {
            Peer::start(python, bootstrap, &env)
                .await
                .expect("peer starts")
        }
    };
    let peer_nonce = start("1").await;
    let peer = start("0").await;
    // Behind an authorizer: the same tables, clock and handlers, the guard in `jwt` mode; its
    // accounts opened through it, owned by the JWT's `sub`.
    let config = replaysafe::Config {
        auth: Auth::jwt(),
        ..ours.guard().config().clone()
    };
    let authorized = Payments::new(
        guard_on(ours.store.clone(), config, ours.clock.clone()).await,
        ours.ledger.clone(),
    );
    for (id, balance) in [
        ("acc_ja", 1_000_000_000u64),
        ("acc_jb", 0),
        ("acc_jpoor", 0),
        ("acc_ta", 1_000_000_000),
        ("acc_tb", 0),
    ] {
        let body =
            format!(r#"{{"account_id":"{id}","currency":"EUR","initial_balance":{balance}}}"#);
        let key = uuid::Uuid::new_v4().to_string();
        let req = testing::authorized("POST", "/accounts", body.as_bytes(), Some(&key), SUB);
        let answer = paths::serve(&authorized, &req).await;
        assert_eq!(answer.status, 201, "open {id}: {}", answer.body);
    }
    let one_transaction = Floor {
        owner: Principal::authorized(SUB).expect("a principal"),
        client: floor.client.clone(),
        store: floor.store.clone(),
        ledger: floor.ledger.clone(),
        now: floor.now,
    };
    Subjects {
        ours,
        floor,
        peer_app,
        peer_nonce,
        peer,
        authorized,
        one_transaction,
    }
}

/// replaysafe's payouts consumer and the Powertools payouts peer, each on tables of its own.
async fn payout_subjects(python: &Path, bootstrap: &Path) -> payouts::Subjects {
    let ours_app = instrumented_app().await;
    payouts::open_accounts(&ours_app).await;
    let ours = ours_app.payouts().await;
    let peer_app = instrumented_app().await;
    payouts::open_accounts(&peer_app).await;
    powertools_table(&peer_app, "powertools-payouts").await;
    let env = function_env(
        &peer_app,
        &[
            ("PEER_MODULE", "payouts"),
            ("POWERTOOLS_SERVICE_NAME", "payouts-peer"),
        ],
    );
    let peer = Peer::start(python, bootstrap, &env)
        .await
        .expect("payouts peer starts");
    payouts::Subjects {
        ours_app,
        ours,
        peer_app,
        peer,
    }
}

/// The withdrawals app, signed and behind an authorizer, paying out to a fake bank started
/// here, with the functions' default lease and bank timeout.
async fn withdrawal_subjects() -> withdrawals::Subjects {
    let app = instrumented_app().await;
    app.open_account(
        &app.alice,
        withdrawals::SIGNED_ACCOUNT,
        "EUR",
        1_000_000_000,
    )
    .await;
    let bank = start_bank().await;
    let on_bank = |app: Payments| {
        // The functions' default lease and bank timeout (no environment to read them from).
        let lease = *app.withdrawal_lease();
        app.with_bank(Bank::new(bank.url()), lease)
    };
    let signed = on_bank(Payments::new(
        guard_on(
            app.store.clone(),
            app.guard().config().clone(),
            app.clock.clone(),
        )
        .await,
        app.ledger.clone(),
    ));
    let config = replaysafe::Config {
        auth: Auth::jwt(),
        ..app.guard().config().clone()
    };
    let authorized = on_bank(Payments::new(
        guard_on(app.store.clone(), config, app.clock.clone()).await,
        app.ledger.clone(),
    ));
    let body = format!(
        r#"{{"account_id":"{}","currency":"EUR","initial_balance":1000000000}}"#,
        withdrawals::AUTHORIZED_ACCOUNT
    );
    let key = uuid::Uuid::new_v4().to_string();
    let req = testing::authorized("POST", "/accounts", body.as_bytes(), Some(&key), SUB);
    let answer = paths::serve(&authorized, &req).await;
    assert_eq!(
        answer.status, 201,
        "open the withdrawal account: {}",
        answer.body
    );
    withdrawals::Subjects {
        app,
        signed,
        authorized,
        bank,
    }
}

/// What the payout batches and the withdrawals measured.
struct Outside {
    payouts: payouts::BatchResults,
    payout_capacity: payouts::BatchResults,
    withdrawals: withdrawals::WithdrawalResults,
}

/// The payout batches and the withdrawals: their own subjects and warm-up, then `rounds`
/// rounds of `per_round` iterations of each.
async fn outside(
    python: &Path,
    bootstrap: &Path,
    warmup: Duration,
    rounds: usize,
    per_round: usize,
) -> Outside {
    let batches = payout_subjects(python, bootstrap).await;
    let withdrawing = withdrawal_subjects().await;
    capacity::capture(false);
    eprintln!(
        "==> payouts and withdrawals: {}s warm-up, then {rounds} rounds x {per_round} of each",
        warmup.as_secs()
    );
    let n = batches.warm_up(warmup / 2).await + withdrawing.warm_up(warmup / 2).await;
    eprintln!("    {n} warm-up iterations");
    let payouts = batches.run(rounds, per_round).await;
    let withdrawals = withdrawing.run(rounds, per_round).await;
    let payout_capacity = batches.capacity().await;
    eprint!("{}", report::outside_brief(&payouts, &withdrawals));
    Outside {
        payouts,
        payout_capacity,
        withdrawals,
    }
}

/// One process kind of the cold starts: its name, program and arguments, whether it gets the
/// POST (else the GET), the status it answers, and its environment beyond the app's.
type Kind = (
    String,
    PathBuf,
    Vec<String>,
    bool,
    u16,
    Vec<(String, String)>,
);

/// `runs` fresh processes of each kind, interleaved, on a system-clock app of their own.
/// DynamoDB Local behind the TLS terminator, and the trust stores to measure a function with.
struct Https {
    url: String,
    stores: Vec<tls::TrustFiles>,
    _terminator: tls::Terminator,
}

async fn https(dir: &Path) -> Https {
    let upstream = endpoint()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("AWS_ENDPOINT_URL_DYNAMODB is http://<ip>:<port>");
    let terminator = tls::start(upstream).await.expect("TLS terminator");
    let stores = tls::trust_files(&terminator.ca_pem, dir).expect("trust store files");
    Https {
        url: terminator.url.clone(),
        stores,
        _terminator: terminator,
    }
}

async fn cold_starts(
    bin_dir: &Path,
    before_dir: Option<&Path>,
    python: &Path,
    bootstrap: &Path,
    runs: usize,
) -> Vec<(String, ColdSummary)> {
    let https = https(Path::new("target/bench-tls")).await;
    let app = TestApp::with_system_clock().await;
    app.open_account(&app.alice, "acc_k1", "EUR", 1_000_000_000)
        .await;
    app.open_account(&app.alice, "acc_k2", "EUR", 0).await;
    powertools_table(&app, "powertools").await;
    let env = function_env(&app, &[]);
    let signer = app.alice.signer();
    let transfer = TestApp::transfer_body("acc_k1", "acc_k2", 1);
    let get = || {
        let now = SystemClock.now();
        [0, 1].map(|_| event(&signer, "GET", "/accounts/acc_k1", "", None, now))
    };
    let post = || {
        let now = SystemClock.now();
        [0, 1].map(|_| {
            let key = uuid::Uuid::new_v4().to_string();
            event(&signer, "POST", "/transfers", &transfer, Some(&key), now)
        })
    };
    let boot = vec![bootstrap.display().to_string()];
    let mut kinds: Vec<Kind> = vec![
        (
            "replaysafe get-account (GET)".into(),
            bin_dir.join("get-account"),
            vec![],
            false,
            200,
            vec![],
        ),
        (
            "replaysafe create-transfer (POST)".into(),
            bin_dir.join("create-transfer"),
            vec![],
            true,
            201,
            vec![],
        ),
        (
            "Powertools peer + nonce (GET)".into(),
            python.to_owned(),
            boot.clone(),
            false,
            200,
            vec![],
        ),
        (
            "Powertools peer + nonce (POST)".into(),
            python.to_owned(),
            boot,
            true,
            201,
            vec![],
        ),
    ];
    // Binaries of another build (e.g. before a cold-start change), measured in the same run.
    let before_label = std::env::var("BENCH_BEFORE_LABEL").unwrap_or("before".into());
    if let Some(before) = before_dir {
        kinds.push((
            format!("{before_label}: get-account (GET)"),
            before.join("get-account"),
            vec![],
            false,
            200,
            vec![],
        ));
        kinds.push((
            format!("{before_label}: create-transfer (POST)"),
            before.join("create-transfer"),
            vec![],
            true,
            201,
            vec![],
        ));
    }
    // The POST over HTTPS, as on Lambda: through the terminator, with each trust store.
    for store in &https.stores {
        let mut env = store.env();
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), https.url.clone()));
        let mut binaries = vec![(
            format!("replaysafe create-transfer (POST), HTTPS, {}", store.label),
            bin_dir.join("create-transfer"),
        )];
        if let Some(before) = before_dir {
            binaries.push((
                format!(
                    "{before_label}: create-transfer (POST), HTTPS, {}",
                    store.label
                ),
                before.join("create-transfer"),
            ));
        }
        for (name, program) in binaries {
            kinds.push((name, program, vec![], true, 201, env.clone()));
        }
    }
    let mut all: Vec<Vec<ColdRun>> = vec![Vec::new(); kinds.len()];
    for _ in 0..runs {
        for (i, (name, program, args, is_post, status, extra)) in kinds.iter().enumerate() {
            let events = if *is_post { post() } else { get() };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut env = env.clone();
            env.extend(extra.iter().cloned());
            match cold_start(program, &args, &env, events, *status).await {
                Ok(run) => all[i].push(run),
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }
    kinds
        .iter()
        .zip(all)
        .map(|((name, ..), runs)| (name.to_string(), summarize(&runs)))
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let warmup = Duration::from_secs(knob("BENCH_WARMUP_SECS", 45) as u64);
    let rounds = knob("BENCH_ROUNDS", 5);
    let per_round = knob("BENCH_PER_ROUND", 60);
    let cold_runs = knob("BENCH_COLD_RUNS", 10);
    let level_requests = knob("BENCH_LEVEL_REQUESTS", 400);
    let bin_dir = path_knob("BENCH_BIN_DIR", "target/release");
    let python = path_knob("BENCH_PYTHON", ".venv/bin/python");
    let out_dir = path_knob("BENCH_OUT_DIR", "bench");
    let criterion = path_knob("BENCH_CRITERION_DIR", "target/criterion");
    let lambda_dir = path_knob("BENCH_LAMBDA_DIR", "target/lambda");
    let bootstrap = PathBuf::from("bench/peer/bootstrap.py");
    let dynamodb_pid = std::env::var("DYNAMODB_PID").ok();

    let before = std::env::var("BENCH_BEFORE_BIN_DIR")
        .ok()
        .map(PathBuf::from);
    let outside_per_round = knob("BENCH_OUTSIDE_PER_ROUND", 20);
    let outside_warmup = Duration::from_secs(knob("BENCH_OUTSIDE_WARMUP_SECS", 15) as u64);
    if std::env::var("BENCH_ONLY").as_deref() == Ok("payouts") {
        let o = outside(
            &python,
            &bootstrap,
            outside_warmup,
            rounds,
            outside_per_round,
        )
        .await;
        let (name, measured, _) = report::payout_target(&o.payouts, rounds);
        eprintln!("{name}: {measured}");
        eprint!(
            "{}{}",
            report::payouts_section(&o.payouts, &o.payout_capacity, rounds),
            report::withdrawals_section(&o.withdrawals)
        );
        if let Some(miss) = report::payout_miss(&o.payouts, rounds, None) {
            eprintln!("\n{miss}");
        }
        return;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("cold") {
        let cold = cold_starts(&bin_dir, before.as_deref(), &python, &bootstrap, cold_runs).await;
        eprint!("{}", report::cold_table(&cold));
        return;
    }

    // Setup's calls are described: the capacity pass needs the items they wrote.
    let subjects = subjects(&python, &bootstrap).await;
    capacity::capture(false);
    eprintln!(
        "==> warm-up: {}s of every subject on DynamoDB Local",
        warmup.as_secs()
    );
    let n = paths::warm_up(&subjects, warmup).await;
    eprintln!("    {n} warm-up iterations");
    eprintln!("==> {rounds} rounds x {per_round} requests per path and subject");
    let results = paths::run(&subjects, rounds, per_round).await;
    eprint!("{}", report::brief(&results));
    eprintln!("==> capacity: one request per path and subject, its calls described");
    let capacity = paths::capacity(&subjects).await;
    // On the same DynamoDB Local, still warm from the paths.
    let outside = outside(
        &python,
        &bootstrap,
        outside_warmup,
        rounds,
        outside_per_round,
    )
    .await;
    drop(subjects);

    eprintln!("==> cold starts: {cold_runs} spawns of each process");
    let cold = cold_starts(&bin_dir, before.as_deref(), &python, &bootstrap, cold_runs).await;

    eprintln!("==> concurrency 1, 8, 32: {level_requests} fresh transfers each");
    let app = Arc::new(instrumented_app().await);
    let mut levels = Vec::new();
    for level in [1, 8, 32] {
        levels.push(
            concurrency::run(app.clone(), level, level_requests, dynamodb_pid.as_deref()).await,
        );
    }

    let mut about: Vec<(String, String)> = vec![(
        "configuration".into(),
        format!(
            "warm-up {}s; {rounds} rounds x {per_round} requests per path and subject; {cold_runs} cold starts \
             per process; {level_requests} requests per concurrency level; payouts and withdrawals: warm-up {}s, \
             {rounds} rounds x {outside_per_round} batches of each consumer and withdrawals of each mode",
            warmup.as_secs(),
            outside_warmup.as_secs()
        ),
    )];
    if let Ok(lines) = std::env::var("BENCH_ABOUT") {
        about.splice(
            0..0,
            lines
                .lines()
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
    }
    let run = report::Run {
        about,
        paths: results,
        capacity,
        rounds,
        cold,
        levels,
        micro: report::criterion_medians(
            &criterion,
            &[
                "verify_signature",
                "content_digest",
                "content_digest_sign",
                "fingerprint",
            ],
        ),
        sizes: sizes::measure(
            &[
                "get-account",
                "create-transfer",
                "create-account",
                "get-transfer",
            ],
            &bin_dir,
            &lambda_dir,
        ),
        payouts: outside.payouts,
        payout_capacity: outside.payout_capacity,
        withdrawals: outside.withdrawals,
    };
    std::fs::create_dir_all(&out_dir).expect("output folder");
    let results_md = out_dir.join("RESULTS.md");
    std::fs::write(&results_md, report::markdown(&run)).expect("write RESULTS.md");
    report::chart(&run.paths, &out_dir.join("latency.svg")).expect("write latency.svg");
    eprintln!("==> wrote {} and latency.svg", results_md.display());
}
