//! The guard's own tables (clients, nonces, idempotency) and the one transaction. Nothing here
//! builds an HTTP response; failures leave as [`GuardError`](crate::GuardError)s that say
//! nothing of tables or SDKs. Apps reuse [`attrs`], [`sdk_failure`] and [`sdk_client`] for
//! their own tables.

pub mod attrs;
pub mod clients;
mod failure;
pub mod grants;
pub mod idempotency;
pub mod inspect;
pub mod keys;
mod leases;
pub mod nonces;
pub mod schema;
pub mod sealing;
pub mod size;
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
use sealing::DataKey;

/// The SDK client and the names of the guard's tables.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    tables: Tables,
    /// Timeouts that override the client's for the guard's calls: what is left of a request's
    /// time budget.
    limits: Option<DynamoDbTimeouts>,
    /// What HMAC secrets are sealed under in the clients table (see [`sealing`]).
    data_key: DataKey,
}

impl Store {
    /// On a client of the caller's making (bring your own SDK client: its region, credentials,
    /// retries and timeouts), over the guard's `tables`. No call is made until a request. A
    /// guard builds its own from [`GuardBuilder::sdk_client`](crate::guard::GuardBuilder::sdk_client);
    /// tools (table set-up, operator commands) make one directly.
    ///
    /// ```no_run
    /// use replaysafe::{Store, Tables};
    ///
    /// # async fn init() {
    /// let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
    ///     .region("eu-west-1")
    ///     .load()
    ///     .await;
    /// let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), Tables::with_prefix("shop-"));
    /// # let _ = store;
    /// # }
    /// ```
    /// Secrets are sealed under the development data key until
    /// [`Store::with_data_key`] says otherwise.
    pub fn new(client: Client, tables: Tables) -> Self {
        Self {
            client,
            tables,
            limits: None,
            data_key: DataKey::development(),
        }
    }

    /// The same store, sealing and opening HMAC secrets under `data_key` (see [`sealing`]).
    ///
    /// ```no_run
    /// use replaysafe::store::sealing::{DataKey, SecretSealer};
    /// use replaysafe::{Store, Tables};
    ///
    /// # async fn init() {
    /// let sdk = replaysafe::store::sdk_client(None).await;
    /// let store = Store::new(sdk, Tables::with_prefix("shop-"))
    ///     .with_data_key(DataKey::fixed(SecretSealer::new([7; 32])));
    /// # let _ = store;
    /// # }
    /// ```
    pub fn with_data_key(mut self, data_key: DataKey) -> Self {
        self.data_key = data_key;
        self
    }

    /// What HMAC secrets are sealed under.
    pub fn data_key(&self) -> &DataKey {
        &self.data_key
    }

    /// The same store, its calls bounded by `limits` (a request's remaining budget).
    pub(crate) fn within(&self, limits: DynamoDbTimeouts) -> Self {
        Self {
            limits: Some(limits),
            ..self.clone()
        }
    }

    /// The SDK config override that bounds a call by the store's limits, if it has any.
    fn bounded(&self) -> aws_sdk_dynamodb::config::Builder {
        let mut config = aws_sdk_dynamodb::config::Builder::default();
        if let Some(t) = self.limits {
            config = config.timeout_config(timeouts(t));
        }
        config
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

    /// The partition key value of a caller's item in the nonces or idempotency table:
    /// `<key prefix><principal>#<name>`. No principal contains '#' (see
    /// [`Principal`](crate::Principal)), so the split is unambiguous.
    fn owned_pk(&self, principal: &str, name: &str) -> AttributeValue {
        attrs::s(format!("{}{principal}#{name}", self.tables.key_prefix))
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
///
/// When the DynamoDB endpoint is plain `http://` (DynamoDB Local), the SDK gets a plain HTTP
/// connector: the HTTPS one loads the system's trust store (hundreds of certificate files,
/// milliseconds of CPU) when the client is built, for connections never made. Credentials then
/// come from the environment or a profile, or over plain HTTP (container, IMDS); an `http://`
/// endpoint with credentials that need HTTPS (web identity, SSO) is not supported.
pub async fn sdk_client_with(
    endpoint_url: Option<&str>,
    timeouts: Option<DynamoDbTimeouts>,
) -> Client {
    let http = if endpoint_is_plain_http(endpoint_url, |name| std::env::var(name).ok()) {
        aws_smithy_http_client::Builder::new().build_http()
    } else {
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https()
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(t) = timeouts {
        loader = loader.timeout_config(self::timeouts(t));
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

fn timeouts(t: DynamoDbTimeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(t.connect)
        .operation_attempt_timeout(t.attempt)
        .operation_timeout(t.operation)
        .build()
}

/// Whether the DynamoDB the SDK will call is a local one, over `http://` (DynamoDB Local):
/// `endpoint_url`, else the environment's (see [`sdk_client_with`]). An operator's tool refuses
/// to seal secrets under the development data key for anything else.
pub fn dynamodb_is_local(endpoint_url: Option<&str>) -> bool {
    endpoint_is_plain_http(endpoint_url, |name| std::env::var(name).ok())
}

/// Whether the endpoint the SDK will use for DynamoDB is `http://`: `endpoint_url`, else
/// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL` (the SDK's order; both ignored under
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), read through `env`. Anything else (none, a
/// profile's, `https://`) keeps the HTTPS connector.
fn endpoint_is_plain_http(
    endpoint_url: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> bool {
    let env = |name| env(name).filter(|v: &String| !v.is_empty());
    let ignored =
        env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let url = match endpoint_url {
        Some(url) => Some(url.to_owned()),
        None if ignored => None,
        None => env("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| env("AWS_ENDPOINT_URL")),
    };
    url.is_some_and(|u| {
        u.get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    })
}

#[cfg(test)]
mod tests {
    use super::endpoint_is_plain_http;

    fn plain(arg: Option<&str>, vars: &[(&str, &str)]) -> bool {
        endpoint_is_plain_http(arg, |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn plain_http_only_when_the_effective_endpoint_is_http() {
        let local = "http://127.0.0.1:8000";
        assert!(!plain(None, &[]));
        assert!(plain(Some(local), &[]));
        assert!(plain(Some("HTTP://localhost"), &[]));
        assert!(!plain(
            Some("https://dynamodb.eu-west-1.amazonaws.com"),
            &[("AWS_ENDPOINT_URL", local)]
        ));
        assert!(plain(None, &[("AWS_ENDPOINT_URL_DYNAMODB", local)]));
        assert!(plain(None, &[("AWS_ENDPOINT_URL", local)]));
        // The service's own variable wins over the global one; an empty one is unset.
        assert!(!plain(
            None,
            &[
                ("AWS_ENDPOINT_URL_DYNAMODB", "https://x"),
                ("AWS_ENDPOINT_URL", local)
            ]
        ));
        assert!(plain(
            None,
            &[
                ("AWS_ENDPOINT_URL_DYNAMODB", ""),
                ("AWS_ENDPOINT_URL", local)
            ]
        ));
        // Ignored configured endpoints: the SDK goes to AWS, over HTTPS; an explicit one stays.
        let ignore = ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        assert!(!plain(
            None,
            &[ignore, ("AWS_ENDPOINT_URL_DYNAMODB", local)]
        ));
        assert!(plain(Some(local), &[ignore]));
    }
}
