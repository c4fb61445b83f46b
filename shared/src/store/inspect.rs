//! What an operator reads and removes under one key, outside any request: the item as it is
//! (expired or not), and a delete of exactly that item. The guard itself never deletes a key's
//! item: TTL does, once every attempt it answers for has failed freshness.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;

use super::attrs::{n, s};
use super::failure::sdk_failure;
use super::Store;
use crate::error::GuardError;
use crate::idempotency::{IdempotencyKey, KeyState};
use crate::principal::Principal;

/// How [`Store::delete_key_state`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDelete {
    /// The item that was read is gone.
    Deleted,
    /// The key holds something else now (a new answer, a lease taken over, a new fence), or
    /// nothing: nothing was deleted.
    Changed,
}

impl Store {
    /// What the idempotency table holds under the principal's key, whether or not it is still
    /// live (TTL deletes an expired item lazily; compare its `expires_at` with now). An item
    /// that is there but does not decode is an error.
    ///
    /// ```no_run
    /// use replaysafe::idempotency::{IdempotencyKey, KeyState};
    /// use replaysafe::{ClientId, Principal, Store, Tables};
    ///
    /// # async fn show() -> Result<(), replaysafe::GuardError> {
    /// let store = Store::new(replaysafe::store::sdk_client(None).await, Tables::with_prefix("shop-"));
    /// let client = Principal::client(&ClientId::parse("cli_4a75").unwrap());
    /// let key = IdempotencyKey::parse(Some("order-42"))?;
    /// if let Some(KeyState::Answered(record)) = store.read_key_state(&client, &key).await? {
    ///     println!("{} until {}", record.response.status, record.expires_at);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_key_state(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
    ) -> Result<Option<KeyState>, GuardError> {
        let item = self.key_item(principal, key, "read_key_state").await?;
        item.map(|item| {
            self.live(&item, i64::MIN)
                .ok_or_else(|| GuardError::internal("the item under the key does not decode"))
        })
        .transpose()
    }

    /// Deletes the item under the principal's key only while it is still `state` (the same
    /// invocation wrote it, with the same expiry, and a lease the same token): what an operator
    /// was shown is what goes. After this, a request with the key runs as new.
    pub async fn delete_key_state(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        state: &KeyState,
    ) -> Result<KeyDelete, GuardError> {
        let (request_id, expires_at, token) = match state {
            KeyState::Answered(r) => (&r.request_id, r.expires_at, None),
            KeyState::Fenced(f) => (&f.request_id, f.expires_at, None),
            KeyState::Leased(l) => (&l.request_id, l.expires_at, Some(&l.token)),
        };
        let mut condition = "request_id = :request_id AND #expires_at = :expires_at".to_owned();
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.tables.idempotency)
            .key(&self.tables.partition_key, self.key_pk(principal, key))
            .expression_attribute_names("#expires_at", &self.tables.expires_at)
            .expression_attribute_names("#token", super::leases::TOKEN)
            .expression_attribute_values(":request_id", s(request_id))
            .expression_attribute_values(":expires_at", n(expires_at));
        match token {
            Some(token) => {
                condition.push_str(" AND #token = :token");
                delete = delete.expression_attribute_values(":token", s(token));
            }
            // A record or a fence has no token: one that does is a lease written since.
            None => condition.push_str(" AND attribute_not_exists(#token)"),
        }
        match delete.condition_expression(condition).send().await {
            Ok(_) => Ok(KeyDelete::Deleted),
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(KeyDelete::Changed),
                _ => Err(sdk_failure("delete_key_state", e)),
            },
        }
    }
}
