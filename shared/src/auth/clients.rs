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

pub struct ClientCache {
    ttl: Duration,
    entries: Mutex<HashMap<ClientId, (ClientRecord, Instant)>>,
}

impl ClientCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

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
