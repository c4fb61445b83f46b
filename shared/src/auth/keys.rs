//! Where keys come from. The guard asks a [`KeySource`] for the key a signature's `keyid` names;
//! the default is the clients table ([`Store`]), and any other (Secrets Manager, SSM Parameter
//! Store, a config file) is one impl away. The guard caches what it is told (see
//! [`Config::client_cache`](crate::Config::client_cache)), whatever the source.

use std::future::Future;
use std::pin::Pin;

use crate::error::GuardError;
use crate::ids::KeyId;
use crate::store::keys::KeyRecord;
use crate::store::Store;

/// What [`KeySource::key`] returns: the key's record, `None` for an unknown id.
pub type KeyLookup<'a> =
    Pin<Box<dyn Future<Output = Result<Option<KeyRecord>, GuardError>> + Send + 'a>>;

/// What [`KeySource::key_used`] returns once it has recorded the use, or given up.
pub type KeyUse<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where the guard finds a key: its client, algorithm, material, status and expiry.
///
/// Answer `Ok(None)` for an id no key has (the request gets 401 `unknown-key`), a record with
/// `active: false` for a revoked key, or an `expires_at` in the past (also 401),
/// [`GuardError::Unavailable`] when the source cannot be reached for now (503 with
/// `Retry-After`) and [`GuardError::Internal`] for a broken entry (500). Log the cause where it
/// happens; never log key material.
///
/// ```
/// use std::collections::HashMap;
/// use replaysafe::auth::{KeyLookup, KeySource};
/// use replaysafe::store::keys::KeyRecord;
/// use replaysafe::{ClientId, KeyId};
///
/// /// Keys loaded once at cold start, e.g. from one Secrets Manager secret: key id to
/// /// (client id, secret).
/// struct Fixed(HashMap<String, (String, Vec<u8>)>);
///
/// impl KeySource for Fixed {
///     fn key<'a>(&'a self, key_id: &'a KeyId) -> KeyLookup<'a> {
///         let record = self.0.get(key_id.as_str()).map(|(client, secret)| KeyRecord {
///             key_id: key_id.clone(),
///             client_id: ClientId::parse(client).unwrap(),
///             alg: "hmac-sha256".into(),
///             material: secret.clone(),
///             active: true,
///             created_at: 0,
///             expires_at: None,
///             last_used_at: None,
///         });
///         Box::pin(async move { Ok(record) })
///     }
/// }
/// # let keys = Fixed(HashMap::from([("key_1".to_owned(), ("cli_a".to_owned(), b"s".to_vec()))]));
/// # let id = KeyId::parse("key_1").unwrap();
/// # let found = block_on(keys.key(&id)).unwrap().unwrap();
/// # assert_eq!(found.client_id.as_str(), "cli_a");
/// # fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub trait KeySource: Send + Sync {
    /// The key a signature's `keyid` names.
    fn key<'a>(&'a self, key_id: &'a KeyId) -> KeyLookup<'a>;

    /// Told, at most once a minute per key by each warm function and off the request's path,
    /// that `key_id` verified a request at `at` (unix seconds). Best effort: a failure is the
    /// source's to log, and no request waits for it. The default records nothing.
    fn key_used<'a>(&'a self, key_id: &'a KeyId, at: i64) -> KeyUse<'a> {
        let _ = (key_id, at);
        Box::pin(async {})
    }
}

/// A shared source is a source: the app can keep a handle on the one it lends the guard.
impl<K: KeySource + ?Sized> KeySource for std::sync::Arc<K> {
    fn key<'a>(&'a self, key_id: &'a KeyId) -> KeyLookup<'a> {
        (**self).key(key_id)
    }

    fn key_used<'a>(&'a self, key_id: &'a KeyId, at: i64) -> KeyUse<'a> {
        (**self).key_used(key_id, at)
    }
}

/// The default source: the guard's clients table, which holds every key (see
/// [`store::keys`](crate::store::keys)); a use is written to the key's `last_used_at`.
impl KeySource for Store {
    fn key<'a>(&'a self, key_id: &'a KeyId) -> KeyLookup<'a> {
        Box::pin(self.get_key(key_id))
    }

    fn key_used<'a>(&'a self, key_id: &'a KeyId, at: i64) -> KeyUse<'a> {
        Box::pin(async move {
            if self.record_key_use(key_id, at).await.is_err() {
                // `sdk_failure` logged the cause; a lost use only makes `last_used_at` older.
                tracing::warn!(key_id = %key_id, "recording a key's use failed");
            }
        })
    }
}
