//! Client secrets, cached in the warm function so that a request with a bad signature from a
//! known client costs no call to the key source, and a flood of requests naming an unknown key
//! id costs one lookup per id for a few seconds, not one per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::KeySource;
use crate::error::GuardError;
use crate::ids::ClientId;
use crate::store::clients::ClientRecord;

/// How long a warm function remembers that a key id is unknown (at most the cache's own TTL).
/// Client ids are random (`cli_` and 32 hex digits), so no one asks for a new client's id
/// before it exists, save by guessing it: a new client works at once.
pub const UNKNOWN_KEY_CACHE: Duration = Duration::from_secs(5);

/// Unknown ids remembered at once, at most: past it, the oldest are forgotten first (a flood of
/// random ids must not grow the warm function's memory without bound).
const MAX_UNKNOWN: usize = 10_000;

/// Client records from a [`KeySource`], kept for a set time so that a warm function verifies a
/// known client's signatures without asking the source; an unknown id is remembered as unknown
/// for [`UNKNOWN_KEY_CACHE`]. A revocation takes effect at most the TTL after it is written.
/// Concurrent requests naming one id that is not cached make one lookup between them.
pub(crate) struct ClientCache {
    source: Arc<dyn KeySource>,
    ttl: Duration,
    entries: Mutex<HashMap<ClientId, (Option<ClientRecord>, Instant)>>,
    /// One lock per id being looked up: the requests behind the first wait for its answer.
    lookups: Mutex<HashMap<ClientId, Arc<tokio::sync::Mutex<()>>>>,
}

impl ClientCache {
    /// An empty cache over `source` whose entries are trusted for `ttl` (the guard passes
    /// [`Config::client_cache`](crate::Config::client_cache)); a zero `ttl` keeps nothing.
    pub fn new(source: Arc<dyn KeySource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            entries: Mutex::default(),
            lookups: Mutex::default(),
        }
    }

    /// The client's record: from the cache while its entry is young enough, else from the
    /// source (once, however many requests ask at the same moment), and kept. `None` when no
    /// client has this id; a revoked client is returned with `active: false`, and the caller
    /// decides.
    pub async fn get(&self, id: &ClientId) -> Result<Option<ClientRecord>, GuardError> {
        if let Some(known) = self.cached(id) {
            return Ok(known);
        }
        let flight = {
            let mut lookups = lock(&self.lookups);
            lookups.entry(id.clone()).or_default().clone()
        };
        let _turn = flight.lock().await;
        // The request ahead of us may have looked it up.
        if let Some(known) = self.cached(id) {
            return Ok(known);
        }
        let looked_up = self.source.client(id).await;
        if let Ok(record) = &looked_up {
            self.keep(id, record);
        }
        lock(&self.lookups).remove(id);
        looked_up
    }

    fn cached(&self, id: &ClientId) -> Option<Option<ClientRecord>> {
        let entries = lock(&self.entries);
        let (record, at) = entries.get(id)?;
        let ttl = match record {
            Some(_) => self.ttl,
            None => self.ttl.min(UNKNOWN_KEY_CACHE),
        };
        (at.elapsed() < ttl).then(|| record.clone())
    }

    fn keep(&self, id: &ClientId, record: &Option<ClientRecord>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = lock(&self.entries);
        if record.is_none() {
            let unknown = entries.values().filter(|(r, _)| r.is_none()).count();
            if unknown >= MAX_UNKNOWN {
                let horizon = self.ttl.min(UNKNOWN_KEY_CACHE);
                entries.retain(|_, (r, at)| r.is_some() || at.elapsed() < horizon);
                if entries.values().filter(|(r, _)| r.is_none()).count() >= MAX_UNKNOWN {
                    return;
                }
            }
        }
        entries.insert(id.clone(), (record.clone(), Instant::now()));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
