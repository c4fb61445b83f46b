//! The authorizer front door: API Gateway has authenticated the caller (a JWT, IAM or Lambda
//! authorizer) and names the principal in the request context.
//!
//! There is no signature, so no nonce and no signed `created` to order attempts by. What
//! follows:
//! - a fresh POST is ONE round trip: the transaction claims the key; what the key held before
//!   comes back in the cancellation's `ALL_OLD` (a replay, or 422), never from a read first;
//! - a business refusal cannot be fenced against earlier attempts (nothing orders them), so it
//!   is stored under the key as the operation's final answer, like a success: every later
//!   request with the key and the same request gets it again, marked replayed, for the whole
//!   retention. A 400 (the request itself is invalid) and a 5xx store nothing;
//! - a captured request with a valid token, sent under a new key, is a new operation: replay
//!   protection beyond idempotency needs signatures.

use replaysafe_signing::verify_content_digest;

use super::commit::Landed;
use super::{answer, Admitted, Committed, Guard};
use crate::effect::Effect;
use crate::error::{Error, GuardError, Kind, Problem};
use crate::http::{problem_answer, Incoming};
use crate::idempotency::{Fingerprint, IdempotencyKey, IdempotencyRecord, KeyState};
use crate::principal::Principal;
use crate::store::idempotency::KeyWrite;
use crate::store::Write;

impl Guard {
    /// The principal at `pointer` in the request context's authorizer object: a string of 1
    /// to 255 characters, else 401 `unauthenticated`.
    pub(super) fn authorized_principal(
        &self,
        req: &Incoming<'_>,
        pointer: &str,
    ) -> Result<Principal, GuardError> {
        let principal = req
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.pointer(pointer))
            .and_then(|value| value.as_str())
            .and_then(Principal::authorized)
            .ok_or(GuardError::Unauthenticated)?;
        crate::metrics::note(|t| t.principal = Some(principal.to_string()));
        Ok(principal)
    }

    /// Checks a POST behind an authorizer: size, principal, key, digest when sent.
    pub(super) fn admit_authorized(
        &self,
        req: &Incoming<'_>,
        pointer: &str,
    ) -> Result<Admitted, GuardError> {
        let budget = self.budget(req);
        self.check_size(req)?;
        let principal = self.authorized_principal(req, pointer)?;
        let key = IdempotencyKey::parse(req.single_header("idempotency-key")?)?;
        if let Some(digest) = req.joined_header("content-digest") {
            verify_content_digest(&digest, req.body)
                .map_err(|e| GuardError::DigestMismatch(e.to_string()))?;
        }
        Ok(Admitted {
            principal,
            key,
            fingerprint: Fingerprint::of(req.method, req.path, req.body),
            request_id: req.request_id.clone(),
            now: self.clock.now(),
            created: None,
            prior: None,
            budget,
        })
    }

    /// A POST behind an authorizer: checked, parsed, executed, committed in one transaction; a
    /// business refusal stored as the key's answer.
    pub(super) async fn post_authorized<T, E: Problem>(
        &self,
        req: &Incoming<'_>,
        pointer: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
        execute: impl AsyncFnOnce(&Admitted, T) -> Result<Effect<E>, Error<E>>,
    ) -> Result<Committed, Error<E>> {
        let op = self.admit_authorized(req, pointer)?;
        let outcome = match parse(req.body) {
            Err(e) => Err(Error::App(e)),
            Ok(parsed) => match execute(&op, parsed).await {
                Ok(effect) => self.commit(&op, effect).await,
                Err(e) => Err(e),
            },
        };
        self.settle_authorized(&op, outcome).await
    }

    /// A business refusal becomes the key's final answer; anything else is answered as it is.
    pub(super) async fn settle_authorized<E: Problem>(
        &self,
        op: &Admitted,
        outcome: Result<Committed, Error<E>>,
    ) -> Result<Committed, Error<E>> {
        self.settle_authorized_with(op, outcome, |_| Vec::new())
            .await
    }

    /// As [`Guard::settle_authorized`], committing `also(refusal)`'s writes with the stored
    /// refusal in one transaction (a record's refused result, for instance).
    pub(super) async fn settle_authorized_with<E: Problem>(
        &self,
        op: &Admitted,
        outcome: Result<Committed, Error<E>>,
        also: impl FnOnce(&E) -> Vec<Write<E>>,
    ) -> Result<Committed, Error<E>> {
        match outcome {
            Err(refusal) if refusal.kind() == Kind::Refusal => {
                let writes = match &refusal {
                    Error::App(e) => also(e),
                    Error::Guard(_) => Vec::new(),
                };
                self.store_refusal(op, refusal, writes).await
            }
            other => other,
        }
    }

    /// Stores `refusal` as the key's answer, then answers it; when the key already holds an
    /// answer (this request's own success or refusal, or another's), that answer instead.
    async fn store_refusal<E: Problem>(
        &self,
        op: &Admitted,
        refusal: Error<E>,
        writes: Vec<Write<E>>,
    ) -> Result<Committed, Error<E>> {
        let record = |now| IdempotencyRecord {
            fingerprint: op.fingerprint.clone(),
            response: problem_answer(&refusal, &self.config.problem_type_base),
            request_id: op.request_id.clone(),
            expires_at: now + self.config.idempotency_ttl_seconds,
        };
        if !writes.is_empty() {
            let claim = |now| {
                self.store
                    .claim_key(&op.principal, &op.key, &record(now), None, now)
            };
            return match self.transact(op, claim, &writes, false).await? {
                Landed::Written => Err(refusal),
                Landed::Held(held) => Ok(self.held(held, op)?),
            };
        }
        let store = self.bounded(&op.budget, "store refusal")?;
        let now = self.clock.now();
        let record = record(now);
        match store
            .put_answer(&op.principal, &op.key, &record, now)
            .await?
        {
            KeyWrite::Written => Err(refusal),
            KeyWrite::Held(KeyState::Answered(held)) => Ok(answer(held, op)?),
            KeyWrite::Held(KeyState::Leased(lease)) => {
                Err(lease.refusal(&op.fingerprint, now).into())
            }
            KeyWrite::Held(KeyState::Fenced(_)) => {
                Err(GuardError::internal("a fence under an authorizer principal's key").into())
            }
        }
    }
}
