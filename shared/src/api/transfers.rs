use serde_json::json;

use crate::clock::rfc3339;
use crate::domain::{NewTransfer, Transfer, TransferId};
use crate::error::ApiError;
use crate::guard::Guard;
use crate::http::{json, Incoming, Reply};
use crate::idempotency::StoredResponse;
use crate::store::accounts::transfer_refusal;

/// POST /transfers: the debit, the credit and the transfer record, committed with the
/// idempotency record in one transaction.
pub async fn create_transfer(guard: &Guard, req: Incoming<'_>) -> Reply {
    let committed = guard
        .post(&req, NewTransfer::parse, async |admitted, new| {
            let now = admitted.signed.now;
            let caller = admitted.signed.client_id.clone();
            let transfer = Transfer {
                transfer_id: TransferId::generate(),
                owner: caller.clone(),
                from: new.from,
                to: new.to,
                amount: new.amount,
                currency: new.currency,
                reference: new.reference,
                created_at: now,
            };
            let response = StoredResponse {
                status: 201,
                body: view(&transfer).to_string(),
                location: Some(format!("/transfers/{}", transfer.transfer_id)),
            };
            let store = guard.store();
            let writes = vec![
                store.debit_item(
                    &transfer.from,
                    &caller,
                    &transfer.currency,
                    transfer.amount,
                    now,
                ),
                store.credit_item(&transfer.to, &transfer.currency, transfer.amount, now),
                store.put_transfer_item(&transfer),
            ];
            guard
                .commit(admitted, writes, response, |c| {
                    transfer_refusal(c, 0, 1, &caller, &transfer.currency)
                })
                .await
        })
        .await?;
    Ok(committed.into())
}

/// GET /transfers/{transfer_id}: only the client that created it sees it.
pub async fn get_transfer(guard: &Guard, req: Incoming<'_>) -> Reply {
    let id = TransferId::parse(req.last_segment());
    let read = async {
        match &id {
            Ok(id) => guard.store().get_transfer(id).await,
            Err(_) => Ok(None),
        }
    };
    let (signed, transfer) = guard.admit_read(&req, read).await?;
    id?;
    let transfer = transfer
        .filter(|t| t.owner == signed.client_id)
        .ok_or(ApiError::NotFound)?;
    Ok(json(200, &view(&transfer)))
}

fn view(t: &Transfer) -> serde_json::Value {
    json!({
        "transfer_id": t.transfer_id.as_str(),
        "from": t.from.as_str(),
        "to": t.to.as_str(),
        "amount": t.amount.get(),
        "currency": t.currency.as_str(),
        "reference": t.reference,
        "created_at": rfc3339(t.created_at),
    })
}
