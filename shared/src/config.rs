//! Typed configuration, read once at cold start. A bad value fails the cold start, not a request.

use std::time::Duration;

use thiserror::Error;

/// The guard's three tables. Tests build these from a fresh prefix; functions read them from
/// the env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// Who may sign: client id, secret, status.
    pub clients: String,
    /// One item per (client, key): a success's record or a refusal's fence.
    pub idempotency: String,
    /// One item per (client, nonce) while the nonce could still pass freshness.
    pub nonces: String,
}

impl Tables {
    /// `<prefix>clients`, `<prefix>idempotency`, `<prefix>nonces`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            clients: format!("{prefix}clients"),
            idempotency: format!("{prefix}idempotency"),
            nonces: format!("{prefix}nonces"),
        }
    }

    /// `TABLE_PREFIX` (default `replaysafe-`) names all three; `CLIENTS_TABLE`,
    /// `IDEMPOTENCY_TABLE` and `NONCES_TABLE` override one each (SAM sets these).
    pub fn from_env() -> Self {
        Self::with_prefix_and_env(&table_prefix_from_env())
    }

    /// `prefix` names all three; the per-table env vars override one each.
    pub fn with_prefix_and_env(prefix: &str) -> Self {
        let base = Self::with_prefix(prefix);
        Self {
            clients: env_or("CLIENTS_TABLE", base.clients),
            idempotency: env_or("IDEMPOTENCY_TABLE", base.idempotency),
            nonces: env_or("NONCES_TABLE", base.nonces),
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

/// The guard's settings. [`Config::new`] gives the defaults; set fields to change them, and
/// [`Config::check_retention`] before use (as [`Config::from_env`] does).
#[derive(Debug, Clone)]
pub struct Config {
    /// The guard's tables.
    pub tables: Tables,
    /// `REPLAY_WINDOW_SECONDS`: how far `created` may be from now.
    pub replay_window_seconds: i64,
    /// `IDEMPOTENCY_TTL_SECONDS`: how long a stored response is replayed.
    pub idempotency_ttl_seconds: i64,
    /// `CLIENT_CACHE_SECONDS`: how long a warm function trusts a client secret it read. A revoked
    /// client is refused at the latest this long after revocation.
    pub client_cache: Duration,
    /// Bodies above this are refused with 413 before anything else.
    pub max_body_bytes: usize,
    /// Attempts of one transaction when DynamoDB reports a conflict or throttling.
    pub transaction_attempts: u32,
    /// How long the SDK may spend on one DynamoDB call, its own retries included, and on one
    /// attempt of it. Far inside the function's timeout (10 s in `template.yaml`), so that a
    /// hung call is answered 503 `unavailable` with `Retry-After`, not by API Gateway's bare
    /// 5xx: a POST makes at most three calls in sequence (nonce ∥ read, transaction, fence).
    pub dynamodb_timeouts: DynamoDbTimeouts,
    /// The base of every problem's `type` URI: `<base><code>`.
    pub problem_type_base: String,
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
    /// The environment variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// Why it was refused.
    pub why: &'static str,
}

impl Config {
    /// The defaults: a 300 s window, 24 h retention, 60 s secret cache, 64 KiB bodies, four
    /// transaction attempts. Change fields as needed, then [`Config::check_retention`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use replaysafe::{Config, Tables};
    ///
    /// let mut config = Config::new(Tables::with_prefix("shop-"));
    /// assert_eq!(config.tables.nonces, "shop-nonces");
    /// config.replay_window_seconds = 120;
    /// config.client_cache = Duration::from_secs(30);
    /// config.check_retention().expect("24 h of retention covers a 120 s window");
    ///
    /// config.idempotency_ttl_seconds = 600;
    /// assert!(config.check_retention().is_err(), "under an hour is refused");
    /// ```
    pub fn new(tables: Tables) -> Self {
        Self {
            tables,
            replay_window_seconds: 300,
            idempotency_ttl_seconds: 86_400,
            client_cache: Duration::from_secs(60),
            max_body_bytes: 64 * 1024,
            transaction_attempts: 4,
            dynamodb_timeouts: DynamoDbTimeouts::default(),
            problem_type_base: "https://replaysafe.dev/problems/".into(),
        }
    }

    /// `REPLAY_WINDOW_SECONDS`, `IDEMPOTENCY_TTL_SECONDS`, `CLIENT_CACHE_SECONDS`,
    /// `PROBLEM_TYPE_BASE` and the table names from the environment (see [`Tables::from_env`]),
    /// the settings defaulting to [`Config::new`]'s; a value that does not parse, is out of
    /// range or leaves the retention too short for the window is refused, naming the variable.
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
        let mut config = Self::new(Tables::from_env());
        config.replay_window_seconds = seconds("REPLAY_WINDOW_SECONDS", 300, 1..=3600)?;
        config.idempotency_ttl_seconds =
            seconds("IDEMPOTENCY_TTL_SECONDS", 86_400, 60..=30 * 86_400)?;
        config.client_cache =
            Duration::from_secs(seconds("CLIENT_CACHE_SECONDS", 60, 0..=3600)? as u64);
        if let Ok(base) = std::env::var("PROBLEM_TYPE_BASE") {
            config.problem_type_base = base;
        }
        config.check_retention()?;
        Ok(config)
    }

    /// Refuses a retention too short for the window (see [`min_idempotency_ttl`]).
    pub fn check_retention(&self) -> Result<(), ConfigError> {
        let floor = min_idempotency_ttl(self.replay_window_seconds);
        if self.idempotency_ttl_seconds >= floor {
            return Ok(());
        }
        Err(ConfigError {
            name: "IDEMPOTENCY_TTL_SECONDS",
            value: self.idempotency_ttl_seconds.to_string(),
            why: "below max(3600, 2 × REPLAY_WINDOW_SECONDS + 60): an attempt signed before a \
                  commit could arrive after its record expired and execute the key twice",
        })
    }
}

fn seconds(
    name: &'static str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    let Ok(value) = std::env::var(name) else {
        return Ok(default);
    };
    match value.trim().parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        Ok(_) => Err(ConfigError {
            name,
            value,
            why: "out of range",
        }),
        Err(_) => Err(ConfigError {
            name,
            value,
            why: "not a whole number of seconds",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(window: i64, ttl: i64) -> Config {
        let mut config = Config::new(Tables::with_prefix("t-"));
        config.replay_window_seconds = window;
        config.idempotency_ttl_seconds = ttl;
        config
    }

    #[test]
    fn a_retention_shorter_than_two_windows_and_a_minute_is_refused() {
        assert!(with(3600, 7260).check_retention().is_ok());
        let err = with(3600, 7259).check_retention().unwrap_err();
        assert_eq!(err.name, "IDEMPOTENCY_TTL_SECONDS");
        assert!(with(300, 3600).check_retention().is_ok());
    }

    #[test]
    fn a_retention_under_an_hour_is_refused_whatever_the_window() {
        assert!(with(1, 3599).check_retention().is_err());
        assert!(with(300, 660).check_retention().is_err());
        assert_eq!(min_idempotency_ttl(1), 3600);
    }
}
