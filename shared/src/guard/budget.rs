//! A request's time budget: the function's timeout, or Lambda's deadline when sooner, less a
//! margin to answer and log. Every DynamoDB call gets timeouts that end inside it, and none
//! starts with less than [`MIN_CALL`] left, so the client gets the guard's own 503 with
//! `Retry-After`, never API Gateway's bare 5xx for a timed-out function.

use std::time::{Duration, Instant, SystemTime};

use crate::config::DynamoDbTimeouts;
use crate::error::GuardError;

/// Kept back from the budget to build the answer, log it, and hand it to the runtime.
const MARGIN: Duration = Duration::from_millis(500);

/// The least time worth starting a DynamoDB call with (one takes milliseconds when healthy).
pub(crate) const MIN_CALL: Duration = Duration::from_millis(250);

/// When a request must have stopped calling DynamoDB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    ends: Instant,
}

impl Budget {
    /// From now: `function_timeout`, or until `deadline` (Lambda's) when sooner, less the
    /// margin. A deadline more than a minute in the past is no deadline: Lambda's is always
    /// ahead, and an emulator may send a duration where the instant belongs (`cargo lambda
    /// watch` sends 600000 ms, which reads as 1970).
    pub fn new(function_timeout: Duration, deadline: Option<SystemTime>) -> Self {
        let left = match deadline.map(|d| d.duration_since(SystemTime::now())) {
            Some(Ok(left)) => left.min(function_timeout),
            Some(Err(past)) if past.duration() < Duration::from_secs(60) => Duration::ZERO,
            _ => function_timeout,
        };
        Self {
            ends: Instant::now() + left.saturating_sub(MARGIN),
        }
    }

    /// The timeouts for the next call: `base`, each cut to what is left; 503 when less than
    /// [`MIN_CALL`] is.
    pub fn limits(
        &self,
        base: DynamoDbTimeouts,
        step: &'static str,
    ) -> Result<DynamoDbTimeouts, GuardError> {
        self.allows(Duration::ZERO, step)?;
        let left = self.left();
        Ok(DynamoDbTimeouts {
            connect: base.connect.min(left),
            attempt: base.attempt.min(left),
            operation: base.operation.min(left),
        })
    }

    /// What is left of it.
    pub fn left(&self) -> Duration {
        self.ends.saturating_duration_since(Instant::now())
    }

    /// Ok when, after `pause`, a call could still start with [`MIN_CALL`] left; else 503.
    pub fn allows(&self, pause: Duration, step: &'static str) -> Result<(), GuardError> {
        if Instant::now() + pause + MIN_CALL <= self.ends {
            return Ok(());
        }
        let left_ms = self
            .ends
            .saturating_duration_since(Instant::now())
            .as_millis() as u64;
        tracing::warn!(
            step,
            left_ms,
            "the request's time budget cannot hold the next DynamoDB call"
        );
        Err(GuardError::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_call_may_outlive_the_budget() {
        let second = Duration::from_secs(1);
        let base = DynamoDbTimeouts::default();
        // Lambda's deadline, when sooner, wins over the configured timeout: 2 s less the margin.
        let budget = Budget::new(10 * second, Some(SystemTime::now() + 2 * second));
        let limits = budget.limits(base, "t").unwrap();
        assert!(limits.operation < Duration::from_millis(1500), "{limits:?}");
        assert_eq!(limits.attempt, base.attempt, "an attempt fits as it is");
        assert!(budget.allows(second, "t").is_ok());
        assert!(budget.allows(2 * second, "t").is_err());

        // Ten seconds: the defaults fit whole.
        let budget = Budget::new(10 * second, None);
        assert_eq!(budget.limits(base, "t").unwrap(), base);

        // A deadline just past, or too near, leaves nothing to start.
        for deadline in [SystemTime::now() - second, SystemTime::now() + MARGIN] {
            let budget = Budget::new(10 * second, Some(deadline));
            assert_eq!(budget.limits(base, "t"), Err(GuardError::Unavailable));
        }

        // A duration where the instant belongs (cargo lambda watch's 600000 ms) is no deadline.
        let emulated = std::time::UNIX_EPOCH + Duration::from_millis(600_000);
        let budget = Budget::new(10 * second, Some(emulated));
        assert_eq!(budget.limits(base, "t").unwrap(), base);
    }
}
