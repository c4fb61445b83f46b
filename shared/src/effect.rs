//! What a POST does, as data: the writes that make its effect, each with the refusal its
//! condition stands for, and the answer to store. The endpoint hands it to the guard; the guard
//! alone commits it, with the key's record, in ONE `TransactWriteItems`.

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::error::GuardError;
use crate::idempotency::StoredResponse;
use crate::store::{Item, Write};

/// The most items one `TransactWriteItems` takes; the key's record is one of them.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// The most bytes of items one `TransactWriteItems` takes (4 MB), less room for the key's
/// item (at most 400 KB).
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024 - 400 * 1024;

/// The effect of one operation: its writes and its answer. Built by the endpoint, committed by
/// the guard (see [`Guard::post`](crate::Guard::post)).
///
/// When writes' conditions fail, the refusal of the failed write with the lowest status is
/// answered (among equal statuses, the earliest write's): add writes in the order their
/// refusals should win.
///
/// ```
/// use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
/// use replaysafe::store::AttributeValue;
/// use replaysafe::Effect;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("an order with this id already exists")]
/// struct Exists;
///
/// let put = Put::builder()
///     .table_name("orders")
///     .item("order_id", AttributeValue::S("ord_1".into()))
///     .condition_expression("attribute_not_exists(order_id)")
///     .build()
///     .unwrap();
/// let effect = Effect::json(201, &serde_json::json!({"order_id": "ord_1"}))
///     .header("location", "/orders/ord_1")
///     .write(TransactWriteItem::builder().put(put).build(), |_old| Exists);
/// assert_eq!(effect.len(), 1);
/// ```
#[must_use = "an effect does nothing until the endpoint returns it to the guard"]
pub struct Effect<E> {
    pub(crate) writes: Vec<Write<E>>,
    pub(crate) response: StoredResponse,
}

impl<E> Effect<E> {
    /// An effect answered with `response` (stored under the key, replayed to retries), with no
    /// writes yet.
    pub fn new(response: StoredResponse) -> Self {
        Self {
            writes: Vec::new(),
            response,
        }
    }

    /// An effect answered with `status` and `body` as JSON.
    pub fn json(status: u16, body: &impl serde::Serialize) -> Self {
        Self::new(StoredResponse::json(status, body))
    }

    /// The answer also carries header `name` (lowercased) with `value`, on every replay too.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.response = self.response.with_header(name, value);
        self
    }

    /// Adds a conditional write (a put, update, delete or condition check; with
    /// `ReturnValuesOnConditionCheckFailure::AllOld` when `refusal` needs the old item):
    /// when its condition fails, nothing commits and `refusal`, given the item as it was, is
    /// the answer.
    pub fn write(
        self,
        item: TransactWriteItem,
        refusal: impl Fn(Option<&Item>) -> E + Send + Sync + 'static,
    ) -> Self {
        self.with(Write::new(item, refusal))
    }

    /// Adds a write that has no condition, or whose condition failing is a bug (answered 500).
    pub fn unconditional(self, item: TransactWriteItem) -> Self
    where
        E: 'static,
    {
        self.with(Write::unconditional(item))
    }

    /// Adds a write an app's store built.
    pub fn with(mut self, write: Write<E>) -> Self {
        self.writes.push(write);
        self
    }

    /// How many writes it makes.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether it makes no write (only the key's record is written).
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Refuses, before any call, what one transaction cannot hold.
    pub(crate) fn check_size(&self) -> Result<(), GuardError> {
        check_transaction(self.writes.iter().map(Write::item))
    }
}

/// Refuses, before any call, writes that with the key's item exceed one `TransactWriteItems`:
/// [`MAX_TRANSACTION_ITEMS`] items, or [`MAX_TRANSACTION_BYTES`] by the items' sizes as
/// DynamoDB counts them (an update by its key and values).
pub(crate) fn check_transaction<'a>(
    writes: impl ExactSizeIterator<Item = &'a TransactWriteItem>,
) -> Result<(), GuardError> {
    let count = writes.len();
    if count + 1 > MAX_TRANSACTION_ITEMS {
        return Err(GuardError::internal(format!(
            "{count} writes and the key's item exceed the {MAX_TRANSACTION_ITEMS} items of one \
             TransactWriteItems"
        )));
    }
    let bytes: usize = writes.map(crate::store::size::write_bytes).sum();
    if bytes > MAX_TRANSACTION_BYTES {
        return Err(GuardError::internal(format!(
            "writes of {bytes} bytes exceed the {MAX_TRANSACTION_BYTES} bytes of one \
             TransactWriteItems"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::ConditionCheck;

    fn check() -> TransactWriteItem {
        let c = ConditionCheck::builder()
            .table_name("t")
            .key("pk", crate::store::AttributeValue::S("a".into()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .unwrap();
        TransactWriteItem::builder().condition_check(c).build()
    }

    #[test]
    fn an_effect_over_one_transaction_is_refused_before_any_call() {
        let mut effect: Effect<GuardError> = Effect::json(201, &"ok");
        for _ in 0..99 {
            effect = effect.unconditional(check());
        }
        assert!(effect.check_size().is_ok());
        let effect = effect.unconditional(check());
        assert_eq!(effect.check_size(), Err(GuardError::internal("any")));
    }

    #[test]
    fn an_effect_over_four_megabytes_is_refused_before_any_call() {
        let put = |kb: usize| {
            let p = aws_sdk_dynamodb::types::Put::builder()
                .table_name("t")
                .item("pk", crate::store::AttributeValue::S("a".into()))
                .item(
                    "blob",
                    crate::store::AttributeValue::B(vec![0; kb * 1024].into()),
                )
                .build()
                .unwrap();
            TransactWriteItem::builder().put(p).build()
        };
        let mut effect: Effect<GuardError> = Effect::json(201, &"ok");
        for _ in 0..9 {
            effect = effect.unconditional(put(390));
        }
        assert!(effect.check_size().is_ok(), "3.4 MB fits");
        let effect = effect.unconditional(put(390));
        assert_eq!(effect.check_size(), Err(GuardError::internal("any")));
    }
}
