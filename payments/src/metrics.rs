//! The payments app's own metrics, in the same namespace and dimensions as the library's
//! (`replaysafe::metrics`).

/// Violations the ledger auditor found, one per violation.
pub const LEDGER_VIOLATIONS: &str = "LedgerViolations";

/// Every metric the app itself emits.
pub const METRIC_NAMES: &[&str] = &[LEDGER_VIOLATIONS];
