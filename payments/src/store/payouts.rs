//! The payouts table: one item per settled payout (paid or refused), keyed by its owner and
//! id, written in the transaction that settles it.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use replaysafe::store::attrs::{get_n, get_s, n, s, Item};
use replaysafe::store::sdk_failure;
use replaysafe::Error;

use super::PaymentsStore;
use crate::domain::{
    AccountId, Amount, Currency, Payout, PayoutId, PayoutOutcome, Principal, TransferId,
};
use crate::error::PaymentsError;

/// Owner and id, joined: a payout id is scoped to its owner (no principal contains `#`).
fn payout_key(owner: &Principal, payout_id: &PayoutId) -> String {
    format!("{owner}#{payout_id}")
}

impl PaymentsStore {
    /// The settled payout's item. Written once, with the key's record that settles it, so it
    /// has no condition of its own.
    pub fn put_payout(&self, p: &Payout) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.tables.payouts)
            .item("payout_key", s(payout_key(&p.owner, &p.payout_id)))
            .item("payout_id", s(p.payout_id.as_str()))
            .item("owner", s(p.owner.as_str()))
            .item("from", s(p.from.as_str()))
            .item("to", s(p.to.as_str()))
            .item("amount", n(p.amount.get()))
            .item("currency", s(p.currency.as_str()))
            .item("completed_at", n(p.completed_at));
        put = match &p.outcome {
            PayoutOutcome::Paid { transfer_id } => put
                .item("status", s("paid"))
                .item("transfer_id", s(transfer_id.as_str())),
            PayoutOutcome::Refused { code } => {
                put.item("status", s("refused")).item("code", s(code))
            }
        };
        if let Some(reference) = &p.reference {
            put = put.item("reference", s(reference));
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// `owner`'s payout `payout_id`, once settled.
    pub async fn get_payout(
        &self,
        owner: &Principal,
        payout_id: &PayoutId,
    ) -> Result<Option<Payout>, Error<PaymentsError>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.payouts)
            .key("payout_key", s(payout_key(owner, payout_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("get_payout", e))?;
        out.item
            .map(|item| {
                decode(&item).ok_or(PaymentsError::Internal("a payout item does not decode").into())
            })
            .transpose()
    }
}

fn decode(item: &Item) -> Option<Payout> {
    let outcome = match get_s(item, "status")? {
        "paid" => PayoutOutcome::Paid {
            transfer_id: TransferId::parse(get_s(item, "transfer_id")?).ok()?,
        },
        "refused" => PayoutOutcome::Refused {
            code: get_s(item, "code")?.to_owned(),
        },
        _ => return None,
    };
    Some(Payout {
        payout_id: PayoutId::parse(get_s(item, "payout_id")?).ok()?,
        owner: Principal::from_stored(get_s(item, "owner")?),
        from: AccountId::parse(get_s(item, "from")?).ok()?,
        to: AccountId::parse(get_s(item, "to")?).ok()?,
        amount: Amount::parse(get_n(item, "amount")?).ok()?,
        currency: Currency::parse(get_s(item, "currency")?).ok()?,
        reference: get_s(item, "reference").map(str::to_owned),
        outcome,
        completed_at: get_n(item, "completed_at")?,
    })
}
