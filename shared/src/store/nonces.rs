//! The nonces table: a nonce is accepted once per client.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::attrs::{get_s, n, s};
use super::failure::sdk_failure;
use super::Store;
use crate::error::GuardError;
use crate::ids::ClientId;

impl Store {
    /// Records the nonce, or fails with `NonceReused` when a live record holds it. An expired
    /// record (TTL deletion is lazy) counts as absent. A record carrying our own `request_id` is
    /// the SDK retrying our put after it committed: that is success, not a replay.
    pub async fn consume_nonce(
        &self,
        client_id: &ClientId,
        nonce: &str,
        request_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), GuardError> {
        let t = &self.tables;
        let result = self
            .client
            .put_item()
            .table_name(&t.nonces)
            .item(&t.partition_key, self.owned_pk(client_id.as_str(), nonce))
            .item("request_id", s(request_id))
            .item(&t.expires_at, n(expires_at))
            .condition_expression("attribute_not_exists(#pk) OR #expires_at <= :now")
            .expression_attribute_names("#pk", &t.partition_key)
            .expression_attribute_names("#expires_at", &t.expires_at)
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .customize()
            .config_override(self.bounded())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let ours = failed
                        .item()
                        .and_then(|old| get_s(old, "request_id"))
                        .is_some_and(|id| id == request_id);
                    if ours {
                        Ok(())
                    } else {
                        Err(GuardError::NonceReused)
                    }
                }
                _ => Err(sdk_failure("consume_nonce", e)),
            },
        }
    }
}
