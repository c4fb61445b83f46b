//! The accounts table, and the transaction items that create, debit and credit an account.

use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure as OnFailure, TransactWriteItem, Update,
};

use replaysafe::store::attrs::{get_n, get_s, n, s, Item};
use replaysafe::store::{sdk_failure, Write};
use replaysafe::Error;

use super::PaymentsStore;
use crate::domain::{Account, AccountId, Amount, Currency, Operation, Principal, LAST_OPERATION};
use crate::error::PaymentsError;

impl PaymentsStore {
    /// An account by id, whoever owns it.
    pub async fn get_account(
        &self,
        account_id: &AccountId,
    ) -> Result<Option<Account>, Error<PaymentsError>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.accounts)
            .key("account_id", s(account_id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("get_account", e))?;
        out.item
            .map(|item| {
                decode(&item)
                    .ok_or(PaymentsError::Internal("an account item does not decode").into())
            })
            .transpose()
    }

    /// Puts a new account; refused with `account-exists` when the id is taken.
    pub fn create_account(&self, account: &Account) -> Write<PaymentsError> {
        let put = Put::builder()
            .table_name(&self.tables.accounts)
            .item("account_id", s(account.account_id.as_str()))
            .item("owner", s(account.owner.as_str()))
            .item("currency", s(account.currency.as_str()))
            .item("balance", n(account.balance))
            // What the balance started at, never changed: `admin audit` reconciles each
            // account's balance against it and the operations that name the account.
            .item("initial_balance", n(account.balance))
            .item("version", n(account.version))
            .item(LAST_OPERATION, s(Operation::Open.to_string()))
            .item("created_at", n(account.created_at))
            .item("updated_at", n(account.updated_at))
            .condition_expression("attribute_not_exists(account_id)")
            .return_values_on_condition_check_failure(OnFailure::AllOld)
            .build()
            .expect("table, item and condition are set");
        let item = TransactWriteItem::builder().put(put).build();
        Write::new(item, |_| PaymentsError::AccountExists)
    }

    /// Takes `amount` from an account the caller owns, in `currency`, never below zero, for
    /// `operation`; refused as 404 (missing, or not the caller's), `currency-mismatch`, or
    /// `insufficient-funds`.
    pub fn debit(
        &self,
        account_id: &AccountId,
        caller: &Principal,
        currency: &Currency,
        amount: Amount,
        operation: &Operation,
        now: i64,
    ) -> Write<PaymentsError> {
        let update = self
            .change_balance(account_id, "#balance - :amount", amount, operation, now)
            .condition_expression(
                "attribute_exists(account_id) AND #owner = :caller AND #currency = :currency \
                 AND #balance >= :amount",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":caller", s(caller.as_str()))
            .expression_attribute_values(":currency", s(currency.as_str()));
        let item = TransactWriteItem::builder()
            .update(update.build().expect("table, key and expression are set"))
            .build();
        let (caller, currency) = (caller.clone(), currency.clone());
        Write::new(item, move |old| match old {
            Some(a) if get_s(a, "owner") == Some(caller.as_str()) => {
                if get_s(a, "currency") == Some(currency.as_str()) {
                    PaymentsError::InsufficientFunds
                } else {
                    PaymentsError::CurrencyMismatch
                }
            }
            _ => PaymentsError::NotFound,
        })
    }

    /// Adds `amount` to any existing account in `currency`, for `operation`; refused as 404
    /// (missing) or `currency-mismatch`.
    pub fn credit(
        &self,
        account_id: &AccountId,
        currency: &Currency,
        amount: Amount,
        operation: &Operation,
        now: i64,
    ) -> Write<PaymentsError> {
        let update = self
            .change_balance(account_id, "#balance + :amount", amount, operation, now)
            .condition_expression("attribute_exists(account_id) AND #currency = :currency")
            .expression_attribute_values(":currency", s(currency.as_str()));
        let item = TransactWriteItem::builder()
            .update(update.build().expect("table, key and expression are set"))
            .build();
        let currency = currency.clone();
        Write::new(item, move |old| match old {
            None => PaymentsError::NotFound,
            Some(a) if get_s(a, "currency") != Some(currency.as_str()) => {
                PaymentsError::CurrencyMismatch
            }
            // Present and in this currency: the condition cannot have failed for a business
            // reason.
            Some(_) => PaymentsError::Internal("a debit or credit failed on a present account"),
        })
    }

    fn change_balance(
        &self,
        account_id: &AccountId,
        new_balance: &str,
        amount: Amount,
        operation: &Operation,
        now: i64,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.tables.accounts)
            .key("account_id", s(account_id.as_str()))
            .update_expression(balance_change(new_balance))
            .expression_attribute_names("#balance", "balance")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#currency", "currency")
            .expression_attribute_names("#operation", LAST_OPERATION)
            .expression_attribute_values(":amount", n(amount.get()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":operation", s(operation.to_string()))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(OnFailure::AllOld)
    }
}

/// The update expression of every balance change (a debit, a credit, a refund): the new
/// balance, the next version, and the operation that made it, which the ledger auditor reads.
pub(crate) fn balance_change(new_balance: &str) -> String {
    format!(
        "SET #balance = {new_balance}, #version = #version + :one, #operation = :operation, \
         updated_at = :now"
    )
}

fn decode(item: &Item) -> Option<Account> {
    Some(Account {
        account_id: AccountId::parse(get_s(item, "account_id")?).ok()?,
        owner: Principal::from_stored(get_s(item, "owner")?),
        currency: Currency::parse(get_s(item, "currency")?).ok()?,
        balance: get_n(item, "balance")?,
        version: get_n(item, "version")?,
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
    })
}
