//! When to try again, and how long to wait.

use std::time::Duration;

use crate::auth::Scheme;
use crate::error::ProblemCode;

/// How a logical operation is retried. Every attempt is signed anew (random nonce) with the
/// operation's one `Idempotency-Key` and the same body bytes, with a `created` later than the
/// attempt before it (`max(now, previous + 1)`, even if the clock steps back) and a short
/// `expires`: `created` + the attempt's timeout (rounded up to seconds) + [`EXPIRES_MARGIN`].
/// An attempt lost on the way is thus refused as stale a few seconds after the client stopped
/// waiting for it, instead of staying deliverable for the server's whole replay window. (So
/// the client's clock must be within about that much of the server's.)
///
/// Retried: connection errors, timeouts, an answer cut off, any 5xx, 409
/// `request-in-progress`, and 429 (API Gateway's throttling, answered before the function runs,
/// so nothing happened). Re-signed at once, a single time each: 401 `nonce-reused` (the server
/// consumed the nonce, the answer was lost), and 401 `signature-invalid`, 401
/// `signature-missing`, 400 `digest-mismatch` (an honest client and server never produce them:
/// the bytes were changed on the way, and the untampered copy may still be held). Everything
/// else is final, and so is a redirect (never followed, see [`crate::Client`]).
///
/// **One attempt at a time, never hedged.** The next attempt is signed only after the previous
/// one was answered or abandoned (its timeout), and a client runs one operation per key at a
/// time (a second call with the same key waits for the first). The answer to the latest-signed
/// attempt is the operation's outcome: the server's fence makes a refusal final for every
/// attempt signed before it, but a refusal of an older attempt while a newer one is still
/// unanswered would say nothing about the newer one.
///
/// **What is not an outcome.** A 5xx, a 429, a 409 `request-in-progress`, a timeout, a lost
/// answer, a 401 `nonce-reused`, an answer to altered bytes and a redirect all leave a POST's
/// outcome open: another copy of an attempt (someone on the path keeps one) may have taken
/// effect, or still can until its `expires`. When the policy gives up on them, the error says
/// the outcome is unknown ([`crate::Error::outcome_unknown`]) and carries the key
/// ([`crate::Error::idempotency_key`]): resume with the same key, never a new one.
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

/// How far past an attempt's timeout its `expires` lies: room for the clocks of client and
/// server to differ a little, and for the last bytes of a request sent just before the timeout.
pub const EXPIRES_MARGIN: Duration = Duration::from_secs(5);

/// What one attempt's outcome calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Final: success, 304, or an error that retrying cannot change.
    Final,
    /// Wait (backoff, at least `Retry-After`), sign again, send again.
    Retry,
    /// Sign again now, once per reason.
    Resign(Resign),
}

/// Why an attempt is re-signed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resign {
    /// 401 `nonce-reused`: the server consumed the nonce; the answer never arrived.
    NonceReused,
    /// 401 `signature-invalid` or `signature-missing`, 400 `digest-mismatch`: the bytes were
    /// changed on the way.
    Altered,
}

/// The verdict for an answer with `status` and, for a problem, its `code`.
pub(crate) fn verdict(status: u16, code: Option<&ProblemCode>) -> Verdict {
    use ProblemCode::*;
    match (status, code) {
        (500..=599, _) => Verdict::Retry,
        (409, Some(RequestInProgress)) => Verdict::Retry,
        (429, _) => Verdict::Retry,
        (401, Some(NonceReused)) => Verdict::Resign(Resign::NonceReused),
        (401, Some(SignatureInvalid | SignatureMissing)) | (400, Some(DigestMismatch)) => {
            Verdict::Resign(Resign::Altered)
        }
        _ => Verdict::Final,
    }
}

/// Whether a final answer settles a POST: a success, or a refusal that no other attempt of the
/// operation can overturn (fenced by the server, or one every copy of the attempt gets). Not an
/// answer the policy retries or re-signs, and not a redirect: who answered it, and whether the
/// request went further, is unknown.
pub(crate) fn settles(status: u16, code: Option<&ProblemCode>) -> bool {
    verdict(status, code) == Verdict::Final && !(300..=399).contains(&status)
}

/// One answer, as the rules of a client's mode judge it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Answer<'a> {
    pub status: u16,
    pub code: Option<&'a ProblemCode>,
    /// `Idempotent-Replayed: true`: the key's stored answer.
    pub replayed: bool,
}

/// The verdict for an answer to a client of `scheme`.
///
/// A replayed answer is the key's stored final answer (in `jwt` mode a business refusal is
/// stored too): asking again with the same key gets it again, so it is final whatever its
/// status. A bearer-token client has no signature to make anew: 401 `signature-*` and
/// `nonce-reused` (a `signature`-mode API refusing a request that carries none) are final.
/// Otherwise both modes retry and re-send the same answers.
pub(crate) fn verdict_for(scheme: Scheme, answer: Answer<'_>) -> Verdict {
    use ProblemCode::*;
    if answer.replayed {
        return Verdict::Final;
    }
    match (scheme, answer.status, answer.code) {
        (Scheme::Bearer, 401, Some(NonceReused | SignatureInvalid | SignatureMissing)) => {
            Verdict::Final
        }
        (_, status, code) => verdict(status, code),
    }
}

/// Whether `answer`, the last of an operation, settles it for a client of `scheme`.
/// `earlier_open`: an earlier attempt of the operation got no answer that settles it (lost,
/// timed out, 5xx, 429, 409 `request-in-progress`).
///
/// A replayed answer settles it (the key's stored answer). Signing: [`settles`], and after an
/// open attempt only an answer the key itself decided: a success, 422, `attempt-superseded`,
/// or a refusal the server fences (it comes after the nonce, so the key is fenced against every
/// attempt signed before). A refusal the server gives before the nonce (401 `stale-request` or
/// `unknown-key`, 413, a 400 on the headers) or one from a proxy or WAF (a 403, an unknown
/// code) says nothing of the earlier attempt, which may still commit: the outcome is unknown. Bearer token: there is no
/// fence, but the API checks the key before it executes, so an earlier attempt that took
/// effect (or is running) makes a later one answer its stored answer (or 409
/// `request-in-progress`), and a refusal from the API settles the operation too. A 401 or
/// 403 does not after an open attempt: API Gateway's authorizer answers it (a token that
/// expired meanwhile, say) before the API sees the request, so it says nothing of the earlier
/// attempt.
pub(crate) fn settles_for(scheme: Scheme, answer: Answer<'_>, earlier_open: bool) -> bool {
    if answer.replayed {
        return true;
    }
    match scheme {
        Scheme::Signature => {
            settles(answer.status, answer.code) && (!earlier_open || decided_by_the_key(answer))
        }
        Scheme::Bearer => {
            verdict_for(scheme, answer) == Verdict::Final
                && !(300..=399).contains(&answer.status)
                && !(earlier_open && matches!(answer.status, 401 | 403))
        }
    }
}

/// A success, or an answer given after the nonce, under the key: the key decided it.
fn decided_by_the_key(answer: Answer<'_>) -> bool {
    use ProblemCode::*;
    match answer.code {
        None => (200..=299).contains(&answer.status),
        Some(
            IdempotencyKeyReused | AttemptSuperseded | InvalidJson | ValidationFailed | NotFound
            | AccountExists | InsufficientFunds | CurrencyMismatch | BankRefused,
        ) => true,
        Some(_) => false,
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
        assert_eq!(
            verdict(401, code("nonce-reused").as_ref()),
            Verdict::Resign(Resign::NonceReused)
        );
        for (status, c) in [
            (401, "signature-invalid"),
            (401, "signature-missing"),
            (400, "digest-mismatch"),
        ] {
            let v = verdict(status, code(c).as_ref());
            assert_eq!(v, Verdict::Resign(Resign::Altered), "{c}");
        }
        for (status, c) in [
            (400, "validation-failed"),
            (401, "stale-request"),
            (401, "unknown-key"),
            (404, "not-found"),
            (409, "attempt-superseded"),
            (409, "insufficient-funds"),
            (409, "account-exists"),
            (413, "body-too-large"),
            (422, "idempotency-key-reused"),
        ] {
            assert_eq!(verdict(status, code(c).as_ref()), Verdict::Final, "{c}");
        }
        assert_eq!(verdict(201, None), Verdict::Final);
        assert_eq!(verdict(304, None), Verdict::Final);
        assert_eq!(verdict(307, None), Verdict::Final, "never followed");
    }

    #[test]
    fn which_answers_settle_a_post() {
        let code = |c: &str| Some(ProblemCode::parse(c));
        assert!(settles(201, None));
        for (status, c) in [
            (409, "insufficient-funds"),
            (404, "not-found"),
            (400, "validation-failed"),
            (409, "attempt-superseded"),
            (422, "idempotency-key-reused"),
            (401, "unknown-key"),
        ] {
            assert!(settles(status, code(c).as_ref()), "{c}");
        }
        for (status, c) in [
            (503, "unavailable"),
            (409, "request-in-progress"),
            (401, "nonce-reused"),
            (401, "signature-invalid"),
            (400, "digest-mismatch"),
            (429, ""),
            (307, ""),
            (302, ""),
        ] {
            assert!(!settles(status, code(c).as_ref()), "{status} {c}");
        }
    }

    #[test]
    fn a_replayed_answer_is_final_and_settles_in_both_modes() {
        let code = |c: &str| ProblemCode::parse(c);
        for scheme in [Scheme::Signature, Scheme::Bearer] {
            for (status, c) in [
                (404, "not-found"),
                (409, "insufficient-funds"),
                (409, "currency-mismatch"),
                (409, "account-exists"),
                // Never stored by the contract; were it replayed, asking again gets it again.
                (503, "unavailable"),
            ] {
                let c = code(c);
                let answer = Answer {
                    status,
                    code: Some(&c),
                    replayed: true,
                };
                assert_eq!(verdict_for(scheme, answer), Verdict::Final, "{c}");
                assert!(settles_for(scheme, answer, true), "{scheme:?} {c}");
            }
        }
    }

    #[test]
    fn bearer_rules() {
        fn answer(status: u16, code: &ProblemCode) -> Answer<'_> {
            Answer {
                status,
                code: Some(code),
                replayed: false,
            }
        }
        let code = ProblemCode::parse;
        let (missing, nonce, digest) = (
            code("signature-missing"),
            code("nonce-reused"),
            code("digest-mismatch"),
        );
        let (refused, other) = (code("insufficient-funds"), code(""));
        let bearer = Scheme::Bearer;
        // Nothing to sign anew: final, and nothing happened.
        for c in [&missing, &nonce] {
            assert_eq!(verdict_for(bearer, answer(401, c)), Verdict::Final);
            assert!(settles_for(bearer, answer(401, c), false));
        }
        assert_eq!(
            verdict_for(Scheme::Signature, answer(401, &missing)),
            Verdict::Resign(Resign::Altered),
            "signing unchanged"
        );
        // Altered bytes: sent again once, as in signature mode.
        assert_eq!(
            verdict_for(bearer, answer(400, &digest)),
            Verdict::Resign(Resign::Altered)
        );
        assert!(!settles_for(bearer, answer(400, &digest), false));
        // A refusal from the API settles it, even after a lost attempt.
        assert!(settles_for(bearer, answer(409, &refused), true));
        // The authorizer's 401/403 settles it only if no earlier attempt was left open.
        for status in [401, 403] {
            assert!(settles_for(bearer, answer(status, &other), false));
            assert!(!settles_for(bearer, answer(status, &other), true));
        }
        assert!(!settles_for(bearer, answer(503, &other), false));
        assert!(!settles_for(bearer, answer(307, &other), false));
    }

    #[test]
    fn after_an_open_attempt_only_what_the_key_decided_settles_a_signed_operation() {
        let code = |c: &str| ProblemCode::parse(c);
        let signed = Scheme::Signature;
        fn answer(status: u16, code: Option<&ProblemCode>) -> Answer<'_> {
            Answer {
                status,
                code,
                replayed: false,
            }
        }
        assert!(settles_for(signed, answer(201, None), true));
        for (status, c) in [
            (422, "idempotency-key-reused"),
            (409, "attempt-superseded"),
            (409, "insufficient-funds"),
            (404, "not-found"),
            (400, "validation-failed"),
        ] {
            let c = code(c);
            assert!(settles_for(signed, answer(status, Some(&c)), true), "{c}");
        }
        // Answered before the nonce, or by someone else on the path: the earlier attempt may
        // still commit.
        for (status, c) in [
            (401, Some(code("stale-request"))),
            (401, Some(code("unknown-key"))),
            (413, Some(code("body-too-large"))),
            (400, Some(code("idempotency-key-invalid"))),
            (403, Some(code("forbidden-by-waf"))),
            (403, None),
            (413, None),
        ] {
            let a = answer(status, c.as_ref());
            assert!(!settles_for(signed, a, true), "{status} {:?}", a.code);
            assert!(settles_for(signed, a, false), "{status}: nothing was open");
        }
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
