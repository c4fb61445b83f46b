//! The payout queue as the SAM stack declares it: a standard queue whose messages move to a
//! dead-letter queue after [`MAX_RECEIVE_COUNT`] receives; and the SQS client the local tools
//! use for it (rustls on ring, as the DynamoDB client).

use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use serde::Serialize;

/// Receives before SQS moves a message to the dead-letter queue (the stack's RedrivePolicy).
pub const MAX_RECEIVE_COUNT: u32 = 5;
/// How long the dead-letter queue keeps a message: SQS's maximum, 14 days, so a message that
/// failed near the end of the main queue's retention is still there to look at.
const DLQ_RETENTION_SECONDS: u32 = 14 * 24 * 3600;

/// Why the queues could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// An SQS call failed (unreachable endpoint, refused request).
    #[error("{call} {queue}: {message}")]
    Sqs {
        call: &'static str,
        queue: String,
        message: String,
    },
    /// SQS answered without a field it always sends.
    #[error("{call} {queue}: the answer has no {field}")]
    Missing {
        call: &'static str,
        queue: String,
        field: &'static str,
    },
}

impl QueueError {
    fn sqs(call: &'static str, queue: &str, e: impl std::error::Error) -> Self {
        QueueError::Sqs {
            call,
            queue: queue.to_owned(),
            message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        }
    }
}

/// The payout queue and its dead-letter queue, as `replaysafe admin create-queues` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutQueues {
    pub queue_url: String,
    pub dlq_url: String,
    pub queue_arn: String,
    pub dlq_arn: String,
}

/// An SQS client for tools: credentials and region the SDK's standard way, `endpoint_url`
/// over `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` when given.
pub async fn sqs_client(endpoint_url: Option<&str>) -> Client {
    Client::new(&crate::sdk_config(endpoint_url).await)
}

/// What [`create_payout_queues`] did with each queue: `(name, created)`, DLQ first.
pub type Created = Vec<(String, bool)>;

/// Creates `<prefix>payouts-dlq` and `<prefix>payouts` (redrive to the first after
/// [`MAX_RECEIVE_COUNT`] receives, `visibility_timeout` seconds), keeping any that exist as they
/// are: SQS refuses a CreateQueue whose attributes differ from the existing queue's.
pub async fn create_payout_queues(
    sqs: &Client,
    prefix: &str,
    visibility_timeout: u32,
) -> Result<(PayoutQueues, Created), QueueError> {
    let dlq_name = format!("{prefix}payouts-dlq");
    let queue_name = format!("{prefix}payouts");
    let (dlq_url, dlq_created) = ensure_queue(
        sqs,
        &dlq_name,
        &[(
            QueueAttributeName::MessageRetentionPeriod,
            DLQ_RETENTION_SECONDS.to_string(),
        )],
    )
    .await?;
    let dlq_arn = queue_arn(sqs, &dlq_url).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
    });
    let (queue_url, queue_created) = ensure_queue(
        sqs,
        &queue_name,
        &[
            (
                QueueAttributeName::VisibilityTimeout,
                visibility_timeout.to_string(),
            ),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await?;
    let queue_arn = queue_arn(sqs, &queue_url).await?;
    let queues = PayoutQueues {
        queue_url,
        dlq_url,
        queue_arn,
        dlq_arn,
    };
    Ok((
        queues,
        vec![(dlq_name, dlq_created), (queue_name, queue_created)],
    ))
}

/// The URL of queue `name`, creating it with `attributes` when it does not exist; and whether
/// it was created.
async fn ensure_queue(
    sqs: &Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<(String, bool), QueueError> {
    match sqs.get_queue_url().queue_name(name).send().await {
        Ok(found) => {
            let url = found.queue_url.ok_or_else(|| QueueError::Missing {
                call: "GetQueueUrl",
                queue: name.to_owned(),
                field: "QueueUrl",
            })?;
            return Ok((url, false));
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) => {}
        Err(e) => return Err(QueueError::sqs("GetQueueUrl", name, e)),
    }
    let mut create = sqs.create_queue().queue_name(name);
    for (attribute, value) in attributes {
        create = create.attributes(attribute.clone(), value);
    }
    let created = create
        .send()
        .await
        .map_err(|e| QueueError::sqs("CreateQueue", name, e))?;
    let url = created.queue_url.ok_or_else(|| QueueError::Missing {
        call: "CreateQueue",
        queue: name.to_owned(),
        field: "QueueUrl",
    })?;
    Ok((url, true))
}

/// The ARN of the queue at `url` (what event source mappings and redrive policies name).
pub async fn queue_arn(sqs: &Client, url: &str) -> Result<String, QueueError> {
    let answer = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| QueueError::sqs("GetQueueAttributes", url, e))?;
    answer
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| QueueError::Missing {
            call: "GetQueueAttributes",
            queue: url.to_owned(),
            field: "QueueArn",
        })
}
