//! Client secrets, cached in the warm function so that a request with a bad signature from a
//! known client costs no DynamoDB call. Unknown ids are not cached: a client created a moment
//! ago must work at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::GuardError;
use crate::ids::ClientId;
use crate::store::clients::ClientRecord;
use crate::store::Store;

/// Client records read from the clients table, kept for a set time so that a warm function
/// verifies a known client's signatures without a DynamoDB call. Only clients that exist are
/// kept, so a revocation takes effect at most that long after it is written.
pub struct ClientCache {
    ttl: Duration,
    entries: Mutex<HashMap<ClientId, (ClientRecord, Instant)>>,
}

impl ClientCache {
    /// An empty cache whose entries are trusted for `ttl` (the guard passes
    /// [`Config::client_cache`](crate::Config::client_cache)); a zero `ttl` keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The client's record: from the cache while its entry is younger than the TTL, else read
    /// from the clients table and kept. `None` when no client has this id; a revoked client is
    /// returned with `active: false`, and the caller decides.
    pub async fn get(
        &self,
        store: &Store,
        id: &ClientId,
    ) -> Result<Option<ClientRecord>, GuardError> {
        if let Some(record) = self.cached(id) {
            return Ok(Some(record));
        }
        let record = store.get_client(id).await?;
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
