//! Client keys, in the clients table.
//!
//! # Layout
//!
//! The clients table holds one item per key, under its key id in the table's partition key
//! (`client_id`, a name kept so that existing tables serve unchanged):
//!
//! - a client's own item (partition key = the client id) is the client and its first key:
//!   `sealed_secret` (see [`sealing`](super::sealing)), `status` (`active` or `revoked`), `created_at`, and, once the client has
//!   had more keys, `key_ids` (a string set of its other keys' ids) and `keys_version` (a number
//!   every key creation bumps, so that two at once cannot both pass the two-key rule).
//! - each other key: its own item, partition key = its key id (`key_` and 32 hex digits), with
//!   `owner` (the client id), `alg`, `sealed_secret` (HMAC) or `public_key` (Ed25519, base64:
//!   nothing secret, so not sealed), `status`,
//!   `created_at`, `expires_at` when it expires.
//!
//! Any item may carry `alg` (absent: `hmac-sha256`) and `last_used_at`. So a client item written
//! before keys existed is read, as it is, as that client's first key: there is no migration.
//!
//! # Secrets at rest
//!
//! An HMAC secret is written sealed, as `sealed_secret`, under the store's data key and bound
//! to its item (see [`sealing`](super::sealing)). An item written before secrets were sealed
//! holds `secret`, the plaintext in base64: it is still read, and
//! [`Store::seal_plaintext_secrets`] seals it in place. A sealed secret that does not open
//! (tampered with, copied from another item, or sealed under another data key) makes the key
//! unusable: its requests are answered 500 `internal` and the cause is logged with the key id,
//! never the secret. Not 401: the fault is the deployment's, not the client's, and it must
//! page someone rather than look like a client with a bad key.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::attrs::{get_n, get_s, n, s, Item};
use super::failure::sdk_failure;
use super::Store;
use crate::error::GuardError;
use crate::ids::{ClientId, KeyId};

/// The most keys a client may have active at once: enough to rotate without a gap.
pub const MAX_ACTIVE_KEYS: usize = 2;

/// The algorithm of every key written before keys had one.
pub const DEFAULT_KEY_ALG: &str = "hmac-sha256";

/// The attribute of a sealed HMAC secret.
pub const SEALED_SECRET: &str = "sealed_secret";

/// Times a key creation starts over when another change to the client's keys got there first.
const CREATE_ATTEMPTS: u32 = 5;

/// One key of a client: what the guard verifies a signature with, and what an operator lists.
/// Its `Debug` leaves the key material out.
///
/// ```
/// use replaysafe::store::keys::{KeyRecord, KeyStatus};
/// use replaysafe::{ClientId, KeyId};
///
/// let client = ClientId::parse("cli_a").unwrap();
/// let key = KeyRecord {
///     key_id: KeyId::generate(),
///     client_id: client,
///     alg: "hmac-sha256".into(),
///     material: vec![7; 32],
///     active: true,
///     created_at: 100,
///     expires_at: Some(200),
///     last_used_at: None,
/// };
/// assert_eq!(key.status(150), KeyStatus::Active);
/// assert_eq!(key.status(200), KeyStatus::Expired);
/// assert!(!format!("{key:?}").contains("[7"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// What a signature's `keyid` names.
    pub key_id: KeyId,
    /// The client it signs for: the principal that owns nonces, idempotency keys and accounts,
    /// whichever of its keys signed.
    pub client_id: ClientId,
    /// Its RFC 9421 `alg`: `hmac-sha256`, or `ed25519`.
    pub alg: String,
    /// The HMAC secret (opened from `sealed_secret`, or a legacy plaintext `secret`), or the
    /// Ed25519 public key (`public_key`), as raw bytes. Empty for a sealed secret read by
    /// [`Store::list_keys`], which never opens one.
    pub material: Vec<u8>,
    /// `false` once revoked.
    pub active: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds from which it is refused, when it expires.
    pub expires_at: Option<i64>,
    /// Unix seconds it last verified a request at, as last written (it may lag by a minute).
    pub last_used_at: Option<i64>,
}

/// Where a key stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// It verifies signatures.
    Active,
    /// An operator revoked it.
    Revoked,
    /// Its `expires_at` has come.
    Expired,
}

impl KeyStatus {
    /// `active`, `revoked` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Expired => "expired",
        }
    }
}

impl KeyRecord {
    /// Its status at `now` (unix seconds): a revoked key is revoked whatever its expiry.
    pub fn status(&self, now: i64) -> KeyStatus {
        if !self.active {
            KeyStatus::Revoked
        } else if self.expires_at.is_some_and(|at| now >= at) {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }

    /// Whether it verifies signatures at `now`, and counts toward [`MAX_ACTIVE_KEYS`].
    pub fn is_active(&self, now: i64) -> bool {
        self.status(now) == KeyStatus::Active
    }
}

// Key material must never reach a log line through `{:?}`.
impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("key_id", &self.key_id)
            .field("client_id", &self.client_id)
            .field("alg", &self.alg)
            .field("active", &self.active)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_used_at", &self.last_used_at)
            .finish_non_exhaustive()
    }
}

/// A key to add to a client ([`Store::create_key`]).
#[derive(Clone)]
pub struct NewKey {
    /// Its id: [`KeyId::generate`].
    pub key_id: KeyId,
    /// `hmac-sha256` or `ed25519`.
    pub alg: String,
    /// The HMAC secret, or the Ed25519 public key (the private key is never stored).
    pub material: Vec<u8>,
    /// Unix seconds from which it is refused, if it expires.
    pub expires_at: Option<i64>,
}

/// Why a key operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No client has this id.
    #[error("no client {0}")]
    NoSuchClient(ClientId),
    /// The client has no key with this id.
    #[error("client {client_id} has no key {key_id}")]
    NoSuchKey {
        /// The client asked about.
        client_id: ClientId,
        /// The key it does not have.
        key_id: KeyId,
    },
    /// The client already has [`MAX_ACTIVE_KEYS`] active keys.
    #[error("client {0} already has {MAX_ACTIVE_KEYS} active keys: revoke one first")]
    TooManyKeys(ClientId),
    /// Key material shorter than [`MIN_SECRET_BYTES`](crate::auth::MIN_SECRET_BYTES).
    #[error("key material shorter than 32 bytes")]
    ShortKey,
    /// Other changes to the client's keys kept getting there first.
    #[error("the client's keys kept changing; try again")]
    Contended,
    /// DynamoDB failed.
    #[error(transparent)]
    Store(#[from] GuardError),
}

impl Store {
    /// The key `key_id`, by an eventually consistent read; `None` when there is none. An item
    /// without base64 key material is an internal error.
    /// A sealed secret is opened (see [`Store::with_data_key`]); one that does not open is an
    /// internal error, logged.
    pub async fn get_key(&self, key_id: &KeyId) -> Result<Option<KeyRecord>, GuardError> {
        match self.read_key_item(key_id.as_str(), false).await? {
            Some(item) => self.key_of(key_id, &item).await.map(Some),
            None => Ok(None),
        }
    }

    /// The key, its sealed secret left sealed: `material` is empty (listing and counting keys
    /// needs no data key, so an operator's role needs no `kms:Decrypt` for them).
    async fn read_key_sealed(&self, key_id: &KeyId) -> Result<Option<KeyRecord>, GuardError> {
        match self.read_key_item(key_id.as_str(), true).await? {
            Some(item) => key_of(key_id, &item).map(Some),
            None => Ok(None),
        }
    }

    /// The key in `item`, the item stored under `key_id`, its secret opened.
    async fn key_of(&self, key_id: &KeyId, item: &Item) -> Result<KeyRecord, GuardError> {
        let mut key = key_of(key_id, item)?;
        if let Some(sealed) = get_s(item, SEALED_SECRET) {
            let sealer = self.data_key.sealer().await?;
            key.material = sealer
                .open(sealed, key_id, &key.client_id)
                .map_err(|e| {
                    tracing::error!(key_id = %key_id, error = %e, "a key's sealed secret does not open");
                    GuardError::internal("a key's sealed secret does not open")
                })?;
        }
        Ok(key)
    }

    async fn read_key_item(&self, id: &str, consistent: bool) -> Result<Option<Item>, GuardError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.clients)
            .key("client_id", s(id))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| sdk_failure("get_key", e))?;
        Ok(out.item)
    }

    /// Every key of `client_id`, its first key first, then by creation (strongly consistent
    /// reads). [`KeyError::NoSuchClient`] when there is no such client. Sealed secrets are not
    /// opened: their `material` is empty.
    pub async fn list_keys(&self, client_id: &ClientId) -> Result<Vec<KeyRecord>, KeyError> {
        Ok(self.client_keys(client_id).await?.keys)
    }

    async fn client_keys(&self, client_id: &ClientId) -> Result<ClientKeys, KeyError> {
        let first = KeyId::first_of(client_id);
        let item = self
            .read_key_item(first.as_str(), true)
            .await?
            .filter(|item| get_s(item, "owner").is_none())
            .ok_or_else(|| KeyError::NoSuchClient(client_id.clone()))?;
        let version: i64 = get_n(&item, "keys_version").unwrap_or(0);
        let mut keys = vec![key_of(&first, &item)?];
        let mut others: Vec<&String> = match item.get("key_ids") {
            Some(set) => set.as_ss().map(|v| v.iter().collect()).unwrap_or_default(),
            None => Vec::new(),
        };
        others.sort();
        let mut rest = Vec::with_capacity(others.len());
        for id in others {
            let Ok(key_id) = KeyId::parse(id) else {
                continue;
            };
            // A key is listed under the client it names as owner, whatever the set says.
            if let Some(key) = self.read_key_sealed(&key_id).await? {
                if key.client_id == *client_id {
                    rest.push(key);
                }
            }
        }
        rest.sort_by(|a, b| (a.created_at, &a.key_id).cmp(&(b.created_at, &b.key_id)));
        keys.extend(rest);
        Ok(ClientKeys { keys, version })
    }

    /// Adds `key` to `client_id`'s keys, active at once, unless the client already has
    /// [`MAX_ACTIVE_KEYS`] active (revoked and expired keys do not count). The count holds
    /// however many creations run at once: the new key's item and the client item's
    /// `keys_version` are written in one transaction conditioned on the version the count was
    /// made at, so of two creations counted at one version only one commits; the other counts
    /// again.
    pub async fn create_key(
        &self,
        client_id: &ClientId,
        key: &NewKey,
        now: i64,
    ) -> Result<(), KeyError> {
        if key.material.len() < crate::auth::MIN_SECRET_BYTES {
            return Err(KeyError::ShortKey);
        }
        for _ in 0..CREATE_ATTEMPTS {
            let current = self.client_keys(client_id).await?;
            let active = current.keys.iter().filter(|k| k.is_active(now)).count();
            if active >= MAX_ACTIVE_KEYS {
                return Err(KeyError::TooManyKeys(client_id.clone()));
            }
            match self.add_key(client_id, key, current.version, now).await {
                Ok(()) => return Ok(()),
                Err(Added::Raced) => continue,
                Err(Added::Failed(e)) => return Err(e.into()),
            }
        }
        Err(KeyError::Contended)
    }

    async fn add_key(
        &self,
        client_id: &ClientId,
        key: &NewKey,
        version: i64,
        now: i64,
    ) -> Result<(), Added> {
        let table = &self.tables.clients;
        // An Ed25519 key is stored as what it is to the server: a public key. An HMAC secret
        // is sealed for this item.
        let material = if key.alg == "ed25519" {
            ("public_key", STANDARD.encode(&key.material))
        } else {
            let sealer = self.data_key.sealer().await.map_err(Added::Failed)?;
            (
                SEALED_SECRET,
                sealer.seal(&key.material, &key.key_id, client_id),
            )
        };
        let mut put = Put::builder()
            .table_name(table)
            .item("client_id", s(key.key_id.as_str()))
            .item("owner", s(client_id.as_str()))
            .item("alg", s(&key.alg))
            .item(material.0, s(material.1))
            .item("status", s("active"))
            .item("created_at", n(now))
            .condition_expression("attribute_not_exists(client_id)");
        if let Some(at) = key.expires_at {
            put = put.item("expires_at", n(at));
        }
        let version_unchanged = if version == 0 {
            "attribute_not_exists(keys_version) OR keys_version = :version"
        } else {
            "keys_version = :version"
        };
        let update = Update::builder()
            .table_name(table)
            .key("client_id", s(client_id.as_str()))
            .update_expression("SET keys_version = :next ADD key_ids :key")
            .condition_expression(format!(
                "attribute_exists(client_id) AND ({version_unchanged})"
            ))
            .expression_attribute_values(":version", n(version))
            .expression_attribute_values(":next", n(version + 1))
            .expression_attribute_values(
                ":key",
                aws_sdk_dynamodb::types::AttributeValue::Ss(vec![key.key_id.to_string()]),
            );
        let items = [
            TransactWriteItem::builder()
                .put(put.build().map_err(|e| Added::Failed(built(e)))?)
                .build(),
            TransactWriteItem::builder()
                .update(update.build().map_err(|e| Added::Failed(built(e)))?)
                .build(),
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items.to_vec()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(_)) => {
                    // Another change to the client's keys committed since the count (or a
                    // conflict with one in flight): count again.
                    Err(Added::Raced)
                }
                _ => Err(Added::Failed(sdk_failure("create_key", e))),
            },
        }
    }

    /// Revokes `client_id`'s key `key_id` (its first key when `key_id` is the client id). Safe
    /// to repeat. Its signatures are refused once the guards' caches let go of it, at the latest
    /// [`Config::client_cache`](crate::Config::client_cache) later.
    pub async fn revoke_key(&self, client_id: &ClientId, key_id: &KeyId) -> Result<(), KeyError> {
        let owned_by_client = if key_id.as_str() == client_id.as_str() {
            "attribute_exists(client_id) AND attribute_not_exists(#owner)"
        } else {
            "#owner = :client"
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.clients)
            .key("client_id", s(key_id.as_str()))
            .update_expression("SET #status = :revoked")
            .condition_expression(owned_by_client)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":revoked", s("revoked"));
        if key_id.as_str() != client_id.as_str() {
            update = update.expression_attribute_values(":client", s(client_id.as_str()));
        }
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(KeyError::NoSuchKey {
                        client_id: client_id.clone(),
                        key_id: key_id.clone(),
                    })
                }
                _ => Err(sdk_failure("revoke_key", e).into()),
            },
        }
    }

    /// Seals, in place, every HMAC secret of the clients table still stored as plaintext
    /// (`secret`, written before secrets were sealed), under the store's data key: each item
    /// by a conditional update that holds only while its `secret` is the one read, so a
    /// concurrent change is never overwritten. Safe to repeat; returns how many it sealed. An
    /// operator's command (`replaysafe admin seal-secrets`): it scans the table.
    pub async fn seal_plaintext_secrets(&self) -> Result<usize, GuardError> {
        let sealer = self.data_key.sealer().await?;
        let mut sealed = 0;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.tables.clients)
                .filter_expression("attribute_exists(secret)")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_failure("seal_plaintext_secrets", e))?;
            for item in page.items() {
                let (Some(id), Some(plaintext)) = (get_s(item, "client_id"), get_s(item, "secret"))
                else {
                    continue;
                };
                let Ok(key_id) = KeyId::parse(id) else {
                    continue;
                };
                let key = key_of(&key_id, item)?;
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.tables.clients)
                    .key("client_id", s(id))
                    .update_expression("SET #sealed = :sealed REMOVE secret")
                    .condition_expression("secret = :plaintext")
                    .expression_attribute_names("#sealed", SEALED_SECRET)
                    .expression_attribute_values(
                        ":sealed",
                        s(sealer.seal(&key.material, &key_id, &key.client_id)),
                    )
                    .expression_attribute_values(":plaintext", s(plaintext))
                    .send()
                    .await;
                match update {
                    Ok(_) => sealed += 1,
                    Err(e) => match e.as_service_error() {
                        // Changed since the scan (re-keyed, sealed by another run): left as is.
                        Some(UpdateItemError::ConditionalCheckFailedException(_)) => {}
                        _ => return Err(sdk_failure("seal_plaintext_secrets", e)),
                    },
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(sealed),
            }
        }
    }

    /// Records that `key_id` verified a request at `at` (unix seconds): never moves
    /// `last_used_at` back, never creates an item.
    pub async fn record_key_use(&self, key_id: &KeyId, at: i64) -> Result<(), GuardError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.clients)
            .key("client_id", s(key_id.as_str()))
            .update_expression("SET last_used_at = :at")
            .condition_expression(
                "attribute_exists(client_id) AND \
                 (attribute_not_exists(last_used_at) OR last_used_at < :at)",
            )
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // Another function wrote a later use, or the key is gone: nothing to record.
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(sdk_failure("record_key_use", e)),
            },
        }
    }
}

/// A client's keys and the version of its key set they were read at.
struct ClientKeys {
    keys: Vec<KeyRecord>,
    version: i64,
}

/// Why one attempt to add a key did not commit.
enum Added {
    /// The client's keys changed since they were counted.
    Raced,
    Failed(GuardError),
}

fn built(e: aws_sdk_dynamodb::error::BuildError) -> GuardError {
    GuardError::internal(format!("building a key write failed: {e}"))
}

/// The key in `item`, the item stored under `key_id`; a sealed secret's material is left empty
/// for [`Store::key_of`] to open.
fn key_of(key_id: &KeyId, item: &Item) -> Result<KeyRecord, GuardError> {
    let client_id = match get_s(item, "owner") {
        Some(owner) => ClientId::parse(owner)
            .map_err(|_| GuardError::internal("a key's owner is not a client id"))?,
        // A client's own item: its first key.
        None => ClientId::parse(key_id.as_str())
            .map_err(|_| GuardError::internal("a clients item's id is not a client id"))?,
    };
    let alg = get_s(item, "alg").unwrap_or(DEFAULT_KEY_ALG).to_owned();
    let material = if item.contains_key(SEALED_SECRET) {
        Vec::new()
    } else {
        get_s(item, "secret")
            .or_else(|| get_s(item, "public_key"))
            .and_then(|v| STANDARD.decode(v).ok())
            .ok_or_else(|| GuardError::internal("a key item has no base64 key material"))?
    };
    Ok(KeyRecord {
        key_id: key_id.clone(),
        client_id,
        alg,
        material,
        active: get_s(item, "status") == Some("active"),
        created_at: get_n(item, "created_at").unwrap_or(0),
        expires_at: get_n(item, "expires_at"),
        last_used_at: get_n(item, "last_used_at"),
    })
}
