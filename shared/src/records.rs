//! Records: queue and stream consumers made exactly-once, on the same engine as HTTP.
//!
//! SQS, Kinesis, DynamoDB Streams and EventBridge deliver at least once (an SQS standard queue
//! sometimes twice at the same moment). A [`Consumer`] takes the event Lambda hands the
//! function, and for each record: the app's `parse` names its key (a field of the message, or
//! the record's own id) and its owner; the app's `execute` returns an [`Effect`]; the guard
//! commits the effect's writes and the key's record in ONE `TransactWriteItems`. So however
//! often and however concurrently a record comes, it takes effect once.
//!
//! Per record, the answer to Lambda (the partial batch response):
//!
//! | the record | settled as | reported for redelivery |
//! |---|---|---|
//! | executed, or already executed under its key | done | no |
//! | refused by the app (a 4xx other than 400) | done: the refusal is stored as the key's final answer | no |
//! | its key already holds another body | done: the first body stands (logged) | no |
//! | invalid (`parse` or the effect says 400) | failed: nothing written | yes (it reaches the dead-letter queue) |
//! | a transient failure (throttling, a conflict beyond the retries, a timeout, 5xx) | failed: nothing written | yes |
//!
//! A batch's records run concurrently (bounded by [`Consumer::concurrency`]); an ordered one (a
//! FIFO queue, a shard, a DynamoDB stream, an EventBridge event) in order, stopping at the
//! first failure and reporting it and every record after it. One record's failure never makes
//! another run twice.
//!
//! ```no_run
//! use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
//! use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
//! use lambda_http::lambda_runtime::LambdaEvent;
//! use replaysafe::idempotency::IdempotencyKey;
//! use replaysafe::records::{Consumer, Job, Sqs};
//! use replaysafe::store::AttributeValue;
//! use replaysafe::{Effect, Guard, Principal};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("not an order event")]
//! struct Invalid;
//! impl replaysafe::Problem for Invalid {
//!     fn status(&self) -> u16 { 400 }
//!     fn code(&self) -> &str { "invalid" }
//!     fn title(&self) -> &str { "Invalid" }
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct Shipped { order_id: String, owner: String }
//!
//! /// Each `order_id` is marked shipped once, however often its message comes.
//! async fn ship(consumer: &Consumer<Sqs>, event: LambdaEvent<SqsEvent>) -> SqsBatchResponse {
//!     let parse = |record: &replaysafe::records::Delivery<'_, _>| {
//!         let msg: Shipped = serde_json::from_slice(record.content()).map_err(|_| Invalid)?;
//!         let key = IdempotencyKey::parse(Some(&msg.order_id)).map_err(|_| Invalid)?;
//!         let owner = Principal::authorized(&msg.owner).ok_or(Invalid)?;
//!         Ok(Job::new(owner, key, msg.order_id))
//!     };
//!     consumer
//!         .handle(&event.payload, event.context.deadline(), parse, async |_op, order_id| {
//!             let put = Put::builder()
//!                 .table_name("shipments")
//!                 .item("order_id", AttributeValue::S(order_id))
//!                 .build()
//!                 .expect("table and item are set");
//!             Ok(Effect::<Invalid>::json(200, &"shipped")
//!                 .unconditional(TransactWriteItem::builder().put(put).build()))
//!         })
//!         .await
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_http::Error> {
//!     let consumer = Consumer::new(Guard::from_env().await?, Sqs::retention(4 * 86_400))?;
//!     replaysafe::lambda::consume(consumer, ship).await
//! }
//! ```

mod source;

use std::borrow::Cow;
use std::time::{Instant, SystemTime};

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::config::ConfigError;
use crate::effect::Effect;
use crate::error::{Error, Problem};
use crate::guard::{Admitted, Ended, Guard, Settled};
use crate::idempotency::IdempotencyKey;
use crate::metrics::{tallied, Document, RecordOutcome, LOCAL_FUNCTION};
use crate::principal::Principal;

pub use source::{
    Answer, DynamoDbStreams, EventBridge, Kinesis, NotProcessed, Source, Sqs, DAY_SECONDS,
};

/// How many records of an unordered batch run at once, unless set.
pub const DEFAULT_CONCURRENCY: usize = 10;

/// One record as `parse` sees it: its content (an SQS body, Kinesis data, an EventBridge
/// event's `detail` as JSON, a DynamoDB stream record's change as JSON), its id, and the
/// record itself.
pub struct Delivery<'a, R> {
    record: &'a R,
    id: &'a str,
    origin: &'a str,
    content: Cow<'a, [u8]>,
}

impl<'a, R> Delivery<'a, R> {
    /// The record as Lambda delivered it.
    pub fn record(&self) -> &'a R {
        self.record
    }

    /// Its id (an SQS `messageId`, a sequence number, an EventBridge event id).
    pub fn id(&self) -> &str {
        self.id
    }

    /// The bytes its fingerprint covers.
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// A job keyed by the record's own id, owned by its source: right when the producer sends
    /// each operation once and only the delivery repeats. A producer that may send an
    /// operation twice names a key of its own with [`Job::new`].
    pub fn job<T, E>(&self, input: T) -> Result<Job<T, E>, crate::GuardError> {
        Ok(Job::new(
            Principal::source(self.origin),
            IdempotencyKey::parse(Some(self.id))?,
            input,
        ))
    }
}

/// What `parse` makes of a record: who the operation acts for, its idempotency key (scoped
/// to the owner), the input `execute` gets, and what a refusal writes besides.
pub struct Job<T, E> {
    owner: Principal,
    key: IdempotencyKey,
    input: T,
    on_refusal: Option<RefusalWrites<E>>,
}

pub(crate) type RefusalWrites<E> = Box<dyn FnOnce(&Admitted, &E) -> Vec<TransactWriteItem> + Send>;

impl<T, E> Job<T, E> {
    /// An operation keyed by `key` (a field of the message, such as a payout's id), for
    /// `owner`.
    pub fn new(owner: Principal, key: IdempotencyKey, input: T) -> Self {
        Self {
            owner,
            key,
            input,
            on_refusal: None,
        }
    }

    /// Its parts, for the guard.
    pub(crate) fn into_parts(self) -> (Principal, IdempotencyKey, T, Option<RefusalWrites<E>>) {
        (self.owner, self.key, self.input, self.on_refusal)
    }

    /// When the operation is refused (a 4xx of the app), `writes` for the refusal commit with
    /// it, as the key's final answer, in one transaction: a refused payout's record, say.
    /// They must not fail their conditions.
    pub fn on_refusal(
        mut self,
        writes: impl FnOnce(&Admitted, &E) -> Vec<TransactWriteItem> + Send + 'static,
    ) -> Self {
        self.on_refusal = Some(Box::new(writes));
        self
    }
}

/// A guard consuming one event source: built once per cold start, after checking that the
/// key's records outlive the source's redelivery horizon. Each record ends with one metric
/// document (see [`crate::metrics`]), its `Route` the source and the function: `sqs payouts`.
pub struct Consumer<S> {
    guard: Guard,
    source: S,
    concurrency: usize,
    /// Its documents' `Route`.
    route: String,
}

impl<S: Source> Consumer<S> {
    /// A consumer of `source`. Refused when `IDEMPOTENCY_TTL_SECONDS` is shorter than the
    /// source's redelivery horizon (an SQS queue's retention, EventBridge's 24 hours of
    /// retries): a record delivered again after its key's record expired would run twice.
    pub fn new(guard: Guard, source: S) -> Result<Self, ConfigError> {
        let ttl = guard.config().idempotency_ttl_seconds;
        if ttl < source.horizon() {
            return Err(ConfigError {
                name: "IDEMPOTENCY_TTL_SECONDS",
                value: ttl.to_string(),
                why: "must be at least the event source's redelivery horizon (its retention; 24 h \
                      for EventBridge and DynamoDB Streams): a record delivered again after its \
                      key's record expired would run twice",
            });
        }
        let function = guard
            .metrics()
            .scheme()
            .function()
            .unwrap_or(LOCAL_FUNCTION);
        Ok(Self {
            route: route(S::NAME, function),
            guard,
            source,
            concurrency: DEFAULT_CONCURRENCY,
        })
    }

    /// Names the consumer `function` in its documents' `Route`, in Lambda and out: a name the
    /// app gives stays the same in every stack, where Lambda's own function names carry the
    /// stack's and a random suffix. Unnamed, `Route` holds Lambda's name (`local` outside
    /// Lambda).
    ///
    /// ```
    /// # async fn doc(guard: replaysafe::Guard) -> Result<(), replaysafe::config::ConfigError> {
    /// use replaysafe::records::{Consumer, Sqs};
    ///
    /// let consumer = Consumer::new(guard, Sqs::retention(4 * 86_400))?.named("payouts");
    /// assert_eq!(consumer.route(), "sqs payouts");
    /// # Ok(())
    /// # }
    /// ```
    pub fn named(mut self, function: &str) -> Self {
        self.route = route(S::NAME, function);
        self
    }

    /// Its documents' `Route`: the source and the function.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// At most `n` records of an unordered batch at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The guard it commits through: its store, its config.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The source it consumes.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// Every record of `event`: parsed, executed and committed once (see the module docs),
    /// within Lambda's `deadline`. The answer is the partial batch response.
    pub async fn handle<T, E: Problem>(
        &self,
        event: &S::Event,
        deadline: impl Into<Option<SystemTime>>,
        parse: impl Fn(&Delivery<'_, S::Record>) -> Result<Job<T, E>, E>,
        execute: impl AsyncFnOnce(&Admitted, T) -> Result<Effect<E>, Error<E>> + Clone,
    ) -> S::Response {
        let budget = self.guard.records_budget(deadline.into());
        let records = S::records(event);
        let (parse, execute) = (&parse, &execute);
        let mut failed = Vec::new();
        if S::ordered(event) {
            let mut rest = records.iter();
            for record in rest.by_ref() {
                let (id, settled) = self.one(record, &budget, parse, execute).await;
                if settled == Settled::Failed {
                    failed.push(id);
                    break;
                }
            }
            failed.extend(rest.filter_map(|r| S::id(r).map(str::to_owned)));
        } else {
            // At most `concurrency` at once, answered in the batch's order.
            let limit = tokio::sync::Semaphore::new(self.concurrency);
            let settled = futures::future::join_all(records.iter().map(|record| {
                let (limit, budget) = (&limit, &budget);
                async move {
                    let _turn = limit.acquire().await;
                    self.one(record, budget, parse, execute).await
                }
            }))
            .await;
            failed.extend(
                settled
                    .into_iter()
                    .filter(|(_, s)| *s == Settled::Failed)
                    .map(|(id, _)| id),
            );
        }
        S::respond(failed)
    }

    /// One record, with its metric document.
    async fn one<T, E: Problem>(
        &self,
        record: &S::Record,
        budget: &crate::guard::Budget,
        parse: &impl Fn(&Delivery<'_, S::Record>) -> Result<Job<T, E>, E>,
        execute: &(impl AsyncFnOnce(&Admitted, T) -> Result<Effect<E>, Error<E>> + Clone),
    ) -> (String, Settled) {
        let started = Instant::now();
        // Boxed, as in `http::respond`: a record's future is as large as an endpoint's.
        let settle = Box::pin(self.settle(record, budget, parse, execute));
        let (ended, tally) = tallied(settle).await;
        let id = S::id(record).unwrap_or_default();
        let refusal = ended.refusal.as_ref().map(|(s, c)| (*s, c.as_str()));
        let metrics = self.guard.metrics();
        metrics.emit(Document::record(
            metrics.scheme(),
            &self.route,
            Some(id).filter(|id| !id.is_empty()),
            ended.outcome,
            refusal,
            tally,
            started.elapsed(),
        ));
        (id.to_owned(), ended.settled())
    }

    /// One record: parsed, then executed and committed, or stored as refused.
    async fn settle<T, E: Problem>(
        &self,
        record: &S::Record,
        budget: &crate::guard::Budget,
        parse: &impl Fn(&Delivery<'_, S::Record>) -> Result<Job<T, E>, E>,
        execute: &(impl AsyncFnOnce(&Admitted, T) -> Result<Effect<E>, Error<E>> + Clone),
    ) -> Ended {
        let Some(id) = S::id(record) else {
            tracing::error!("a record without an id: the batch is retried whole");
            return Ended {
                outcome: RecordOutcome::Failed,
                refusal: None,
            };
        };
        let delivery = Delivery {
            record,
            id,
            origin: S::origin(record),
            content: S::content(record),
        };
        match parse(&delivery) {
            Err(e) => self.guard.unparsed(id, Error::App(e)),
            Ok(job) => {
                self.guard
                    .settle_record(job, &delivery, budget, execute)
                    .await
            }
        }
    }
}

/// `"sqs payouts"`.
fn route(source: &str, function: &str) -> String {
    format!("{source} {function}")
}
