//! Many invocations at once in one execution environment (Lambda Managed Instances): the
//! handlers driven in-process by `level` tasks, fresh transfers, each task on its own pair of
//! accounts. CPU time of this process and of DynamoDB Local's JVM says who was busy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use replaysafe_tests::TestApp;

use crate::calls::measure;
use crate::stats::{summary, Sample, Summary};

#[derive(Debug, Clone)]
pub struct Level {
    pub level: usize,
    pub requests: usize,
    pub errors: usize,
    pub wall: Duration,
    pub latency: Summary,
    /// Mean share of a request's time spent waiting on DynamoDB.
    pub inside_share: f64,
    /// CPU seconds per wall second: this process, DynamoDB Local.
    pub our_cpu: f64,
    pub dynamodb_cpu: Option<f64>,
}

/// utime + stime of a process, from /proc (clock ticks of 10 ms on Linux).
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

pub async fn run(
    app: Arc<TestApp>,
    level: usize,
    requests: usize,
    dynamodb_pid: Option<&str>,
) -> Level {
    for worker in 0..level {
        app.open_account(
            &app.alice,
            &format!("acc_c{level}_{worker}_from"),
            "EUR",
            1_000_000_000,
        )
        .await;
        app.open_account(&app.alice, &format!("acc_c{level}_{worker}_to"), "EUR", 0)
            .await;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let (cpu0, db0) = (cpu_time("self"), dynamodb_pid.and_then(cpu_time));
    let started = Instant::now();
    let workers: Vec<_> = (0..level)
        .map(|worker| {
            let (app, next) = (app.clone(), next.clone());
            tokio::spawn(async move {
                let body = TestApp::transfer_body(
                    &format!("acc_c{level}_{worker}_from"),
                    &format!("acc_c{level}_{worker}_to"),
                    1,
                );
                let mut samples: Vec<(u16, Sample)> = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    let call = app.signed(&app.alice, "POST", "/transfers", &body);
                    let (answer, sample) = measure(app.send(&call)).await;
                    samples.push((answer.status, sample));
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await.expect("worker"));
    }
    let wall = started.elapsed();
    let per_wall = |a: Option<Duration>, b: Option<Duration>| {
        Some((b? - a?).as_secs_f64() / wall.as_secs_f64())
    };
    let total: Duration = samples.iter().map(|(_, s)| s.total).sum();
    let own: Duration = samples.iter().map(|(_, s)| s.own).sum();
    Level {
        level,
        requests: samples.len(),
        errors: samples.iter().filter(|(status, _)| *status != 201).count(),
        wall,
        latency: summary(samples.iter().map(|(_, s)| s.total)),
        inside_share: 1.0 - own.as_secs_f64() / total.as_secs_f64().max(1e-9),
        our_cpu: per_wall(cpu0, cpu_time("self")).unwrap_or(0.0),
        dynamodb_cpu: per_wall(db0, dynamodb_pid.and_then(cpu_time)),
    }
}
