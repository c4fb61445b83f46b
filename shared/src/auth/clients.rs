//! Client secrets, cached in the warm function so that a request with a bad signature from a
//! known client costs no call to the key source. Unknown ids are not cached: a client created a
//! moment ago must work at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::KeySource;
use crate::error::GuardError;
use crate::ids::ClientId;
use crate::store::clients::ClientRecord;

/// Client records from a [`KeySource`], kept for a set time so that a warm function verifies a
/// known client's signatures without asking the source. Only clients that exist are kept, so a
/// revocation takes effect at most that long after it is written.
pub(crate) struct ClientCache {
    source: Arc<dyn KeySource>,
    ttl: Duration,
    entries: Mutex<HashMap<ClientId, (ClientRecord, Instant)>>,
}

impl ClientCache {
    /// An empty cache over `source` whose entries are trusted for `ttl` (the guard passes
    /// [`Config::client_cache`](crate::Config::client_cache)); a zero `ttl` keeps nothing.
    pub fn new(source: Arc<dyn KeySource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The client's record: from the cache while its entry is younger than the TTL, else from
    /// the source, and kept. `None` when no client has this id; a revoked client is returned
    /// with `active: false`, and the caller decides.
    pub async fn get(&self, id: &ClientId) -> Result<Option<ClientRecord>, GuardError> {
        if let Some(record) = self.cached(id) {
            return Ok(Some(record));
        }
        let record = self.source.client(id).await?;
        if let Some(record) = &record {
            if !self.ttl.is_zero() {
                let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
                entries.insert(id.clone(), (record.clone(), Instant::now()));
            }
        }
        Ok(record)
    }

    fn cached(&self, id: &ClientId) -> Option<ClientRecord> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(record, _)| record.clone())
    }
}
