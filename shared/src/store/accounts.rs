//! The accounts table, and the transaction items that create, debit and credit an account.

use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure as OnFailure, TransactWriteItem, Update,
};

use super::attrs::{get_n, get_s, n, s, Item};
use super::failure::sdk_failure;
use super::{Cancelled, Store};
use crate::domain::{Account, AccountId, Amount, ClientId, Currency};
use crate::error::ApiError;

impl Store {
    pub async fn get_account(&self, account_id: &AccountId) -> Result<Option<Account>, ApiError> {
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
            .map(|item| decode(&item).ok_or(ApiError::Internal))
            .transpose()
    }

    /// Puts a new account; fails when the id is taken.
    pub fn create_account_item(&self, account: &Account) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.tables.accounts)
            .item("account_id", s(account.account_id.as_str()))
            .item("owner", s(account.owner.as_str()))
            .item("currency", s(account.currency.as_str()))
            .item("balance", n(account.balance))
            .item("version", n(account.version))
            .item("created_at", n(account.created_at))
            .item("updated_at", n(account.updated_at))
            .condition_expression("attribute_not_exists(account_id)")
            .return_values_on_condition_check_failure(OnFailure::AllOld)
            .build()
            .expect("table, item and condition are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// Takes `amount` from an account the caller owns, in `currency`, never below zero.
    pub fn debit_item(
        &self,
        account_id: &AccountId,
        caller: &ClientId,
        currency: &Currency,
        amount: Amount,
        now: i64,
    ) -> TransactWriteItem {
        let update = self
            .change_balance(account_id, "#balance - :amount", amount, now)
            .condition_expression(
                "attribute_exists(account_id) AND #owner = :caller AND #currency = :currency \
                 AND #balance >= :amount",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":caller", s(caller.as_str()))
            .expression_attribute_values(":currency", s(currency.as_str()));
        TransactWriteItem::builder()
            .update(update.build().expect("table, key and expression are set"))
            .build()
    }

    /// Adds `amount` to any existing account in `currency`.
    pub fn credit_item(
        &self,
        account_id: &AccountId,
        currency: &Currency,
        amount: Amount,
        now: i64,
    ) -> TransactWriteItem {
        let update = self
            .change_balance(account_id, "#balance + :amount", amount, now)
            .condition_expression("attribute_exists(account_id) AND #currency = :currency")
            .expression_attribute_values(":currency", s(currency.as_str()));
        TransactWriteItem::builder()
            .update(update.build().expect("table, key and expression are set"))
            .build()
    }

    fn change_balance(
        &self,
        account_id: &AccountId,
        new_balance: &str,
        amount: Amount,
        now: i64,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.tables.accounts)
            .key("account_id", s(account_id.as_str()))
            .update_expression(format!(
                "SET #balance = {new_balance}, #version = #version + :one, updated_at = :now"
            ))
            .expression_attribute_names("#balance", "balance")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#currency", "currency")
            .expression_attribute_values(":amount", n(amount.get()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(OnFailure::AllOld)
    }
}

/// Why a debit (at `debit`) and a credit (at `credit`) were refused, in the contract's order:
/// an account missing or not the caller's (404), then a currency that differs (409), then funds
/// (409). `None` when neither condition failed.
pub fn transfer_refusal(
    cancelled: &Cancelled,
    debit: usize,
    credit: usize,
    caller: &ClientId,
    currency: &Currency,
) -> Option<ApiError> {
    let old = |i: usize| cancelled.failed_condition(i).then(|| cancelled.old_item(i));
    let (from, to) = (old(debit), old(credit));
    if from.is_none() && to.is_none() {
        return None;
    }
    let owned = |item: &Item| get_s(item, "owner") == Some(caller.as_str());
    let same_currency = |item: &Item| get_s(item, "currency") == Some(currency.as_str());
    let missing_from = matches!(from, Some(None)) || from.flatten().is_some_and(|i| !owned(i));
    let missing_to = matches!(to, Some(None));
    if missing_from || missing_to {
        return Some(ApiError::NotFound);
    }
    if [from, to]
        .into_iter()
        .flatten()
        .flatten()
        .any(|i| !same_currency(i))
    {
        return Some(ApiError::CurrencyMismatch);
    }
    if from.is_some() {
        return Some(ApiError::InsufficientFunds);
    }
    // The credit failed with the account present and in this currency: not a business refusal.
    Some(ApiError::Internal)
}

fn decode(item: &Item) -> Option<Account> {
    Some(Account {
        account_id: AccountId::parse(get_s(item, "account_id")?).ok()?,
        owner: ClientId::parse(get_s(item, "owner")?).ok()?,
        currency: Currency::parse(get_s(item, "currency")?).ok()?,
        balance: get_n(item, "balance")?,
        version: get_n(item, "version")?,
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
    })
}
