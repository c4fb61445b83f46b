//! The idempotency table: one record per (client, key), written only inside the transaction
//! that makes the request's effect, so a record exists exactly when the effect does.

use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

use super::attrs::{get_n, get_s, n, s, Item};
use super::failure::sdk_failure;
use super::Store;
use crate::domain::ClientId;
use crate::error::ApiError;
use crate::idempotency::{Fingerprint, IdempotencyKey, IdempotencyRecord, StoredResponse};

fn pk(client_id: &ClientId, key: &IdempotencyKey) -> String {
    // Client ids cannot contain '#', so the split is unambiguous.
    format!("{client_id}#{}", key.as_str())
}

impl Store {
    /// The live record under this client's key; an expired one counts as absent.
    pub async fn get_idempotency_record(
        &self,
        client_id: &ClientId,
        key: &IdempotencyKey,
        now: i64,
    ) -> Result<Option<IdempotencyRecord>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.idempotency)
            .key("pk", s(pk(client_id, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("get_idempotency_record", e))?;
        Ok(out
            .item
            .and_then(|item| decode(&item))
            .filter(|r| r.expires_at > now))
    }

    /// The conditional put that claims the key inside a transaction: it succeeds only when no
    /// live record holds the key, and on failure hands back the record that does.
    pub(crate) fn claim_key(
        &self,
        client_id: &ClientId,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        now: i64,
    ) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.tables.idempotency)
            .item("pk", s(pk(client_id, key)))
            .item("fingerprint", s(record.fingerprint.as_str()))
            .item("status", n(record.response.status))
            .item("body", s(&record.response.body))
            .item("request_id", s(&record.request_id))
            .item("expires_at", n(record.expires_at))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(location) = &record.response.location {
            put = put.item("location", s(location));
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table, item and condition are set"))
            .build()
    }
}

pub(crate) fn decode(item: &Item) -> Option<IdempotencyRecord> {
    Some(IdempotencyRecord {
        fingerprint: Fingerprint::from_stored(get_s(item, "fingerprint")?.to_owned()),
        response: StoredResponse {
            status: get_n(item, "status")?,
            body: get_s(item, "body")?.to_owned(),
            location: get_s(item, "location").map(str::to_owned),
        },
        request_id: get_s(item, "request_id")?.to_owned(),
        expires_at: get_n(item, "expires_at")?,
    })
}
