use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::LambdaEvent;
use replaysafe::http::{json, Incoming};
use replaysafe::idempotency::IdempotencyKey;
use replaysafe::records::{Delivery, Job};
use replaysafe::{Effect, Problem};

use super::views::PayoutView;
use super::Reply;
use crate::domain::{NewPayout, Operation, Payout, PayoutId, PayoutOutcome, Transfer, TransferId};
use crate::{Payments, PaymentsError, Payouts};

/// The `payouts` consumer: each message a payout, keyed by its `payout_id` for its `owner`.
/// The debit, the credit, the transfer, the payout's result and the key's record commit in
/// one transaction; a refusal (not-found, currency-mismatch, insufficient-funds) is the
/// payout's final result, recorded with the key's. Invalid messages and transient failures
/// are reported for redelivery; everything else is done.
pub async fn consume_payouts(app: &Payouts, event: LambdaEvent<SqsEvent>) -> SqsBatchResponse {
    let parse = |record: &Delivery<'_, _>| {
        let payout = NewPayout::parse(record.content())?;
        let key = IdempotencyKey::parse(Some(payout.payout_id.as_str()))
            .map_err(|_| PaymentsError::ValidationFailed("payout_id".into()))?;
        let refused = payout.clone();
        let store = app.store().clone();
        Ok(
            Job::new(payout.owner.clone(), key, payout).on_refusal(move |op, e: &PaymentsError| {
                let outcome = PayoutOutcome::Refused {
                    code: e.code().to_owned(),
                };
                vec![store.put_payout(&settled(refused, outcome, op.now()))]
            }),
        )
    };
    app.consumer()
        .handle(
            &event.payload,
            event.context.deadline(),
            parse,
            async |op, payout: NewPayout| {
                let now = op.now();
                let t = Transfer {
                    transfer_id: TransferId::generate(),
                    owner: op.principal().clone(),
                    from: payout.transfer.from.clone(),
                    to: payout.transfer.to.clone(),
                    amount: payout.transfer.amount,
                    currency: payout.transfer.currency.clone(),
                    reference: payout.transfer.reference.clone(),
                    created_at: now,
                };
                let outcome = PayoutOutcome::Paid {
                    transfer_id: t.transfer_id.clone(),
                };
                let paid = settled(payout, outcome, now);
                let store = app.store();
                // The payout's transfer names the writes: the auditor reads it.
                let operation = Operation::Transfer(t.transfer_id.to_string());
                // The same order of refusals as POST /transfers.
                Ok(Effect::json(200, &PayoutView::from(&paid))
                    .with(store.credit(&t.to, &t.currency, t.amount, &operation, now))
                    .with(store.debit(&t.from, &t.owner, &t.currency, t.amount, &operation, now))
                    .with(store.put_transfer(&t))
                    .unconditional(store.put_payout(&paid)))
            },
        )
        .await
}

fn settled(p: NewPayout, outcome: PayoutOutcome, completed_at: i64) -> Payout {
    Payout {
        payout_id: p.payout_id,
        owner: p.owner,
        from: p.transfer.from,
        to: p.transfer.to,
        amount: p.transfer.amount,
        currency: p.transfer.currency,
        reference: p.transfer.reference,
        outcome,
        completed_at,
    }
}

/// GET /payouts/{payout_id}: the owner's settled payout; 404 to anyone else, and while it is
/// not settled.
pub async fn get_payout(app: &Payments, req: Incoming<'_>) -> Reply {
    let id = PayoutId::parse(req.last_segment());
    let (caller, ()) = app.guard().read(&req, async { Ok(()) }).await?;
    let id = id.map_err(PaymentsError::from)?;
    let payout = app
        .store()
        .get_payout(&caller, &id)
        .await?
        .ok_or(PaymentsError::NotFound)?;
    Ok(json(200, &PayoutView::from(&payout)))
}
