//! The withdrawals table: a withdrawal is put `pending` with the debit that holds its funds,
//! then becomes `paid` or `refused` (its funds back) in the transaction that settles it.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

use replaysafe::store::attrs::{get_n, get_s, n, s, Item};
use replaysafe::store::{sdk_failure, Write};
use replaysafe::Error;

use super::accounts::balance_change;
use super::PaymentsStore;
use crate::domain::{Operation, Withdrawal, WithdrawalStatus, LAST_OPERATION};
use crate::error::PaymentsError;

impl PaymentsStore {
    /// The pending withdrawal, beside the debit that holds its funds. Its id is fresh, so its
    /// condition failing is our fault.
    pub fn put_pending_withdrawal(&self, w: &Withdrawal) -> Write<PaymentsError> {
        let put = Put::builder()
            .table_name(&self.tables.withdrawals)
            .item("withdrawal_id", s(&w.withdrawal_id))
            .item("owner", s(&w.owner))
            .item("from", s(&w.from))
            .item("amount", n(w.amount))
            .item("currency", s(&w.currency))
            .item("iban", s(&w.iban))
            .item("created_at", n(w.created_at))
            .item("status", s("pending"))
            .condition_expression("attribute_not_exists(withdrawal_id)")
            .build()
            .expect("table, item and condition are set");
        Write::new(TransactWriteItem::builder().put(put).build(), |_| {
            PaymentsError::Internal("a new withdrawal id was taken")
        })
    }

    /// The pending withdrawal becomes `paid` with the bank's reference.
    pub fn mark_withdrawal_paid(
        &self,
        w: &Withdrawal,
        bank_reference: &str,
        now: i64,
    ) -> TransactWriteItem {
        self.settle_withdrawal(w, "paid", now, |u| {
            u.update_expression("SET #status = :status, updated_at = :now, bank_reference = :ref")
                .expression_attribute_values(":ref", s(bank_reference))
        })
    }

    /// The pending withdrawal becomes `refused`; [`PaymentsStore::refund`] gives the funds back.
    pub fn mark_withdrawal_refused(&self, w: &Withdrawal, now: i64) -> TransactWriteItem {
        self.settle_withdrawal(w, "refused", now, |u| {
            u.update_expression("SET #status = :status, updated_at = :now")
        })
    }

    fn settle_withdrawal(
        &self,
        w: &Withdrawal,
        status: &str,
        now: i64,
        set: impl FnOnce(
            aws_sdk_dynamodb::types::builders::UpdateBuilder,
        ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder,
    ) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.tables.withdrawals)
            .key("withdrawal_id", s(&w.withdrawal_id))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":now", n(now));
        TransactWriteItem::builder()
            .update(
                set(update)
                    .build()
                    .expect("table, key and expression are set"),
            )
            .build()
    }

    /// Gives a refused withdrawal's held funds back to the account they came from, naming the
    /// withdrawal: a credit under a withdrawal is its refund.
    pub fn refund(&self, w: &Withdrawal, now: i64) -> TransactWriteItem {
        let operation = Operation::Withdrawal(w.withdrawal_id.clone());
        let update = Update::builder()
            .table_name(&self.tables.accounts)
            .key("account_id", s(&w.from))
            .update_expression(balance_change("#balance + :amount"))
            .condition_expression("attribute_exists(account_id)")
            .expression_attribute_names("#balance", "balance")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#operation", LAST_OPERATION)
            .expression_attribute_values(":amount", n(w.amount))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":operation", s(operation.to_string()))
            .expression_attribute_values(":now", n(now))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// A withdrawal by id, whoever owns it, with where it stands.
    pub async fn get_withdrawal(
        &self,
        withdrawal_id: &str,
    ) -> Result<Option<(Withdrawal, WithdrawalStatus)>, Error<PaymentsError>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.withdrawals)
            .key("withdrawal_id", s(withdrawal_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("get_withdrawal", e))?;
        out.item
            .map(|item| {
                decode(&item)
                    .ok_or(PaymentsError::Internal("a withdrawal item does not decode").into())
            })
            .transpose()
    }
}

fn decode(item: &Item) -> Option<(Withdrawal, WithdrawalStatus)> {
    let status = match get_s(item, "status")? {
        "pending" => WithdrawalStatus::Pending,
        "paid" => WithdrawalStatus::Paid {
            bank_reference: get_s(item, "bank_reference")?.to_owned(),
        },
        "refused" => WithdrawalStatus::Refused,
        _ => return None,
    };
    let w = Withdrawal {
        withdrawal_id: get_s(item, "withdrawal_id")?.to_owned(),
        owner: get_s(item, "owner")?.to_owned(),
        from: get_s(item, "from")?.to_owned(),
        amount: get_n(item, "amount")?,
        currency: get_s(item, "currency")?.to_owned(),
        iban: get_s(item, "iban")?.to_owned(),
        created_at: get_n(item, "created_at")?,
    };
    Some((w, status))
}
