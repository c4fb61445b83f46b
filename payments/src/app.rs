use replaysafe::{Config, Guard};

use crate::store::{PaymentsStore, PaymentsTables};

/// Where the payments API's problem types live: `type` is this and the problem's code.
pub const PROBLEM_TYPE_BASE: &str = "https://replaysafe.dev/problems/";

/// What every payments endpoint gets: the guard and the accounts/transfers store, built once
/// per cold start on one SDK client.
pub struct Payments {
    guard: Guard,
    store: PaymentsStore,
}

impl AsRef<Guard> for Payments {
    fn as_ref(&self) -> &Guard {
        &self.guard
    }
}

impl Payments {
    /// The app over a guard and a store of the caller's making (tests, benchmarks).
    pub fn new(guard: Guard, store: PaymentsStore) -> Self {
        Self { guard, store }
    }

    /// The guard's settings and tables and the app's tables from the environment; one SDK
    /// client for all of them, warmed up in Lambda's init phase.
    pub async fn from_env() -> Result<Self, replaysafe::config::ConfigError> {
        let mut config = Config::from_env()?;
        if std::env::var_os("PROBLEM_TYPE_BASE").is_none() {
            config.problem_type_base = PROBLEM_TYPE_BASE.into();
        }
        let client = replaysafe::store::sdk_client_with(None, Some(config.dynamodb_timeouts)).await;
        let guard = Guard::builder(config)
            .sdk_client(client.clone())
            .build()
            .await?;
        Ok(Self::new(
            guard,
            PaymentsStore::new(client, PaymentsTables::from_env()),
        ))
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The accounts and transfers.
    pub fn store(&self) -> &PaymentsStore {
        &self.store
    }
}
