//! Typed configuration, read once at cold start. A bad value fails the cold start, not a request.

use std::time::Duration;

use thiserror::Error;

/// The five tables. Tests build these from a fresh prefix; functions read them from the env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub clients: String,
    pub accounts: String,
    pub transfers: String,
    pub idempotency: String,
    pub nonces: String,
}

impl Tables {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            clients: format!("{prefix}clients"),
            accounts: format!("{prefix}accounts"),
            transfers: format!("{prefix}transfers"),
            idempotency: format!("{prefix}idempotency"),
            nonces: format!("{prefix}nonces"),
        }
    }

    /// `TABLE_PREFIX` (default `replaysafe-`) names all five; `CLIENTS_TABLE`, `ACCOUNTS_TABLE`,
    /// `TRANSFERS_TABLE`, `IDEMPOTENCY_TABLE` and `NONCES_TABLE` override one each (SAM sets these).
    pub fn from_env() -> Self {
        let prefix = std::env::var("TABLE_PREFIX").unwrap_or_else(|_| "replaysafe-".into());
        Self::with_prefix_and_env(&prefix)
    }

    /// `prefix` names all five; the per-table env vars override one each.
    pub fn with_prefix_and_env(prefix: &str) -> Self {
        let base = Self::with_prefix(prefix);
        let pick = |var: &str, default: String| std::env::var(var).unwrap_or(default);
        Self {
            clients: pick("CLIENTS_TABLE", base.clients),
            accounts: pick("ACCOUNTS_TABLE", base.accounts),
            transfers: pick("TRANSFERS_TABLE", base.transfers),
            idempotency: pick("IDEMPOTENCY_TABLE", base.idempotency),
            nonces: pick("NONCES_TABLE", base.nonces),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
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
}

#[derive(Debug, Error)]
#[error("invalid configuration: {name} = {value:?} ({why})")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub why: &'static str,
}

impl Config {
    pub fn new(tables: Tables) -> Self {
        Self {
            tables,
            replay_window_seconds: 300,
            idempotency_ttl_seconds: 86_400,
            client_cache: Duration::from_secs(60),
            max_body_bytes: 64 * 1024,
            transaction_attempts: 4,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let mut config = Self::new(Tables::from_env());
        config.replay_window_seconds = seconds("REPLAY_WINDOW_SECONDS", 300, 1..=3600)?;
        config.idempotency_ttl_seconds =
            seconds("IDEMPOTENCY_TTL_SECONDS", 86_400, 60..=30 * 86_400)?;
        config.client_cache =
            Duration::from_secs(seconds("CLIENT_CACHE_SECONDS", 60, 0..=3600)? as u64);
        Ok(config)
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
