//! The guard's own tables (clients, nonces, idempotency) and the one transaction. Nothing here
//! builds an HTTP response; failures leave as [`GuardError`](crate::GuardError)s that say
//! nothing of tables or SDKs. Apps reuse [`attrs`], [`sdk_failure`] and [`sdk_client`] for
//! their own tables.

pub mod attrs;
pub mod clients;
mod failure;
pub mod grants;
pub mod idempotency;
pub mod nonces;
pub mod schema;
pub(crate) mod transact;
mod warm_up;

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_smithy_http_client::tls;

pub use attrs::Item;
pub use aws_sdk_dynamodb::types::AttributeValue;
pub use failure::sdk_failure;
pub use transact::Write;

use crate::config::{DynamoDbTimeouts, Tables};

/// The SDK client and the names of the guard's tables.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    tables: Tables,
}

impl Store {
    /// On a client of the caller's making (bring your own SDK client: its region, credentials,
    /// retries and timeouts), over the guard's `tables`. No call is made until a request.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use replaysafe::{Config, Guard, Store, SystemClock, Tables};
    ///
    /// # async fn init() {
    /// let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
    ///     .region("eu-west-1")
    ///     .load()
    ///     .await;
    /// let tables = Tables::with_prefix("shop-");
    /// let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), tables.clone());
    /// let guard = Guard::new(store, Config::new(tables), Arc::new(SystemClock));
    /// # let _ = guard;
    /// # }
    /// ```
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    /// Builds the SDK client the standard way (credentials, region, and
    /// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` from the environment), with rustls on
    /// ring. Call once per cold start.
    pub async fn connect(tables: Tables, timeouts: DynamoDbTimeouts) -> Self {
        Self::new(sdk_client_with(None, Some(timeouts)).await, tables)
    }

    /// The SDK client, for an app's own tables.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The guard's table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}

/// An SDK client with the SDK's own timeouts, for tools (the CLI's admin commands, tests'
/// table set-up); `endpoint_url` overrides the environment (the CLI's `--endpoint-url`).
pub async fn sdk_client(endpoint_url: Option<&str>) -> Client {
    sdk_client_with(endpoint_url, None).await
}

/// An SDK client, with `timeouts` when given: what a function serving requests needs, so a hung
/// call ends well inside its timeout. The SDK's standard retry mode stays on (3 attempts,
/// exponential backoff with jitter, throttling and transient errors only); its attempts and
/// their backoff all fit in `timeouts.operation`.
pub async fn sdk_client_with(
    endpoint_url: Option<&str>,
    timeouts: Option<DynamoDbTimeouts>,
) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(t) = timeouts {
        loader = loader.timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(t.connect)
                .operation_attempt_timeout(t.attempt)
                .operation_timeout(t.operation)
                .build(),
        );
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}
