//! A request's time budget: the function's timeout, or Lambda's deadline when sooner, less a
//! margin to answer and log. No DynamoDB call starts that could outlive it, so the client gets
//! the guard's own 503 with `Retry-After`, never API Gateway's bare 5xx for a timed-out
//! function.

use std::time::{Duration, Instant, SystemTime};

use crate::error::GuardError;

/// Kept back from the budget to build the answer, log it, and hand it to the runtime.
const MARGIN: Duration = Duration::from_millis(500);

/// When a request must have stopped calling DynamoDB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    ends: Instant,
}

impl Budget {
    /// From now: `function_timeout`, or until `deadline` (Lambda's) when sooner, less the
    /// margin.
    pub fn new(function_timeout: Duration, deadline: Option<SystemTime>) -> Self {
        let left = deadline
            .map(|d| d.duration_since(SystemTime::now()).unwrap_or_default())
            .map_or(function_timeout, |left| left.min(function_timeout));
        Self {
            ends: Instant::now() + left.saturating_sub(MARGIN),
        }
    }

    /// Ok when a call that may take up to `call` ends inside the budget; else 503.
    pub fn allows(&self, call: Duration, step: &'static str) -> Result<(), GuardError> {
        if Instant::now() + call <= self.ends {
            return Ok(());
        }
        tracing::warn!(
            step,
            "the request's time budget cannot cover the next DynamoDB call"
        );
        Err(GuardError::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_could_outlive_the_function_is_not_started() {
        let second = Duration::from_secs(1);
        let budget = Budget::new(Duration::from_secs(10), None);
        assert!(budget.allows(Duration::from_secs(9), "t").is_ok());
        assert_eq!(
            budget.allows(Duration::from_secs(10), "t"),
            Err(GuardError::Unavailable)
        );

        // Lambda's deadline, when sooner, wins over the configured timeout.
        let soon = SystemTime::now() + 2 * second;
        let budget = Budget::new(Duration::from_secs(10), Some(soon));
        assert!(budget.allows(second, "t").is_ok());
        assert!(budget.allows(2 * second, "t").is_err());

        // A deadline already past leaves nothing.
        let past = SystemTime::now() - second;
        assert!(Budget::new(Duration::from_secs(10), Some(past))
            .allows(Duration::ZERO, "t")
            .is_err());
    }
}
