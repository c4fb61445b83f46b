//! Where client keys come from. The guard asks a [`KeySource`] for the client a signature names;
//! the default is the clients table ([`Store`]), and any other (Secrets Manager, SSM Parameter
//! Store, a config file) is one impl away. The guard caches what it is told (see
//! [`Config::client_cache`](crate::Config::client_cache)), whatever the source.

use std::future::Future;
use std::pin::Pin;

use crate::error::GuardError;
use crate::ids::ClientId;
use crate::store::clients::ClientRecord;
use crate::store::Store;

/// What [`KeySource::client`] returns: the client's record, `None` for an unknown id.
pub type ClientLookup<'a> =
    Pin<Box<dyn Future<Output = Result<Option<ClientRecord>, GuardError>> + Send + 'a>>;

/// Where the guard finds a client's secret and status.
///
/// Answer `Ok(None)` for an id no client has (the request gets 401 `unknown-key`), a record
/// with `active: false` for a revoked client (also 401), [`GuardError::Unavailable`] when the
/// source cannot be reached for now (503 with `Retry-After`) and [`GuardError::Internal`] for a
/// broken entry (500). Log the cause where it happens; never log the secret.
///
/// ```
/// use std::collections::HashMap;
/// use replaysafe::auth::{ClientLookup, KeySource};
/// use replaysafe::store::clients::ClientRecord;
/// use replaysafe::ClientId;
///
/// /// Keys loaded once at cold start, e.g. from one Secrets Manager secret.
/// struct Fixed(HashMap<String, Vec<u8>>);
///
/// impl KeySource for Fixed {
///     fn client<'a>(&'a self, client_id: &'a ClientId) -> ClientLookup<'a> {
///         let record = self.0.get(client_id.as_str()).map(|secret| ClientRecord {
///             client_id: client_id.clone(),
///             secret: secret.clone(),
///             active: true,
///         });
///         Box::pin(async move { Ok(record) })
///     }
/// }
/// # let keys = Fixed(HashMap::from([("cli_a".to_owned(), b"secret".to_vec())]));
/// # let id = ClientId::parse("cli_a").unwrap();
/// # let found = block_on(keys.client(&id));
/// # assert!(found.unwrap().unwrap().active);
/// # fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub trait KeySource: Send + Sync {
    /// The record of the client a signature's `keyid` names.
    fn client<'a>(&'a self, client_id: &'a ClientId) -> ClientLookup<'a>;
}

/// A shared source is a source: the app can keep a handle on the one it lends the guard.
impl<K: KeySource + ?Sized> KeySource for std::sync::Arc<K> {
    fn client<'a>(&'a self, client_id: &'a ClientId) -> ClientLookup<'a> {
        (**self).client(client_id)
    }
}

/// The default source: the guard's clients table.
impl KeySource for Store {
    fn client<'a>(&'a self, client_id: &'a ClientId) -> ClientLookup<'a> {
        Box::pin(self.get_client(client_id))
    }
}
