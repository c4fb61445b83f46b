//! The app's own tables (accounts, transfers, payouts, withdrawals, and the ledger auditor's
//! memory) and the transaction writes that change them.

pub mod accounts;
pub mod payouts;
pub mod transfers;
pub mod withdrawals;

use aws_sdk_dynamodb::Client;
use replaysafe::config::{env_or, table_prefix_from_env};
use replaysafe::store::schema::{self, SchemaError, TableSpec};

/// The app's tables' names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsTables {
    /// One item per account: owner, currency, balance, version.
    pub accounts: String,
    /// One item per transfer.
    pub transfers: String,
    /// One item per settled payout, keyed by owner and payout id.
    pub payouts: String,
    /// One item per withdrawal: pending, paid or refused.
    pub withdrawals: String,
    /// The ledger auditor's memory: each balance change it counted, each stream record it
    /// checked (`crate::audit`).
    pub audit: String,
}

/// The tables whose streams the ledger auditor reads (`NEW_AND_OLD_IMAGES`), by logical name:
/// every table that holds money or an operation that moves it.
pub const STREAMED_TABLES: [&str; 4] = ["accounts", "transfers", "payouts", "withdrawals"];

/// The app's tables' shapes, after the guard's in `replaysafe::store::schema::TABLE_SPECS`.
pub const TABLE_SPECS: [TableSpec; 5] = [
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
    TableSpec {
        logical: "payouts",
        partition_key: "payout_key",
        ttl_attribute: None,
    },
    TableSpec {
        logical: "withdrawals",
        partition_key: "withdrawal_id",
        ttl_attribute: None,
    },
    // A checked record's mark expires once its stream cannot deliver it again; a balance
    // change's entry never does (it is what tells an operation applied twice).
    TableSpec {
        logical: "ledger-audit",
        partition_key: "pk",
        ttl_attribute: Some(schema::TTL_ATTRIBUTE),
    },
];

impl PaymentsTables {
    /// `<prefix>accounts`, `<prefix>transfers`, `<prefix>payouts`, `<prefix>withdrawals`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            accounts: format!("{prefix}accounts"),
            transfers: format!("{prefix}transfers"),
            payouts: format!("{prefix}payouts"),
            withdrawals: format!("{prefix}withdrawals"),
            audit: format!("{prefix}ledger-audit"),
        }
    }

    /// `TABLE_PREFIX` names them all; `ACCOUNTS_TABLE`, `TRANSFERS_TABLE`, `PAYOUTS_TABLE`,
    /// `WITHDRAWALS_TABLE` and `AUDIT_TABLE` override one each.
    pub fn from_env() -> Self {
        Self::with_prefix_and_env(&table_prefix_from_env())
    }

    /// `prefix` names them all; the per-table env vars override one each.
    pub fn with_prefix_and_env(prefix: &str) -> Self {
        let base = Self::with_prefix(prefix);
        Self {
            accounts: env_or("ACCOUNTS_TABLE", base.accounts),
            transfers: env_or("TRANSFERS_TABLE", base.transfers),
            payouts: env_or("PAYOUTS_TABLE", base.payouts),
            withdrawals: env_or("WITHDRAWALS_TABLE", base.withdrawals),
            audit: env_or("AUDIT_TABLE", base.audit),
        }
    }

    /// The physical name of each table, with its spec.
    pub fn specs(&self) -> [(&str, TableSpec<'_>); 5] {
        [
            (self.accounts.as_str(), TABLE_SPECS[0]),
            (self.transfers.as_str(), TABLE_SPECS[1]),
            (self.payouts.as_str(), TABLE_SPECS[2]),
            (self.withdrawals.as_str(), TABLE_SPECS[3]),
            (self.audit.as_str(), TABLE_SPECS[4]),
        ]
    }

    /// The physical name of a streamed table (one of [`STREAMED_TABLES`]), by logical name.
    pub fn streamed(&self) -> [(&'static str, &str); 4] {
        [
            ("accounts", self.accounts.as_str()),
            ("transfers", self.transfers.as_str()),
            ("payouts", self.payouts.as_str()),
            ("withdrawals", self.withdrawals.as_str()),
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
