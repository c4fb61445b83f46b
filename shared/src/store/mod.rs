//! DynamoDB access: the narrow set of calls the guard and the two use cases make. Nothing here
//! builds an HTTP response; failures leave as [`ApiError`]s that say nothing of tables or SDKs.

pub mod accounts;
mod attrs;
pub mod clients;
mod failure;
pub mod idempotency;
pub mod nonces;
pub mod schema;
pub(crate) mod transact;
pub mod transfers;
mod warm_up;

use aws_sdk_dynamodb::Client;
use aws_smithy_http_client::tls;

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use crate::config::{DynamoDbTimeouts, Tables};
pub use transact::Cancelled;

#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    tables: Tables,
}

impl Store {
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    /// Builds the SDK client the standard way (credentials, region, and
    /// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` from the environment), with rustls on
    /// ring. Call once per cold start.
    pub async fn connect(tables: Tables, timeouts: DynamoDbTimeouts) -> Self {
        Self::new(sdk_client_with(None, timeouts).await, tables)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}

/// An SDK client with the default timeouts; `endpoint_url` overrides the environment (the CLI's
/// `--endpoint-url`).
pub async fn sdk_client(endpoint_url: Option<&str>) -> Client {
    sdk_client_with(endpoint_url, DynamoDbTimeouts::default()).await
}

/// An SDK client with these timeouts. The SDK's standard retry mode stays on (3 attempts,
/// exponential backoff with jitter, throttling and transient errors only); its attempts and
/// their backoff all fit in `timeouts.operation`.
pub async fn sdk_client_with(endpoint_url: Option<&str>, timeouts: DynamoDbTimeouts) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let timeout_config = TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.operation)
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeout_config);
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}
