//! The JSON bodies the endpoints answer with, as the contract spells them.

use replaysafe::clock::rfc3339;
use serde::Serialize;

use crate::domain::{Account, Transfer};

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
