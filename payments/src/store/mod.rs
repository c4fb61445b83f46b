//! The app's own tables (accounts, transfers) and the transaction writes that change them.

pub mod accounts;
pub mod transfers;

use aws_sdk_dynamodb::Client;
use replaysafe::config::{env_or, table_prefix_from_env};
use replaysafe::store::schema::{self, SchemaError, TableSpec};

/// The accounts and transfers tables' names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsTables {
    /// One item per account: owner, currency, balance, version.
    pub accounts: String,
    /// One item per transfer.
    pub transfers: String,
}

/// The app's tables' shapes, after the guard's in `replaysafe::store::schema::TABLE_SPECS`.
pub const TABLE_SPECS: [TableSpec; 2] = [
    TableSpec {
        logical: "accounts",
        partition_key: "account_id",
        ttl_attribute: None,
    },
    TableSpec {
        logical: "transfers",
        partition_key: "transfer_id",
        ttl_attribute: None,
    },
];

impl PaymentsTables {
    /// `<prefix>accounts`, `<prefix>transfers`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            accounts: format!("{prefix}accounts"),
            transfers: format!("{prefix}transfers"),
        }
    }

    /// `TABLE_PREFIX` names both; `ACCOUNTS_TABLE` and `TRANSFERS_TABLE` override one each.
    pub fn from_env() -> Self {
        Self::with_prefix_and_env(&table_prefix_from_env())
    }

    /// `prefix` names both; the per-table env vars override one each.
    pub fn with_prefix_and_env(prefix: &str) -> Self {
        let base = Self::with_prefix(prefix);
        Self {
            accounts: env_or("ACCOUNTS_TABLE", base.accounts),
            transfers: env_or("TRANSFERS_TABLE", base.transfers),
        }
    }

    /// The physical name of each table, with its spec.
    pub fn specs(&self) -> [(&str, TableSpec<'_>); 2] {
        [
            (self.accounts.as_str(), TABLE_SPECS[0]),
            (self.transfers.as_str(), TABLE_SPECS[1]),
        ]
    }
}

/// Creates whichever of the guard's and the app's tables are missing; safe to run again.
pub async fn create_all_tables(
    client: &Client,
    guard: &replaysafe::Tables,
    app: &PaymentsTables,
) -> Result<Vec<String>, SchemaError> {
    let mut all: Vec<(&str, TableSpec)> = guard.specs().to_vec();
    all.extend(app.specs());
    schema::create_tables(client, &all).await
}

/// The SDK client and the app's table names.
#[derive(Debug, Clone)]
pub struct PaymentsStore {
    client: Client,
    tables: PaymentsTables,
}

impl PaymentsStore {
    /// On an SDK client of the caller's making.
    pub fn new(client: Client, tables: PaymentsTables) -> Self {
        Self { client, tables }
    }

    /// The app's table names.
    pub fn tables(&self) -> &PaymentsTables {
        &self.tables
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
