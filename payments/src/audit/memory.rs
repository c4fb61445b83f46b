//! The auditor's memory, in its own table (`PaymentsTables::audit`): each balance change it
//! counted (a leg: operation, account, direction, at the account version the record carried)
//! and each stream record it finished checking. A stream delivers at least once and Lambda
//! retries a batch, so without it a redelivered record would be counted again, and an
//! operation applied twice could not be told from one record seen twice.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use aws_sdk_dynamodb::Client;
use replaysafe::store::attrs::{get_n, n, s};
use replaysafe::store::schema::TTL_ATTRIBUTE;

use super::AuditError;

/// How long a checked record's mark is kept: a stream keeps a record 24 hours, and a batch is
/// retried within that.
pub const CHECKED_MARK_SECONDS: i64 = 2 * 24 * 3600;

/// Which way a leg moved an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The balance went down.
    Debit,
    /// The balance went up.
    Credit,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Debit => "debit",
            Self::Credit => "credit",
        }
    }
}

/// What the memory said of a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Never seen: counted now.
    First,
    /// Seen at the same account version: the same stream record again.
    Redelivered,
    /// Seen at another version: the operation moved the account this way before.
    AppliedBefore {
        /// The version the first application left the account at.
        version: i64,
    },
}

/// The audit table on the app's SDK client.
#[derive(Debug, Clone)]
pub struct Memory {
    client: Client,
    table: String,
}

impl Memory {
    /// The table `table` on `client`.
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// Records that `operation` moved `account_id` in `direction`, leaving it at `version`,
    /// unless it is recorded already (one conditional put; what was there comes back with the
    /// refusal).
    pub async fn leg(
        &self,
        operation: &str,
        account_id: &str,
        direction: Direction,
        version: i64,
        now: i64,
    ) -> Result<Leg, AuditError> {
        let pk = format!("leg#{operation}#{account_id}#{}", direction.as_str());
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("version", n(version))
            .item("recorded_at", n(now))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Leg::First),
            Err(SdkError::ServiceError(e)) => match e.err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    let before = failed
                        .item()
                        .and_then(|item| get_n::<i64>(item, "version"))
                        .ok_or(AuditError::Unavailable(
                            "a leg's refusal carried no version".into(),
                        ))?;
                    Ok(if before == version {
                        Leg::Redelivered
                    } else {
                        Leg::AppliedBefore { version: before }
                    })
                }
                _ => Err(unavailable(SdkError::ServiceError(e))),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Whether the stream record `event_id` was checked to the end before.
    pub async fn was_checked(&self, event_id: &str) -> Result<bool, AuditError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("record#{event_id}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item.is_some())
    }

    /// Marks the stream record `event_id` as checked, until it can no longer come back.
    pub async fn checked(&self, event_id: &str, now: i64) -> Result<(), AuditError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("record#{event_id}")))
            .item(TTL_ATTRIBUTE, n(now + CHECKED_MARK_SECONDS))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Any SDK failure: the record could not be checked, so it is delivered again.
pub(super) fn unavailable<E, R>(e: SdkError<E, R>) -> AuditError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    AuditError::Unavailable(DisplayErrorContext(e).to_string())
}
