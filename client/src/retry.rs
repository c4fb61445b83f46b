//! When to try again, and how long to wait.

use std::time::Duration;

use crate::error::ProblemCode;

/// How a logical operation is retried. Every attempt is signed anew (fresh `created`, random
/// nonce) with the operation's one `Idempotency-Key` and the same body bytes.
///
/// Retried: connection errors, timeouts, an answer cut off, any 5xx, 409
/// `request-in-progress`, and 429 (API Gateway's throttling, answered before the function runs,
/// so nothing happened). Re-signed at once, a single time: 401 `nonce-reused`. Everything else
/// is final.
///
/// The wait before attempt `n + 1` is "full jitter": uniform in
/// `[0, min(max_delay, base_delay * 2^(n-1))]`, and never less than the answer's `Retry-After`.
/// The operation gives up after `max_attempts` attempts, or as soon as the next wait would end
/// past `max_elapsed` (each attempt's timeout is also cut to what is left of it), and then
/// returns the last answer or transport error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The first backoff ceiling.
    pub base_delay: Duration,
    /// The backoff ceiling's cap.
    pub max_delay: Duration,
    /// The whole operation, all attempts and waits, ends by then. Keep it far below the
    /// server's idempotency retention (`IDEMPOTENCY_TTL_SECONDS`, 24 h by default): a retry
    /// after the retention would execute the operation a second time.
    pub max_elapsed: Duration,
    /// One attempt, from connecting to the end of the answer's body.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, backoff from 200 ms capped at 10 s, 10 s per attempt, 5 min in all.
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(300),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn no_retries() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The ceiling of the wait after failed attempt `attempt` (1-based):
    /// `min(max_delay, base_delay * 2^(attempt-1))`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A full-jitter wait after failed attempt `attempt`: uniform in `[0, backoff_ceiling]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::random_range(0..=nanos))
    }
}

/// What one attempt's outcome calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Final: success, 304, or an error that retrying cannot change.
    Final,
    /// Wait (backoff, at least `Retry-After`), sign again, send again.
    Retry,
    /// 401 `nonce-reused`: sign again now, once.
    Resign,
}

/// The verdict for an answer with `status` and, for a problem, its `code`.
pub(crate) fn verdict(status: u16, code: Option<&ProblemCode>) -> Verdict {
    match (status, code) {
        (500..=599, _) => Verdict::Retry,
        (409, Some(ProblemCode::RequestInProgress)) => Verdict::Retry,
        (429, _) => Verdict::Retry,
        (401, Some(ProblemCode::NonceReused)) => Verdict::Resign,
        _ => Verdict::Final,
    }
}

/// `Retry-After` in delta-seconds (what this API sends). An HTTP-date is ignored: the backoff
/// applies then.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_answers_are_retried() {
        let code = |c: &str| Some(ProblemCode::parse(c));
        assert_eq!(verdict(503, code("unavailable").as_ref()), Verdict::Retry);
        assert_eq!(verdict(500, code("internal").as_ref()), Verdict::Retry);
        assert_eq!(verdict(502, None), Verdict::Retry);
        assert_eq!(verdict(504, None), Verdict::Retry);
        assert_eq!(
            verdict(409, code("request-in-progress").as_ref()),
            Verdict::Retry
        );
        assert_eq!(verdict(429, None), Verdict::Retry);
        assert_eq!(verdict(401, code("nonce-reused").as_ref()), Verdict::Resign);
        for (status, c) in [
            (400, "validation-failed"),
            (400, "digest-mismatch"),
            (401, "stale-request"),
            (401, "signature-invalid"),
            (404, "not-found"),
            (409, "insufficient-funds"),
            (409, "account-exists"),
            (413, "body-too-large"),
            (422, "idempotency-key-reused"),
        ] {
            assert_eq!(verdict(status, code(c).as_ref()), Verdict::Final, "{c}");
        }
        assert_eq!(verdict(201, None), Verdict::Final);
        assert_eq!(verdict(304, None), Verdict::Final);
    }

    #[test]
    fn backoff_grows_then_caps() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        let ceilings: Vec<u128> = (1..=7).map(|n| p.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(100));
    }

    #[test]
    fn backoff_is_full_jitter_within_bounds() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            ..RetryPolicy::default()
        };
        for attempt in 1..=6 {
            let ceiling = p.backoff_ceiling(attempt);
            let waits: Vec<Duration> = (0..500).map(|_| p.backoff(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            // Spread over the whole range, not pinned to the ceiling: full jitter.
            assert!(waits.iter().any(|w| *w < ceiling / 4), "attempt {attempt}");
            assert!(
                waits.iter().any(|w| *w > ceiling * 3 / 4),
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
