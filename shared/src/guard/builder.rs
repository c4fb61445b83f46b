//! Assembling a [`Guard`]: a validated config, an SDK client (yours or one it builds), and the
//! parts an app may swap: the clock, where keys come from, the signature algorithm, where its
//! metrics go.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;

use super::Guard;
use crate::auth::{Ed25519, HmacSha256, KeyCache, KeySource, SignatureAlgorithm};
use crate::clock::{Clock, SystemClock};
use crate::config::SecretsAtRest;
use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::store::sealing::DataKey;
use crate::store::{sdk_client_with, Store};

/// Builds a [`Guard`]; made by [`Guard::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use replaysafe::{Config, Guard};
///
/// # async fn init() -> Result<(), replaysafe::config::ConfigError> {
/// let config = Config::builder()
///     .table_prefix("shop-")
///     .replay_window(Duration::from_secs(120))
///     .build()?;
/// // Bring your own SDK client (region, credentials, retries), or let the guard build one with
/// // `config.dynamodb_timeouts`.
/// let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let guard = Guard::builder(config)
///     .sdk_client(aws_sdk_dynamodb::Client::new(&sdk))
///     .build()
///     .await?;
/// # let _ = guard;
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until `build`"]
pub struct GuardBuilder {
    config: Config,
    client: Option<Client>,
    clock: Arc<dyn Clock>,
    keys: Option<Arc<dyn KeySource>>,
    algorithms: Vec<Arc<dyn SignatureAlgorithm>>,
    warm_up: Option<bool>,
    data_key: Option<DataKey>,
    metrics: Option<Metrics>,
    #[cfg(feature = "kms")]
    kms: Option<aws_sdk_kms::Client>,
}

impl Guard {
    /// A builder over `config`, with the system clock, keys from the clients table and
    /// HMAC-SHA256 and Ed25519 as the algorithms, until told otherwise.
    pub fn builder(config: Config) -> GuardBuilder {
        GuardBuilder {
            config,
            client: None,
            clock: Arc::new(SystemClock),
            keys: None,
            algorithms: vec![Arc::new(HmacSha256), Arc::new(Ed25519)],
            warm_up: None,
            data_key: None,
            metrics: None,
            #[cfg(feature = "kms")]
            kms: None,
        }
    }
}

impl GuardBuilder {
    /// The SDK client for the guard's tables (and, through [`Store::client`], the app's).
    /// Without one, [`GuardBuilder::build`] builds one from the environment with the config's
    /// timeouts, on rustls and ring.
    pub fn sdk_client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Where the guard reads the time.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where keys come from instead of the clients table: Secrets Manager, SSM, a file. The
    /// guard still caches them for [`Config::client_cache`].
    pub fn keys(mut self, keys: impl KeySource + 'static) -> Self {
        self.keys = Some(Arc::new(keys));
        self
    }

    /// One more signature algorithm, for the keys whose `alg` is its name; it replaces the one
    /// of the same name (HMAC-SHA256 is `hmac-sha256`).
    pub fn algorithm(mut self, algorithm: impl SignatureAlgorithm + 'static) -> Self {
        self.algorithms.retain(|a| a.name() != algorithm.name());
        self.algorithms.push(Arc::new(algorithm));
        self
    }

    /// The data key HMAC secrets are sealed under, instead of the one [`Config::secrets`]
    /// names.
    pub fn data_key(mut self, data_key: DataKey) -> Self {
        self.data_key = Some(data_key);
        self
    }

    /// Where the guard's metric documents go (see [`crate::metrics`]), instead of
    /// [`Metrics::from_env`] (stdout in Lambda, nowhere elsewhere).
    ///
    /// ```
    /// use replaysafe::metrics::{Metrics, Scheme};
    /// use replaysafe::{Config, Guard};
    ///
    /// let builder = Guard::builder(Config::builder().build().unwrap())
    ///     .metrics(Metrics::stdout(Scheme::new("shop", "orders-api")));
    /// # drop(builder);
    /// ```
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The KMS client that decrypts [`Config::secrets`]' data key, instead of one built from
    /// the environment (feature `kms`).
    #[cfg(feature = "kms")]
    pub fn kms_client(mut self, client: aws_sdk_kms::Client) -> Self {
        self.kms = Some(client);
        self
    }

    /// Whether `build` makes one read before returning, so the first request does not pay for
    /// the SDK's lazy set-up (see [`Store::warm_up`]). On by default with signatures and the
    /// clients table as the key source, off otherwise (the read is on the clients table, which
    /// such a function may not be granted). The warm-up also opens the data key (with KMS, its
    /// one `Decrypt`), in the init phase rather than on the first request.
    pub fn warm_up(mut self, warm_up: bool) -> Self {
        self.warm_up = Some(warm_up);
        self
    }

    /// The guard, if [`Config::validate`] accepts the config: the only way to make one.
    pub async fn build(self) -> Result<Guard, ConfigError> {
        self.config.validate()?;
        Ok(self.assemble().await)
    }

    /// The guard over a config [`Config::validate`] may refuse: for tests that stage what no
    /// deployment may have (a retention of a minute, to see a record expire).
    #[cfg(feature = "testing")]
    pub async fn build_unchecked(self) -> Guard {
        self.assemble().await
    }

    async fn assemble(self) -> Guard {
        let client = match self.client {
            Some(client) => client,
            None => sdk_client_with(None, Some(self.config.dynamodb_timeouts)).await,
        };
        let data_key = match (self.data_key, &self.config.secrets) {
            (Some(data_key), _) => data_key,
            (None, SecretsAtRest::Development) => DataKey::development(),
            #[cfg(feature = "kms")]
            (None, SecretsAtRest::Kms { encrypted_data_key }) => {
                let kms = match self.kms {
                    Some(kms) => kms,
                    None => crate::store::sealing::kms_client().await,
                };
                DataKey::kms(kms, encrypted_data_key.clone())
            }
            // `Config::validate` refuses it without the feature; `build_unchecked` gets here.
            #[cfg(not(feature = "kms"))]
            (None, SecretsAtRest::Kms { .. }) => {
                tracing::error!("SECRETS_DATA_KEY needs the `kms` feature: secrets will not open");
                DataKey::fixed(crate::store::sealing::SecretSealer::new(rand::random()))
            }
        };
        if data_key.is_development() && crate::config::in_lambda() {
            tracing::warn!("client secrets are sealed under the DEVELOPMENT data key");
        }
        let store = Store::new(client, self.config.tables.clone()).with_data_key(data_key);
        let signed = self.config.auth == crate::config::Auth::Signatures;
        if self.warm_up.unwrap_or(signed && self.keys.is_none()) {
            let open = async {
                // Logged where it failed; the first request that needs it tries again.
                let _ = store.data_key().sealer().await;
            };
            tokio::join!(store.warm_up(), open);
        }
        let keys = self.keys.unwrap_or_else(|| Arc::new(store.clone()));
        Guard {
            keys: KeyCache::new(keys, self.config.client_cache),
            store,
            config: self.config,
            clock: self.clock,
            algorithms: self.algorithms,
            metrics: self.metrics.unwrap_or_else(Metrics::from_env),
        }
    }
}
