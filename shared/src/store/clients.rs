//! The clients table: who may sign requests, with which secret. A client's item is also its
//! first key (see [`keys`](super::keys) for the layout).

use aws_sdk_dynamodb::types::AttributeValue;

use super::attrs::s;
use super::failure::sdk_failure;
use super::keys::SEALED_SECRET;
use super::Store;
use crate::error::GuardError;
use crate::ids::{ClientId, KeyId};

/// An item of the clients table: who may sign, with which secret. Its `Debug` leaves the secret
/// out.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client, and the `keyid` its first key's signatures carry.
    pub client_id: ClientId,
    /// The first key's HMAC-SHA256 secret, as raw bytes (sealed in the table).
    pub secret: Vec<u8>,
    /// `false` once the first key is revoked: its requests are then refused with 401
    /// `unknown-key`.
    pub active: bool,
}

// The secret must never reach a log line through `{:?}`.
impl std::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Writes a new client with its first key (active unless `record` says otherwise), its
    /// secret sealed under the store's [data key](Store::with_data_key); refuses to overwrite an
    /// existing id, and a secret shorter than
    /// [`MIN_SECRET_BYTES`](crate::auth::MIN_SECRET_BYTES) (the guard would refuse every
    /// request it signs).
    pub async fn put_client(
        &self,
        record: &ClientRecord,
        created_at: i64,
    ) -> Result<(), GuardError> {
        if record.secret.len() < crate::auth::MIN_SECRET_BYTES {
            return Err(GuardError::internal(
                "a client secret shorter than 32 bytes",
            ));
        }
        // Sealed for the client's own item: its first key's id is the client id.
        let sealer = self.data_key.sealer().await?;
        let sealed = sealer.seal(
            &record.secret,
            &KeyId::first_of(&record.client_id),
            &record.client_id,
        );
        self.client
            .put_item()
            .table_name(&self.tables.clients)
            .item("client_id", s(record.client_id.as_str()))
            .item(SEALED_SECRET, s(sealed))
            .item(
                "status",
                s(if record.active { "active" } else { "revoked" }),
            )
            .item("created_at", AttributeValue::N(created_at.to_string()))
            .condition_expression("attribute_not_exists(client_id)")
            .send()
            .await
            .map_err(|e| sdk_failure("put_client", e))?;
        Ok(())
    }
}
