//! Typed configuration, read once at cold start. A bad value fails the cold start, not a request.

mod builder;

use std::time::Duration;

use thiserror::Error;

pub use builder::ConfigBuilder;

/// The guard's three tables, and how it names what it writes in two of them. Tests build these
/// from a fresh prefix; functions read them from the env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// Who may sign: one item per key, a client's own item its first key (read by the default
    /// [`KeySource`](crate::auth::KeySource); the layout is in [`store::keys`](crate::store::keys)).
    pub clients: String,
    /// One item per (client, key): a success's record or a refusal's fence.
    pub idempotency: String,
    /// One item per (client, nonce) while the nonce could still pass freshness.
    pub nonces: String,
    /// The partition key (a string) of the idempotency and nonces tables: `pk`.
    pub partition_key: String,
    /// The attribute of those tables that DynamoDB's TTL deletes items by: `expires_at`.
    pub expires_at: String,
    /// Put before every partition key value the guard writes (empty by default), so that its
    /// items can live in tables an app also uses, say `replaysafe#`.
    pub key_prefix: String,
}

impl Tables {
    /// `<prefix>clients`, `<prefix>idempotency`, `<prefix>nonces`, keyed by `pk`, expiring by
    /// `expires_at`, with no key prefix.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            clients: format!("{prefix}clients"),
            idempotency: format!("{prefix}idempotency"),
            nonces: format!("{prefix}nonces"),
            partition_key: "pk".into(),
            expires_at: crate::store::schema::TTL_ATTRIBUTE.into(),
            key_prefix: String::new(),
        }
    }

    /// `TABLE_PREFIX` (default `replaysafe-`) names all three; `CLIENTS_TABLE`,
    /// `IDEMPOTENCY_TABLE` and `NONCES_TABLE` override one each (SAM sets these);
    /// `GUARD_PARTITION_KEY`, `GUARD_TTL_ATTRIBUTE` and `GUARD_KEY_PREFIX` override the names.
    pub fn from_env() -> Self {
        Self::with_prefix_and_env(&table_prefix_from_env())
    }

    /// `prefix` names all three; the env vars of [`Tables::from_env`] override.
    pub fn with_prefix_and_env(prefix: &str) -> Self {
        let base = Self::with_prefix(prefix);
        Self {
            clients: env_or("CLIENTS_TABLE", base.clients),
            idempotency: env_or("IDEMPOTENCY_TABLE", base.idempotency),
            nonces: env_or("NONCES_TABLE", base.nonces),
            partition_key: env_or("GUARD_PARTITION_KEY", base.partition_key),
            expires_at: env_or("GUARD_TTL_ATTRIBUTE", base.expires_at),
            key_prefix: env_or("GUARD_KEY_PREFIX", base.key_prefix),
        }
    }
}

/// `TABLE_PREFIX`, or `replaysafe-`.
pub fn table_prefix_from_env() -> String {
    std::env::var("TABLE_PREFIX").unwrap_or_else(|_| "replaysafe-".into())
}

/// The environment variable `var`, or `default`.
pub fn env_or(var: &str, default: String) -> String {
    std::env::var(var).unwrap_or(default)
}

/// How callers are authenticated: the guard's front door. A deployment setting, never chosen
/// by a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// RFC 9421 signatures with client keys, nonces and a freshness window (`AUTH_MODE=signature`,
    /// the default).
    Signatures,
    /// API Gateway authenticated the caller (a JWT, IAM or Lambda authorizer); the principal is
    /// the string at `principal`, a JSON pointer into the request context's `authorizer`
    /// object: `/jwt/claims/sub` for a JWT authorizer (`AUTH_MODE=jwt`), `/iam/userArn` for
    /// IAM, `/lambda/<field>` for a Lambda authorizer's context.
    Authorizer {
        /// Where the principal is, e.g. `/jwt/claims/sub`.
        principal: String,
    },
}

impl Auth {
    /// Behind an API Gateway JWT authorizer: the principal is the token's `sub`.
    pub fn jwt() -> Self {
        Self::Authorizer {
            principal: "/jwt/claims/sub".into(),
        }
    }
}

/// What a signature must carry beyond the contract's minimum: the deployment's profile
/// (docs/guard.md, "Profiles"). Both parts are off by default. A request that misses one is
/// refused 401 `signature-invalid` at the signature check, before its key is looked up or its
/// nonce consumed. Behind an authorizer ([`Auth::Authorizer`]) signatures are not read, so a
/// profile does nothing there.
///
/// ```
/// use replaysafe::config::{ExpectedAuthority, SignatureProfile};
/// use replaysafe::Config;
///
/// let config = Config::builder()
///     .signature_tag("payments-prod")
///     .require_authority()
///     .build()?;
/// assert_eq!(
///     config.signature_profile,
///     SignatureProfile {
///         tag: Some("payments-prod".into()),
///         authority: Some(ExpectedAuthority::CalledHost),
///     }
/// );
/// assert_eq!(Config::builder().build()?.signature_profile, SignatureProfile::default());
/// # Ok::<(), replaysafe::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureProfile {
    /// `SIGNATURE_TAG`: the `tag` parameter every `Signature-Input` must carry, exactly. None
    /// (the default): a tag is neither required nor compared.
    pub tag: Option<String>,
    /// `REQUIRE_AUTHORITY` or `SIGNATURE_AUTHORITY`: every signature must cover
    /// `"@authority"`, verified against this host. None (the default): `"@authority"` is
    /// verified when a client covers it, never required, so a request captured against one
    /// deployment can be replayed against another that knows the same key.
    pub authority: Option<ExpectedAuthority>,
}

/// The host a required `"@authority"` is verified against: the value the server puts in the
/// signature base, so a signature made for any other host does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedAuthority {
    /// `REQUIRE_AUTHORITY=true`: the host the function was called on, API Gateway's
    /// `requestContext.domainName`, else the `Host` header
    /// ([`Incoming::authority`](crate::http::Incoming::authority)).
    CalledHost,
    /// `SIGNATURE_AUTHORITY=api.example.com`: this host whatever the request names, for a
    /// function behind a proxy that rewrites `Host` (CloudFront, a load balancer). Lowercase,
    /// without the default port 443.
    Fixed(String),
}

/// What HMAC secrets are sealed under in the clients table (see
/// [`store::sealing`](crate::store::sealing)): `SECRETS_DATA_KEY` and `SECRETS_MODE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsAtRest {
    /// The fixed, public [development data key](crate::store::sealing::DEVELOPMENT_DATA_KEY):
    /// `make run` and the tests. [`Config::from_env`] refuses it in Lambda unless
    /// `SECRETS_MODE=dev` says so (a local emulator).
    Development,
    /// `SECRETS_DATA_KEY`: a KMS data key in its encrypted form (the ciphertext blob, decoded
    /// from base64), decrypted by KMS once per warm function. Needs the feature `kms`.
    Kms {
        /// The ciphertext blob: not secret without `kms:Decrypt` on its key.
        encrypted_data_key: Vec<u8>,
    },
}

impl SecretsAtRest {
    /// From `SECRETS_DATA_KEY` and `SECRETS_MODE` (read through `env`): a data key when the
    /// first is set (base64 of the KMS ciphertext blob); else the development key when
    /// `SECRETS_MODE=dev`, or when `in_lambda` is false; else refused: a function deployed
    /// without its data key must not start on the development key.
    ///
    /// ```
    /// use replaysafe::config::SecretsAtRest;
    ///
    /// let env = |vars: &'static [(&str, &str)]| {
    ///     move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    /// };
    /// assert_eq!(SecretsAtRest::from_vars(env(&[]), false).unwrap(), SecretsAtRest::Development);
    /// assert_eq!(SecretsAtRest::from_vars(env(&[]), true).unwrap_err().name, "SECRETS_DATA_KEY");
    /// let dev = env(&[("SECRETS_MODE", "dev")]);
    /// assert_eq!(SecretsAtRest::from_vars(dev, true).unwrap(), SecretsAtRest::Development);
    /// let kms = SecretsAtRest::from_vars(env(&[("SECRETS_DATA_KEY", "AQID")]), true).unwrap();
    /// assert_eq!(kms, SecretsAtRest::Kms { encrypted_data_key: vec![1, 2, 3] });
    /// ```
    pub fn from_vars(
        env: impl Fn(&str) -> Option<String>,
        in_lambda: bool,
    ) -> Result<Self, ConfigError> {
        use base64::Engine;
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mode = set("SECRETS_MODE");
        match (set("SECRETS_DATA_KEY"), mode.as_deref()) {
            (Some(blob), None | Some("kms")) => base64::engine::general_purpose::STANDARD
                .decode(blob.trim())
                .ok()
                .filter(|b| !b.is_empty())
                .map(|encrypted_data_key| SecretsAtRest::Kms { encrypted_data_key })
                .ok_or(ConfigError {
                    name: "SECRETS_DATA_KEY",
                    value: blob,
                    why: "not base64 of a KMS ciphertext blob",
                }),
            (Some(_), Some("dev")) => Err(ConfigError {
                name: "SECRETS_MODE",
                value: "dev".into(),
                why: "SECRETS_DATA_KEY is set too: one or the other",
            }),
            (None, Some("dev")) => Ok(SecretsAtRest::Development),
            (None, None) if !in_lambda => Ok(SecretsAtRest::Development),
            (None, None | Some("kms")) => Err(ConfigError {
                name: "SECRETS_DATA_KEY",
                value: String::new(),
                why: "unset in Lambda: set it (`replaysafe admin create-data-key`), or \
                      SECRETS_MODE=dev in a local emulator",
            }),
            (_, Some(other)) => Err(ConfigError {
                name: "SECRETS_MODE",
                value: other.to_owned(),
                why: "not `kms` or `dev`",
            }),
        }
    }
}

/// Whether this process is a Lambda function (or an emulator of one): the runtime sets
/// `AWS_LAMBDA_FUNCTION_NAME`.
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some_and(|v| !v.is_empty())
}

/// The guard's settings. [`Config::builder`] and [`Config::from_env`] check them (see
/// [`Config::validate`]); [`Config::new`] gives the defaults. Whatever a config holds, a guard
/// is only built from one that [`Config::validate`] accepts.
#[derive(Debug, Clone)]
pub struct Config {
    /// The front door: signatures or an API Gateway authorizer.
    pub auth: Auth,
    /// The guard's tables.
    pub tables: Tables,
    /// `REPLAY_WINDOW_SECONDS`: how far `created` may be from now.
    pub replay_window_seconds: i64,
    /// `IDEMPOTENCY_TTL_SECONDS`: how long a stored response is replayed.
    pub idempotency_ttl_seconds: i64,
    /// `CLIENT_CACHE_SECONDS`: how long a warm function trusts a key it read. A revoked key is
    /// refused at the latest this long after revocation; an expired key at its expiry.
    pub client_cache: Duration,
    /// Bodies above this are refused with 413 before anything else.
    pub max_body_bytes: usize,
    /// Attempts of one transaction when DynamoDB reports a conflict or throttling, while the
    /// request's time budget lasts.
    pub transaction_attempts: u32,
    /// How long the SDK may spend on one DynamoDB call, its own retries included, and on one
    /// attempt of it. No call starts that could outlive the request's budget (see
    /// [`Config::function_timeout`]), so a hung call is answered 503 `unavailable` with
    /// `Retry-After`, not by API Gateway's bare 5xx.
    pub dynamodb_timeouts: DynamoDbTimeouts,
    /// `FUNCTION_TIMEOUT_SECONDS`: the function's timeout (10 s in `template.yaml`). A request
    /// stops calling DynamoDB in time to answer within it (or within Lambda's own deadline,
    /// when sooner); it must leave room for the three calls a POST may need in sequence.
    pub function_timeout: Duration,
    /// The base of every problem's `type` URI: `<base><code>`.
    pub problem_type_base: String,
    /// `SIGNATURE_TAG`, `REQUIRE_AUTHORITY`, `SIGNATURE_AUTHORITY`: what signatures must carry
    /// beyond the contract's minimum; nothing by default.
    pub signature_profile: SignatureProfile,
    /// `SECRETS_DATA_KEY`, `SECRETS_MODE`: what HMAC secrets are sealed under.
    pub secrets: SecretsAtRest,
}

/// The SDK's timeouts for DynamoDB calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoDbTimeouts {
    /// To open a connection.
    pub connect: Duration,
    /// One attempt of a call.
    pub attempt: Duration,
    /// A call, its retries and their backoff included.
    pub operation: Duration,
}

impl Default for DynamoDbTimeouts {
    /// A DynamoDB call takes milliseconds; 1 s per attempt leaves room for the SDK's standard
    /// retries (3 attempts) inside 2.5 s per call.
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(500),
            attempt: Duration::from_secs(1),
            operation: Duration::from_millis(2500),
        }
    }
}

/// The shortest `IDEMPOTENCY_TTL_SECONDS` accepted, whatever the window: the client crate
/// retries one operation for up to 300 s, and a caller may resume a key it persisted.
pub const MIN_IDEMPOTENCY_TTL_SECONDS: i64 = 3600;

/// The shortest `IDEMPOTENCY_TTL_SECONDS` that is safe with `replay_window_seconds`: an attempt
/// signed before a commit, with a `created` up to a window ahead of the clock, can arrive up to
/// two windows after it; the record must still be there to answer it, or the key would execute
/// twice. The 60 s cover the function's run time (its timeout is 10 s).
pub fn min_idempotency_ttl(replay_window_seconds: i64) -> i64 {
    (2 * replay_window_seconds + 60).max(MIN_IDEMPOTENCY_TTL_SECONDS)
}

/// A setting the cold start refuses, with why.
#[derive(Debug, Error)]
#[error("invalid configuration: {name} = {value:?} ({why})")]
pub struct ConfigError {
    /// The setting, by the name of its environment variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// Why it was refused.
    pub why: &'static str,
}

/// Lambda refuses a synchronous invocation's payload above 6 MB: a larger limit means nothing.
pub const MAX_BODY_BYTES_LIMIT: usize = 6 * 1024 * 1024;

/// Attribute names the guard writes beside the partition key and expiry; neither may take one.
const FIXED_ATTRIBUTES: [&str; 10] = [
    "fingerprint",
    "status",
    "headers",
    "body",
    "request_id",
    "fence",
    "refusal_status",
    "refusal_code",
    "refusal_title",
    "refusal_detail",
];

impl Config {
    /// The defaults: signatures, a 300 s window, 24 h retention, 60 s key cache, 64 KiB
    /// bodies, four transaction attempts, a 10 s function timeout, problem types under
    /// `/problems/`. [`Config::builder`] is the checked way to change them.
    pub fn new(tables: Tables) -> Self {
        Self {
            auth: Auth::Signatures,
            tables,
            replay_window_seconds: 300,
            idempotency_ttl_seconds: 86_400,
            client_cache: Duration::from_secs(60),
            max_body_bytes: 64 * 1024,
            transaction_attempts: 4,
            dynamodb_timeouts: DynamoDbTimeouts::default(),
            function_timeout: Duration::from_secs(10),
            problem_type_base: "/problems/".into(),
            signature_profile: SignatureProfile::default(),
            secrets: SecretsAtRest::Development,
        }
    }

    /// A builder from the defaults over the `replaysafe-` tables; [`ConfigBuilder::build`]
    /// validates.
    ///
    /// ```
    /// use std::time::Duration;
    /// use replaysafe::Config;
    ///
    /// let config = Config::builder()
    ///     .table_prefix("shop-")
    ///     .key_prefix("guard#")
    ///     .replay_window(Duration::from_secs(120))
    ///     .client_cache(Duration::from_secs(30))
    ///     .build()
    ///     .expect("24 h of retention covers a 120 s window");
    /// assert_eq!(config.tables.nonces, "shop-nonces");
    ///
    /// let short = Config::builder().idempotency_ttl(Duration::from_secs(600)).build();
    /// assert_eq!(short.unwrap_err().name, "IDEMPOTENCY_TTL_SECONDS");
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::new(Self::new(Tables::with_prefix("replaysafe-")))
    }

    /// `AUTH_MODE` (`signature` or `jwt`), `REPLAY_WINDOW_SECONDS`, `IDEMPOTENCY_TTL_SECONDS`,
    /// `CLIENT_CACHE_SECONDS`, `MAX_BODY_BYTES`, `FUNCTION_TIMEOUT_SECONDS`,
    /// `PROBLEM_TYPE_BASE`, the signature profile (`SIGNATURE_TAG`, `REQUIRE_AUTHORITY` as
    /// `true` or `false`, `SIGNATURE_AUTHORITY`, each unset or empty by default: see
    /// [`SignatureProfile`]), the data key (`SECRETS_DATA_KEY`, `SECRETS_MODE`: see
    /// [`SecretsAtRest::from_vars`]) and the tables (see [`Tables::from_env`]) from the environment, the
    /// rest as [`Config::new`] has them; a value that does not parse or that
    /// [`Config::validate`] refuses fails, naming the variable.
    ///
    /// ```
    /// use replaysafe::Config;
    ///
    /// // In a function's init phase: a bad setting fails the cold start, not a request.
    /// let config = Config::from_env()?;
    /// assert!(config.idempotency_ttl_seconds >= 2 * config.replay_window_seconds + 60);
    /// # Ok::<(), replaysafe::config::ConfigError>(())
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::new(Tables::from_env());
        let mut config = defaults.clone();
        config.auth = match std::env::var("AUTH_MODE").as_deref() {
            Err(_) | Ok("signature") => Auth::Signatures,
            Ok("jwt") => Auth::jwt(),
            Ok(other) => {
                return Err(ConfigError {
                    name: "AUTH_MODE",
                    value: other.to_owned(),
                    why: "not `signature` or `jwt`",
                })
            }
        };
        let timeout = number(
            "FUNCTION_TIMEOUT_SECONDS",
            defaults.function_timeout.as_secs(),
        )?;
        config.function_timeout = Duration::from_secs(timeout);
        config.replay_window_seconds =
            number("REPLAY_WINDOW_SECONDS", defaults.replay_window_seconds)?;
        config.idempotency_ttl_seconds =
            number("IDEMPOTENCY_TTL_SECONDS", defaults.idempotency_ttl_seconds)?;
        let cache = number("CLIENT_CACHE_SECONDS", defaults.client_cache.as_secs())?;
        config.client_cache = Duration::from_secs(cache);
        config.max_body_bytes = number("MAX_BODY_BYTES", defaults.max_body_bytes)?;
        if let Ok(base) = std::env::var("PROBLEM_TYPE_BASE") {
            config.problem_type_base = base;
        }
        config.signature_profile = signature_profile_from(|name| std::env::var(name).ok())?;
        // Only signatures need secrets: behind an authorizer there are none to seal.
        let needs_data_key = in_lambda() && config.auth == Auth::Signatures;
        config.secrets = SecretsAtRest::from_vars(|name| std::env::var(name).ok(), needs_data_key)?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses what no deployment should run with: a window outside 1 s to 1 h; a retention
    /// too short for the window (see [`min_idempotency_ttl`]) or over 30 days; a key cache
    /// over an hour; a body limit of 0 or over Lambda's 6 MB; a function timeout that cannot
    /// hold a POST's three DynamoDB calls; no transaction attempt; an empty
    /// or shared table name; an attribute name that is empty or one the guard already writes;
    /// a required tag that is not 1 to 128 printable ASCII characters; a fixed authority that is
    /// not a lowercase `host[:port]` without the default port 443.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let window = self.replay_window_seconds;
        let ttl = self.idempotency_ttl_seconds;
        let t = &self.tables;
        require(
            (1..=3600).contains(&window),
            "REPLAY_WINDOW_SECONDS",
            window,
            "not between 1 and 3600 seconds",
        )?;
        require(
            ttl >= min_idempotency_ttl(window),
            "IDEMPOTENCY_TTL_SECONDS",
            ttl,
            "below max(3600, 2 × REPLAY_WINDOW_SECONDS + 60): an attempt signed before a \
             commit could arrive after its record expired and execute the key twice",
        )?;
        require(
            ttl <= 30 * 86_400,
            "IDEMPOTENCY_TTL_SECONDS",
            ttl,
            "over 30 days",
        )?;
        require(
            self.client_cache <= Duration::from_secs(3600),
            "CLIENT_CACHE_SECONDS",
            self.client_cache.as_secs(),
            "over an hour: a revoked client would be trusted that long",
        )?;
        require(
            (1..=MAX_BODY_BYTES_LIMIT).contains(&self.max_body_bytes),
            "MAX_BODY_BYTES",
            self.max_body_bytes,
            "not between 1 byte and Lambda's 6 MB payload limit",
        )?;
        let calls = 3 * self.dynamodb_timeouts.operation + Duration::from_secs(1);
        require(
            self.function_timeout >= calls && self.function_timeout <= Duration::from_secs(900),
            "FUNCTION_TIMEOUT_SECONDS",
            self.function_timeout.as_secs_f64(),
            "under three DynamoDB calls' timeouts and a second (a POST's calls in sequence), \
             or over Lambda's 900 s",
        )?;
        require(
            match &self.auth {
                Auth::Signatures => true,
                Auth::Authorizer { principal } => principal.starts_with('/'),
            },
            "AUTH_MODE",
            format!("{:?}", self.auth),
            "an authorizer's principal is a JSON pointer, starting with `/`",
        )?;
        require(
            (1..=10).contains(&self.transaction_attempts),
            "TRANSACTION_ATTEMPTS",
            self.transaction_attempts,
            "not between 1 and 10",
        )?;
        require(
            !t.nonces.is_empty() && t.nonces != t.idempotency,
            "NONCES_TABLE",
            &t.nonces,
            "empty, or the idempotency table: a nonce and a key of one client could name the \
             same item",
        )?;
        require(
            attribute_free(&t.partition_key) && t.partition_key != t.expires_at,
            "GUARD_PARTITION_KEY",
            &t.partition_key,
            "empty, the TTL attribute, or an attribute the guard writes",
        )?;
        require(
            attribute_free(&t.expires_at),
            "GUARD_TTL_ATTRIBUTE",
            &t.expires_at,
            "empty, or an attribute the guard writes",
        )?;
        require(
            !t.clients.is_empty() && !t.idempotency.is_empty(),
            "TABLE_PREFIX",
            "",
            "a table name is empty",
        )?;
        let profile = &self.signature_profile;
        if let Some(tag) = &profile.tag {
            require(
                replaysafe_signing::valid_tag(tag),
                "SIGNATURE_TAG",
                tag,
                "not 1 to 128 printable ASCII characters",
            )?;
        }
        if let Some(ExpectedAuthority::Fixed(host)) = &profile.authority {
            require(
                replaysafe_signing::valid_authority(host)
                    && *host == replaysafe_signing::normalize_authority("https", host),
                "SIGNATURE_AUTHORITY",
                host,
                "not a lowercase host[:port] without scheme, path or the default port 443",
            )?;
        }
        #[cfg(not(feature = "kms"))]
        if matches!(self.secrets, SecretsAtRest::Kms { .. }) {
            return Err(ConfigError {
                name: "SECRETS_DATA_KEY",
                value: String::new(),
                why: "this build has no KMS support (the replaysafe feature `kms`)",
            });
        }
        Ok(())
    }
}

/// `SIGNATURE_TAG`, `REQUIRE_AUTHORITY` and `SIGNATURE_AUTHORITY`; unset and empty are alike
/// (a template passes an empty parameter for "none"). A `SIGNATURE_AUTHORITY` requires the
/// authority by itself, so `REQUIRE_AUTHORITY=false` beside one contradicts it.
fn signature_profile_from(
    env: impl Fn(&str) -> Option<String>,
) -> Result<SignatureProfile, ConfigError> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let tag = set("SIGNATURE_TAG");
    let required = match set("REQUIRE_AUTHORITY").as_deref().map(str::trim) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ConfigError {
                name: "REQUIRE_AUTHORITY",
                value: other.to_owned(),
                why: "not `true` or `false`",
            })
        }
    };
    let authority = match (required, set("SIGNATURE_AUTHORITY")) {
        (Some(false), Some(host)) => {
            return Err(ConfigError {
                name: "SIGNATURE_AUTHORITY",
                value: host,
                why: "set while REQUIRE_AUTHORITY=false: an authority to check is one required",
            })
        }
        (_, Some(host)) => Some(ExpectedAuthority::Fixed(fixed_authority(&host))),
        (Some(true), None) => Some(ExpectedAuthority::CalledHost),
        (_, None) => None,
    };
    Ok(SignatureProfile { tag, authority })
}

/// A configured authority as the signature base has it: trimmed, lowercase, without `:443`.
/// [`Config::validate`] refuses what is still not a `host[:port]`.
pub(crate) fn fixed_authority(host: &str) -> String {
    replaysafe_signing::normalize_authority("https", host.trim())
}

/// `Ok` when `ok`, else the error naming the setting `name` and its `value`.
fn require(
    ok: bool,
    name: &'static str,
    value: impl ToString,
    why: &'static str,
) -> Result<(), ConfigError> {
    match ok {
        true => Ok(()),
        false => Err(ConfigError {
            name,
            value: value.to_string(),
            why,
        }),
    }
}

fn attribute_free(name: &str) -> bool {
    !name.is_empty() && !FIXED_ATTRIBUTES.contains(&name)
}

/// The environment variable `name` as a number, `default` when it is not set.
fn number<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    let Ok(value) = std::env::var(name) else {
        return Ok(default);
    };
    value.trim().parse().map_err(|_| ConfigError {
        name,
        value,
        why: "not a whole number",
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(window: i64, ttl: i64) -> Config {
        let mut config = Config::new(Tables::with_prefix("t-"));
        config.replay_window_seconds = window;
        config.idempotency_ttl_seconds = ttl;
        config
    }

    #[test]
    fn a_retention_shorter_than_two_windows_and_a_minute_is_refused() {
        assert!(with(3600, 7260).validate().is_ok());
        let err = with(3600, 7259).validate().unwrap_err();
        assert_eq!(err.name, "IDEMPOTENCY_TTL_SECONDS");
        assert!(with(300, 3600).validate().is_ok());
    }

    #[test]
    fn a_retention_under_an_hour_is_refused_whatever_the_window() {
        assert!(with(1, 3599).validate().is_err());
        assert!(with(300, 660).validate().is_err());
        assert_eq!(min_idempotency_ttl(1), 3600);
    }

    #[test]
    fn every_invariant_names_its_setting() {
        let refused = |tune: fn(&mut Config)| {
            let mut config = with(300, 86_400);
            tune(&mut config);
            config.validate().unwrap_err().name
        };
        assert_eq!(
            refused(|c| c.replay_window_seconds = 0),
            "REPLAY_WINDOW_SECONDS"
        );
        assert_eq!(
            refused(|c| c.replay_window_seconds = 3601),
            "REPLAY_WINDOW_SECONDS"
        );
        assert_eq!(
            refused(|c| c.idempotency_ttl_seconds = 31 * 86_400),
            "IDEMPOTENCY_TTL_SECONDS"
        );
        assert_eq!(
            refused(|c| c.client_cache = Duration::from_secs(3601)),
            "CLIENT_CACHE_SECONDS"
        );
        assert_eq!(refused(|c| c.max_body_bytes = 0), "MAX_BODY_BYTES");
        assert_eq!(
            refused(|c| c.max_body_bytes = MAX_BODY_BYTES_LIMIT + 1),
            "MAX_BODY_BYTES"
        );
        assert_eq!(
            refused(|c| c.transaction_attempts = 0),
            "TRANSACTION_ATTEMPTS"
        );
        assert_eq!(
            refused(|c| c.function_timeout = Duration::from_secs(8)),
            "FUNCTION_TIMEOUT_SECONDS"
        );
        assert_eq!(
            refused(|c| c.auth = Auth::Authorizer {
                principal: "sub".into()
            }),
            "AUTH_MODE"
        );
        assert_eq!(
            refused(|c| c.tables.nonces = c.tables.idempotency.clone()),
            "NONCES_TABLE"
        );
        assert_eq!(
            refused(|c| c.tables.partition_key = "body".into()),
            "GUARD_PARTITION_KEY"
        );
        assert_eq!(
            refused(|c| c.tables.partition_key = "expires_at".into()),
            "GUARD_PARTITION_KEY"
        );
        assert_eq!(
            refused(|c| c.tables.expires_at = String::new()),
            "GUARD_TTL_ATTRIBUTE"
        );
        assert_eq!(
            refused(|c| c.tables.clients = String::new()),
            "TABLE_PREFIX"
        );
        assert!(with(300, 86_400).validate().is_ok());
    }

    #[test]
    fn a_profile_is_off_by_default_and_its_values_are_checked() {
        assert_eq!(
            with(300, 86_400).signature_profile,
            SignatureProfile::default()
        );
        let refused = |profile: SignatureProfile| {
            let mut config = with(300, 86_400);
            config.signature_profile = profile;
            config.validate().err().map(|e| e.name)
        };
        let tag = |t: &str| SignatureProfile {
            tag: Some(t.into()),
            authority: None,
        };
        let fixed = |host: &str| SignatureProfile {
            tag: None,
            authority: Some(ExpectedAuthority::Fixed(host.into())),
        };
        assert_eq!(refused(tag("payments-prod")), None);
        assert_eq!(refused(tag("")), Some("SIGNATURE_TAG"));
        assert_eq!(refused(tag("caf\u{e9}")), Some("SIGNATURE_TAG"));
        assert_eq!(refused(tag(&"a".repeat(129))), Some("SIGNATURE_TAG"));
        assert_eq!(refused(fixed("api.example.com")), None);
        assert_eq!(refused(fixed("127.0.0.1:9000")), None);
        for bad in [
            "",
            "API.example.com",
            "api.example.com:443",
            "https://api.example.com",
            "api.example.com/v1",
            "a b",
        ] {
            assert_eq!(refused(fixed(bad)), Some("SIGNATURE_AUTHORITY"), "{bad}");
        }
        let called = SignatureProfile {
            tag: None,
            authority: Some(ExpectedAuthority::CalledHost),
        };
        assert_eq!(refused(called), None);
        assert_eq!(fixed_authority(" API.Example.com:443 "), "api.example.com");
    }

    #[test]
    fn the_profile_from_the_environment() {
        let from = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            signature_profile_from(|name| vars.get(name).cloned())
        };
        assert_eq!(from(&[]).unwrap(), SignatureProfile::default());
        let empty = [
            ("SIGNATURE_TAG", ""),
            ("REQUIRE_AUTHORITY", " "),
            ("SIGNATURE_AUTHORITY", ""),
        ];
        assert_eq!(from(&empty).unwrap(), SignatureProfile::default());
        assert_eq!(
            from(&[
                ("SIGNATURE_TAG", "web-bot-auth"),
                ("REQUIRE_AUTHORITY", "true")
            ])
            .unwrap(),
            SignatureProfile {
                tag: Some("web-bot-auth".into()),
                authority: Some(ExpectedAuthority::CalledHost),
            }
        );
        assert_eq!(
            from(&[("REQUIRE_AUTHORITY", "false")]).unwrap(),
            SignatureProfile::default()
        );
        for required in [None, Some("true")] {
            let mut vars = vec![("SIGNATURE_AUTHORITY", "API.example.com:443")];
            vars.extend(required.map(|r| ("REQUIRE_AUTHORITY", r)));
            assert_eq!(
                from(&vars).unwrap().authority,
                Some(ExpectedAuthority::Fixed("api.example.com".into()))
            );
        }
        let refused = |vars: &[(&str, &str)]| from(vars).unwrap_err().name;
        assert_eq!(
            refused(&[("REQUIRE_AUTHORITY", "yes")]),
            "REQUIRE_AUTHORITY"
        );
        assert_eq!(
            refused(&[
                ("REQUIRE_AUTHORITY", "false"),
                ("SIGNATURE_AUTHORITY", "api.example.com")
            ]),
            "SIGNATURE_AUTHORITY"
        );
    }
}
