use replaysafe::http::{json, Incoming};
use replaysafe::Effect;

use super::views::TransferView;
use super::Reply;
use crate::domain::{NewTransfer, Operation, Transfer, TransferId};
use crate::{Payments, PaymentsError};

/// POST /transfers: the debit, the credit and the transfer record, committed with the
/// idempotency record in one transaction.
pub async fn create_transfer(app: &Payments, req: Incoming<'_>) -> Reply {
    app.guard()
        .post(&req, NewTransfer::parse, async |op, new| {
            let now = op.now();
            let t = Transfer {
                transfer_id: TransferId::generate(),
                owner: op.principal().clone(),
                from: new.from,
                to: new.to,
                amount: new.amount,
                currency: new.currency,
                reference: new.reference,
                created_at: now,
            };
            let store = app.store();
            let operation = Operation::Transfer(t.transfer_id.to_string());
            // Refusals: the lowest status wins, then the earliest write: a missing or foreign
            // account (404) before a currency mismatch (the credit's, then the debit's) before
            // funds, the contract's order.
            Ok(Effect::json(201, &TransferView::from(&t))
                .header("location", format!("/transfers/{}", t.transfer_id))
                .with(store.credit(&t.to, &t.currency, t.amount, &operation, now))
                .with(store.debit(&t.from, &t.owner, &t.currency, t.amount, &operation, now))
                .with(store.put_transfer(&t)))
        })
        .await
}

/// GET /transfers/{transfer_id}: only its creator sees it.
pub async fn get_transfer(app: &Payments, req: Incoming<'_>) -> Reply {
    let id = TransferId::parse(req.last_segment());
    let read = async {
        match &id {
            Ok(id) => app.store().get_transfer(id).await,
            Err(_) => Ok(None),
        }
    };
    let (caller, transfer) = app.guard().read(&req, read).await?;
    id.map_err(PaymentsError::from)?;
    let transfer = transfer
        .filter(|t| t.owner == caller)
        .ok_or(PaymentsError::NotFound)?;
    Ok(json(200, &TransferView::from(&transfer)))
}
