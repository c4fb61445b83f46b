//! The transfers table.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use replaysafe::store::attrs::{get_n, get_s, n, s, Item};
use replaysafe::store::{sdk_failure, Write};
use replaysafe::Error;

use super::PaymentsStore;
use crate::domain::{AccountId, Amount, Currency, Principal, Transfer, TransferId};
use crate::error::PaymentsError;

impl PaymentsStore {
    /// A transfer by id, whoever owns it.
    pub async fn get_transfer(
        &self,
        transfer_id: &TransferId,
    ) -> Result<Option<Transfer>, Error<PaymentsError>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.transfers)
            .key("transfer_id", s(transfer_id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("get_transfer", e))?;
        out.item
            .map(|item| {
                decode(&item)
                    .ok_or(PaymentsError::Internal("a transfer item does not decode").into())
            })
            .transpose()
    }

    /// Puts a new transfer record. Its id is fresh, so its condition failing is our fault.
    pub fn put_transfer(&self, t: &Transfer) -> Write<PaymentsError> {
        let mut put = Put::builder()
            .table_name(&self.tables.transfers)
            .item("transfer_id", s(t.transfer_id.as_str()))
            .item("owner", s(t.owner.as_str()))
            .item("from", s(t.from.as_str()))
            .item("to", s(t.to.as_str()))
            .item("amount", n(t.amount.get()))
            .item("currency", s(t.currency.as_str()))
            .item("created_at", n(t.created_at))
            .condition_expression("attribute_not_exists(transfer_id)");
        if let Some(reference) = &t.reference {
            put = put.item("reference", s(reference));
        }
        let item = TransactWriteItem::builder()
            .put(put.build().expect("table, item and condition are set"))
            .build();
        Write::new(item, |_| {
            PaymentsError::Internal("a new transfer id was taken")
        })
    }
}

fn decode(item: &Item) -> Option<Transfer> {
    Some(Transfer {
        transfer_id: TransferId::parse(get_s(item, "transfer_id")?).ok()?,
        owner: Principal::from_stored(get_s(item, "owner")?),
        from: AccountId::parse(get_s(item, "from")?).ok()?,
        to: AccountId::parse(get_s(item, "to")?).ok()?,
        amount: Amount::parse(get_n(item, "amount")?).ok()?,
        currency: Currency::parse(get_s(item, "currency")?).ok()?,
        reference: get_s(item, "reference").map(str::to_owned),
        created_at: get_n(item, "created_at")?,
    })
}
