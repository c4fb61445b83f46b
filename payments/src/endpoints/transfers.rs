use replaysafe::http::{json, Incoming};
use replaysafe::idempotency::StoredResponse;

use super::views::TransferView;
use super::Reply;
use crate::domain::{NewTransfer, Transfer, TransferId};
use crate::{Payments, PaymentsError};

/// POST /transfers: the debit, the credit and the transfer record, committed with the
/// idempotency record in one transaction.
pub async fn create_transfer(app: &Payments, req: Incoming<'_>) -> Reply {
    let guard = app.guard();
    let committed = guard
        .post(&req, NewTransfer::parse, async |admitted, new| {
            let now = admitted.now();
            let transfer = Transfer {
                transfer_id: TransferId::generate(),
                owner: admitted.client_id().clone(),
                from: new.from,
                to: new.to,
                amount: new.amount,
                currency: new.currency,
                reference: new.reference,
                created_at: now,
            };
            let response = StoredResponse::json(201, &TransferView::from(&transfer))
                .with_header("location", format!("/transfers/{}", transfer.transfer_id));
            let store = app.store();
            let t = &transfer;
            // Refusals: the lowest status wins, then the earliest write: a missing or foreign
            // account (404) before a currency mismatch (the credit's, then the debit's) before
            // funds, the contract's order.
            let writes = vec![
                store.credit(&t.to, &t.currency, t.amount, now),
                store.debit(&t.from, &t.owner, &t.currency, t.amount, now),
                store.put_transfer(t),
            ];
            guard.commit(admitted, writes, response).await
        })
        .await?;
    Ok(committed.into())
}

/// GET /transfers/{transfer_id}: only the client that created it sees it.
pub async fn get_transfer(app: &Payments, req: Incoming<'_>) -> Reply {
    let id = TransferId::parse(req.last_segment());
    let read = async {
        match &id {
            Ok(id) => app.store().get_transfer(id).await,
            Err(_) => Ok(None),
        }
    };
    let (signed, transfer) = app.guard().admit_read(&req, read).await?;
    id?;
    let transfer = transfer
        .filter(|t| t.owner == signed.client_id)
        .ok_or(PaymentsError::NotFound)?;
    Ok(json(200, &TransferView::from(&transfer)))
}
