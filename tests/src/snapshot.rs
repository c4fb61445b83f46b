//! The tables read past the API: a [`Snapshot`] of what requests can change, the transfers as
//! stored, and the evidence a finding's report quotes.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::TestApp;

/// What requests can change in the store, read past the API: every account's
/// (balance, version), and how many transfer and idempotency records (stored answers) exist.
/// Fences and nonces are left out on purpose: a refusal fences its key, and a request that
/// passed the signature checks consumes its nonce, whatever its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub accounts: BTreeMap<String, (u64, u64)>,
    pub transfers: usize,
    pub idempotency: usize,
}

/// A transfer record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTransfer {
    pub transfer_id: String,
    pub from: String,
    pub to: String,
    pub amount: u64,
}

impl TestApp {
    /// The table prefix of this app's tables (every table name starts with it).
    pub fn table_prefix(&self) -> String {
        let clients = &self.store.tables().clients;
        clients
            .strip_suffix("clients")
            .unwrap_or(clients)
            .to_owned()
    }

    /// Every item of a table, across pages, read consistently.
    pub async fn scan_all(&self, table: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .store
                .client()
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return items,
            }
        }
    }

    pub async fn snapshot(&self) -> Snapshot {
        let tables = self.store.tables().clone();
        let ledger = self.ledger.tables().clone();
        let accounts = self
            .scan_all(&ledger.accounts)
            .await
            .iter()
            .map(|item| {
                let s = |k: &str| item[k].as_s().expect("string").clone();
                let n = |k: &str| item[k].as_n().expect("number").parse::<u64>().unwrap();
                (s("account_id"), (n("balance"), n("version")))
            })
            .collect();
        Snapshot {
            accounts,
            transfers: self.scan_all(&ledger.transfers).await.len(),
            // Stored answers only: a refusal's fence is not an effect (it stores no answer).
            idempotency: self
                .scan_all(&tables.idempotency)
                .await
                .iter()
                .filter(|item| item.contains_key("fingerprint"))
                .count(),
        }
    }

    /// For a finding's report: every idempotency item (record or fence) and transfer record
    /// that mentions one of `needles` (an idempotency key, a transfer id), as stored.
    pub async fn evidence(&self, needles: &[&str]) -> String {
        let tables = [
            self.store.tables().idempotency.clone(),
            self.ledger.tables().transfers.clone(),
        ];
        let mut out = format!("evidence for {needles:?}:");
        for table in tables {
            for item in self.scan_all(&table).await {
                let shown = format!("{:?}", BTreeMap::from_iter(item.iter()));
                if needles.iter().any(|n| !n.is_empty() && shown.contains(n)) {
                    out.push_str(&format!("\n  {table}: {shown}"));
                }
            }
        }
        out
    }

    pub async fn transfers(&self) -> Vec<StoredTransfer> {
        let table = self.ledger.tables().transfers.clone();
        self.scan_all(&table)
            .await
            .iter()
            .map(|item| {
                let s = |k: &str| item[k].as_s().expect("string").clone();
                StoredTransfer {
                    transfer_id: s("transfer_id"),
                    from: s("from"),
                    to: s("to"),
                    amount: item["amount"].as_n().expect("number").parse().unwrap(),
                }
            })
            .collect()
    }

    /// Every item in one of this app's tables.
    pub async fn scan_count(&self, table: &str) -> usize {
        let out = self
            .store
            .client()
            .scan()
            .table_name(table)
            .send()
            .await
            .expect("scan");
        out.items().len()
    }
}
