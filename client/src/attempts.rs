//! What a client remembers about the operations it signs: each key's latest `created`, and
//! which keys have an operation running.
//!
//! Why it matters: the server fences a refused operation at the refused attempt's `created`
//! and refuses (409 `attempt-superseded`) any attempt of that key not signed after it. So every
//! attempt of a key must carry a `created` later than the one before, whatever the clock does,
//! and two operations with one key must never run at once (the refusal of an older attempt while
//! a newer one is unanswered would not be final).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::types::IdempotencyKey;

/// Keys whose latest `created` is remembered. Past this, the key signed longest ago is
/// forgotten: its next attempt is signed at the clock's `now`, which is later anyway unless
/// the clock stepped back (then the fence refuses it, with no effect).
pub(crate) const REMEMBERED_KEYS: usize = 4096;

/// Entries are under the key the server reads (`"k"` and `k` are one key to it).
#[derive(Default)]
pub(crate) struct Ledger {
    created: Mutex<HashMap<String, i64>>,
    running: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The key as the server names it.
fn name(key: &IdempotencyKey) -> String {
    replaysafe_signing::idempotency_key_from_header(key.as_str())
        .unwrap_or_else(|| key.as_str().to_owned())
}

impl Ledger {
    /// The `created` of the next attempt under `key`: `max(now, previous + 1)`, remembered.
    pub(crate) fn next_created(&self, key: &IdempotencyKey, now: i64) -> i64 {
        let key = name(key);
        let mut created = self.created.lock().expect("ledger lock");
        let next = match created.get(&key) {
            Some(&last) => now.max(last.saturating_add(1)),
            None => now,
        };
        if created.len() >= REMEMBERED_KEYS && !created.contains_key(&key) {
            let oldest = created
                .iter()
                .min_by_key(|(_, &c)| c)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                created.remove(&oldest);
            }
        }
        created.insert(key, next);
        next
    }

    /// The latest `created` signed under `key`, if remembered.
    pub(crate) fn last_created(&self, key: &IdempotencyKey) -> Option<i64> {
        let created = self.created.lock().expect("ledger lock");
        created.get(&name(key)).copied()
    }

    /// Holds `key` for one operation; an operation with the same key waits for it.
    pub(crate) async fn hold(&self, key: &IdempotencyKey) -> Hold<'_> {
        let lock = self
            .running
            .lock()
            .expect("ledger lock")
            .entry(name(key))
            .or_default()
            .clone();
        Hold {
            guard: Some(lock.lock_owned().await),
            key: name(key),
            ledger: self,
        }
    }
}

/// One running operation's hold on its key. Dropping it lets the next one run.
pub(crate) struct Hold<'a> {
    guard: Option<OwnedMutexGuard<()>>,
    key: String,
    ledger: &'a Ledger,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut running = self.ledger.running.lock().expect("ledger lock");
        // Waiting operations hold a clone: only the last one out removes the entry.
        if running
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            running.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> IdempotencyKey {
        IdempotencyKey::parse(k).unwrap()
    }

    #[test]
    fn created_strictly_increases_even_when_the_clock_steps_back() {
        let ledger = Ledger::default();
        let k = key("k");
        assert_eq!(ledger.next_created(&k, 1000), 1000);
        assert_eq!(ledger.next_created(&k, 1000), 1001, "same second");
        assert_eq!(ledger.next_created(&k, 900), 1002, "clock stepped back");
        assert_eq!(ledger.next_created(&k, 2000), 2000, "clock moved on");
        assert_eq!(ledger.last_created(&k), Some(2000));
        // Another key has its own sequence; the quoted form of a key is that key.
        assert_eq!(ledger.next_created(&key("other"), 900), 900);
        assert_eq!(ledger.next_created(&key("\"k\""), 900), 2001);
    }

    #[test]
    fn memory_is_bounded_and_forgets_the_oldest() {
        let ledger = Ledger::default();
        for i in 0..REMEMBERED_KEYS + 10 {
            ledger.next_created(&key(&format!("k{i}")), 1000 + i as i64);
        }
        assert_eq!(ledger.created.lock().unwrap().len(), REMEMBERED_KEYS);
        assert_eq!(ledger.last_created(&key("k0")), None);
        assert_eq!(
            ledger.last_created(&key(&format!("k{}", REMEMBERED_KEYS + 9))),
            Some(1000 + REMEMBERED_KEYS as i64 + 9)
        );
    }

    #[tokio::test]
    async fn holds_are_released_and_forgotten() {
        let ledger = Ledger::default();
        let k = key("k");
        let first = ledger.hold(&k).await;
        let waiting = async { ledger.hold(&k).await };
        tokio::pin!(waiting);
        assert!(
            futures_poll_once(waiting.as_mut()).await.is_none(),
            "a second hold waits"
        );
        drop(first);
        let second = waiting.await;
        drop(second);
        assert!(ledger.running.lock().unwrap().is_empty());
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        tokio::time::timeout(std::time::Duration::from_millis(50), f)
            .await
            .ok()
    }
}
