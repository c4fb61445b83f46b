use super::{AccountId, Amount, Currency, Principal, TransferId};

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
