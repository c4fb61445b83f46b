//! What a failed SDK call means for the client: retry later (503) or our fault (500). The SDK's
//! own message goes to the log, never to the response.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::GuardError;

const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
];

/// What a failed SDK call (`operation` names it in the log) becomes: [`GuardError::Unavailable`]
/// (503, retry) for timeouts, dispatch and response failures and DynamoDB's throttling, internal
/// and transaction-conflict errors; [`GuardError::Internal`] (500) for anything else, carrying the
/// SDK's error to the edge's log. A transient failure is logged here, as a warning. The SDK's
/// words never reach a response, so an app can use this for its own tables.
pub fn sdk_failure<E, R>(operation: &'static str, err: SdkError<E, R>) -> GuardError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => e.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c)),
        _ => false,
    };
    let code = err.code().unwrap_or("none").to_owned();
    if transient {
        tracing::warn!(operation, code, error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "dynamodb unavailable");
        GuardError::Unavailable
    } else {
        let error = aws_sdk_dynamodb::error::DisplayErrorContext(&err);
        GuardError::internal(format!("dynamodb {operation} failed ({code}): {error}"))
    }
}
