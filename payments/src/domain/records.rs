use super::{AccountId, Amount, Currency, PayoutId, Principal, TransferId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub account_id: AccountId,
    /// Who created it (a signing client or an authorizer's principal); only it may read it
    /// or debit it.
    pub owner: Principal,
    pub currency: Currency,
    pub balance: u64,
    /// Bumped by every debit and credit; the ETag derives from it.
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub transfer_id: TransferId,
    /// Who created it; only it may read it.
    pub owner: Principal,
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    pub reference: Option<String>,
    pub created_at: i64,
}

impl Account {
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }
}

/// A payout's result: the transfer it made, or the refusal that is its final answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutOutcome {
    Paid { transfer_id: TransferId },
    Refused { code: String },
}

/// A payout as settled: its message's fields and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub payout_id: PayoutId,
    /// The principal the payout acts for; only it may read it.
    pub owner: Principal,
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    pub reference: Option<String>,
    pub outcome: PayoutOutcome,
    pub completed_at: i64,
}

/// Where a withdrawal stands: its funds held while the bank has not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WithdrawalStatus {
    Pending,
    Paid { bank_reference: String },
    Refused,
}

/// Money leaving an account for a bank.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Withdrawal {
    pub withdrawal_id: String,
    pub owner: String,
    pub from: String,
    pub amount: u64,
    pub currency: String,
    pub iban: String,
    pub created_at: i64,
}
