//! Keys, cached in the warm function so that a request with a bad signature under a known key
//! costs no call to the key source, and a flood of requests naming an unknown key id costs one
//! lookup per id for a few seconds, not one per request. The cache also throttles the
//! recording of a key's use to once a minute per key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::KeySource;
use crate::error::GuardError;
use crate::ids::KeyId;
use crate::store::keys::KeyRecord;

/// How long a warm function remembers that a key id is unknown (at most the cache's own TTL).
/// Key ids are random (`cli_` or `key_` and 32 hex digits), so no one asks for a new key's id
/// before it exists, save by guessing it: a new key works at once.
pub const UNKNOWN_KEY_CACHE: Duration = Duration::from_secs(5);

/// Unknown ids remembered at once, at most: past it, the oldest are forgotten first (a flood of
/// random ids must not grow the warm function's memory without bound).
const MAX_UNKNOWN: usize = 10_000;

/// How often a warm function tells the key source that a key is in use, at most.
pub const KEY_USE_INTERVAL: Duration = Duration::from_secs(60);

/// Key records from a [`KeySource`], kept for a set time so that a warm function verifies a
/// known key's signatures without asking the source; an unknown id is remembered as unknown
/// for [`UNKNOWN_KEY_CACHE`]. A revocation takes effect at most the TTL after it is written; an
/// expiry is checked against the record at every use, so it takes effect on time. Concurrent
/// requests naming one id that is not cached make one lookup between them.
pub(crate) struct KeyCache {
    source: Arc<dyn KeySource>,
    ttl: Duration,
    entries: Mutex<HashMap<KeyId, (Option<KeyRecord>, Instant)>>,
    /// One lock per id being looked up: the requests behind the first wait for its answer.
    lookups: Mutex<HashMap<KeyId, Arc<tokio::sync::Mutex<()>>>>,
    /// When this warm function last told the source that a key was used. Only keys that verified
    /// a signature get here, so it grows no faster than the keys in use.
    uses: Mutex<HashMap<KeyId, Instant>>,
}

impl KeyCache {
    /// An empty cache over `source` whose entries are trusted for `ttl` (the guard passes
    /// [`Config::client_cache`](crate::Config::client_cache)); a zero `ttl` keeps nothing.
    pub fn new(source: Arc<dyn KeySource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            entries: Mutex::default(),
            lookups: Mutex::default(),
            uses: Mutex::default(),
        }
    }

    /// The key's record: from the cache while its entry is young enough, else from the source
    /// (once, however many requests ask at the same moment), and kept. `None` when no key has
    /// this id; a revoked or expired key is returned as it is, and the caller decides.
    pub async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>, GuardError> {
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
        let looked_up = self.source.key(id).await;
        if let Ok(record) = &looked_up {
            self.keep(id, record);
        }
        lock(&self.lookups).remove(id);
        looked_up
    }

    fn cached(&self, id: &KeyId) -> Option<Option<KeyRecord>> {
        let entries = lock(&self.entries);
        let (record, at) = entries.get(id)?;
        let ttl = match record {
            Some(_) => self.ttl,
            None => self.ttl.min(UNKNOWN_KEY_CACHE),
        };
        (at.elapsed() < ttl).then(|| record.clone())
    }

    fn keep(&self, id: &KeyId, record: &Option<KeyRecord>) {
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

    /// Tells the source, in a task of its own, that `id` verified a request at `now` (unix
    /// seconds), unless this warm function told it less than [`KEY_USE_INTERVAL`] ago. The
    /// request never waits for it, and its failure is the source's to log. In Lambda the task
    /// may be frozen with the environment and finish on a later invocation, or not at all:
    /// a key's `last_used_at` may lag.
    pub fn record_use(&self, id: &KeyId, now: i64) {
        {
            let mut uses = lock(&self.uses);
            if uses
                .get(id)
                .is_some_and(|at| at.elapsed() < KEY_USE_INTERVAL)
            {
                return;
            }
            uses.insert(id.clone(), Instant::now());
        }
        let source = self.source.clone();
        let id = id.clone();
        tokio::spawn(async move { source.key_used(&id, now).await });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
