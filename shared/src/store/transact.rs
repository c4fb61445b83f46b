//! One `TransactWriteItems`, with the retries DynamoDB asks for: a conflict with another
//! transaction or throttling is transient; a failed condition is an answer.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};

use super::failure::sdk_failure;
use super::Store;
use crate::error::ApiError;

/// The transaction was cancelled; one reason per item, in the order the items were given.
#[derive(Debug, Clone)]
pub struct Cancelled(pub Vec<CancellationReason>);

impl Cancelled {
    pub fn code(&self, index: usize) -> &str {
        self.0.get(index).and_then(|r| r.code()).unwrap_or("None")
    }

    pub fn failed_condition(&self, index: usize) -> bool {
        self.code(index) == "ConditionalCheckFailed"
    }

    /// The item as it was when its condition failed.
    pub fn old_item(
        &self,
        index: usize,
    ) -> Option<&std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
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

pub enum TransactError {
    Cancelled(Cancelled),
    Failed(ApiError),
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
