//! What an account write says about itself: the operation that made it, so the ledger auditor
//! (`crate::audit`) looks a balance change up instead of guessing which record explains it.

use std::fmt;

/// The account attribute every write to an account sets to the operation that made it.
pub const LAST_OPERATION: &str = "last_operation";

/// The operation an account write names in [`LAST_OPERATION`]: `open`, `transfer#<id>` (a
/// transfer's or a payout's debit and credit: a payout makes a transfer) or
/// `withdrawal#<id>` (its hold's debit, and its refund's credit when the bank refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// The account's creation: its initial balance.
    Open,
    /// A transfer, by its id in the transfers table.
    Transfer(String),
    /// A withdrawal, by its id in the withdrawals table.
    Withdrawal(String),
}

impl Operation {
    /// Reads what [`fmt::Display`] wrote; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "open" {
            return Some(Self::Open);
        }
        let (kind, id) = text.split_once('#')?;
        if id.is_empty() {
            return None;
        }
        match kind {
            "transfer" => Some(Self::Transfer(id.to_owned())),
            "withdrawal" => Some(Self::Withdrawal(id.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open => f.write_str("open"),
            Self::Transfer(id) => write!(f, "transfer#{id}"),
            Self::Withdrawal(id) => write!(f, "withdrawal#{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_reads_back_what_it_wrote() {
        for op in [
            Operation::Open,
            Operation::Transfer("trf_1".into()),
            Operation::Withdrawal("wd_1".into()),
        ] {
            assert_eq!(Operation::parse(&op.to_string()), Some(op));
        }
        for text in ["", "opened", "transfer#", "payout#po_1", "transfer"] {
            assert_eq!(Operation::parse(text), None, "{text}");
        }
    }
}
