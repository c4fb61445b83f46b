//! The JSON bodies the endpoints answer with, as the contract spells them.

use replaysafe::clock::rfc3339;
use serde::Serialize;

use crate::domain::{Account, Payout, PayoutOutcome, Transfer, Withdrawal, WithdrawalStatus};

/// `POST /accounts`' 201.
#[derive(Serialize)]
pub struct CreatedAccount<'a> {
    account_id: &'a str,
    currency: &'a str,
    balance: u64,
    version: u64,
    created_at: String,
}

impl<'a> From<&'a Account> for CreatedAccount<'a> {
    fn from(a: &'a Account) -> Self {
        Self {
            account_id: a.account_id.as_str(),
            currency: a.currency.as_str(),
            balance: a.balance,
            version: a.version,
            created_at: rfc3339(a.created_at),
        }
    }
}

/// `GET /accounts/{id}`'s 200.
#[derive(Serialize)]
pub struct AccountView<'a> {
    account_id: &'a str,
    currency: &'a str,
    balance: u64,
    version: u64,
    updated_at: String,
}

impl<'a> From<&'a Account> for AccountView<'a> {
    fn from(a: &'a Account) -> Self {
        Self {
            account_id: a.account_id.as_str(),
            currency: a.currency.as_str(),
            balance: a.balance,
            version: a.version,
            updated_at: rfc3339(a.updated_at),
        }
    }
}

/// A transfer, as `POST /transfers` creates it and `GET /transfers/{id}` reads it.
#[derive(Serialize)]
pub struct TransferView<'a> {
    transfer_id: &'a str,
    from: &'a str,
    to: &'a str,
    amount: u64,
    currency: &'a str,
    reference: Option<&'a str>,
    created_at: String,
}

impl<'a> From<&'a Transfer> for TransferView<'a> {
    fn from(t: &'a Transfer) -> Self {
        Self {
            transfer_id: t.transfer_id.as_str(),
            from: t.from.as_str(),
            to: t.to.as_str(),
            amount: t.amount.get(),
            currency: t.currency.as_str(),
            reference: t.reference.as_deref(),
            created_at: rfc3339(t.created_at),
        }
    }
}

/// A payout as `GET /payouts/{id}` reads it (and the consumer stores as its answer).
#[derive(Serialize)]
pub struct PayoutView<'a> {
    payout_id: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    from: &'a str,
    to: &'a str,
    amount: u64,
    currency: &'a str,
    reference: Option<&'a str>,
    completed_at: String,
}

impl<'a> From<&'a Payout> for PayoutView<'a> {
    fn from(p: &'a Payout) -> Self {
        let (status, transfer_id, code) = match &p.outcome {
            PayoutOutcome::Paid { transfer_id } => ("paid", Some(transfer_id.as_str()), None),
            PayoutOutcome::Refused { code } => ("refused", None, Some(code.as_str())),
        };
        Self {
            payout_id: p.payout_id.as_str(),
            status,
            transfer_id,
            code,
            from: p.from.as_str(),
            to: p.to.as_str(),
            amount: p.amount.get(),
            currency: p.currency.as_str(),
            reference: p.reference.as_deref(),
            completed_at: rfc3339(p.completed_at),
        }
    }
}

/// A withdrawal as `POST /withdrawals` answers it and `GET /withdrawals/{id}` reads it.
#[derive(Serialize)]
pub struct WithdrawalView<'a> {
    withdrawal_id: &'a str,
    from: &'a str,
    amount: u64,
    currency: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_reference: Option<&'a str>,
    created_at: String,
}

impl<'a> WithdrawalView<'a> {
    pub fn new(w: &'a Withdrawal, status: &'a WithdrawalStatus) -> Self {
        let (status, bank_reference) = match status {
            WithdrawalStatus::Pending => ("pending", None),
            WithdrawalStatus::Paid { bank_reference } => ("paid", Some(bank_reference.as_str())),
            WithdrawalStatus::Refused => ("refused", None),
        };
        Self {
            withdrawal_id: &w.withdrawal_id,
            from: &w.from,
            amount: w.amount,
            currency: &w.currency,
            status,
            bank_reference,
            created_at: rfc3339(w.created_at),
        }
    }
}
