//! Cold start: a function's process spawned fresh under the [`Runtime`] emulator, timed from
//! spawn to its first poll (init) and to its first answer, then one warm invocation, with the
//! process's peak resident memory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::emulator::Runtime;
use crate::stats::{summary, Summary};

/// One spawn.
#[derive(Debug, Clone)]
pub struct ColdRun {
    /// Spawn to the first `invocation/next`.
    pub init: Duration,
    /// The first event handed over to its answer.
    pub first: Duration,
    /// Spawn to the first answer.
    pub total: Duration,
    /// CPU time of the process's live threads at its first answer: what a loaded machine's
    /// scheduler cannot stretch.
    pub cpu: Duration,
    /// The second invocation, warm.
    pub warm: Duration,
    /// VmHWM after the warm invocation.
    pub peak_rss_kib: u64,
}

/// Runs `program args` once per pair of events `events()` makes (first, warm) and checks each
/// answer's status is `expect`.
pub async fn cold_start(
    program: &Path,
    args: &[&str],
    env: &[(String, String)],
    events: [serde_json::Value; 2],
    expect: u16,
) -> Result<ColdRun, String> {
    let runtime = Runtime::start().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(runtime.env())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", program.display()))?;
    let result = async {
        let timeout = Duration::from_secs(30);
        let first = runtime.invoke(&events[0], timeout).await?;
        let init_done = runtime.first_poll().ok_or("answered without polling")?;
        let cpu = cpu_time(child.id()).unwrap_or_default();
        let warm = runtime.invoke(&events[1], timeout).await?;
        for reply in [&first, &warm] {
            if reply.error || reply.status() != Some(expect) {
                return Err(format!(
                    "{} answered {}",
                    program.display(),
                    String::from_utf8_lossy(&reply.body)
                ));
            }
        }
        Ok(ColdRun {
            init: init_done - started,
            first: first.answered_at - first.polled_at,
            total: first.answered_at - started,
            cpu,
            warm: warm.answered_at - warm.polled_at,
            peak_rss_kib: peak_rss_kib(child.id()).unwrap_or(0),
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// VmHWM of a running process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// On-CPU time of a running process's threads (`/proc/<pid>/task/*/schedstat`, nanoseconds).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(ns))
}

/// Medians over many spawns.
#[derive(Debug, Clone)]
pub struct ColdSummary {
    pub init: Summary,
    pub first: Summary,
    pub total: Summary,
    pub cpu: Summary,
    pub warm: Summary,
    pub peak_rss_kib: u64,
}

pub fn summarize(runs: &[ColdRun]) -> ColdSummary {
    let mut rss: Vec<u64> = runs.iter().map(|r| r.peak_rss_kib).collect();
    rss.sort();
    ColdSummary {
        init: summary(runs.iter().map(|r| r.init)),
        first: summary(runs.iter().map(|r| r.first)),
        total: summary(runs.iter().map(|r| r.total)),
        cpu: summary(runs.iter().map(|r| r.cpu)),
        warm: summary(runs.iter().map(|r| r.warm)),
        peak_rss_kib: rss.get(rss.len() / 2).copied().unwrap_or(0),
    }
}
