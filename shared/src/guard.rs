//! The guard: what every endpoint runs before and around its effect.
//!
//! Why the nonce is its own write, made durable BEFORE the transaction and never part of it:
//! a nonce must be consumed whatever the request's outcome. Were it inside the transaction, a
//! request refused for insufficient funds would cancel the transaction, leave its nonce unused,
//! and a captured copy replayed after funds arrive would succeed. Written first with
//! `attribute_not_exists`, exactly one of any number of copies racing with the same nonce gets
//! past `consume_nonce`; the losers are refused before they can reach the transaction, and the
//! winner's outcome (success or refusal) is final for that nonce. So there is no window in which
//! a refused request can later be replayed into success.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::auth::{ClientCache, Signed, Verifier};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::error::ApiError;
use crate::http::Incoming;
use crate::idempotency::{IdempotencyRecord, StoredResponse};
use crate::store::idempotency::decode as decode_record;
use crate::store::transact::TransactError;
use crate::store::{Cancelled, Store};

pub struct Guard {
    store: Store,
    config: Config,
    clock: Arc<dyn Clock>,
    clients: ClientCache,
}

/// A POST that passed every check up to the nonce, with what the idempotency table held for
/// its key when it arrived.
#[derive(Debug)]
pub struct Admitted {
    pub signed: Signed,
    prior: Option<IdempotencyRecord>,
}

impl Admitted {
    /// A retry's stored answer, 422 for a key reused with another request, `None` for a first
    /// request (which still meets the key's condition inside the transaction, should a
    /// concurrent duplicate commit first). A record this very invocation wrote (the runtime
    /// re-delivering a request whose write committed) is its own answer, not a replay.
    pub fn prior_answer(&self) -> Result<Option<Committed>, ApiError> {
        let Some(record) = self.prior.clone() else {
            return Ok(None);
        };
        if record.request_id == self.signed.request_id {
            return Ok(Some(Committed::Fresh(record.response)));
        }
        record
            .answer(&self.signed.fingerprint)
            .map(|r| Some(Committed::Replayed(r)))
    }
}

/// How a POST ended: its own effect committed, or the key's stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Fresh(StoredResponse),
    Replayed(StoredResponse),
}

impl Guard {
    pub fn new(store: Store, config: Config, clock: Arc<dyn Clock>) -> Self {
        let clients = ClientCache::new(config.client_cache);
        Self {
            store,
            config,
            clock,
            clients,
        }
    }

    /// Config from the environment and an SDK client; once per cold start.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let store = Store::connect(config.tables.clone()).await;
        Ok(Self::new(store, config, Arc::new(SystemClock)))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Checks 1 to 5 (size, key, signature, digest, freshness); no DynamoDB call when the
    /// client's secret is cached.
    pub async fn verify(&self, req: &Incoming<'_>) -> Result<Signed, ApiError> {
        let verifier = Verifier {
            store: &self.store,
            clients: &self.clients,
            replay_window_seconds: self.config.replay_window_seconds,
            max_body_bytes: self.config.max_body_bytes,
        };
        verifier.verify(req, self.clock.now()).await
    }

    /// A read: verifies, then consumes the nonce while `read` runs (one round trip). `read` is
    /// not polled unless verification passed; a nonce refusal wins over its result.
    pub async fn admit_read<T>(
        &self,
        req: &Incoming<'_>,
        read: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<(Signed, T), ApiError> {
        let signed = self.verify(req).await?;
        let (nonce, value) = tokio::join!(self.consume_nonce(&signed), read);
        nonce?;
        Ok((signed, value?))
    }

    /// A POST: verifies, then consumes the nonce while reading the key's idempotency record
    /// (one round trip).
    pub async fn admit(&self, req: &Incoming<'_>) -> Result<Admitted, ApiError> {
        let signed = self.verify(req).await?;
        let key = signed
            .idempotency_key
            .as_ref()
            .ok_or(ApiError::IdempotencyKeyMissing)?;
        let (nonce, prior) = tokio::join!(
            self.consume_nonce(&signed),
            self.store
                .get_idempotency_record(&signed.client_id, key, signed.now)
        );
        nonce?;
        Ok(Admitted {
            signed,
            prior: prior?,
        })
    }

    async fn consume_nonce(&self, signed: &Signed) -> Result<(), ApiError> {
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
    /// instead (or 422). Otherwise `refusal` names the business rule that cancelled the
    /// transaction, given the reasons of `writes` only (index 0 is the first of `writes`); a
    /// refusal stores nothing under the key.
    pub async fn commit(
        &self,
        admitted: &Admitted,
        writes: Vec<TransactWriteItem>,
        response: StoredResponse,
        refusal: impl Fn(&Cancelled) -> Option<ApiError>,
    ) -> Result<Committed, ApiError> {
        let signed = &admitted.signed;
        let key = signed
            .idempotency_key
            .as_ref()
            .ok_or(ApiError::IdempotencyKeyMissing)?;
        let record = IdempotencyRecord {
            fingerprint: signed.fingerprint.clone(),
            response,
            request_id: signed.request_id.clone(),
            expires_at: signed.now + self.config.idempotency_ttl_seconds,
        };
        let mut items = vec![self
            .store
            .claim_key(&signed.client_id, key, &record, signed.now)];
        items.extend(writes);

        let attempts = self.config.transaction_attempts.max(1);
        for attempt in 1..=attempts {
            let cancelled = match self.store.transact(items.clone()).await {
                Ok(()) => return Ok(Committed::Fresh(record.response)),
                Err(TransactError::Failed(e)) => return Err(e),
                Err(TransactError::Cancelled(c)) => c,
            };
            if cancelled.failed_condition(0) {
                let held = cancelled
                    .old_item(0)
                    .and_then(decode_record)
                    .ok_or(ApiError::Internal)?;
                // Our own record: the SDK retried a transaction that had already committed.
                if held.request_id == signed.request_id {
                    return Ok(Committed::Fresh(held.response));
                }
                return held.answer(&signed.fingerprint).map(Committed::Replayed);
            }
            if cancelled.code(0) == "TransactionConflict" {
                return Err(ApiError::RequestInProgress);
            }
            let own = Cancelled(cancelled.0.iter().skip(1).cloned().collect());
            if let Some(refused) = refusal(&own) {
                return Err(refused);
            }
            if !cancelled.is_transient() {
                let codes: Vec<&str> = (0..cancelled.0.len()).map(|i| cancelled.code(i)).collect();
                tracing::error!(?codes, "transaction cancelled for no known reason");
                return Err(ApiError::Internal);
            }
            if attempt < attempts {
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        tracing::warn!(attempts, "transaction kept conflicting or throttled");
        Err(ApiError::Unavailable)
    }
}

/// Full jitter: uniform in [0, min(cap, base * 2^attempt)].
fn backoff(attempt: u32) -> Duration {
    let ceiling = (25u64 << attempt.min(6)).min(400);
    Duration::from_millis(rand::random_range(0..=ceiling))
}
