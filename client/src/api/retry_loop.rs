//! The one place that decides whether to try again. Every call goes through `execute`, so the
//! contract's retry rules (which answers are outcomes, re-signing once per cause, one attempt at
//! a time, never two operations of one key at once, the operation's time bound) hold for every
//! endpoint alike, typed or by hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::response::RawResponse;
use super::sign::check_path;
use super::Client;
use crate::auth::Scheme;
use crate::error::Error;
use crate::retry::{parse_retry_after, Resign, RetryPolicy, Verdict};
use crate::transport::SendError;
use crate::types::IdempotencyKey;

/// A retry about to happen, for logging (see
/// [`ClientBuilder::on_retry`](crate::ClientBuilder::on_retry)).
#[derive(Debug, Clone)]
pub struct RetryEvent {
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// Why: `503 unavailable`, `409 request-in-progress`, `401 nonce-reused`, or the transport
    /// error.
    pub reason: String,
    /// The wait before the next attempt.
    pub delay: Duration,
    /// The operation's key, which the next attempt carries again (None for a GET).
    pub idempotency_key: Option<IdempotencyKey>,
}

pub(super) type RetryHook = Arc<dyn Fn(&RetryEvent) + Send + Sync>;

impl Client {
    /// Sends one logical request under the retry policy: every attempt is signed anew (a
    /// `created` later than the previous attempt's under the same key, a short `expires`, a
    /// random nonce) with the same `idempotency_key` and the same `body` bytes, one attempt at
    /// a time; a second call with the same key waits until this one is done.
    /// Returns the final answer whatever its status (use [`RawResponse::problem`]); errs when
    /// no answer arrived, or an unreadable one. `path` is relative to the endpoint and may
    /// carry a query. `extra_headers` are sent unsigned (e.g. `if-none-match`).
    pub async fn execute(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        idempotency_key: Option<&IdempotencyKey>,
        extra_headers: &[(&str, &str)],
    ) -> Result<RawResponse, Error> {
        check_path(path)?;
        if method.eq_ignore_ascii_case("POST") && idempotency_key.is_none() {
            return Err(Error::InvalidInput(
                "a POST needs an Idempotency-Key".into(),
            ));
        }
        // Held until the operation ends: never two operations of one key in flight.
        let _hold = match idempotency_key {
            Some(key) => Some(self.inner.ledger.hold(key).await),
            None => None,
        };
        let policy = &self.inner.policy;
        let mut progress = Progress::start();
        loop {
            let timeout = progress.next_attempt(policy);
            let mut request = self.sign_attempt(method, path, &body, idempotency_key, timeout);
            for (name, value) in extra_headers {
                request.set_header(name, *value);
            }
            // Awaited to its end (answer or timeout) before anything else is signed.
            let outcome = self.send(&request, timeout).await;
            let scheme = self.inner.auth.scheme();
            let judgement = Judgement::of(scheme, &outcome);
            let Some(delay) = progress.delay(policy, &judgement) else {
                return match outcome {
                    Ok(mut r) => {
                        r.attempts = progress.attempt;
                        r.settles = r.judge_settles(scheme, progress.open);
                        Ok(r)
                    }
                    Err(e) => Err(self.no_answer(&request, e, progress.attempt)),
                };
            };
            // Retried or re-sent: this attempt's outcome stays open.
            progress.open = true;
            if let Some(hook) = &self.inner.on_retry {
                hook(&RetryEvent {
                    attempt: progress.attempt,
                    reason: judgement.reason,
                    delay,
                    idempotency_key: idempotency_key.cloned(),
                });
            }
            tokio::time::sleep(delay).await;
        }
    }
}

/// What one attempt's outcome calls for, and why (the reason a retry is logged with).
struct Judgement {
    verdict: Verdict,
    retry_after: Option<Duration>,
    reason: String,
}

impl Judgement {
    fn of(scheme: Scheme, outcome: &Result<RawResponse, SendError>) -> Self {
        match outcome {
            Ok(r) => {
                let code = r.code();
                let reason = match &code {
                    Some(c) if !c.as_str().is_empty() => format!("{} {c}", r.status),
                    _ => format!("HTTP {}", r.status),
                };
                Self {
                    verdict: r.verdict(scheme),
                    retry_after: r.header("retry-after").and_then(parse_retry_after),
                    reason,
                }
            }
            // Longer than the cap is not the API's answer (a few hundred bytes): asking again
            // would not make it shorter.
            Err(e) if e.too_long => Self::no_answer(Verdict::Final, e),
            Err(e) => Self::no_answer(Verdict::Retry, e),
        }
    }

    fn no_answer(verdict: Verdict, e: &SendError) -> Self {
        Self {
            verdict,
            retry_after: None,
            reason: e.to_string(),
        }
    }
}

/// Where an operation stands: its attempts so far bound the next one's timeout and wait.
struct Progress {
    started: Instant,
    attempt: u32,
    /// The causes already re-signed for: each earns one immediate re-sign per operation.
    resigned: Vec<Resign>,
    /// An earlier attempt got no answer that settles the operation (retried or re-sent).
    open: bool,
}

impl Progress {
    fn start() -> Self {
        Self {
            started: Instant::now(),
            attempt: 0,
            resigned: Vec::new(),
            open: false,
        }
    }

    /// Counts the next attempt and returns its timeout: the policy's, cut to what is left of
    /// the operation's time.
    fn next_attempt(&mut self, policy: &RetryPolicy) -> Duration {
        self.attempt += 1;
        let left = policy.max_elapsed.saturating_sub(self.started.elapsed());
        policy
            .attempt_timeout
            .min(left)
            .max(Duration::from_millis(1))
    }

    /// The wait before the next attempt, or None when this outcome ends the operation.
    fn delay(&mut self, policy: &RetryPolicy, judgement: &Judgement) -> Option<Duration> {
        let delay = match judgement.verdict {
            Verdict::Final => None,
            Verdict::Resign(why) if self.resigned.contains(&why) => None,
            Verdict::Resign(why) => {
                self.resigned.push(why);
                Some(Duration::ZERO)
            }
            Verdict::Retry => Some(
                policy
                    .backoff(self.attempt)
                    .max(judgement.retry_after.unwrap_or_default()),
            ),
        };
        delay.filter(|delay| {
            // checked: a hostile Retry-After may be near u64::MAX seconds.
            self.attempt < policy.max_attempts
                && self
                    .started
                    .elapsed()
                    .checked_add(*delay)
                    .is_some_and(|end| end < policy.max_elapsed)
        })
    }
}
