//! The one transaction: the effect's writes and the key's item, with the retries DynamoDB asks
//! for while the request's budget lasts.

use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::{answer, superseded, Admitted, Committed, Guard};
use crate::effect::Effect;
use crate::error::{Error, GuardError, Problem};
use crate::idempotency::{IdempotencyRecord, KeyState};
use crate::store::transact::TransactError;
use crate::store::Write;

/// How the transaction ended when it did not fail: its writes committed, or the key's item
/// held something that kept them out.
pub(super) enum Landed {
    /// Committed.
    Written,
    /// The key's item held this: nothing was written.
    Held(KeyState),
}

impl Guard {
    /// Commits the effect's writes and the key's record holding its answer in ONE
    /// `TransactWriteItems`. When a live record already holds the key, its answer comes back
    /// instead (or 422); when a fence at or after this attempt does, 409 `attempt-superseded`;
    /// when a lease does, 409 `request-in-progress`.
    pub(crate) async fn commit<E: Problem>(
        &self,
        op: &Admitted,
        effect: Effect<E>,
    ) -> Result<Committed, Error<E>> {
        effect.check_size()?;
        let Effect { writes, response } = effect;
        let record = |now| IdempotencyRecord {
            fingerprint: op.fingerprint.clone(),
            response: response.clone(),
            request_id: op.request_id.clone(),
            expires_at: now + self.config.idempotency_ttl_seconds,
        };
        let claim = |now| {
            self.store
                .claim_key(&op.principal, &op.key, &record(now), op.created, now)
        };
        match self.transact(op, claim, &writes, true).await? {
            Landed::Written => Ok(Committed::Fresh(response)),
            Landed::Held(held) => Ok(self.held(held, op)?),
        }
    }

    /// What an attempt meeting `held` under its key is answered.
    pub(super) fn held(&self, held: KeyState, op: &Admitted) -> Result<Committed, GuardError> {
        match held {
            KeyState::Answered(record) => answer(record, op),
            KeyState::Fenced(fence) => Err(superseded(fence, op)),
            KeyState::Leased(lease) => Err(lease.refusal(&op.fingerprint, self.clock.now())),
        }
    }

    /// `key_item` (built for the moment of the write) then `writes`, in ONE transaction.
    /// When the key's item fails its condition, what it held comes back; when writes'
    /// conditions fail, the refusal of the failed write with the lowest status wins. Conflicts
    /// and throttling are retried while the budget allows, then 503. `fenced`: the key's item
    /// takes the key for a signed attempt, which commits only while a fence covering it lives.
    pub(super) async fn transact<E: Problem>(
        &self,
        op: &Admitted,
        key_item: impl Fn(i64) -> Result<TransactWriteItem, GuardError>,
        writes: &[Write<E>],
        fenced: bool,
    ) -> Result<Landed, Error<E>> {
        let attempts = self.config.transaction_attempts.max(1);
        for attempt in 1..=attempts {
            let store = self.bounded(&op.budget, "transaction")?;
            // Read again: `execute` may have taken long, and the record's expiry and the
            // condition's view of expired items must be those of the moment of the write.
            let now = self.clock.now();
            if let (true, Some(created)) = (fenced, op.created) {
                self.check_fence_cover(created, now)?;
            }
            let items = std::iter::once(key_item(now)?)
                .chain(writes.iter().map(|w| w.item.clone()))
                .collect();
            if attempt > 1 {
                crate::metrics::note(|t| t.transaction_retries += 1);
            }
            let cancelled = match store.transact(items).await {
                Ok(()) => return Ok(Landed::Written),
                Err(TransactError::Failed(e)) => return Err(e.into()),
                Err(TransactError::Cancelled(c)) => c,
            };
            if cancelled.failed_condition(0) {
                let held = cancelled
                    .old_item(0)
                    .and_then(|item| self.store.live(item, now))
                    .ok_or_else(|| {
                        GuardError::internal(
                            "the key's write failed on an item that does not decode",
                        )
                    })?;
                return Ok(Landed::Held(held));
            }
            if cancelled.code(0) == "TransactionConflict" {
                return Err(GuardError::RequestInProgress.into());
            }
            let refusals = writes
                .iter()
                .enumerate()
                .filter(|(i, _)| cancelled.failed_condition(i + 1))
                .map(|(i, w)| (w.refusal)(cancelled.old_item(i + 1)));
            if let Some(refused) = refusals.min_by_key(|e| e.status()) {
                if refused.status() >= 500 {
                    tracing::error!(codes = ?cancelled.codes(), "a write's condition failed for no business reason");
                }
                return Err(refused);
            }
            if !cancelled.is_transient() {
                return Err(GuardError::internal(format!(
                    "transaction cancelled for no known reason: {:?}",
                    cancelled.codes()
                ))
                .into());
            }
            if attempt < attempts {
                let pause = backoff(attempt);
                op.budget.allows(pause, "transaction retry")?;
                tokio::time::sleep(pause).await;
            }
        }
        tracing::warn!(attempts, "transaction kept conflicting or throttled");
        Err(GuardError::Unavailable.into())
    }
}

/// Full jitter: uniform in [0, min(cap, base * 2^attempt)].
fn backoff(attempt: u32) -> Duration {
    let ceiling = (25u64 << attempt.min(6)).min(400);
    Duration::from_millis(rand::random_range(0..=ceiling))
}
