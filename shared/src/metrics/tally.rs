//! What happens deep in the engine during one request or record (a transaction sent again, a
//! lease taken over, who the caller turned out to be), counted where it happens and read when
//! the document is written, without a parameter through every call in between.
//!
//! A task-local per request or record: [`tallied`] scopes one around a future, [`note`] adds
//! to it. tokio swaps a task-local in on each poll of the future it scopes, so the records of
//! one batch, polled by one task through `join_all`, each count into their own. Outside a
//! scope (a guard step called on its own), [`note`] does nothing.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static TALLY: RefCell<Tally>;
}

/// What one request or record counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Transactions sent again after a conflict or throttling.
    pub transaction_retries: u32,
    /// Expired leases taken over.
    pub lease_takeovers: u32,
    /// The caller, once authenticated.
    pub principal: Option<String>,
    /// The key's record answered with this request id's own earlier commit: for a record, an
    /// earlier delivery of the same message ran the effect, not this one.
    pub own_record_found: bool,
}

/// Runs `work` with a tally of its own; its output and what it counted.
pub(crate) async fn tallied<F: Future>(work: F) -> (F::Output, Tally) {
    TALLY
        .scope(RefCell::new(Tally::default()), async {
            let out = work.await;
            (out, TALLY.with(|t| t.take()))
        })
        .await
}

/// Reads the current request's or record's tally, if there is one.
#[cfg(feature = "lambda")]
pub(crate) fn noted<T>(read: impl FnOnce(&Tally) -> T) -> Option<T> {
    TALLY.try_with(|t| read(&t.borrow())).ok()
}

/// Adds to the current request's or record's tally, if there is one.
pub(crate) fn note(count: impl FnOnce(&mut Tally)) {
    let _ = TALLY.try_with(|t| count(&mut t.borrow_mut()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_scopes_in_one_task_count_apart_and_nothing_counts_outside_them() {
        note(|t| t.lease_takeovers += 1);
        let retry = |n: u32| async move {
            for _ in 0..n {
                note(|t| t.transaction_retries += 1);
                tokio::task::yield_now().await;
            }
        };
        let (a, b) = tokio::join!(tallied(retry(3)), tallied(retry(1)));
        assert_eq!(a.1.transaction_retries, 3);
        assert_eq!(b.1.transaction_retries, 1);
        assert_eq!(a.1.lease_takeovers + b.1.lease_takeovers, 0);
    }
}
