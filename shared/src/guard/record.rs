//! A record's one transaction. Like the authorizer front door there is no nonce and no
//! signed `created`: a fresh record is ONE round trip, and a refusal is stored under the key as
//! the operation's final answer. What differs is the answer: not HTTP, but whether the record
//! is settled or must come again.

use super::{Admitted, Budget, Committed, Guard};
use crate::effect::Effect;
use crate::error::{Error, GuardError, Kind, Problem};
use crate::idempotency::Fingerprint;
use crate::metrics::RecordOutcome;
use crate::records::{Delivery, Job};
use crate::store::Write;

/// Whether a record is done or comes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Done: its effect committed now, or under its key before, or its refusal is stored.
    Done,
    /// To be delivered again: invalid, or a transient failure. Nothing was written.
    Failed,
}

/// How a record ended: its outcome, and the status and code it was refused or failed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    pub outcome: RecordOutcome,
    pub refusal: Option<(u16, String)>,
}

impl Ended {
    fn new<E: Problem>(outcome: RecordOutcome, refusal: Option<&Error<E>>) -> Self {
        Self {
            outcome,
            refusal: refusal.map(|e| (e.status(), e.code().to_owned())),
        }
    }

    /// Done, or to be delivered again.
    pub(crate) fn settled(&self) -> Settled {
        match self.outcome {
            RecordOutcome::Invalid | RecordOutcome::Failed => Settled::Failed,
            _ => Settled::Done,
        }
    }
}

impl Guard {
    /// The budget of a batch: Lambda's deadline, or the function's timeout when sooner.
    pub(crate) fn records_budget(&self, deadline: Option<std::time::SystemTime>) -> Budget {
        Budget::new(self.config.function_timeout, deadline)
    }

    /// A record `parse` refused: never stored, delivered again until its dead-letter queue.
    pub(crate) fn unparsed<E: Problem>(&self, id: &str, refusal: Error<E>) -> Ended {
        tracing::warn!(record = id, code = refusal.code(), "invalid record");
        Ended::new(RecordOutcome::Invalid, Some(&refusal))
    }

    /// `execute`s the record's input and commits its effect with the key's record, or stores
    /// its refusal as the key's answer.
    pub(crate) async fn settle_record<R, T, E: Problem>(
        &self,
        job: Job<T, E>,
        delivery: &Delivery<'_, R>,
        budget: &Budget,
        execute: &(impl AsyncFnOnce(&Admitted, T) -> Result<Effect<E>, Error<E>> + Clone),
    ) -> Ended {
        let (owner, key, input, on_refusal) = job.into_parts();
        crate::metrics::note(|t| t.principal = Some(owner.to_string()));
        let op = Admitted {
            principal: owner,
            key,
            // Only the content: a redelivery has another receipt, count and timestamp.
            fingerprint: Fingerprint::of("RECORD", "", delivery.content()),
            request_id: delivery.id().to_owned(),
            now: self.clock.now(),
            created: None,
            prior: None,
            budget: *budget,
        };
        // A clone per record, called once: its future owns it, so a batch's futures are Send
        // whatever the closure borrows.
        let outcome = match (execute.clone())(&op, input).await {
            Ok(effect) => self.commit(&op, effect).await,
            Err(e) => Err(e),
        };
        let also = |e: &E| {
            on_refusal.map_or_else(Vec::new, |writes| {
                writes(&op, e)
                    .into_iter()
                    .map(Write::unconditional)
                    .collect()
            })
        };
        let outcome = self.settle_authorized_with(&op, outcome, also).await;
        let id = delivery.id();
        match outcome {
            // A message delivered again finds its own earlier commit: nothing ran this time.
            Ok(Committed::Fresh(_))
                if crate::metrics::noted(|t| t.own_record_found) != Some(true) =>
            {
                tracing::info!(record = id, outcome = "executed", "record settled");
                Ended::new::<E>(RecordOutcome::Executed, None)
            }
            Ok(Committed::Fresh(_) | Committed::Replayed(_)) => {
                tracing::info!(record = id, outcome = "duplicate", "record settled");
                Ended::new::<E>(RecordOutcome::Duplicate, None)
            }
            Err(e @ Error::Guard(GuardError::IdempotencyKeyReused)) => {
                tracing::warn!(
                    record = id,
                    outcome = "key-reused",
                    "the key already holds another body: the first one stands"
                );
                Ended::new(RecordOutcome::KeyReused, Some(&e))
            }
            Err(e) if e.kind() == Kind::Refusal => {
                tracing::info!(
                    record = id,
                    outcome = "refused",
                    code = e.code(),
                    "record settled"
                );
                Ended::new(RecordOutcome::Refused, Some(&e))
            }
            Err(e) if e.kind() == Kind::Invalid => self.unparsed(id, e),
            Err(e) => {
                let cause = e.cause().unwrap_or_default();
                tracing::warn!(record = id, code = e.code(), %cause, "record failed; to be delivered again");
                Ended::new(RecordOutcome::Failed, Some(&e))
            }
        }
    }
}
