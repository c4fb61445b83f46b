//! What the auditor reports: a violation's kind and the keys of the items it concerns, as one
//! ERROR log line of a fixed shape, and one EMF metric document per record.

use std::time::SystemTime;

use metrique::unit_of_work::metrics;
use metrique::writer::format::Format as _;
use metrique::{CloseValue as _, RootEntry};
use replaysafe::metrics::{Dimensions, Scheme};

/// What a record broke. Each kind's name is the `kind` of its log line and the `Outcome` of its
/// record's metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViolationKind {
    /// A balance changed and the write named no operation of its own (no `last_operation`, or
    /// the old one with no new version): someone wrote the balance outside the app.
    NoOperation,
    /// The operation a balance change names does not exist (or its name is not one the app
    /// writes).
    UnknownOperation,
    /// The balance moved by another amount than its operation's.
    AmountMismatch,
    /// The operation is in another currency than the account, or a transfer's accounts are in
    /// another currency than the transfer.
    CurrencyMismatch,
    /// The account is on the wrong side of its operation: a debit of an account the operation
    /// does not take from, a credit of one it does not pay (a withdrawal credits only its
    /// account, and only once the bank refused it).
    WrongSide,
    /// A balance went below zero.
    NegativeBalance,
    /// One operation moved the same account the same way twice (two stream records of two
    /// versions of the account).
    AppliedTwice,
    /// An operation recorded with an amount that is not positive.
    InvalidAmount,
    /// An item of a money table was deleted: its history no longer adds up.
    Removed,
    /// An item the app cannot have written (a missing or mistyped attribute).
    MalformedItem,
}

impl ViolationKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Self; 10] = [
        Self::NoOperation,
        Self::UnknownOperation,
        Self::AmountMismatch,
        Self::CurrencyMismatch,
        Self::WrongSide,
        Self::NegativeBalance,
        Self::AppliedTwice,
        Self::InvalidAmount,
        Self::Removed,
        Self::MalformedItem,
    ];

    /// The kind's name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoOperation => "no-operation",
            Self::UnknownOperation => "unknown-operation",
            Self::AmountMismatch => "amount-mismatch",
            Self::CurrencyMismatch => "currency-mismatch",
            Self::WrongSide => "wrong-side",
            Self::NegativeBalance => "negative-balance",
            Self::AppliedTwice => "applied-twice",
            Self::InvalidAmount => "invalid-amount",
            Self::Removed => "removed",
            Self::MalformedItem => "malformed-item",
        }
    }
}

/// One violation: its kind and the keys of what it concerns, never an item's other attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What was broken.
    pub kind: ViolationKind,
    /// The table of the stream record, by logical name (`accounts`, `transfers`, ...).
    pub table: &'static str,
    /// The account concerned, when there is one.
    pub account_id: Option<String>,
    /// The operation concerned (`transfer#<id>`, `withdrawal#<id>`, `payout#<key>`), when
    /// there is one.
    pub operation: Option<String>,
}

impl Violation {
    /// The violation's one ERROR line: `"event": "ledger-violation"`, `kind`, `table`,
    /// `account_id` and `operation` when known, and the stream record's `event_id`.
    pub fn log(&self, event_id: &str) {
        tracing::error!(
            event = "ledger-violation",
            kind = self.kind.as_str(),
            table = self.table,
            account_id = self.account_id.as_deref(),
            operation = self.operation.as_deref(),
            event_id,
            "ledger violation"
        );
    }
}

/// The route dimension of the auditor's metric documents.
pub const METRIC_ROUTE: &str = "dynamodb ledger-auditor";

/// The EMF document of one record in `scheme`'s namespace and dimensions: `LedgerViolations` =
/// `violations`, with `Outcome` = `outcome`, as one JSON line.
fn document(scheme: &Scheme, outcome: &str, violations: usize) -> Vec<u8> {
    let entry = RecordMetrics {
        timestamp: SystemTime::now(),
        dimensions: scheme.dimensions(METRIC_ROUTE, outcome),
        ledger_violations: violations,
    };
    let mut out = Vec::new();
    scheme
        .emf()
        .format(&RootEntry::new(entry.close()), &mut out)
        .expect("an EMF document of strings and a count formats");
    out
}

/// Prints [`document`] on stdout, where CloudWatch Logs reads it.
pub(crate) fn emit(scheme: &Scheme, outcome: &str, violations: usize) {
    // print!, not a raw write: a test harness captures it.
    let document = document(scheme, outcome, violations);
    println!("{}", String::from_utf8_lossy(&document).trim_end());
}

/// One record's metric entry (the field names are CloudWatch's, in PascalCase).
#[metrics(rename_all = "PascalCase")]
struct RecordMetrics {
    #[metrics(timestamp)]
    timestamp: SystemTime,
    #[metrics(flatten)]
    dimensions: Dimensions,
    ledger_violations: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LEDGER_VIOLATIONS;

    #[test]
    fn a_record_is_one_emf_document_in_the_services_dimensions() {
        let document = document(&Scheme::new("ns", "svc"), "negative-balance", 1);
        let v: serde_json::Value = serde_json::from_slice(&document).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ns");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Service"], ["Service", "Route", "Outcome"]])
        );
        assert_eq!(directive["Metrics"][0]["Name"], LEDGER_VIOLATIONS);
        assert_eq!(v[LEDGER_VIOLATIONS], 1);
        assert_eq!(v["Service"], "svc");
        assert_eq!(v["Route"], METRIC_ROUTE);
        assert_eq!(v["Outcome"], "negative-balance");
    }

    #[test]
    fn kinds_have_distinct_kebab_names() {
        let names: std::collections::BTreeSet<_> =
            ViolationKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ViolationKind::ALL.len());
        assert!(names
            .iter()
            .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')));
    }
}
