//! The signature front door: RFC 9421 verification, the nonce, and the fence.
//!
//! # Why the nonce is its own write, made durable BEFORE the transaction
//!
//! A nonce must be consumed whatever the request's outcome. Were it inside the transaction, a
//! request refused for insufficient funds would cancel the transaction, leave its nonce unused,
//! and a captured copy replayed after funds arrive would succeed. Written first with
//! `attribute_not_exists`, exactly one of any number of copies racing with the same nonce gets
//! past `consume_nonce`; the losers are refused before they can reach the transaction, and the
//! winner's outcome (success or refusal) is final for that nonce. So no copy of one attempt can
//! have a second effect. Run beside the transaction instead, every replayed copy would still
//! run a full transaction on the payer's and payee's items.
//!
//! # Why a refused operation stays refused: the fence
//!
//! An operation is one `Idempotency-Key`; each signed request under it is an attempt with its
//! own nonce and `created`. The nonce settles copies of one attempt, not the other attempts: one
//! signed earlier and held back (lost, throttled, kept by someone on the path) still has an
//! unused nonce and may arrive until `created + window`. So before a refusal is answered
//! ([`Guard::post`](crate::Guard::post)), the guard writes a fence under the key holding the refused attempt's
//! `created`, and the claim that commits with an effect is conditional on the same item:
//!
//! - fence and claim are conditional writes of ONE item (`FREE_FOR_ATTEMPT` in
//!   `store/idempotency.rs`): each succeeds only while nothing live holds the key but a fence
//!   signed strictly before its attempt. DynamoDB orders writes to one item, so of a fence at
//!   `t` and a claim for an attempt signed at `c <= t`, exactly one wins. If the claim wins, the
//!   fence write fails on the record and the refusal is not answered: the stored answer is
//!   (replay, or 422). If the fence wins, the claim fails: `attempt-superseded`, no effect.
//! - a fence only moves forward (a fence write, too, needs `fence < created`) and is replaced
//!   only by a claim, that is by the success of an attempt signed after it: the client fixed the
//!   cause and signed anew, which the contract allows.
//! - a fence outlives every attempt it covers: it expires at `t + window + 60`, while an attempt
//!   signed at `c <= t` fails freshness past `c + window`.
//! - a record outlives every attempt signed before its commit: `created` may lie up to a window
//!   ahead of the clock, so such an attempt arrives at most `2 × window` after the commit, and
//!   `Config` refuses an `IDEMPOTENCY_TTL_SECONDS` below `2 × window + 60` (and below an hour,
//!   the client's retry horizon). So a refusal never needs a fence where a record lives.
//! - a fence write that fails transiently answers 503, never the refusal: an unfenced refusal
//!   is exactly the hole. One that meets its own fence (the SDK re-sent a write whose answer was
//!   lost), or any fence at or after the attempt, has the attempt covered: the refusal stands.
//! - the invocation that wrote a fence and meets it again (Lambda re-delivered it) answers the
//!   stored refusal, not `attempt-superseded`, just as one meeting its own record answers it as
//!   its own success.
//! - and an attempt that is slow between its arrival and its transaction (an outside call, a
//!   paused process) cannot outlive the fences that cover it: just before the transaction the
//!   clock is read again, and an attempt signed at `c` commits only while `now + the call's
//!   timeout < c + window + 60`, the earliest any fence at or after `c` can expire; later, 503.
//!   The transaction's condition compares expiries with that fresh `now`.
//!
//! So no interleaving lets a refused operation take effect later, except through an attempt
//! signed after the refusal; a success costs no extra call, a refusal one.

use std::future::Future;

use super::{answer, superseded, Admitted, Committed, Guard};
use crate::auth::{Signed, Verifier};
use crate::effect::Effect;
use crate::error::{Error, GuardError, Kind, Problem};
use crate::http::Incoming;
use crate::idempotency::{Fence, KeyState, StoredRefusal};
use crate::principal::Principal;
use crate::store::idempotency::KeyWrite;
use crate::store::Store;

/// How long a nonce and a fence outlive the replay window.
pub(crate) const GRACE_SECONDS: i64 = 60;

impl Guard {
    /// Checks 1 to 5 (size, key, signature, digest, freshness); no DynamoDB call when the
    /// signing key is cached. Without the nonce a request is not replay-safe, so this is
    /// private: every caller goes on to consume it.
    async fn verify(&self, req: &Incoming<'_>) -> Result<Signed, GuardError> {
        let verifier = Verifier {
            keys: &self.keys,
            algorithms: &self.algorithms,
            replay_window_seconds: self.config.replay_window_seconds,
            max_body_bytes: self.config.max_body_bytes,
            profile: &self.config.signature_profile,
        };
        let signed = verifier.verify(req, self.clock.now()).await?;
        crate::metrics::note(|t| t.principal = Some(signed.client_id.to_string()));
        Ok(signed)
    }

    /// A signed read: verifies, then consumes the nonce while `read` runs.
    pub(super) async fn read_signed<T, E: Problem>(
        &self,
        req: &Incoming<'_>,
        read: impl Future<Output = Result<T, Error<E>>>,
    ) -> Result<(Principal, T), Error<E>> {
        let budget = self.budget(req);
        let signed = self.verify(req).await?;
        let store = self.bounded(&budget, "nonce")?;
        let (nonce, value) = tokio::join!(consume_nonce(&store, &signed, self.window()), read);
        nonce?;
        Ok((Principal::client(&signed.client_id), value?))
    }

    /// A signed POST: admitted, parsed, answered from the key or executed and committed, and
    /// settled.
    pub(super) async fn post_signed<T, E: Problem>(
        &self,
        req: &Incoming<'_>,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
        execute: impl AsyncFnOnce(&Admitted, T) -> Result<Effect<E>, Error<E>>,
    ) -> Result<Committed, Error<E>> {
        let op = self.admit_signed(req).await?;
        let outcome = match parse(req.body) {
            Err(e) => Err(Error::App(e)),
            Ok(parsed) => match prior_answer(&op) {
                Ok(None) => match execute(&op, parsed).await {
                    Ok(effect) => self.commit(&op, effect).await,
                    Err(e) => Err(e),
                },
                Ok(Some(prior)) => Ok(prior),
                Err(e) => Err(e.into()),
            },
        };
        self.settle(&op, outcome).await
    }

    /// Verifies, then consumes the nonce while reading the key's state (one round trip).
    pub(crate) async fn admit_signed(&self, req: &Incoming<'_>) -> Result<Admitted, GuardError> {
        let budget = self.budget(req);
        let signed = self.verify(req).await?;
        let key = signed
            .idempotency_key
            .clone()
            .ok_or(GuardError::IdempotencyKeyMissing)?;
        let principal = Principal::client(&signed.client_id);
        let store = self.bounded(&budget, "nonce")?;
        let (nonce, prior) = tokio::join!(
            consume_nonce(&store, &signed, self.window()),
            store.get_key_state(&principal, &key, signed.now)
        );
        nonce?;
        Ok(Admitted {
            principal,
            key,
            fingerprint: signed.fingerprint,
            request_id: signed.request_id,
            now: signed.now,
            created: Some(signed.created),
            prior: prior?,
            budget,
        })
    }

    fn window(&self) -> i64 {
        self.config.replay_window_seconds
    }

    /// Makes a refusal final before it is answered (see the module docs).
    pub(super) async fn settle<E: Problem>(
        &self,
        op: &Admitted,
        outcome: Result<Committed, Error<E>>,
    ) -> Result<Committed, Error<E>> {
        let refusal = match outcome {
            Err(e) if matches!(e.kind(), Kind::Invalid | Kind::Refusal) => e,
            other => return other,
        };
        // A live record outlives every attempt signed before it: nothing to fence.
        if matches!(op.prior, Some(KeyState::Answered(_))) {
            return Err(refusal);
        }
        let created = signed_at(op);
        let fence = Fence {
            created,
            request_id: op.request_id.clone(),
            refusal: StoredRefusal::of(&refusal),
            expires_at: created + self.config.replay_window_seconds + GRACE_SECONDS,
        };
        let store = self.bounded(&op.budget, "fence")?;
        let now = self.clock.now();
        match store
            .write_fence(&op.principal, &op.key, &fence, now)
            .await?
        {
            // A fence at or after this attempt (ours, re-sent by the SDK, or a later one's)
            // covers it as well as our own would.
            KeyWrite::Written | KeyWrite::Held(KeyState::Fenced(_)) => Err(refusal),
            // A concurrent attempt succeeded first: its answer, not our refusal.
            KeyWrite::Held(KeyState::Answered(record)) => Ok(answer(record, op)?),
            // A concurrent attempt holds the operation's lease: it settles it, and its record
            // covers this attempt.
            KeyWrite::Held(KeyState::Leased(lease)) => {
                Err(lease.refusal(&op.fingerprint, now).into())
            }
        }
    }

    /// Refuses (503) to commit an attempt signed at `created` once a fence covering it could
    /// expire before the transaction is evaluated: `now` plus the call's timeout must stay
    /// before `created + window + 60`, the earliest such a fence expires.
    pub(super) fn check_fence_cover(&self, created: i64, now: i64) -> Result<(), GuardError> {
        let call = self.config.dynamodb_timeouts.operation.as_secs_f64().ceil() as i64;
        let covered_until = created + self.config.replay_window_seconds + GRACE_SECONDS;
        if now + call < covered_until {
            return Ok(());
        }
        tracing::warn!(
            created,
            now,
            "the attempt is too old to commit: a fence covering it may be gone"
        );
        Err(GuardError::Unavailable)
    }
}

/// Consumes the signed request's nonce through `store`.
async fn consume_nonce(store: &Store, signed: &Signed, window: i64) -> Result<(), GuardError> {
    // Past this moment the request fails freshness, so the record may go.
    let expires_at = signed.created + window + GRACE_SECONDS;
    store
        .consume_nonce(
            &signed.client_id,
            &signed.nonce,
            &signed.request_id,
            expires_at,
            signed.now,
        )
        .await
}

/// A signed attempt's `created`.
fn signed_at(op: &Admitted) -> i64 {
    // Every attempt admitted through `admit_signed` has one.
    op.created.unwrap_or_default()
}

/// A retry's stored answer, 422 for a key reused with another request, 409
/// `attempt-superseded` for an attempt signed no later than the key's fence, `None` for a first
/// request or one signed after the fence (which still meets the key's condition inside the
/// transaction, should a concurrent attempt get there first).
fn prior_answer(op: &Admitted) -> Result<Option<Committed>, GuardError> {
    match op.prior.clone() {
        None => Ok(None),
        Some(KeyState::Answered(record)) => answer(record, op).map(Some),
        Some(KeyState::Fenced(fence)) if fence.created < signed_at(op) => Ok(None),
        Some(KeyState::Fenced(fence)) => Err(superseded(fence, op)),
        Some(KeyState::Leased(lease)) => Err(lease.refusal(&op.fingerprint, op.now)),
    }
}
