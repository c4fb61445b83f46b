//! [`BankProcess`]: the `fake-bank` binary as a child process, driven through its `/_control`
//! API, for tests that need a real bank on a real port.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::faults::{Fault, FaultMode};
use crate::ledger::Payment;

/// How long the binary may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// What the binary prints first, followed by its URL.
const LISTENING: &str = "listening on ";

/// A running `fake-bank` on `127.0.0.1` and a free port; killed when dropped.
///
/// The control methods panic when the bank does not answer as its API says: in a test, a bank
/// that cannot be driven is a failed test.
#[derive(Debug)]
pub struct BankProcess {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl BankProcess {
    /// Starts `binary` with `--listen 127.0.0.1:0` and waits for its `listening on` line. Its
    /// logs go to this process's stderr, at `warn` unless `RUST_LOG` says otherwise. It exits
    /// when this process does, however this one ends: its standard input is a pipe from here.
    pub async fn start(binary: &Path) -> io::Result<Self> {
        let mut command = Command::new(binary);
        command
            .args(["--listen", "127.0.0.1:0", "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", binary.display())))?;
        match first_line(&mut child).await {
            Ok(line) => match line.trim_end().strip_prefix(LISTENING) {
                Some(url) => Ok(Self {
                    child,
                    url: url.to_owned(),
                    client: client(),
                }),
                None => Err(stop(child, format!("unexpected first line {line:?}"))),
            },
            Err(e) => Err(stop(child, e.to_string())),
        }
    }

    /// The bank's base URL, `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues `mode` for the next `times` `POST /payments`, replacing any queued fault;
    /// `delay_ms` is the wait of `slow` and `hang_before`.
    pub async fn set_fault(&self, mode: FaultMode, times: u32, delay_ms: u64) {
        let fault = Fault {
            mode,
            times,
            delay_ms,
        };
        let url = format!("{}/_control/faults", self.url);
        self.expect_ok("POST /_control/faults", self.client.post(url).json(&fault))
            .await;
    }

    /// Clears the queued fault.
    pub async fn clear_faults(&self) {
        let url = format!("{}/_control/faults", self.url);
        self.expect_ok("DELETE /_control/faults", self.client.delete(url))
            .await;
    }

    /// Every payment made since the start or the last reset, in order.
    pub async fn payments(&self) -> Vec<Payment> {
        let url = format!("{}/_control/payments", self.url);
        let body = self
            .expect_ok("GET /_control/payments", self.client.get(url))
            .await;
        serde_json::from_slice(&body).expect("GET /_control/payments: a list of payments")
    }

    /// How many `POST /payments` arrived with each idempotency key.
    pub async fn requests(&self) -> BTreeMap<String, u64> {
        let url = format!("{}/_control/requests", self.url);
        let body = self
            .expect_ok("GET /_control/requests", self.client.get(url))
            .await;
        serde_json::from_slice(&body).expect("GET /_control/requests: counts by key")
    }

    /// Forgets payments, stored answers, counters and the queued fault.
    pub async fn reset(&self) {
        let url = format!("{}/_control/reset", self.url);
        self.expect_ok("POST /_control/reset", self.client.post(url))
            .await;
    }

    /// Kills the bank now (what a test of an unreachable bank wants); the port then refuses
    /// connections. Killing a bank that is already dead is not an error.
    pub fn kill(&mut self) -> io::Result<()> {
        match self.child.kill() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
            Err(e) => return Err(e),
        }
        self.child.wait().map(drop)
    }

    async fn expect_ok(&self, described: &str, request: reqwest::RequestBuilder) -> Vec<u8> {
        let answer = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("fake bank at {}: {described}: {e}", self.url));
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("fake bank at {}: {described}: {e}", self.url));
        assert!(
            status.is_success(),
            "fake bank at {}: {described}: {status} {}",
            self.url,
            String::from_utf8_lossy(&body)
        );
        body.to_vec()
    }
}

impl Drop for BankProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// The first line the child prints, within [`START_TIMEOUT`].
async fn first_line(child: &mut Child) -> io::Result<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let read = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    match tokio::time::timeout(START_TIMEOUT, read).await {
        Ok(Ok(Ok(line))) if !line.is_empty() => Ok(line),
        Ok(Ok(Ok(_))) => Err(io::Error::other("exited without a listening line")),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(e)) => Err(io::Error::other(e)),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no listening line within {START_TIMEOUT:?}"),
        )),
    }
}

/// Kills a child that did not start as it should, and says why.
fn stop(mut child: Child, why: String) -> io::Error {
    let _ = child.kill();
    let status = child
        .wait()
        .map_or_else(|e| e.to_string(), |s| s.to_string());
    io::Error::other(format!("fake-bank did not start ({status}): {why}"))
}

fn client() -> reqwest::Client {
    // reqwest's rustls wants a provider even for plain HTTP: ring, as everywhere here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// Where the `fake-bank` binary of this workspace is (it is not built here: `cargo build -p
/// fake-bank` builds it). In order: `FAKE_BANK_BIN`; beside the running executable or one or
/// two directories up (a test binary runs from `target/debug/deps`); `$CARGO_TARGET_DIR/debug`;
/// the workspace's `target/debug`. The first that exists, else the last.
pub fn binary_path() -> PathBuf {
    if let Some(path) = std::env::var_os("FAKE_BANK_BIN") {
        return PathBuf::from(path);
    }
    let name = format!("fake-bank{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let dirs = exe.parent().into_iter().flat_map(Path::ancestors).take(3);
        candidates.extend(dirs.map(|dir| dir.join(&name)));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(Path::new(&target).join("debug").join(&name));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    candidates.push(workspace.join("target").join("debug").join(&name));
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .unwrap_or_else(|| candidates.pop().expect("at least one candidate"))
}
