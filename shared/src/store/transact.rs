//! One `TransactWriteItems`, with the retries DynamoDB asks for: a conflict with another
//! transaction or throttling is transient; a failed condition is an answer.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};

use super::attrs::Item;
use super::failure::sdk_failure;
use super::Store;
use crate::error::{Error, GuardError};

/// One of an app's writes for an [`Effect`](crate::Effect), with the refusal it stands for when
/// its condition fails. The refusal is given the item as it was (`None` when there was none), as
/// `ReturnValuesOnConditionCheckFailure = ALL_OLD` hands it back. An app's store builds these
/// for the writes it lends several endpoints.
///
/// ```
/// use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
/// use replaysafe::store::{AttributeValue, Write};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("the order exists")]
/// struct Exists;
///
/// let put = Put::builder()
///     .table_name("orders")
///     .item("order_id", AttributeValue::S("ord_1".into()))
///     .condition_expression("attribute_not_exists(order_id)")
///     .build()
///     .unwrap();
/// let write = Write::new(TransactWriteItem::builder().put(put).build(), |_old| Exists);
/// # let _ = write;
/// ```
pub struct Write<E> {
    pub(crate) item: TransactWriteItem,
    pub(crate) refusal: Refusal<E>,
}

/// What a failed condition means, given the item as it was.
type Refusal<E> = Box<dyn Fn(Option<&Item>) -> Error<E> + Send + Sync>;

impl<E> Write<E> {
    /// `item` (a put, update, delete or condition check, with `ALL_OLD` on failure if the
    /// refusal needs the old item), refused as `refusal` says when its condition fails.
    pub fn new(
        item: TransactWriteItem,
        refusal: impl Fn(Option<&Item>) -> E + Send + Sync + 'static,
    ) -> Self {
        Self {
            item,
            refusal: Box::new(move |old| Error::App(refusal(old))),
        }
    }

    /// `item` with no condition, or one that fails only through a bug: a failure is a 500.
    pub fn unconditional(item: TransactWriteItem) -> Self {
        Self {
            item,
            refusal: Box::new(|_| {
                Error::Guard(GuardError::internal(
                    "an unconditional write failed its condition",
                ))
            }),
        }
    }

    /// The item this write puts in the transaction.
    pub fn item(&self) -> &TransactWriteItem {
        &self.item
    }
}

/// The transaction was cancelled; one reason per item, in the order the items were given.
#[derive(Debug, Clone)]
pub(crate) struct Cancelled(pub Vec<CancellationReason>);

impl Cancelled {
    pub fn codes(&self) -> Vec<&str> {
        (0..self.0.len()).map(|i| self.code(i)).collect()
    }

    pub fn code(&self, index: usize) -> &str {
        self.0.get(index).and_then(|r| r.code()).unwrap_or("None")
    }

    pub fn failed_condition(&self, index: usize) -> bool {
        self.code(index) == "ConditionalCheckFailed"
    }

    /// The item as it was when its condition failed.
    pub fn old_item(&self, index: usize) -> Option<&Item> {
        self.0.get(index).and_then(|r| r.item())
    }

    pub fn is_transient(&self) -> bool {
        self.0.iter().any(|r| {
            matches!(
                r.code(),
                Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
            )
        })
    }
}

pub(crate) enum TransactError {
    Cancelled(Cancelled),
    Failed(GuardError),
}

impl Store {
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), TransactError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .customize()
            .config_override(self.bounded())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => Err(
                    TransactError::Cancelled(Cancelled(c.cancellation_reasons().to_vec())),
                ),
                _ => Err(TransactError::Failed(sdk_failure(
                    "transact_write_items",
                    e,
                ))),
            },
        }
    }
}
