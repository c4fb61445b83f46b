//! Effects outside DynamoDB (a bank, a card processor, an email): what the outside call needs
//! held first, the lease that fences it, and how it settles.
//!
//! A transaction cannot include an HTTP call. So an operation with an outside effect runs in
//! three steps, each atomic (see [`Guard::post_leased`](crate::Guard::post_leased)):
//!
//! 1. **Hold**: the writes that must precede the call (a balance-conditioned debit into a
//!    pending withdrawal) commit with a lease on the operation's key, in ONE transaction. A
//!    refusal here (insufficient funds) is the operation's answer, and nothing is called.
//! 2. **Call**: the outside service is called with [`Leased::downstream_key`], derived from the
//!    operation and the same on every attempt, so a service honouring idempotency keys acts
//!    once however often it is called.
//! 3. **Settle**: the holder of the lease's current token commits the completion's writes and
//!    the operation's answer ([`Settle::Complete`]), or the compensating writes and the stored
//!    refusal ([`Settle::Release`]), in ONE transaction conditioned on the token.
//!
//! A retry meeting a live lease gets 409 `request-in-progress` (with `Retry-After` until the
//! lease ends) before any call. A retry meeting a lease that has run out (its holder crashed,
//! timed out, or the service did not answer) takes it over with a new token and calls again
//! with the same key; the old holder, should it still finish, is refused at settlement.
//!
//! What is guaranteed: at most one settlement per operation, and the held writes stay until
//! one. What is not: exactly one effect downstream holds only if the service honours the
//! derived key; a service that does not may act once per attempt that reached it.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::TransactWriteItem;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::effect::Effect;
use crate::error::GuardError;
use crate::idempotency::IdempotencyKey;
use crate::principal::Principal;
use crate::store::{Item, Write};

/// How long an attempt holds an operation, and how long its outside call may take.
///
/// ```
/// use std::time::Duration;
/// use replaysafe::lease::LeaseTerms;
///
/// let terms = LeaseTerms::new(Duration::from_secs(30), Duration::from_secs(10)).unwrap();
/// assert_eq!(terms.length(), Duration::from_secs(30));
/// // The call must fit in the lease, with room to settle.
/// assert!(LeaseTerms::new(Duration::from_secs(10), Duration::from_secs(10)).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTerms {
    length: Duration,
    call_timeout: Duration,
}

/// Kept between the end of the outside call and the end of the lease, to settle.
pub const SETTLE_MARGIN: Duration = Duration::from_secs(2);

impl LeaseTerms {
    /// A lease of `length` (whole seconds, independent of the function's deadline) for a call
    /// that gives up after `call_timeout`; refused unless the call and [`SETTLE_MARGIN`] fit.
    pub fn new(length: Duration, call_timeout: Duration) -> Result<Self, GuardError> {
        if call_timeout.is_zero() || call_timeout + SETTLE_MARGIN > length {
            return Err(GuardError::internal(
                "a lease must outlast its call's timeout by the settle margin",
            ));
        }
        Ok(Self {
            length: Duration::from_secs(length.as_secs().max(1)),
            call_timeout,
        })
    }

    /// How long an attempt holds the operation.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// How long the outside call may take: it does not start with less lease or less
    /// function time than this left.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }
}

/// What the outside call needs held first: the writes (each with the refusal its condition
/// stands for, as in an [`Effect`]) and the state `H` the call and its settlement use, stored
/// with the lease so that an attempt taking it over has it too.
#[must_use = "a hold does nothing until the endpoint returns it to the guard"]
pub struct Hold<E, H> {
    pub(crate) writes: Vec<Write<E>>,
    pub(crate) state: H,
}

impl<E, H> Hold<E, H> {
    /// Holds `state`, with no writes yet.
    pub fn new(state: H) -> Self {
        Self {
            writes: Vec::new(),
            state,
        }
    }

    /// Adds a conditional write: when its condition fails, nothing commits, nothing is called,
    /// and `refusal` is the answer.
    pub fn write(
        mut self,
        item: TransactWriteItem,
        refusal: impl Fn(Option<&Item>) -> E + Send + Sync + 'static,
    ) -> Self {
        self.writes.push(Write::new(item, refusal));
        self
    }

    /// Adds a write that has no condition, or whose condition failing is a bug.
    pub fn unconditional(mut self, item: TransactWriteItem) -> Self
    where
        E: 'static,
    {
        self.writes.push(Write::unconditional(item));
        self
    }

    /// Adds a write an app's store built.
    pub fn with(mut self, write: Write<E>) -> Self {
        self.writes.push(write);
        self
    }

    /// Refuses, before any call, what one transaction cannot hold.
    pub(crate) fn check_size(&self) -> Result<(), GuardError> {
        crate::effect::check_transaction(self.writes.iter().map(Write::item))
    }
}

/// The lease an attempt holds while it makes the outside call.
#[derive(Debug)]
pub struct Leased<H> {
    pub(crate) state: H,
    pub(crate) principal: Principal,
    pub(crate) key: IdempotencyKey,
    pub(crate) token: String,
    pub(crate) until: i64,
    pub(crate) call_ends: Instant,
    pub(crate) now: i64,
    pub(crate) taken_over: bool,
}

impl<H> Leased<H> {
    /// What the hold kept for the call.
    pub fn state(&self) -> &H {
        &self.state
    }

    /// The idempotency key to send the outside service: derived from the operation (its
    /// principal and key), the same on every attempt and every take-over, and nothing else's.
    pub fn downstream_key(&self) -> String {
        downstream_key(&self.principal, &self.key)
    }

    /// How long the call may still take: the lease's call timeout, from when the call was let
    /// start.
    pub fn time_left(&self) -> Duration {
        self.call_ends.saturating_duration_since(Instant::now())
    }

    /// The `now` (unix seconds) the lease was taken at: stamp the settlement's writes with it.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Whether this attempt took over a lease that had run out (an earlier attempt may have
    /// reached the service).
    pub fn taken_over(&self) -> bool {
        self.taken_over
    }
}

/// The key a downstream service sees for `key` of `principal`: `rs-` and the base64url of a
/// SHA-256 over both, length-prefixed.
///
/// ```
/// use replaysafe::idempotency::IdempotencyKey;
/// use replaysafe::lease::downstream_key;
/// use replaysafe::Principal;
///
/// let alice = Principal::authorized("alice").unwrap();
/// let key = IdempotencyKey::parse(Some("w-1")).unwrap();
/// let derived = downstream_key(&alice, &key);
/// assert_eq!(derived, downstream_key(&alice, &key));
/// assert!(derived.starts_with("rs-") && derived.len() == 46);
/// let bob = Principal::authorized("bob").unwrap();
/// assert_ne!(derived, downstream_key(&bob, &key));
/// ```
pub fn downstream_key(principal: &Principal, key: &IdempotencyKey) -> String {
    let mut h = Sha256::new();
    for part in [principal.as_str(), key.as_str()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    format!("rs-{}", URL_SAFE_NO_PAD.encode(h.finalize()))
}

/// How the outside call ended.
pub enum Settle<E> {
    /// It succeeded: the completion's writes and the operation's answer.
    Complete(Effect<E>),
    /// The service refused: the compensating writes (which must not fail) and the refusal,
    /// stored as the operation's final answer.
    Release {
        /// The refusal answered, now and to every retry.
        refusal: E,
        /// What undoes the hold (funds back).
        writes: Vec<TransactWriteItem>,
    },
}
