//! A lease under the key: taken with the writes that precede an outside call, taken over with
//! a new token once it has run out, and replaced by the operation's answer only by the holder
//! of the current token.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

use super::attrs::{n, s, Item};
use super::failure::sdk_failure;
use super::idempotency::KeyWrite;
use super::Store;
use crate::error::GuardError;
use crate::idempotency::{IdempotencyKey, IdempotencyRecord, Lease};
use crate::principal::Principal;

/// The attribute holding the fencing token; a lease item is the one that has it.
pub(crate) const TOKEN: &str = "lease_token";
/// Unix seconds from which the lease may be taken over.
pub(crate) const UNTIL: &str = "lease_until";
/// The app's held state, as JSON.
pub(crate) const HELD: &str = "held";

impl Store {
    /// The conditional put that takes the key with `lease` inside the transaction of the
    /// writes that precede the outside call; the same condition as a claim.
    pub(crate) fn claim_lease(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        lease: &Lease,
        created: Option<i64>,
        now: i64,
    ) -> TransactWriteItem {
        let tables = &self.tables;
        let item = Item::from([
            (tables.partition_key.clone(), self.key_pk(principal, key)),
            ("fingerprint".to_owned(), s(lease.fingerprint.as_str())),
            ("request_id".to_owned(), s(&lease.request_id)),
            (TOKEN.to_owned(), s(&lease.token)),
            (UNTIL.to_owned(), n(lease.until)),
            (HELD.to_owned(), s(&lease.held)),
            (tables.expires_at.clone(), n(lease.expires_at)),
        ]);
        let put = self.free_put(item, created, now);
        TransactWriteItem::builder().put(put).build()
    }

    /// The put that replaces the lease with the operation's answer, only while `token` is
    /// the lease's: the completion's (or release's) writes commit with it or not at all.
    pub(crate) fn settle_lease(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        token: &str,
    ) -> Result<TransactWriteItem, GuardError> {
        let item = self.record_item(principal, key, record)?;
        let put = Put::builder()
            .table_name(&self.tables.idempotency)
            .set_item(Some(item))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_values(":token", s(token))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, item and condition are set");
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Takes over `old`, which has run out, as `new` (its token, end and request). When
    /// another attempt took it over first, or settled it, that comes back instead.
    pub(crate) async fn take_over(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        old: &Lease,
        new: &Lease,
        now: i64,
    ) -> Result<KeyWrite, GuardError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.idempotency)
            .key(&self.tables.partition_key, self.key_pk(principal, key))
            .update_expression("SET #token = :token, #until = :until, request_id = :request_id")
            .condition_expression("#token = :old AND #until <= :now")
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":token", s(&new.token))
            .expression_attribute_values(":until", n(new.until))
            .expression_attribute_values(":request_id", s(&new.request_id))
            .expression_attribute_values(":old", s(&old.token))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .customize()
            .config_override(self.bounded())
            .send()
            .await;
        match result {
            Ok(_) => Ok(KeyWrite::Written),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => failed
                    .item()
                    .and_then(|item| self.live(item, now))
                    .map(KeyWrite::Held)
                    .ok_or_else(|| {
                        GuardError::internal("a lease take-over failed on an item that is gone")
                    }),
                _ => Err(sdk_failure("take_over_lease", e)),
            },
        }
    }
}
