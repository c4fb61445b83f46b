use std::time::Duration;

use replaysafe::config::{env_or, ConfigError};
use replaysafe::lease::LeaseTerms;
use replaysafe::records::{Consumer, Sqs};
use replaysafe::{Config, Guard};

use crate::bank::Bank;
use crate::store::{PaymentsStore, PaymentsTables};
use crate::PaymentsError;

/// Where the payments API's problem types live: `type` is this and the problem's code.
pub const PROBLEM_TYPE_BASE: &str = "https://replaysafe.dev/problems/";

/// How long a withdrawal's call to the bank may take, unless `BANK_TIMEOUT_SECONDS` says.
pub const BANK_TIMEOUT_SECONDS: u64 = 5;
/// How long an attempt holds a withdrawal, unless `WITHDRAWAL_LEASE_SECONDS` says.
pub const WITHDRAWAL_LEASE_SECONDS: u64 = 15;
/// SQS's default retention: how long a payout message may come back, unless
/// `QUEUE_RETENTION_SECONDS` says.
pub const QUEUE_RETENTION_SECONDS: i64 = 4 * 24 * 3600;

/// What every payments endpoint gets: the guard, the store, and (for withdrawals) the bank,
/// built once per cold start on one SDK client.
pub struct Payments {
    guard: Guard,
    store: PaymentsStore,
    bank: Option<Bank>,
    withdrawal_lease: LeaseTerms,
}

impl AsRef<Guard> for Payments {
    fn as_ref(&self) -> &Guard {
        &self.guard
    }
}

impl Payments {
    /// The app over a guard and a store of the caller's making (tests, benchmarks); no bank.
    pub fn new(guard: Guard, store: PaymentsStore) -> Self {
        let withdrawal_lease = LeaseTerms::new(
            Duration::from_secs(WITHDRAWAL_LEASE_SECONDS),
            Duration::from_secs(BANK_TIMEOUT_SECONDS),
        )
        .expect("the default lease outlasts the default bank timeout");
        Self {
            guard,
            store,
            bank: None,
            withdrawal_lease,
        }
    }

    /// Withdrawals pay out to `bank`, holding each operation for `lease`.
    pub fn with_bank(mut self, bank: Bank, lease: LeaseTerms) -> Self {
        self.bank = Some(bank);
        self.withdrawal_lease = lease;
        self
    }

    /// The guard's settings and tables and the app's tables from the environment; one SDK
    /// client for all of them, warmed up in Lambda's init phase. `BANK_URL`, when set, is the
    /// bank withdrawals pay out to.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let (guard, store) = from_env().await?;
        let app = Self::new(guard, store);
        Ok(match Bank::from_env() {
            Some(bank) => app.with_bank(bank, lease_from_env()?),
            None => app,
        })
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The app's tables.
    pub fn store(&self) -> &PaymentsStore {
        &self.store
    }

    /// The bank; a 500 when the function has none (`BANK_URL` unset).
    pub fn bank(&self) -> Result<&Bank, PaymentsError> {
        self.bank.as_ref().ok_or_else(|| {
            tracing::error!("BANK_URL is not set: withdrawals cannot be paid");
            PaymentsError::Internal("no bank configured")
        })
    }

    /// How long an attempt holds a withdrawal, and how long its bank call may take.
    pub fn withdrawal_lease(&self) -> &LeaseTerms {
        &self.withdrawal_lease
    }
}

/// What the `payouts` consumer gets: the guard as a consumer of the payouts queue, and the
/// store.
pub struct Payouts {
    consumer: Consumer<Sqs>,
    store: PaymentsStore,
}

impl Payouts {
    /// A consumer of a queue that keeps messages `retention_seconds`; refused when the
    /// guard's `IDEMPOTENCY_TTL_SECONDS` is shorter (a payout could come back after its key).
    /// Outside Lambda its metric `Route` is `sqs payouts`.
    pub fn new(
        guard: Guard,
        store: PaymentsStore,
        retention_seconds: i64,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            consumer: Consumer::new(guard, Sqs::retention(retention_seconds))?.named("payouts"),
            store,
        })
    }

    /// From the environment, as [`Payments::from_env`], with `QUEUE_RETENTION_SECONDS` (the
    /// queue's `MessageRetentionPeriod`; SQS's default 4 days when unset).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let (guard, store) = from_env().await?;
        let retention = env_seconds("QUEUE_RETENTION_SECONDS", QUEUE_RETENTION_SECONDS as u64)?;
        Self::new(guard, store, retention as i64)
    }

    /// The guard, as a consumer of the payouts queue.
    pub fn consumer(&self) -> &Consumer<Sqs> {
        &self.consumer
    }

    /// The app's tables.
    pub fn store(&self) -> &PaymentsStore {
        &self.store
    }
}

async fn from_env() -> Result<(Guard, PaymentsStore), ConfigError> {
    let mut config = Config::from_env()?;
    if std::env::var_os("PROBLEM_TYPE_BASE").is_none() {
        config.problem_type_base = PROBLEM_TYPE_BASE.into();
    }
    let client = replaysafe::store::sdk_client_with(None, Some(config.dynamodb_timeouts)).await;
    let guard = Guard::builder(config)
        .sdk_client(client.clone())
        .build()
        .await?;
    Ok((
        guard,
        PaymentsStore::new(client, PaymentsTables::from_env()),
    ))
}

fn lease_from_env() -> Result<LeaseTerms, ConfigError> {
    let lease = env_seconds("WITHDRAWAL_LEASE_SECONDS", WITHDRAWAL_LEASE_SECONDS)?;
    let call = env_seconds("BANK_TIMEOUT_SECONDS", BANK_TIMEOUT_SECONDS)?;
    LeaseTerms::new(Duration::from_secs(lease), Duration::from_secs(call)).map_err(|_| {
        ConfigError {
            name: "WITHDRAWAL_LEASE_SECONDS",
            value: lease.to_string(),
            why: "must exceed BANK_TIMEOUT_SECONDS by at least 2 seconds",
        }
    })
}

fn env_seconds(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    let value = env_or(name, default.to_string());
    value
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0)
        .ok_or(ConfigError {
            name,
            value,
            why: "must be a positive whole number of seconds",
        })
}
