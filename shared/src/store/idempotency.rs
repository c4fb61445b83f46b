//! The idempotency table: one item per (client, key). It holds either the record of the
//! operation's success, written only inside the transaction that makes the effect (so a record
//! exists exactly when the effect does), or the fence of its latest refusal.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

use super::attrs::{get_n, get_s, n, s, Item};
use super::failure::sdk_failure;
use super::Store;
use crate::error::GuardError;
use crate::idempotency::{
    Fence, Fingerprint, IdempotencyKey, IdempotencyRecord, KeyState, Lease, StoredRefusal,
    StoredResponse, STORABLE_STATUS,
};
use crate::principal::Principal;

/// Both writes under a key, the claim and the fence, take it only while nothing live holds it
/// except a fence signed strictly before the writer's attempt. `<` and not `<=`: an attempt
/// signed in the same second as a refused one is not "after" it (the refused attempt's own
/// copies share its `created`).
const FREE_FOR_ATTEMPT: &str =
    "attribute_not_exists(#pk) OR #expires_at <= :now OR (attribute_not_exists(fingerprint) AND fence < :created)";

/// Without signatures there are no attempts to order and no fences: the key is free while
/// nothing live holds it.
const FREE: &str = "attribute_not_exists(#pk) OR #expires_at <= :now";

/// A DynamoDB item holds at most 400 KB, names and all: the stored body and headers get
/// what the record's other attributes leave, with room to spare.
pub const MAX_STORED_RESPONSE_BYTES: usize = 350 * 1024;

/// How a conditional write under a key (a fence, an answer) ended.
#[derive(Debug)]
pub enum KeyWrite {
    /// It now holds the key.
    Written,
    /// Something live already held the key: a record, or a fence at or after this attempt.
    Held(KeyState),
}

impl Store {
    pub(super) fn key_pk(&self, principal: &Principal, key: &IdempotencyKey) -> AttributeValue {
        self.owned_pk(principal.as_str(), key.as_str())
    }

    /// What lives under this client's key; an expired item counts as absent.
    pub async fn get_key_state(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        now: i64,
    ) -> Result<Option<KeyState>, GuardError> {
        let item = self
            .key_item(principal, key, "get_idempotency_record")
            .await?;
        Ok(item.and_then(|item| self.live(&item, now)))
    }

    /// The item under the key as it is (strongly consistent), expired or not.
    pub(super) async fn key_item(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        operation: &'static str,
    ) -> Result<Option<Item>, GuardError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.idempotency)
            .key(&self.tables.partition_key, self.key_pk(principal, key))
            .consistent_read(true)
            .customize()
            .config_override(self.bounded())
            .send()
            .await
            .map_err(|e| sdk_failure(operation, e))?;
        Ok(out.item)
    }

    /// The conditional put that claims the key inside a transaction for an attempt signed at
    /// `created` (`None` without signatures): it fails while a live record or a fence at or
    /// after `created` holds the key, and then hands back what does.
    pub(crate) fn claim_key(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        created: Option<i64>,
        now: i64,
    ) -> Result<TransactWriteItem, GuardError> {
        let put = self.record_put(principal, key, record, created, now)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Stores `record` under the key on its own, under the claim's condition without a fence:
    /// an authorizer-mode refusal becomes the key's answer. When something live holds the key
    /// already, that comes back instead.
    pub async fn put_answer(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        now: i64,
    ) -> Result<KeyWrite, GuardError> {
        let put = self.record_put(principal, key, record, None, now)?;
        self.put_if_free(put, now, "put_answer").await
    }

    fn record_put(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
        created: Option<i64>,
        now: i64,
    ) -> Result<Put, GuardError> {
        let item = self.record_item(principal, key, record)?;
        Ok(self.free_put(item, created, now))
    }

    /// The item holding `record`'s answer under the key; refused when the answer cannot be
    /// replayed as it is or does not fit an item.
    pub(super) fn record_item(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        record: &IdempotencyRecord,
    ) -> Result<Item, GuardError> {
        let response = &record.response;
        if let Some(problem) = response.header_problem() {
            return Err(GuardError::internal(format!(
                "the response cannot be stored under its key: {problem}"
            )));
        }
        if response.stored_bytes() > MAX_STORED_RESPONSE_BYTES {
            tracing::error!(
                bytes = response.stored_bytes(),
                "response too large to store under its key"
            );
            return Err(GuardError::ResponseTooLarge);
        }
        let tables = &self.tables;
        Ok(Item::from([
            (tables.partition_key.clone(), self.key_pk(principal, key)),
            ("fingerprint".to_owned(), s(record.fingerprint.as_str())),
            ("status".to_owned(), n(response.status)),
            ("headers".to_owned(), headers_attr(&response.headers)),
            ("body".to_owned(), s(&response.body)),
            ("request_id".to_owned(), s(&record.request_id)),
            (tables.expires_at.clone(), n(record.expires_at)),
        ]))
    }

    /// A put of `item` that takes the key only while it is free for an attempt signed at
    /// `created` (`None` without signatures), handing back what held it otherwise.
    pub(super) fn free_put(&self, item: Item, created: Option<i64>, now: i64) -> Put {
        let (condition, values) = match created {
            Some(created) => (FREE_FOR_ATTEMPT, free_values(created, now)),
            None => (FREE, Item::from([(":now".to_owned(), n(now))])),
        };
        Put::builder()
            .table_name(&self.tables.idempotency)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(self.free_names()))
            .set_expression_attribute_values(Some(values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, item and condition are set")
    }

    /// Fences the key at `fence.created`, under the same condition as the claim.
    pub async fn write_fence(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        fence: &Fence,
        now: i64,
    ) -> Result<KeyWrite, GuardError> {
        let tables = &self.tables;
        let item = Item::from([
            (tables.partition_key.clone(), self.key_pk(principal, key)),
            ("fence".to_owned(), n(fence.created)),
            ("request_id".to_owned(), s(&fence.request_id)),
            ("refusal_status".to_owned(), n(fence.refusal.status)),
            ("refusal_code".to_owned(), s(&fence.refusal.code)),
            ("refusal_title".to_owned(), s(&fence.refusal.title)),
            ("refusal_detail".to_owned(), s(&fence.refusal.detail)),
            (tables.expires_at.clone(), n(fence.expires_at)),
        ]);
        let put = Put::builder()
            .table_name(&self.tables.idempotency)
            .set_item(Some(item))
            .condition_expression(FREE_FOR_ATTEMPT)
            .set_expression_attribute_names(Some(self.free_names()))
            .set_expression_attribute_values(Some(free_values(fence.created, now)))
            .build()
            .expect("table, item and condition are set");
        self.put_if_free(put, now, "write_fence").await
    }

    /// `put` on its own (its condition: the key is free for it), and what held the key when
    /// the condition failed.
    async fn put_if_free(
        &self,
        put: Put,
        now: i64,
        operation: &'static str,
    ) -> Result<KeyWrite, GuardError> {
        let result = self
            .client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .customize()
            .config_override(self.bounded())
            .send()
            .await;
        self.held_or_written(result, now, operation)
    }

    /// A conditional put's outcome: written, or what held the key.
    fn held_or_written<R: std::fmt::Debug>(
        &self,
        result: Result<PutItemOutput, SdkError<PutItemError, R>>,
        now: i64,
        operation: &'static str,
    ) -> Result<KeyWrite, GuardError> {
        match result {
            Ok(_) => Ok(KeyWrite::Written),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => failed
                    .item()
                    .and_then(|old| self.live(old, now))
                    .map(KeyWrite::Held)
                    .ok_or_else(|| {
                        GuardError::internal(format!(
                            "{operation} failed its condition on an item that does not decode"
                        ))
                    }),
                _ => Err(sdk_failure(operation, e)),
            },
        }
    }
}

impl Store {
    /// The configured names behind `#pk` and `#expires_at`.
    pub(super) fn free_names(&self) -> std::collections::HashMap<String, String> {
        std::collections::HashMap::from([
            ("#pk".to_owned(), self.tables.partition_key.clone()),
            ("#expires_at".to_owned(), self.tables.expires_at.clone()),
        ])
    }

    /// The item's state, if it is live at `now` (TTL deletion is lazy).
    pub(crate) fn live(&self, item: &Item, now: i64) -> Option<KeyState> {
        let state = decode(item, &self.tables.expires_at)?;
        let expires_at = match &state {
            KeyState::Answered(r) => r.expires_at,
            KeyState::Fenced(f) => f.expires_at,
            KeyState::Leased(l) => l.expires_at,
        };
        (expires_at > now).then_some(state)
    }
}

fn free_values(created: i64, now: i64) -> Item {
    Item::from([
        (":created".to_owned(), n(created)),
        (":now".to_owned(), n(now)),
    ])
}

/// Headers as a list of `[name, value]` pairs: a map would lose their order.
fn headers_attr(headers: &[(String, String)]) -> AttributeValue {
    AttributeValue::L(
        headers
            .iter()
            .map(|(name, value)| AttributeValue::L(vec![s(name), s(value)]))
            .collect(),
    )
}

fn headers_of(attr: &AttributeValue) -> Option<Vec<(String, String)>> {
    attr.as_l()
        .ok()?
        .iter()
        .map(|pair| match pair.as_l().ok()?.as_slice() {
            [name, value] => Some((name.as_s().ok()?.clone(), value.as_s().ok()?.clone())),
            _ => None,
        })
        .collect()
}

fn decode(item: &Item, expires_attribute: &str) -> Option<KeyState> {
    let request_id = get_s(item, "request_id")?.to_owned();
    let expires_at = get_n(item, expires_attribute)?;
    if let Some(token) = get_s(item, super::leases::TOKEN) {
        return Some(KeyState::Leased(Lease {
            fingerprint: Fingerprint::from_stored(get_s(item, "fingerprint")?.to_owned()),
            request_id,
            token: token.to_owned(),
            until: get_n(item, super::leases::UNTIL)?,
            held: get_s(item, super::leases::HELD)?.to_owned(),
            expires_at,
        }));
    }
    if let Some(fingerprint) = get_s(item, "fingerprint") {
        return Some(KeyState::Answered(IdempotencyRecord {
            fingerprint: Fingerprint::from_stored(fingerprint.to_owned()),
            response: StoredResponse {
                // A status no answer can have would panic every replay: the item is broken.
                status: get_n(item, "status").filter(|s| STORABLE_STATUS.contains(s))?,
                headers: headers_of(item.get("headers")?)?,
                body: get_s(item, "body")?.to_owned(),
            },
            request_id,
            expires_at,
        }));
    }
    Some(KeyState::Fenced(Fence {
        created: get_n(item, "fence")?,
        request_id,
        refusal: StoredRefusal {
            status: get_n(item, "refusal_status").filter(|s| (400..=499).contains(s))?,
            code: get_s(item, "refusal_code")?.to_owned(),
            title: get_s(item, "refusal_title")?.to_owned(),
            detail: get_s(item, "refusal_detail")?.to_owned(),
        },
        expires_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(response: StoredResponse) -> IdempotencyRecord {
        IdempotencyRecord {
            fingerprint: Fingerprint::of("POST", "/orders", b"{}"),
            response,
            request_id: "req-1".into(),
            expires_at: 2_000,
        }
    }

    fn put_item(claim: &TransactWriteItem) -> &Item {
        claim.put().expect("the claim is a put").item()
    }

    fn store() -> Store {
        let sdk = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        Store::new(
            aws_sdk_dynamodb::Client::from_conf(sdk),
            crate::Tables::with_prefix("t-"),
        )
    }

    #[test]
    fn a_stored_answer_reads_back_with_its_headers_in_order() {
        let response = StoredResponse::new(201, "{}")
            .with_header("location", "/orders/1")
            .with_header("etag", "\"v1\"")
            .with_header("content-type", "application/vnd.shop+json");
        let key = IdempotencyKey::parse(Some("k")).unwrap();
        let client = Principal::client(&crate::ClientId::parse("cli_a").unwrap());
        let claim = store()
            .claim_key(&client, &key, &record(response.clone()), Some(1_000), 1_000)
            .unwrap();
        match store().live(put_item(&claim), 1_000) {
            Some(KeyState::Answered(read)) => assert_eq!(read.response, response),
            other => panic!("expected the record, got {other:?}"),
        }
    }

    #[test]
    fn a_stored_status_no_answer_can_have_reads_as_a_broken_item_not_an_answer() {
        let key = IdempotencyKey::parse(Some("k")).unwrap();
        let client = Principal::client(&crate::ClientId::parse("cli_a").unwrap());
        let ok = StoredResponse::new(201, "{}");
        let claim = store()
            .claim_key(&client, &key, &record(ok), Some(1_000), 1_000)
            .unwrap();
        let mut item = put_item(&claim).clone();
        for (status, readable) in [("201", true), ("599", true), ("1000", false), ("0", false)] {
            item.insert("status".into(), AttributeValue::N(status.into()));
            assert_eq!(store().live(&item, 1_000).is_some(), readable, "{status}");
        }
    }

    #[test]
    fn an_answer_that_cannot_be_replayed_as_it_is_is_refused_before_the_transaction() {
        let key = IdempotencyKey::parse(Some("k")).unwrap();
        let client = Principal::client(&crate::ClientId::parse("cli_a").unwrap());
        let claim =
            |response| store().claim_key(&client, &key, &record(response), Some(1_000), 1_000);
        let ok = StoredResponse::new(201, "{}");
        for bad in [
            ok.clone().with_header("bad name", "v"),
            ok.clone().with_header("x-line", "a\r\nset-cookie: b"),
            ok.clone().with_header("idempotent-replayed", "false"),
            ok.clone().with_header("cache-control", "public"),
            StoredResponse {
                headers: vec![("etag".into(), "a".into()), ("etag".into(), "b".into())],
                ..ok.clone()
            },
        ] {
            assert_eq!(
                claim(bad.clone()).err(),
                Some(GuardError::internal("any")),
                "{bad:?}"
            );
        }
        for status in [0, 99, 100, 199, 600, 1000] {
            let odd = StoredResponse {
                status,
                ..ok.clone()
            };
            assert_eq!(
                claim(odd).err(),
                Some(GuardError::internal("any")),
                "{status}"
            );
        }
        let huge = StoredResponse::new(201, "x".repeat(MAX_STORED_RESPONSE_BYTES + 1));
        assert_eq!(claim(huge).err(), Some(GuardError::ResponseTooLarge));
        let big_header = ok
            .clone()
            .with_header("x-big", "x".repeat(MAX_STORED_RESPONSE_BYTES));
        assert_eq!(claim(big_header).err(), Some(GuardError::ResponseTooLarge));
        assert!(claim(ok).is_ok());
    }
}
