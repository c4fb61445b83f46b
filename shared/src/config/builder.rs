//! The checked way to change [`Config`]: every setter, then one validation.

use std::time::Duration;

use super::{
    fixed_authority, Auth, Config, ConfigError, DynamoDbTimeouts, ExpectedAuthority,
    SignatureProfile, Tables,
};

/// Changes [`Config`]'s defaults; [`ConfigBuilder::build`] refuses what
/// [`Config::validate`] refuses. Made by [`Config::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build`"]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    pub(super) fn new(config: Config) -> Self {
        Self { config }
    }

    /// The guard's tables and the names it writes in them.
    pub fn tables(mut self, tables: Tables) -> Self {
        self.config.tables = tables;
        self
    }

    /// `<prefix>clients`, `<prefix>idempotency` and `<prefix>nonces`, keeping the attribute
    /// names and key prefix set so far.
    pub fn table_prefix(mut self, prefix: &str) -> Self {
        let named = Tables::with_prefix(prefix);
        let tables = &mut self.config.tables;
        (tables.clients, tables.idempotency, tables.nonces) =
            (named.clients, named.idempotency, named.nonces);
        self
    }

    /// Put before every partition key value the guard writes: see [`Tables::key_prefix`].
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.tables.key_prefix = prefix.into();
        self
    }

    /// The partition key of the idempotency and nonces tables (`pk`).
    pub fn partition_key(mut self, name: impl Into<String>) -> Self {
        self.config.tables.partition_key = name.into();
        self
    }

    /// The TTL attribute of the idempotency and nonces tables (`expires_at`).
    pub fn ttl_attribute(mut self, name: impl Into<String>) -> Self {
        self.config.tables.expires_at = name.into();
        self
    }

    /// How far a signature's `created` may lie from now, whole seconds (300 s).
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.config.replay_window_seconds = seconds(window);
        self
    }

    /// How long a stored answer is replayed, whole seconds (24 h); at least
    /// `max(1 h, 2 × window + 60 s)`.
    pub fn idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.config.idempotency_ttl_seconds = seconds(ttl);
        self
    }

    /// How long a warm function trusts a client record it read (60 s).
    pub fn client_cache(mut self, ttl: Duration) -> Self {
        self.config.client_cache = ttl;
        self
    }

    /// Longer bodies are refused with 413 before anything else (64 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.config.max_body_bytes = limit;
        self
    }

    /// Attempts of one transaction while DynamoDB reports conflicts or throttling (4).
    pub fn transaction_attempts(mut self, attempts: u32) -> Self {
        self.config.transaction_attempts = attempts;
        self
    }

    /// The SDK timeouts of a client the guard builds itself.
    pub fn dynamodb_timeouts(mut self, timeouts: DynamoDbTimeouts) -> Self {
        self.config.dynamodb_timeouts = timeouts;
        self
    }

    /// The front door: [`Auth::Signatures`] (the default) or an API Gateway authorizer
    /// ([`Auth::jwt`], or [`Auth::Authorizer`] with where the principal is).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.config.auth = auth;
        self
    }

    /// The function's timeout (10 s): every request answers within it.
    pub fn function_timeout(mut self, timeout: Duration) -> Self {
        self.config.function_timeout = timeout;
        self
    }

    /// The base of every problem's `type` URI (`/problems/`): your API's, such as
    /// `https://example.com/problems/`.
    pub fn problem_type_base(mut self, base: impl Into<String>) -> Self {
        self.config.problem_type_base = base.into();
        self
    }

    /// What signatures must carry beyond the contract's minimum (nothing): see
    /// [`SignatureProfile`].
    pub fn signature_profile(mut self, profile: SignatureProfile) -> Self {
        self.config.signature_profile = profile;
        self
    }

    /// Every `Signature-Input` must carry `tag="<tag>"` (`SIGNATURE_TAG`); 1 to 128 printable
    /// ASCII characters.
    pub fn signature_tag(mut self, tag: impl Into<String>) -> Self {
        self.config.signature_profile.tag = Some(tag.into());
        self
    }

    /// Every signature must cover `"@authority"`, verified against the host the function was
    /// called on (`REQUIRE_AUTHORITY=true`): see [`ExpectedAuthority::CalledHost`].
    pub fn require_authority(mut self) -> Self {
        self.config.signature_profile.authority = Some(ExpectedAuthority::CalledHost);
        self
    }

    /// Every signature must cover `"@authority"`, verified against `host`
    /// (`SIGNATURE_AUTHORITY`), lowercased and without the default port 443:
    /// see [`ExpectedAuthority::Fixed`].
    ///
    /// ```
    /// use replaysafe::config::ExpectedAuthority;
    /// use replaysafe::Config;
    ///
    /// let config = Config::builder().signature_authority("API.Example.com").build()?;
    /// assert_eq!(
    ///     config.signature_profile.authority,
    ///     Some(ExpectedAuthority::Fixed("api.example.com".into()))
    /// );
    /// let url = Config::builder().signature_authority("https://api.example.com").build();
    /// assert_eq!(url.unwrap_err().name, "SIGNATURE_AUTHORITY");
    /// # Ok::<(), replaysafe::config::ConfigError>(())
    /// ```
    pub fn signature_authority(mut self, host: &str) -> Self {
        self.config.signature_profile.authority =
            Some(ExpectedAuthority::Fixed(fixed_authority(host)));
        self
    }

    /// The config, if [`Config::validate`] accepts it.
    pub fn build(self) -> Result<Config, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
