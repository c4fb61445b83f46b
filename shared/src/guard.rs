//! The guard: one engine behind two front doors. An endpoint hands it what a POST does (an
//! [`Effect`]) and gets back the answer; authentication, the nonce, the key's record, the one
//! transaction, the fence and the time budget are all in here, and none of them can be skipped.
//!
//! # The two front doors
//!
//! - **Signatures** (RFC 9421, the default): verify, then consume the nonce while reading the
//!   key's state (one round trip), then the transaction. See `guard/signed.rs` for why the nonce is a
//!   write of its own and why a refusal is fenced before it is answered.
//! - **Authorizer** (API Gateway JWT, IAM or Lambda authorizer): the principal comes from the
//!   request context; there is no nonce and no window, so a fresh POST is ONE round trip (the
//!   transaction; what the key held comes back in the cancellation's `ALL_OLD`), and a business
//!   refusal is stored under the key as its final answer. See `guard/authorized.rs`.
//!
//! # Time
//!
//! Every request gets a budget that ends before the function's timeout (the config's
//! `FUNCTION_TIMEOUT_SECONDS`, or Lambda's own deadline when sooner): every DynamoDB call's
//! timeouts are cut to what is left of it, so a client always gets the guard's 503 with
//! `Retry-After`, never API Gateway's bare 5xx. And a signed attempt commits only while any fence that could cover it
//! is certain to be alive, by a clock read just before the transaction.

mod authorized;
mod budget;
mod builder;
mod commit;
mod leased;
#[cfg(feature = "lambda")]
mod record;
pub(crate) mod signed;

use std::future::Future;
use std::sync::Arc;

use crate::auth::KeyCache;
use crate::clock::Clock;
use crate::config::{Auth, Config, ConfigError};
use crate::effect::Effect;
use crate::error::{Error, GuardError, Problem};
use crate::http::{stored, Incoming, Reply};
use crate::idempotency::{Fence, Fingerprint, IdempotencyKey, IdempotencyRecord, KeyState};
use crate::principal::Principal;
use crate::store::Store;

pub(crate) use budget::Budget;
pub use builder::GuardBuilder;
pub(crate) use outcome::Committed;
#[cfg(feature = "lambda")]
pub(crate) use record::{Ended, Settled};

/// Private, so that only the guard makes one; the test kit re-exports it to name what its
/// `commit` step returns.
pub(crate) mod outcome {
    use crate::idempotency::StoredResponse;

    /// How a POST ended: its own effect committed, or the key's stored answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Committed {
        /// This attempt's effect committed (or this invocation's own earlier commit).
        Fresh(StoredResponse),
        /// Another attempt's stored answer: `Idempotent-Replayed: true`.
        Replayed(StoredResponse),
    }
}

/// The guard: built once per cold start ([`Guard::from_env`] or [`Guard::builder`]), lent to
/// every request. A POST goes through [`Guard::post`], a read through [`Guard::read`]. A
/// complete endpoint of another domain is `shared/examples/orders`.
///
/// ```no_run
/// use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
/// use replaysafe::http::{json, Incoming, Reply};
/// use replaysafe::store::AttributeValue;
/// use replaysafe::{Effect, Guard};
///
/// /// POST /notes: the note and the key's record commit together, so a retry gets the
/// /// first 201 and never writes a second note.
/// async fn create_note(guard: &Guard, req: Incoming<'_>) -> Reply {
///     let parse = |body: &[u8]| Ok(String::from_utf8_lossy(body).into_owned());
///     guard
///         .post(&req, parse, async |op, text| {
///             let note_id = op.request_id().to_owned();
///             let put = Put::builder()
///                 .table_name("notes")
///                 .item("note_id", AttributeValue::S(note_id.clone()))
///                 .item("owner", AttributeValue::S(op.principal().to_string()))
///                 .item("text", AttributeValue::S(text))
///                 .build()
///                 .expect("table and item are set");
///             Ok(Effect::json(201, &note_id)
///                 .header("location", format!("/notes/{note_id}"))
///                 .unconditional(TransactWriteItem::builder().put(put).build()))
///         })
///         .await
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_http::Error> {
///     replaysafe::lambda::run(Guard::from_env().await?, "POST /notes", create_note).await
/// }
/// # let _ = json(200, &());
/// ```
pub struct Guard {
    store: Store,
    config: Config,
    clock: Arc<dyn Clock>,
    /// Signature mode's keys, cached; unused behind an authorizer.
    keys: KeyCache,
    /// What signatures are verified with, by the key's `alg`.
    algorithms: Vec<Arc<dyn crate::auth::SignatureAlgorithm>>,
    /// Where each request's or record's metric document goes.
    metrics: crate::metrics::Metrics,
}

impl AsRef<Guard> for Guard {
    fn as_ref(&self) -> &Guard {
        self
    }
}

/// A POST the guard admitted: who asked, under which key, at what time. Only the guard makes
/// one, and an endpoint sees it only inside [`Guard::post`].
#[derive(Debug)]
pub struct Admitted {
    principal: Principal,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
    request_id: String,
    now: i64,
    /// A signed attempt's `created`; `None` behind an authorizer.
    created: Option<i64>,
    /// What the key held when a signed attempt arrived; never read behind an authorizer.
    prior: Option<KeyState>,
    budget: Budget,
}

impl Admitted {
    /// Who asked: the owner of what the effect creates.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The `now` (unix seconds) the request's checks used: stamp the app's writes with it.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Unique per invocation (the Lambda request id): a handy unique id for what it creates.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The operation's `Idempotency-Key`.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }
}

/// A record's answer to an attempt. The record this very invocation wrote (the runtime
/// re-delivering a request, the SDK re-sending a write that committed) is its own answer, not a
/// replay.
fn answer(record: IdempotencyRecord, op: &Admitted) -> Result<Committed, GuardError> {
    if record.request_id == op.request_id {
        crate::metrics::note(|t| t.own_record_found = true);
        return Ok(Committed::Fresh(record.response));
    }
    record.answer(&op.fingerprint).map(Committed::Replayed)
}

/// A fence's answer to an attempt signed no later than it: the invocation that wrote it gets
/// its refusal again; any other is superseded.
fn superseded(fence: Fence, op: &Admitted) -> GuardError {
    if fence.request_id == op.request_id {
        GuardError::Refused(fence.refusal)
    } else {
        GuardError::AttemptSuperseded
    }
}

impl Guard {
    /// Config from the environment (see [`Config::from_env`]: `AUTH_MODE` chooses the front
    /// door) and an SDK client, warmed up; once per cold start, in Lambda's init phase.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::builder(Config::from_env()?).build().await
    }

    /// The library's tables, and the SDK client for an app's own.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where its metric documents go, and what they are named by.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// A POST, the whole way: authenticate, `parse` the body, then the key's stored answer if it
    /// has one, else `execute`, whose [`Effect`] the guard commits with the key's record in ONE
    /// transaction. A refusal (`parse`'s or the effect's: a 4xx of the app) is made the
    /// operation's final answer before it is answered. The answer comes back ready to send.
    pub async fn post<T, E>(
        &self,
        req: &Incoming<'_>,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
        execute: impl AsyncFnOnce(&Admitted, T) -> Result<Effect<E>, Error<E>>,
    ) -> Reply<E>
    where
        E: Problem,
    {
        let committed = match &self.config.auth {
            Auth::Signatures => self.post_signed(req, parse, execute).await,
            Auth::Authorizer { principal } => {
                self.post_authorized(req, principal, parse, execute).await
            }
        }?;
        Ok(match committed {
            Committed::Fresh(r) => stored(&r, false),
            Committed::Replayed(r) => stored(&r, true),
        })
    }

    /// A read: authenticates (in signature mode, consuming the nonce while `read` runs: one
    /// round trip) and hands back who asked with what `read` found. `read` is not polled unless
    /// authentication passed; a nonce refusal wins over its result.
    pub async fn read<T, E: Problem>(
        &self,
        req: &Incoming<'_>,
        read: impl Future<Output = Result<T, Error<E>>>,
    ) -> Result<(Principal, T), Error<E>> {
        match &self.config.auth {
            Auth::Signatures => self.read_signed(req, read).await,
            Auth::Authorizer { principal } => {
                self.check_size(req)?;
                let who = self.authorized_principal(req, principal)?;
                Ok((who, read.await?))
            }
        }
    }

    /// The request's budget, from its arrival.
    fn budget(&self, req: &Incoming<'_>) -> Budget {
        Budget::new(self.config.function_timeout, req.deadline)
    }

    /// The store, its calls bounded by what is left of `budget`; 503 when too little is.
    fn bounded(&self, budget: &Budget, step: &'static str) -> Result<Store, GuardError> {
        let limits = budget.limits(self.config.dynamodb_timeouts, step)?;
        Ok(self.store.within(limits))
    }

    /// 413 before anything else.
    fn check_size(&self, req: &Incoming<'_>) -> Result<(), GuardError> {
        if req.body.len() > self.config.max_body_bytes {
            return Err(GuardError::BodyTooLarge {
                limit: self.config.max_body_bytes,
            });
        }
        Ok(())
    }
}
