//! A POST with an effect outside DynamoDB: hold, call, settle (see [`crate::lease`] for the
//! guarantees). Both front doors admit it as any POST; what differs is that the key's item
//! holds a lease between the hold and the settlement, and only its current token settles.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::commit::Landed;
use super::{answer, superseded, Admitted, Committed, Guard};
use crate::config::Auth;
use crate::error::{Error, GuardError, Problem};
use crate::http::{problem_answer, stored, Incoming, Reply};
use crate::idempotency::{seconds_until, IdempotencyRecord, KeyState, Lease, StoredResponse};
use crate::lease::{Hold, LeaseTerms, Leased, Settle};
use crate::store::idempotency::KeyWrite;
use crate::store::Write;

impl Guard {
    /// A POST whose effect is a call to another service, made at most once per operation
    /// (see [`crate::lease`]): authenticate, `parse`, then `hold` (its writes commit with a
    /// lease on the key, or its refusal is the answer), then `call` under the lease with
    /// [`Leased::downstream_key`], then the settlement `call` returns commits with the
    /// operation's answer, in one transaction conditioned on the lease's token. A retry gets
    /// the stored answer, 409 while a lease lives, or takes an expired lease over and calls
    /// again. When `call` fails (a timeout, a 5xx), the hold and the lease stay: 503 with
    /// `Retry-After` until the lease ends.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use replaysafe::http::{Incoming, Reply};
    /// use replaysafe::lease::{Hold, LeaseTerms, Settle};
    /// use replaysafe::{Effect, Guard, GuardError};
    ///
    /// /// POST /receipts: a receipt is mailed at most once per key (the mailer honours the key
    /// /// it is given), however often the request is retried.
    /// async fn mail_receipt(guard: &Guard, req: Incoming<'_>) -> Reply {
    ///     let terms = LeaseTerms::new(Duration::from_secs(20), Duration::from_secs(5))?;
    ///     let parse = |body: &[u8]| Ok(String::from_utf8_lossy(body).into_owned());
    ///     guard
    ///         .post_leased(
    ///             &req,
    ///             &terms,
    ///             parse,
    ///             async |_op, address| Ok(Hold::new(address)),
    ///             async |leased| {
    ///                 let key = leased.downstream_key();
    ///                 mail(leased.state(), &key, leased.time_left()).await?;
    ///                 Ok(Settle::Complete(Effect::json(201, &"mailed")))
    ///             },
    ///         )
    ///         .await
    /// }
    ///
    /// /// The outside call: a timeout or a 5xx is an error, and the lease stays.
    /// async fn mail(to: &str, key: &str, within: Duration) -> Result<(), GuardError> {
    ///     # let _ = (to, key, within);
    ///     Ok(())
    /// }
    /// ```
    pub async fn post_leased<T, H, E>(
        &self,
        req: &Incoming<'_>,
        terms: &LeaseTerms,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
        hold: impl AsyncFnOnce(&Admitted, T) -> Result<Hold<E, H>, Error<E>>,
        call: impl AsyncFnOnce(&Leased<H>) -> Result<Settle<E>, Error<E>>,
    ) -> Reply<E>
    where
        E: Problem,
        H: Serialize + DeserializeOwned,
    {
        let committed = match &self.config.auth {
            Auth::Signatures => {
                let op = self.admit_signed(req).await?;
                let outcome = self.leased(&op, terms, parse(req.body), hold, call).await;
                self.settle(&op, outcome).await
            }
            Auth::Authorizer { principal } => {
                let op = self.admit_authorized(req, principal)?;
                let outcome = self.leased(&op, terms, parse(req.body), hold, call).await;
                self.settle_authorized(&op, outcome).await
            }
        }?;
        Ok(match committed {
            Committed::Fresh(r) => stored(&r, false),
            Committed::Replayed(r) => stored(&r, true),
        })
    }

    async fn leased<T, H, E>(
        &self,
        op: &Admitted,
        terms: &LeaseTerms,
        parsed: Result<T, E>,
        hold: impl AsyncFnOnce(&Admitted, T) -> Result<Hold<E, H>, Error<E>>,
        call: impl AsyncFnOnce(&Leased<H>) -> Result<Settle<E>, Error<E>>,
    ) -> Result<Committed, Error<E>>
    where
        E: Problem,
        H: Serialize + DeserializeOwned,
    {
        let input = parsed.map_err(Error::App)?;
        let held = match op.prior.clone() {
            Some(KeyState::Answered(record)) => return Ok(answer(record, op)?),
            Some(KeyState::Fenced(fence)) if Some(fence.created) >= op.created => {
                return Err(superseded(fence, op).into())
            }
            Some(KeyState::Leased(lease)) => KeyState::Leased(lease),
            // Nothing, or a fence before this attempt: hold.
            _ => match self.hold(op, terms, hold(op, input).await?).await? {
                Ok(leased) => return self.call(op, terms, leased, call).await,
                Err(held) => held,
            },
        };
        let KeyState::Leased(lease) = held else {
            return Ok(self.held(held, op)?);
        };
        match self.take_over(op, terms, lease).await? {
            Ok(leased) => self.call(op, terms, leased, call).await,
            Err(held) => Ok(self.held(held, op)?),
        }
    }

    /// The outside call under `leased`, then its settlement.
    async fn call<H, E: Problem>(
        &self,
        op: &Admitted,
        terms: &LeaseTerms,
        leased: Leased<H>,
        call: impl AsyncFnOnce(&Leased<H>) -> Result<Settle<E>, Error<E>>,
    ) -> Result<Committed, Error<E>> {
        let left = leased.until - self.clock.now();
        let call_secs = terms.call_timeout().as_secs_f64().ceil() as i64;
        if left < call_secs || op.budget.left() < terms.call_timeout() {
            tracing::warn!(
                lease_left = left,
                "too little lease or function time left to start the outside call"
            );
            return Err(unsettled(&leased, self.clock.now()).into());
        }
        let outcome = call(&leased).await;
        let (writes, response) = match outcome {
            Ok(Settle::Complete(effect)) => {
                effect.check_size()?;
                (effect.writes, effect.response)
            }
            Ok(Settle::Release { refusal, writes }) => {
                let refusal = Error::App(refusal);
                let response = problem_answer(&refusal, &self.config.problem_type_base);
                (
                    writes.into_iter().map(Write::unconditional).collect(),
                    response,
                )
            }
            Err(e) => {
                let cause = e.cause().unwrap_or_else(|| e.to_string());
                tracing::warn!(code = e.code(), %cause, "the outside call did not settle; the hold and the lease stay");
                return Err(unsettled(&leased, self.clock.now()).into());
            }
        };
        self.settle_lease(op, &leased, &writes, response).await
    }

    /// Commits the hold's writes with a new lease on the key; what held the key instead.
    async fn hold<E: Problem, H: Serialize>(
        &self,
        op: &Admitted,
        terms: &LeaseTerms,
        hold: Hold<E, H>,
    ) -> Result<Result<Leased<H>, KeyState>, Error<E>> {
        hold.check_size()?;
        let Hold { writes, state } = hold;
        let now = self.clock.now();
        let lease = Lease {
            fingerprint: op.fingerprint.clone(),
            request_id: op.request_id.clone(),
            token: uuid::Uuid::new_v4().to_string(),
            until: now + terms.length().as_secs() as i64,
            held: serde_json::to_string(&state)
                .map_err(|e| GuardError::internal(format!("the held state: {e}")))?,
            // The hold outlives any retry: only a settlement removes it.
            expires_at: now + self.config.idempotency_ttl_seconds,
        };
        let claim = |now| {
            Ok(self
                .store
                .claim_lease(&op.principal, &op.key, &lease, op.created, now))
        };
        Ok(match self.transact(op, claim, &writes, true).await? {
            Landed::Written => {
                Ok(self.leased_as(op, terms, state, lease.token, lease.until, false))
            }
            Landed::Held(held) => Err(held),
        })
    }

    /// Takes over `lease` once it has run out (422 for another request, 409 while it lives);
    /// what holds the key when another attempt took it over or settled it first.
    async fn take_over<H: DeserializeOwned, E: Problem>(
        &self,
        op: &Admitted,
        terms: &LeaseTerms,
        lease: Lease,
    ) -> Result<Result<Leased<H>, KeyState>, Error<E>> {
        let now = self.clock.now();
        if lease.fingerprint != op.fingerprint || lease.until > now {
            return Err(lease.refusal(&op.fingerprint, now).into());
        }
        let state: H = serde_json::from_str(&lease.held)
            .map_err(|e| GuardError::internal(format!("a lease's held state: {e}")))?;
        let new = Lease {
            token: uuid::Uuid::new_v4().to_string(),
            until: now + terms.length().as_secs() as i64,
            request_id: op.request_id.clone(),
            ..lease.clone()
        };
        let store = self.bounded(&op.budget, "lease take-over")?;
        match store
            .take_over(&op.principal, &op.key, &lease, &new, now)
            .await?
        {
            KeyWrite::Written => {
                tracing::info!("took over a lease that had run out");
                crate::metrics::note(|t| t.lease_takeovers += 1);
                Ok(Ok(
                    self.leased_as(op, terms, state, new.token, new.until, true)
                ))
            }
            KeyWrite::Held(held) => Ok(Err(held)),
        }
    }

    /// Replaces the lease with the operation's answer and commits `writes`, while the lease
    /// is still this attempt's.
    async fn settle_lease<E: Problem, H>(
        &self,
        op: &Admitted,
        leased: &Leased<H>,
        writes: &[Write<E>],
        response: StoredResponse,
    ) -> Result<Committed, Error<E>> {
        let record = |now| IdempotencyRecord {
            fingerprint: op.fingerprint.clone(),
            response: response.clone(),
            request_id: op.request_id.clone(),
            expires_at: now + self.config.idempotency_ttl_seconds,
        };
        let item = |now| {
            self.store
                .settle_lease(&op.principal, &op.key, &record(now), &leased.token)
        };
        match self.transact(op, item, writes, false).await? {
            Landed::Written => Ok(Committed::Fresh(response)),
            // Taken over (409), or settled by the attempt that took it over (its answer).
            Landed::Held(held) => {
                tracing::warn!("the lease was lost before settling: the settlement is refused");
                Ok(self.held(held, op)?)
            }
        }
    }

    fn leased_as<H>(
        &self,
        op: &Admitted,
        terms: &LeaseTerms,
        state: H,
        token: String,
        until: i64,
        taken_over: bool,
    ) -> Leased<H> {
        Leased {
            state,
            principal: op.principal.clone(),
            key: op.key.clone(),
            token,
            until,
            call_ends: std::time::Instant::now() + terms.call_timeout(),
            now: self.clock.now(),
            taken_over,
        }
    }
}

/// 503 until the lease ends: a retry before then would only meet it.
fn unsettled<H>(leased: &Leased<H>, now: i64) -> GuardError {
    GuardError::Unsettled {
        retry_after: seconds_until(leased.until, now),
    }
}
