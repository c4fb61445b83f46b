//! The Powertools peer (`bench/peer/`) as a long-lived Python process under the emulator, fed
//! API Gateway events signed like ours. Its loop times the handler and its DynamoDB calls.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use replaysafe_client::events::{sign_event, EventEdits};
use replaysafe_signing::{content_digest, random_nonce, Signer};
use serde_json::Value;

use crate::capacity::{self, Capacity};
use crate::emulator::Runtime;
use crate::stats::Sample;

const GET_TEMPLATE: &str = include_str!("../../events/get-account.json");
const POST_TEMPLATE: &str = include_str!("../../events/create-transfer.json");

/// A signed API Gateway (payload 2.0) event, as a client would have sent it at `created`.
pub fn event(
    signer: &Signer,
    method: &str,
    path: &str,
    body: &str,
    key: Option<&str>,
    created: i64,
) -> Value {
    let template = if method == "POST" {
        POST_TEMPLATE
    } else {
        GET_TEMPLATE
    };
    let template: Value = serde_json::from_str(template).expect("event template is JSON");
    let edits = EventEdits {
        path: Some(path),
        body: (method == "POST").then_some(body),
        idempotency_key: key,
    };
    sign_event(&template, signer, created, &random_nonce(), &edits).expect("template signs")
}

/// `event` with another body and its matching digest, the signature left as it was: what a
/// man in the middle sends.
pub fn forged(mut event: Value, body: &str) -> Value {
    event["body"] = Value::String(body.to_owned());
    event["headers"]["content-digest"] = Value::String(content_digest(body.as_bytes()));
    event["headers"]["content-length"] = Value::String(body.len().to_string());
    event
}

pub struct Peer {
    runtime: Runtime,
    child: Child,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// `python bench/peer/bootstrap.py` with `env` (tables, endpoint, `PEER_NONCE`).
    pub async fn start(
        python: &Path,
        bootstrap: &Path,
        env: &[(String, String)],
    ) -> Result<Self, String> {
        let runtime = Runtime::start().await.map_err(|e| e.to_string())?;
        let child = Command::new(python)
            .arg(bootstrap)
            .envs(runtime.env())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", python.display()))?;
        Ok(Self { runtime, child })
    }

    /// Invokes the handler with `event`: its status and its cost as the peer measured it (and,
    /// while [`capacity::capturing`], the capacity its calls consumed).
    pub async fn send(&self, event: &Value) -> Result<(u16, Sample), String> {
        let (reply, sample) = self.invoke(event).await?;
        let status = reply
            .get("statusCode")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("peer answered {reply}"))?;
        Ok((status as u16, sample))
    }

    /// Invokes the handler with `event`: the document it answered (an API Gateway response, a
    /// partial batch response) and its cost as the peer measured it.
    pub async fn invoke(&self, event: &Value) -> Result<(Value, Sample), String> {
        let capture = capacity::capturing();
        let reply = if capture {
            let mut event = event.clone();
            event["benchCapture"] = Value::Bool(true);
            self.runtime.invoke(&event, Duration::from_secs(30)).await?
        } else {
            self.runtime.invoke(event, Duration::from_secs(30)).await?
        };
        if reply.error {
            return Err(format!(
                "peer failed: {}",
                String::from_utf8_lossy(&reply.body)
            ));
        }
        let answer: Value = serde_json::from_slice(&reply.body).map_err(|e| {
            format!(
                "peer answered {e}: {}",
                String::from_utf8_lossy(&reply.body)
            )
        })?;
        let timing: Value = reply
            .timing
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .ok_or("peer sent no timing")?;
        let ns = |v: &Value| Duration::from_nanos(v.as_u64().unwrap_or(0));
        let calls = timing["calls"]
            .as_array()
            .map(|c| c.iter().map(|pair| (ns(&pair[0]), ns(&pair[1]))).collect())
            .unwrap_or_default();
        let mut used = Capacity::default();
        for call in timing["requests"].as_array().into_iter().flatten() {
            let op = call[0].as_str().unwrap_or("");
            used += capacity::charge(op, &call[1], &call[2]);
        }
        Ok((
            answer,
            Sample::new(ns(&timing["total_ns"]), calls).with_capacity(used),
        ))
    }
}
