//! Where a request's time goes: for each path, how many DynamoDB calls it makes, how many of
//! them happen one after another (sequential round trips), and how much time the function
//! spends outside DynamoDB. Run with `make bench` (it starts DynamoDB Local).
//!
//! An interceptor on the SDK client records each call's interval; calls that overlap count as
//! one round trip.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use replaysafe::store::sdk_client;
use replaysafe::Clock;
use replaysafe_tests::{endpoint, Call, TestApp};

const ROUNDS: usize = 300;

#[derive(Debug, Clone)]
struct Started(Instant);
impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Default, Clone)]
struct Calls(Arc<Mutex<Vec<(Instant, Instant)>>>);

impl Calls {
    fn take(&self) -> Vec<(Instant, Instant)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "CallTimer"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Started(at)) = cfg.load::<Started>() {
            self.0.lock().unwrap().push((*at, Instant::now()));
        }
        Ok(())
    }
}

/// Overlapping intervals merged: (number of sequential round trips, time inside DynamoDB).
fn rounds(mut calls: Vec<(Instant, Instant)>) -> (usize, Duration) {
    calls.sort();
    let mut merged: Vec<(Instant, Instant)> = Vec::new();
    for (start, end) in calls {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let inside = merged.iter().map(|(s, e)| *e - *s).sum();
    (merged.len(), inside)
}

struct Sample {
    calls: usize,
    rounds: usize,
    total: Duration,
    own: Duration,
}

fn report(name: &str, mut samples: Vec<Sample>) {
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        v[((v.len() - 1) as f64 * p) as usize]
    };
    let mut total: Vec<_> = samples.iter().map(|s| s.total).collect();
    let mut own: Vec<_> = samples.iter().map(|s| s.own).collect();
    samples.sort_by_key(|s| (s.calls, s.rounds));
    let (calls, rounds) = (
        samples[samples.len() / 2].calls,
        samples[samples.len() / 2].rounds,
    );
    println!(
        "{name:<34} calls {calls}  round trips {rounds}  total p50 {:>7.2} ms  p99 {:>7.2} ms  \
         outside DynamoDB p50 {:>6.3} ms  p99 {:>6.3} ms",
        ms(pct(&mut total, 0.5)),
        ms(pct(&mut total, 0.99)),
        ms(pct(&mut own, 0.5)),
        ms(pct(&mut own, 0.99)),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn measure(app: &TestApp, calls: &Calls, call: &Call) -> (Sample, u16) {
    calls.take();
    let started = Instant::now();
    let answer = app.send(call).await;
    let total = started.elapsed();
    let recorded = calls.take();
    let n = recorded.len();
    let (rounds, inside) = rounds(recorded);
    (
        Sample {
            calls: n,
            rounds,
            total,
            own: total.saturating_sub(inside),
        },
        answer.status,
    )
}

#[tokio::main]
async fn main() {
    let calls = Calls::default();
    let base = sdk_client(Some(&endpoint())).await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        base.config()
            .to_builder()
            .interceptor(calls.clone())
            .build(),
    );
    let app = TestApp::with_sdk_client(client, |_| {}).await;
    let alice = &app.alice;
    app.open_account(alice, "acc_a", "EUR", 1_000_000_000).await;
    app.open_account(alice, "acc_b", "EUR", 0).await;
    let body = TestApp::transfer_body("acc_a", "acc_b", 1);
    // Warm the client-secret cache and the connection pool.
    app.send(&app.signed(alice, "GET", "/accounts/acc_a", ""))
        .await;

    let mut paths: Vec<(&str, Vec<Sample>)> = Vec::new();
    let mut run = |name, samples| paths.push((name, samples));

    let mut fresh = Vec::new();
    let mut retries = Vec::new();
    for _ in 0..ROUNDS {
        let first = app.signed(alice, "POST", "/transfers", &body);
        let (sample, status) = measure(&app, &calls, &first).await;
        assert_eq!(status, 201);
        fresh.push(sample);
        let (sample, status) = measure(&app, &calls, &first.resigned(app.clock.now())).await;
        assert_eq!(status, 201);
        retries.push(sample);
    }
    run("POST /transfers (fresh)", fresh);
    run("POST /transfers (retry, replayed)", retries);

    let mut gets = Vec::new();
    let mut bad = Vec::new();
    for _ in 0..ROUNDS {
        let (sample, status) = measure(
            &app,
            &calls,
            &app.signed(alice, "GET", "/accounts/acc_a", ""),
        )
        .await;
        assert_eq!(status, 200);
        gets.push(sample);
        let mut forged = app.signed(alice, "POST", "/transfers", &body);
        forged.body = br#"{"from":"acc_a","to":"acc_b","amount":999,"currency":"EUR"}"#.to_vec();
        forged.headers.retain(|(n, _)| n != "content-digest");
        forged.headers.push((
            "content-digest".into(),
            replaysafe_signing::content_digest(&forged.body),
        ));
        let (sample, status) = measure(&app, &calls, &forged).await;
        assert_eq!(status, 401);
        bad.push(sample);
    }
    run("GET /accounts/{id}", gets);
    run("POST with a bad signature", bad);

    println!(
        "DynamoDB endpoint {}; {ROUNDS} requests per path",
        endpoint()
    );
    for (name, samples) in paths {
        report(name, samples);
    }
}
