//! The guard: what every endpoint runs before and around its effect.
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
//! ([`Guard::post`]), the guard writes a fence under the key holding the refused attempt's
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
//!   signed at `c <= t` fails freshness past `c + window`; the 60 s exceed the function timeout,
//!   so DynamoDB's TTL cannot delete the fence under an invocation still running.
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
//!
//! So no interleaving lets a refused operation take effect later, except through an attempt
//! signed after the refusal; a success costs no extra call, a refusal one.

mod builder;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{ClientCache, HmacSha256, KeySource, SignatureAlgorithm, Signed, Verifier};
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::error::{GuardError, Problem};
use crate::http::Incoming;
use crate::idempotency::{Fence, IdempotencyRecord, KeyState, StoredRefusal, StoredResponse};
use crate::store::idempotency::FenceWrite;
use crate::store::transact::{TransactError, Write};
use crate::store::Store;

pub use builder::GuardBuilder;

/// The guard: built once per cold start, lent to every request. An endpoint runs a POST
/// through [`Guard::post`], whose `execute` ends in [`Guard::commit`], and a read through
/// [`Guard::admit_read`]. A complete endpoint with its own error type is
/// `shared/examples/orders`.
///
/// ```no_run
/// use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
/// use replaysafe::http::{json, Incoming, Reply};
/// use replaysafe::idempotency::StoredResponse;
/// use replaysafe::store::{attrs::get_s, sdk_failure, AttributeValue, Write};
/// use replaysafe::{Guard, GuardError};
///
/// /// POST /notes: the note and the key's record commit together, so a retry gets the
/// /// first 201 and never writes a second note.
/// async fn create_note(guard: &Guard, req: Incoming<'_>) -> Reply {
///     let parse = |body: &[u8]| Ok::<_, GuardError>(String::from_utf8_lossy(body).into_owned());
///     let committed = guard
///         .post(&req, parse, async |admitted, text| {
///             let note_id = admitted.signed.request_id.clone();
///             let put = Put::builder()
///                 .table_name("notes")
///                 .item("note_id", AttributeValue::S(note_id.clone()))
///                 .item("owner", AttributeValue::S(admitted.client_id().to_string()))
///                 .item("text", AttributeValue::S(text))
///                 .build()
///                 .expect("table and item are set");
///             // No condition, so no refusal: the closure is never called.
///             let write = Write::new(TransactWriteItem::builder().put(put).build(), |_old| {
///                 GuardError::internal("an unconditional put failed its condition")
///             });
///             let response = StoredResponse::json(201, &note_id)
///                 .with_header("location", format!("/notes/{note_id}"));
///             guard.commit(admitted, vec![write], response).await
///         })
///         .await?;
///     Ok(committed.into())
/// }
///
/// /// GET /notes/{id}: the note is read while the nonce is consumed.
/// async fn get_note(guard: &Guard, req: Incoming<'_>) -> Reply {
///     let read = async {
///         let out = guard
///             .store()
///             .client()
///             .get_item()
///             .table_name("notes")
///             .key("note_id", AttributeValue::S(req.last_segment().to_owned()))
///             .send()
///             .await
///             .map_err(|e| sdk_failure("get_note", e))?;
///         Ok::<_, GuardError>(out.item)
///     };
///     let (_signed, item) = guard.admit_read(&req, read).await?;
///     // An app would answer a missing note 404 with its own error type.
///     let text = item.as_ref().and_then(|item| get_s(item, "text"));
///     Ok(json(200, &text))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_http::Error> {
///     replaysafe::lambda::run(Guard::from_env().await?, create_note).await
/// }
/// ```
pub struct Guard {
    store: Store,
    config: Config,
    clock: Arc<dyn Clock>,
    clients: ClientCache,
    algorithm: Arc<dyn SignatureAlgorithm>,
}

impl AsRef<Guard> for Guard {
    fn as_ref(&self) -> &Guard {
        self
    }
}

/// A POST that passed every check up to the nonce, with what the idempotency table held for
/// its key when it arrived. Only [`Guard::post`] makes one for an endpoint, so an endpoint
/// cannot run unadmitted.
#[derive(Debug)]
pub struct Admitted {
    /// Who signed it, when, under which key; its fingerprint.
    pub signed: Signed,
    prior: Option<KeyState>,
}

impl Admitted {
    /// A retry's stored answer, 422 for a key reused with another request, 409
    /// `attempt-superseded` for an attempt signed no later than the key's fence, `None` for a
    /// first request or one signed after the fence (which still meets the key's condition inside
    /// the transaction, should a concurrent attempt get there first).
    pub fn prior_answer(&self) -> Result<Option<Committed>, GuardError> {
        match self.prior.clone() {
            None => Ok(None),
            Some(KeyState::Answered(record)) => answer(record, &self.signed).map(Some),
            Some(KeyState::Fenced(fence)) if fence.created < self.signed.created => Ok(None),
            Some(KeyState::Fenced(fence)) => Err(superseded(fence, &self.signed)),
        }
    }

    /// The client that signed the request.
    pub fn client_id(&self) -> &crate::ids::ClientId {
        &self.signed.client_id
    }

    /// The `now` (unix seconds) every check of this request used: stamp the app's writes with it.
    pub fn now(&self) -> i64 {
        self.signed.now
    }
}

/// A record's answer to an attempt. The record this very invocation wrote (the runtime
/// re-delivering a request, the SDK re-sending a write that committed) is its own answer, not a
/// replay.
fn answer(record: IdempotencyRecord, signed: &Signed) -> Result<Committed, GuardError> {
    if record.request_id == signed.request_id {
        return Ok(Committed::Fresh(record.response));
    }
    record.answer(&signed.fingerprint).map(Committed::Replayed)
}

/// A fence's answer to an attempt signed no later than it: the invocation that wrote it gets
/// its refusal again; any other is superseded.
fn superseded(fence: Fence, signed: &Signed) -> GuardError {
    if fence.request_id == signed.request_id {
        GuardError::Refused(fence.refusal)
    } else {
        GuardError::AttemptSuperseded
    }
}

/// How a POST ended: its own effect committed, or the key's stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// This attempt's effect committed (or this invocation's own earlier commit).
    Fresh(StoredResponse),
    /// Another attempt's stored answer: `Idempotent-Replayed: true`.
    Replayed(StoredResponse),
}

impl Guard {
    /// A guard over `store` (the library's three tables, whose clients table holds the keys),
    /// with `config` as it is and `clock`, verifying HMAC-SHA256. [`Guard::builder`] validates
    /// the config and lets you choose the key source and the algorithm; this takes the config
    /// unchecked (tests stage expired records with a retention no deployment may have).
    pub fn new(store: Store, config: Config, clock: Arc<dyn Clock>) -> Self {
        let keys: Arc<dyn KeySource> = Arc::new(store.clone());
        Self::with_parts(store, config, clock, keys, Arc::new(HmacSha256))
    }

    pub(crate) fn with_parts(
        store: Store,
        config: Config,
        clock: Arc<dyn Clock>,
        keys: Arc<dyn KeySource>,
        algorithm: Arc<dyn SignatureAlgorithm>,
    ) -> Self {
        let clients = ClientCache::new(keys, config.client_cache);
        Self {
            store,
            config,
            clock,
            clients,
            algorithm,
        }
    }

    /// Config from the environment and an SDK client, warmed up (see [`Store::warm_up`]); once
    /// per cold start, in Lambda's init phase. [`Guard::builder`] for anything else.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::builder(Config::from_env()?).build().await
    }

    /// The library's tables.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Checks 1 to 5 (size, key, signature, digest, freshness); no DynamoDB call when the
    /// client's secret is cached. Private: without the nonce a request is not replay-safe.
    async fn verify(&self, req: &Incoming<'_>) -> Result<Signed, GuardError> {
        let verifier = Verifier {
            clients: &self.clients,
            algorithm: self.algorithm.as_ref(),
            replay_window_seconds: self.config.replay_window_seconds,
            max_body_bytes: self.config.max_body_bytes,
        };
        verifier.verify(req, self.clock.now()).await
    }

    /// A read: verifies, then consumes the nonce while `read` runs (one round trip). `read` is
    /// not polled unless verification passed; a nonce refusal wins over its result.
    pub async fn admit_read<T, E: From<GuardError>>(
        &self,
        req: &Incoming<'_>,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<(Signed, T), E> {
        let signed = self.verify(req).await?;
        let (nonce, value) = tokio::join!(self.consume_nonce(&signed), read);
        nonce?;
        Ok((signed, value?))
    }

    /// A POST, the whole way: [`Guard::admit`], then `parse` the body, then the key's prior
    /// answer if it has one, else `execute` (which ends in [`Guard::commit`]); a refusal on the
    /// way (`parse`'s, or a business rule's: [`Problem::is_refusal`]) is answered only after the
    /// key is fenced against the attempts signed before this one.
    pub async fn post<T, E>(
        &self,
        req: &Incoming<'_>,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
        execute: impl AsyncFnOnce(&Admitted, T) -> Result<Committed, E>,
    ) -> Result<Committed, E>
    where
        E: Problem + From<GuardError>,
    {
        let admitted = self.admit(req).await?;
        let outcome = match parse(req.body) {
            Err(e) => Err(e),
            Ok(parsed) => match admitted.prior_answer() {
                Ok(None) => execute(&admitted, parsed).await,
                Ok(Some(prior)) => Ok(prior),
                Err(e) => Err(e.into()),
            },
        };
        self.settle(&admitted, outcome).await
    }

    /// Makes a refusal final before it is answered (see the module docs).
    async fn settle<E>(
        &self,
        admitted: &Admitted,
        outcome: Result<Committed, E>,
    ) -> Result<Committed, E>
    where
        E: Problem + From<GuardError>,
    {
        let refusal = match outcome {
            Err(e) if e.is_refusal() => e,
            other => return other,
        };
        // A live record outlives every attempt signed before it: nothing to fence.
        if matches!(admitted.prior, Some(KeyState::Answered(_))) {
            return Err(refusal);
        }
        let signed = &admitted.signed;
        let key = signed
            .idempotency_key
            .as_ref()
            .ok_or(GuardError::IdempotencyKeyMissing)?;
        let fence = Fence {
            created: signed.created,
            request_id: signed.request_id.clone(),
            refusal: StoredRefusal::of(&refusal),
            expires_at: signed.created + self.config.replay_window_seconds + 60,
        };
        match self
            .store
            .write_fence(&signed.client_id, key, &fence, signed.now)
            .await?
        {
            // A fence at or after this attempt (ours, re-sent by the SDK, or a later one's)
            // covers it as well as our own would.
            FenceWrite::Written | FenceWrite::Held(KeyState::Fenced(_)) => Err(refusal),
            // A concurrent attempt succeeded first: its answer, not our refusal.
            FenceWrite::Held(KeyState::Answered(record)) => Ok(answer(record, signed)?),
        }
    }

    /// A POST: verifies, then consumes the nonce while reading the key's idempotency record
    /// (one round trip). [`Guard::post`] is the way for an endpoint; this step alone is public
    /// for tests that stage what happens between the read and the transaction.
    pub async fn admit(&self, req: &Incoming<'_>) -> Result<Admitted, GuardError> {
        let signed = self.verify(req).await?;
        let key = signed
            .idempotency_key
            .as_ref()
            .ok_or(GuardError::IdempotencyKeyMissing)?;
        let (nonce, prior) = tokio::join!(
            self.consume_nonce(&signed),
            self.store.get_key_state(&signed.client_id, key, signed.now)
        );
        nonce?;
        Ok(Admitted {
            signed,
            prior: prior?,
        })
    }

    async fn consume_nonce(&self, signed: &Signed) -> Result<(), GuardError> {
        // Past this moment the request fails freshness, so the record may go.
        let expires_at = signed.created + self.config.replay_window_seconds + 60;
        self.store
            .consume_nonce(
                &signed.client_id,
                &signed.nonce,
                &signed.request_id,
                expires_at,
                signed.now,
            )
            .await
    }

    /// Commits `writes` and the idempotency record holding `response` in ONE
    /// `TransactWriteItems`. When a live record already holds the key, its answer comes back
    /// instead (or 422); when a fence at or after this attempt does, 409 `attempt-superseded`.
    /// When writes' conditions failed, the refusal of the failed write with the lowest status is
    /// answered (among equal statuses, the earliest write's): list writes in the order their
    /// refusals should win. A refusal stores no answer under the key ([`Guard::post`] fences
    /// it). Conflicts and throttling are retried a bounded number of times, then 503.
    pub async fn commit<E>(
        &self,
        admitted: &Admitted,
        writes: Vec<Write<E>>,
        response: StoredResponse,
    ) -> Result<Committed, E>
    where
        E: Problem + From<GuardError>,
    {
        let signed = &admitted.signed;
        let key = signed
            .idempotency_key
            .as_ref()
            .ok_or(GuardError::IdempotencyKeyMissing)?;
        let record = IdempotencyRecord {
            fingerprint: signed.fingerprint.clone(),
            response,
            request_id: signed.request_id.clone(),
            expires_at: signed.now + self.config.idempotency_ttl_seconds,
        };
        let claim =
            self.store
                .claim_key(&signed.client_id, key, &record, signed.created, signed.now)?;
        let mut items = vec![claim];
        items.extend(writes.iter().map(|w| w.item.clone()));

        let attempts = self.config.transaction_attempts.max(1);
        for attempt in 1..=attempts {
            let cancelled = match self.store.transact(items.clone()).await {
                Ok(()) => return Ok(Committed::Fresh(record.response)),
                Err(TransactError::Failed(e)) => return Err(e.into()),
                Err(TransactError::Cancelled(c)) => c,
            };
            if cancelled.failed_condition(0) {
                let held = cancelled
                    .old_item(0)
                    .and_then(|item| self.store.live(item, signed.now))
                    .ok_or_else(|| {
                        GuardError::internal("the claim failed on an item that does not decode")
                    })?;
                return match held {
                    KeyState::Answered(record) => Ok(answer(record, signed)?),
                    KeyState::Fenced(fence) => Err(superseded(fence, signed).into()),
                };
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
                tokio::time::sleep(backoff(attempt)).await;
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
