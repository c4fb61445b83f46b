//! `bench/RESULTS.md` and the latency chart, from one run's numbers.

use std::fmt::Write as _;
use std::path::Path as FsPath;

use plotters::prelude::*;

use std::collections::BTreeMap;

use crate::capacity::Capacity;
use crate::cold::ColdSummary;
use crate::concurrency::Level;
use crate::paths::{Path, PathResults, Subject};
use crate::payouts::{Batch, BatchResults, Consumer, BATCH};
use crate::sizes::{mib, FunctionSize};
use crate::stats::{mode, ms, summary, Sample, Summary};
use crate::withdrawals::{Mode, Request, WithdrawalResults};

pub struct Run {
    /// Machine, date, versions, command: `(label, value)` lines.
    pub about: Vec<(String, String)>,
    pub paths: PathResults,
    /// What one request of each path consumed, by subject.
    pub capacity: BTreeMap<(Subject, Path), Capacity>,
    pub rounds: usize,
    pub cold: Vec<(String, ColdSummary)>,
    pub levels: Vec<Level>,
    pub micro: Vec<(String, Option<f64>)>,
    pub sizes: Vec<FunctionSize>,
    /// The payout batches (see [`crate::payouts`]), their rounds as `rounds`.
    pub payouts: BatchResults,
    /// One batch of each consumer and kind with its calls described.
    pub payout_capacity: BatchResults,
    /// `POST /withdrawals` (see [`crate::withdrawals`]), its rounds as `rounds`.
    pub withdrawals: WithdrawalResults,
}

fn p50(paths: &PathResults, subject: Subject, path: Path) -> f64 {
    ms(summary(paths.get(subject, path).iter().map(|s| s.total)).p50)
}

fn own_p50(paths: &PathResults, subject: Subject, path: Path) -> f64 {
    ms(summary(paths.get(subject, path).iter().map(|s| s.own)).p50)
}

/// ours/other p50 over the whole run, and its range over the rounds.
fn ratio(run: &Run, other: Subject, path: Path) -> (f64, f64, f64) {
    ratio_of(run, Subject::Ours, other, path)
}

/// subject/other p50 over the whole run, and its range over the rounds.
fn ratio_of(run: &Run, subject: Subject, other: Subject, path: Path) -> (f64, f64, f64) {
    let whole = p50(&run.paths, subject, path) / p50(&run.paths, other, path);
    let per_round: Vec<f64> = (0..run.rounds)
        .map(|r| {
            let at = |s| ms(summary(run.paths.in_round(s, path, r).iter().map(|x| x.total)).p50);
            at(subject) / at(other)
        })
        .filter(|r| r.is_finite())
        .collect();
    let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_round.iter().copied().fold(0.0, f64::max);
    (whole, lo, hi)
}

/// A sentence per target this run missed: where the time goes, and what would move it.
fn what_it_would_take(run: &Run) -> Vec<String> {
    let p = |s, path| p50(&run.paths, s, path);
    let own = |s, path| own_p50(&run.paths, s, path);
    let mut out = Vec::new();
    let floor_peer = p(Subject::Floor, Path::Fresh) / p(Subject::PeerNonce, Path::Fresh);
    let fresh_peer = p(Subject::Ours, Path::Fresh) / p(Subject::PeerNonce, Path::Fresh);
    if fresh_peer > 0.45 {
        out.push(format!(
            "Fresh transfer vs Powertools + nonce ({fresh_peer:.2}x): the floor (the same calls, nothing \
             else) is itself at {floor_peer:.2}x the peer here. {}",
            if floor_peer > 0.45 {
                "No guard that makes its nonce durable before the transaction can get under it on this \
                 DynamoDB Local, where the transaction both sides make dominates: it would take a peer \
                 slower than the one measured, not a faster guard."
                    .to_owned()
            } else {
                format!(
                    "At 1.1x its floor ours would be at {:.2}x: closing the gap to the floor (below) is \
                     what it takes.",
                    floor_peer * 1.1
                )
            }
        ));
    }
    let fresh_floor = p(Subject::Ours, Path::Fresh) / p(Subject::Floor, Path::Fresh);
    if fresh_floor > 1.1 {
        let gap = p(Subject::Ours, Path::Fresh) - p(Subject::Floor, Path::Fresh);
        let own_gap = own(Subject::Ours, Path::Fresh) - own(Subject::Floor, Path::Fresh);
        out.push(format!(
            "Fresh transfer vs its floor ({fresh_floor:.2}x): the same 3 calls in the same 2 round trips, \
             items of the same size. Of the {gap:.2} ms gap at p50, {own_gap:.3} ms is ours outside \
             DynamoDB; the rest is time inside the calls, which the floor's identical calls spend less of \
             in the same round: it would take finding what makes DynamoDB Local slower on our calls \
             (per-round ratios are in the Ratios table)."
        ));
    }
    let replay_peer = p(Subject::Ours, Path::Replay) / p(Subject::PeerNonce, Path::Replay);
    if replay_peer > 0.4 {
        let floor = p(Subject::Floor, Path::Replay) / p(Subject::PeerNonce, Path::Replay);
        out.push(format!(
            "Replay vs Powertools + nonce ({replay_peer:.2}x): one round trip (nonce put ∥ record \
             read) against the peer's two; the floor of that one round trip is at {floor:.2}x the peer. \
             {}",
            if floor > 0.4 {
                "Under 0.4x would take a round trip cheaper than DynamoDB Local's two concurrent calls: \
                 not reachable by the guard."
            } else {
                "What is left is ours over the floor: time outside DynamoDB and the answer's bytes."
            }
        ));
    }
    let own_ours = own(Subject::Ours, Path::Fresh);
    if own_ours > 0.1 {
        let floor = own(Subject::Floor, Path::Fresh);
        out.push(format!(
            "Time outside DynamoDB ({own_ours:.3} ms): the floor, making the same 3 SDK calls and \
             nothing else, spends {floor:.3} ms outside DynamoDB itself (the SDK's serialising, SigV4 \
             signing, endpoint resolution and parsing, per call). The guard adds {:.3} ms (signature \
             check, digest, fingerprint, JSON: a few µs each in the micro-benchmarks, then building the \
             items and the answer). Under 0.1 ms would take less SDK work per call, not less guard work.",
            own_ours - floor
        ));
    }
    let (auth, tx, peer) = (
        p(Subject::Authorized, Path::Fresh),
        p(Subject::OneTransaction, Path::Fresh),
        p(Subject::Peer, Path::Fresh),
    );
    let calls = |s, path| mode(run.paths.get(s, path).iter().map(|x| x.calls));
    let trips = |s, path| mode(run.paths.get(s, path).iter().map(|x| x.rounds));
    if auth / tx > 1.1 {
        let own_gap =
            own(Subject::Authorized, Path::Fresh) - own(Subject::OneTransaction, Path::Fresh);
        out.push(format!(
            "Authorizer mode, fresh transfer vs its one transaction ({:.2}x): {} call(s) in {} \
             round trip(s) against the bare transaction's 1, with items of the same size (see \
             Capacity). Of the {:.2} ms gap at p50, {own_gap:.3} ms is ours outside DynamoDB; \
             1.1x needs the gap under {:.2} ms, so the rest is time inside the same call, which \
             DynamoDB Local spent more of on ours in this run (per-round ratios are in the Ratios \
             tables).",
            auth / tx,
            calls(Subject::Authorized, Path::Fresh),
            trips(Subject::Authorized, Path::Fresh),
            auth - tx,
            tx * 0.1,
        ));
    }
    if auth / peer > 0.5 {
        out.push(format!(
            "Authorizer mode, fresh transfer vs Powertools, no nonce ({:.2}x): the bare \
             transaction alone is at {:.2}x the peer here (the peer's 3 round trips: its \
             INPROGRESS put, a transaction of 3 items where ours has 4, and the record's update). \
             {}",
            auth / peer,
            tx / peer,
            if tx / peer > 0.5 {
                "Under 0.5x would take the 4-item transaction itself under half the peer's three \
                 calls on this DynamoDB Local: not something a guard that makes that transaction \
                 can reach."
                    .to_owned()
            } else {
                format!(
                    "At 1.1x the transaction ours would be at {:.2}x: what is left is the gap to \
                     the transaction (above).",
                    tx * 1.1 / peer
                )
            }
        ));
    }
    let one_transaction = run.paths.get(Subject::OneTransaction, Path::Fresh);
    let one_transaction_ms = (!one_transaction.is_empty())
        .then(|| ms(summary(one_transaction.iter().map(|s| s.total)).p50));
    out.extend(payout_miss(&run.payouts, run.rounds, one_transaction_ms));
    if let Some((name, c)) = https_as_on_lambda(&run.cold) {
        let total = ms(c.total.p50);
        if total > 15.0 {
            let find = |n: &str| run.cold.iter().find(|(k, _)| k == n).map(|(_, c)| c);
            let plain = find("replaysafe create-transfer (POST)");
            let bare = find("replaysafe create-transfer (POST), HTTPS, run's CA only");
            let bundle = find("replaysafe create-transfer (POST), HTTPS, platform bundle")
                .filter(|_| name.ends_with("platform bundle + folder"));
            let mut line = format!(
                "Cold start over HTTPS, {name} ({total:.1} ms, of which {:.1} ms on a CPU): ",
                ms(c.cpu.p50)
            );
            if let Some(p) = plain {
                line.push_str(&format!(
                    "the same binary over plain HTTP takes {:.1} ms ({:.1} ms CPU). ",
                    ms(p.total.p50),
                    ms(p.cpu.p50)
                ));
            }
            if let Some(b) = bundle {
                line.push_str(&format!(
                    "With the bundle alone (`SSL_CERT_FILE` naming it: no folder to read) it takes \
                     {:.1} ms ({:.1} ms CPU). ",
                    ms(b.total.p50),
                    ms(b.cpu.p50)
                ));
            }
            if let Some(b) = bare {
                line.push_str(&format!(
                    "With no trust store to load (the run's CA alone: the lower bound of any \
                     store, one compiled into the binary included) it takes {:.1} ms ({:.1} ms \
                     CPU): {}",
                    ms(b.total.p50),
                    ms(b.cpu.p50),
                    if ms(b.total.p50) <= 15.0 {
                        "the platform's trust store is what stands between the two (see Cold \
                         start)."
                    } else {
                        "the trust store is not all of it; what is left is the TLS handshake (its \
                         round trip and CPU, in init) and the wait for a core on this machine, \
                         which the CPU figure leaves out."
                    }
                ));
            }
            out.push(line);
        }
    }
    for (name, cold) in run
        .cold
        .iter()
        .filter(|(n, _)| n.starts_with("replaysafe") && !n.contains("HTTPS"))
    {
        let total = ms(cold.total.p50);
        if total > 20.0 {
            out.push(format!(
                "Cold start, {name} ({total:.1} ms): init {:.1} ms, then the first invocation {:.1} ms; \
                 {:.1} ms of the whole on a CPU, the rest waiting on DynamoDB Local (the warm-up's round trip in \
                 init, two sequential ones in the first invocation) and on a CPU shared with other builds. \
                 Under 20 ms would take that CPU time and those round trips with no wait for a core, and \
                 then one round trip fewer: the first \
                 invocation reads the client's secret, not cached yet, before its nonce put ∥ read; \
                 loading the secrets in init would save it, for a clients table small enough to read whole.",
ms(cold.init.p50),
                ms(cold.first.p50),
                ms(cold.cpu.p50),
            ));
        }
    }
    if let Some((s, z)) = run
        .sizes
        .iter()
        .filter_map(|s| s.release_zip.as_ref().map(|z| (s, z)))
        .find(|(_, z)| mib(z.bytes) > 4.0)
    {
        out.push(format!(
            "Release zip, {} ({:.2} MiB): it would take a smaller binary: `opt-level = \"s\"` in the \
             release profile, and fewer SDK features.",
            s.name,
            mib(z.bytes)
        ));
    }
    out
}

/// The HTTPS cold start as on Lambda: the connector loading what the platform has (here the
/// bundle and the certificate folder, else the bundle alone).
fn https_as_on_lambda(cold: &[(String, ColdSummary)]) -> Option<(&String, &ColdSummary)> {
    let named = |suffix: &str| {
        cold.iter()
            .find(|(n, _)| n == &format!("replaysafe create-transfer (POST), HTTPS, {suffix}"))
            .map(|(n, c)| (n, c))
    };
    named("platform bundle + folder").or_else(|| named("platform bundle"))
}

fn row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

fn f(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

pub fn markdown(run: &Run) -> String {
    let mut out = String::from(
        "# Benchmark results\n\nGenerated by `make bench` (`scripts/bench.sh`); rerun it to regenerate this \
         file and `latency.svg`. Absolute times depend on this machine and on DynamoDB Local; \
         compare the ratios, taken within one run on one DynamoDB Local.\n\n",
    );
    for (label, value) in &run.about {
        let _ = writeln!(out, "- **{label}**: {value}");
    }

    out.push_str("\n## Targets\n\n| target | measured | met |\n|---|---|---|\n");
    let (fresh_peer, _, _) = ratio(run, Subject::PeerNonce, Path::Fresh);
    let (fresh_floor, _, _) = ratio(run, Subject::Floor, Path::Fresh);
    let (replay_peer, _, _) = ratio(run, Subject::PeerNonce, Path::Replay);
    let own = own_p50(&run.paths, Subject::Ours, Path::Fresh);
    let mut targets = vec![
        (
            "fresh transfer p50 ≤ 0.45x Powertools + nonce".to_owned(),
            format!("{fresh_peer:.2}x"),
            fresh_peer <= 0.45,
        ),
        (
            "fresh transfer p50 ≤ 1.1x its floor".to_owned(),
            format!("{fresh_floor:.2}x"),
            fresh_floor <= 1.1,
        ),
        (
            "replay p50 ≤ 0.4x Powertools + nonce".to_owned(),
            format!("{replay_peer:.2}x"),
            replay_peer <= 0.4,
        ),
        (
            "time outside DynamoDB ≤ 0.1 ms p50 (fresh transfer)".to_owned(),
            format!("{own:.3} ms"),
            own <= 0.1,
        ),
    ];
    let (auth_tx, _, _) = ratio_of(
        run,
        Subject::Authorized,
        Subject::OneTransaction,
        Path::Fresh,
    );
    let (auth_peer, _, _) = ratio_of(run, Subject::Authorized, Subject::Peer, Path::Fresh);
    let auth_samples = run.paths.get(Subject::Authorized, Path::Fresh);
    let auth_calls = mode(auth_samples.iter().map(|s| s.calls));
    let auth_trips = mode(auth_samples.iter().map(|s| s.rounds));
    targets.extend([
        (
            "authorizer mode: fresh transfer p50 ≤ 1.1x one bare TransactWriteItems".to_owned(),
            format!("{auth_tx:.2}x"),
            auth_tx <= 1.1,
        ),
        (
            "authorizer mode: fresh transfer p50 ≤ 0.5x Powertools, no nonce".to_owned(),
            format!("{auth_peer:.2}x"),
            auth_peer <= 0.5,
        ),
        (
            "authorizer mode: fresh transfer in ONE DynamoDB round trip".to_owned(),
            format!("{auth_calls} call(s), {auth_trips} round trip(s)"),
            auth_calls == 1 && auth_trips == 1,
        ),
    ]);
    for (name, cold) in run
        .cold
        .iter()
        .filter(|(n, _)| n.starts_with("replaysafe") && !n.contains("HTTPS"))
    {
        let total = ms(cold.total.p50);
        let mib = cold.peak_rss_kib as f64 / 1024.0;
        targets.push((
            format!("cold start ≤ 20 ms to the first answer ({name})"),
            format!("{total:.1} ms"),
            total <= 20.0,
        ));
        targets.push((
            format!("peak RSS ≤ 15 MiB ({name})"),
            format!("{mib:.1} MiB"),
            mib <= 15.0,
        ));
    }
    if let Some((name, c)) = https_as_on_lambda(&run.cold) {
        let total = ms(c.total.p50);
        targets.push((
            format!("cold start ≤ 15 ms to the first answer ({name}, as on Lambda)"),
            format!("{total:.1} ms"),
            total <= 15.0,
        ));
    }
    let mut rows: Vec<(String, String, &str)> = targets
        .into_iter()
        .map(|(name, measured, met)| (name, measured, if met { "yes" } else { "**no**" }))
        .collect();
    let (name, measured, met) = payout_target(&run.payouts, run.rounds);
    rows.push((
        name,
        measured,
        match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        },
    ));
    let largest_zip = run
        .sizes
        .iter()
        .filter_map(|s| s.release_zip.as_ref().map(|z| (s, z)))
        .max_by_key(|(_, z)| z.bytes);
    rows.push(match largest_zip {
        Some((s, z)) => (
            format!("release zip ≤ 4 MiB (largest: {}, {})", s.name, z.arch),
            format!("{:.2} MiB", mib(z.bytes)),
            if mib(z.bytes) <= 4.0 { "yes" } else { "**no**" },
        ),
        None => (
            "release zip ≤ 4 MiB".to_owned(),
            "no `make build` output in target/lambda (see Size)".to_owned(),
            "not measured",
        ),
    });
    for (name, measured, met) in rows {
        row(&mut out, &[name, measured, met.to_owned()]);
    }
    let missed = what_it_would_take(run);
    if !missed.is_empty() {
        out.push_str("\nWhat a missed target would take, from this run's numbers:\n\n");
        for line in missed {
            let _ = writeln!(out, "- {line}");
        }
    }

    out.push_str(
        "\n## Request paths\n\nEach subject served the same requests, the subjects taking turns one iteration (a request of each path) at a time, who goes first rotating; time is the handler's (in-process for \
         replaysafe, inside the Python process for the peer), calls counted on the SDK client. Round trips: \
         calls that overlap count once. Outside DynamoDB: the handler's time minus its calls' merged intervals. \
         WCU, RCU: the capacity one request of the path consumes, computed from its items (see Capacity). \
         \"replaysafe, authorizer\" is the same app with the guard behind a JWT authorizer (`Auth::jwt()`: no \
         signature, so no bad-signature path); \"one TransactWriteItems\" is its floor: the transaction it \
         makes (the debit, the credit, the transfer record and the idempotency record), bare, by the same SDK \
         client, committed under a new key (fresh) and re-sent under the same key (retry: cancelled on the \
         claim, the record back in its `ALL_OLD`).\n\n\
         | path | subject | n | p50 ms | p90 ms | p99 ms | max ms | calls | round trips | outside DynamoDB p50 ms | p99 ms | WCU | RCU |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for path in Path::ALL {
        for subject in Subject::ALL {
            let samples = run.paths.get(subject, path);
            if samples.is_empty() {
                continue;
            }
            let t = summary(samples.iter().map(|s| s.total));
            let o = summary(samples.iter().map(|s| s.own));
            row(
                &mut out,
                &[
                    path.name().to_owned(),
                    subject.name().to_owned(),
                    t.n.to_string(),
                    f(ms(t.p50), 2),
                    f(ms(t.p90), 2),
                    f(ms(t.p99), 2),
                    f(ms(t.max), 2),
                    mode(samples.iter().map(|s| s.calls)).to_string(),
                    mode(samples.iter().map(|s| s.rounds)).to_string(),
                    f(ms(o.p50), 3),
                    f(ms(o.p99), 3),
                    cap(run, subject, path, |c| c.wcu),
                    cap(run, subject, path, |c| c.rcu),
                ],
            );
        }
    }

    out.push_str(
        "\n## Ratios (replaysafe p50 / other p50)\n\nWhole run, and the lowest and highest of the per-round ratios.\n\n\
         | path | / Powertools + nonce | rounds | / Powertools, no nonce | rounds | / SDK floor | rounds |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for path in Path::ALL {
        let mut cells = vec![path.name().to_owned()];
        for other in [Subject::PeerNonce, Subject::Peer, Subject::Floor] {
            let (whole, lo, hi) = ratio(run, other, path);
            cells.extend(ratio_cells(whole, lo, hi));
        }
        row(&mut out, &cells);
    }
    out.push_str(
        "\nBehind an authorizer (replaysafe, authorizer p50 / other p50):\n\n\
         | path | / one TransactWriteItems | rounds | / Powertools, no nonce | rounds | / replaysafe (signatures) | rounds |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for path in [Path::Fresh, Path::Replay, Path::Insufficient, Path::Get] {
        let mut cells = vec![path.name().to_owned()];
        for other in [Subject::OneTransaction, Subject::Peer, Subject::Ours] {
            let (whole, lo, hi) = ratio_of(run, Subject::Authorized, other, path);
            cells.extend(ratio_cells(whole, lo, hi));
        }
        row(&mut out, &cells);
    }

    out.push_str(&payouts_section(
        &run.payouts,
        &run.payout_capacity,
        run.rounds,
    ));
    out.push_str(&withdrawals_section(&run.withdrawals));

    out.push_str(CAPACITY_RULES);

    out.push_str(
        "\n## Cold start\n\nEach process spawned fresh under the bench's Lambda Runtime API emulator. Init: spawn to \
         the first poll of `invocation/next`. First invocation: the event handed over to its answer (a signed \
         request from a client whose secret is not cached yet). CPU: the process's on-CPU time at its first \
         answer, which a busy machine does not stretch as it does wall time. Warm: the second invocation. Peak \
         RSS: VmHWM. HTTPS: the same binary with its DynamoDB endpoint `https://127.0.0.1:<port>`, a TLS \
         terminator (rustls) in front of the same DynamoDB Local with a certificate from a CA made for the run, \
         as a function on Lambda reaches DynamoDB over TLS; the SDK's rustls connector loads its trust store \
         when the client is built, from `SSL_CERT_FILE` and `SSL_CERT_DIR` when set, else from what it finds on \
         the platform. Measured with three stores: *platform bundle + folder* (what it loads here when nothing \
         is set: the bundle and every file of the certificate folder; the run's CA appended to the bundle), \
         *platform bundle* (the bundle file alone, what `SSL_CERT_FILE` pointing at it gives), and *run's CA \
         only* (nothing to load: the lower bound of any trust store, one compiled into the binary included).\n\n",
    );
    out.push_str(&cold_table(&run.cold));

    out.push_str(
        "\n## Concurrency (replaysafe in-process, fresh transfers)\n\nOne process, one SDK client, `level` tasks \
         at once on a 2-thread runtime. DynamoDB share: the mean part of a request's time spent waiting on its \
         calls. CPU: CPU seconds per wall second, of this process and of DynamoDB Local's JVM.\n\n\
         | concurrency | requests | errors | throughput req/s | p50 ms | p99 ms | DynamoDB share | bench process CPU | DynamoDB Local CPU |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for l in &run.levels {
        row(
            &mut out,
            &[
                l.level.to_string(),
                l.requests.to_string(),
                l.errors.to_string(),
                f(l.requests as f64 / l.wall.as_secs_f64(), 0),
                f(ms(l.latency.p50), 2),
                f(ms(l.latency.p99), 2),
                format!("{:.0}%", l.inside_share * 100.0),
                f(l.our_cpu, 2),
                l.dynamodb_cpu.map_or("-".into(), |c| f(c, 2)),
            ],
        );
    }

    out.push_str(
        "\n## Micro-benchmarks (criterion, median)\n\n| benchmark | median µs |\n|---|---|\n",
    );
    for (name, median_ns) in &run.micro {
        row(
            &mut out,
            &[
                format!("`{name}`"),
                median_ns.map_or("not run".into(), |n| f(n / 1000.0, 3)),
            ],
        );
    }
    out.push_str(
        "\n## Size\n\nRelease zip: what `make build` last left in `target/lambda/` (`cargo lambda build \
         --release --output-format zip`: LTO, 1 codegen unit, stripped; arm64 unless the aarch64 std library \
         is missing), read, not rebuilt: its minutes of LTO do not fit in `make bench`. Bench binary: what \
         this run built (profile bench: no LTO, 16 codegen units, x86_64), stripped here and deflated with \
         `gzip -9`, about what a zip of it stores.\n\n\
         | function | bench binary MiB | stripped MiB | stripped, deflated MiB | release zip MiB | release zip built |\n\
         |---|---|---|---|---|---|\n",
    );
    for s in &run.sizes {
        let size = |b: Option<u64>| b.map_or("-".to_owned(), |b| f(mib(b), 2));
        let (zip, built) = s
            .release_zip
            .as_ref()
            .map_or(("not built".to_owned(), "-".to_owned()), |z| {
                (format!("{:.2} ({})", mib(z.bytes), z.arch), z.built.clone())
            });
        row(
            &mut out,
            &[
                s.name.clone(),
                size(s.bench_binary),
                size(s.bench_stripped),
                size(s.bench_deflated),
                zip,
                built,
            ],
        );
    }

    out.push_str("\n## Latency distributions\n\n![latency quantiles per path](latency.svg)\n");
    out
}

fn cap(run: &Run, subject: Subject, path: Path, pick: impl Fn(&Capacity) -> f64) -> String {
    run.capacity
        .get(&(subject, path))
        .map_or("-".to_owned(), |c| {
            let v = pick(c);
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        })
}

const CAPACITY_RULES: &str = "\n## Capacity\n\n\
The WCU and RCU columns are computed, not read from `ConsumedCapacity` (DynamoDB Local under-reports it \
for transactions). One request of each path is sent again after the timed rounds with its calls described: \
replaysafe's and the floors' from the SDK client's requests and answers (an interceptor on it), the \
Powertools peer's from boto3's (botocore's `before-parameter-build` and `after-call` events: each call's \
parameters and parsed answer). The rules, from AWS's documentation:\n\n\
- **Item size** ([item sizes and formats](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)): \
the sum of attribute names and values; a string or binary its UTF-8 or raw bytes, a number 1 byte per two \
significant digits plus 1, a boolean or null 1, a list or map 3 plus 1 per element plus its elements.\n\
- **Writes** ([read and write operations](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html)): \
1 WCU per KB, rounded up per item, of the larger of the item before and after the write (`PutItem` replacing \
an item, `UpdateItem`); a write whose condition fails consumes the size of the item that is there, at least 1.\n\
- **Reads** (same page): 1 RCU per 4 KB, rounded up, for a strongly consistent read, half for an eventually \
consistent one; a read of an item that is not there still consumes that minimum.\n\
- **Transactions** ([transactions: capacity management](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html)): \
DynamoDB makes two underlying reads or writes of every item (prepare and commit): 2 WCU per KB per item of a \
`TransactWriteItems`, and a `ConditionCheck` in one is a transactional read, 2 RCU per 4 KB.\n\n\
Two choices of the bench's: a **cancelled** transaction (a retry behind an authorizer, which meets the \
key's record in the claim's condition; insufficient funds) is charged as if it had committed, every item at \
the transactional rate, which is an upper bound: the pages above give what a committed one costs. And the item an update changes is known from the writes the bench \
saw (its put when the account was opened, the INPROGRESS record Powertools put), its `SET`s applied: a \
balance or version a digit longer moves no item over a 1 KB boundary here.\n";

/// The cold-start table (markdown), one row per process.
pub fn cold_table(cold: &[(String, ColdSummary)]) -> String {
    let mut out = String::from(
        "| process | runs | init p50 ms | first invocation p50 ms | spawn to first answer p50 ms | p90 ms | CPU to first answer p50 ms | warm invocation p50 ms | peak RSS MiB |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, c) in cold {
        row(
            &mut out,
            &[
                name.clone(),
                c.total.n.to_string(),
                f(ms(c.init.p50), 1),
                f(ms(c.first.p50), 1),
                f(ms(c.total.p50), 1),
                f(ms(c.total.p90), 1),
                f(ms(c.cpu.p50), 1),
                f(ms(c.warm.p50), 2),
                f(c.peak_rss_kib as f64 / 1024.0, 1),
            ],
        );
    }
    out
}

/// The medians criterion stored under `dir` for each benchmark id.
pub fn criterion_medians(dir: &FsPath, ids: &[&str]) -> Vec<(String, Option<f64>)> {
    ids.iter()
        .map(|id| {
            let file = dir.join(id).join("new").join("estimates.json");
            let median = std::fs::read_to_string(file)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["median"]["point_estimate"].as_f64());
            (id.to_string(), median)
        })
        .collect()
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(23, 190, 207),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Quantile curves (latency against percentile) per path, one line per subject.
pub fn chart(paths: &PathResults, file: &FsPath) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(file, (1100, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 2));
    let shown = [Path::Fresh, Path::Replay, Path::Insufficient, Path::Get];
    for (panel, path) in panels.iter().zip(shown) {
        let curves: Vec<(Subject, Vec<(f64, f64)>)> = Subject::ALL
            .iter()
            .map(|&s| {
                let mut v: Vec<f64> = paths.get(s, path).iter().map(|x| ms(x.total)).collect();
                v.sort_by(f64::total_cmp);
                let n = v.len().max(1) as f64;
                (
                    s,
                    v.iter()
                        .enumerate()
                        .map(|(i, t)| ((i as f64 + 0.5) / n * 100.0, *t))
                        .collect(),
                )
            })
            .collect();
        // The y axis ends a little above the highest p99: a rare outlier must not flatten the rest.
        let top = Subject::ALL
            .iter()
            .map(|&s| ms(summary(paths.get(s, path).iter().map(|x| x.total)).p99))
            .fold(0.1, f64::max)
            * 1.15;
        let mut chart = ChartBuilder::on(panel)
            .caption(path.name(), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..100.0, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("ms")
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, (subject, points)) in curves.into_iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let clipped: Vec<(f64, f64)> =
                points.into_iter().map(|(x, y)| (x, y.min(top))).collect();
            chart
                .draw_series(LineSeries::new(clipped, color.stroke_width(2)))?
                .label(subject.name())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// For the console: one line per path and subject.
pub fn brief(paths: &PathResults) -> String {
    let mut out = String::new();
    for path in Path::ALL {
        for subject in Subject::ALL {
            let t: Summary = summary(paths.get(subject, path).iter().map(|s| s.total));
            if t.n > 0 {
                let _ = writeln!(
                    out,
                    "{:<38} {:<22} p50 {:>7.2} ms  p99 {:>7.2} ms",
                    path.name(),
                    subject.name(),
                    ms(t.p50),
                    ms(t.p99)
                );
            }
        }
    }
    out
}

/// A ratio and its range over the rounds as two cells; `-` for a ratio there is none of.
fn ratio_cells(whole: f64, lo: f64, hi: f64) -> [String; 2] {
    if whole.is_finite() {
        [format!("{whole:.2}x"), format!("{lo:.2}-{hi:.2}")]
    } else {
        ["-".to_owned(), "-".to_owned()]
    }
}

/// The least replaysafe's batches of fresh payouts must settle, in records per second, as a
/// multiple of Powertools'.
pub const PAYOUT_TARGET: f64 = 3.0;

/// Records per second of batches whose times are `samples`: [`BATCH`] records over the median
/// batch time; NaN without a batch.
pub fn records_per_second(samples: &[&Sample]) -> f64 {
    let p50 = summary(samples.iter().map(|s| s.total)).p50;
    if p50.is_zero() {
        return f64::NAN;
    }
    BATCH as f64 / p50.as_secs_f64()
}

/// replaysafe's records per second over the peer's for `batch`: over the whole run, and the
/// lowest and highest of the per-round ratios.
pub fn payout_ratio(results: &BatchResults, batch: Batch, rounds: usize) -> (f64, f64, f64) {
    let of = |samples: Vec<&Sample>, peer: Vec<&Sample>| {
        records_per_second(&samples) / records_per_second(&peer)
    };
    let whole = of(
        results.get((Consumer::Ours, batch)),
        results.get((Consumer::Peer, batch)),
    );
    let per_round: Vec<f64> = (0..rounds)
        .map(|r| {
            of(
                results.in_round((Consumer::Ours, batch), r),
                results.in_round((Consumer::Peer, batch), r),
            )
        })
        .filter(|r| r.is_finite())
        .collect();
    let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = per_round.iter().copied().fold(0.0, f64::max);
    (whole, lo, hi)
}

/// The Targets row of the payout batches: its name, what was measured, whether it is met
/// (`None`: not measured in this run).
pub fn payout_target(results: &BatchResults, rounds: usize) -> (String, String, Option<bool>) {
    let name = format!(
        "batch of {BATCH} payouts: ≥ {PAYOUT_TARGET:.0}x Powertools' records per second \
         (BatchProcessor + idempotent_function)"
    );
    let (ratio, _, _) = payout_ratio(results, Batch::Fresh, rounds);
    if !ratio.is_finite() {
        return (name, "not measured".to_owned(), None);
    }
    (name, format!("{ratio:.2}x"), Some(ratio >= PAYOUT_TARGET))
}

/// A batch's calls, sequential round trips and time inside DynamoDB (its total less its time
/// outside), each the typical one of its samples.
struct BatchShape {
    p50_ms: f64,
    calls: usize,
    rounds: usize,
    inside_ms: f64,
    outside_ms: f64,
}

fn batch_shape(samples: &[&Sample]) -> BatchShape {
    let total = ms(summary(samples.iter().map(|s| s.total)).p50);
    let outside = ms(summary(samples.iter().map(|s| s.own)).p50);
    BatchShape {
        p50_ms: total,
        calls: mode(samples.iter().map(|s| s.calls)),
        rounds: mode(samples.iter().map(|s| s.rounds)),
        inside_ms: total - outside,
        outside_ms: outside,
    }
}

/// When the payout target is missed: where each side's batch time goes, from the run's
/// numbers, and what ours would have to be. `one_transaction_ms`: the p50 of one bare
/// `TransactWriteItems` of the same kind, alone, in the same run (the Request paths' "one
/// TransactWriteItems"), when the run measured it.
pub fn payout_miss(
    results: &BatchResults,
    rounds: usize,
    one_transaction_ms: Option<f64>,
) -> Option<String> {
    let (ratio, lo, hi) = payout_ratio(results, Batch::Fresh, rounds);
    if !ratio.is_finite() || ratio >= PAYOUT_TARGET {
        return None;
    }
    let ours = batch_shape(&results.get((Consumer::Ours, Batch::Fresh)));
    let peer = batch_shape(&results.get((Consumer::Peer, Batch::Fresh)));
    let needed = peer.p50_ms / PAYOUT_TARGET;
    let per_call = |inside: f64, calls: usize| inside / calls.max(1) as f64;
    let per_transaction = per_call(ours.inside_ms, ours.calls);
    let alone = match one_transaction_ms.filter(|ms| ms.is_finite() && *ms > 0.0) {
        Some(one) => format!(
            ", where one bare TransactWriteItems alone takes {one:.2} ms p50 in this run (Request \
             paths' \"one TransactWriteItems\": 4 items where a payout's has 5): {BATCH} at once take {:.1}x one alone, so DynamoDB Local {}",
            ours.inside_ms / one,
            if ours.inside_ms / one > BATCH as f64 / 2.0 {
                "runs them largely one after another"
            } else {
                "runs them partly at once"
            }
        ),
        None => String::new(),
    };
    Some(format!(
        "Batch of {BATCH} fresh payouts at {ratio:.2}x Powertools' records per second (per round \
         {lo:.2}-{hi:.2}): the peer settles its records one after another, {peer_calls} calls in \
         {peer_trips} round trips per batch ({:.1} per record: its INPROGRESS put, the \
         transaction, the record's update), {:.2} ms p50 per batch, {:.2} ms of it inside \
         DynamoDB ({:.2} ms per call on average). Ours makes {our_calls} calls ({:.1} per record, \
         its one transaction), {BATCH} at a time, which overlap into {our_trips} round trip(s): \
         {:.2} ms p50 per batch, {:.2} ms of it inside DynamoDB and {:.2} ms outside. \
         {PAYOUT_TARGET:.0}x needs a batch in {needed:.2} ms, {:.2} ms less. The transactions \
         overlap on the wire but DynamoDB Local spends {:.2} ms over them, {per_transaction:.2} ms \
         per transaction{alone}. What stands in the way is DynamoDB Local's time for transactions \
         sent at once, on this machine, not a call ours could leave out: ours is already at one \
         call per record and {:.2} ms outside DynamoDB per batch.",
        peer.calls as f64 / BATCH as f64,
        peer.p50_ms,
        peer.inside_ms,
        per_call(peer.inside_ms, peer.calls),
        ours.calls as f64 / BATCH as f64,
        ours.p50_ms,
        ours.inside_ms,
        ours.outside_ms,
        ours.p50_ms - needed,
        ours.inside_ms,
        ours.outside_ms,
        peer_calls = peer.calls,
        peer_trips = peer.rounds,
        our_calls = ours.calls,
        our_trips = ours.rounds,
    ))
}

/// When replaysafe's redelivered batches settle fewer records per second than the peer's: the
/// calls each side makes for a duplicate, from the run's numbers.
pub fn redelivered_note(
    results: &BatchResults,
    capacity: &BatchResults,
    rounds: usize,
) -> Option<String> {
    let (ratio, _, _) = payout_ratio(results, Batch::Redelivered, rounds);
    if !ratio.is_finite() || ratio >= 1.0 {
        return None;
    }
    let ours = batch_shape(&results.get((Consumer::Ours, Batch::Redelivered)));
    let peer = batch_shape(&results.get((Consumer::Peer, Batch::Redelivered)));
    let wcu = |c| per_record(capacity, (c, Batch::Redelivered), |c| c.wcu);
    Some(format!(
        "A redelivered batch is where the peer is faster ({ratio:.2}x): for a duplicate it makes \
         one conditional `PutItem` of its INPROGRESS record, which fails and hands back the stored \
         result ({:.1} call per record, {} WCU), {:.2} ms p50 per batch; ours sends the record's \
         transaction again, cancelled on the key's record (its claim's condition), the record \
         back in the cancellation ({:.1} call per record, {} WCU at the committed rate, an upper \
         bound), {:.2} ms p50 per batch, {:.2} ms of it inside DynamoDB. The key's record \
         committing inside the payout's one transaction is what makes a fresh payout one call; \
         it also makes a duplicate cost a cancelled transaction, where Powertools' separate \
         INPROGRESS put makes it cost a single-item put.",
        peer.calls as f64 / BATCH as f64,
        wcu(Consumer::Peer),
        peer.p50_ms,
        ours.calls as f64 / BATCH as f64,
        wcu(Consumer::Ours),
        ours.p50_ms,
        ours.inside_ms,
    ))
}

/// The capacity one record of `at` consumed: the described batch's, over [`BATCH`].
fn per_record(
    capacity: &BatchResults,
    at: (Consumer, Batch),
    pick: fn(&Capacity) -> f64,
) -> String {
    capacity
        .firsts()
        .find(|(k, _)| *k == at)
        .map_or("-".to_owned(), |(_, s)| {
            f(pick(&s.capacity) / BATCH as f64, 1)
        })
}

/// The payout batches' section of `RESULTS.md`.
pub fn payouts_section(results: &BatchResults, capacity: &BatchResults, rounds: usize) -> String {
    let mut out = format!(
        "\n## Payout batches (SQS)\n\nBatches of {BATCH} payout messages as Lambda's event source \
         mapping delivers them: replaysafe's `consume_payouts` in-process (each record one \
         `TransactWriteItems`: the credit, the balance-conditioned debit, the transfer, the payout \
         and the key's record; {BATCH} records at a time), and a Powertools peer \
         (`bench/peer/payouts.py`, in its Python process under the emulator: \
         `BatchProcessor(event_type=EventType.SQS)` and `process_partial_response`, each record \
         an `@idempotent_function` keyed by `[owner, payout_id]` making the same transaction of \
         the same 4 items, between its INPROGRESS put and its record's update). Fresh: {BATCH} \
         payouts never seen, between {BATCH} distinct pairs of accounts (no two records of a \
         batch touch one item), every one paid; redelivered: the same messages again, every one \
         answered from its record. The consumers take turns batch by batch on one DynamoDB Local. \
         Records/s: {BATCH} over the p50 batch time. Round trips: the batch's calls, overlapping \
         ones counted once. WCU, RCU: one batch with its calls described (see Capacity), per \
         record.\n\n\
         | batch | consumer | batches | records/s | p50 batch ms | p90 batch ms | DynamoDB calls per record | round trips per batch | outside DynamoDB p50 ms | WCU per record | RCU per record |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for batch in Batch::ALL {
        for consumer in Consumer::ALL {
            let samples = results.get((consumer, batch));
            if samples.is_empty() {
                continue;
            }
            let t = summary(samples.iter().map(|s| s.total));
            let o = summary(samples.iter().map(|s| s.own));
            row(
                &mut out,
                &[
                    batch.name().to_owned(),
                    consumer.name().to_owned(),
                    t.n.to_string(),
                    f(records_per_second(&samples), 0),
                    f(ms(t.p50), 2),
                    f(ms(t.p90), 2),
                    f(
                        mode(samples.iter().map(|s| s.calls)) as f64 / BATCH as f64,
                        1,
                    ),
                    mode(samples.iter().map(|s| s.rounds)).to_string(),
                    f(ms(o.p50), 2),
                    per_record(capacity, (consumer, batch), |c| c.wcu),
                    per_record(capacity, (consumer, batch), |c| c.rcu),
                ],
            );
        }
    }
    out.push_str(
        "\nreplaysafe's records per second over the peer's: whole run, and the lowest and highest \
         of the per-round ratios.\n\n| batch | ratio | rounds |\n|---|---|---|\n",
    );
    for batch in Batch::ALL {
        let (whole, lo, hi) = payout_ratio(results, batch, rounds);
        let mut cells = vec![batch.name().to_owned()];
        cells.extend(ratio_cells(whole, lo, hi));
        row(&mut out, &cells);
    }
    if let Some(note) = redelivered_note(results, capacity, rounds) {
        let _ = write!(out, "\n{note}\n");
    }
    out
}

/// The withdrawals' section of `RESULTS.md`.
pub fn withdrawals_section(results: &WithdrawalResults) -> String {
    let mut out = String::from(
        "\n## Withdrawals (POST /withdrawals, with the bank)\n\nreplaysafe's handler in-process \
         against the fake bank (`fake-bank`, a process on loopback): a fresh withdrawal holds the \
         funds (one `TransactWriteItems`: the debit, the pending withdrawal and the lease), pays \
         the bank (one HTTP call), then settles (one `TransactWriteItems`: the withdrawal paid, \
         the answer replacing the lease); a retry (the same key) gets the first answer from the \
         record, and the bank is not called again. Signed (its nonce put and the key's record \
         read first, at once), and behind an authorizer (no nonce). DynamoDB calls and round trips counted on the SDK client; bank calls on the \
         bank's counters. Outside DynamoDB includes the bank call.\n\n\
         | request | subject | n | p50 ms | p90 ms | p99 ms | DynamoDB calls | DynamoDB round trips | bank calls | outside DynamoDB p50 ms |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for request in Request::ALL {
        for m in Mode::ALL {
            let samples = results.samples.get((m, request));
            if samples.is_empty() {
                continue;
            }
            let t = summary(samples.iter().map(|s| s.total));
            let o = summary(samples.iter().map(|s| s.own));
            let bank = results
                .bank_calls
                .get(&(m, request))
                .map_or(0, |calls| mode(calls.iter().map(|&c| c as usize)));
            row(
                &mut out,
                &[
                    request.name().to_owned(),
                    m.name().to_owned(),
                    t.n.to_string(),
                    f(ms(t.p50), 2),
                    f(ms(t.p90), 2),
                    f(ms(t.p99), 2),
                    mode(samples.iter().map(|s| s.calls)).to_string(),
                    mode(samples.iter().map(|s| s.rounds)).to_string(),
                    bank.to_string(),
                    f(ms(o.p50), 2),
                ],
            );
        }
    }
    out
}

/// For the console: one line per payout batch and withdrawal request.
pub fn outside_brief(payouts: &BatchResults, withdrawals: &WithdrawalResults) -> String {
    let mut out = String::new();
    for batch in Batch::ALL {
        for consumer in Consumer::ALL {
            let samples = payouts.get((consumer, batch));
            if !samples.is_empty() {
                let t = summary(samples.iter().map(|s| s.total));
                let _ = writeln!(
                    out,
                    "{:<38} {:<48} {:>6.0} records/s  p50 {:>7.2} ms",
                    batch.name(),
                    consumer.name(),
                    records_per_second(&samples),
                    ms(t.p50)
                );
            }
        }
    }
    for request in Request::ALL {
        for m in Mode::ALL {
            let t = summary(
                withdrawals
                    .samples
                    .get((m, request))
                    .iter()
                    .map(|s| s.total),
            );
            if t.n > 0 {
                let _ = writeln!(
                    out,
                    "{:<38} {:<48} p50 {:>7.2} ms",
                    request.name(),
                    m.name(),
                    ms(t.p50)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// replaysafe's batches: 10 calls that overlap, the whole batch `total` ms, 1 ms outside.
    fn ours_batch(total: u64) -> Sample {
        Sample::new(at(total), (0..10).map(|_| (at(0), at(total - 1))).collect())
    }

    /// The peer's: 30 calls one after another, 1 ms apart.
    fn peer_batch(total: u64) -> Sample {
        let step = total / 30;
        Sample::new(
            at(total),
            (0..30)
                .map(|i| (at(i * step), at(i * step + step - 1)))
                .collect(),
        )
    }

    /// Fresh batches of both consumers, `per_round` of each in each of 2 rounds.
    fn fresh(ours: u64, peer: u64, per_round: usize) -> BatchResults {
        let mut results = BatchResults::default();
        for round in 0..2 {
            for _ in 0..per_round {
                results.push((Consumer::Ours, Batch::Fresh), round, ours_batch(ours));
                results.push((Consumer::Peer, Batch::Fresh), round, peer_batch(peer));
            }
        }
        results
    }

    #[test]
    fn records_per_second_is_a_batch_over_its_median_time() {
        let samples = [ours_batch(10), ours_batch(20), ours_batch(30)];
        let refs: Vec<&Sample> = samples.iter().collect();
        assert!((records_per_second(&refs) - 500.0).abs() < 1e-9);
        assert!(records_per_second(&[]).is_nan());
    }

    #[test]
    fn the_payout_target_compares_records_per_second() {
        let met = fresh(20, 90, 3);
        let (whole, lo, hi) = payout_ratio(&met, Batch::Fresh, 2);
        assert!((whole - 4.5).abs() < 1e-9 && (lo - 4.5).abs() < 1e-9 && (hi - 4.5).abs() < 1e-9);
        let (_, measured, ok) = payout_target(&met, 2);
        assert_eq!((measured.as_str(), ok), ("4.50x", Some(true)));
        assert_eq!(payout_miss(&met, 2, None), None);

        let missed = fresh(45, 90, 3);
        let (_, measured, ok) = payout_target(&missed, 2);
        assert_eq!((measured.as_str(), ok), ("2.00x", Some(false)));
        let why = payout_miss(&missed, 2, Some(4.0)).expect("a missed target is explained");
        // 3x needs the peer's 90 ms over 3: 15 ms less than ours.
        assert!(
            why.contains("needs a batch in 30.00 ms, 15.00 ms less"),
            "{why}"
        );
        assert!(why.contains("30 calls in 30 round trips"), "{why}");
        assert!(why.contains("10 calls (1.0 per record"), "{why}");
        // 44 ms inside DynamoDB for 10 transactions of 4 ms alone: 11x.
        assert!(why.contains("take 11.0x one alone"), "{why}");
        assert!(why.contains("largely one after another"), "{why}");
    }

    #[test]
    fn a_run_without_batches_has_the_target_not_measured() {
        let none = BatchResults::default();
        assert_eq!(payout_target(&none, 5).2, None);
        assert_eq!(payout_miss(&none, 5, None), None);
        let section = payouts_section(&none, &none, 5);
        assert!(
            section.contains("| batch of 10 payouts, fresh | - | - |"),
            "{section}"
        );
    }

    #[test]
    fn the_payouts_section_has_a_row_per_consumer_and_batch() {
        let mut results = fresh(20, 90, 1);
        results.push((Consumer::Ours, Batch::Redelivered), 0, ours_batch(5));
        let mut capacity = BatchResults::default();
        capacity.push(
            (Consumer::Ours, Batch::Fresh),
            0,
            ours_batch(20).with_capacity(Capacity {
                wcu: 100.0,
                rcu: 0.0,
            }),
        );
        let section = payouts_section(&results, &capacity, 2);
        assert!(
            section.contains(
                "| batch of 10 payouts, fresh | replaysafe consume_payouts | 2 | 500 | 20.00 | \
                 20.00 | 1.0 | 1 | 1.00 | 10.0 | 0.0 |"
            ),
            "{section}"
        );
        assert!(section.contains("| 3.0 | 30 |"), "{section}");
        assert!(section.contains("| batch of 10 payouts, fresh | 4.50x | 4.50-4.50 |"));
        assert!(section.contains("| batch of 10 payouts, redelivered | replaysafe"));
    }

    #[test]
    fn a_slower_redelivered_batch_is_explained_and_a_faster_one_is_not() {
        let mut results = BatchResults::default();
        results.push((Consumer::Ours, Batch::Redelivered), 0, ours_batch(50));
        results.push((Consumer::Peer, Batch::Redelivered), 0, ours_batch(30));
        let note = redelivered_note(&results, &BatchResults::default(), 1).expect("a note");
        assert!(note.contains("faster (0.60x)"), "{note}");
        assert!(payouts_section(&results, &BatchResults::default(), 1).contains(&note));
        results.push((Consumer::Ours, Batch::Redelivered), 0, ours_batch(10));
        results.push((Consumer::Ours, Batch::Redelivered), 0, ours_batch(10));
        assert_eq!(
            redelivered_note(&results, &BatchResults::default(), 1),
            None
        );
    }

    #[test]
    fn the_withdrawals_section_counts_bank_calls() {
        let mut results = WithdrawalResults::default();
        for bank_calls in [1, 1, 2] {
            results.push(
                (Mode::Signed, Request::Fresh),
                0,
                crate::withdrawals::Measured {
                    sample: Sample::new(at(9), vec![(at(0), at(2)), (at(6), at(8))]),
                    bank_calls,
                },
            );
        }
        let section = withdrawals_section(&results);
        assert!(
            section.contains(
                "| POST /withdrawals, fresh | replaysafe | 3 | 9.00 | 9.00 | 9.00 | 2 | 2 | 1 | 5.00 |"
            ),
            "{section}"
        );
        assert!(!section.contains("retry (replayed) |"), "{section}");
    }
}
